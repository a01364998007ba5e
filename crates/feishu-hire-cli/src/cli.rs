//! The command line: `feishu-hire import | validate | sandbox`, and what each command does
//! with its flags.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use feishu_hire_client::{AlreadyExistsRule, Client, RetryPolicy};
use feishu_hire_sandbox::{SandboxArgs, SandboxConfig};
use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, HOST_FEISHU, HOST_LARK};
use serde::Serialize;

use crate::check::{CheckOptions, Checker, DEFAULT_MAX_RECORD_BYTES, TARGET_MAX_BODY_BYTES};
use crate::console::{Console, ProgressMode};
use crate::exit;
use crate::import::{ImportConfig, Interrupts, JournalLocation, Preflight, Target, import};
use crate::input::InputFormat;
use crate::scan::scan;

/// What the journal calls the in-process sandbox (`import --sandbox`) instead of its URL.
pub const SANDBOX_IDENTITY: &str = "sandbox";

/// Import interview records from another hiring system into Feishu (Lark) Hire.
///
/// Start with `feishu-hire import examples/interviews.jsonl --sandbox`, which imports the
/// example data into a sandbox that runs inside the command: nothing reaches Feishu.
#[derive(Debug, Parser)]
#[command(name = "feishu-hire", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Import records (JSON Lines or a JSON array): check all, then send, resumably.
    ///
    /// Exit codes: 0 all records are in the target; 1 some were invalid, duplicates or failed
    /// (see the failures file); 2 usage error or refused to start (nothing sent); 3 stopped
    /// early on an error every record would hit (run again once fixed); 130 interrupted
    /// (run again to resume).
    Import(Box<ImportArgs>),
    /// Check that every record of a file is in the target exactly once, by reading the
    /// target's interviews of the file's applications (batch query).
    ///
    /// Reports each record present once, missing, or duplicated (with the Feishu ids), and
    /// the target's interviews of those applications that no record has. The missing records
    /// are written to `<stem>.verify.jsonl`, ready for `import`; every problem to
    /// `<stem>.verify.report.jsonl`. Exit codes: 0 every valid record is there exactly once;
    /// 1 some are missing, duplicated or could not be checked; 2 usage error or unreadable
    /// input; 3 no access token could be had; 130 interrupted.
    Verify(Box<VerifyArgs>),
    /// Check records offline, sending nothing. Exit codes: 0 all valid, 1 some invalid, 2 usage.
    Validate(ValidateArgs),
    /// Run the sandbox: a local stand-in for Feishu's API, with fault injection.
    Sandbox(SandboxArgs),
    /// Regenerate the example data (for maintainers).
    #[command(hide = true)]
    GenExamples(GenExamplesArgs),
}

/// The input and how to check it (shared by `import` and `validate`).
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// The input file, or `-` for standard input.
    pub file: PathBuf,

    /// Input format.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub format: InputFormat,

    /// Largest record accepted, in bytes; larger ones are reported and not sent. At most
    /// 1 MiB (1048576), the largest request body the API takes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_RECORD_BYTES, value_parser = parse_max_record_bytes)]
    pub max_record_bytes: usize,

    /// Give a record without `external_id` a stable one derived from its content:
    /// `fh1-` + 32 hex digits of the SHA-256 of its canonical JSON (sorted keys, no spaces).
    /// The same record always gets the same id, so re-runs stay safe.
    #[arg(long)]
    pub derive_external_id: bool,

    /// Treat warnings (times in seconds, end before begin, mismatched assessment fields)
    /// as errors.
    #[arg(long)]
    pub strict: bool,
}

impl InputArgs {
    fn check_options(&self) -> CheckOptions {
        CheckOptions {
            max_record_bytes: self.max_record_bytes,
            derive_external_ids: self.derive_external_id,
            strict: self.strict,
        }
    }
}

/// `feishu-hire import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Input and checks.
    #[command(flatten)]
    pub input: InputArgs,

    /// Where to send and how.
    #[command(flatten)]
    pub target: TargetArgs,

    /// The journal of confirmed records. Default: `<FILE>.journal` beside the input (a
    /// temporary one with --sandbox).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,

    /// Where to write the failed records. Default: `<FILE stem>.failures.jsonl` beside the
    /// input; the reasons go to `<stem>.failures.report.jsonl` beside it.
    #[arg(long, value_name = "PATH")]
    pub failures: Option<PathBuf>,

    /// Send records without `external_id` anyway. Unsafe: after a timeout or a crash such a
    /// record may be created twice.
    #[arg(long)]
    pub allow_unsafe_retries: bool,

    /// An error code meaning "this external_id already exists" (Feishu does not document its
    /// answer to a repeat); such records count as already present without checking the target.
    /// Without it, a refusal that names external_id is checked against the target at the end
    /// of the run. Repeatable.
    #[arg(long, value_name = "CODE", allow_negative_numbers = true)]
    pub already_exists_code: Vec<i64>,

    /// Never send a record again after an attempt that may have been processed (a timeout, a
    /// cut connection, a server error); check the target for it at the end of the run
    /// instead. For a target that may not honour external_id, where such a retry can create a
    /// second interview. Other retries (refused connections, rate limits) stay.
    #[arg(long)]
    pub no_retry_after_uncertain: bool,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// How to show progress on stderr.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// `feishu-hire verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Input and checks (pass the same --derive-external-id, --strict and
    /// --max-record-bytes as the import).
    #[command(flatten)]
    pub input: InputArgs,

    /// Where to look and how.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Where to write the missing records. Default: `<FILE stem>.verify.jsonl` beside the
    /// input; every problem goes to `<stem>.verify.report.jsonl` beside it.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// How to show progress on stderr.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// The target and how to talk to it (shared by `import` and `verify`).
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub concurrency: u16,

    /// Requests per second, or `off`. Default: the API's documented limit, 10 (off with
    /// --sandbox). The queries of `verify` and of the end-of-run check (batch query, also 10/s)
    /// keep the same pace.
    #[arg(long, value_name = "PER_SECOND|off", value_parser = parse_rate)]
    pub rate: Option<Rate>,

    /// Seconds before a request times out (at least 1).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,

    /// Attempts per request, the first included; the client retries only what is safe. In
    /// `import` this bounds the creates only: the queries that check uncertain records against
    /// the target are read-only, safe to repeat, and keep the client's default budget (5
    /// attempts with backoff, 60 s), whatever this says.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Use a sandbox started inside this command (no credentials needed; nothing
    /// reaches Feishu; the records are gone when it ends).
    #[arg(long, conflicts_with_all = ["base_url", "lark"])]
    pub sandbox: bool,

    /// With --sandbox: give the sandbox a rate limit (per second), as Feishu has. Default: off.
    #[arg(long, value_name = "PER_SECOND", requires = "sandbox")]
    pub sandbox_rate_limit: Option<u32>,

    /// The API host. Default: Feishu, `https://open.feishu.cn`.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Use Lark (`https://open.larksuite.com`) instead of Feishu.
    #[arg(long, conflicts_with = "base_url")]
    pub lark: bool,

    /// The app's id.
    #[arg(long, env = "FEISHU_APP_ID", value_name = "ID")]
    pub app_id: Option<String>,

    /// The app's secret.
    #[arg(
        long,
        env = "FEISHU_APP_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub app_secret: Option<String>,

    /// A tenant access token to use instead of app credentials.
    #[arg(
        long,
        env = "FEISHU_TENANT_ACCESS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub tenant_access_token: Option<String>,
}

/// What `import` adds to the client's settings.
#[derive(Debug, Clone, Default)]
pub struct ClientExtras {
    /// `--already-exists-code`.
    pub already_exists_codes: Vec<i64>,
    /// `--no-retry-after-uncertain`.
    pub no_retry_after_uncertain: bool,
}

/// `--rate`: a number of requests per second, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rate {
    /// This many per second.
    PerSecond(u32),
    /// No limit.
    Off,
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    match text.trim() {
        "off" | "none" | "unlimited" => Ok(Rate::Off),
        number => match number.parse::<u32>() {
            Ok(0) | Err(_) => Err(format!(
                "`{text}` is not a positive number of requests per second, or `off`"
            )),
            Ok(rate) => Ok(Rate::PerSecond(rate)),
        },
    }
}

/// `--max-record-bytes`: from 1 up to the API's body limit, so that `validate` never accepts
/// what `import` could not send.
fn parse_max_record_bytes(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(bytes) if (1..=TARGET_MAX_BODY_BYTES).contains(&bytes) => Ok(bytes),
        Ok(_) => Err(format!(
            "must be from 1 to {TARGET_MAX_BODY_BYTES}: the API takes request bodies up to {TARGET_MAX_BODY_BYTES} bytes, so a larger record could not be sent"
        )),
        Err(_) => Err(format!("`{text}` is not a number of bytes")),
    }
}

/// `feishu-hire validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Input and checks.
    #[command(flatten)]
    pub input: InputArgs,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `feishu-hire gen-examples`.
#[derive(Debug, Clone, Args)]
pub struct GenExamplesArgs {
    /// Directory to write `interviews.jsonl` and `bad.jsonl` into.
    #[arg(long, default_value = "examples")]
    pub dir: PathBuf,

    /// Instead, write this many generated records to stdout (for benchmarks).
    #[arg(long, value_name = "N")]
    pub lines: Option<u64>,

    /// Seed for --lines.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs a parsed command; returns the exit code (see [`crate::exit`]).
///
/// ```no_run
/// use clap::Parser;
/// use feishu_hire_cli::{Cli, run, signals};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cli = Cli::parse_from(["feishu-hire", "import", "examples/interviews.jsonl", "--sandbox"]);
/// // Ctrl-C finishes the requests in flight and writes the journal; run again to resume.
/// let code = run(cli, signals::listen()).await;
/// std::process::exit(code);
/// # }
/// ```
pub async fn run(cli: Cli, interrupts: Interrupts) -> i32 {
    match cli.command {
        Command::Import(args) => run_import(*args, interrupts).await,
        Command::Validate(args) => run_validate(args).await,
        Command::Verify(args) => run_verify(*args, interrupts).await,
        Command::Sandbox(args) => match feishu_hire_sandbox::run(args).await {
            Ok(()) => exit::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                exit::REFUSED
            }
        },
        Command::GenExamples(args) => gen_examples(&args),
    }
}

async fn run_verify(args: VerifyArgs, interrupts: Interrupts) -> i32 {
    let console = Console::stderr();
    if args.input.file.as_os_str() == "-" {
        eprintln!(
            "error: verify reads its input twice; save standard input to a file and verify that"
        );
        return exit::REFUSED;
    }
    let (target, sandbox) = match resolve_target(&args.target, &ClientExtras::default()).await {
        Ok(resolved) => resolved,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::REFUSED;
        }
    };
    let config = crate::verify::VerifyConfig {
        input: args.input.file.clone(),
        format: args.input.format,
        check: args.input.check_options(),
        report: args.report.clone(),
        concurrency: usize::from(args.target.concurrency),
        progress: args.progress,
    };
    let outcome = crate::verify::verify(&config, &target, interrupts, &console).await;
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    match outcome {
        Ok(summary) if args.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).unwrap_or_default()
            );
            summary.exit_code
        }
        Ok(summary) => {
            println!("{summary}");
            summary.exit_code
        }
        Err(refusal) => {
            eprintln!("error: {refusal}");
            refusal.exit_code
        }
    }
}

fn gen_examples(args: &GenExamplesArgs) -> i32 {
    let result = match args.lines {
        Some(lines) => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            crate::examples::interview_lines(args.seed, lines, "gen-")
                .try_for_each(|line| writeln!(out, "{line}"))
                .and_then(|()| out.flush())
        }
        None => crate::examples::write_examples(&args.dir),
    };
    match result {
        Ok(()) => exit::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            exit::REFUSED
        }
    }
}

/// What `validate --json` prints.
#[derive(Debug, Clone, Serialize)]
struct ValidateSummary {
    input: String,
    input_sha256: String,
    records: u64,
    valid: u64,
    invalid: u64,
    duplicates: u64,
    warnings: u64,
    without_external_id: u64,
    broken: Option<String>,
    exit_code: i32,
}

async fn run_validate(args: ValidateArgs) -> i32 {
    let console = Console::stderr();
    let checker = match Checker::new(args.input.check_options()) {
        Ok(checker) => checker,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::REFUSED;
        }
    };
    let source = args.input.file.display().to_string();
    if args.input.file.as_os_str() != "-"
        && let Some(problem) = crate::scan::not_a_readable_file(&args.input.file)
    {
        eprintln!("error: cannot read the input {source}: {problem}");
        return exit::REFUSED;
    }
    let input = args.input.clone();
    let result = tokio::task::spawn_blocking(move || {
        // Standard input is read twice (duplicates), so it is copied first.
        let spool;
        let path = if input.file.as_os_str() == "-" {
            let mut file = tempfile::NamedTempFile::new()?;
            std::io::copy(&mut std::io::stdin().lock(), file.as_file_mut())?;
            spool = file;
            spool.path().to_owned()
        } else {
            input.file.clone()
        };
        scan(&path, &source, input.format, &checker, &console, None).map(|r| (r, source))
    })
    .await;
    let (report, source) = match result {
        Ok(Ok(done)) => done,
        Ok(Err(error)) => {
            eprintln!(
                "error: cannot read the input {}: {error}",
                args.input.file.display()
            );
            return exit::REFUSED;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return exit::REFUSED;
        }
    };
    let empty = report.records == 0 && report.broken.is_none();
    if empty {
        eprintln!("warning: {}", crate::scan::no_records_message(&source));
    }
    let exit_code = if report.rejected() > 0 || report.broken.is_some() || empty {
        exit::INCOMPLETE
    } else {
        exit::SUCCESS
    };
    let summary = ValidateSummary {
        input: source.clone(),
        input_sha256: report.digest.sha256.clone(),
        records: report.records,
        valid: report.sendable.len(),
        invalid: report.invalid,
        duplicates: report.duplicates,
        warnings: report.warnings,
        without_external_id: report.without_id,
        broken: report.broken.clone(),
        exit_code,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
        return exit_code;
    }
    println!(
        "{source}: {} records: {} valid, {} invalid, {} duplicate external_id, {} warnings",
        summary.records, summary.valid, summary.invalid, summary.duplicates, summary.warnings
    );
    if report.without_id > 0 && !args.input.derive_external_id {
        println!(
            "note: {} valid records have no external_id; `import` refuses them unless --derive-external-id or --allow-unsafe-retries",
            report.without_id
        );
    }
    exit_code
}

async fn run_import(args: ImportArgs, interrupts: Interrupts) -> i32 {
    let console = Console::stderr();
    let extras = ClientExtras {
        already_exists_codes: args.already_exists_code.clone(),
        no_retry_after_uncertain: args.no_retry_after_uncertain,
    };
    let (target, sandbox) = match resolve_target(&args.target, &extras).await {
        Ok(resolved) => resolved,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::REFUSED;
        }
    };
    let config = ImportConfig {
        input: args.input.file.clone(),
        format: args.input.format,
        check: args.input.check_options(),
        journal: match (&args.journal, args.target.sandbox) {
            (Some(path), _) => JournalLocation::Path(path.clone()),
            (None, true) => JournalLocation::Temporary,
            (None, false) => JournalLocation::BesideInput,
        },
        failures: args.failures.clone(),
        concurrency: usize::from(args.target.concurrency),
        allow_unsafe_retries: args.allow_unsafe_retries,
        progress: args.progress,
    };
    let outcome = import(&config, &target, interrupts, &console).await;
    if let Some(sandbox) = sandbox {
        let stats = sandbox.stats();
        console.line(format!(
            "The sandbox received {} create requests and stored {} interviews; it stops now.",
            stats.create_attempts, stats.created
        ));
        sandbox.shutdown().await;
    }
    match outcome {
        Ok(summary) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).unwrap_or_default()
                );
            } else {
                println!("{summary}");
            }
            summary.exit_code
        }
        Err(refusal) => {
            let severity = if refusal.exit_code == exit::INCOMPLETE {
                "warning"
            } else {
                "error"
            };
            eprintln!("{severity}: {refusal}");
            refusal.exit_code
        }
    }
}

/// The target the flags name: an in-process sandbox (returned too, to be shut down), or a
/// base URL with credentials. `Err` says why not (nothing was sent).
pub async fn resolve_target(
    args: &TargetArgs,
    extras: &ClientExtras,
) -> Result<(Target, Option<feishu_hire_sandbox::Sandbox>), String> {
    if args.sandbox {
        let mut config = SandboxConfig::default().no_rate_limit();
        if let Some(rate) = args.sandbox_rate_limit {
            config = config.rate_limit_per_second(rate);
        }
        let started = feishu_hire_sandbox::spawn(config)
            .await
            .map_err(|error| format!("cannot start the sandbox: {error}"))?;
        let base_url = started.base_url();
        // Its port changes every run; the journal knows it as "sandbox", so that
        // `--sandbox --journal X` can be resumed.
        let target = build_target(
            args,
            extras,
            &base_url,
            format!("the in-process sandbox at {base_url} (nothing is sent to Feishu)"),
            Some(("sandbox", "sandbox")),
        )?
        .identity(SANDBOX_IDENTITY);
        return Ok((target, Some(started)));
    }
    let (base_url, name) = match (&args.base_url, args.lark) {
        (Some(url), _) => (url.trim_end_matches('/').to_owned(), None),
        (None, true) => (HOST_LARK.to_owned(), Some("Lark")),
        (None, false) => (HOST_FEISHU.to_owned(), Some("Feishu")),
    };
    let app = args
        .app_id
        .as_deref()
        .map(|id| format!(", app {id}"))
        .unwrap_or_default();
    let description = match name {
        Some(name) => format!("{name} ({base_url}){app}"),
        None => format!("{base_url}{app}"),
    };
    let target = build_target(args, extras, &base_url, description, None)?;
    Ok((target, None))
}

fn build_target(
    args: &TargetArgs,
    extras: &ClientExtras,
    base_url: &str,
    description: String,
    sandbox_credentials: Option<(&str, &str)>,
) -> Result<Target, String> {
    let rate = match (args.rate, sandbox_credentials.is_some()) {
        (Some(rate), _) => rate,
        (None, true) => Rate::Off,
        (None, false) => Rate::PerSecond(
            CREATE_EXTERNAL_INTERVIEW
                .rate_limit
                .map_or(10, |limit| limit.requests / limit.per_seconds.max(1)),
        ),
    };
    let timeout = Duration::from_secs(args.timeout);
    let mut policy = RetryPolicy::new().max_attempts(args.max_attempts);
    if extras.no_retry_after_uncertain {
        policy = policy.no_retry_after_possible_effect();
    }
    let mut builder = Client::builder().base_url(base_url).timeout(timeout);
    builder = match rate {
        // Endpoints without a documented rate keep the same pace as the creates.
        Rate::PerSecond(rate) => builder
            .rate_limit_per_second(rate)
            .undocumented_rate_limit_per_second(rate),
        Rate::Off => builder.no_rate_limit(),
    };
    builder = match (
        sandbox_credentials,
        &args.tenant_access_token,
        &args.app_id,
        &args.app_secret,
    ) {
        (Some((id, secret)), _, _, _) => builder.app_credentials(id, secret),
        (None, Some(token), _, _) => builder.tenant_access_token(token),
        (None, None, Some(id), Some(secret)) => builder.app_credentials(id, secret),
        (None, None, _, _) => {
            return Err(format!(
                "no credentials for {description}: set FEISHU_APP_ID and FEISHU_APP_SECRET (or pass --app-id and --app-secret, \
                 or --tenant-access-token). To try the importer without Feishu, add --sandbox"
            ));
        }
    };
    // The checking queries get the default retry policy (see `--max-attempts`).
    let queries = builder.clone().retry_policy(RetryPolicy::new());
    if !extras.already_exists_codes.is_empty() {
        builder = builder.already_exists(AlreadyExistsRule::codes(
            extras.already_exists_codes.iter().copied(),
        ));
    }
    let built = |builder: feishu_hire_client::ClientBuilder| {
        builder
            .build()
            .map_err(|error| format!("cannot set up the client for {description}: {error}"))
    };
    let client = built(builder.retry_policy(policy))?;
    let query_client = built(queries)?;
    let app = match (sandbox_credentials, &args.tenant_access_token) {
        (Some(app), _) => Some(app),
        (None, Some(_)) => None,
        (None, None) => args.app_id.as_deref().zip(args.app_secret.as_deref()),
    };
    let mut target = Target::new(client, description).with_query_client(query_client);
    if let Some((id, secret)) = app {
        // The token fetch before sending gets no retry after a timeout (its whole budget is one
        // timeout), so that a target that never answers stops the run in about that long.
        let preflight = Client::builder()
            .base_url(base_url)
            .timeout(timeout)
            .retry_policy(
                RetryPolicy::new()
                    .max_attempts(args.max_attempts)
                    .total_deadline(timeout),
            )
            .no_rate_limit()
            .app_credentials(id, secret)
            .build()
            .map_err(|error| {
                format!(
                    "cannot set up the client for {}: {error}",
                    target.description
                )
            })?;
        target = target.with_preflight(Preflight::new(preflight, id, secret));
    }
    Ok(target)
}
