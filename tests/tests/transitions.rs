//! The breaker holds up when many threads hit it at once.

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use steadfast::{BreakerState, CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

static PROBE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(
    name = "race",
    failure_threshold = 1,
    open_for = "30ms",
    half_open_probes = 1
)]
fn race(fail: bool, hold: &Barrier) -> Result<(), Error> {
    if fail {
        return Err(Error);
    }
    PROBE_RUNS.fetch_add(1, SeqCst);
    hold.wait(); // keep the probe in flight until the others have been rejected
    Ok(())
}

#[test]
fn sixty_four_threads_into_a_half_open_breaker_run_one_probe() {
    let unused = Barrier::new(1);
    race(true, &unused).unwrap_err();
    std::thread::sleep(Duration::from_millis(40)); // open_for is over
    let start = Barrier::new(64);
    let hold = Barrier::new(2); // the probe and the main thread
    let rejected = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..64 {
            s.spawn(|| {
                start.wait();
                match race(false, &hold) {
                    Ok(()) => {}
                    Err(Error) => {
                        rejected.fetch_add(1, SeqCst);
                    }
                }
                done.fetch_add(1, SeqCst);
            });
        }
        while done.load(SeqCst) < 63 {
            std::thread::yield_now();
        }
        hold.wait(); // release the probe
    });
    assert_eq!(PROBE_RUNS.load(SeqCst), 1, "exactly one body ran");
    assert_eq!(rejected.load(SeqCst), 63);
    assert_eq!(
        steadfast::breaker("race").unwrap().state(),
        BreakerState::Closed
    );
}

static ASYNC_PROBES: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(
    name = "async-race",
    failure_threshold = 1,
    open_for = "1s",
    half_open_probes = 5
)]
async fn async_race(fail: bool) -> Result<(), Error> {
    if fail {
        return Err(Error);
    }
    ASYNC_PROBES.fetch_add(1, SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_probes_across_tasks_on_a_multi_thread_runtime() {
    async_race(true).await.unwrap_err();
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    let calls: Vec<_> = (0..100).map(|_| tokio::spawn(async_race(false))).collect();
    let mut ok = 0;
    for call in calls {
        if call.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(ASYNC_PROBES.load(SeqCst), 5);
    assert_eq!(
        steadfast::breaker("async-race").unwrap().state(),
        BreakerState::Closed
    );
}
