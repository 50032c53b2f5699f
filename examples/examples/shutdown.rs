//! An upload service that shuts down without losing an upload: the seed's service.
//!
//! Clients `POST /upload/{id}`; each upload is saved to disk before it is acknowledged
//! (202), then a supervised sender forwards it to the storage server and deletes it once
//! the server acknowledged it. A bounded converter pool (`#[bulkhead]`) prepares each
//! upload, a watchdog and a ping loop run beside it as `#[supervised]` tasks, and `/health`
//! serves `steadfast::health()`.
//!
//! On SIGTERM or Ctrl-C it drains (`steadfast::drain`): `/health` answers 503 so a load
//! balancer stops sending work, new uploads are turned away (503), sends in flight finish
//! within the grace, a send still running at the deadline is cancelled, and every upload
//! not acknowledged stays on disk for the next start, which sends it.
//!
//! ```sh
//! cargo run -p steadfast-examples --example shutdown                 # a demo: storage, clients and a SIGTERM of its own
//! cargo run -p steadfast-examples --example shutdown -- --serve \
//!     --storage 127.0.0.1:9000 --dir /tmp/uploads --port 8080 --grace 2s
//! ```
//!
//! `--serve` runs until SIGTERM or Ctrl-C and prints `listening on ADDR` first; without it
//! the example starts a slow storage server of its own, uploads a dozen files, and drains
//! half-way through.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use steadfast::{BulkheadFull, ShuttingDown, bulkhead, monitored, supervised};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What the sender and the routes share.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    storage: SocketAddr,
    /// Wakes the sender when an upload is saved.
    saved: Notify,
}

#[derive(Debug)]
enum UploadError {
    ShuttingDown,
    Busy(BulkheadFull),
    Io(std::io::Error),
    Refused(u16),
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadError::ShuttingDown => f.write_str("shutting down"),
            UploadError::Busy(e) => write!(f, "{e}"),
            UploadError::Io(e) => write!(f, "{e}"),
            UploadError::Refused(status) => write!(f, "storage answered {status}"),
        }
    }
}

impl From<ShuttingDown> for UploadError {
    fn from(_: ShuttingDown) -> Self {
        UploadError::ShuttingDown
    }
}

impl From<BulkheadFull> for UploadError {
    fn from(e: BulkheadFull) -> Self {
        UploadError::Busy(e)
    }
}

impl From<std::io::Error> for UploadError {
    fn from(e: std::io::Error) -> Self {
        UploadError::Io(e)
    }
}

fn upload_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.upload"))
}

/// Takes an upload: on disk (written whole, then renamed) before it is acknowledged.
/// Turned away while the process drains.
#[monitored(name = "uploads.accept", drain = "reject")]
async fn accept(shared: &Shared, id: String, body: Bytes) -> Result<(), UploadError> {
    let valid = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(UploadError::Refused(400));
    }
    let partial = shared.dir.join(format!("{id}.partial"));
    tokio::fs::write(&partial, &body).await?;
    tokio::fs::rename(&partial, upload_path(&shared.dir, &id)).await?;
    shared.saved.notify_one();
    Ok(())
}

/// The converter pool: at most two conversions at once, callers wait up to a second.
#[bulkhead(max_concurrent = 2, max_wait = "1s", name = "uploads.converters")]
async fn convert(data: Vec<u8>) -> Result<Vec<u8>, UploadError> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(data.into_iter().rev().collect())
}

/// Sends one upload to the storage server and deletes it once acknowledged. Cancelled at
/// the drain's deadline: the file is deleted only after the acknowledgement, in the same
/// step, so a cancelled send leaves it on disk.
#[monitored(name = "uploads.send", drain = "cancel")]
async fn send(shared: Arc<Shared>, id: String) -> Result<(), UploadError> {
    let path = upload_path(&shared.dir, &id);
    let data = tokio::fs::read(&path).await?;
    // A nested call: admitted while draining, as part of a send in flight.
    let body = convert(data).await?;
    let status = http_post(shared.storage, &format!("/store/{id}"), &body).await?;
    if status != 200 {
        return Err(UploadError::Refused(status));
    }
    std::fs::remove_file(&path)?;
    Ok(())
}

/// Uploads on disk, oldest name first.
fn pending(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".upload").map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids
}

/// Forwards every upload on disk, four at a time. On shutdown it starts no new send and
/// waits for those in flight (a drain lets them finish, or cancels them at its deadline).
#[supervised(
    name = "uploads.sender",
    delay = "200ms",
    max_delay = "5s",
    shutdown = "30s"
)]
async fn sender(shared: Arc<Shared>) -> Result<(), String> {
    let mut in_flight = tokio::task::JoinSet::new();
    let mut sending: Vec<String> = Vec::new();
    loop {
        while let Some(done) = in_flight.try_join_next() {
            let (id, result) = done.map_err(|e| e.to_string())?;
            sending.retain(|s| s != &id);
            match result {
                Ok(()) => println!("sent      {id}"),
                Err(e) => println!("not sent  {id}: {e} (kept on disk)"),
            }
        }
        if steadfast::is_shutting_down() {
            break;
        }
        let next = pending(&shared.dir)
            .into_iter()
            .find(|id| !sending.contains(id));
        match next {
            Some(id) if in_flight.len() < 4 => {
                sending.push(id.clone());
                let shared = shared.clone();
                in_flight.spawn(async move {
                    let result = send(shared, id.clone()).await;
                    (id, result)
                });
            }
            _ => {
                tokio::select! {
                    _ = shared.saved.notified() => {}
                    _ = steadfast::shutdown_requested() => {}
                    Some(done) = in_flight.join_next() => {
                        let (id, result) = done.map_err(|e| e.to_string())?;
                        sending.retain(|s| s != &id);
                        match result {
                            Ok(()) => println!("sent      {id}"),
                            Err(e) => println!("not sent  {id}: {e} (kept on disk)"),
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
    while let Some(done) = in_flight.join_next().await {
        let (id, result) = done.map_err(|e| e.to_string())?;
        match result {
            Ok(()) => println!("sent      {id}"),
            Err(e) => println!("not sent  {id}: {e} (kept on disk)"),
        }
    }
    Ok(())
}

/// Warns when uploads pile up on disk.
#[supervised(name = "uploads.watchdog")]
async fn watchdog(shared: Arc<Shared>) -> Result<(), String> {
    while !steadfast::is_shutting_down() {
        let waiting = pending(&shared.dir).len();
        if waiting > 100 {
            tracing::warn!(waiting, "uploads are piling up");
        }
        tokio::select! {
            _ = steadfast::shutdown_requested() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    Ok(())
}

/// Checks that the storage server takes connections; a failure restarts it with backoff.
#[supervised(
    name = "uploads.ping",
    delay = "500ms",
    max_delay = "5s",
    max_restarts = 10,
    within = "5m"
)]
async fn ping(storage: SocketAddr) -> Result<(), std::io::Error> {
    while !steadfast::is_shutting_down() {
        TcpStream::connect(storage).await?;
        tokio::select! {
            _ = steadfast::shutdown_requested() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    Ok(())
}

/// A minimal HTTP/1.1 POST: the status.
async fn http_post(addr: SocketAddr, path: &str, body: &[u8]) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no status line"))
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/upload/{id}",
            post(
                |State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>, body: Bytes| async move {
                    match accept(&shared, id, body).await {
                        Ok(()) => (StatusCode::ACCEPTED, "saved\n".to_owned()),
                        Err(UploadError::ShuttingDown) => {
                            (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".to_owned())
                        }
                        Err(UploadError::Refused(400)) => {
                            (StatusCode::BAD_REQUEST, "bad id\n".to_owned())
                        }
                        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
                    }
                },
            ),
        )
        .route(
            "/health",
            get(|| async {
                let health = steadfast::health();
                let status = StatusCode::from_u16(health.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, [(header::CONTENT_TYPE, "application/json")], health.to_json())
            }),
        )
        .with_state(shared)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn duration(text: &str) -> Option<Duration> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    text.strip_suffix('s')?
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// SIGTERM (what an orchestrator sends) or Ctrl-C.
async fn terminated() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let serve = std::env::args().any(|a| a == "--serve");
    let grace = match arg("--grace").map(|g| duration(&g)) {
        None => Duration::from_secs(2),
        Some(Some(g)) => g,
        Some(None) => {
            eprintln!("--grace takes a duration such as 2s or 500ms");
            std::process::exit(2);
        }
    };
    let dir = PathBuf::from(arg("--dir").unwrap_or_else(|| "target/shutdown-demo".into()));
    std::fs::create_dir_all(&dir)?;
    let demo_storage = if serve {
        None
    } else {
        Some(demo::storage().await?)
    };
    let storage = match (arg("--storage"), &demo_storage) {
        (Some(addr), _) => addr.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "--storage takes HOST:PORT",
            )
        })?,
        (None, Some(demo)) => demo.addr,
        (None, None) => {
            eprintln!("--serve needs --storage HOST:PORT");
            std::process::exit(2);
        }
    };
    let port: u16 = arg("--port").and_then(|p| p.parse().ok()).unwrap_or(0);
    let shared = Arc::new(Shared {
        dir: dir.clone(),
        storage,
        saved: Notify::new(),
    });
    let left_over = pending(&dir).len();
    if left_over > 0 {
        println!("{left_over} upload(s) left on disk by the last run: sending them first");
    }
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    // The server keeps answering during the drain: `/health` says 503, uploads are refused.
    let app = router(shared.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let _sender = sender_supervised(shared.clone());
    let _watchdog = watchdog_supervised(shared);
    let _ping = ping_supervised(storage);
    println!("listening on {addr}");

    if serve {
        terminated().await;
    } else {
        demo::clients(addr).await;
    }
    println!("draining (grace {grace:?}): /health is 503, new uploads are refused");
    let report = steadfast::drain(grace).await;
    println!("{report}");
    let kept = pending(&dir);
    println!(
        "{} upload(s) kept on disk for the next start: {kept:?}",
        kept.len()
    );
    if let Some(demo) = demo_storage {
        println!("the storage server acknowledged: {:?}", demo.acknowledged());
    }
    Ok(())
}

/// Without `--serve`: a slow storage server and a dozen uploads, drained half-way.
mod demo {
    use super::*;

    pub(super) struct Storage {
        pub(super) addr: SocketAddr,
        acked: Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl Storage {
        pub(super) fn acknowledged(&self) -> Vec<String> {
            let mut acked = self.acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
            acked.sort();
            acked
        }
    }

    /// Takes 300 ms per upload; `stuck-*` never answers.
    pub(super) async fn storage() -> std::io::Result<Storage> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = acked.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    let head = String::from_utf8_lossy(&buf[..n]);
                    let id = head
                        .split_whitespace()
                        .nth(1)
                        .and_then(|p| p.strip_prefix("/store/"))
                        .map(str::to_owned);
                    let Some(id) = id else { return };
                    if id.starts_with("stuck") {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    if stream.write_all(ok).await.is_ok() {
                        record.lock().unwrap_or_else(|e| e.into_inner()).push(id);
                    }
                });
            }
        });
        Ok(Storage { addr, acked })
    }

    /// Uploads a dozen files, then sends itself SIGTERM's equivalent: returns, and `main`
    /// drains, while four sends are in flight and one is stuck.
    pub(super) async fn clients(service: SocketAddr) {
        let mut ids = vec!["stuck-1".to_owned()];
        ids.extend((1..=11).map(|n| format!("report-{n:02}")));
        for id in &ids {
            match http_post(service, &format!("/upload/{id}"), id.as_bytes()).await {
                Ok(status) => println!("uploaded  {id}: {status}"),
                Err(e) => println!("uploaded  {id}: {e}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(450)).await;
    }
}
