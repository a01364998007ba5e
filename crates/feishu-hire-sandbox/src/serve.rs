//! How connections are accepted and served: HTTP/1 with header names written the way Feishu's
//! gateway writes them (`X-Tt-Logid`, not hyper's lowercase `x-tt-logid`), a header read
//! timeout, a body read timeout, and a shutdown that waits a bounded time for open connections
//! and then drops them.
//!
//! `axum::serve` offers none of these knobs, so the sandbox drives hyper's HTTP/1 connection
//! builder itself; the router stays an ordinary axum [`Router`].

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Sleep;

/// The connection settings of [`serve`], from the [`SandboxConfig`](crate::SandboxConfig).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeOptions {
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `stop` resolves; then stops accepting, lets open
/// connections finish for up to `shutdown_grace` and drops those still open.
///
/// Dropping the returned future drops every connection at once.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    stop: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        // hyper lowercases header names; Feishu's gateway writes `X-Tt-Logid`, and Feishu's
        // Python SDK looks the log id up by that exact name.
        .title_case_headers(true);
    // `true` once the sandbox is stopping: every connection then finishes what it is doing
    // and closes instead of waiting for another request.
    let (draining, drain) = watch::channel(false);
    // Dropping the set (when this future is dropped) aborts every connection task.
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let (builder, app, drain) = (builder.clone(), app.clone(), drain.clone());
                    connections.spawn(serve_connection(builder, stream, app, options, drain));
                }
                Err(err) => on_accept_error(err).await,
            },
            // Reaps finished connections so the set does not grow with every one served.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = draining.send(true);
    let open = connections.len();
    if open > 0 {
        tracing::info!(
            open,
            grace = ?options.shutdown_grace,
            "letting open connections finish"
        );
    }
    let finished = tokio::time::timeout(options.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            dropped = connections.len(),
            grace = ?options.shutdown_grace,
            "dropping connections still open after the shutdown grace period"
        );
        connections.shutdown().await;
    }
}

/// Serves one connection until it closes, or until the sandbox stops and the request in
/// progress (if any) is answered.
async fn serve_connection(
    builder: http1::Builder,
    stream: TcpStream,
    app: Router,
    options: ServeOptions,
    mut drain: watch::Receiver<bool>,
) {
    // Answers are small and written in one go; do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let request =
            request.map(|body| Body::new(TimedBody::new(body, options.body_read_timeout)));
        // The router is always ready (`poll_ready` is a no-op for it), so calling it directly
        // is what `tower::ServiceExt::oneshot` would do.
        tower_service::Service::call(&mut app.clone(), request)
    });
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        // An error means the server is gone: stop as well. The guard `wait_for` returns is
        // dropped at once (it must not be held across an await).
        () = async { let _ = drain.wait_for(|draining| *draining).await; } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        // A header read timeout, a client that went away, a connection cut on purpose: none
        // of them is the sandbox's problem.
        tracing::debug!(%err, "connection closed with an error");
    }
}

/// Like `axum::serve`: errors about one connection are skipped; others (such as too many
/// open files) are logged and retried after a pause rather than spinning.
async fn on_accept_error(err: io::Error) {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%err, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A request body that fails with [`BodyTimedOut`] if it has not fully arrived `timeout` after
/// the request's headers did.
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl TimedBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        }
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|frame| frame.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.timeout))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request body did not arrive within the body read timeout.
#[derive(Debug)]
struct BodyTimedOut(Duration);

impl fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request body did not arrive within {:?} of its headers",
            self.0
        )
    }
}

impl StdError for BodyTimedOut {}
