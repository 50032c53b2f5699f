//! The exact-count suite: races, storms, panics in predicates, saturating time, bounded
//! keys. Each test asserts exact numbers.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use steadfast::{BreakerState, CircuitOpen, circuit_breaker, retry};

#[derive(Debug, PartialEq)]
enum Error {
    Failed,
    Open(Duration),
}

impl From<CircuitOpen> for Error {
    fn from(e: CircuitOpen) -> Self {
        Error::Open(e.retry_after())
    }
}

/// A breaker's figure from the Prometheus text.
fn breaker_figure(metric: &str, breaker: &str) -> u64 {
    let prefix = format!("{metric}{{breaker=\"{breaker}\"}} ");
    steadfast::metrics::prometheus()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.parse().unwrap()))
        .unwrap_or_else(|| panic!("no {prefix}"))
}

static RACE_BODIES: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(name = "exact.race", failure_threshold = 1, open_for = "20ms")]
fn race(fail: bool, hold: &Barrier) -> Result<(), Error> {
    if fail {
        return Err(Error::Failed);
    }
    RACE_BODIES.fetch_add(1, SeqCst);
    hold.wait();
    Ok(())
}

#[test]
fn thirty_two_threads_racing_the_open_to_half_open_transition() {
    let unused = Barrier::new(1);
    assert_eq!(race(true, &unused), Err(Error::Failed));
    std::thread::sleep(Duration::from_millis(30));
    let start = Barrier::new(32);
    let hold = Barrier::new(2);
    let (rejected, done) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        for _ in 0..32 {
            s.spawn(|| {
                start.wait();
                if let Err(Error::Open(_)) = race(false, &hold) {
                    rejected.fetch_add(1, SeqCst);
                }
                done.fetch_add(1, SeqCst);
            });
        }
        while done.load(SeqCst) < 31 {
            std::thread::yield_now();
        }
        hold.wait();
    });
    assert_eq!(RACE_BODIES.load(SeqCst), 1);
    assert_eq!(rejected.load(SeqCst), 31);
    // closed -> open, open -> half-open (once, however many raced), half-open -> closed.
    assert_eq!(
        breaker_figure("steadfast_breaker_transitions_total", "exact.race"),
        3
    );
    assert_eq!(
        steadfast::breaker("exact.race").unwrap().state(),
        BreakerState::Closed
    );
}

#[circuit_breaker(name = "exact.storm", failure_threshold = 5, open_for = "1h")]
async fn storm(gate: Arc<tokio::sync::Barrier>) -> Result<(), Error> {
    gate.wait().await; // every call is admitted before any fails
    Err(Error::Failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_1000_concurrent_failures_opens_exactly_once() {
    let gate = Arc::new(tokio::sync::Barrier::new(1000));
    let calls: Vec<_> = (0..1000)
        .map(|_| tokio::spawn(storm(gate.clone())))
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), Err(Error::Failed));
    }
    assert_eq!(
        steadfast::breaker("exact.storm").unwrap().state(),
        BreakerState::Open
    );
    assert_eq!(
        breaker_figure("steadfast_breaker_transitions_total", "exact.storm"),
        1
    );
    assert_eq!(
        breaker_figure("steadfast_breaker_rejections_total", "exact.storm"),
        0
    );
}

fn panicking_predicate(e: &Error) -> bool {
    if *e == Error::Failed {
        panic!("failure_if panicked");
    }
    true
}

#[circuit_breaker(name = "exact.predicate", failure_threshold = 3, failure_if = panicking_predicate)]
fn predicate(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::Failed) } else { Ok(1) }
}

#[test]
fn a_panic_in_failure_if_propagates_counts_as_a_failure_and_leaves_the_breaker_working() {
    for _ in 0..2 {
        let payload = std::panic::catch_unwind(|| predicate(true)).unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"failure_if panicked"));
    }
    let b = steadfast::breaker("exact.predicate").unwrap();
    assert_eq!(b.state(), BreakerState::Closed, "2 failures of 3");
    for _ in 0..10_000 {
        assert_eq!(predicate(false), Ok(1));
    }
    let _ = std::panic::catch_unwind(|| predicate(true));
    let _ = std::panic::catch_unwind(|| predicate(true));
    let _ = std::panic::catch_unwind(|| predicate(true));
    assert_eq!(
        b.state(),
        BreakerState::Open,
        "the successes reset the run; 3 more open it"
    );
}

fn panicking_retry_if(_: &Error) -> bool {
    panic!("retry_if panicked")
}

static RETRY_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 3, delay = "1ms", retry_if = panicking_retry_if)]
fn retried(fail: bool) -> Result<u32, Error> {
    RETRY_RUNS.fetch_add(1, SeqCst);
    if fail { Err(Error::Failed) } else { Ok(2) }
}

#[test]
fn a_panic_in_retry_if_propagates_and_later_calls_work() {
    let payload = std::panic::catch_unwind(|| retried(true)).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"retry_if panicked"));
    assert_eq!(RETRY_RUNS.load(SeqCst), 1, "no attempt after the panic");
    for _ in 0..10_000 {
        assert_eq!(retried(false), Ok(2));
    }
}

#[circuit_breaker(name = "exact.forever", failure_threshold = 1, open_for = Duration::MAX)]
fn open_forever() -> Result<(), Error> {
    Err(Error::Failed)
}

#[retry(attempts = 3, delay = Duration::MAX, max_delay = Duration::MAX, jitter = "none", max_elapsed = "1ms")]
fn huge_waits() -> Result<(), Error> {
    Err(Error::Failed)
}

#[test]
fn durations_of_duration_max_saturate() {
    assert_eq!(open_forever(), Err(Error::Failed));
    match open_forever() {
        Err(Error::Open(retry_after)) => {
            assert!(retry_after > Duration::from_secs(100 * 365 * 86_400))
        }
        other => panic!("{other:?}"),
    }
    // A wait of Duration::MAX would cross max_elapsed: not taken, the error comes back.
    assert_eq!(huge_waits(), Err(Error::Failed));
}

#[circuit_breaker(failure_threshold = 1, open_for = "1h", key = host, max_keys = 1024)]
fn per_host(host: u32, fail: bool) -> Result<(), Error> {
    let _ = host;
    if fail { Err(Error::Failed) } else { Ok(()) }
}

#[test]
fn a_million_keys_stay_within_the_bound_and_open_breakers_are_kept() {
    let name = |host: u32| format!("exact::per_host[{host}]");
    for host in 0..10 {
        assert_eq!(per_host(host, true), Err(Error::Failed));
    }
    let count = || {
        steadfast::breakers()
            .iter()
            .filter(|b| b.name().starts_with("exact::per_host["))
            .count()
    };
    for host in 10..1_000_010 {
        per_host(host, false).unwrap();
        if host % 50_000 == 0 {
            assert!(count() <= 1024, "{} breakers at key {host}", count());
        }
    }
    assert!(count() <= 1024);
    for host in 0..10 {
        let b =
            steadfast::breaker(&name(host)).unwrap_or_else(|| panic!("{} was evicted", name(host)));
        assert_eq!(b.state(), BreakerState::Open);
        assert!(matches!(per_host(host, false), Err(Error::Open(_))));
    }
}

fn counts(e: &Error) -> bool {
    *e == Error::Failed
}

#[steadfast::monitored(name = "exact.never_trips")]
#[circuit_breaker(name = "exact.never_trips", failure_threshold = 1000000, failure_if = counts)]
fn never_trips(roll: u32) -> Result<u32, Error> {
    match roll % 4 {
        0 => Err(Error::Failed),               // a failure
        1 => Err(Error::Open(Duration::ZERO)), // an error failure_if ignores
        _ => Ok(roll),
    }
}

#[test]
fn ten_threads_by_10_000_calls_on_a_breaker_that_never_trips_lose_nothing() {
    let tallies: Vec<(u64, u64, u64)> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..10u32)
            .map(|t| {
                s.spawn(move || {
                    let (mut ok, mut failed, mut ignored) = (0, 0, 0);
                    for i in 0..10_000u32 {
                        match never_trips(t * 10_000 + i) {
                            Ok(_) => ok += 1,
                            Err(Error::Failed) => failed += 1,
                            Err(_) => ignored += 1,
                        }
                    }
                    (ok, failed, ignored)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let (ok, failed, ignored) = tallies
        .iter()
        .fold((0, 0, 0), |a, t| (a.0 + t.0, a.1 + t.1, a.2 + t.2));
    assert_eq!((ok, failed, ignored), (50_000, 25_000, 25_000));
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "exact.never_trips")
        .unwrap();
    assert_eq!(
        (m.calls, m.successes, m.errors, m.in_flight),
        (100_000, 50_000, 50_000, 0)
    );
    assert_eq!(
        steadfast::breaker("exact.never_trips").unwrap().state(),
        BreakerState::Closed
    );
    assert_eq!(
        breaker_figure("steadfast_breaker_rejections_total", "exact.never_trips"),
        0
    );
    assert_eq!(
        breaker_figure("steadfast_breaker_transitions_total", "exact.never_trips"),
        0
    );
}
