//! `feishu-hire import`: check everything, then send what no earlier run confirmed.
//!
//! 1. **Open the journal** ([`crate::journal`]) and lock it: a second import of the same input
//!    is refused at once.
//! 2. **Check every record** ([`crate::scan`]) before sending any: errors and warnings are
//!    printed with line and JSON path; records sharing an `external_id` are found; the input's
//!    SHA-256 is computed. Refuse to start (exit 2) if the input is broken, if a valid record
//!    has no `external_id` (unless `--derive-external-id` or `--allow-unsafe-retries`), if the
//!    journal belongs to another input, target or options, or if two of input, journal,
//!    failures file and report are one file. Ctrl-C during the check stops at once, nothing sent (exit 130).
//! 3. **Send** the valid records the journal does not confirm, reading the input again through
//!    the handle the check read (so a file replaced meanwhile is not read) and stopping (exit 3)
//!    if its bytes no longer hash the same. A record is checked once: it goes out only once
//!    the SHA-256 of the input up to a checkpoint past it matches the check's (every 256 KiB,
//!    and the whole input's at the end), so its bytes are the ones checked and are only
//!    decoded; the records of a part that changed are not sent. `--concurrency` at a time,
//!    paced by the client's rate limiter, which also retries what is safe to retry: by
//!    `--concurrency` tasks that each go from an answer to their next request at once. Each
//!    request's intent is journaled before it goes out (a few records' together) and its
//!    answer before it is counted (the answers of about a millisecond together: see
//!    [`crate::journal`]); each failure goes to the failures file ([`crate::failures`]). A resumed run first checks
//!    the target ([`crate::settle`]) for the records an earlier run sent without getting an
//!    answer (it was killed) and for those it created "maybe twice" without checking: only
//!    the ones the target does not hold are sent again.
//! 4. On **Ctrl-C or SIGTERM**, stop taking records, finish the requests in flight, close the
//!    intents of records journaled but never sent, close the journal, print the summary
//!    (exit 130); a second Ctrl-C abandons the requests in flight
//!    (the next run checks the target for their records before it sends them again).
//!    An error that would fail every record (credentials or permission refused, the target
//!    unreachable, the journal unwritable) stops the run the same way (exit 3).
//!
//! The code: [`import`] runs an `ImportSession` (`session`) (the input and every file the
//! import writes: opened, checked and bound to the journal before anything is sent, cleaned
//! up on a refusal), then a `Run` (`run`: journaling the answers, counting; its `senders`
//! journal the intents and send), whose uncertain
//! records `settling` checks; `reading` reads the input again, `paths` decides where the
//! outputs go.
//!
//! Memory stays flat: per record the importer keeps two bits (valid, confirmed), and only the
//! records in flight (and the few an earlier run left uncertain) are in memory.

mod paths;
mod reading;
mod run;
mod senders;
mod session;
mod settling;

use std::path::PathBuf;
use std::time::Instant;

use feishu_hire_client::{Client, Delivery, Error as ClientError};
use tokio::sync::watch;

use crate::check::CheckOptions;
use crate::console::{Console, ProgressMode};
use crate::exit;
use crate::input::InputFormat;
use crate::journal::JournalError;
use crate::summary::{Ending, Summary};

use run::{Context, Run};
use session::ImportSession;

/// Where the journal is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JournalLocation {
    /// `<input>.journal` beside the input (`stdin-<hash>.journal` for stdin).
    #[default]
    BesideInput,
    /// This path.
    Path(PathBuf),
    /// A temporary file, deleted at the end (for `--sandbox`, whose records vanish too).
    Temporary,
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// The input file; `-` is stdin.
    pub input: PathBuf,
    /// Its format.
    pub format: InputFormat,
    /// Size limit, derived ids, strictness.
    pub check: CheckOptions,
    /// The journal.
    pub journal: JournalLocation,
    /// The failures file; by default `<input stem>.failures.jsonl` beside the input.
    pub failures: Option<PathBuf>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Send records without `external_id` even though a retry could duplicate them.
    pub allow_unsafe_retries: bool,
    /// How progress is shown.
    pub progress: ProgressMode,
}

impl ImportConfig {
    /// Defaults for `input`: auto format, journal beside it, 8 requests in flight.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        Self {
            input: input.into(),
            format: InputFormat::Auto,
            check: CheckOptions::default(),
            journal: JournalLocation::BesideInput,
            failures: None,
            concurrency: 8,
            allow_unsafe_retries: false,
            progress: ProgressMode::Auto,
        }
    }
}

/// Where records go.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Target {
    /// The client, configured for the target.
    pub client: Client,
    /// The target in words, e.g. `Feishu (https://open.feishu.cn), app cli_…`.
    pub description: String,
    /// What the journal ties its records to: the base URL, or `sandbox` for the in-process
    /// sandbox, whose port changes from run to run although it is the same kind of target.
    pub identity: String,
    /// A client that fetches one token before anything is sent and does not try again after
    /// a timeout, so that an unreachable target or refused credentials stop the run within
    /// about one timeout, with every record "not sent". `None` skips the check (a fixed
    /// tenant token has nothing to fetch).
    pub preflight: Option<Preflight>,
    /// The client for the read-only queries that check uncertain records (at the end of the
    /// run, and for a resumed run's leftovers); `None` uses `client`. The command line gives
    /// them their own retry budget (the client's default policy), whatever `--max-attempts`
    /// allows the creates: a query is safe to repeat, and one that fails leaves its records
    /// unchecked.
    pub query_client: Option<Client>,
}

/// The token fetch made before sending: a client and the app credentials to fetch with.
#[derive(Clone)]
pub struct Preflight {
    client: Client,
    app_id: String,
    app_secret: String,
}

impl Preflight {
    /// Fetches a token for `app_id` through `client` (which should not retry after a timeout).
    pub fn new(client: Client, app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        Self {
            client,
            app_id: app_id.into(),
            app_secret: app_secret.into(),
        }
    }
}

impl std::fmt::Debug for Preflight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preflight")
            .field("client", &self.client)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// A target reached through `client`, journaled under its base URL, without a preflight.
    pub fn new(client: Client, description: impl Into<String>) -> Self {
        Self {
            identity: client.base_url().to_owned(),
            client,
            description: description.into(),
            preflight: None,
            query_client: None,
        }
    }

    /// Checks uncertain records through `client` (see [`Target::query_client`]).
    #[must_use]
    pub fn with_query_client(mut self, client: Client) -> Self {
        self.query_client = Some(client);
        self
    }

    /// The client the checks query through.
    pub(crate) fn queries(&self) -> &Client {
        self.query_client.as_ref().unwrap_or(&self.client)
    }

    /// Journals records under `identity` instead of the base URL.
    #[must_use]
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// Fetches a token before sending (see [`Target::preflight`]).
    #[must_use]
    pub fn with_preflight(mut self, preflight: Preflight) -> Self {
        self.preflight = Some(preflight);
        self
    }
}

/// Fetches one token through the target's preflight client; the reason to stop if none came.
pub(crate) async fn preflight(target: &Target) -> Result<(), String> {
    let Some(preflight) = &target.preflight else {
        return Ok(());
    };
    let request =
        feishu_hire_types::TenantAccessTokenRequest::new(&preflight.app_id, &preflight.app_secret);
    match preflight.client.send(&request).await {
        Ok(_) => Ok(()),
        Err(error) => Err(format!(
            "no access token could be had from {}, so nothing was sent: {error}{}",
            target.client.base_url(),
            base_url_hint(target.client.base_url(), &error)
        )),
    }
}

/// A hint when an answer suggests the base URL is wrong: something answered, but not with
/// Feishu's JSON (a web page, a 404). The commonest cause is a base URL with a path
/// (`https://open.feishu.cn/open-apis`), to which the API's paths are appended.
pub fn base_url_hint(base_url: &str, error: &ClientError) -> String {
    let answered_without_code = error.delivery() == Delivery::Answered && error.code().is_none();
    if !answered_without_code && error.status() != Some(404) {
        return String::new();
    }
    let (scheme, rest) = base_url.split_once("://").unwrap_or(("https", base_url));
    match rest.split_once('/') {
        Some((host, path)) if !path.trim_matches('/').is_empty() => format!(
            ". Check the base URL: {base_url} has the path /{path}, but it must be the host only (the API's paths are added to it), e.g. --base-url {scheme}://{host}"
        ),
        _ => format!(
            ". Check the base URL: {base_url} did not answer like Feishu's API; it must be the API's host only, e.g. https://open.feishu.cn"
        ),
    }
}

/// Why an import did not start; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct Refusal {
    /// What is wrong and what to do.
    pub message: String,
    /// The exit code: [`exit::REFUSED`], [`exit::INTERRUPTED`] for a Ctrl-C before sending, or
    /// [`exit::INCOMPLETE`] for an input without records (a warning, not an error).
    pub exit_code: i32,
}

impl Refusal {
    /// A refusal to start (exit 2).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: exit::REFUSED,
        }
    }

    /// Ctrl-C or SIGTERM before anything was sent (exit 130).
    pub fn interrupted() -> Self {
        Self {
            message: "interrupted before anything was sent".to_owned(),
            exit_code: exit::INTERRUPTED,
        }
    }
}

impl From<JournalError> for Refusal {
    fn from(error: JournalError) -> Self {
        Refusal::new(error.to_string())
    }
}

/// Interrupt requests: the count of Ctrl-C / SIGTERM received so far.
pub type Interrupts = watch::Receiver<u32>;

/// Resolves at the next Ctrl-C or SIGTERM; never if signals are not listened to.
pub(crate) async fn interrupted(interrupts: &mut Interrupts) {
    if *interrupts.borrow_and_update() > 0 {
        return;
    }
    if interrupts.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs an import; see the module docs. `Err` means it refused to start (nothing was sent).
pub async fn import(
    config: &ImportConfig,
    target: &Target,
    mut interrupts: Interrupts,
    console: &Console,
) -> Result<Summary, Refusal> {
    let started = Instant::now();
    console.line(format!("Target: {}", target.description));
    let session = ImportSession::open(config, &mut interrupts, console).await?;
    let (session, report) = session.check(config, &mut interrupts, console).await?;
    let session = session.bind(config, target, &report)?;
    let plan = session.plan(&report, console);
    let mut running = session.into_running(report.format, &report.digest, console);
    let mut run = Run::new(report, &plan, target.client.base_url());
    let sending_secs = {
        let cx = Context {
            config,
            target,
            reading: &running.reading,
            journal: running.journal.writer(),
            console,
        };
        run.go(&cx, plan, &mut running.failures, &mut interrupts)
            .await
    };
    run.finish_failures(running.failures);
    if let Err(error) = running.journal.close() {
        run.abort(format!("the journal could not be written: {error}"));
    }
    let (input, journal) = (running.reading.source, running.journal_shown);
    Ok(run.into_summary(target, input, journal, started, sending_secs))
}

/// The exit code of a run that ended as `ending`, with `problems` records invalid, duplicate
/// or failed and `not_sent` records never answered.
fn exit_code(ending: Ending, problems: u64, not_sent: u64) -> i32 {
    match ending {
        Ending::Interrupted => exit::INTERRUPTED,
        Ending::Aborted => exit::ABORTED,
        Ending::Finished if problems + not_sent > 0 => exit::INCOMPLETE,
        Ending::Finished => exit::SUCCESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_not_sent_make_a_finished_run_incomplete() {
        assert_eq!(exit_code(Ending::Finished, 0, 0), exit::SUCCESS);
        assert_eq!(exit_code(Ending::Finished, 0, 1), exit::INCOMPLETE);
        assert_eq!(exit_code(Ending::Finished, 1, 0), exit::INCOMPLETE);
        assert_eq!(exit_code(Ending::Interrupted, 0, 5), exit::INTERRUPTED);
        assert_eq!(exit_code(Ending::Aborted, 0, 5), exit::ABORTED);
    }
}
