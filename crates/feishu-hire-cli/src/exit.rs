//! The exit codes of `feishu-hire`, for scripts.
//!
//! | Code | `import`                                                                 | `validate`                 |
//! |------|--------------------------------------------------------------------------|----------------------------|
//! | 0    | every record is in Feishu (created now or confirmed earlier), none known to be there twice | every record is valid      |
//! | 1    | finished, but some records were invalid, duplicates, failed, not sent, duplicated in the target or created maybe twice (unchecked): see the failures file and the summary | some records are invalid |
//! | 2    | usage error, or refused to start; nothing was sent (bad flags, no credentials, records without `external_id`, journal locked or belonging to another input, target or options, two of input, journal, failures file and report that are one file, broken input) | usage error, input unreadable |
//! | 3    | stopped early on an error that would fail every record (credentials or permission refused, journal not writable, input unreadable or changed during the run); run again once fixed, it resumes | |
//! | 130  | interrupted (Ctrl-C or SIGTERM): requests in flight were finished and journaled (or, during the check, nothing was sent); run the same command again to resume | |
//!
//! `verify`: 0 every valid record is in the target exactly once; 1 some are missing,
//! duplicated, repeated in the file or unchecked; 2 usage error or unreadable input; 3 no
//! access token could be had; 130 interrupted.
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
