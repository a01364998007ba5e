//! The `feishu-hire-sandbox` binary: a Feishu-compatible sandbox server on 127.0.0.1.
//! It prints its base URL as the first line of stdout and logs on stderr (`RUST_LOG`).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use feishu_hire_sandbox::SandboxArgs;
use tracing_subscriber::EnvFilter;

/// A Feishu-compatible sandbox for Feishu Hire's external-interview API.
#[derive(Debug, Parser)]
#[command(name = "feishu-hire-sandbox", version, about)]
struct Command {
    #[command(flatten)]
    sandbox: SandboxArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = Command::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match feishu_hire_sandbox::run(command.sandbox).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("feishu-hire-sandbox: {err}");
            ExitCode::FAILURE
        }
    }
}
