//! The four attributes stacked on one async function, against a quote service that fails
//! now and then and is sometimes slow.
//!
//! Run: `cargo run -p steadfast-examples --example quickstart`

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use steadfast::{CircuitOpen, Elapsed, circuit_breaker, monitored, retry, timeout};

#[derive(Debug)]
enum FetchError {
    Upstream(&'static str),
    Unavailable(CircuitOpen),
    TooSlow(Elapsed),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Upstream(why) => write!(f, "upstream: {why}"),
            FetchError::Unavailable(e) => write!(f, "{e}"),
            FetchError::TooSlow(e) => write!(f, "{e}"),
        }
    }
}

// The two `From`s are all the attributes need from your error type.
impl From<CircuitOpen> for FetchError {
    fn from(e: CircuitOpen) -> Self {
        FetchError::Unavailable(e)
    }
}

impl From<Elapsed> for FetchError {
    fn from(e: Elapsed) -> Self {
        FetchError::TooSlow(e)
    }
}

static CALLS: AtomicU32 = AtomicU32::new(0);
/// What each attempt of the current call met, for the printout: the retries hide the
/// failures they recover from, and this shows them.
static ATTEMPTS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

fn attempt(what: &'static str) {
    ATTEMPTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(what);
}
static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Counted and timed; up to 3 attempts; every attempt passes the breaker and has 100 ms.
#[monitored(name = "quotes.fetch")]
#[retry(attempts = 3, delay = "20ms", max_delay = "200ms", jitter = "full")]
#[circuit_breaker(name = "quotes", failure_threshold = 5, open_for = "500ms")]
#[timeout("100ms")]
async fn fetch_quote(symbol: String) -> Result<f64, FetchError> {
    let n = CALLS.fetch_add(1, Relaxed);
    let since_start = START.get_or_init(Instant::now).elapsed();
    if since_start > Duration::from_millis(400) && since_start < Duration::from_millis(900) {
        attempt("refused");
        return Err(FetchError::Upstream("connection refused")); // an outage
    }
    match n % 10 {
        3 => {
            attempt("503");
            Err(FetchError::Upstream("503 Service Unavailable"))
        }
        7 => {
            attempt("too slow");
            tokio::time::sleep(Duration::from_millis(300)).await; // past the deadline
            Ok(0.0)
        }
        _ => {
            attempt("ok");
            Ok(100.0 + symbol.len() as f64)
        }
    }
}

#[tokio::main]
async fn main() {
    let start = *START.get_or_init(Instant::now);
    println!(
        "the quote service fails 1 call in 10, is too slow 1 in 10, and is down from 400 to 900 ms\n"
    );
    for i in 0..40 {
        let result = fetch_quote("ACME".to_owned()).await;
        let breaker = steadfast::breaker("quotes")
            .map(|b| b.state().to_string())
            .unwrap_or_default();
        // The attempts the body ran (none when the breaker turned the call away).
        let attempts = std::mem::take(&mut *ATTEMPTS.lock().unwrap_or_else(|e| e.into_inner()));
        let attempts = if attempts.is_empty() {
            "body not run".to_owned()
        } else {
            format!("attempts: {}", attempts.join(", "))
        };
        match result {
            Ok(price) => println!(
                "{:>5} ms  call {i:>2}: {price:.2}   [{attempts}] (breaker {breaker})",
                start.elapsed().as_millis()
            ),
            Err(e) => println!(
                "{:>5} ms  call {i:>2}: error: {e}   [{attempts}] (breaker {breaker})",
                start.elapsed().as_millis()
            ),
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }

    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "quotes.fetch")
        .expect("recorded");
    println!(
        "\nquotes.fetch: {} calls, {} ok, {} errors ({} of them turned away by the open breaker); latency p50 {:?}, p99 {:?}",
        m.calls,
        m.successes,
        m.errors,
        m.rejected(),
        m.latency.p50,
        m.latency.p99
    );
    if let Some(retry) = m.retry {
        println!(
            "retries: {} attempts after a failure, {} waits on the open breaker, {} calls gave up",
            retry.retries, retry.gate_waits, retry.exhausted
        );
    }
    println!("health: {}", steadfast::health().to_json());
    println!("\nPrometheus text (excerpt):");
    for line in steadfast::metrics::prometheus()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.contains("_bucket"))
    {
        println!("  {line}");
    }
}
