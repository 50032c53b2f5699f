//! loom explores every interleaving (up to a preemption bound) of 2–3 threads using one
//! breaker, and checks in each: at most `half_open_probes` admitted, exactly one
//! transition per trip, no probe slot lost.
//!
//! RUSTFLAGS="--cfg steadfast_loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p steadfast --lib --release loom

use std::time::Duration;

use loom::sync::Arc;
use loom::thread;

use super::core::{BreakerState, Config, Core};
use super::trip::TripPolicy;
use crate::clock::ManualClock;
use crate::error::Name;

const OPEN_FOR: Duration = Duration::from_secs(1);

fn breaker(threshold: u32, probes: u32) -> (Arc<Core<ManualClock>>, ManualClock) {
    let clock = ManualClock::default();
    let config = Config {
        trip: TripPolicy::Consecutive { threshold },
        open_for: OPEN_FOR,
        half_open_probes: probes,
    };
    (
        Arc::new(Core::with_clock(
            Name::shared("loom"),
            config,
            clock.clone(),
        )),
        clock,
    )
}

/// Opens the breaker and lets `open_for` pass, single-threaded.
fn ready_to_probe(core: &Core<ManualClock>, clock: &ManualClock, threshold: u32) {
    for _ in 0..threshold {
        core.try_acquire().expect("closed").failure();
    }
    assert_eq!(core.state(), BreakerState::Open);
    clock.advance(OPEN_FOR);
}

#[test]
fn racing_for_one_probe_admits_exactly_one() {
    loom::model(|| {
        let (core, clock) = breaker(1, 1);
        ready_to_probe(&core, &clock, 1);
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let core = core.clone();
                thread::spawn(move || {
                    // Keep the slot: the probe is still in flight when the other tries.
                    core.try_acquire().map(std::mem::forget).is_ok()
                })
            })
            .collect();
        let admitted = racers
            .into_iter()
            .map(|r| r.join().unwrap_or(false))
            .filter(|admitted| *admitted)
            .count();
        assert_eq!(admitted, 1);
        assert_eq!(core.state(), BreakerState::HalfOpen);
        assert_eq!(
            core.transitions(),
            2,
            "closed -> open, open -> half-open once"
        );
    });
}

#[test]
fn concurrent_failures_trip_exactly_once() {
    loom::model(|| {
        let (core, _clock) = breaker(2, 1);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let core = core.clone();
                thread::spawn(move || {
                    // Admitted while closed (or rejected once it opened), then fails.
                    if let Ok(permit) = core.try_acquire() {
                        permit.failure();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(core.state(), BreakerState::Open);
        assert_eq!(
            core.transitions(),
            1,
            "one open transition, however the failures interleave"
        );
    });
}

#[test]
fn a_released_probe_slot_is_never_lost() {
    loom::model(|| {
        let (core, clock) = breaker(1, 1);
        ready_to_probe(&core, &clock, 1);
        let probe = core.try_acquire().expect("the probe");
        let core2 = core.clone();
        // One thread gives its slot back (its call was cancelled) while another asks for one.
        let asker = thread::spawn(move || core2.try_acquire().map(std::mem::forget).is_ok());
        drop(probe);
        let got_it = asker.join().unwrap_or(false);
        if !got_it {
            // It asked before the release: the slot must be free now.
            assert!(
                core.try_acquire().map(std::mem::forget).is_ok(),
                "slot lost"
            );
        }
        assert_eq!(core.state(), BreakerState::HalfOpen);
    });
}

#[test]
fn a_probe_success_and_a_probe_failure_leave_one_consistent_state() {
    loom::model(|| {
        let (core, clock) = breaker(1, 2);
        ready_to_probe(&core, &clock, 1);
        let probes: Vec<_> = [true, false]
            .into_iter()
            .map(|succeed| {
                let core = core.clone();
                thread::spawn(move || {
                    if let Ok(permit) = core.try_acquire() {
                        if succeed {
                            permit.success()
                        } else {
                            permit.failure()
                        }
                    }
                })
            })
            .collect();
        for p in probes {
            p.join().unwrap();
        }
        // Both were admitted (two slots); whichever order they ended in, one failed probe
        // reopens, and a success that comes after it belongs to an old cycle.
        assert_eq!(core.state(), BreakerState::Open);
        assert_eq!(core.transitions(), 3, "closed -> open -> half-open -> open");
    });
}
