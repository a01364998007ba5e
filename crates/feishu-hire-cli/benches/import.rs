//! Benchmark (not a test): throughput and peak memory of `feishu-hire import` against an
//! out-of-process sandbox with its rate limit off.
//!
//! ```text
//! cargo bench -p feishu-hire-cli --bench import                 # 10,000 and 1,000,000 lines
//! cargo bench -p feishu-hire-cli --bench import -- 10000 100000 # other sizes
//! ```
//!
//! For each size it generates an input with the example generator, starts a sandbox in this
//! process (rate limit off, no faults), runs the release binary as a child with
//! `--rate off --concurrency 16`, and reads the child's JSON summary: wall time, records per
//! second while sending, and the child's peak resident memory (`VmHWM`, Linux). The target
//! is a flat memory profile: under 100 MiB, and the largest run within 20% of the smallest.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use feishu_hire_cli::examples::interview_lines;
use feishu_hire_sandbox::SandboxConfig;

const CONCURRENCY: &str = "16";

struct Measured {
    lines: u64,
    seconds: f64,
    sending_rate: f64,
    peak_mib: f64,
}

fn generate(path: &Path, lines: u64) {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for line in interview_lines(lines, lines, "bench-") {
        writeln!(out, "{line}").unwrap();
    }
    out.flush().unwrap();
}

async fn measure(lines: u64) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bench.jsonl");
    let generating = Instant::now();
    generate(&input, lines);
    let size = std::fs::metadata(&input).unwrap().len();
    eprintln!(
        "generated {lines} lines ({:.1} MiB) in {:.1} s",
        size as f64 / 1048576.0,
        generating.elapsed().as_secs_f64()
    );
    let sandbox = feishu_hire_sandbox::spawn(SandboxConfig::default().no_rate_limit())
        .await
        .unwrap();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_feishu-hire"))
        .arg("import")
        .arg(&input)
        .args([
            "--base-url",
            &sandbox.base_url(),
            "--app-id",
            "bench",
            "--app-secret",
            "bench",
        ])
        .args([
            "--rate",
            "off",
            "--concurrency",
            CONCURRENCY,
            "--progress",
            "plain",
            "--json",
        ])
        .arg("--journal")
        .arg(dir.path().join("bench.journal"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Poll rather than block, so this runtime keeps serving the sandbox.
    while child.try_wait().unwrap().is_none() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = child.wait_with_output().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["exit_code"], 0, "{summary}");
    assert_eq!(sandbox.stats().created, lines);
    sandbox.shutdown().await;
    Measured {
        lines,
        seconds,
        sending_rate: summary["records_per_second"].as_f64().unwrap_or(0.0),
        peak_mib: summary["peak_memory_bytes"].as_f64().unwrap_or(f64::NAN) / 1048576.0,
    }
}

fn main() {
    let mut sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.replace('_', "").parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![10_000, 1_000_000];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let results: Vec<Measured> = runtime.block_on(async {
        let mut results = Vec::new();
        for lines in sizes {
            results.push(measure(lines).await);
        }
        results
    });
    println!("\n| lines | wall time | records/s (sending) | peak memory of the importer |");
    println!("|------:|----------:|--------------------:|----------------------------:|");
    for m in &results {
        println!(
            "| {} | {:.1} s | {:.0} | {:.1} MiB |",
            m.lines, m.seconds, m.sending_rate, m.peak_mib
        );
    }
    if let (Some(first), Some(last)) = (results.first(), results.last())
        && results.len() > 1
    {
        println!(
            "\npeak memory, {} lines vs {} lines: {:+.1}% (target: within 20%, under 100 MiB)",
            last.lines,
            first.lines,
            (last.peak_mib / first.peak_mib - 1.0) * 100.0
        );
    }
}
