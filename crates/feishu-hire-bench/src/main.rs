//! `feishu-hire-bench`: our client, importer and sandbox measured side by side with the floor
//! each is held to (plain reqwest, a minimal hyper server), on the same machine in one run,
//! interleaved, printed as ratios. Absolute times depend on the machine; ratios much less.
//!
//! ```text
//! cargo run --release -p feishu-hire-bench                        # everything, about 1 minute
//! cargo run --release -p feishu-hire-bench -- --only client       # one section
//! cargo run --release -p feishu-hire-bench -- --relax 0.8         # noisy machine: floors × 0.8
//! ```
//!
//! Servers run as child processes (this binary, `serve stub|sandbox`) on a 1-thread Tokio
//! runtime each; the load runs in this process on a 2-thread runtime. CPU per call is the
//! client side's (this process; for the importer, its process) or, in the server section,
//! the server's. Each round measures both contenders back to back, in a random order; the
//! ratios printed are the medians of the rounds' ratios. The exit status is 1
//! when a ratio misses its floor (see `--help` for the floors), 2 when the bench itself fails.

mod cpu;
mod servers;
mod workload;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};

use crate::servers::{Kind, Server};
use crate::workload::{BodyTemplate, Budget, Contender};

type BoxError = Box<dyn std::error::Error>;

/// How long each contender runs before it is measured: connections, allocator, caches.
const WARM_UP: Duration = Duration::from_millis(200);

/// Measures the client, the importer and the sandbox against plain reqwest and a bare hyper
/// server; prints ratios; exits 1 when one misses its floor.
#[derive(Debug, Parser)]
#[command(name = "feishu-hire-bench")]
struct Args {
    #[command(subcommand)]
    serve: Option<Serve>,
    /// Sections to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Section::Client, Section::Importer, Section::Sandbox])]
    only: Vec<Section>,
    /// Rounds of the client comparisons (each measures both contenders once).
    #[arg(long, default_value_t = 41)]
    rounds: usize,
    /// Seconds each contender runs per round of the client comparisons. Many short rounds
    /// pair the two contenders' measurements closely in time, which keeps a busy machine's
    /// slow spells out of the ratios.
    #[arg(long, default_value_t = 0.1)]
    seconds: f64,
    /// Rounds of the importer comparison (each runs the importer once, `--records` records).
    #[arg(long, default_value_t = 9)]
    importer_rounds: usize,
    /// Rounds of the server comparison (each starts both servers afresh).
    #[arg(long, default_value_t = 11)]
    server_rounds: usize,
    /// Seconds each server is measured per round.
    #[arg(long, default_value_t = 0.4)]
    server_seconds: f64,
    /// Concurrent tasks of the "N tasks" client comparison and of the importer
    /// (`--concurrency`) and its reqwest baseline.
    #[arg(long, default_value_t = 8)]
    tasks: usize,
    /// Records per importer run.
    #[arg(long, default_value_t = 20_000)]
    records: u64,
    /// Concurrent connections of the server comparison's load generator.
    #[arg(long, default_value_t = 50)]
    connections: usize,
    /// The `feishu-hire` binary. Default: built with `$CARGO` (set by `cargo run`) in this
    /// binary's profile, then taken from beside this binary.
    #[arg(long)]
    importer: Option<PathBuf>,
    /// Gives plain reqwest a client-wide timeout of this many seconds, like our client's 30 s
    /// (one timer per request). Default: none, the barest reqwest call.
    #[arg(long, value_name = "SECONDS")]
    baseline_timeout: Option<u64>,
    /// For profiling: run only this contender of the client section, with `--tasks` tasks,
    /// `--rounds` times, and print its rate and CPU per call.
    #[arg(long, value_enum)]
    solo: Option<Solo>,
    /// With `--solo`: make this many calls per round instead of running for `--seconds`, so
    /// that counting tools (valgrind's callgrind, dhat) can divide their totals by the calls.
    #[arg(long, requires = "solo")]
    calls: Option<u64>,
    /// Multiplies every floor by this (and divides the CPU ceiling by it), for noisy machines.
    #[arg(long, default_value_t = 1.0)]
    relax: f64,
    /// Client, sequential: least req/s, as a fraction of plain reqwest's.
    #[arg(long, default_value_t = 0.95)]
    floor_client_sequential: f64,
    /// Client, sequential: most CPU per call, as a multiple of plain reqwest's.
    #[arg(long, default_value_t = 1.15)]
    ceiling_client_cpu: f64,
    /// Client, N tasks: least req/s, as a fraction of plain reqwest's.
    #[arg(long, default_value_t = 0.90)]
    floor_client_tasks: f64,
    /// Importer: least records/s, as a fraction of plain reqwest's with N tasks.
    #[arg(long, default_value_t = 0.90)]
    floor_importer: f64,
    /// Sandbox: least req/s, as a fraction of the minimal hyper server's.
    #[arg(long, default_value_t = 0.50)]
    floor_sandbox: f64,
}

#[derive(Debug, Subcommand)]
enum Serve {
    /// (internal) Serve in a child process until stdin closes.
    #[command(hide = true)]
    Serve {
        #[arg(value_enum)]
        kind: Kind,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Solo {
    Reqwest,
    Ours,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    Client,
    Importer,
    Sandbox,
}

/// One measurement: calls per second, and CPU per call of the side measured.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rate: f64,
    cpu_per_call: Duration,
}

impl Sample {
    fn new(calls: u64, wall: Duration, cpu: Duration) -> Self {
        let calls_f = calls.max(1) as f64;
        Self {
            rate: calls as f64 / wall.as_secs_f64(),
            cpu_per_call: cpu.div_f64(calls_f),
        }
    }
}

/// Two contenders' samples and what their ratio must reach.
struct Comparison {
    title: String,
    unit: &'static str,
    cpu_side: &'static str,
    base_name: &'static str,
    ours_name: &'static str,
    base: Vec<Sample>,
    ours: Vec<Sample>,
    rate_floor: f64,
    cpu_ceiling: Option<f64>,
}

impl Comparison {
    /// Prints the medians and ratios; returns the goals missed.
    ///
    /// The ratios are the medians of the rounds' ratios: each round measures both contenders
    /// back to back, so a slow spell of a shared machine weighs on both sides of a ratio
    /// rather than on one contender's median.
    fn report(&self) -> Vec<String> {
        let pairs = || self.base.iter().zip(&self.ours);
        let rate_ratios: Vec<f64> = pairs().map(|(b, o)| o.rate / b.rate).collect();
        let cpu_ratios: Vec<f64> = pairs()
            .map(|(b, o)| o.cpu_per_call.as_secs_f64() / b.cpu_per_call.as_secs_f64())
            .collect();
        let rate_ratio = median(rate_ratios.clone());
        let cpu_ratio = median(cpu_ratios.clone());
        println!("\n{}", self.title);
        println!(
            "  {:<24} {:>10} {:>15}   CPU per call ({})",
            "", self.unit, "(range)", self.cpu_side
        );
        for (name, samples) in [(self.base_name, &self.base), (self.ours_name, &self.ours)] {
            let rates: Vec<f64> = samples.iter().map(|s| s.rate).collect();
            let cpus: Vec<f64> = samples
                .iter()
                .map(|s| s.cpu_per_call.as_secs_f64() * 1e6)
                .collect();
            println!(
                "  {:<24} {:>10.0} {:>15}   {:>7.1} µs",
                name,
                median(rates.clone()),
                range(&rates, 0),
                median(cpus),
            );
        }
        let mut missed = Vec::new();
        print!(
            "  ratio {rate_ratio:.2}× {} [{}] (floor {:.2}×), CPU per call {cpu_ratio:.2}× [{}]",
            self.unit,
            range(&rate_ratios, 2),
            self.rate_floor,
            range(&cpu_ratios, 2),
        );
        if rate_ratio < self.rate_floor {
            missed.push(format!(
                "{}: {rate_ratio:.2}× {} < {:.2}×",
                self.title, self.unit, self.rate_floor
            ));
        }
        if let Some(ceiling) = self.cpu_ceiling {
            print!(" (ceiling {ceiling:.2}×)");
            if cpu_ratio > ceiling {
                missed.push(format!(
                    "{}: CPU per call {cpu_ratio:.2}× > {ceiling:.2}×",
                    self.title
                ));
            }
        }
        let verdict = if missed.is_empty() { "ok" } else { "MISSED" };
        println!("  {verdict}");
        missed
    }
}

/// Which contender goes first in a round: at random (xorshift, seeded from the clock), so
/// that a periodic disturbance on a shared machine does not keep hitting the same one, as a
/// fixed alternation can.
struct Order(u64);

impl Order {
    fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |since| since.as_nanos() as u64);
        Self(seed | 1)
    }

    fn base_first(&mut self) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 & 1 == 0
    }
}

/// `min–max` with `decimals` decimals.
fn range(values: &[f64], decimals: usize) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{min:.decimals$}–{max:.decimals$}")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Serve::Serve { kind }) = args.serve {
        return match servers::serve(kind) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("feishu-hire-bench serve: {error}");
                ExitCode::from(2)
            }
        };
    }
    match run(&args) {
        Ok(missed) if missed.is_empty() => {
            println!("\nall ratios meet their floors");
            ExitCode::SUCCESS
        }
        Ok(missed) => {
            println!("\nbelow the floor:");
            for line in missed {
                println!("  {line}");
            }
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("feishu-hire-bench: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<Vec<String>, BoxError> {
    let started = Instant::now();
    let importer = if args.only.contains(&Section::Importer) {
        Some(importer_binary(args.importer.as_deref())?)
    } else {
        None
    };
    println!(
        "feishu-hire-bench: {} CPUs, load average {} (before); rounds: client {} × {:.1} s, \
         importer {} × {} records, server {} × {:.1} s{}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        args.rounds,
        args.seconds,
        args.importer_rounds,
        args.records,
        args.server_rounds,
        args.server_seconds,
        if cfg!(debug_assertions) {
            " — DEBUG BUILD, use --release"
        } else {
            ""
        }
    );
    // The load: two worker threads, one per core of the 2-core machine the goals are set on.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-load")
        .enable_all()
        .build()?;
    let window = Duration::from_secs_f64(args.seconds);
    if let Some(solo) = args.solo {
        solo_run(args, &runtime, window, solo)?;
        return Ok(Vec::new());
    }
    let mut missed = Vec::new();
    if args.only.contains(&Section::Client) {
        for comparison in client(args, &runtime, window)? {
            missed.extend(comparison.report());
        }
    }
    if let Some(importer) = importer {
        missed.extend(importer_section(args, &runtime, &importer)?.report());
    }
    if args.only.contains(&Section::Sandbox) {
        let window = Duration::from_secs_f64(args.server_seconds);
        missed.extend(sandbox(args, &runtime, window)?.report());
    }
    println!(
        "\nload average {} (after), {:.0} s in all",
        load_average(),
        started.elapsed().as_secs_f64()
    );
    Ok(missed)
}

/// Our client against plain reqwest on the stub: one task, then `--tasks` tasks.
fn client(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    window: Duration,
) -> Result<Vec<Comparison>, BoxError> {
    let server = Server::start(Kind::Stub)?;
    let base = Contender::reqwest(
        &server.base_url,
        args.baseline_timeout.map(Duration::from_secs),
    )?;
    let ours = Contender::ours(&server.base_url)?;
    let measure = |contender: &Contender, tasks: usize, window: Duration| {
        let cpu_before = cpu::process(None)?;
        let started = Instant::now();
        let calls = runtime.block_on(workload::drive(contender, tasks, Budget::time(window)))?;
        let wall = started.elapsed();
        let cpu = cpu::process(None)?.saturating_sub(cpu_before);
        Ok::<_, BoxError>(Sample::new(calls, wall, cpu))
    };
    let mut comparisons = Vec::new();
    for (tasks, floor, ceiling) in [
        (
            1,
            args.floor_client_sequential * args.relax,
            Some(args.ceiling_client_cpu / args.relax),
        ),
        (args.tasks, args.floor_client_tasks * args.relax, None),
    ] {
        // Warm up: connections, allocator, caches.
        measure(&base, tasks, WARM_UP)?;
        measure(&ours, tasks, WARM_UP)?;
        let (mut base_samples, mut ours_samples) = (Vec::new(), Vec::new());
        let mut order = Order::new();
        for round in 0..args.rounds {
            progress(&format!("client, {tasks} task(s), round {}", round + 1));
            if order.base_first() {
                base_samples.push(measure(&base, tasks, window)?);
                ours_samples.push(measure(&ours, tasks, window)?);
            } else {
                ours_samples.push(measure(&ours, tasks, window)?);
                base_samples.push(measure(&base, tasks, window)?);
            }
        }
        comparisons.push(Comparison {
            title: if tasks == 1 {
                "client, sequential (minimal hyper server, 1 thread)".to_owned()
            } else {
                format!("client, {tasks} tasks (minimal hyper server, 1 thread)")
            },
            unit: "req/s",
            cpu_side: "client process",
            base_name: "plain reqwest",
            ours_name: "feishu-hire-client",
            base: base_samples,
            ours: ours_samples,
            rate_floor: floor,
            cpu_ceiling: ceiling,
        });
    }
    Ok(comparisons)
}

/// One contender of the client section alone, for a profiler.
fn solo_run(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    window: Duration,
    solo: Solo,
) -> Result<(), BoxError> {
    let server = Server::start(Kind::Stub)?;
    let contender = match solo {
        Solo::Reqwest => Contender::reqwest(
            &server.base_url,
            args.baseline_timeout.map(Duration::from_secs),
        )?,
        Solo::Ours => Contender::ours(&server.base_url)?,
    };
    for _ in 0..args.rounds {
        let cpu_before = cpu::process(None)?;
        let started = Instant::now();
        let budget = args
            .calls
            .map_or_else(|| Budget::time(window), Budget::calls);
        let calls = runtime.block_on(workload::drive(&contender, args.tasks, budget))?;
        let sample = Sample::new(
            calls,
            started.elapsed(),
            cpu::process(None)?.saturating_sub(cpu_before),
        );
        println!(
            "{solo:?}, {} task(s): {calls} calls, {:.0} req/s, {:.1} µs CPU per call",
            args.tasks,
            sample.rate,
            sample.cpu_per_call.as_secs_f64() * 1e6
        );
    }
    Ok(())
}

/// `feishu-hire import` (`--rate off --concurrency N`, fixed token) against plain reqwest with
/// N tasks sending as many records to the same stub. The importer's rate counts its whole run:
/// start-up, the check of every record, sending, the journal.
fn importer_section(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    importer: &Path,
) -> Result<Comparison, BoxError> {
    let server = Server::start(Kind::Stub)?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("records.jsonl");
    {
        let template = BodyTemplate::new();
        let mut out = std::io::BufWriter::new(std::fs::File::create(&input)?);
        for i in 0..args.records {
            out.write_all(&template.body(&format!("bench-import-{i}")))?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    let base = Contender::reqwest(
        &server.base_url,
        args.baseline_timeout.map(Duration::from_secs),
    )?;
    let ticks = cpu::ticks_per_second();
    let measure_base = || {
        let cpu_before = cpu::process(None)?;
        let started = Instant::now();
        let calls = runtime.block_on(workload::drive(
            &base,
            args.tasks,
            Budget::calls(args.records),
        ))?;
        let wall = started.elapsed();
        let cpu = cpu::process(None)?.saturating_sub(cpu_before);
        Ok::<_, BoxError>(Sample::new(calls, wall, cpu))
    };
    let measure_importer = |run: usize| {
        let journal = dir.path().join(format!("run-{run}.journal"));
        let failures = dir.path().join(format!("run-{run}.failures.jsonl"));
        let cpu_before = cpu::waited_children(ticks)?;
        let started = Instant::now();
        let output = Command::new(importer)
            .arg("import")
            .arg(&input)
            .args(["--base-url", &server.base_url, "--rate", "off"])
            .args(["--concurrency", &args.tasks.to_string()])
            .args(["--progress", "off", "--json", "--journal"])
            .arg(&journal)
            .arg("--failures")
            .arg(&failures)
            .env("FEISHU_TENANT_ACCESS_TOKEN", workload::TOKEN)
            .env_remove("FEISHU_APP_ID")
            .env_remove("FEISHU_APP_SECRET")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()?;
        let wall = started.elapsed();
        let cpu = cpu::waited_children(ticks)?.saturating_sub(cpu_before);
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
            format!(
                "the importer printed no summary ({e}): {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        let created = summary.get("created").and_then(serde_json::Value::as_u64);
        if !output.status.success() || created != Some(args.records) {
            return Err(format!("the importer did not create every record: {summary}").into());
        }
        Ok::<_, BoxError>(Sample::new(args.records, wall, cpu))
    };
    measure_importer(usize::MAX)?;
    measure_base()?;
    let (mut base_samples, mut ours_samples) = (Vec::new(), Vec::new());
    let mut order = Order::new();
    for round in 0..args.importer_rounds {
        progress(&format!("importer, round {}", round + 1));
        if order.base_first() {
            base_samples.push(measure_base()?);
            ours_samples.push(measure_importer(round)?);
        } else {
            ours_samples.push(measure_importer(round)?);
            base_samples.push(measure_base()?);
        }
    }
    Ok(Comparison {
        title: format!(
            "importer, {} records, --concurrency {} (minimal hyper server, 1 thread)",
            args.records, args.tasks
        ),
        unit: "records/s",
        cpu_side: "client process",
        base_name: "plain reqwest, N tasks",
        ours_name: "feishu-hire import",
        base: base_samples,
        ours: ours_samples,
        rate_floor: args.floor_importer * args.relax,
        cpu_ceiling: None,
    })
}

/// The sandbox against the minimal hyper server, both on a 1-thread runtime in a child
/// process, under the same load: `--connections` loops of plain reqwest, each create with a new
/// `external_id`. A fresh server per measurement.
fn sandbox(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    window: Duration,
) -> Result<Comparison, BoxError> {
    let measure = |kind: Kind, run: u64, window: Duration| {
        let server = Server::start(kind)?;
        let http = reqwest::Client::new();
        let token = match kind {
            Kind::Stub => workload::TOKEN.to_owned(),
            Kind::Sandbox => runtime.block_on(workload::fetch_token(&http, &server.base_url))?,
        };
        let load = |run: u64, budget| {
            runtime.block_on(workload::generate(
                &http,
                &server.base_url,
                &token,
                args.connections,
                budget,
                run,
            ))
        };
        // Open the connections and warm the server up before measuring.
        load(run * 2, Budget::time(WARM_UP))?;
        let cpu_before = server.cpu()?;
        let started = Instant::now();
        let calls = load(run * 2 + 1, Budget::time(window))?;
        let wall = started.elapsed();
        let cpu = server.cpu()?.saturating_sub(cpu_before);
        Ok::<_, BoxError>(Sample::new(calls, wall, cpu))
    };
    let (mut base_samples, mut ours_samples) = (Vec::new(), Vec::new());
    let mut order = Order::new();
    for round in 0..args.server_rounds {
        progress(&format!("sandbox, round {}", round + 1));
        let run = round as u64;
        if order.base_first() {
            base_samples.push(measure(Kind::Stub, run, window)?);
            ours_samples.push(measure(Kind::Sandbox, run, window)?);
        } else {
            ours_samples.push(measure(Kind::Sandbox, run, window)?);
            base_samples.push(measure(Kind::Stub, run, window)?);
        }
    }
    Ok(Comparison {
        title: format!(
            "server, {} connections of plain reqwest (each server: 1-thread runtime, child process)",
            args.connections
        ),
        unit: "req/s",
        cpu_side: "server process",
        base_name: "minimal hyper server",
        ours_name: "feishu-hire-sandbox",
        base: base_samples,
        ours: ours_samples,
        rate_floor: args.floor_sandbox * args.relax,
        cpu_ceiling: None,
    })
}

/// The `feishu-hire` binary: the one given, or built in this binary's profile with `$CARGO`
/// (which `cargo run` sets) and found beside this binary.
fn importer_binary(given: Option<&Path>) -> Result<PathBuf, BoxError> {
    if let Some(path) = given {
        return Ok(path.to_owned());
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or("this binary has no directory")?
        .to_owned();
    if let Some(cargo) = std::env::var_os("CARGO") {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--quiet",
                "-p",
                "feishu-hire-cli",
                "--bin",
                "feishu-hire",
            ])
            .arg("--manifest-path")
            .arg(manifest);
        if dir.ends_with("release") {
            build.arg("--release");
        }
        if !build.status()?.success() {
            return Err("building the `feishu-hire` binary failed".into());
        }
    }
    let path = dir.join("feishu-hire");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "no importer at {}: run through `cargo run`, or pass --importer",
            path.display()
        )
        .into())
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".to_owned())
}

/// Progress on stderr, so that stdout is the report alone.
fn progress(what: &str) {
    eprintln!("  … {what}");
}
