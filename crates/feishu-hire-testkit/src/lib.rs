//! Test support shared by the workspace's test suites (not published):
//!
//! - [`strategies`]: proptest strategies that build arbitrary valid values of the generated
//!   types through `new(..)` and the setters, as users must, and the emitted schemas as
//!   validators;
//! - [`schema_instances`]: valid JSON instances of any emitted JSON Schema, so a test that walks
//!   every endpoint of the specs needs no hand-written strategy per endpoint;
//! - [`SEED_REQUEST`] and [`SEED_RESPONSE`]: the examples of Feishu's documentation of "create
//!   an external interview", verbatim (`data/`).

#![allow(clippy::unwrap_used, missing_docs)]

pub mod schema_instances;
pub mod strategies;

/// The request example of Feishu's "create an external interview" documentation, verbatim.
pub const SEED_REQUEST: &str = include_str!("../data/seed_request.json");

/// The response example of Feishu's "create an external interview" documentation, verbatim.
pub const SEED_RESPONSE: &str = include_str!("../data/seed_response.json");
