//! `#[rate_limit]`: exact admissions, exact waits, and its place among the other attributes.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::{
    BreakerState, CircuitOpen, RateLimited, circuit_breaker, monitored, rate_limit, retry,
};
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Limited(Duration),
    Open,
    Upstream,
}

impl From<RateLimited> for Error {
    fn from(e: RateLimited) -> Self {
        Error::Limited(e.retry_after())
    }
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

#[rate_limit(rate = 50, per = "1h")]
fn hourly(i: u32) -> Result<u32, RateLimited> {
    Ok(i)
}

#[test]
fn racing_threads_get_exactly_the_burst() {
    let admitted = AtomicU32::new(0);
    let limited = AtomicU32::new(0);
    std::thread::scope(|s| {
        for t in 0..8 {
            let (admitted, limited) = (&admitted, &limited);
            s.spawn(move || {
                for i in 0..20 {
                    match hourly(t * 100 + i) {
                        Ok(_) => admitted.fetch_add(1, SeqCst),
                        Err(_) => limited.fetch_add(1, SeqCst),
                    };
                }
            });
        }
    });
    assert_eq!(admitted.load(SeqCst), 50, "burst = rate = 50 from idle");
    assert_eq!(limited.load(SeqCst), 110);
    let l = steadfast::rate_limiter("rate_limit::hourly").expect("registered at first call");
    assert_eq!((l.admitted(), l.limited()), (50, 110));
    assert_eq!(l.available(), 0);
}

#[rate_limit(rate = 30, per = "1h", burst = 30)]
async fn hourly_async(i: u32) -> Result<u32, RateLimited> {
    tokio::task::yield_now().await;
    Ok(i)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_tasks_get_exactly_the_burst() {
    let tasks: Vec<_> = (0..100).map(|i| tokio::spawn(hourly_async(i))).collect();
    let mut admitted = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 30);
}

#[rate_limit(rate = 10, per = "1s", burst = 1)]
async fn tenth(i: u32) -> Result<u32, Error> {
    Ok(i)
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_exactly_the_time_to_the_next_turn_and_nothing_waits() {
    let start = Instant::now();
    assert_eq!(tenth(1).await, Ok(1));
    assert_eq!(
        tenth(2).await,
        Err(Error::Limited(Duration::from_millis(100)))
    );
    tokio::time::advance(Duration::from_millis(30)).await;
    assert_eq!(
        tenth(3).await,
        Err(Error::Limited(Duration::from_millis(70)))
    );
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(30),
        "a rejection never sleeps"
    );
    tokio::time::advance(Duration::from_millis(70)).await;
    assert_eq!(tenth(4).await, Ok(4));
}

#[rate_limit(rate = 10, per = "1s", burst = 1, max_wait = "1s")]
async fn queued(i: u32) -> Result<(u32, Duration), Error> {
    Ok((i, Duration::ZERO))
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_arrival_order_one_interval_apart() {
    let start = Instant::now();
    let tasks: Vec<_> = (0..5u32)
        .map(|i| {
            tokio::spawn(async move {
                let (i, _) = queued(i).await.unwrap();
                (i, start.elapsed())
            })
        })
        .collect();
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.unwrap());
    }
    let expected: Vec<(u32, Duration)> = (0..5u32)
        .map(|i| (i, Duration::from_millis(100 * u64::from(i))))
        .collect();
    assert_eq!(done, expected);
    // At 400 ms the next turn is at 500 ms. Eleven callers at once: the k-th's turn is
    // k × 100 ms away; ten fit max_wait = 1s and wait, the eleventh is told at once.
    let t = Instant::now();
    let tasks: Vec<_> = (0..11u32)
        .map(|i| tokio::spawn(async move { (queued(i).await, t.elapsed()) }))
        .collect();
    let mut done = Vec::new();
    for task in tasks {
        done.push(task.await.unwrap());
    }
    for (k, (out, at)) in done.iter().take(10).enumerate() {
        assert!(out.is_ok());
        assert_eq!(*at, Duration::from_millis(100 * (k as u64 + 1)));
    }
    assert_eq!(
        done[10],
        (
            Err(Error::Limited(Duration::from_millis(1100))),
            Duration::ZERO
        )
    );
}

#[rate_limit(rate = 20, per = "1s", burst = 1, max_wait = "500ms")]
fn sync_waiter() -> Result<(), RateLimited> {
    Ok(())
}

#[test]
fn a_sync_call_waits_for_its_turn_on_its_thread() {
    let start = std::time::Instant::now();
    for _ in 0..3 {
        sync_waiter().unwrap();
    }
    // Turns at 0, 50 and 100 ms: a sleep is never shorter than asked.
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
}

static WAITED_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 2, delay = "1ms", max_delay = "1s")]
#[rate_limit(rate = 10, per = "1s", burst = 1)]
async fn waited_out() -> Result<u32, Error> {
    Ok(WAITED_RUNS.fetch_add(1, SeqCst) + 1)
}

#[tokio::test(start_paused = true)]
async fn a_retry_above_waits_the_turn_out_without_spending_an_attempt() {
    let start = Instant::now();
    for run in 1..=4 {
        assert_eq!(waited_out().await, Ok(run));
    }
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(300),
        "one turn every 100 ms"
    );
    let retry = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "rate_limit::waited_out")
        .and_then(|m| m.retry)
        .expect("the retry's figures are in the snapshot");
    assert_eq!(retry.retries, 0, "no attempt spent on the limit");
    assert_eq!(retry.gate_waits, 3);
}

static GUARDED_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "rate_limit.guarded", failure_threshold = 2)]
#[rate_limit(rate = 1, per = "1h")]
fn guarded(fail: bool) -> Result<u32, Error> {
    GUARDED_RUNS.fetch_add(1, SeqCst);
    if fail { Err(Error::Upstream) } else { Ok(1) }
}

#[test]
fn a_breaker_above_counts_a_rate_limit_for_nothing() {
    assert_eq!(guarded(false), Ok(1));
    for _ in 0..10 {
        assert!(matches!(guarded(true), Err(Error::Limited(_))));
    }
    assert_eq!(GUARDED_RUNS.load(SeqCst), 1, "the body ran once");
    let b = steadfast::breaker("rate_limit.guarded").unwrap();
    assert_eq!(
        b.state(),
        BreakerState::Closed,
        "ten rejections by our own limit"
    );
}

#[monitored]
#[rate_limit(rate = 1, per = "1h")]
fn watched() -> Result<(), RateLimited> {
    Ok(())
}

#[test]
fn monitored_counts_a_rate_limit_as_a_rejection_and_prometheus_has_it() {
    watched().unwrap();
    watched().unwrap_err();
    watched().unwrap_err();
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "rate_limit::watched")
        .unwrap();
    assert_eq!((m.calls, m.errors, m.rejected()), (3, 2, 2));
    let limit = m
        .rate_limit
        .expect("the limiter's figures are in the snapshot");
    assert_eq!(
        limit,
        steadfast::metrics::RateLimitMetrics {
            name: "rate_limit::watched".into(),
            rate: 1,
            per: Duration::from_secs(3600),
            burst: 1,
            available: 0,
            admitted: 1,
            limited: 2,
            keys: None,
        }
    );
    let text = steadfast::metrics::prometheus();
    assert!(
        text.contains("steadfast_rate_limited_total{limiter=\"rate_limit::watched\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("steadfast_rate_limit_admitted_total{limiter=\"rate_limit::watched\"} 1")
    );
}

#[rate_limit(rate = 2, per = "1h", name = "rate_limit.shared")]
fn shared_sync() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 2, per = "1h", name = "rate_limit.shared")]
async fn shared_async() -> Result<(), RateLimited> {
    Ok(())
}

#[tokio::test]
async fn functions_naming_one_limiter_share_it_sync_and_async() {
    shared_sync().unwrap();
    shared_async().await.unwrap();
    assert!(shared_sync().is_err());
    assert!(shared_async().await.is_err());
    let names: Vec<String> = steadfast::rate_limiters()
        .iter()
        .map(|l| l.name().to_owned())
        .filter(|n| n == "rate_limit.shared")
        .collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn the_error_says_what_and_when() {
    #[rate_limit(rate = 3, per = "1m", name = "rate_limit.words")]
    fn words() -> Result<(), RateLimited> {
        Ok(())
    }
    for _ in 0..3 {
        words().unwrap();
    }
    let e = words().unwrap_err();
    assert_eq!(e.name(), "rate_limit.words");
    assert_eq!(e.limit(), (3, Duration::from_secs(60)));
    assert!(
        e.retry_after() > Duration::from_secs(19) && e.retry_after() <= Duration::from_secs(20)
    );
    assert!(
        e.to_string()
            .starts_with("rate limit `rate_limit.words` (3 per 60s) reached; retry in")
    );
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::WouldBlock);
}

// The default written out: zero means no waiting.
#[rate_limit(rate = 1, per = "1h", max_wait = "0s")]
fn no_waiting() -> Result<(), RateLimited> {
    Ok(())
}

#[test]
fn max_wait_zero_written_out_means_no_waiting() {
    no_waiting().unwrap();
    let started = std::time::Instant::now();
    assert!(no_waiting().is_err());
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[rate_limit(rate = 3, per = "1h", key = host, max_keys = 100)]
fn per_host(host: &str) -> Result<(), RateLimited> {
    let _ = host;
    Ok(())
}

#[test]
fn each_key_has_its_own_limit_and_the_map_stays_bounded() {
    for host in ["a", "b"] {
        for _ in 0..3 {
            per_host(host).unwrap();
        }
        assert!(per_host(host).is_err(), "{host}: three an hour");
    }
    // A flood of new keys: each is admitted from a fresh state, and at most 100 are kept.
    let flood: Vec<String> = (0..1000).map(|i| format!("flood-{i}")).collect();
    for host in &flood {
        per_host(host).unwrap();
    }
    let l = steadfast::rate_limiter("rate_limit::per_host").unwrap();
    assert!(l.keys().unwrap() <= 100, "{:?}", l.keys());
    // Neither "a" nor "b" was evicted to make room: they are not back to fresh.
    assert!(per_host("a").is_err());
    assert!(per_host("b").is_err());
}
