//! A quote lookup with the whole stack of the service it comes from: counted, answered from
//! the last known quote when the upstream is down, cached for a moment, retried, and
//! behind a breaker.
//!
//! ```text
//! #[monitored]                            what the caller got, counted and timed
//! #[fallback(last_known, args)]           an error becomes the last known quote
//! #[cached(max_entries = 100, ttl = …)]   a fresh quote is reused for 300 ms
//! #[retry(attempts = 2, delay = "10ms")]  a failed fetch is tried once more
//! #[circuit_breaker(…)]                   three failures: stop asking the upstream
//! ```
//!
//! It runs through three phases (upstream up, down, back up) and prints, for each, the
//! cache's hits and misses, the fallbacks taken and the breaker's state.
//!
//! Run: `cargo run -p steadfast-examples --example quotes`

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use steadfast::{CircuitOpen, SharedError, cached, circuit_breaker, fallback, monitored, retry};

#[derive(Debug, Clone)]
enum QuoteError {
    Upstream,
    Open,
    NeverSeen,
}

impl From<CircuitOpen> for QuoteError {
    fn from(_: CircuitOpen) -> Self {
        QuoteError::Open
    }
}

impl From<SharedError> for QuoteError {
    fn from(_: SharedError) -> Self {
        QuoteError::Upstream
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Quote {
    symbol: String,
    cents: u64,
    stale: bool,
}

static UPSTREAM_DOWN: AtomicBool = AtomicBool::new(false);
static UPSTREAM_CALLS: AtomicU32 = AtomicU32::new(0);
static LAST_KNOWN: LazyLock<Mutex<HashMap<String, u64>>> = LazyLock::new(Default::default);

/// The upstream: 1 ms per call, or an error while it is down.
async fn upstream(symbol: &str) -> Result<u64, QuoteError> {
    UPSTREAM_CALLS.fetch_add(1, SeqCst);
    tokio::time::sleep(Duration::from_millis(1)).await;
    if UPSTREAM_DOWN.load(SeqCst) {
        return Err(QuoteError::Upstream);
    }
    Ok(symbol.bytes().map(u64::from).sum::<u64>() * 10)
}

async fn last_known(symbol: &String, error: QuoteError) -> Result<Quote, QuoteError> {
    match LAST_KNOWN.lock().unwrap().get(symbol) {
        Some(&cents) => Ok(Quote {
            symbol: symbol.clone(),
            cents,
            stale: true,
        }),
        None => Err(match error {
            QuoteError::Open | QuoteError::Upstream => QuoteError::NeverSeen,
            other => other,
        }),
    }
}

#[monitored(name = "quotes.lookup")]
#[fallback(last_known, args)]
#[cached(max_entries = 100, ttl = "300ms", name = "quotes.cache")]
#[retry(attempts = 2, delay = "10ms")]
#[circuit_breaker(failure_threshold = 3, open_for = "500ms", name = "quotes.upstream")]
async fn lookup(symbol: String) -> Result<Quote, QuoteError> {
    let cents = upstream(&symbol).await?;
    LAST_KNOWN.lock().unwrap().insert(symbol.clone(), cents);
    Ok(Quote {
        symbol,
        cents,
        stale: false,
    })
}

async fn phase(title: &str, rounds: u32) {
    let symbols = ["ACME", "INIT", "GLOBX"];
    let (mut fresh, mut stale, mut failed) = (0, 0, 0);
    for _ in 0..rounds {
        for s in symbols {
            match lookup(s.to_owned()).await {
                Ok(q) if q.stale => stale += 1,
                Ok(_) => fresh += 1,
                Err(_) => failed += 1,
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "quotes.lookup")
        .expect("called above");
    let cache = m.cache.clone().expect("a cached function");
    let breaker = steadfast::breaker("quotes.upstream").expect("called above");
    println!(
        "{title:<22} answers: {fresh:>2} fresh, {stale:>2} last known, {failed} failed | totals: cache {} hits / {} misses, {} fallbacks, {} upstream calls | breaker {:?}",
        cache.hits,
        cache.misses,
        m.fallbacks.unwrap_or(0),
        UPSTREAM_CALLS.load(SeqCst),
        breaker.state(),
    );
}

#[tokio::main]
async fn main() {
    phase("upstream up", 10).await;
    UPSTREAM_DOWN.store(true, SeqCst);
    phase("upstream down", 10).await;
    UPSTREAM_DOWN.store(false, SeqCst);
    tokio::time::sleep(Duration::from_millis(600)).await; // the breaker's open_for
    phase("upstream back", 10).await;
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "quotes.lookup")
        .expect("called above");
    println!(
        "\nwhat the callers got ({} calls): {} successes, {} errors; p99 {:?}",
        m.calls, m.successes, m.errors, m.latency.p99
    );
}
