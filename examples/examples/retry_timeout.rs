//! `#[retry]`, `#[timeout]` and `#[circuit_breaker]` stacked on real (simulated) work,
//! printing every attempt with its time, so the backoff, the deadlines and the breaker's
//! effect on the retries can be seen.
//!
//! Run: `cargo run -p steadfast-examples --example retry_timeout`

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use steadfast::{CircuitOpen, Elapsed, circuit_breaker, retry, timeout};

#[derive(Debug)]
enum Error {
    Upstream(u32),
    TooSlow(Elapsed),
    Open(CircuitOpen),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Upstream(code) => write!(f, "upstream answered {code}"),
            Error::TooSlow(e) => write!(f, "{e}"),
            Error::Open(e) => write!(f, "{e}"),
        }
    }
}

impl From<Elapsed> for Error {
    fn from(e: Elapsed) -> Self {
        Error::TooSlow(e)
    }
}

impl From<CircuitOpen> for Error {
    fn from(e: CircuitOpen) -> Self {
        Error::Open(e)
    }
}

fn since(start: Instant) -> u128 {
    start.elapsed().as_millis()
}

static ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Fails twice with a 503, then answers: three attempts, waits of 50 then 100 ms.
#[retry(attempts = 4, delay = "50ms", jitter = "none")]
fn upload(report: String, start: Instant) -> Result<usize, Error> {
    let n = ATTEMPTS.fetch_add(1, Relaxed) + 1;
    println!(
        "  {:>4} ms  attempt {n}: uploading {report:?}",
        since(start)
    );
    if n < 3 {
        Err(Error::Upstream(503))
    } else {
        Ok(report.len())
    }
}

/// Every attempt has its own 100 ms deadline; the service takes 150 ms twice, then 20.
#[retry(attempts = 3, delay = "10ms", backoff = "constant", jitter = "none")]
#[timeout("100ms")]
async fn quote(symbol: &str, start: Instant) -> Result<f64, Error> {
    let n = ATTEMPTS.fetch_add(1, Relaxed) + 1;
    let latency = if n <= 2 { 150 } else { 20 };
    println!(
        "  {:>4} ms  attempt {n}: quote {symbol} (takes {latency} ms)",
        since(start)
    );
    tokio::time::sleep(Duration::from_millis(latency)).await;
    Ok(101.5)
}

/// The retry waits out the breaker instead of spending attempts on it: after two
/// failures the breaker opens for 300 ms, the retry waits for it, and the probe succeeds.
#[retry(
    attempts = 4,
    delay = "20ms",
    backoff = "constant",
    jitter = "none",
    max_delay = "1s"
)]
#[circuit_breaker(name = "ledger", failure_threshold = 2, open_for = "300ms")]
async fn post(entry: u32, start: Instant) -> Result<u32, Error> {
    let n = ATTEMPTS.fetch_add(1, Relaxed) + 1;
    println!(
        "  {:>4} ms  attempt {n}: posting entry {entry}",
        since(start)
    );
    if n <= 2 {
        Err(Error::Upstream(500))
    } else {
        Ok(entry)
    }
}

fn show<T: std::fmt::Debug>(start: Instant, result: Result<T, Error>) {
    match result {
        Ok(v) => println!("  {:>4} ms  => Ok({v:?})", since(start)),
        Err(e) => println!("  {:>4} ms  => Err: {e}", since(start)),
    }
}

#[tokio::main]
async fn main() {
    println!("sync #[retry], exponential backoff from 50 ms, no jitter:");
    let start = Instant::now();
    show(start, upload("q3-report".to_owned(), start));

    println!("\nasync #[retry] over #[timeout(\"100ms\")]: each attempt has its own deadline:");
    ATTEMPTS.store(0, Relaxed);
    let start = Instant::now();
    show(start, quote("ACME", start).await);

    println!("\nasync #[retry] over #[circuit_breaker]: rejections do not spend attempts:");
    ATTEMPTS.store(0, Relaxed);
    let start = Instant::now();
    show(start, post(7, start).await);
    println!("\nretries per function so far (steadfast::metrics::snapshot()):");
    for m in steadfast::metrics::snapshot() {
        if let Some(r) = m.retry {
            println!(
                "  {:<28} retries {:>2}, waits on an open breaker {:>2}, gave up {}",
                m.name, r.retries, r.gate_waits, r.exhausted
            );
        }
    }
}
