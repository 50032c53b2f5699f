//! The service example end to end on loopback: real HTTP through stacked attributes to a
//! flaky upstream; `/metrics` checked by `promtool`, `/health` degraded while the upstream
//! is down and healthy after.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use steadfast_examples::service::{Mode, http_get, start_service, start_upstream};

async fn get(service: SocketAddr, path: &str) -> (u16, String) {
    http_get(service, path).await.expect("the service answers")
}

async fn health(service: SocketAddr) -> (u16, String) {
    get(service, "/health").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn degraded_while_the_upstream_is_down_and_healthy_after() {
    let upstream = start_upstream().await.unwrap();
    let service = start_service(SocketAddr::from(([127, 0, 0, 1], 0)), upstream.addr)
        .await
        .unwrap();

    for _ in 0..5 {
        let (status, body) = get(service, "/quote/ACME").await;
        assert_eq!((status, body.as_str()), (200, "102.78"));
    }
    assert_eq!(
        health(service).await,
        (200, r#"{"status":"healthy","reasons":[]}"#.to_owned())
    );

    // Down: 3 failed attempts open the breaker; then requests fail at once.
    upstream.set(Mode::Failing);
    for _ in 0..4 {
        let (status, _) = get(service, "/quote/ACME").await;
        assert_ne!(status, 200);
    }
    let start = Instant::now();
    let (status, body) = get(service, "/quote/ACME").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("circuit `upstream` is open"), "{body}");
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "a rejection is immediate"
    );
    let (status, body) = health(service).await;
    assert_eq!(status, 200, "degraded still serves");
    assert!(
        body.starts_with(r#"{"status":"degraded","reasons":["circuit breaker `upstream` is open""#),
        "{body}"
    );

    // Back: after open_for (2 s) a probe closes the breaker; successes bring the error
    // rate under half, and health back to healthy.
    upstream.set(Mode::Healthy);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    for _ in 0..40 {
        let (status, body) = get(service, "/quote/ACME").await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        health(service).await,
        (200, r#"{"status":"healthy","reasons":[]}"#.to_owned())
    );

    let (status, metrics) = get(service, "/metrics").await;
    assert_eq!(status, 200);
    for needle in [
        "steadfast_calls_total{function=\"quotes.fetch\"} 50",
        "steadfast_in_flight{function=\"quotes.fetch\"} 0",
        "steadfast_breaker_state{breaker=\"upstream\"} 0",
    ] {
        assert!(metrics.contains(needle), "missing {needle:?} in\n{metrics}");
    }
    promtool_check(&metrics);
}

#[path = "../../tests/support/promtool.rs"]
mod promtool;
use promtool::promtool_check;
