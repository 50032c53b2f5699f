//! A circuit breaker on a sync call and on an async call, against a simulated dependency
//! that goes down and comes back. Every state transition is printed (they are `tracing`
//! events, target `steadfast`), and so is every call's outcome.
//!
//! Run: `cargo run -p steadfast-examples --example breaker`

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use steadfast::{BreakerState, CircuitOpen, circuit_breaker};

/// A dependency that is healthy, then down from `down_from` for `down_for`, then healthy.
struct Dependency {
    name: &'static str,
    started: Instant,
    down_from: Duration,
    down_for: Duration,
    calls: AtomicU32,
}

impl Dependency {
    fn call(&self) -> Result<u32, DependencyError> {
        let n = self.calls.fetch_add(1, Relaxed) + 1;
        let t = self.started.elapsed();
        if t >= self.down_from && t < self.down_from + self.down_for {
            Err(DependencyError::Unavailable(self.name))
        } else {
            Ok(n)
        }
    }
}

#[derive(Debug)]
enum DependencyError {
    Unavailable(&'static str),
    Rejected(CircuitOpen),
}

impl fmt::Display for DependencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DependencyError::Unavailable(name) => write!(f, "{name} answered 503"),
            DependencyError::Rejected(open) => write!(f, "not called: {open}"),
        }
    }
}

impl From<CircuitOpen> for DependencyError {
    fn from(open: CircuitOpen) -> Self {
        DependencyError::Rejected(open)
    }
}

static INVENTORY: std::sync::OnceLock<Dependency> = std::sync::OnceLock::new();
static PRICING: std::sync::OnceLock<Dependency> = std::sync::OnceLock::new();

/// Sync: three failures in a row open it for 300 ms, then one probe decides.
#[circuit_breaker(name = "inventory", failure_threshold = 3, open_for = "300ms")]
fn check_stock(item: &str) -> Result<u32, DependencyError> {
    let _ = item;
    INVENTORY.get().expect("set in main").call()
}

/// Async: opens when half the calls of the last second failed (once it saw 4), and needs
/// 2 successful probes to close.
#[circuit_breaker(
    name = "pricing",
    failure_rate = 0.5,
    minimum_calls = 4,
    window = "1s",
    open_for = "400ms",
    half_open_probes = 2
)]
async fn fetch_price(item: &str) -> Result<u32, DependencyError> {
    let _ = item;
    tokio::time::sleep(Duration::from_millis(2)).await; // the network
    PRICING.get().expect("set in main").call()
}

fn outcome(result: &Result<u32, DependencyError>) -> String {
    match result {
        Ok(n) => format!("ok (answer #{n})"),
        Err(e) => e.to_string(),
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    let dependency = |name, down_from, down_for| Dependency {
        name,
        started: Instant::now(),
        down_from: Duration::from_millis(down_from),
        down_for: Duration::from_millis(down_for),
        calls: AtomicU32::new(0),
    };
    let started = Instant::now();
    let _ = INVENTORY.set(dependency("inventory", 100, 500));

    println!("== sync: check_stock every 50 ms; inventory is down from 100 ms to 600 ms");
    let mut last = BreakerState::Closed;
    for _ in 0..24 {
        let result = check_stock("widget");
        let state = steadfast::breaker("inventory").map_or(last, |b| b.state());
        println!(
            "{:>5} ms  {:<9} {}",
            started.elapsed().as_millis(),
            state.to_string(),
            outcome(&result)
        );
        last = state;
        std::thread::sleep(Duration::from_millis(50));
    }

    println!("\n== async: fetch_price every 50 ms; pricing is down from 150 ms to 750 ms");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let started = Instant::now();
        let _ = PRICING.set(dependency("pricing", 150, 600));
        for _ in 0..30 {
            let result = fetch_price("widget").await;
            let state = steadfast::breaker("pricing").map_or(BreakerState::Closed, |b| b.state());
            println!(
                "{:>5} ms  {:<9} {}",
                started.elapsed().as_millis(),
                state.to_string(),
                outcome(&result)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });

    println!("\n== registered breakers");
    for breaker in steadfast::breakers() {
        println!("{:<10} {}", breaker.name(), breaker.state());
    }
}
