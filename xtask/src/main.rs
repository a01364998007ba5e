//! `cargo xtask`: project automation. Run `cargo xtask --help`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::codegen::{self, Layout};

#[derive(Parser)]
#[command(about = "Project automation for the feishu-hire workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate Rust types and JSON Schemas from spec/.
    Codegen {
        /// Write nothing; exit 1 if any generated file is out of date.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let Cli { command } = Cli::parse();
    match command {
        Command::Codegen { check } => run_codegen(check),
    }
}

fn run_codegen(check: bool) -> ExitCode {
    let mut stale = Vec::new();
    let mut total = 0;
    for layout in Layout::all() {
        let outputs = match codegen::render(&layout) {
            Ok(outputs) => outputs,
            Err(error) => {
                eprintln!("{}", error.render(colour()));
                return ExitCode::from(2);
            }
        };
        total += outputs.len();
        let changes = if check {
            codegen::drift(&layout, &outputs)
        } else {
            match codegen::write(&layout, &outputs) {
                Ok(changes) => changes,
                Err(error) => {
                    eprintln!("{error}");
                    return ExitCode::from(2);
                }
            }
        };
        // Show paths relative to the workspace root, whatever the layout's root.
        let prefix = layout
            .root
            .strip_prefix(Layout::workspace().root)
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        stale.extend(changes.into_iter().map(|change| change.under(&prefix)));
    }
    if stale.is_empty() {
        println!("generated files are up to date ({total} files)");
        return ExitCode::SUCCESS;
    }
    if check {
        eprintln!("{}", codegen::drift_message(&stale));
        return ExitCode::FAILURE;
    }
    for change in &stale {
        println!("updated {change}");
    }
    ExitCode::SUCCESS
}

/// Colour in messages only on a terminal, and not when `NO_COLOR` is set (<https://no-color.org>).
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
