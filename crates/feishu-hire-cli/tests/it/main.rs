//! The importer's tests, one binary: the `feishu-hire` binary end to end (`binary`: exit codes,
//! messages, SIGKILL and resume, Ctrl-C, the journal lock), the import library against
//! in-process sandboxes with faults (`import_sandbox`), and `verify` and the summaries against
//! what the target holds (`verify_faults`).

#![allow(clippy::unwrap_used)]

mod binary;
mod import_sandbox;
mod verify_faults;
