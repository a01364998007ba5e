//! The sandbox's tests over HTTP, one binary: the binary itself (`binary`), connections seen
//! from raw TCP (`connections`), the token and create endpoints (`endpoints`), its configurable
//! behaviour (`modes`), the whole external-interview resource (`resource`), and requests exactly
//! as Feishu's official SDKs send them (`sdk_requests`). `common` starts sandboxes and checks
//! what every answer must carry.

#![allow(clippy::unwrap_used)]

mod binary;
mod common;
mod connections;
mod endpoints;
mod modes;
mod resource;
mod sdk_requests;
