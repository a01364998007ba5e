//! A Feishu-compatible sandbox server for Feishu (Lark) Hire's external-interview API.
//!
#![doc = include_str!("../README.md")]

mod behaviour;
mod cli;
mod clock;
mod config;
mod faults;
mod paging;
mod params;
mod rate_limit;
mod serve;
mod server;
mod state;
mod stats;
mod store;
mod validate;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use cli::{IdempotencyArg, SandboxArgs, run};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    ConfigError, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_SHUTDOWN_GRACE, DEFAULT_TOKEN_TTL, FaultConfig, IdempotencyMode,
    MAX_CONNECTION_TIMEOUT, MAX_TOKEN_TTL, SPEC_RATE_LIMIT_PER_SECOND, SandboxConfig,
};
pub use paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use stats::{FaultCounts, Stats, StoredInterview};

use crate::state::Shared;

/// Path of the stored records: `GET` answers `{"count": N, "external_interviews": [...]}`
/// (each a [`StoredInterview`]); `?external_id=…` keeps only that id's records.
pub const RECORDS_PATH: &str = "/sandbox/external_interviews";

/// Path of the counters: `GET` answers the [`Stats`] as JSON.
pub const STATS_PATH: &str = "/sandbox/stats";

/// `code` of the answer to an endpoint that has a spec but no behaviour in the sandbox
/// (HTTP 501). The sandbox's own code, not Feishu's: it mirrors the HTTP status, far from
/// Feishu's seven- and eight-digit codes.
pub const NOT_IMPLEMENTED_CODE: i64 = 501;

/// `code` of the answer to a path no endpoint has (HTTP 404). The sandbox's own code, like
/// [`NOT_IMPLEMENTED_CODE`].
pub const NOT_FOUND_CODE: i64 = 404;

/// `code` of the answer to a known path with a method none of its endpoints has (HTTP 405,
/// with an `Allow` header). The sandbox's own code, like [`NOT_IMPLEMENTED_CODE`].
pub const METHOD_NOT_ALLOWED_CODE: i64 = 405;

/// The names (as in the specs, e.g. `update_external_interview`) of the endpoints the sandbox
/// implements. Every other endpoint of `feishu_hire_types::ENDPOINTS` is routed too, and
/// answers HTTP 501 with [`NOT_IMPLEMENTED_CODE`] and a `msg` naming it.
pub fn implemented_endpoints() -> Vec<&'static str> {
    behaviour::IMPLEMENTED
        .iter()
        .map(|(name, _)| *name)
        .collect()
}

/// Header the sandbox adds to answers with an injected fault: `server_error`, `rate_limit`
/// or `delay`. Not a Feishu header.
pub const FAULT_HEADER: &str = "x-sandbox-fault";

/// Starts a sandbox on `127.0.0.1` at a free port, in the background of the current Tokio
/// runtime.
///
/// Fails if the configuration is refused (see [`SandboxConfig::validate`]; the error is of
/// kind [`io::ErrorKind::InvalidInput`]) or the port cannot be bound.
///
/// ```
/// use feishu_hire_sandbox::{IdempotencyMode, SandboxConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let sandbox = feishu_hire_sandbox::spawn(
///     SandboxConfig::default()
///         .no_rate_limit()
///         .idempotency(IdempotencyMode::ReturnStored),
/// )
/// .await?;
/// // Give a client `sandbox.base_url()` (`http://127.0.0.1:<port>`) as its base URL.
/// assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
/// assert_eq!(sandbox.stats().created, 0);
/// sandbox.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub async fn spawn(config: SandboxConfig) -> io::Result<Sandbox> {
    spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
}

/// Starts a sandbox on `addr` (port 0 picks a free port), in the background of the current
/// Tokio runtime. See [`spawn`].
pub async fn spawn_on(addr: SocketAddr, config: SandboxConfig) -> io::Result<Sandbox> {
    config
        .validate()
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    let options = serve::ServeOptions {
        header_read_timeout: config.header_read_timeout,
        body_read_timeout: config.body_read_timeout,
        shutdown_grace: config.shutdown_grace,
    };
    let shared = Arc::new(Shared::new(config).map_err(io::Error::other)?);
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = server::router(shared.clone());
    let server = tokio::spawn(serve::serve(listener, app, options, async {
        // A dropped handle stops the server too: `stopped` then resolves with an error.
        let _ = stopped.await;
    }));
    tracing::info!(%local_addr, "sandbox listening");
    Ok(Sandbox {
        shared,
        local_addr,
        stop: Some(stop),
        server,
    })
}

/// A running sandbox. Dropping it stops the server (gracefully, in the background);
/// [`shutdown`](Sandbox::shutdown) stops it and waits.
pub struct Sandbox {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl Sandbox {
    /// The base URL to give a client, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The address the sandbox listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Every interview it holds, as it is now (updated, without the deleted ones), oldest
    /// first.
    pub fn records(&self) -> Vec<StoredInterview> {
        self.shared.records()
    }

    /// Stops accepting connections, lets open connections finish for up to
    /// [`SandboxConfig::shutdown_grace`], drops those still open, and waits for the server to
    /// stop.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Err(err) = (&mut self.server).await
            && !err.is_cancelled()
        {
            tracing::warn!(%err, "the sandbox server task failed");
        }
    }
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url())
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}
