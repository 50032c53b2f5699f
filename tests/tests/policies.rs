//! Policies: settings written once as a `const` and shared with `policy = …`; keys written
//! beside a policy override it for that function.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::{
    BreakerPolicy, BreakerState, CircuitOpen, Elapsed, RetryPolicy, TimeoutPolicy, circuit_breaker,
    retry, timeout,
};

#[derive(Debug)]
enum Error {
    Down,
    Open(CircuitOpen),
    Slow(Elapsed),
}

impl From<CircuitOpen> for Error {
    fn from(e: CircuitOpen) -> Self {
        Error::Open(e)
    }
}

impl From<Elapsed> for Error {
    fn from(e: Elapsed) -> Self {
        Error::Slow(e)
    }
}

const PAYMENTS: BreakerPolicy = BreakerPolicy::named("policies.payments")
    .failure_threshold(2)
    .open_for(Duration::from_secs(30));

#[circuit_breaker(policy = PAYMENTS)]
fn charge(ok: bool) -> Result<(), Error> {
    if ok { Ok(()) } else { Err(Error::Down) }
}

#[circuit_breaker(policy = PAYMENTS)]
fn refund(ok: bool) -> Result<(), Error> {
    if ok { Ok(()) } else { Err(Error::Down) }
}

#[test]
fn functions_sharing_a_named_policy_share_its_breaker() {
    charge(false).unwrap_err();
    refund(false).unwrap_err(); // the second failure of the one breaker
    let b = steadfast::breaker("policies.payments").expect("named by the policy");
    assert_eq!(b.state(), BreakerState::Open);
    let Err(Error::Open(open)) = charge(true) else {
        panic!("the shared breaker is open");
    };
    assert_eq!(open.name(), "policies.payments");
    assert!(open.retry_after() > Duration::from_secs(29));
    assert!(matches!(refund(true), Err(Error::Open(_))));
}

const STRICT: BreakerPolicy = BreakerPolicy::new().failure_threshold(1);

#[circuit_breaker(policy = STRICT)]
fn first_own() -> Result<(), Error> {
    Err(Error::Down)
}

#[circuit_breaker(policy = STRICT, name = "policies.overridden", failure_threshold = 3, open_for = "2m")]
fn overridden() -> Result<(), Error> {
    Err(Error::Down)
}

#[test]
fn an_unnamed_policy_gives_each_function_its_own_breaker_and_keys_override_it() {
    first_own().unwrap_err();
    assert!(matches!(first_own(), Err(Error::Open(_))), "threshold 1");
    // Its own breaker, with three failures to open and two minutes open.
    for _ in 0..3 {
        assert!(matches!(overridden(), Err(Error::Down)));
    }
    let Err(Error::Open(open)) = overridden() else {
        panic!("open after the overridden threshold");
    };
    assert_eq!(open.name(), "policies.overridden");
    assert!(open.retry_after() > Duration::from_secs(119));
    assert!(open.retry_after() <= Duration::from_secs(120));
}

const BACKEND: RetryPolicy = RetryPolicy::named("policies.backend")
    .attempts(4)
    .delay(Duration::from_millis(1))
    .jitter(steadfast::Jitter::None);

static TRIES: AtomicU32 = AtomicU32::new(0);

#[retry(policy = BACKEND)]
fn fetch() -> Result<(), Error> {
    TRIES.fetch_add(1, SeqCst);
    Err(Error::Down)
}

static FEWER: AtomicU32 = AtomicU32::new(0);

#[retry(policy = BACKEND, attempts = 2)]
fn fetch_fewer() -> Result<(), Error> {
    FEWER.fetch_add(1, SeqCst);
    Err(Error::Down)
}

#[test]
fn retry_policies_and_their_overrides() {
    fetch().unwrap_err();
    assert_eq!(TRIES.load(SeqCst), 4);
    fetch_fewer().unwrap_err();
    assert_eq!(FEWER.load(SeqCst), 2);
}

const SLOW: TimeoutPolicy = TimeoutPolicy::new(Duration::from_millis(200));

#[timeout(policy = SLOW)]
async fn lookup(latency: Duration) -> Result<(), Error> {
    tokio::time::sleep(latency).await;
    Ok(())
}

#[timeout("50ms", policy = SLOW)]
async fn quick_lookup(latency: Duration) -> Result<(), Error> {
    tokio::time::sleep(latency).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn timeout_policies_and_a_deadline_beside_one() {
    lookup(Duration::from_millis(150)).await.unwrap();
    let Err(Error::Slow(e)) = lookup(Duration::from_millis(250)).await else {
        panic!("past the policy's deadline");
    };
    assert_eq!(e.after(), Duration::from_millis(200));
    let Err(Error::Slow(e)) = quick_lookup(Duration::from_millis(100)).await else {
        panic!("past the deadline written beside the policy");
    };
    assert_eq!(e.after(), Duration::from_millis(50));
}

const CRITICAL: BreakerPolicy = BreakerPolicy::named("policies.critical").critical();

#[circuit_breaker(policy = CRITICAL)]
fn database() -> Result<(), Error> {
    Ok(())
}

#[test]
fn a_policy_can_mark_its_breaker_critical() {
    database().unwrap();
    assert!(
        steadfast::breaker("policies.critical")
            .unwrap()
            .is_critical()
    );
    assert_eq!(CRITICAL.name(), Some("policies.critical"));
}

#[circuit_breaker(name = "policies.never_called")]
#[allow(dead_code)]
fn never_called() -> Result<(), Error> {
    Ok(())
}

#[test]
fn every_breaker_is_known_before_its_first_call() {
    let b = steadfast::breaker("policies.never_called").expect("listed before `main`");
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.rejections(), 0);
    assert!(
        steadfast::breakers()
            .iter()
            .any(|b| b.name() == "policies.never_called")
    );
    assert!(
        steadfast::metrics::prometheus()
            .contains("steadfast_breaker_state{breaker=\"policies.never_called\"} 0")
    );
}

// --- bulkheads and rate limiters

#[derive(Debug, PartialEq)]
enum Busy {
    Full(steadfast::FullReason),
    Limited,
}

impl From<steadfast::BulkheadFull> for Busy {
    fn from(e: steadfast::BulkheadFull) -> Self {
        Busy::Full(e.reason())
    }
}

impl From<steadfast::RateLimited> for Busy {
    fn from(_: steadfast::RateLimited) -> Self {
        Busy::Limited
    }
}

const CONVERTERS: steadfast::BulkheadPolicy =
    steadfast::BulkheadPolicy::named("policies.converters", 2)
        .max_wait(Duration::from_millis(50))
        .max_queue(3);

#[steadfast::bulkhead(policy = CONVERTERS)]
fn convert_pdf() -> Result<(), Busy> {
    Ok(())
}

#[steadfast::bulkhead(policy = CONVERTERS)]
async fn convert_png() -> Result<(), Busy> {
    Ok(())
}

#[steadfast::bulkhead(policy = CONVERTERS, name = "policies.thumbnails", max_concurrent = 1)]
fn thumbnail(inner: Option<fn() -> Result<(), Busy>>) -> Result<(), Busy> {
    inner.map_or(Ok(()), |f| f())
}

fn thumbnail_again() -> Result<(), Busy> {
    thumbnail(None)
}

#[tokio::test]
async fn a_bulkhead_policy_is_shared_by_name_and_keys_beside_it_override_it() {
    convert_pdf().unwrap();
    convert_png().await.unwrap();
    let shared = steadfast::bulkhead("policies.converters").unwrap();
    assert_eq!(
        (shared.limit(), shared.admitted()),
        (2, 2),
        "one bulkhead for both"
    );
    // Its own name and limit, the policy's wait: the nested call waits 50 ms, then gives up.
    let started = std::time::Instant::now();
    assert_eq!(
        thumbnail(Some(thumbnail_again)),
        Err(Busy::Full(steadfast::FullReason::WaitedOut))
    );
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(
        steadfast::bulkhead("policies.thumbnails").unwrap().limit(),
        1
    );
    let current = steadfast::config::current();
    assert!(
        current.contains("[bulkhead.\"policies.converters\"]\nmax_concurrent = 2\nmax_queue = 3\nmax_wait = \"50ms\""),
        "{current}"
    );
}

const QUOTA: steadfast::RateLimitPolicy =
    steadfast::RateLimitPolicy::named("policies.quota", 3, Duration::from_secs(3600));

#[steadfast::rate_limit(policy = QUOTA)]
fn quota_a() -> Result<(), Busy> {
    Ok(())
}

#[steadfast::rate_limit(policy = QUOTA)]
async fn quota_b() -> Result<(), Busy> {
    Ok(())
}

#[steadfast::rate_limit(policy = QUOTA, name = "policies.own_quota", burst = 1)]
fn own_quota() -> Result<(), Busy> {
    Ok(())
}

#[tokio::test]
async fn a_rate_limit_policy_is_one_quota_for_every_function_that_names_it() {
    quota_a().unwrap();
    quota_b().await.unwrap();
    quota_a().unwrap();
    assert_eq!(
        quota_b().await,
        Err(Busy::Limited),
        "three in all, not three each"
    );
    own_quota().unwrap();
    assert_eq!(own_quota(), Err(Busy::Limited), "its own burst of 1");
    let own = steadfast::rate_limiter("policies.own_quota").unwrap();
    assert_eq!(
        (own.rate(), own.per(), own.burst()),
        (3, Duration::from_secs(3600), 1)
    );
}
