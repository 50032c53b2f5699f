//! A quote service that does its work by calling a flaky upstream through stacked
//! `#[monitored] #[retry] #[circuit_breaker] #[timeout]`, and serves `/metrics` (the
//! Prometheus text) and `/health` (JSON, 200 or 503). Both servers run on loopback.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::routing::get;
use steadfast::{CircuitOpen, Elapsed, circuit_breaker, monitored, retry, timeout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the upstream does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Answers at once.
    Healthy = 0,
    /// Answers 503.
    Failing = 1,
    /// Answers after 5 s, past every deadline.
    Stalling = 2,
}

/// Switches the upstream between [`Mode`]s.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
}

impl Upstream {
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Relaxed);
    }

    pub fn mode(&self) -> Mode {
        match self.mode.load(Relaxed) {
            0 => Mode::Healthy,
            1 => Mode::Failing,
            _ => Mode::Stalling,
        }
    }
}

/// Starts the flaky upstream on a free loopback port.
pub async fn start_upstream() -> std::io::Result<Upstream> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let upstream = Upstream {
        addr: listener.local_addr()?,
        mode: Arc::new(AtomicU8::new(Mode::Healthy as u8)),
    };
    let control = upstream.clone();
    let app = Router::new().route(
        "/quote/{symbol}",
        get(move |Path(symbol): Path<String>| {
            let control = control.clone();
            async move {
                match control.mode() {
                    Mode::Healthy => (StatusCode::OK, price(&symbol).to_string()),
                    Mode::Failing => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "down for maintenance".to_owned(),
                    ),
                    Mode::Stalling => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        (StatusCode::OK, price(&symbol).to_string())
                    }
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(upstream)
}

fn price(symbol: &str) -> f64 {
    100.0 + symbol.bytes().map(f64::from).sum::<f64>() / 100.0
}

/// Why a quote could not be had.
#[derive(Debug)]
pub enum QuoteError {
    /// The upstream answered with this status.
    Upstream(u16),
    /// The connection failed.
    Io(std::io::Error),
    /// The upstream's breaker is open.
    Open(CircuitOpen),
    /// The upstream did not answer in time.
    TimedOut(Elapsed),
}

impl fmt::Display for QuoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuoteError::Upstream(status) => write!(f, "upstream answered {status}"),
            QuoteError::Io(e) => write!(f, "upstream unreachable: {e}"),
            QuoteError::Open(e) => write!(f, "{e}"),
            QuoteError::TimedOut(e) => write!(f, "upstream: {e}"),
        }
    }
}

impl std::error::Error for QuoteError {}

impl From<CircuitOpen> for QuoteError {
    fn from(e: CircuitOpen) -> Self {
        QuoteError::Open(e)
    }
}

impl From<Elapsed> for QuoteError {
    fn from(e: Elapsed) -> Self {
        QuoteError::TimedOut(e)
    }
}

/// Every attempt passes the breaker and has 300 ms; two attempts; the breaker opens on
/// 3 failures in a row for 2 s, longer than the retry's `max_delay`, so while it is open a
/// request fails at once.
#[monitored(name = "quotes.fetch")]
#[retry(attempts = 2, delay = "50ms", max_delay = "1s")]
#[circuit_breaker(name = "upstream", failure_threshold = 3, open_for = "2s")]
#[timeout("300ms")]
pub async fn fetch_quote(upstream: SocketAddr, symbol: String) -> Result<f64, QuoteError> {
    let (status, body) = http_get(upstream, &format!("/quote/{symbol}"))
        .await
        .map_err(QuoteError::Io)?;
    if status != 200 {
        return Err(QuoteError::Upstream(status));
    }
    body.trim()
        .parse()
        .map_err(|_| QuoteError::Upstream(status))
}

/// A minimal HTTP/1.1 GET: status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no status line"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}

/// The service's routes: `/quote/{symbol}`, `/metrics`, `/health`, `/status` (the status
/// page) and `/status.json`.
pub fn router(upstream: SocketAddr) -> Router {
    Router::new()
        .route(
            "/quote/{symbol}",
            get(move |Path(symbol): Path<String>| async move {
                match fetch_quote(upstream, symbol).await {
                    Ok(price) => (StatusCode::OK, format!("{price:.2}")),
                    Err(e @ QuoteError::Open(_)) => {
                        (StatusCode::SERVICE_UNAVAILABLE, e.to_string())
                    }
                    Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
                }
            }),
        )
        .route(
            "/metrics",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    steadfast::metrics::prometheus(),
                )
            }),
        )
        .route(
            "/status",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    steadfast::status::html(),
                )
            }),
        )
        .route(
            "/status.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    steadfast::status::json(),
                )
            }),
        )
        .route(
            "/health",
            get(|| async {
                let health = steadfast::health();
                let status = StatusCode::from_u16(health.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (
                    status,
                    [(header::CONTENT_TYPE, "application/json")],
                    health.to_json(),
                )
            }),
        )
}

/// Starts the service on `addr` (port 0 for any free one) in front of `upstream`.
pub async fn start_service(addr: SocketAddr, upstream: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(upstream)).await;
    });
    Ok(local)
}
