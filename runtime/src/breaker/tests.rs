//! The state machine under a clock that moves only when told to.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use super::core::{BreakerState, Config, Core};
use super::keyed::KeyedBreakers;
use super::registry::BreakerSpec;
use super::trip::TripPolicy;
use crate::clock::ManualClock;
use crate::error::Name;

const OPEN_FOR: Duration = Duration::from_secs(30);

fn breaker(trip: TripPolicy, probes: u32) -> (Core<ManualClock>, ManualClock) {
    let clock = ManualClock::default();
    let config = Config {
        trip,
        open_for: OPEN_FOR,
        half_open_probes: probes,
    };
    (
        Core::with_clock(Name::shared("test"), config, clock.clone()),
        clock,
    )
}

fn consecutive(threshold: u32, probes: u32) -> (Core<ManualClock>, ManualClock) {
    breaker(TripPolicy::Consecutive { threshold }, probes)
}

fn fail<C: crate::clock::Clock>(core: &Core<C>, times: usize) {
    for _ in 0..times {
        core.try_acquire().expect("admitted").failure();
    }
}

fn open_breaker() -> (Core<ManualClock>, ManualClock) {
    let (core, clock) = consecutive(1, 1);
    fail(&core, 1);
    assert_eq!(core.state(), BreakerState::Open);
    (core, clock)
}

#[test]
fn consecutive_failures_open_and_a_success_restarts_the_count() {
    let (core, _) = consecutive(3, 1);
    fail(&core, 2);
    core.try_acquire().unwrap().success();
    fail(&core, 2);
    assert_eq!(core.state(), BreakerState::Closed, "the run was broken");
    fail(&core, 1);
    assert_eq!(core.state(), BreakerState::Open);
}

/// A process-wide clock whose recent time lags `LAG_NANOS` behind its precise time, as
/// `SystemClock`'s does when its upkeep thread is held up on a busy machine.
#[derive(Debug, Clone, Copy)]
struct LaggingClock;

static LAGGING_NOW: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 40);
static LAG_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl crate::clock::Clock for LaggingClock {
    fn now(&self) -> crate::clock::Nanos {
        crate::clock::Nanos(LAGGING_NOW.load(Ordering::SeqCst))
    }

    fn recent(&self) -> Option<crate::clock::Nanos> {
        let now = LAGGING_NOW.load(Ordering::SeqCst);
        Some(crate::clock::Nanos(now - LAG_NANOS.load(Ordering::SeqCst)))
    }

    fn precise(&self) -> fn() -> crate::clock::Nanos {
        || crate::clock::Nanos(LAGGING_NOW.load(Ordering::SeqCst))
    }
}

/// Found by a test that opened a 200 ms breaker among others on 2 busy cores: decided from
/// a recent time that lagged, `retry_after()` said more than was left of `open_for`, and
/// more than `open_for` itself right after opening.
#[test]
fn retry_after_never_exceeds_the_time_really_left_when_the_recent_time_lags() {
    let advance = |d: Duration| {
        LAGGING_NOW.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    };
    let open_for = Duration::from_millis(200);
    let config = Config {
        trip: TripPolicy::Consecutive { threshold: 1 },
        open_for,
        half_open_probes: 1,
    };
    let core = Core::with_clock(Name::shared("lagging"), config, LaggingClock);
    // The recent time is 50 ms behind when the breaker opens.
    LAG_NANOS.store(50_000_000, Ordering::SeqCst);
    fail(&core, 1);
    assert_eq!(core.state(), BreakerState::Open);
    let at_once = core.try_acquire().expect_err("open");
    assert!(
        at_once.retry_after() <= open_for,
        "right after opening: {:?} > open_for {open_for:?}",
        at_once.retry_after()
    );
    assert_eq!(at_once.retry_after(), open_for, "no time has passed");
    advance(Duration::from_millis(120));
    let later = core.try_acquire().expect_err("still open");
    assert_eq!(
        later.retry_after(),
        Duration::from_millis(80),
        "exactly what is left"
    );
    // Read later, it is what is left then, never more.
    advance(Duration::from_millis(30));
    assert_eq!(later.retry_after(), Duration::from_millis(50));
    assert!(later.to_string().contains("retry in 50ms"), "{later}");
}

#[test]
fn closed_success_writes_nothing_when_nothing_changes() {
    let (core, _) = consecutive(3, 1);
    let before = core.word();
    for _ in 0..100 {
        core.try_acquire().unwrap().success();
    }
    assert_eq!(core.word(), before);
}

#[test]
fn open_rejects_until_open_for_has_passed_then_admits_one_probe() {
    let (core, clock) = open_breaker();
    clock.advance(OPEN_FOR - Duration::from_millis(1));
    let err = core.try_acquire().expect_err("still open at 29.999s");
    assert_eq!(err.retry_after(), Duration::from_millis(1));
    assert_eq!(err.name(), "test");
    clock.advance(Duration::from_millis(1));
    let probe = core.try_acquire().expect("admitted at 30s");
    assert_eq!(core.state(), BreakerState::HalfOpen);
    let busy = core.try_acquire().expect_err("one probe only");
    assert_eq!(busy.retry_after(), Duration::ZERO);
    probe.success();
    assert_eq!(core.state(), BreakerState::Closed);
    core.try_acquire().unwrap().success();
}

#[test]
fn a_failed_probe_reopens_for_a_full_open_for() {
    let (core, clock) = open_breaker();
    clock.advance(OPEN_FOR);
    core.try_acquire().unwrap().failure();
    assert_eq!(core.state(), BreakerState::Open);
    clock.advance(OPEN_FOR - Duration::from_nanos(1));
    assert!(core.try_acquire().is_err());
    clock.advance(Duration::from_nanos(1));
    assert!(core.try_acquire().is_ok());
}

#[test]
fn half_open_admits_exactly_the_probes_in_all_and_needs_all_to_succeed() {
    let (core, clock) = consecutive(1, 3);
    fail(&core, 1);
    clock.advance(OPEN_FOR);
    let first = core.try_acquire().unwrap();
    let second = core.try_acquire().unwrap();
    let third = core.try_acquire().unwrap();
    assert!(core.try_acquire().is_err(), "a fourth is rejected");
    first.success();
    assert!(
        core.try_acquire().is_err(),
        "probes count in all, not at once"
    );
    second.success();
    assert_eq!(core.state(), BreakerState::HalfOpen);
    third.success();
    assert_eq!(core.state(), BreakerState::Closed);
}

#[test]
fn one_failed_probe_reopens_even_after_successes() {
    let (core, clock) = consecutive(1, 3);
    fail(&core, 1);
    clock.advance(OPEN_FOR);
    let a = core.try_acquire().unwrap();
    let b = core.try_acquire().unwrap();
    a.success();
    b.failure();
    assert_eq!(core.state(), BreakerState::Open);
}

#[test]
fn threads_racing_for_probes_get_exactly_that_many() {
    for probes in [1, 5] {
        let (core, clock) = consecutive(1, probes);
        fail(&core, 1);
        clock.advance(OPEN_FOR);
        let threads = 64;
        let barrier = Barrier::new(threads);
        let admitted = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    barrier.wait();
                    if let Ok(permit) = core.try_acquire() {
                        admitted.fetch_add(1, Ordering::SeqCst);
                        // Hold the slot until every thread has tried.
                        std::mem::forget(permit);
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::SeqCst), probes as usize);
    }
}

#[test]
fn a_dropped_probe_gives_its_slot_back_and_records_nothing() {
    let (core, clock) = open_breaker();
    clock.advance(OPEN_FOR);
    let probe = core.try_acquire().unwrap();
    drop(probe); // e.g. its future was cancelled
    assert_eq!(core.state(), BreakerState::HalfOpen);
    let probe = core.try_acquire().expect("the slot is free again");
    probe.success();
    assert_eq!(core.state(), BreakerState::Closed);
}

#[test]
fn an_ignored_error_in_a_probe_gives_its_slot_back() {
    let (core, clock) = open_breaker();
    clock.advance(OPEN_FOR);
    core.try_acquire().unwrap().ignore();
    assert_eq!(core.state(), BreakerState::HalfOpen);
    core.try_acquire().unwrap().success();
    assert_eq!(core.state(), BreakerState::Closed);
}

#[test]
fn dropped_closed_calls_record_nothing() {
    let (core, _) = consecutive(2, 1);
    fail(&core, 1);
    let before = core.word();
    for _ in 0..1000 {
        drop(core.try_acquire().unwrap());
    }
    assert_eq!(core.word(), before);
}

#[test]
fn a_stale_result_from_an_earlier_cycle_changes_nothing() {
    let (core, clock) = consecutive(1, 1);
    let slow_failure = core.try_acquire().unwrap();
    let slow_success = core.try_acquire().unwrap();
    fail(&core, 1); // opens
    clock.advance(OPEN_FOR);
    let probe = core.try_acquire().unwrap(); // half-open
    slow_failure.failure();
    slow_success.success();
    assert_eq!(
        core.state(),
        BreakerState::HalfOpen,
        "stale outcomes ignored"
    );
    probe.success();
    assert_eq!(core.state(), BreakerState::Closed);
    let stale = {
        let (core2, _) = consecutive(1, 1);
        let p = core2.try_acquire().unwrap();
        core2.reset();
        p.failure();
        core2.state()
    };
    assert_eq!(
        stale,
        BreakerState::Closed,
        "a reset starts a new cycle too"
    );
}

#[test]
fn a_panic_counts_as_a_failure() {
    let (core, _) = consecutive(1, 1);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _permit = core.try_acquire().unwrap();
        panic!("body panicked");
    }));
    assert!(result.is_err());
    assert_eq!(core.state(), BreakerState::Open);
}

#[test]
fn a_panicking_probe_reopens_and_does_not_wedge() {
    let (core, clock) = open_breaker();
    clock.advance(OPEN_FOR);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _permit = core.try_acquire().unwrap();
        panic!("probe panicked");
    }));
    assert_eq!(core.state(), BreakerState::Open);
    clock.advance(OPEN_FOR);
    core.try_acquire().unwrap().success();
    assert_eq!(core.state(), BreakerState::Closed);
}

#[test]
fn count_in_window_mode_opens_on_n_failures_within_the_window_only() {
    let (core, clock) = breaker(
        TripPolicy::Count {
            threshold: 3,
            window: Duration::from_secs(60),
        },
        1,
    );
    fail(&core, 1);
    clock.advance(Duration::from_secs(40));
    core.try_acquire().unwrap().success(); // not consecutive: successes don't matter
    fail(&core, 1);
    clock.advance(Duration::from_secs(21)); // the first failure is now 61 s old
    fail(&core, 1);
    assert_eq!(core.state(), BreakerState::Closed);
    fail(&core, 1); // 40 s, 61 s, 61 s
    assert_eq!(core.state(), BreakerState::Open);
    // After a probe closes it, the old failures are forgotten.
    clock.advance(OPEN_FOR);
    core.try_acquire().unwrap().success();
    fail(&core, 2);
    assert_eq!(core.state(), BreakerState::Closed);
}

#[test]
fn rate_mode_waits_for_minimum_calls_then_opens_at_the_rate() {
    let (core, clock) = breaker(
        TripPolicy::Rate {
            rate: 0.5,
            minimum_calls: 10,
            window: Duration::from_secs(60),
        },
        1,
    );
    fail(&core, 5);
    assert_eq!(core.state(), BreakerState::Closed, "below minimum_calls");
    for _ in 0..4 {
        core.try_acquire().unwrap().success();
    }
    fail(&core, 1); // 10 calls, 6 failures
    assert_eq!(core.state(), BreakerState::Open);
    clock.advance(OPEN_FOR);
    core.try_acquire().unwrap().success();
    assert_eq!(core.state(), BreakerState::Closed);
    fail(&core, 9);
    assert_eq!(
        core.state(),
        BreakerState::Closed,
        "counts were cleared on closing"
    );
}

#[test]
fn force_open_rejects_until_reset() {
    let (core, clock) = consecutive(5, 1);
    core.force_open();
    assert_eq!(core.state(), BreakerState::Open);
    clock.advance(Duration::from_secs(3600));
    let err = core
        .try_acquire()
        .expect_err("forced open does not time out");
    assert_eq!(err.retry_after(), Duration::MAX);
    core.reset();
    assert_eq!(core.state(), BreakerState::Closed);
    core.try_acquire().unwrap().success();
}

#[test]
fn reset_clears_the_failure_run() {
    let (core, _) = consecutive(2, 1);
    fail(&core, 1);
    core.reset();
    fail(&core, 1);
    assert_eq!(core.state(), BreakerState::Closed);
}

#[test]
fn a_failure_storm_opens_exactly_once() {
    let (core, _) = consecutive(5, 1);
    let permits: Vec<_> = (0..1000).map(|_| core.try_acquire().unwrap()).collect();
    let before = core.word().generation();
    std::thread::scope(|s| {
        let mut permits = permits;
        while !permits.is_empty() {
            let batch: Vec<_> = permits.drain(..permits.len().min(250)).collect();
            s.spawn(move || batch.into_iter().for_each(|p| p.failure()));
        }
    });
    assert_eq!(core.state(), BreakerState::Open);
    assert_eq!(
        core.word().generation(),
        before.wrapping_add(1),
        "one transition"
    );
}

fn keyed(capacity: usize) -> KeyedBreakers {
    let spec = BreakerSpec {
        name: "fleet",
        named: false,
        critical: false,
        config: Config {
            trip: TripPolicy::Consecutive { threshold: 1 },
            ..Config::default()
        },
    };
    KeyedBreakers::new(spec, capacity, false)
}

#[test]
fn keyed_breakers_are_per_key_and_found_by_borrowed_keys() {
    let fleet = keyed(16);
    fail(&fleet.get("db-1"), 1);
    assert_eq!(fleet.get(&String::from("db-1")).state(), BreakerState::Open);
    assert_eq!(fleet.get("db-2").state(), BreakerState::Closed);
    assert_eq!(fleet.get("db-1").name(), "fleet[\"db-1\"]");
    assert_eq!(fleet.len(), 2);
}

#[test]
fn keyed_breakers_stay_within_capacity_and_keep_open_ones() {
    let fleet = keyed(64);
    for host in 0..10u32 {
        fail(&fleet.get(&host), 1); // hosts 0..10 are open
    }
    for host in 10..100_000u32 {
        fleet.get(&host).try_acquire().unwrap().success();
        assert!(fleet.len() <= 64);
    }
    for host in 0..10u32 {
        assert_eq!(fleet.get(&host).state(), BreakerState::Open, "host {host}");
    }
}

#[test]
fn keyed_breakers_in_use_are_not_evicted() {
    let fleet = keyed(4);
    let held: Vec<Arc<_>> = (0..4u8).map(|k| fleet.get(&k)).collect();
    let extra = fleet.get(&99u8);
    assert_eq!(
        fleet.len(),
        4,
        "the extra key runs under a breaker that is not kept"
    );
    assert!(extra.try_acquire().is_ok());
    drop(held);
    fleet.get(&100u8);
    assert!(fleet.len() <= 4);
}

#[test]
fn a_probe_that_never_ends_does_not_wedge_the_breaker() {
    let (core, clock) = open_breaker();
    clock.advance(OPEN_FOR);
    let lost = core.try_acquire().unwrap(); // its future leaks: it never reports
    clock.advance(OPEN_FOR - Duration::from_millis(1));
    assert!(
        core.try_acquire().is_err(),
        "still within the probe's lease"
    );
    clock.advance(Duration::from_millis(1));
    let fresh = core.try_acquire().expect("the lease ran out: a new probe");
    assert_eq!(core.state(), BreakerState::HalfOpen);
    lost.failure(); // late, from the old cycle: ignored
    assert_eq!(core.state(), BreakerState::HalfOpen);
    fresh.success();
    assert_eq!(core.state(), BreakerState::Closed);
}
