//! `cargo xtask`: project automation. Run `cargo xtask --help`.

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
    let layout = Layout::workspace();
    let outputs = match codegen::render(&layout) {
        Ok(outputs) => outputs,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    if check {
        let drifts = codegen::drift(&layout, &outputs);
        if drifts.is_empty() {
            println!("generated files are up to date ({} files)", outputs.len());
            return ExitCode::SUCCESS;
        }
        eprintln!("{}", codegen::drift_message(&drifts));
        return ExitCode::FAILURE;
    }
    match codegen::write(&layout, &outputs) {
        Ok(changes) if changes.is_empty() => {
            println!("generated files are up to date ({} files)", outputs.len());
            ExitCode::SUCCESS
        }
        Ok(changes) => {
            for change in &changes {
                println!("updated {change}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}
