//! The benchmark's targets, in process: HTTP listeners on several ports of 127.0.0.1 that
//! answer 200, slowly, or 500 by check, and log each request's arrival; and a listener
//! whose backlog is full, so a connect to it hangs until the probe's timeout.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::options::Options;

type Body = http_body_util::Full<Bytes>;

/// Arrivals: (check index, milliseconds since the targets started).
pub type Accesses = Vec<(u32, u32)>;

pub struct Targets {
    ports: Vec<u16>,
    hang_port: u16,
    /// Host names in the URLs (0: the address).
    names: u32,
    /// First index answering slowly, first answering 500, first answering 200.
    bounds: (u32, u32, u32),
    started: Instant,
    log: Arc<Mutex<Accesses>>,
    _hanging: (socket2::Socket, Vec<TcpStream>),
}

impl Targets {
    pub async fn start(options: &Options) -> anyhow::Result<Self> {
        let (hang, slow, error) = options.split();
        let bounds = (hang, hang + slow, hang + slow + error);
        let started = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut ports = Vec::with_capacity(options.ports);
        for _ in 0..options.ports {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            ports.push(listener.local_addr()?.port());
            let log = log.clone();
            let slow_ms = options.slow_ms;
            tokio::spawn(serve(listener, log, started, bounds, slow_ms));
        }
        let (hang_port, hanging) = full_backlog_listener()?;
        Ok(Self {
            ports,
            hang_port,
            names: options.names,
            bounds,
            started,
            log,
            _hanging: hanging,
        })
    }

    /// The URL check `i` probes.
    pub fn url(&self, i: u32) -> String {
        let host = match self.names {
            0 => "127.0.0.1".to_owned(),
            names => crate::names::host(i % names),
        };
        if i < self.bounds.0 {
            return format!("http://{host}:{}/c/{i}", self.hang_port);
        }
        let port = self.ports[i as usize % self.ports.len()];
        format!("http://{host}:{port}/c/{i}")
    }

    /// `at` as milliseconds since the targets started, the clock of their arrivals.
    pub fn ms_at(&self, at: Instant) -> u32 {
        u32::try_from(at.duration_since(self.started).as_millis()).unwrap_or(u32::MAX)
    }

    /// Every arrival so far.
    pub fn accesses(&self) -> Accesses {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

async fn serve(
    listener: TcpListener,
    log: Arc<Mutex<Accesses>>,
    started: Instant,
    bounds: (u32, u32, u32),
    slow_ms: u64,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let log = log.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let log = log.clone();
                async move { answer(request, &log, started, bounds, slow_ms).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    log: &Mutex<Accesses>,
    started: Instant,
    bounds: (u32, u32, u32),
    slow_ms: u64,
) -> Result<Response<Body>, Infallible> {
    let index: Option<u32> = request
        .uri()
        .path()
        .strip_prefix("/c/")
        .and_then(|i| i.parse().ok());
    let Some(index) = index else {
        return Ok(reply(StatusCode::NOT_FOUND));
    };
    let at = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
    if let Ok(mut log) = log.lock() {
        log.push((index, at));
    }
    if index < bounds.1 {
        tokio::time::sleep(Duration::from_millis(slow_ms)).await;
        return Ok(reply(StatusCode::OK));
    }
    if index < bounds.2 {
        return Ok(reply(StatusCode::INTERNAL_SERVER_ERROR));
    }
    Ok(reply(StatusCode::OK))
}

fn reply(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::from_static(b"ok\n")));
    *response.status_mut() = status;
    response
}

/// A listener that never accepts, its backlog filled, so further connects hang (their
/// SYNs are dropped) until the client gives up. Answers its port and what keeps it so.
fn full_backlog_listener() -> anyhow::Result<(u16, (socket2::Socket, Vec<TcpStream>))> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    socket.listen(0)?;
    let addr = socket
        .local_addr()?
        .as_socket()
        .context("the hang listener has no address")?;
    let mut fillers = Vec::new();
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => fillers.push(stream),
            Err(_) => break,
        }
    }
    Ok((addr.port(), (socket, fillers)))
}
