//! The servers the loads run against, each a child process (this binary, `serve <kind>`) on a
//! 1-thread Tokio runtime: the minimal hyper stub (the floor) and the sandbox.
//!
//! Child processes, so that a server's CPU is its own (read from its threads while it serves)
//! and the bench process's CPU is the load's alone; the child prints its base URL on stdout
//! and exits when its stdin closes, so it never outlives the bench.

use std::convert::Infallible;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderName, Request, Response};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::workload::SEED_RESPONSE;

/// Which server a child runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// The minimal hyper server: reads the request, answers the documented create answer.
    Stub,
    /// `feishu_hire_sandbox::spawn`: validation on, rate limit off, `info` logs on stderr.
    Sandbox,
}

/// A server child process.
pub struct Server {
    child: Child,
    /// Closing it stops the child.
    stdin: Option<ChildStdin>,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
}

impl Server {
    /// Starts `kind` in a child process and waits for its base URL.
    pub fn start(kind: Kind) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let kind_name = match kind {
            Kind::Stub => "stub",
            Kind::Sandbox => "sandbox",
        };
        let mut child = Command::new(exe)
            .args(["serve", kind_name])
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // The sandbox's one log line per request is written, as by the real binary, and
            // discarded here.
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line)?;
        }
        let base_url = line.trim().to_owned();
        if !base_url.starts_with("http://") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other(format!(
                "the {kind_name} server did not start: {line:?}"
            )));
        }
        Ok(Self {
            child,
            stdin,
            base_url,
        })
    }

    /// CPU time the server process has used so far.
    pub fn cpu(&self) -> std::io::Result<Duration> {
        crate::cpu::process(Some(self.child.id()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // EOF on its stdin stops the child; kill it if it lingers.
        drop(self.stdin.take());
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's side: serves `kind` on 127.0.0.1 until stdin closes.
pub fn serve(kind: Kind) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Held until the end: dropping the sandbox stops it.
        let mut _sandbox = None;
        let base_url = match kind {
            Kind::Stub => {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let url = format!("http://{}", listener.local_addr()?);
                tokio::spawn(stub(listener));
                url
            }
            Kind::Sandbox => {
                // As `feishu-hire-sandbox` does by default: `info`, one line per request.
                tracing_subscriber::fmt()
                    .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
                    .with_writer(std::io::stderr)
                    .with_ansi(false)
                    .init();
                let config = feishu_hire_sandbox::SandboxConfig::default().no_rate_limit();
                let sandbox = feishu_hire_sandbox::spawn(config).await?;
                let url = sandbox.base_url();
                _sandbox = Some(sandbox);
                url
            }
        };
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{base_url}")?;
        stdout.flush()?;
        // Blocks a pool thread (asleep, no CPU) until the bench closes the pipe.
        tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await??;
        Ok(())
    })
}

/// The minimal server: HTTP/1, keep-alive, reads each request's body and answers the
/// documented create answer (`crates/feishu-hire-testkit/data/seed_response.json`, compact) with an `X-Tt-Logid`.
async fn stub(listener: TcpListener) {
    let answer = compact(SEED_RESPONSE);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let answer = answer.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let answer = answer.clone();
                async move {
                    // Read the body, as any server must before answering on a kept-alive
                    // connection.
                    let _ = request.into_body().collect().await;
                    let mut response = Response::new(Full::new(answer));
                    let headers = response.headers_mut();
                    headers.insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/json; charset=utf-8"),
                    );
                    headers.insert(
                        HeaderName::from_static("x-tt-logid"),
                        HeaderValue::from_static("20240716150818E0B0C0D0E0F1011121314"),
                    );
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// `json` without its whitespace, as a server sends it.
pub fn compact(json: &str) -> Bytes {
    serde_json::from_str::<serde_json::Value>(json)
        .and_then(|value| serde_json::to_vec(&value))
        .map(Bytes::from)
        .unwrap_or_else(|_| Bytes::copy_from_slice(json.as_bytes()))
}
