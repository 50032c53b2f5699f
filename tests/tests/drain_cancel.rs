//! `steadfast::drain` at its deadline, in a process of its own: async `drain = "cancel"`
//! calls are dropped and return `ShuttingDown`; `drain = "reject"` calls, sync calls and
//! tasks that outlive their grace are reported.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use steadfast::{ShuttingDown, TaskEnd, monitored, supervised};

static DROPPED: AtomicBool = AtomicBool::new(false);

struct Flag;

impl Drop for Flag {
    fn drop(&mut self) {
        DROPPED.store(true, Ordering::SeqCst);
    }
}

#[monitored(name = "cancel.convert", drain = "cancel")]
async fn convert() -> Result<(), std::io::Error> {
    let _flag = Flag;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[monitored(name = "cancel.slow_reject", drain = "reject")]
async fn slow_reject() -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_millis(900)).await;
    Ok(())
}

#[monitored(name = "cancel.sync", drain = "cancel")]
fn blocking() -> Result<(), std::io::Error> {
    std::thread::sleep(Duration::from_millis(700));
    Ok(())
}

#[supervised(name = "cancel.stubborn", shutdown = "100ms")]
async fn stubborn() -> Result<(), String> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_deadline_async_cancel_calls_are_dropped_and_the_rest_reported() {
    let task = stubborn_supervised();
    let converting = tokio::spawn(convert());
    let rejecting = tokio::spawn(slow_reject());
    let sync_call = std::thread::spawn(blocking);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let report = steadfast::drain(Duration::from_millis(300)).await;
    assert!(!report.clean());
    assert!(
        report.waited() >= Duration::from_millis(300),
        "{:?}",
        report.waited()
    );
    assert!(
        report.waited() < Duration::from_millis(600),
        "{:?}",
        report.waited()
    );
    let err = converting.await.unwrap().unwrap_err();
    assert!(err.get_ref().unwrap().is::<ShuttingDown>(), "{err}");
    assert!(DROPPED.load(Ordering::SeqCst), "the body was dropped");

    let f = |name: &str| {
        report
            .functions()
            .iter()
            .find(|f| f.name == name)
            .cloned()
            .unwrap()
    };
    let convert = f("cancel.convert");
    assert_eq!(
        (
            convert.in_flight_at_start,
            convert.in_flight_at_deadline,
            convert.cancelled,
            convert.left
        ),
        (1, 1, 1, 0)
    );
    let reject = f("cancel.slow_reject");
    assert_eq!(
        (reject.in_flight_at_deadline, reject.cancelled, reject.left),
        (1, 0, 1)
    );
    let sync = f("cancel.sync");
    assert_eq!(
        (sync.in_flight_at_deadline, sync.cancelled, sync.left),
        (1, 0, 1)
    );
    assert_eq!(
        report.still_running(),
        ["cancel.slow_reject", "cancel.sync"]
    );
    assert_eq!(report.tasks()[0].end, TaskEnd::Dropped, "{report}");
    assert_eq!(task.state(), steadfast::TaskState::Stopped);
    let text = report.to_string();
    assert!(
        text.contains("`cancel.convert` had 1 call(s) running at the deadline (1 cancelled)"),
        "{text}"
    );
    assert!(
        text.contains("`cancel.sync` had 1 call(s) running at the deadline, 1 still running"),
        "{text}"
    );

    // The calls left run to their end.
    assert!(rejecting.await.unwrap().is_ok());
    assert!(sync_call.join().unwrap().is_ok());
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "cancel.convert")
        .unwrap();
    assert_eq!(
        m.cancelled(),
        1,
        "a cancelled call is counted as cancelled, not as an error"
    );
    assert_eq!(m.errors, 0);
}
