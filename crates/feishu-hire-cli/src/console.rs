//! Where messages go: diagnostics and notes to stderr (or a test's buffer), and a progress
//! display that they do not tear.
//!
//! Progress is an indicatif bar (done/total, rate, ETA) when stderr is a terminal, and a plain
//! line every few seconds otherwise (logs, CI), so a long import never looks stuck.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Always the bar.
    Bar,
    /// Plain lines every few seconds.
    Plain,
    /// Nothing.
    Off,
}

/// How often plain progress lines are printed.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Diagnostics and notes, written line by line.
#[derive(Clone)]
pub struct Console {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
    bar: Option<ProgressBar>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

impl Console {
    /// Writes to stderr.
    pub fn stderr() -> Self {
        Self::new(Box::new(io::stderr()))
    }

    /// Writes to `sink` (tests pass a buffer).
    pub fn new(sink: Box<dyn Write + Send>) -> Self {
        Self {
            sink: Arc::new(Mutex::new(sink)),
            bar: None,
        }
    }

    /// A console that writes into a shared buffer, and the buffer.
    pub fn buffer() -> (Self, SharedBuffer) {
        let buffer = SharedBuffer::default();
        (Self::new(Box::new(buffer.clone())), buffer)
    }

    /// Writes one line.
    pub fn line(&self, text: impl AsRef<str>) {
        let text = text.as_ref();
        let mut line = String::with_capacity(text.len() + 1);
        line.push_str(text);
        line.push('\n');
        self.lines(&line);
    }

    /// Writes `lines`, each ending in a newline, at once: one write to stderr for them all
    /// (it is unbuffered, and a check can print a warning for every record).
    pub fn lines(&self, lines: &str) {
        if lines.is_empty() {
            return;
        }
        let write = || {
            if let Ok(mut sink) = self.sink.lock() {
                // A closed stderr is no reason to stop an import.
                let _ = sink.write_all(lines.as_bytes());
                let _ = sink.flush();
            }
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    fn with_bar(&self, bar: Option<ProgressBar>) -> Self {
        Self {
            sink: Arc::clone(&self.sink),
            bar,
        }
    }
}

/// A `Write` into shared memory, for tests.
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// What was written, as text.
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Progress of the sending phase.
#[derive(Debug)]
pub struct Progress {
    console: Console,
    bar: Option<ProgressBar>,
    plain: bool,
    total: u64,
    done: u64,
    /// What is counted, in the plural (`records`, `applications`).
    unit: &'static str,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    /// Starts showing progress towards `total` records; returns it and a console that
    /// writes above the bar.
    pub fn start(mode: ProgressMode, total: u64, console: &Console) -> (Self, Console) {
        Self::start_counting(mode, total, "records", console)
    }

    /// Like [`start`](Self::start), counting `unit` (in the plural) instead of records.
    pub fn start_counting(
        mode: ProgressMode,
        total: u64,
        unit: &'static str,
        console: &Console,
    ) -> (Self, Console) {
        let terminal = io::stderr().is_terminal();
        let (bar, plain) = match mode {
            ProgressMode::Off => (None, false),
            ProgressMode::Plain => (None, true),
            ProgressMode::Auto if !terminal => (None, true),
            ProgressMode::Auto | ProgressMode::Bar => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                let template = format!(
                    "{{spinner}} {{elapsed_precise}} [{{wide_bar}}] {{pos}}/{{len}} {unit}, {{per_sec}}, ETA {{eta}}"
                );
                let style = ProgressStyle::with_template(&template)
                    .map(|s| s.progress_chars("=> "))
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar.enable_steady_tick(Duration::from_millis(200));
                (Some(bar), false)
            }
        };
        let console = console.with_bar(bar.clone());
        let now = Instant::now();
        (
            Self {
                console: console.clone(),
                bar,
                plain,
                total,
                done: 0,
                unit,
                started: now,
                last_line: now,
            },
            console,
        )
    }

    /// One more record done.
    pub fn inc(&mut self) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Prints a plain progress line if one is due.
    pub fn tick(&mut self) {
        if self.plain && self.last_line.elapsed() >= PLAIN_EVERY {
            self.last_line = Instant::now();
            self.console.line(self.plain_line());
        }
    }

    fn plain_line(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            self.done as f64 / elapsed
        } else {
            0.0
        };
        let percent = if self.total > 0 {
            self.done as f64 * 100.0 / self.total as f64
        } else {
            100.0
        };
        let eta = if rate > 0.0 {
            let left = self.total.saturating_sub(self.done) as f64 / rate;
            format!("ETA {}", HumanDuration(Duration::from_secs_f64(left)))
        } else {
            "ETA unknown".to_owned()
        };
        format!(
            "progress: {}/{} {} ({percent:.0}%), {rate:.1}/s, {eta}",
            self.done, self.total, self.unit
        )
    }

    /// Stops the display.
    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.plain && self.done > 0 {
            self.console.line(self.plain_line());
        }
    }
}
