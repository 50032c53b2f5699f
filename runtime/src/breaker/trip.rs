//! When a closed breaker opens: the three modes of `#[circuit_breaker]`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::clock::{Nanos, duration_nanos};
use crate::shard::{OWNED, SHARDS, owned_slot};

/// How a closed breaker decides to open, as configured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TripPolicy {
    /// `failure_threshold` consecutive failures.
    Consecutive {
        /// Failures in a row that open the breaker.
        threshold: u32,
    },
    /// `failure_threshold` failures within any `window`.
    Count {
        /// Failures that open the breaker.
        threshold: u32,
        /// The span they must fall within.
        window: Duration,
    },
    /// A failure rate of at least `rate` over the last `window`, once `minimum_calls`
    /// were seen in it.
    Rate {
        /// Failures / calls, in (0, 1].
        rate: f64,
        /// Calls the window must hold before the rate counts.
        minimum_calls: u32,
        /// The sliding window.
        window: Duration,
    },
}

impl TripPolicy {
    /// `failure_threshold` when not written.
    pub const DEFAULT_THRESHOLD: u32 = 5;
    /// `minimum_calls` when not written.
    pub const DEFAULT_MINIMUM_CALLS: u32 = 20;
    /// `window` of `failure_rate` when not written.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
}

/// The live counters of a [`TripPolicy`].
#[derive(Debug)]
pub(crate) enum Trip {
    /// Counted in the breaker's state word itself; the threshold can be retuned live.
    Consecutive {
        threshold: AtomicU32,
    },
    Count(CountWindow),
    Rate(RateWindow),
}

impl Trip {
    pub(crate) fn new(policy: TripPolicy) -> Trip {
        match policy {
            TripPolicy::Consecutive { threshold } => Trip::Consecutive {
                threshold: AtomicU32::new(threshold.max(1)),
            },
            TripPolicy::Count { threshold, window } => {
                Trip::Count(CountWindow::new(threshold.max(1), window))
            }
            TripPolicy::Rate {
                rate,
                minimum_calls,
                window,
            } => Trip::Rate(RateWindow::new(rate, minimum_calls, window)),
        }
    }

    /// The policy it counts by now.
    pub(crate) fn policy(&self) -> TripPolicy {
        match self {
            Trip::Consecutive { threshold } => TripPolicy::Consecutive {
                threshold: threshold.load(Relaxed),
            },
            Trip::Count(w) => TripPolicy::Count {
                threshold: w.ring.len() as u32 + 1,
                window: Duration::from_nanos(w.window),
            },
            Trip::Rate(w) => TripPolicy::Rate {
                rate: f64::from_bits(w.rate.load(Relaxed)),
                minimum_calls: w.minimum_calls.load(Relaxed) as u32,
                window: w.window,
            },
        }
    }

    /// Counts by `policy` from now on, keeping every count; an error (changing nothing)
    /// when that would mean throwing the counts away (see [`can_retune`]).
    pub(crate) fn retune(&self, policy: TripPolicy) -> Result<(), String> {
        can_retune(self.policy(), policy)?;
        match (self, policy) {
            (Trip::Consecutive { threshold }, TripPolicy::Consecutive { threshold: new }) => {
                threshold.store(new.max(1), Relaxed);
            }
            (
                Trip::Rate(w),
                TripPolicy::Rate {
                    rate,
                    minimum_calls,
                    ..
                },
            ) => {
                w.rate.store(clamp_rate(rate).to_bits(), Relaxed);
                w.minimum_calls
                    .store(u64::from(minimum_calls.max(1)), Relaxed);
            }
            _ => {}
        }
        Ok(())
    }

    /// Forget every count; called before the breaker is published as closed.
    pub(crate) fn clear(&self) {
        match self {
            Trip::Consecutive { .. } => {}
            Trip::Count(w) => w.clear(),
            Trip::Rate(w) => w.clear(),
        }
    }
}

/// Whether a breaker counting by `current` can count by `new` from now on without throwing
/// its counts away: the same mode, the same window, and within a window the same threshold
/// (it keeps each failure's time).
pub(crate) fn can_retune(current: TripPolicy, new: TripPolicy) -> Result<(), String> {
    match (current, new) {
        (TripPolicy::Consecutive { .. }, TripPolicy::Consecutive { .. }) => Ok(()),
        (TripPolicy::Count { .. }, TripPolicy::Count { .. }) if current == new => Ok(()),
        (TripPolicy::Count { .. }, TripPolicy::Count { .. }) => Err(
            "`failure_threshold` and `window` of a breaker counting failures within a window are fixed while it runs (it keeps each failure's time); they take effect at the next start".to_owned(),
        ),
        (TripPolicy::Rate { window: a, .. }, TripPolicy::Rate { window: b, .. }) if a == b => {
            Ok(())
        }
        (TripPolicy::Rate { .. }, TripPolicy::Rate { .. }) => Err(
            "`window` of a breaker opening on a failure rate is fixed while it runs; it takes effect at the next start".to_owned(),
        ),
        _ => Err(format!(
            "a breaker cannot change how it opens while it runs ({} now, {} asked); it takes effect at the next start",
            mode(&current),
            mode(&new)
        )),
    }
}

fn mode(policy: &TripPolicy) -> &'static str {
    match policy {
        TripPolicy::Consecutive { .. } => "consecutive failures",
        TripPolicy::Count { .. } => "failures within a window",
        TripPolicy::Rate { .. } => "a failure rate",
    }
}

fn clamp_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        1.0
    } else {
        rate.clamp(f64::MIN_POSITIVE, 1.0)
    }
}

/// `threshold` failures within any `window`, exactly: the breaker keeps the times of the
/// last `threshold - 1` failures in a ring, and a failure opens it when the one
/// `threshold - 1` failures back is no older than `window`.
#[derive(Debug)]
pub(crate) struct CountWindow {
    window: u64,
    /// Failure times + 1 (0 = empty slot).
    ring: Box<[AtomicU64]>,
    head: AtomicU64,
}

impl CountWindow {
    fn new(threshold: u32, window: Duration) -> Self {
        let slots = threshold.saturating_sub(1) as usize;
        CountWindow {
            window: duration_nanos(window),
            ring: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            head: AtomicU64::new(0),
        }
    }

    /// Records a failure at `now`; true when it makes `threshold` within the window.
    pub(crate) fn record_failure(&self, now: Nanos) -> bool {
        let slots = self.ring.len() as u64;
        if slots == 0 {
            return true; // threshold 1
        }
        let i = self.head.fetch_add(1, Relaxed);
        // The slot this failure takes held the failure `threshold - 1` failures ago.
        let oldest = self.ring[(i % slots) as usize].swap(now.0.saturating_add(1), Relaxed);
        oldest != 0 && now.0.saturating_sub(oldest - 1) <= self.window
    }

    fn clear(&self) {
        for slot in &*self.ring {
            slot.store(0, Relaxed);
        }
        self.head.store(0, Relaxed);
    }
}

/// Buckets of the sliding window of the failure-rate mode. The window slides one bucket
/// (a tenth of it) at a time.
pub(crate) const BUCKETS: usize = 10;

/// Calls and failures over a sliding window, in [`BUCKETS`] buckets. Each bucket counter
/// is one word, `epoch << 32 | count`, so a bucket that comes round again is reset by the
/// same write that counts in it. Every thread counts in its own cache-padded shard of the
/// buckets (see `crate::shard`): as the only writer of its shard it counts with a plain
/// load and store; threads beyond the owned slots share the last shard and count with a
/// compare-and-swap. The rate is read over every shard.
#[derive(Debug)]
pub(crate) struct RateWindow {
    /// The rate's `f64` bits: retuned live.
    rate: AtomicU64,
    minimum_calls: AtomicU64,
    window: Duration,
    bucket_len: u64,
    shards: Box<[CachePadded<Buckets>; SHARDS]>,
}

#[derive(Debug, Default)]
struct Buckets {
    calls: [AtomicU64; BUCKETS],
    failures: [AtomicU64; BUCKETS],
}

impl RateWindow {
    fn new(rate: f64, minimum_calls: u32, window: Duration) -> Self {
        RateWindow {
            rate: AtomicU64::new(clamp_rate(rate).to_bits()),
            minimum_calls: AtomicU64::new(u64::from(minimum_calls.max(1))),
            window,
            bucket_len: (duration_nanos(window) / BUCKETS as u64).max(1),
            shards: Box::default(),
        }
    }

    fn epoch(&self, now: Nanos) -> u32 {
        (now.0 / self.bucket_len) as u32
    }

    /// Records one call's outcome at `now`; true when the rate now calls for opening.
    pub(crate) fn record(&self, now: Nanos, failed: bool) -> bool {
        let epoch = self.epoch(now);
        let i = epoch as usize % BUCKETS;
        let slot = owned_slot();
        let shard = &self.shards[slot.unwrap_or(OWNED)];
        bump(&shard.calls[i], epoch, slot.is_some());
        if !failed {
            return false;
        }
        bump(&shard.failures[i], epoch, slot.is_some());
        let (mut calls, mut failures) = (0, 0);
        for shard in self.shards.iter() {
            calls += total(&shard.calls, epoch);
            failures += total(&shard.failures, epoch);
        }
        calls >= self.minimum_calls.load(Relaxed)
            && failures as f64 >= f64::from_bits(self.rate.load(Relaxed)) * calls as f64
    }

    fn clear(&self) {
        for shard in self.shards.iter() {
            for slot in shard.calls.iter().chain(&shard.failures) {
                slot.store(0, Relaxed);
            }
        }
    }
}

/// Counts one in `slot` for `epoch`; `owned`: this thread is the slot's only writer.
fn bump(slot: &AtomicU64, epoch: u32, owned: bool) {
    let mut word = slot.load(Relaxed);
    if owned {
        let next = if (word >> 32) as u32 == epoch {
            if (word as u32) >= u32::MAX - 1024 {
                return;
            }
            word + 1
        } else {
            (u64::from(epoch) << 32) | 1
        };
        return slot.store(next, Relaxed);
    }
    loop {
        if (word >> 32) as u32 == epoch {
            if (word as u32) < u32::MAX - 1024 {
                slot.fetch_add(1, Relaxed);
            }
            return;
        }
        match slot.compare_exchange_weak(word, (u64::from(epoch) << 32) | 1, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(current) => word = current,
        }
    }
}

fn total(slots: &[AtomicU64; BUCKETS], epoch: u32) -> u64 {
    slots
        .iter()
        .map(|slot| slot.load(Relaxed))
        .filter(|word| epoch.wrapping_sub((word >> 32) as u32) < BUCKETS as u32 && *word != 0)
        .map(|word| u64::from(word as u32))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn count_window_opens_on_threshold_failures_within_the_window() {
        let w = CountWindow::new(3, Duration::from_secs(60));
        assert!(!w.record_failure(Nanos(0)));
        assert!(!w.record_failure(Nanos(30 * S)));
        assert!(w.record_failure(Nanos(60 * S)), "3 failures within 60s");
    }

    #[test]
    fn count_window_ignores_failures_older_than_the_window() {
        let w = CountWindow::new(3, Duration::from_secs(60));
        assert!(!w.record_failure(Nanos(0)));
        assert!(!w.record_failure(Nanos(50 * S)));
        assert!(!w.record_failure(Nanos(61 * S)), "first one fell out");
        assert!(w.record_failure(Nanos(70 * S)), "50, 61, 70 are within 60s");
    }

    #[test]
    fn count_window_clear_forgets() {
        let w = CountWindow::new(2, Duration::from_secs(60));
        assert!(!w.record_failure(Nanos(S)));
        w.clear();
        assert!(!w.record_failure(Nanos(2 * S)));
        assert!(w.record_failure(Nanos(3 * S)));
    }

    #[test]
    fn rate_needs_minimum_calls_then_the_rate() {
        let w = RateWindow::new(0.5, 4, Duration::from_secs(10));
        assert!(!w.record(Nanos(0), true), "1 call is below minimum_calls");
        assert!(!w.record(Nanos(S), false));
        assert!(!w.record(Nanos(2 * S), false));
        // 4 calls, 2 failures: 50%.
        assert!(w.record(Nanos(3 * S), true));
    }

    #[test]
    fn rate_window_slides() {
        let w = RateWindow::new(0.5, 2, Duration::from_secs(10));
        for i in 0..5 {
            assert!(!w.record(Nanos(i * S / 10), false));
        }
        // 5 successes then 5 failures: at the 5th failure the rate is exactly 50%.
        for i in 0..4 {
            assert!(!w.record(Nanos(S + i), true));
        }
        assert!(w.record(Nanos(S + 5), true));
        // 20 s later the window is empty again: one failure is below minimum_calls.
        assert!(!w.record(Nanos(21 * S), true));
        // ... and two make 100%.
        assert!(w.record(Nanos(21 * S + 1), true));
    }

    #[test]
    fn huge_windows_and_times_do_not_overflow() {
        let w = CountWindow::new(2, Duration::MAX);
        assert!(!w.record_failure(Nanos(u64::MAX - 1)));
        assert!(w.record_failure(Nanos(u64::MAX)));
        let r = RateWindow::new(1.0, 1, Duration::MAX);
        assert!(r.record(Nanos(u64::MAX), true));
    }
}
