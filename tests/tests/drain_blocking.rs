//! `steadfast::drain_blocking` from a plain `main`, no tokio runtime: a sync program's
//! shutdown. `harness = false`: this file is the whole program.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use steadfast::{ShuttingDown, TaskState, monitored, supervised};

#[monitored(name = "blocking.save", drain = "reject")]
fn save(ms: u64) -> Result<u64, std::io::Error> {
    std::thread::sleep(Duration::from_millis(ms));
    Ok(ms)
}

#[supervised(name = "blocking.poller", delay = "10ms")]
fn poller(seen: Arc<AtomicBool>) {
    while !steadfast::is_shutting_down() {
        std::thread::sleep(Duration::from_millis(5));
    }
    seen.store(true, Ordering::SeqCst);
}

fn main() {
    let seen = Arc::new(AtomicBool::new(false));
    let task = poller_supervised(seen.clone());
    let saving = std::thread::spawn(|| save(200));
    std::thread::sleep(Duration::from_millis(50));

    let started = Instant::now();
    let report = steadfast::drain_blocking(Duration::from_secs(5));
    let waited = started.elapsed();
    assert!(report.clean(), "{report}");
    assert!(
        waited >= Duration::from_millis(100),
        "waited for the save: {waited:?}"
    );
    assert!(waited < Duration::from_secs(5));
    assert_eq!(saving.join().unwrap().unwrap(), 200);
    assert!(
        seen.load(Ordering::SeqCst),
        "the poller saw is_shutting_down"
    );
    assert_eq!(task.state(), TaskState::Stopped);

    let err = save(1).unwrap_err();
    assert!(err.get_ref().unwrap().is::<ShuttingDown>());
    // A second drain from another thread joins the first.
    let again = std::thread::spawn(|| steadfast::drain_blocking(Duration::from_secs(5)));
    assert_eq!(again.join().unwrap(), report);
    println!("drain_blocking: ok ({waited:?})");
}
