//! `feishu-hire`: bulk-import interview records from another hiring system into Feishu (Lark)
//! Hire through `POST /open-apis/hire/v1/external_interviews`, without duplicating or losing
//! any, resumably.
//!
//! ```text
//! feishu-hire import examples/interviews.jsonl --sandbox     # try it: a sandbox in-process
//! FEISHU_APP_ID=cli_… FEISHU_APP_SECRET=… feishu-hire import interviews.jsonl   # Feishu
//! feishu-hire import interviews.jsonl --lark                  # Lark
//! feishu-hire validate interviews.jsonl                       # check only, send nothing
//! feishu-hire verify interviews.jsonl                         # is each record in Feishu once?
//! feishu-hire sandbox --port 8080                             # a sandbox server
//! ```
//!
//! The binary is a thin shell over this library. What another crate may use:
//!
//! - the command line: [`Cli`] (parse it with [`clap::Parser`]) and its argument types, run
//!   with [`run`], interrupts from [`signals`], exit codes in [`exit`];
//! - the import: [`import()`] with an [`ImportConfig`] into a [`Target`], giving a
//!   [`Summary`] (or a [`Refusal`] if it did not start);
//! - the check of a target: [`verify()`] with a [`VerifyConfig`], giving a [`VerifySummary`];
//! - the check of one record, as `validate` and `import` do it: [`Checker`] (the request's JSON
//!   Schema, strict decoding, the importer's own rules), giving a [`CheckOutcome`];
//! - for tests and benchmarks: a [`Console`] that can write to a buffer, and the example
//!   data generator ([`examples`]).
//!
//! Everything else (input streaming, checks, journal, failures file, the end-of-run check)
//! is internal; `ARCHITECTURE.md` says where it lives.
//!
//! # What a record costs
//!
//! An import reads each record twice and checks it once. The checking pass reads the input
//! (hashing it as it goes) and checks every record on every core before anything is sent: a
//! record valid as it stands is decoded straight from its text into the request type, and
//! only a record with something wrong (or a derived id, or a warning under `--strict`) is
//! parsed into a `serde_json::Value`, to find and word every error. The sending pass reads the input again, hands a record on
//! once the input's SHA-256 up to a checkpoint past it matches the first pass's, and sends
//! the record's own bytes, reading only its `external_id`; of the answer it decodes only the
//! interview's id. The journal takes one write for the intents of a few records and one for
//! about a millisecond of answers, and `fsync`s on a thread of its own. The README's
//! Performance section has the figures against plain reqwest.

mod bitset;
mod check;
mod cli;
mod console;
mod derive_id;
mod duplicates;
pub mod examples;
pub mod exit;
mod failures;
mod import;
mod input;
mod journal;
mod lookup;
mod scan;
mod settle;
pub mod signals;
mod summary;
mod verify;

pub use check::{CheckOptions, CheckOutcome, Checker, Finding, Severity, ValidRecord};
pub use cli::{
    Cli, Command, GenExamplesArgs, ImportArgs, InputArgs, Rate, TargetArgs, ValidateArgs,
    VerifyArgs, run,
};
pub use console::{Console, ProgressMode, SharedBuffer};
pub use import::{ImportConfig, Interrupts, JournalLocation, Preflight, Refusal, Target, import};
pub use input::InputFormat;
pub use summary::{Ending, Summary};
pub use verify::{VerifyConfig, VerifySummary, verify};
