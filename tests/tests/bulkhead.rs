//! `#[bulkhead]`: exact admissions, first come first served across sync and async callers,
//! slots given back on every exit, and its place among the other attributes.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use steadfast::{
    BreakerState, BulkheadFull, CircuitOpen, FullReason, bulkhead, circuit_breaker, retry,
};

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Full(FullReason),
    Open,
}

impl From<BulkheadFull> for Error {
    fn from(e: BulkheadFull) -> Self {
        Error::Full(e.reason())
    }
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

#[bulkhead(max_concurrent = 4, name = "bulkhead.four")]
fn four(inside: &Barrier, leave: &Barrier) -> Result<(), Error> {
    inside.wait();
    leave.wait();
    Ok(())
}

#[test]
fn the_one_past_max_concurrent_is_rejected_at_once() {
    let (inside, leave) = (Barrier::new(5), Barrier::new(5));
    std::thread::scope(|s| {
        let holders: Vec<_> = (0..4).map(|_| s.spawn(|| four(&inside, &leave))).collect();
        inside.wait(); // four are inside
        let h = steadfast::bulkhead("bulkhead.four").unwrap();
        assert_eq!((h.in_use(), h.limit()), (4, 4));
        let lone = Barrier::new(1);
        assert_eq!(four(&lone, &lone), Err(Error::Full(FullReason::Full)));
        leave.wait();
        for t in holders {
            assert_eq!(t.join().unwrap(), Ok(()));
        }
    });
    let h = steadfast::bulkhead("bulkhead.four").unwrap();
    assert_eq!(
        (h.in_use(), h.queued(), h.rejected(FullReason::Full)),
        (0, 0, 1)
    );
}

#[bulkhead(max_concurrent = 1, max_wait = "10s", name = "bulkhead.fifo")]
async fn fifo_hold(release: tokio::sync::oneshot::Receiver<()>) -> Result<(), Error> {
    let _ = release.await;
    Ok(())
}

#[bulkhead(max_concurrent = 1, max_wait = "10s", name = "bulkhead.fifo")]
async fn fifo(i: u32, order: Arc<Mutex<Vec<u32>>>) -> Result<(), Error> {
    order.lock().unwrap().push(i);
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

#[bulkhead(max_concurrent = 1, max_wait = "10s", name = "bulkhead.fifo")]
fn fifo_sync(i: u32, order: Arc<Mutex<Vec<u32>>>) -> Result<(), Error> {
    order.lock().unwrap().push(i);
    std::thread::sleep(Duration::from_millis(10));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_sync_and_async_are_served_first_come_first_served() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let h = || steadfast::bulkhead("bulkhead.fifo");
    // One inside (it holds the slot until told), then callers queue one after the other,
    // alternating tasks and threads.
    let (release, hold) = tokio::sync::oneshot::channel();
    let first = tokio::spawn(fifo_hold(hold));
    while h().is_none_or(|h| h.in_use() == 0) {
        tokio::task::yield_now().await;
    }
    let mut tasks = Vec::new();
    let mut threads = Vec::new();
    for i in 1..=6u32 {
        if i % 2 == 0 {
            let order = order.clone();
            threads.push(std::thread::spawn(move || fifo_sync(i, order)));
        } else {
            tasks.push(tokio::spawn(fifo(i, order.clone())));
        }
        while h().unwrap().queued() < i {
            tokio::task::yield_now().await;
        }
    }
    release.send(()).unwrap();
    first.await.unwrap().unwrap();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for t in threads {
        t.join().unwrap().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), [1, 2, 3, 4, 5, 6]);
    assert_eq!((h().unwrap().in_use(), h().unwrap().queued()), (0, 0));
}

#[bulkhead(
    max_concurrent = 1,
    max_wait = "1s",
    max_queue = 1,
    name = "bulkhead.queue"
)]
async fn queued() -> Result<(), Error> {
    tokio::time::sleep(Duration::from_secs(5)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_and_a_wait_that_runs_out_are_told_apart() {
    let inside = tokio::spawn(queued());
    tokio::task::yield_now().await;
    let waiting = tokio::spawn(queued());
    tokio::task::yield_now().await;
    assert_eq!(queued().await, Err(Error::Full(FullReason::QueueFull)));
    assert_eq!(
        waiting.await.unwrap(),
        Err(Error::Full(FullReason::WaitedOut))
    );
    inside.await.unwrap().unwrap();
    let h = steadfast::bulkhead("bulkhead.queue").unwrap();
    assert_eq!((h.in_use(), h.queued()), (0, 0));
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "bulkhead::queued")
        .expect("a function with only a bulkhead has an entry");
    assert_eq!(
        m.bulkhead,
        Some(steadfast::metrics::BulkheadMetrics {
            name: "bulkhead.queue".into(),
            limit: 1,
            in_use: 0,
            queued: 0,
            admitted: 1,
            rejected_full: 0,
            rejected_queue_full: 1,
            rejected_waited_out: 1,
            keys: None,
        })
    );
    let text = steadfast::metrics::prometheus();
    for line in [
        "steadfast_bulkhead_in_use{bulkhead=\"bulkhead.queue\"} 0",
        "steadfast_bulkhead_rejections_total{bulkhead=\"bulkhead.queue\",reason=\"queue_full\"} 1",
        "steadfast_bulkhead_rejections_total{bulkhead=\"bulkhead.queue\",reason=\"waited_out\"} 1",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

#[bulkhead(max_concurrent = 1, max_wait = "1h", name = "bulkhead.cancel")]
async fn slow() -> Result<(), Error> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_call_cancelled_inside_or_while_waiting_gives_everything_back() {
    let h = || steadfast::bulkhead("bulkhead.cancel").unwrap();
    let inside = tokio::spawn(slow());
    tokio::task::yield_now().await;
    // Cancelled while waiting: its queue place is given back.
    assert!(
        tokio::time::timeout(Duration::from_secs(1), slow())
            .await
            .is_err()
    );
    assert_eq!((h().in_use(), h().queued()), (1, 0));
    // Cancelled while inside: its slot is given back.
    inside.abort();
    let _ = inside.await;
    assert_eq!((h().in_use(), h().queued()), (0, 0));
    assert!(
        tokio::time::timeout(Duration::from_secs(61), slow())
            .await
            .is_ok()
    );
}

#[bulkhead(max_concurrent = 2, name = "bulkhead.panics")]
fn panics() -> Result<(), Error> {
    panic!("inside the bulkhead")
}

#[test]
fn a_panic_inside_gives_the_slot_back() {
    for _ in 0..5 {
        assert!(std::panic::catch_unwind(panics).is_err());
    }
    assert_eq!(steadfast::bulkhead("bulkhead.panics").unwrap().in_use(), 0);
}

static GUARDED_RUNS: AtomicU32 = AtomicU32::new(0);

#[bulkhead(max_concurrent = 1, name = "bulkhead.guarded")]
fn hold(inside: &Barrier, leave: &Barrier) -> Result<(), Error> {
    inside.wait();
    leave.wait();
    Ok(())
}

#[retry(attempts = 3, delay = "1ms")]
#[circuit_breaker(name = "bulkhead.guarded", failure_threshold = 1)]
#[bulkhead(max_concurrent = 1, name = "bulkhead.guarded")]
fn guarded() -> Result<u32, Error> {
    Ok(GUARDED_RUNS.fetch_add(1, SeqCst) + 1)
}

#[test]
fn a_full_bulkhead_is_returned_at_once_by_a_retry_and_counts_for_nothing_in_a_breaker() {
    let (inside, leave) = (Barrier::new(2), Barrier::new(2));
    std::thread::scope(|s| {
        let holder = s.spawn(|| hold(&inside, &leave));
        inside.wait();
        for _ in 0..3 {
            assert_eq!(guarded(), Err(Error::Full(FullReason::Full)));
        }
        leave.wait();
        holder.join().unwrap().unwrap();
    });
    assert_eq!(GUARDED_RUNS.load(SeqCst), 0, "the body never ran");
    assert_eq!(
        steadfast::breaker("bulkhead.guarded").unwrap().state(),
        BreakerState::Closed,
        "with failure_threshold = 1, one counted failure would have opened it"
    );
    assert_eq!(guarded(), Ok(1));
    let h = steadfast::bulkhead("bulkhead.guarded").unwrap();
    assert_eq!(
        h.rejected(FullReason::Full),
        3,
        "one per call: the retry did not try again"
    );
}

#[bulkhead(max_concurrent = 1, key = tenant, max_keys = 3, name = "bulkhead.tenants")]
fn per_tenant(tenant: &str, inside: &Barrier, leave: &Barrier) -> Result<(), Error> {
    inside.wait();
    leave.wait();
    Ok(())
}

#[test]
fn each_key_has_its_own_slots_and_the_map_stays_bounded() {
    let h = || steadfast::bulkhead("bulkhead.tenants").unwrap();
    let lone = Barrier::new(1);
    // Two tenants inside at once: one slot each.
    let (inside, leave) = (Barrier::new(3), Barrier::new(3));
    std::thread::scope(|s| {
        let a = s.spawn(|| per_tenant("a", &inside, &leave));
        let b = s.spawn(|| per_tenant(&String::from("b"), &inside, &leave));
        inside.wait();
        assert_eq!((h().in_use(), h().limit(), h().keys()), (2, 1, Some(2)));
        // Tenant `a` is full; `c` still gets in.
        assert_eq!(
            per_tenant("a", &lone, &lone),
            Err(Error::Full(FullReason::Full))
        );
        assert_eq!(per_tenant("c", &lone, &lone), Ok(()));
        // Three keys kept, two of them busy: a fourth evicts the idle one (`c`).
        assert_eq!(per_tenant("d", &lone, &lone), Ok(()));
        assert_eq!(h().keys(), Some(3));
        leave.wait();
        assert_eq!(a.join().unwrap(), Ok(()));
        assert_eq!(b.join().unwrap(), Ok(()));
    });
    // A flood of keys never grows the map past `max_keys`.
    for i in 0..100 {
        assert_eq!(per_tenant(&format!("flood-{i}"), &lone, &lone), Ok(()));
    }
    assert!(
        h().keys().is_some_and(|k| (1..=3).contains(&k)),
        "{:?}",
        h().keys()
    );
    assert_eq!((h().in_use(), h().queued()), (0, 0));
    assert_eq!(h().rejected(FullReason::Full), 1);
}

#[test]
fn with_every_kept_key_busy_a_new_key_is_turned_away_not_let_in_unbounded() {
    let (inside, leave) = (Barrier::new(4), Barrier::new(4));
    std::thread::scope(|s| {
        let busy: Vec<_> = ["x", "y", "z"]
            .into_iter()
            .map(|k| {
                let (inside, leave) = (&inside, &leave);
                s.spawn(move || busy_tenant(k, inside, leave))
            })
            .collect();
        inside.wait();
        let lone = Barrier::new(1);
        assert_eq!(
            busy_tenant("w", &lone, &lone),
            Err(Error::Full(FullReason::Full))
        );
        leave.wait();
        for t in busy {
            assert_eq!(t.join().unwrap(), Ok(()));
        }
    });
    let lone = Barrier::new(1);
    assert_eq!(busy_tenant("w", &lone, &lone), Ok(()));
}

#[bulkhead(max_concurrent = 1, key = tenant, max_keys = 3)]
fn busy_tenant(tenant: &str, inside: &Barrier, leave: &Barrier) -> Result<(), Error> {
    inside.wait();
    leave.wait();
    Ok(())
}

#[bulkhead(max_concurrent = 1, max_wait = "1h", key = user, name = "bulkhead.users")]
async fn per_user(user: u64, hold: Duration) -> Result<u64, Error> {
    tokio::time::sleep(hold).await;
    Ok(user)
}

#[tokio::test(start_paused = true)]
async fn async_callers_of_one_key_wait_in_line_while_other_keys_pass() {
    let h = || steadfast::bulkhead("bulkhead.users").unwrap();
    let first = tokio::spawn(per_user(7, Duration::from_secs(10)));
    tokio::task::yield_now().await;
    let second = tokio::spawn(per_user(7, Duration::from_secs(10)));
    tokio::task::yield_now().await;
    assert_eq!((h().in_use(), h().queued()), (1, 1));
    // Another user is not held up by user 7's line.
    let started = tokio::time::Instant::now();
    assert_eq!(per_user(8, Duration::from_secs(1)).await, Ok(8));
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(first.await.unwrap(), Ok(7));
    assert_eq!(second.await.unwrap(), Ok(7));
    assert_eq!(started.elapsed(), Duration::from_secs(20));
    assert_eq!((h().in_use(), h().queued(), h().keys()), (0, 0, Some(2)));
}
