//! `#[circuit_breaker]` as a user sees it: modes, rejection, probes, errors, registry.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::{BreakerState, CircuitOpen, circuit_breaker};

#[derive(Debug)]
enum Error {
    Upstream(&'static str),
    Open(CircuitOpen),
}

impl From<CircuitOpen> for Error {
    fn from(e: CircuitOpen) -> Self {
        Error::Open(e)
    }
}

fn is_open<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::Open(_)))
}

static RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(failure_threshold = 3, open_for = "30s")]
fn always_fails() -> Result<(), Error> {
    RUNS.fetch_add(1, SeqCst);
    Err(Error::Upstream("down"))
}

#[test]
fn opens_after_the_threshold_and_stops_running_the_body() {
    for _ in 0..3 {
        assert!(matches!(always_fails(), Err(Error::Upstream("down"))));
    }
    let rejected = always_fails();
    let Err(Error::Open(open)) = rejected else {
        panic!("expected a rejection, got {rejected:?}");
    };
    assert_eq!(RUNS.load(SeqCst), 3, "the body did not run the 4th time");
    assert_eq!(open.name(), "circuit_breaker::always_fails");
    assert!(open.retry_after() > Duration::from_secs(29));
    assert!(open.retry_after() <= Duration::from_secs(30));
    // The failure that opened it travels with the rejection: its `Debug`, as `Error` has
    // no `Display`.
    assert_eq!(open.last_failure(), Some("Upstream(\"down\")"));
    assert!(
        open.to_string().starts_with(
            "circuit `circuit_breaker::always_fails` is open after: Upstream(\"down\"); retry in"
        ),
        "{open}"
    );
    let handle = steadfast::breaker("circuit_breaker::always_fails").expect("registered");
    assert_eq!(handle.state(), BreakerState::Open);
}

static FLAKY_FAILS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    name = "flaky-async",
    failure_threshold = 2,
    open_for = "10s",
    half_open_probes = 2
)]
async fn flaky(fail: bool) -> Result<u32, Error> {
    tokio::task::yield_now().await;
    if fail {
        FLAKY_FAILS.fetch_add(1, SeqCst);
        return Err(Error::Upstream("flaky"));
    }
    Ok(7)
}

#[tokio::test(start_paused = true)]
async fn async_breaker_goes_open_half_open_closed_on_paused_time() {
    assert_eq!(flaky(false).await.unwrap(), 7);
    assert!(flaky(true).await.is_err());
    assert!(flaky(true).await.is_err());
    let b = steadfast::breaker("flaky-async").unwrap();
    assert_eq!(b.state(), BreakerState::Open);
    assert!(is_open(&flaky(false).await));

    tokio::time::advance(Duration::from_millis(9_999)).await;
    assert!(is_open(&flaky(false).await), "still open at 9.999 s");
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(flaky(false).await.unwrap(), 7, "first probe");
    assert_eq!(b.state(), BreakerState::HalfOpen);
    assert_eq!(flaky(false).await.unwrap(), 7, "second probe");
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(FLAKY_FAILS.load(SeqCst), 2);
}

fn is_transient(e: &Error) -> bool {
    matches!(e, Error::Upstream("timeout"))
}

#[circuit_breaker(failure_threshold = 1, failure_if = is_transient)]
fn selective(kind: &'static str) -> Result<(), Error> {
    Err(Error::Upstream(kind))
}

#[test]
fn failure_if_decides_which_errors_count() {
    for _ in 0..10 {
        assert!(matches!(
            selective("not found"),
            Err(Error::Upstream("not found"))
        ));
    }
    assert!(matches!(
        selective("timeout"),
        Err(Error::Upstream("timeout"))
    ));
    assert!(is_open(&selective("not found")));
}

#[circuit_breaker(failure_threshold = 1, key = host)]
fn per_host(host: &str, fail: bool) -> Result<String, Error> {
    if fail {
        Err(Error::Upstream("down"))
    } else {
        Ok(format!("hello from {host}"))
    }
}

#[test]
fn keyed_breakers_open_per_key_with_borrowed_str_keys() {
    assert!(per_host("a.example", true).is_err());
    assert!(is_open(&per_host("a.example", false)));
    let b = String::from("b.example");
    assert_eq!(per_host(&b, false).unwrap(), "hello from b.example");
    let a = steadfast::breaker("circuit_breaker::per_host[\"a.example\"]").expect("per-key name");
    assert_eq!(a.state(), BreakerState::Open);
    assert!(
        steadfast::breakers()
            .iter()
            .any(|b| b.name() == "circuit_breaker::per_host[\"b.example\"]")
    );
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Region(u8);

#[circuit_breaker(failure_threshold = 1, key = region.0)]
fn per_region(region: Region) -> Result<(), Error> {
    Err(Error::Upstream("down"))
}

#[test]
fn keys_can_be_expressions_of_arguments() {
    assert!(per_region(Region(1)).is_err());
    assert!(is_open(&per_region(Region(1))));
    assert!(!is_open(&per_region(Region(2))));
}

#[circuit_breaker(name = "shared-ledger", failure_threshold = 2)]
fn ledger_write() -> Result<(), Error> {
    Err(Error::Upstream("ledger"))
}

#[circuit_breaker(name = "shared-ledger", failure_threshold = 2)]
fn ledger_read() -> Result<(), Error> {
    Ok(())
}

#[test]
fn functions_naming_the_same_breaker_share_it() {
    assert!(ledger_write().is_err());
    assert!(ledger_write().is_err());
    assert!(
        is_open(&ledger_read()),
        "the read shares the breaker the writes opened"
    );
    steadfast::breaker("shared-ledger").unwrap().reset();
    assert!(ledger_read().is_ok());
}

#[circuit_breaker(name = "maintenance")]
fn maintained() -> anyhow::Result<u8> {
    Ok(1)
}

#[test]
fn force_open_and_reset_from_the_handle_with_anyhow() {
    assert_eq!(maintained().unwrap(), 1);
    let b = steadfast::breaker("maintenance").unwrap();
    b.force_open();
    let err = maintained().unwrap_err();
    let open = err
        .downcast_ref::<CircuitOpen>()
        .expect("anyhow keeps the CircuitOpen");
    assert_eq!(open.retry_after(), Duration::MAX);
    b.reset();
    assert_eq!(maintained().unwrap(), 1);
}

#[circuit_breaker(failure_threshold = 1)]
fn panics() -> Result<(), Error> {
    panic!("boom")
}

#[test]
fn a_panic_counts_as_a_failure_and_keeps_unwinding() {
    let payload = std::panic::catch_unwind(panics).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert!(is_open(&panics()));
}

#[circuit_breaker(failure_threshold = 1, open_for = "1s")]
async fn slow(started: tokio::sync::oneshot::Sender<()>) -> Result<(), Error> {
    let _ = started.send(());
    std::future::pending::<()>().await;
    Err(Error::Upstream("never"))
}

#[tokio::test]
async fn a_cancelled_call_records_nothing() {
    for _ in 0..100 {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let call = tokio::spawn(slow(tx));
        rx.await.unwrap();
        call.abort();
        assert!(call.await.unwrap_err().is_cancelled());
    }
    assert_eq!(
        steadfast::breaker("circuit_breaker::slow").unwrap().state(),
        BreakerState::Closed
    );
}

#[circuit_breaker(failure_threshold = 3, window = "60s", open_for = "5s")]
async fn windowed(fail: bool) -> Result<(), Error> {
    if fail {
        Err(Error::Upstream("x"))
    } else {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn threshold_within_a_window() {
    let b = || steadfast::breaker("circuit_breaker::windowed").unwrap();
    windowed(true).await.unwrap_err();
    windowed(false).await.unwrap();
    windowed(true).await.unwrap_err();
    tokio::time::advance(Duration::from_secs(61)).await;
    windowed(true).await.unwrap_err();
    assert_eq!(
        b().state(),
        BreakerState::Closed,
        "the first failure left the window"
    );
    windowed(true).await.unwrap_err();
    assert_eq!(b().state(), BreakerState::Closed);
    windowed(false).await.unwrap();
    windowed(true).await.unwrap_err();
    assert_eq!(
        b().state(),
        BreakerState::Open,
        "3 failures within 60 s, successes between"
    );
}

#[circuit_breaker(failure_rate = 0.5, minimum_calls = 4, window = "10s")]
fn rated(fail: bool) -> Result<(), Error> {
    if fail {
        Err(Error::Upstream("x"))
    } else {
        Ok(())
    }
}

#[test]
fn failure_rate_over_a_window() {
    rated(true).unwrap_err();
    rated(true).unwrap_err();
    rated(true).unwrap_err();
    let b = steadfast::breaker("circuit_breaker::rated").unwrap();
    assert_eq!(b.state(), BreakerState::Closed, "3 calls < minimum_calls");
    rated(false).unwrap();
    assert_eq!(b.state(), BreakerState::Closed, "a success never opens");
    rated(true).unwrap_err();
    assert_eq!(b.state(), BreakerState::Open, "4 of 5 failed");
}

const OPEN_FOR: Duration = Duration::from_millis(1500);

fn probes() -> u32 {
    1
}

#[circuit_breaker(failure_threshold = 1, open_for = OPEN_FOR)]
fn const_duration() -> Result<(), Error> {
    Err(Error::Upstream("x"))
}

#[test]
fn durations_can_be_expressions() {
    let _ = probes();
    const_duration().unwrap_err();
    let Err(Error::Open(open)) = const_duration() else {
        panic!()
    };
    assert!(open.retry_after() <= OPEN_FOR && open.retry_after() > Duration::from_secs(1));
}
