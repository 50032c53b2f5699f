//! What `#[monitored]` records per function, without a lock and without two threads
//! writing the same cache line: each thread writes its own shard of the function's counters
//! (see `shard`), each shard cache-padded with a histogram of its own.
//!
//! Per call: one plain add when it starts (calls), and when it ends one atomic add to its
//! latency bucket and one plain add to the latency sum, plus two clock reads. In flight =
//! calls − calls ended (the histogram's count); errors and cancellations are counted on
//! their paths only.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use histogram::{AtomicHistogram, Histogram};

use crate::clock::{Clock, SystemClock, duration_nanos};
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
    cancelled: AtomicU64,
    latency_sum_nanos: AtomicU64,
    latency: AtomicHistogram,
}

impl Shard {
    fn new() -> Self {
        Shard {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
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
    name: &'static str,
    shards: [OnceLock<Box<CachePadded<Shard>>>; SHARDS],
    listed: AtomicBool,
    #[cfg(feature = "metrics")]
    facade: OnceLock<crate::facade::FunctionHandles>,
}

static MONITORED: Mutex<Vec<&'static MonitorStats>> = Mutex::new(Vec::new());

impl MonitorStats {
    /// Counters for the function called `name`, all zero.
    pub const fn new(name: &'static str) -> Self {
        MonitorStats {
            name,
            shards: [const { OnceLock::new() }; SHARDS],
            listed: AtomicBool::new(false),
            #[cfg(feature = "metrics")]
            facade: OnceLock::new(),
        }
    }

    #[cfg(feature = "metrics")]
    fn facade(&'static self) -> &'static crate::facade::FunctionHandles {
        crate::facade::FunctionHandles::get(&self.facade, self.name)
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
            MONITORED
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(self);
        }
    }

    /// A call starts.
    #[inline]
    pub fn start(&'static self) -> MonitoredCall {
        let (shard, owned) = self.shard();
        add(&shard.calls, owned, 1);
        #[cfg(feature = "metrics")]
        {
            let facade = self.facade();
            facade.calls.increment(1);
            facade.in_flight.increment(1.0);
        }
        MonitoredCall {
            stats: self,
            started: SystemClock.raw(),
            done: false,
        }
    }

    fn snapshot(&self) -> FunctionMetrics {
        let mut calls = 0;
        let mut errors = 0;
        let mut cancelled = 0;
        let mut sum = 0u64;
        let mut merged: Option<Histogram> = None;
        for shard in self.shards.iter().filter_map(OnceLock::get) {
            calls += shard.calls.load(Relaxed);
            errors += shard.errors.load(Relaxed);
            cancelled += shard.cancelled.load(Relaxed);
            sum = sum.saturating_add(shard.latency_sum_nanos.load(Relaxed));
            let loaded = shard.latency.load();
            merged = Some(match merged {
                None => loaded,
                Some(m) => m.wrapping_add(&loaded).unwrap_or(m),
            });
        }
        let ended: u64 = merged
            .as_ref()
            .map_or(0, |h| h.into_iter().map(|b| b.count()).sum());
        FunctionMetrics {
            name: self.name.to_owned(),
            calls,
            successes: ended.saturating_sub(errors).saturating_sub(cancelled),
            errors,
            in_flight: calls.saturating_sub(ended),
            latency: Latency::of(merged.as_ref()),
            cancelled,
            latency_sum: Duration::from_nanos(sum),
            histogram: merged,
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
    #[inline]
    pub fn end(mut self, failed: bool) {
        self.done = true;
        // The end is counted in the shard of the thread it ends on (an async call can move
        // between threads): that thread is the one allowed to write it.
        let (shard, owned) = self.stats.shard();
        if failed {
            add(&shard.errors, owned, 1);
            #[cfg(feature = "metrics")]
            self.stats.facade().errors.increment(1);
        }
        self.record_latency(shard, owned);
    }

    #[inline]
    fn record_latency(&self, shard: &Shard, owned: bool) {
        let nanos = SystemClock.raw_delta_nanos(self.started, SystemClock.raw());
        let _ = shard
            .latency
            .increment(nanos.min((1 << MAX_VALUE_POWER) - 1));
        add(&shard.latency_sum_nanos, owned, nanos);
        #[cfg(feature = "metrics")]
        {
            let facade = self.stats.facade();
            facade.duration.record(nanos as f64 / 1e9);
            facade.in_flight.decrement(1.0);
        }
    }

    /// The function's name.
    pub fn name(&self) -> &'static str {
        self.stats.name
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
            #[cfg(feature = "metrics")]
            self.stats.facade().errors.increment(1);
        } else {
            add(&shard.cancelled, owned, 1);
        }
        self.record_latency(shard, owned);
    }
}

/// Latency quantiles of a function's calls, each read at the middle of its histogram
/// bucket (within about 3 % of the true value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// The slowest call (the upper edge of its bucket).
    pub max: Duration,
}

impl Latency {
    fn of(histogram: Option<&Histogram>) -> Latency {
        let Some(h) = histogram else {
            return Latency::default();
        };
        let at = |q: f64| {
            h.quantile_bucket(q)
                .ok()
                .flatten()
                .map_or(Duration::ZERO, |b| {
                    Duration::from_nanos(b.start() + (b.end() - b.start()) / 2)
                })
        };
        let max = h
            .quantile_bucket(1.0)
            .ok()
            .flatten()
            .map_or(Duration::ZERO, |b| Duration::from_nanos(b.end()));
        Latency {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max,
        }
    }
}

/// What one `#[monitored]` function did since the process started.
///
/// ```
/// #[steadfast::monitored(name = "docs.lookup")]
/// fn lookup(id: u32) -> Result<u32, String> {
///     if id == 0 { Err("no id 0".into()) } else { Ok(id) }
/// }
///
/// let _ = lookup(1);
/// let _ = lookup(0);
/// let m = steadfast::metrics::snapshot().into_iter().find(|m| m.name == "docs.lookup").unwrap();
/// assert_eq!((m.calls, m.successes, m.errors, m.in_flight), (2, 1, 1, 0));
/// ```
#[derive(Debug, Clone)]
pub struct FunctionMetrics {
    /// `name = "…"`, or `module::path::fn_name`.
    pub name: String,
    /// Calls started.
    pub calls: u64,
    /// Calls that returned, and did not return `Err`.
    pub successes: u64,
    /// Calls that returned `Err`, and calls that panicked.
    pub errors: u64,
    /// Calls started and not yet ended.
    pub in_flight: u64,
    /// Latency quantiles over every call that ended.
    pub latency: Latency,
    pub(crate) cancelled: u64,
    pub(crate) latency_sum: Duration,
    pub(crate) histogram: Option<Histogram>,
}

impl FunctionMetrics {
    /// Calls whose future was dropped before they ended (neither success nor error).
    pub fn cancelled(&self) -> u64 {
        self.cancelled
    }

    /// How many of the ended calls took at most `le`.
    pub(crate) fn count_at_most(&self, le: Duration) -> u64 {
        let le = duration_nanos(le);
        self.histogram.as_ref().map_or(0, |h| {
            h.into_iter()
                .filter(|b| b.end() <= le)
                .map(|b| b.count())
                .sum()
        })
    }

    /// Calls that ended.
    pub(crate) fn ended(&self) -> u64 {
        self.calls - self.in_flight
    }
}

/// Every `#[monitored]` function called so far.
pub(crate) fn snapshot() -> Vec<FunctionMetrics> {
    let stats: Vec<&'static MonitorStats> = MONITORED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    stats.into_iter().map(MonitorStats::snapshot).collect()
}
