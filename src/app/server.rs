//! The API's accept loop and connections, bounded against hostile clients: a request head
//! must arrive within `header_timeout` (and is at most `MAX_HEAD_BYTES`), an idle keep-alive
//! connection is closed after the same time, at most `max_connections` are served at once,
//! a few reserved slots beyond them serve one quick request each (so `/healthz` still
//! answers while the cap is reached), and running out of file descriptors pauses the accept
//! loop instead of spinning it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulConnection, GracefulShutdown};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// The largest request head (request line and headers) accepted.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// Connections served beyond `max_connections`, one short request each.
pub const RESERVED_SLOTS: usize = 16;
/// How long a connection on a reserved slot may take to send its request head.
const RESERVED_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long accepting pauses when the process is out of file descriptors.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Accept errors are logged at most this often.
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(60);

/// The bounds of the API server.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// A request head must be complete within this time, counted from when the connection
    /// starts waiting for it: so it is also how long a keep-alive connection may idle.
    pub header_timeout: Duration,
    /// Connections served at once (besides the reserved slots).
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `stop` is cancelled, then lets open connections
/// finish their requests for up to `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    stop: CancellationToken,
    grace: Duration,
) {
    let normal = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let reserved = Arc::new(Semaphore::new(RESERVED_SLOTS));
    let graceful = GracefulShutdown::new();
    let mut last_error_log: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                let now = tokio::time::Instant::now();
                if last_error_log.is_none_or(|t| now - t >= ACCEPT_ERROR_LOG_EVERY) {
                    last_error_log = Some(now);
                    tracing::error!(error = %e, "accepting a connection failed; pausing accepts briefly");
                }
                if is_resource_exhaustion(&e) {
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
                continue;
            }
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        let slot = match normal.clone().try_acquire_owned() {
            Ok(permit) => Slot::Normal(permit),
            Err(_) => match reserved.clone().try_acquire_owned() {
                Ok(permit) => Slot::Reserved(permit),
                // Every slot is taken: closing at once frees the descriptor.
                Err(_) => continue,
            },
        };
        let watched = graceful.watch(connection(stream, peer, router.clone(), limits, &slot));
        tokio::spawn(async move {
            let _slot = slot;
            let _ = watched.await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_s = grace.as_secs(), "requests still running after the grace period; stopping anyway");
        }
    }
}

/// A connection's claim on the cap; released when the connection ends.
enum Slot {
    Normal(#[allow(dead_code)] OwnedSemaphorePermit),
    Reserved(#[allow(dead_code)] OwnedSemaphorePermit),
}

/// The HTTP/1.1 connection serving one client. HTTP/1.1 only: hyper's head timer then also
/// bounds an idle keep-alive connection (it runs whenever the connection waits for a
/// request head), which an HTTP/2 connection without TLS could otherwise hold open.
/// Each request carries the client's address as axum's `ConnectInfo` (the guessing limits
/// count by it).
fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ServerLimits,
    slot: &Slot,
) -> impl GracefulConnection + use<> {
    let reserved = matches!(slot, Slot::Reserved(_));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(if reserved {
            RESERVED_HEADER_TIMEOUT
        } else {
            limits.header_timeout
        })
        .max_buf_size(MAX_HEAD_BYTES)
        // A reserved slot serves one request, then frees itself.
        .keep_alive(!reserved);
    let inner = TowerToHyperService::new(router);
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        inner.call(request)
    });
    builder.serve_connection(TokioIo::new(stream), service)
}

fn is_resource_exhaustion(error: &io::Error) -> bool {
    // EMFILE (24) and ENFILE (23): out of file descriptors; ENOBUFS (105), ENOMEM (12).
    matches!(error.raw_os_error(), Some(23 | 24 | 105 | 12))
}
