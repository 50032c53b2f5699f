//! `steadfast::health()`: each rule, in one test so that nothing else in this binary
//! registers breakers or functions behind its back.

use std::time::Duration;

use steadfast::{
    BulkheadFull, CircuitOpen, HealthStatus, bulkhead, circuit_breaker, health, monitored,
};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[monitored(name = "orders.place")]
fn place_order(fail: bool) -> Result<(), Error> {
    if fail { Err(Error) } else { Ok(()) }
}

#[circuit_breaker(name = "payments", failure_threshold = 1, open_for = "1h")]
fn payments(fail: bool) -> Result<(), Error> {
    if fail { Err(Error) } else { Ok(()) }
}

#[circuit_breaker(name = "inventory", failure_threshold = 1, open_for = "1h")]
fn inventory(fail: bool) -> Result<(), Error> {
    if fail { Err(Error) } else { Ok(()) }
}

#[circuit_breaker(name = "database", critical, failure_threshold = 1, open_for = "1h")]
fn database(fail: bool) -> Result<(), Error> {
    if fail { Err(Error) } else { Ok(()) }
}

#[circuit_breaker(key = host, failure_threshold = 1, open_for = "1h")]
fn ping(host: &str, fail: bool) -> Result<(), Error> {
    let _ = host;
    if fail { Err(Error) } else { Ok(()) }
}

impl From<BulkheadFull> for Error {
    fn from(_: BulkheadFull) -> Self {
        Error
    }
}

#[bulkhead(max_concurrent = 1, name = "converter")]
fn convert(inner: Option<&dyn Fn() -> Result<(), Error>>) -> Result<(), Error> {
    inner.map_or(Ok(()), |f| f())
}

/// Calls `convert` while one call is inside: `rejected` of them are turned away.
fn convert_while_busy(rejected: usize) {
    convert(Some(&|| {
        for _ in 0..rejected {
            convert(None).unwrap_err();
        }
        Ok(())
    }))
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn every_rule() {
    let h = health();
    assert_eq!(h.status, HealthStatus::Healthy);
    assert!(h.reasons.is_empty());
    assert_eq!(
        (h.http_status(), h.to_json().as_str()),
        (200, r#"{"status":"healthy","reasons":[]}"#)
    );

    // 9 failures are below the 10 calls a rate needs.
    for _ in 0..9 {
        place_order(true).unwrap_err();
    }
    assert_eq!(health().status, HealthStatus::Healthy);
    place_order(true).unwrap_err();
    let h = health();
    assert_eq!(h.status, HealthStatus::Degraded);
    assert_eq!(
        h.reasons,
        ["function `orders.place` failed 10 of its last 10 calls (100%)"]
    );
    assert_eq!(h.http_status(), 200, "degraded still serves");

    // A minute of successes later, the failures have left the window.
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(health().status, HealthStatus::Degraded);
    tokio::time::advance(Duration::from_secs(61)).await;
    for _ in 0..10 {
        place_order(false).unwrap();
    }
    assert_eq!(
        health().status,
        HealthStatus::Healthy,
        "{:?}",
        health().reasons
    );

    // Dependencies down are degraded, never unhealthy, however many: a 503 would get
    // every healthy pod restarted.
    payments(false).unwrap();
    inventory(false).unwrap();
    database(false).unwrap();
    payments(true).unwrap_err();
    let h = health();
    assert_eq!(h.status, HealthStatus::Degraded);
    assert_eq!(h.reasons, ["circuit breaker `payments` is open"]);
    inventory(true).unwrap_err();
    let h = health();
    assert_eq!(h.status, HealthStatus::Degraded, "{:?}", h.reasons);
    assert_eq!(h.http_status(), 200);
    assert_eq!(
        h.reasons,
        [
            "circuit breaker `inventory` is open",
            "circuit breaker `payments` is open"
        ],
        "in the order of their names"
    );

    // Per-key breakers: one reason for the function, however many keys are open.
    for i in 0..40 {
        ping(&format!("host-{i}"), false).unwrap();
    }
    for i in 0..3 {
        ping(&format!("host-{i}"), true).unwrap_err();
    }
    let h = health();
    assert_eq!(h.status, HealthStatus::Degraded);
    assert_eq!(h.reasons.len(), 3, "{:?}", h.reasons);
    assert_eq!(h.reasons[2], "3 of 40 keys of `health::ping` are open");

    // Only what is marked critical makes the process unhealthy, and it comes first.
    database(true).unwrap_err();
    let h = health();
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert_eq!(h.http_status(), 503);
    assert_eq!(h.reasons[0], "critical circuit breaker `database` is open");
    assert_eq!(h.reasons.len(), 4);
    assert!(h.to_json().starts_with(
        r#"{"status":"unhealthy","reasons":["critical circuit breaker `database` is open","#
    ));
    assert!(steadfast::breaker("database").unwrap().is_critical());
    assert!(!steadfast::breaker("payments").unwrap().is_critical());

    for b in steadfast::breakers() {
        b.reset();
    }
    assert_eq!(health().status, HealthStatus::Healthy);

    // A bulkhead turning away most calls is degraded: 4 of 10 is not most, 10 of 17 is.
    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(health().status, HealthStatus::Healthy);
    for _ in 0..2 {
        convert_while_busy(2);
    }
    for _ in 0..4 {
        convert(None).unwrap();
    }
    assert_eq!(
        health().status,
        HealthStatus::Healthy,
        "{:?}",
        health().reasons
    );
    convert_while_busy(6);
    let h = health();
    assert_eq!(h.status, HealthStatus::Degraded);
    assert_eq!(
        h.reasons,
        ["bulkhead `converter` turned away 10 of its last 17 calls (59%)"]
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    health();
    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(
        health().status,
        HealthStatus::Healthy,
        "{:?}",
        health().reasons
    );
}
