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
//! The binary is a thin shell over this library, which tests drive directly:
//!
//! - [`input`] streams JSON Lines or a JSON array, in flat memory;
//! - [`check`] finds per-record errors and warnings, with line and JSON path;
//! - [`duplicates`] finds repeated `external_id`s, in flat memory;
//! - [`derive_id`] implements `--derive-external-id`;
//! - [`scan`] is the checking pass shared by `validate` and `import`;
//! - [`journal`] keeps what Feishu confirmed, so re-runs never send a record twice;
//! - [`failures`] writes the failures file, itself valid input;
//! - [`import`] is the import itself, [`summary`] its summary;
//! - [`lookup`] reads the target back (batch query); [`verify`] checks an input against it;
//! - [`exit`] lists the exit codes;
//! - [`cli`] is the command line, [`examples`] the generated example data.

pub mod bitset;
pub mod check;
pub mod cli;
pub mod console;
pub mod derive_id;
pub mod duplicates;
pub mod examples;
pub mod exit;
pub mod failures;
pub mod import;
pub mod input;
pub mod journal;
pub mod lookup;
pub mod scan;
pub mod settle;
pub mod signals;
pub mod summary;
pub mod verify;
