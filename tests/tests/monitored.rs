//! `#[monitored]`: exact counts under threads, panics and cancellations; latency under
//! paused time; the Prometheus text checked by `promtool`.

use std::sync::Barrier;
use std::time::Duration;

use steadfast::metrics::{FunctionMetrics, snapshot};
use steadfast::{CircuitOpen, circuit_breaker, monitored, retry, timeout};

fn metrics(name: &str) -> FunctionMetrics {
    snapshot()
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name} not recorded"))
}

#[monitored(name = "mixed")]
fn mixed(i: u64) -> Result<u64, String> {
    match i % 10 {
        0 => panic!("every tenth call panics"),
        1 | 2 => Err(format!("call {i} failed")),
        _ => Ok(i),
    }
}

#[test]
fn exact_counts_under_two_threads_with_errors_and_panics() {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                for i in 0..100_000u64 {
                    let _ = std::panic::catch_unwind(|| mixed(t * 100_000 + i));
                }
            });
        }
    });
    let m = metrics("mixed");
    assert_eq!(m.calls, 200_000);
    assert_eq!(m.errors, 60_000, "Err results and panics");
    assert_eq!(m.successes, 140_000);
    assert_eq!(m.in_flight, 0);
    assert_eq!(m.cancelled(), 0);
}

#[monitored(name = "mixed_async")]
async fn mixed_async(i: u64) -> Result<u64, String> {
    match i % 10 {
        0 => panic!("every tenth call panics"),
        1 | 2 => Err(format!("call {i} failed")),
        3 => std::future::pending().await, // dropped by the caller while in flight
        _ => Ok(i),
    }
}

#[test]
fn exact_counts_with_dropped_futures_too() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                let mut cx = Context::from_waker(Waker::noop());
                for i in 0..100_000u64 {
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let mut call = std::pin::pin!(mixed_async(t * 100_000 + i));
                        match call.as_mut().poll(&mut cx) {
                            Poll::Ready(_) => {}
                            Poll::Pending => {} // dropped here, mid-flight
                        }
                    }));
                }
            });
        }
    });
    let m = metrics("mixed_async");
    assert_eq!(m.calls, 200_000);
    assert_eq!(m.errors, 60_000, "Err results and panics");
    assert_eq!(m.cancelled(), 20_000, "dropped futures are neither");
    assert_eq!(m.successes, 120_000);
    assert_eq!(m.in_flight, 0);
}

#[monitored]
fn plain(x: u32) -> u32 {
    x + 1
}

#[test]
fn any_return_type_is_a_success() {
    for i in 0..10 {
        assert_eq!(plain(i), i + 1);
    }
    let m = metrics("monitored::plain");
    assert_eq!(
        (m.calls, m.successes, m.errors, m.in_flight),
        (10, 10, 0, 0)
    );
}

#[monitored(name = "sleepy", level = "debug")]
async fn sleepy(ms: u64) -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn quantiles_within_the_bucket_error_of_known_latencies() {
    // 90 calls of 10 ms, 9 of 100 ms, 1 of 1 s.
    for _ in 0..90 {
        sleepy(10).await.unwrap();
    }
    for _ in 0..9 {
        sleepy(100).await.unwrap();
    }
    sleepy(1_000).await.unwrap();
    let m = metrics("sleepy");
    assert_eq!(m.calls, 100);
    let close = |got: Duration, want: Duration| {
        let error = (got.as_secs_f64() - want.as_secs_f64()).abs() / want.as_secs_f64();
        assert!(error < 0.035, "{got:?} vs {want:?}: {:.1}%", error * 100.0);
    };
    close(m.latency.p50, Duration::from_millis(10));
    close(m.latency.p90, Duration::from_millis(10));
    close(m.latency.p99, Duration::from_millis(100));
    assert!(
        m.latency.max >= Duration::from_secs(1) && m.latency.max < Duration::from_millis(1_070)
    );
}

#[monitored(name = "abandoned")]
async fn abandoned() -> Result<(), String> {
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test]
async fn dropped_futures_leave_nothing_in_flight() {
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        tasks.push(tokio::spawn(abandoned()));
    }
    tokio::task::yield_now().await;
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    let m = metrics("abandoned");
    assert_eq!(m.in_flight, 0);
    assert_eq!(m.cancelled() + m.successes + m.errors, m.calls);
    assert_eq!(m.errors, 0, "a cancellation is not an error");
}

#[derive(Debug)]
struct Error(&'static str);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error("open")
    }
}

impl From<steadfast::Elapsed> for Error {
    fn from(_: steadfast::Elapsed) -> Self {
        Error("slow")
    }
}

#[monitored(name = "stacked")]
#[retry(attempts = 2, delay = "1ms")]
#[circuit_breaker(name = "stacked-breaker", failure_threshold = 1, open_for = "1h")]
#[timeout("1s")]
async fn stacked(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error("upstream")) } else { Ok(1) }
}

/// Its own function: `sleepy`'s test counts that one's calls exactly, in parallel.
#[monitored(name = "napping", level = "debug")]
async fn napping(ms: u64) -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(())
}

#[tokio::test]
async fn the_prometheus_text_passes_promtool() {
    stacked(false).await.unwrap();
    stacked(true).await.unwrap_err();
    let _ = napping(1).await;
    let text = steadfast::metrics::prometheus();
    for needle in [
        "# TYPE steadfast_calls_total counter",
        "steadfast_calls_total{function=\"stacked\"} 2",
        "steadfast_errors_total{function=\"stacked\"} 1",
        "steadfast_in_flight{function=\"stacked\"} 0",
        "steadfast_call_duration_seconds_count{function=\"stacked\"} 2",
        "steadfast_call_duration_seconds_bucket{function=\"stacked\",le=\"+Inf\"} 2",
        "steadfast_breaker_state{breaker=\"stacked-breaker\"} 1",
        "steadfast_breaker_rejections_total{breaker=\"stacked-breaker\"} 1",
        "steadfast_retry_attempts_total{function=\"stacked\"} 1",
        "# TYPE steadfast_timeouts_total counter",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    promtool_check(&text);
}

#[path = "../support/promtool.rs"]
mod promtool;
use promtool::promtool_check;

#[monitored(name = "shared.figures")]
fn shared_a() -> Result<(), String> {
    Ok(())
}

#[monitored(name = "shared.figures")]
fn shared_b() -> Result<(), String> {
    Err("b failed".into())
}

/// Functions given the same `name` share one set of figures, exported once.
#[test]
fn functions_given_one_name_share_one_set_of_figures() {
    shared_a().unwrap();
    shared_a().unwrap();
    shared_b().unwrap_err();
    let entries: Vec<FunctionMetrics> = snapshot()
        .into_iter()
        .filter(|m| m.name == "shared.figures")
        .collect();
    assert_eq!(entries.len(), 1, "one entry for the name");
    let m = &entries[0];
    assert_eq!((m.calls, m.successes, m.errors), (3, 2, 1));
    let text = steadfast::metrics::prometheus();
    let lines = text
        .lines()
        .filter(|l| l.starts_with("steadfast_calls_total{function=\"shared.figures\"}"))
        .collect::<Vec<_>>();
    assert_eq!(
        lines,
        ["steadfast_calls_total{function=\"shared.figures\"} 3"]
    );
}

mod twins {
    pub(crate) struct A;
    pub(crate) struct B;

    impl A {
        #[steadfast::monitored]
        #[steadfast::retry(attempts = 2, delay = "1ms", jitter = "none")]
        pub(crate) fn get(&self, fail: bool) -> Result<u32, String> {
            if fail { Err("a".into()) } else { Ok(1) }
        }
    }

    impl B {
        #[steadfast::monitored]
        #[steadfast::retry(attempts = 2, delay = "1ms", jitter = "none")]
        pub(crate) fn get(&self, fail: bool) -> Result<u32, String> {
            if fail { Err("b".into()) } else { Ok(2) }
        }
    }
}

/// Two methods `get` in one module have one default label each (`…::get`, `…::get#2`),
/// never one shared set of figures, and the Prometheus text has no series twice.
#[test]
fn twin_default_names_stay_apart_and_no_series_is_exported_twice() {
    twins::A.get(false).unwrap();
    twins::B.get(true).unwrap_err();
    twins::B.get(false).unwrap();
    let mut twins: Vec<FunctionMetrics> = snapshot()
        .into_iter()
        .filter(|m| m.name.starts_with("monitored::twins::get"))
        .collect();
    twins.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = twins.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["monitored::twins::get", "monitored::twins::get#2"]);
    let calls: Vec<(u64, u64)> = twins.iter().map(|m| (m.calls, m.errors)).collect();
    assert!(
        calls == [(1, 0), (2, 1)] || calls == [(2, 1), (1, 0)],
        "each keeps its own calls: {calls:?}"
    );
    let retried: Vec<u64> = twins
        .iter()
        .map(|m| m.retry.map_or(0, |r| r.retries))
        .collect();
    assert!(retried.contains(&1) && retried.contains(&0), "{retried:?}");

    let text = steadfast::metrics::prometheus();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let series = line.rsplit_once(' ').map_or(line, |(series, _)| series);
        assert!(seen.insert(series.to_owned()), "{series} exported twice");
    }
}
