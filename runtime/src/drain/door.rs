//! The door a drain closes: the one pairing behind "no call is admitted unseen".
//!
//! A call has already counted itself in flight (any store to a counter the drain reads)
//! when it asks [`Door::admits`]; a drain reads the counters after [`Door::close`]. Both
//! pass a `SeqCst` fence between their store and their load, and the fences are totally
//! ordered: if the call's fence comes first, the drain's loads see its count; if the
//! drain's comes first, the call's load sees the door closed. The call pays one fence and
//! one load; a relaxed load alone could read the door open while the drain reads a count
//! from before the call.
//!
//! RUSTFLAGS="--cfg steadfast_loom" cargo test -p steadfast --lib --release loom

#[cfg(steadfast_loom)]
use loom::sync::atomic::{AtomicBool, fence};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
#[cfg(not(steadfast_loom))]
use std::sync::atomic::{AtomicBool, fence};

#[derive(Debug)]
pub(crate) struct Door {
    closed: AtomicBool,
}

impl Door {
    pub(crate) fn new() -> Door {
        Door {
            closed: AtomicBool::new(false),
        }
    }

    /// After the call counted itself in flight: whether the door is open.
    #[inline]
    pub(crate) fn admits(&self) -> bool {
        fence(SeqCst);
        !self.closed.load(Relaxed)
    }

    /// Closes the door; every count stored before an `admits` that saw it open is visible
    /// to the caller's loads after this returns.
    pub(crate) fn close(&self) {
        self.closed.store(true, Relaxed);
        fence(SeqCst);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }
}

#[cfg(all(test, steadfast_loom))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicU64;
    use loom::thread;
    use std::sync::atomic::Ordering::Relaxed;

    use super::Door;

    /// A call counts itself the way a `#[monitored]` call does on a thread that owns its
    /// shard (a plain load and store), then asks the door; a drain closes it and reads the
    /// count. Whatever the interleaving, a call let in is seen by the drain.
    #[test]
    fn a_call_let_in_is_seen_by_the_drain() {
        loom::model(|| {
            let door = Arc::new(Door::new());
            let calls = Arc::new(AtomicU64::new(0));
            let call = {
                let (door, calls) = (door.clone(), calls.clone());
                thread::spawn(move || {
                    calls.store(calls.load(Relaxed) + 1, Relaxed);
                    door.admits()
                })
            };
            door.close();
            let seen = calls.load(Relaxed);
            let admitted = call.join().unwrap();
            assert!(
                !admitted || seen == 1,
                "a call was let in after the drain read no call in flight"
            );
        });
    }

    /// Two calls on two threads and a drain: each call let in is counted by the drain.
    #[test]
    fn two_calls_let_in_are_both_seen() {
        loom::model(|| {
            let door = Arc::new(Door::new());
            let counts: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
            let calls: Vec<_> = (0..2)
                .map(|i| {
                    let (door, counts) = (door.clone(), counts.clone());
                    thread::spawn(move || {
                        counts[i].store(1, Relaxed);
                        door.admits()
                    })
                })
                .collect();
            door.close();
            let seen: Vec<u64> = counts.iter().map(|c| c.load(Relaxed)).collect();
            for (i, call) in calls.into_iter().enumerate() {
                let admitted = call.join().unwrap();
                assert!(!admitted || seen[i] == 1, "call {i} let in unseen");
            }
        });
    }

    /// What a drain reads of a function's calls: starts and ends (each call's shard),
    /// ends first, past an acquire fence that pairs with the release fence before each
    /// end (as `MonitorStats::read_into` and `MonitoredCall::record_latency` do). A call
    /// admitted before the door closed is running; another, turned away after, ends at
    /// once. Whatever the interleaving, a drain that reads none in flight never misses the
    /// one running: the turned-away call's end cannot hide it.
    #[test]
    fn a_turned_away_call_never_hides_a_running_one() {
        use loom::sync::atomic::fence;
        use std::sync::atomic::Ordering::{Acquire, Release};

        loom::model(|| {
            let door = Arc::new(Door::new());
            // Starts and ends of the running call (shard 0) and the other one (shard 1).
            let starts: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
            let ends: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
            // The running call started and was let in before the drain: it is in flight.
            starts[0].store(1, Relaxed);
            assert!(door.admits());
            let other = {
                let (door, starts, ends) = (door.clone(), starts.clone(), ends.clone());
                thread::spawn(move || {
                    starts[1].store(1, Relaxed);
                    let _admitted = door.admits();
                    // Turned away or not, it ends at once.
                    fence(Release);
                    ends[1].fetch_add(1, Relaxed);
                })
            };
            door.close();
            let ended: u64 = ends.iter().map(|e| e.load(Relaxed)).sum();
            fence(Acquire);
            let started: u64 = starts.iter().map(|s| s.load(Relaxed)).sum();
            other.join().unwrap();
            assert!(
                started.saturating_sub(ended) >= 1,
                "the drain read no call in flight while one runs"
            );
        });
    }
}
