//! What `#[monitored]` records per function, without a lock and without two threads
//! writing the same cache line: each thread writes its own shard of the function's counters
//! (see `shard`), each shard cache-padded with a histogram of its own.
//!
//! Per call: one plain add when it starts (calls), and when it ends one atomic add to its
//! latency bucket and one plain add to the latency sum, plus two clock reads. In flight =
//! calls − calls ended (the histogram's count); errors and cancellations are counted on
//! their paths only.

use std::sync::OnceLock;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64, fence};

use crossbeam_utils::CachePadded;
use histogram::AtomicHistogram;

use crate::clock::{Clock, SystemClock};
use crate::figures::{self, Figures, Function, Part};
use crate::observe::FunctionRecorder;
use crate::shard::{OWNED, SHARDS, add, owned_slot};

/// Buckets per power of two: 16, so a bucket is at most 1/16 of its value wide and a
/// quantile read at the bucket's middle is within about 3 %.
const GROUPING_POWER: u8 = 4;
/// Latencies up to 2^40 ns (about 18 minutes); longer ones land in the last bucket.
const MAX_VALUE_POWER: u8 = 40;

#[derive(Debug)]
struct Shard {
    calls: AtomicU64,
    errors: AtomicU64,
    rejected: AtomicU64,
    /// Calls a drain turned away: each took its start back (see `end_turned_away`).
    turned_away: AtomicU64,
    cancelled: AtomicU64,
    latency_sum_nanos: AtomicU64,
    latency: AtomicHistogram,
}

impl Shard {
    fn new() -> Self {
        Shard {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            turned_away: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            latency_sum_nanos: AtomicU64::new(0),
            latency: AtomicHistogram::new(GROUPING_POWER, MAX_VALUE_POWER)
                .unwrap_or_else(|_| unreachable_config()),
        }
    }
}

#[cold]
fn unreachable_config() -> AtomicHistogram {
    // GROUPING_POWER < MAX_VALUE_POWER <= 64: the crate accepts it. Should a future
    // version not, fall back to the coarsest valid shape rather than fail.
    AtomicHistogram::new(1, 64).unwrap_or_else(|_| std::process::abort())
}

/// The `static` behind one `#[monitored]` function.
#[derive(Debug)]
pub struct MonitorStats {
    function: &'static Function,
    shards: [OnceLock<Box<CachePadded<Shard>>>; SHARDS],
    listed: AtomicBool,
    recorder: OnceLock<FunctionRecorder>,
    /// Async `drain = "cancel"` calls dropped at a drain's deadline.
    drain_cancelled: AtomicU64,
}

impl MonitorStats {
    /// Counters for `function`, all zero.
    pub const fn new(function: &'static Function) -> Self {
        MonitorStats {
            function,
            shards: [const { OnceLock::new() }; SHARDS],
            listed: AtomicBool::new(false),
            recorder: OnceLock::new(),
            drain_cancelled: AtomicU64::new(0),
        }
    }

    /// What the recorders keep of this function (handles taken once).
    #[inline]
    fn recorder(&'static self) -> &'static FunctionRecorder {
        FunctionRecorder::get(&self.recorder, || self.function.name())
    }

    /// This thread's shard, and whether the thread is its only writer.
    #[inline]
    fn shard(&'static self) -> (&'static Shard, bool) {
        let slot = owned_slot();
        let shard = self.shards[slot.unwrap_or(OWNED)].get_or_init(|| {
            self.list();
            Box::new(CachePadded::new(Shard::new()))
        });
        (shard, slot.is_some())
    }

    #[cold]
    fn list(&'static self) {
        if !self.listed.swap(true, Relaxed) {
            figures::join(self.function, self);
        }
    }

    /// A `drain = "cancel"` call was dropped at a drain's deadline.
    #[cold]
    pub(crate) fn cancelled_by_drain(&self) {
        self.drain_cancelled.fetch_add(1, Relaxed);
    }

    /// A call starts.
    #[inline]
    pub fn start(&'static self) -> MonitoredCall {
        let (shard, owned) = self.shard();
        add(&shard.calls, owned, 1);
        self.recorder().started();
        MonitoredCall {
            stats: self,
            started: SystemClock.raw(),
            done: false,
        }
    }
}

/// Functions given one name share one set of figures: each adds its own.
///
/// The ends (the histograms) are read before the starts, past an acquire fence that pairs
/// with the release fence before each end's increment: every call whose end is read has
/// its start read too, so in flight (starts − ends) is never under the truth. Read the
/// other way round, the end of a call turned away by a drain, started after its start was
/// read, could hide a call still running (a drain would then return while it runs).
impl Part for MonitorStats {
    fn read_into(&self, into: &mut Figures) {
        into.monitored = true;
        into.drain_cancelled += self.drain_cancelled.load(Relaxed);
        for shard in self.shards.iter().filter_map(OnceLock::get) {
            let loaded = shard.latency.load();
            into.histogram = Some(match into.histogram.take() {
                None => loaded,
                Some(m) => m.wrapping_add(&loaded).unwrap_or(m),
            });
        }
        fence(Acquire);
        for shard in self.shards.iter().filter_map(OnceLock::get) {
            // A call turned away by a drain is a call, an error and a rejection that
            // ended at once; its own start was taken back, so it never is in flight.
            let turned_away = shard.turned_away.load(Relaxed);
            into.calls += shard.calls.load(Relaxed) + turned_away;
            into.turned_away += turned_away;
            into.errors += shard.errors.load(Relaxed) + turned_away;
            into.rejected += shard.rejected.load(Relaxed) + turned_away;
            into.cancelled += shard.cancelled.load(Relaxed);
            into.latency_sum_nanos = into
                .latency_sum_nanos
                .saturating_add(shard.latency_sum_nanos.load(Relaxed));
        }
    }
}

/// One call of a `#[monitored]` function, from start to end. Dropped without an outcome
/// it counts as an error if the thread is panicking and as cancelled otherwise; either way
/// its latency is recorded and it is no longer in flight.
#[must_use]
#[derive(Debug)]
pub struct MonitoredCall {
    stats: &'static MonitorStats,
    /// A raw clock reading, scaled only once, at the end.
    started: u64,
    done: bool,
}

impl MonitoredCall {
    /// The call ended, in success or not.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn end(mut self, failed: bool) {
        self.done = true;
        // The end is counted in the shard of the thread it ends on (an async call can move
        // between threads): that thread is the one allowed to write it.
        let (shard, owned) = self.stats.shard();
        if failed {
            add(&shard.errors, owned, 1);
            self.stats.recorder().failed();
        }
        self.record_latency(shard, owned);
    }

    /// The call was turned away by a gate below (an `Err` it did not make): an error of
    /// the function, counted apart as a rejection.
    #[cold]
    pub fn end_rejected(mut self) {
        self.done = true;
        let (shard, owned) = self.stats.shard();
        add(&shard.errors, owned, 1);
        add(&shard.rejected, owned, 1);
        self.stats.recorder().failed();
        self.record_latency(shard, owned);
    }

    /// The call was turned away by a drain before its body ran. It takes its start back
    /// (it counted itself in flight only so that the drain could not miss it) and counts
    /// as turned away: so calls turned away one after the other never keep a drain from
    /// seeing that nothing runs any more, as a start and an end read at two moments
    /// would.
    #[cold]
    pub(crate) fn end_turned_away(mut self) {
        self.done = true;
        // The shard it started on: turned away on the thread it started on, in one step.
        let (shard, owned) = self.stats.shard();
        add(&shard.calls, owned, u64::MAX);
        add(&shard.turned_away, owned, 1);
        let recorder = self.stats.recorder();
        recorder.failed();
        recorder.ended(0);
    }

    #[inline]
    fn record_latency(&self, shard: &Shard, owned: bool) {
        let nanos = SystemClock.raw_delta_nanos(self.started, SystemClock.raw());
        // Pairs with the acquire fence of `read_into`: whoever reads this end reads the
        // call's start too. A compiler barrier on x86, one `dmb` on ARM.
        fence(Release);
        let _ = shard
            .latency
            .increment(nanos.min((1 << MAX_VALUE_POWER) - 1));
        add(&shard.latency_sum_nanos, owned, nanos);
        self.stats.recorder().ended(nanos);
    }

    /// The function's name.
    pub fn name(&self) -> &'static str {
        self.stats.function.name()
    }
}

impl Drop for MonitoredCall {
    #[inline]
    fn drop(&mut self) {
        if !self.done {
            self.unfinished();
        }
    }
}

impl MonitoredCall {
    #[cold]
    fn unfinished(&self) {
        let (shard, owned) = self.stats.shard();
        if std::thread::panicking() {
            add(&shard.errors, owned, 1);
            self.stats.recorder().failed();
        } else {
            add(&shard.cancelled, owned, 1);
        }
        self.record_latency(shard, owned);
    }
}
