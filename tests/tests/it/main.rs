//! Cross-crate tests, one binary: the client against the sandbox (`lifecycle`: the whole
//! resource through the client; `sandbox_faults`: retries under injected faults never store a
//! record twice), and the generated types against schemars and the fixture crate (`schemars`).
//! A crate's own tests live with the crate (`crates/*/tests/it/`).

#![allow(clippy::unwrap_used)]

mod lifecycle;
mod sandbox_faults;
mod schemars;
