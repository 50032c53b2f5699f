//! `steadfast::drain`, its four phases, in one process of its own (draining is for the
//! whole process and cannot be undone): one test, in the order a shutdown happens.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use steadfast::{HealthStatus, ShuttingDown, TaskEnd, TaskState, monitored, supervised};
use tokio::sync::Notify;

#[derive(Debug, PartialEq)]
enum UploadError {
    ShuttingDown,
}

impl From<ShuttingDown> for UploadError {
    fn from(_: ShuttingDown) -> Self {
        UploadError::ShuttingDown
    }
}

static RELEASE: Notify = Notify::const_new();
static BODIES: AtomicU32 = AtomicU32::new(0);

/// An upload in flight: it waits for `RELEASE`, then makes a nested call.
#[monitored(name = "drain.upload", drain = "reject")]
async fn upload(id: u32) -> Result<u32, UploadError> {
    BODIES.fetch_add(1, Ordering::SeqCst);
    RELEASE.notified().await;
    // Made from inside an admitted call: admitted while draining.
    let receipt = record(id).await?;
    Ok(receipt)
}

#[monitored(name = "drain.record", drain = "reject")]
async fn record(id: u32) -> Result<u32, UploadError> {
    Ok(id * 10)
}

static RETRIED_BODIES: AtomicU32 = AtomicU32::new(0);

/// A retry above a drained function: a `ShuttingDown` says nothing of when to try again.
#[steadfast::retry(attempts = 5, delay = "1s")]
#[monitored(name = "drain.retried", drain = "reject")]
fn retried() -> Result<(), std::io::Error> {
    RETRIED_BODIES.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// A plain `#[monitored]` function: never turned away, but waited for.
#[monitored(name = "drain.report")]
async fn report(done: Arc<AtomicBool>) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::SeqCst);
}

#[supervised(name = "drain.watchdog", jitter = "none")]
async fn watchdog(stopped: Arc<AtomicBool>) -> Result<(), String> {
    steadfast::shutdown_requested().await;
    stopped.store(true, Ordering::SeqCst);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_turns_new_calls_away_and_waits_for_those_in_flight() {
    let stopped = Arc::new(AtomicBool::new(false));
    let task = watchdog_supervised(stopped.clone());
    let in_flight = tokio::spawn(upload(1));
    let reported = Arc::new(AtomicBool::new(false));
    let report_call = tokio::spawn(report(reported.clone()));
    while BODIES.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(steadfast::health().status, HealthStatus::Healthy);
    assert!(!steadfast::is_shutting_down());

    let drain = tokio::spawn(steadfast::drain(Duration::from_secs(10)));
    while !steadfast::is_shutting_down() {
        tokio::task::yield_now().await;
    }
    // Phase 1: unhealthy, `draining` first; the task was told and stopped.
    let health = steadfast::health();
    assert_eq!(health.status, HealthStatus::Unhealthy);
    assert_eq!(health.reasons[0], "draining");
    for _ in 0..1000 {
        if task.state() == TaskState::Stopped {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        stopped.load(Ordering::SeqCst),
        "the watchdog saw shutdown_requested"
    );
    assert_eq!(task.state(), TaskState::Stopped);

    // Phase 2: a new call is turned away without running its body.
    assert_eq!(upload(2).await, Err(UploadError::ShuttingDown));
    assert_eq!(record(3).await, Err(UploadError::ShuttingDown));
    let before = std::time::Instant::now();
    let err = retried().unwrap_err();
    assert!(err.get_ref().unwrap().is::<ShuttingDown>());
    assert!(
        before.elapsed() < Duration::from_millis(500),
        "the retry did not wait"
    );
    assert_eq!(RETRIED_BODIES.load(Ordering::SeqCst), 0);
    assert_eq!(BODIES.load(Ordering::SeqCst), 1);
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "drain.upload")
        .unwrap();
    assert_eq!(m.rejected(), 1);
    assert_eq!(m.drain.unwrap().in_flight_at_start, 1);
    assert_eq!(m.drain.unwrap().left_at_end, None, "the drain still runs");
    assert!(steadfast::metrics::prometheus().contains("steadfast_draining 1"));

    // Phase 3: it waits for the call in flight, whose nested call is admitted.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!drain.is_finished(), "a call is in flight");
    RELEASE.notify_waiters();
    assert_eq!(in_flight.await.unwrap(), Ok(10));
    report_call.await.unwrap();
    let report = drain.await.unwrap();
    assert!(reported.load(Ordering::SeqCst));
    assert!(report.clean(), "{report}");
    assert_eq!(report.in_flight_at_start(), 2);
    assert!(
        report.waited() >= Duration::from_millis(250),
        "{:?}",
        report.waited()
    );
    assert!(report.waited() < Duration::from_secs(10));
    let names: Vec<&str> = report.functions().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["drain.report", "drain.upload"]);
    assert_eq!(report.tasks().len(), 1);
    assert_eq!(report.tasks()[0].name, "drain.watchdog");
    assert_eq!(report.tasks()[0].end, TaskEnd::Stopped);
    assert!(report.still_running().is_empty());

    // A second drain joins the first: the same report, at once.
    let again = steadfast::drain(Duration::from_secs(10)).await;
    assert_eq!(again, report);
    let text = steadfast::metrics::prometheus();
    assert!(text.contains("steadfast_draining 0"), "{text}");
    assert!(
        text.contains("steadfast_drain_in_flight_at_start{function=\"drain.upload\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("steadfast_drain_left{function=\"drain.upload\"} 0"),
        "{text}"
    );
    // Still unhealthy: the process is going away.
    assert_eq!(steadfast::health().status, HealthStatus::Unhealthy);
    // And no task starts any more.
    let late = watchdog_supervised(Arc::new(AtomicBool::new(false)));
    for _ in 0..1000 {
        if late.state() == TaskState::Stopped {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(late.state(), TaskState::Stopped);
}
