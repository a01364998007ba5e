//! The `feishu-hire` binary: parses the command line and runs it (see the library docs).

use std::io::IsTerminal;

use clap::Parser;
use feishu_hire_cli::{Cli, Command, run};

/// See the workspace manifest: glibc's allocator cost an import a sixth of its CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    init_logs(&cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::exit(feishu_hire_cli::exit::REFUSED);
        }
    };
    let code = runtime.block_on(async {
        // Only `import` and `verify` stop gracefully on Ctrl-C; every other command keeps the default
        // (the process ends at once), so a copy of stdin or a long check can be interrupted.
        let interrupts = if matches!(cli.command, Command::Import(_) | Command::Verify(_)) {
            feishu_hire_cli::signals::listen()
        } else {
            feishu_hire_cli::signals::never()
        };
        // On a worker thread rather than this one: the tasks an import spawns (its sending
        // tasks) then start on that worker's own queue instead of each waking a worker through
        // the runtime's shared queue (measured when it spawned a task per record: about 6%
        // more records per second).
        match tokio::spawn(run(cli, interrupts)).await {
            Ok(code) => code,
            Err(error) => match error.try_into_panic() {
                // A panic stays a panic, as if it had happened on this thread.
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => {
                    eprintln!("error: {error}");
                    feishu_hire_cli::exit::ABORTED
                }
            },
        }
    });
    // Don't wait for blocking tasks (e.g. a read of stdin) that are no longer needed.
    runtime.shutdown_background();
    std::process::exit(code);
}

/// Logs go to stderr, so they never mix with the summary or the sandbox's URL on stdout, and
/// are coloured only on a terminal (a log file must not fill with escape codes). `import` and
/// `validate` log only when asked (`RUST_LOG`), since their messages are their output;
/// `sandbox` logs one line per request at the default level, like `feishu-hire-sandbox`.
fn init_logs(command: &Command) {
    let filter = match (std::env::var_os("RUST_LOG"), command) {
        (Some(_), _) => tracing_subscriber::EnvFilter::from_default_env(),
        (None, Command::Sandbox(_)) => tracing_subscriber::EnvFilter::new("info"),
        (None, _) => return,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
