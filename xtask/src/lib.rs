//! The workspace's automation, as a library so its tests can call it.
//!
//! `cargo xtask codegen` reads the YAML specs in `spec/`, checks them
//! ([`load`], [`model`]), and writes Rust types ([`gen_rust`]) and JSON Schemas
//! ([`gen_schema`]). See `ARCHITECTURE.md` for the data flow.

pub mod codegen;
pub mod diagnostics;
pub mod gen_openapi;
pub mod gen_rust;
pub mod gen_schema;
pub mod load;
pub mod model;
pub mod spec;
