//! Hot paths of `#[circuit_breaker]` against a bare call, in ns per call.
//!
//! `cargo bench -p steadfast --bench breaker` (release, fat LTO). Each figure is the median
//! of 9 rounds of 2,000,000 calls, with min and max; all in one process and one run.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::Instant;

use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[inline(never)]
fn bare(x: u64) -> Result<u64, Error> {
    Ok(black_box(x) + 1)
}

#[inline(never)]
#[circuit_breaker(name = "bench.success", failure_threshold = 5)]
fn success(x: u64) -> Result<u64, Error> {
    Ok(black_box(x) + 1)
}

#[inline(never)]
#[circuit_breaker(name = "bench.failure", failure_threshold = 1073741823)]
fn failure(x: u64) -> Result<u64, Error> {
    if black_box(x) != u64::MAX {
        Err(Error)
    } else {
        Ok(x)
    }
}

#[inline(never)]
#[circuit_breaker(name = "bench.open", failure_threshold = 1, open_for = "1h")]
fn open(x: u64) -> Result<u64, Error> {
    if black_box(x) != u64::MAX {
        Err(Error)
    } else {
        Ok(x)
    }
}

#[inline(never)]
#[circuit_breaker(name = "bench.forced")]
fn forced(x: u64) -> Result<u64, Error> {
    Ok(black_box(x) + 1)
}

#[inline(never)]
#[circuit_breaker(
    name = "bench.rate",
    failure_rate = 0.5,
    minimum_calls = 10,
    window = "60s"
)]
fn rate_success(x: u64) -> Result<u64, Error> {
    Ok(black_box(x) + 1)
}

#[inline(never)]
fn clock_std(_: u64) -> Result<u64, Error> {
    let _ = black_box(std::time::Instant::now());
    Ok(0)
}

#[inline(never)]
fn clock_steadfast(_: u64) -> Result<u64, Error> {
    use steadfast::__private::Clock as _;
    let _ = black_box(steadfast::__private::SystemClock.now());
    Ok(0)
}

const CALLS: u64 = 2_000_000;
const ROUNDS: usize = 9;

/// ns per call of `f` over `CALLS` calls, on `threads` threads at once (per-thread time).
fn round(threads: usize, f: fn(u64) -> Result<u64, Error>) -> f64 {
    let barrier = Barrier::new(threads);
    let per_thread: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..CALLS {
                        let _ = black_box(f(black_box(i)));
                    }
                    start.elapsed().as_nanos() as f64 / CALLS as f64
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .collect()
    });
    per_thread.iter().sum::<f64>() / threads as f64
}

struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn measure(threads: usize, f: fn(u64) -> Result<u64, Error>, before: impl Fn()) -> Stats {
    before();
    round(threads, f); // warm up
    let mut samples: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            before();
            round(threads, f)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    Stats {
        median: samples[ROUNDS / 2],
        min: samples[0],
        max: samples[ROUNDS - 1],
    }
}

fn main() {
    // Register every breaker, and open the ones that must be open.
    let _ = (success(0), failure(0), open(0), forced(0), rate_success(0));
    let breaker = |name: &str| steadfast::breaker(name).expect("registered");
    breaker("bench.forced").force_open();
    assert!(open(0).is_err() && breaker("bench.open").state() == steadfast::BreakerState::Open);
    let reset_failures = || breaker("bench.failure").reset();

    let rows: Vec<(&str, usize, Stats)> = vec![
        ("bare call", 1, measure(1, bare, || {})),
        (
            "clock read: std::time::Instant::now",
            1,
            measure(1, clock_std, || {}),
        ),
        (
            "clock read: steadfast (quanta TSC)",
            1,
            measure(1, clock_steadfast, || {}),
        ),
        ("closed, success", 1, measure(1, success, || {})),
        (
            "closed, failure (consecutive count)",
            1,
            measure(1, failure, reset_failures),
        ),
        ("open, rejected", 1, measure(1, open, || {})),
        ("forced open, rejected", 1, measure(1, forced, || {})),
        (
            "closed, success, failure_rate mode",
            1,
            measure(1, rate_success, || {}),
        ),
        ("bare call", 2, measure(2, bare, || {})),
        ("closed, success", 2, measure(2, success, || {})),
        ("open, rejected", 2, measure(2, open, || {})),
        (
            "closed, success, failure_rate mode",
            2,
            measure(2, rate_success, || {}),
        ),
    ];

    println!("| path | threads | median ns/call | min | max | over bare call |");
    println!("|---|---|---|---|---|---|");
    for (name, threads, stats) in &rows {
        let bare = rows
            .iter()
            .find(|(n, t, _)| *n == "bare call" && t == threads)
            .map_or(0.0, |(_, _, s)| s.median);
        println!(
            "| {name} | {threads} | {:.2} | {:.2} | {:.2} | {:+.2} |",
            stats.median,
            stats.min,
            stats.max,
            stats.median - bare
        );
    }
}
