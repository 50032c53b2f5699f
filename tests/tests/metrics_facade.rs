//! Feature `metrics`: every figure also reaches the `metrics` facade, seen here by a
//! recorder that captures (installed before any decorated function is called).

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use steadfast::{
    BulkheadFull, CircuitOpen, Elapsed, RateLimited, bulkhead, circuit_breaker, monitored,
    rate_limit, retry, timeout,
};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

impl From<Elapsed> for Error {
    fn from(_: Elapsed) -> Self {
        Error
    }
}

impl From<RateLimited> for Error {
    fn from(_: RateLimited) -> Self {
        Error
    }
}

#[rate_limit(rate = 1, per = "1h", name = "facade.limit")]
fn limited() -> Result<(), Error> {
    Ok(())
}

impl From<BulkheadFull> for Error {
    fn from(_: BulkheadFull) -> Self {
        Error
    }
}

#[bulkhead(max_concurrent = 1, name = "facade.bulkhead")]
fn bulkheaded(inner: Option<fn() -> Result<(), Error>>) -> Result<(), Error> {
    inner.map_or(Ok(()), |f| f())
}

fn bulkheaded_again() -> Result<(), Error> {
    // Inside, in use is 1 for the facade too.
    bulkheaded(None)
}

/// A metric's name, its labels, its value.
type Seen = (String, Vec<(String, String)>, DebugValue);

#[monitored(name = "facade.call")]
#[retry(attempts = 2, delay = "1ms")]
#[circuit_breaker(name = "facade.breaker", failure_threshold = 1, open_for = "1h")]
#[timeout("1s")]
async fn call(fail: bool) -> Result<(), Error> {
    if fail { Err(Error) } else { Ok(()) }
}

#[tokio::test]
async fn every_figure_reaches_the_facade() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    call(false).await.unwrap();
    call(true).await.unwrap_err(); // fails, opens; the retry's 2nd attempt is rejected
    limited().unwrap();
    limited().unwrap_err();
    limited().unwrap_err();
    bulkheaded(Some(bulkheaded_again)).unwrap_err(); // the inner call finds it full
    let seen: Vec<Seen> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels, value)
        })
        .collect();
    let value = |name: &str, label: (&str, &str)| {
        seen.iter()
            .find(|(n, labels, _)| {
                n == name && labels.iter().any(|(k, v)| k == label.0 && v == label.1)
            })
            .map(|(_, _, v)| v)
            .unwrap_or_else(|| panic!("{name} {label:?} not recorded; saw {seen:#?}"))
    };
    let function = ("function", "facade.call");
    assert_eq!(
        value("steadfast_calls_total", function),
        &DebugValue::Counter(2)
    );
    assert_eq!(
        value("steadfast_errors_total", function),
        &DebugValue::Counter(1)
    );
    assert!(
        matches!(value("steadfast_in_flight", function), DebugValue::Gauge(g) if g.into_inner() == 0.0)
    );
    assert!(
        matches!(value("steadfast_call_duration_seconds", function), DebugValue::Histogram(h) if h.len() == 2)
    );
    assert_eq!(
        value("steadfast_rate_limited_total", ("limiter", "facade.limit")),
        &DebugValue::Counter(2)
    );
    let bulkhead = ("bulkhead", "facade.bulkhead");
    assert!(
        matches!(value("steadfast_bulkhead_in_use", bulkhead), DebugValue::Gauge(g) if g.into_inner() == 0.0)
    );
    assert!(
        matches!(value("steadfast_bulkhead_queued", bulkhead), DebugValue::Gauge(g) if g.into_inner() == 0.0)
    );
    assert!(
        seen.iter()
            .any(|(n, labels, v)| n == "steadfast_bulkhead_rejections_total"
                && labels.contains(&("reason".to_owned(), "full".to_owned()))
                && labels.contains(&("bulkhead".to_owned(), "facade.bulkhead".to_owned()))
                && *v == DebugValue::Counter(1))
    );
    let breaker = ("breaker", "facade.breaker");
    assert!(
        matches!(value("steadfast_breaker_state", breaker), DebugValue::Gauge(g) if g.into_inner() == 1.0)
    );
    assert_eq!(
        value("steadfast_breaker_transitions_total", breaker),
        &DebugValue::Counter(1)
    );
    assert_eq!(
        value("steadfast_breaker_rejections_total", breaker),
        &DebugValue::Counter(1)
    );
    let retried = ("function", "facade.call");
    assert_eq!(
        value("steadfast_retry_attempts_total", retried),
        &DebugValue::Counter(1)
    );
}
