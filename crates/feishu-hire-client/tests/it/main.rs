//! The client's tests, one binary (one link) with a module per concern: the wire contract
//! against wiremock (`contract`, and `spec_contract`, generated from the specs for every
//! endpoint), the errors a call can end with (`errors`), retries and waits (`retries`), and the
//! tenant token (`tokens`). `support` is their shared wiremock server, client and canned answers.

#![allow(clippy::unwrap_used)]

mod contract;
mod encoded;
mod errors;
mod retries;
mod spec_contract;
mod support;
mod tokens;
