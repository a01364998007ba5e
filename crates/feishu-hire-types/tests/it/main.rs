//! The generated types' tests, one binary: the wire format (`wire`: the seed examples round-trip,
//! proptest round-trips and schema validation, strict requests and lenient responses).

#![allow(clippy::unwrap_used)]

mod wire;
