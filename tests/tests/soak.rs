//! A soak: 2 threads calling one function through stacked attributes with random outcomes;
//! at the end every count reconciles exactly.
//!
//! CI runs 2 × 100,000 calls. The full soak, 2 × 10,000,000:
//! `cargo test -p steadfast-tests --release --test soak -- --ignored`

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use steadfast::{CircuitOpen, circuit_breaker, monitored, retry};

#[derive(Debug, PartialEq)]
enum Error {
    Transient,
    Fatal,
    Open,
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

fn transient(e: &Error) -> bool {
    *e == Error::Transient
}

static BODY_RUNS: AtomicU64 = AtomicU64::new(0);

#[monitored(name = "soak")]
#[retry(attempts = 2, delay = "1us", jitter = "none", retry_if = transient)]
#[circuit_breaker(name = "soak", failure_threshold = 4, open_for = "1ms")]
fn call(roll: u64) -> Result<u64, Error> {
    BODY_RUNS.fetch_add(1, Relaxed);
    match roll % 1000 {
        0..=9 => Err(Error::Transient), // 1 %: retried once
        10..=99 => Err(Error::Fatal),   // 9 %
        _ => Ok(roll),
    }
}

/// A small, fast, seeded generator (xorshift), one per thread.
fn rolls(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed;
    std::iter::repeat_with(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    })
}

fn soak(per_thread: u64) {
    let results: Vec<(u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2u64)
            .map(|t| {
                s.spawn(move || {
                    let (mut ok, mut err) = (0, 0);
                    for roll in rolls(0x9E37_79B9_7F4A_7C15 ^ (t + 1)).take(per_thread as usize) {
                        match call(roll) {
                            Ok(_) => ok += 1,
                            Err(_) => err += 1,
                        }
                    }
                    (ok, err)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (ok, err) = results.iter().fold((0, 0), |(a, b), (o, e)| (a + o, b + e));
    let calls = 2 * per_thread;
    assert_eq!(ok + err, calls);

    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "soak")
        .unwrap();
    assert_eq!(
        (m.calls, m.successes, m.errors, m.in_flight),
        (calls, ok, err, 0)
    );

    // Every attempt either ran the body or was rejected by the breaker; a rejection is
    // waited out (a gate wait) or returned.
    let retry = m.retry.unwrap_or_default();
    let retries = retry.retries + retry.gate_waits;
    let text = steadfast::metrics::prometheus();
    let rejections: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("steadfast_breaker_rejections_total{breaker=\"soak\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(calls + retries, BODY_RUNS.load(Relaxed) + rejections);
    println!(
        "soak: {calls} calls, {ok} ok, {err} errors, {retries} retries, {} bodies run, {rejections} rejections, p50 {:?} p99 {:?} max {:?}",
        BODY_RUNS.load(Relaxed),
        m.latency.p50,
        m.latency.p99,
        m.latency.max
    );
}

#[test]
fn soak_2_threads_x_100_000() {
    soak(100_000);
}

#[test]
#[ignore = "the full soak: 2 × 10,000,000 calls; run with --release -- --ignored"]
fn soak_2_threads_x_10_000_000() {
    soak(10_000_000);
}
