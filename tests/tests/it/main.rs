//! Cross-crate tests, one binary: the client against the sandbox (`lifecycle`: the whole
//! resource through the client; `sandbox_faults`: retries under injected faults never store a
//! record twice), the generated types against schemars and the fixture crate (`schemars`), and
//! one corpus of documents judged alike by the emitted schema, the sandbox and the importer
//! (`corpus_three_judges`).
//! A crate's own tests live with the crate (`crates/*/tests/it/`).

#![allow(clippy::unwrap_used)]

mod corpus_three_judges;
mod lifecycle;
mod sandbox_faults;
mod schemars;
