//! The exit codes of `feishu-hire`, for scripts.
//!
//! | Code | `import`                                                                 | `validate`                 |
//! |------|--------------------------------------------------------------------------|----------------------------|
//! | 0    | every record is in Feishu (created now or confirmed earlier)             | every record is valid      |
//! | 1    | finished, but some records were invalid, duplicates or failed: see the failures file | some records are invalid |
//! | 2    | usage error, or refused to start; nothing was sent (bad flags, no credentials, records without `external_id`, journal locked or belonging to another input or target, broken input) | usage error, input unreadable |
//! | 3    | stopped early on an error that would fail every record (credentials or permission refused, journal not writable); run again once fixed, it resumes | |
//! | 130  | interrupted (Ctrl-C or SIGTERM): requests in flight were finished and journaled; run the same command again to resume | |
//!
//! Warnings never change the exit code (use `--strict` to make them errors).

/// Everything done.
pub const SUCCESS: i32 = 0;
/// Done, but some records were invalid or failed.
pub const INCOMPLETE: i32 = 1;
/// Usage error or refused to start.
pub const REFUSED: i32 = 2;
/// Stopped early on an error that affects every record.
pub const ABORTED: i32 = 3;
/// Interrupted by Ctrl-C or SIGTERM.
pub const INTERRUPTED: i32 = 130;
