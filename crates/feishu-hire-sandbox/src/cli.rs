//! The command line of the sandbox: [`SandboxArgs`] (shared by `feishu-hire-sandbox` and
//! `feishu-hire sandbox`) and [`run`], which serves until Ctrl-C (a second one stops at once).

use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::config::{
    ConfigError, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_SHUTDOWN_GRACE, DEFAULT_TOKEN_TTL, FaultConfig, IdempotencyMode,
    SPEC_RATE_LIMIT_PER_SECOND, SandboxConfig,
};

/// Flags of the sandbox server. Flatten them into a `clap` command with
/// `#[command(flatten)]`; turn them into a [`SandboxConfig`] with [`SandboxArgs::config`].
#[derive(Debug, Clone, PartialEq, Args)]
#[non_exhaustive]
pub struct SandboxArgs {
    /// Port to listen on; 0 picks a free one (the first line printed says which).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Address to listen on. Keep the default unless other machines must reach the sandbox.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,

    /// Accept only this app_id at the token endpoint (with --app-secret); by default any
    /// non-empty app_id and app_secret are accepted.
    #[arg(long, requires = "app_secret")]
    pub app_id: Option<String>,

    /// The app_secret that goes with --app-id.
    #[arg(long, requires = "app_id")]
    pub app_secret: Option<String>,

    /// The answer to an external_id repeated within 24 h (Feishu does not document its own).
    #[arg(long, value_enum, default_value_t = IdempotencyArg::ReturnStored)]
    pub idempotency: IdempotencyArg,

    /// The error code of `--idempotency reject` (the sandbox's choice by default).
    #[arg(long, default_value_t = IdempotencyMode::DEFAULT_REJECT_CODE, allow_negative_numbers = true)]
    pub reject_code: i64,

    /// Interview creates allowed per second per app (default: the spec's); other endpoints
    /// keep the limits of their specs.
    #[arg(long, value_name = "PER_SECOND", default_value_t = default_rate_limit(),
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,

    /// Switch every rate limit off.
    #[arg(long, conflicts_with = "rate_limit")]
    pub no_rate_limit: bool,

    /// Seed of the injected faults: the same seed and request order give the same faults.
    #[arg(long, default_value_t = 0)]
    pub fault_seed: u64,

    /// Share of requests answered with HTTP 500, code 1002001 (0 to 1).
    #[arg(long = "fault-5xx", value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_server_error: f64,

    /// Share of requests answered with HTTP 429, code 99991400 (0 to 1).
    #[arg(long = "fault-429", value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate_limit: f64,

    /// Share of requests delayed by --fault-delay-ms (0 to 1).
    #[arg(long = "fault-delay", value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_delay: f64,

    /// How long a delayed request waits, in milliseconds.
    #[arg(long = "fault-delay-ms", value_name = "MS", default_value_t = default_delay_ms())]
    pub fault_delay_ms: u64,

    /// Share of requests whose connection is cut after they took effect (0 to 1).
    #[arg(long = "fault-cut", value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_cut: f64,

    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Lifetime of issued tokens, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TOKEN_TTL.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl_secs: u64,

    /// How long a client may take to send a request's headers, in milliseconds; then the
    /// connection is closed. Also closes kept-alive connections idle that long.
    #[arg(long, value_name = "MS", default_value_t = millis(DEFAULT_HEADER_READ_TIMEOUT),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,

    /// How long a client may take to send a request's body once its headers are in, in
    /// milliseconds; then the request is refused and the connection closed.
    #[arg(long, value_name = "MS", default_value_t = millis(DEFAULT_BODY_READ_TIMEOUT),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_read_timeout_ms: u64,

    /// On Ctrl-C, how long open connections may finish before they are dropped, in
    /// milliseconds. A second Ctrl-C stops at once.
    #[arg(long, value_name = "MS", default_value_t = millis(DEFAULT_SHUTDOWN_GRACE))]
    pub shutdown_grace_ms: u64,
}

/// `--idempotency`: the answer to an `external_id` repeated within the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum IdempotencyArg {
    /// Answer code 0 with the record stored first.
    ReturnStored,
    /// Answer HTTP 400 with --reject-code.
    Reject,
    /// No idempotency: store every create.
    Off,
}

fn default_rate_limit() -> u32 {
    // The specs give this endpoint a limit; were it removed, 10/s is Feishu's usual one.
    SPEC_RATE_LIMIT_PER_SECOND.unwrap_or(10)
}

fn default_delay_ms() -> u64 {
    millis(FaultConfig::DEFAULT_DELAY)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not a share between 0 and 1"))
    }
}

impl SandboxArgs {
    /// The address to listen on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The configuration the flags describe, on the system clock.
    pub fn config(&self) -> Result<SandboxConfig, ConfigError> {
        let mut config = SandboxConfig::default()
            .token_ttl(Duration::from_secs(self.token_ttl_secs))
            .idempotency(match self.idempotency {
                IdempotencyArg::ReturnStored => IdempotencyMode::ReturnStored,
                IdempotencyArg::Reject => IdempotencyMode::Reject {
                    code: self.reject_code,
                },
                IdempotencyArg::Off => IdempotencyMode::Off,
            })
            .rate_limit_per_second(self.rate_limit)
            .faults(
                FaultConfig::seeded(self.fault_seed)
                    .server_error_rate(self.fault_server_error)
                    .rate_limit_rate(self.fault_rate_limit)
                    .delay_rate(self.fault_delay)
                    .delay(Duration::from_millis(self.fault_delay_ms))
                    .cut_after_store_rate(self.fault_cut),
            )
            .max_body_bytes(self.max_body_bytes)
            .header_read_timeout(Duration::from_millis(self.header_read_timeout_ms))
            .body_read_timeout(Duration::from_millis(self.body_read_timeout_ms))
            .shutdown_grace(Duration::from_millis(self.shutdown_grace_ms));
        if self.no_rate_limit {
            config = config.no_rate_limit();
        }
        if let (Some(app_id), Some(app_secret)) = (&self.app_id, &self.app_secret) {
            config = config.credentials(app_id, app_secret);
        }
        config.validate()?;
        Ok(config)
    }
}

/// Runs a sandbox as the flags say: prints its base URL as the first line of stdout, then
/// serves until Ctrl-C. Logs go through `tracing` (the binary prints them on stderr).
///
/// Ctrl-C stops accepting connections and lets open ones finish for up to
/// `--shutdown-grace-ms`; a second Ctrl-C, or the end of the grace period, drops them.
pub async fn run(args: SandboxArgs) -> io::Result<()> {
    let config = args
        .config()
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    tracing::info!(?config, "starting the sandbox");
    let grace = config.shutdown_grace;
    let sandbox = crate::spawn_on(args.addr(), config).await?;
    // Listening before the base URL is printed: whoever reads it may interrupt at once.
    let mut interrupts = ctrl_c_listener()?;
    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{}", sandbox.base_url())?;
        stdout.flush()?;
    }
    interrupts.recv().await;
    tracing::info!(
        ?grace,
        "stopping the sandbox: open connections may finish; Ctrl-C again to stop at once"
    );
    let abort = sandbox.server.abort_handle();
    tokio::select! {
        () = sandbox.shutdown() => {}
        Some(()) = interrupts.recv() => {
            tracing::warn!("second Ctrl-C: dropping open connections");
            abort.abort();
        }
    }
    Ok(())
}

/// Ctrl-C as a stream that counts from its creation on: unlike `tokio::signal::ctrl_c()`, no
/// interrupt is lost between the first and the second.
#[cfg(unix)]
fn ctrl_c_listener() -> io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

#[cfg(windows)]
fn ctrl_c_listener() -> io::Result<tokio::signal::windows::CtrlC> {
    tokio::signal::windows::ctrl_c()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        sandbox: SandboxArgs,
    }

    fn parse(args: &[&str]) -> Result<SandboxArgs, clap::Error> {
        Command::try_parse_from(std::iter::once("sandbox").chain(args.iter().copied()))
            .map(|command| command.sandbox)
    }

    #[test]
    fn defaults_are_the_documented_behaviour() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.addr(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let config = args.config().unwrap();
        assert_eq!(config.rate_limit_per_second, SPEC_RATE_LIMIT_PER_SECOND);
        assert_eq!(config.idempotency, IdempotencyMode::ReturnStored);
        assert_eq!(config.token_ttl, DEFAULT_TOKEN_TTL);
        assert_eq!(config.credentials, None);
        assert!(!config.faults.is_active());
        assert_eq!(config.header_read_timeout, DEFAULT_HEADER_READ_TIMEOUT);
        assert_eq!(config.body_read_timeout, DEFAULT_BODY_READ_TIMEOUT);
        assert_eq!(config.shutdown_grace, DEFAULT_SHUTDOWN_GRACE);
    }

    #[test]
    fn every_flag_reaches_the_config() {
        let args = parse(&[
            "--port",
            "8787",
            "--host",
            "0.0.0.0",
            "--app-id",
            "cli_a",
            "--app-secret",
            "s",
            "--idempotency",
            "reject",
            "--reject-code",
            "-7",
            "--no-rate-limit",
            "--fault-seed",
            "9",
            "--fault-5xx",
            "0.1",
            "--fault-429",
            "0.2",
            "--fault-delay",
            "0.3",
            "--fault-delay-ms",
            "5",
            "--fault-cut",
            "0.4",
            "--max-body-bytes",
            "100",
            "--token-ttl-secs",
            "60",
            "--header-read-timeout-ms",
            "150",
            "--body-read-timeout-ms",
            "250",
            "--shutdown-grace-ms",
            "0",
        ])
        .unwrap();
        assert_eq!(args.addr().to_string(), "0.0.0.0:8787");
        let config = args.config().unwrap();
        assert_eq!(config.credentials, Some(("cli_a".into(), "s".into())));
        assert_eq!(config.idempotency, IdempotencyMode::Reject { code: -7 });
        assert_eq!(config.rate_limit_per_second, None);
        assert_eq!(
            config.faults,
            FaultConfig::seeded(9)
                .server_error_rate(0.1)
                .rate_limit_rate(0.2)
                .delay_rate(0.3)
                .delay(Duration::from_millis(5))
                .cut_after_store_rate(0.4)
        );
        assert_eq!(config.max_body_bytes, 100);
        assert_eq!(config.token_ttl, Duration::from_secs(60));
        assert_eq!(config.header_read_timeout, Duration::from_millis(150));
        assert_eq!(config.body_read_timeout, Duration::from_millis(250));
        assert_eq!(config.shutdown_grace, Duration::ZERO);

        let args = parse(&["--idempotency", "off", "--rate-limit", "3"]).unwrap();
        let config = args.config().unwrap();
        assert_eq!(config.idempotency, IdempotencyMode::Off);
        assert_eq!(config.rate_limit_per_second, Some(3));
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&["--fault-5xx", "1.5"]).is_err());
        assert!(parse(&["--fault-cut", "x"]).is_err());
        assert!(parse(&["--rate-limit", "0"]).is_err());
        assert!(parse(&["--rate-limit", "5", "--no-rate-limit"]).is_err());
        assert!(parse(&["--app-id", "cli_a"]).is_err());
        assert!(parse(&["--token-ttl-secs", "0"]).is_err());
        assert!(parse(&["--header-read-timeout-ms", "0"]).is_err());
        assert!(parse(&["--body-read-timeout-ms", "0"]).is_err());
        let too_long = parse(&["--shutdown-grace-ms", "86400001"]).unwrap();
        assert!(matches!(
            too_long.config(),
            Err(ConfigError::Timeout {
                name: "shutdown_grace",
                ..
            })
        ));
        let too_many = parse(&["--fault-5xx", "0.6", "--fault-429", "0.6"]).unwrap();
        assert!(matches!(
            too_many.config(),
            Err(ConfigError::FaultRatesAboveOne { .. })
        ));
    }
}
