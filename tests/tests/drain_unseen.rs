//! No call is admitted unseen: threads call a `drain = "reject"` function as fast as they
//! can while the process drains. Every call either ran before `drain` returned, counted
//! by it, or was turned away; none runs its body after.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use steadfast::monitored;

static RUNNING: AtomicU64 = AtomicU64::new(0);
static DRAINED: AtomicBool = AtomicBool::new(false);
static LATE: AtomicU64 = AtomicU64::new(0);

#[monitored(name = "unseen.work", drain = "reject")]
fn work() -> Result<(), std::io::Error> {
    RUNNING.fetch_add(1, Ordering::SeqCst);
    if DRAINED.load(Ordering::SeqCst) {
        LATE.fetch_add(1, Ordering::SeqCst);
    }
    std::hint::spin_loop();
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    Ok(())
}

#[test]
fn no_call_runs_after_the_drain_returned() {
    let stop = Arc::new(AtomicBool::new(false));
    let admitted = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let callers: Vec<_> = (0..3)
        .map(|_| {
            let (stop, admitted, rejected) = (stop.clone(), admitted.clone(), rejected.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match work() {
                        Ok(()) => admitted.fetch_add(1, Ordering::Relaxed),
                        Err(_) => rejected.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let report = steadfast::drain_blocking(Duration::from_secs(5));
    DRAINED.store(true, Ordering::SeqCst);
    assert_eq!(
        RUNNING.load(Ordering::SeqCst),
        0,
        "a body runs after the drain returned"
    );
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    for c in callers {
        c.join().unwrap();
    }
    assert!(report.clean(), "{report}");
    assert_eq!(
        LATE.load(Ordering::SeqCst),
        0,
        "a call was admitted after the drain"
    );
    assert!(admitted.load(Ordering::Relaxed) > 0);
    assert!(rejected.load(Ordering::Relaxed) > 0);
}
