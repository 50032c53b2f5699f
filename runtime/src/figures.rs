//! One registry of per-function figures. Every per-function `static` of the attributes
//! (`#[monitored]`'s, `#[retry]`'s, `#[timeout]`'s) joins it under its function label the
//! first time it moves; [`snapshot`] reads them all, one entry per label, so functions
//! given the same `name` share one set of figures, exported once.

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use histogram::Histogram;

use crate::clock::duration_nanos;

/// One attribute's `static` of a function: it adds what it counted to a function's
/// figures. The registry knows this trait, not the attributes.
pub(crate) trait Part: Sync {
    fn read_into(&self, into: &mut Figures);
}

/// The sum of the parts of one function label.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    pub(crate) monitored: bool,
    pub(crate) calls: u64,
    pub(crate) errors: u64,
    pub(crate) rejected: u64,
    pub(crate) cancelled: u64,
    pub(crate) latency_sum_nanos: u64,
    pub(crate) histogram: Option<Histogram>,
    pub(crate) retry: Option<RetryMetrics>,
    pub(crate) timeouts: Option<u64>,
    pub(crate) bulkhead: Option<BulkheadMetrics>,
    pub(crate) rate_limit: Option<RateLimitMetrics>,
    pub(crate) fallbacks: Option<u64>,
    pub(crate) cache: Option<CacheMetrics>,
    pub(crate) drain_cancelled: u64,
    /// Calls a drain turned away: in `calls`, `errors` and `rejected`, ended at once.
    pub(crate) turned_away: u64,
}

/// What the counters make of a retrying call's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    /// The next step is another attempt after a failure.
    Retry,
    /// The next step waits out a gate's rejection; no attempt ran.
    WaitOutGate,
    /// The call gave up on attempts or time.
    Exhausted,
    /// Nothing to count.
    Nothing,
}

/// What `#[retry]` did for one function, in [`FunctionMetrics::retry`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryMetrics {
    /// Attempts after the first: each followed a failed attempt and a wait.
    pub retries: u64,
    /// Waits on a gate below the retry (an open circuit breaker) that turned the call away
    /// before the body ran: no attempt was spent on them.
    pub gate_waits: u64,
    /// Calls that gave up with their attempts or `max_elapsed` used up.
    pub exhausted: u64,
}

impl std::ops::AddAssign for RetryMetrics {
    fn add_assign(&mut self, other: RetryMetrics) {
        self.retries += other.retries;
        self.gate_waits += other.gate_waits;
        self.exhausted += other.exhausted;
    }
}

/// The `#[bulkhead]` of a function, in [`FunctionMetrics::bulkhead`]: the bulkhead's own
/// figures, so functions that share one by `name` show the same ones. With `key = …`,
/// summed over the keys kept now (`limit` is each key's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkheadMetrics {
    /// The bulkhead's name.
    pub name: String,
    /// Its `max_concurrent`.
    pub limit: u32,
    /// Calls inside now.
    pub in_use: u64,
    /// Calls waiting for a slot now.
    pub queued: u64,
    /// Calls let in so far (those that waited included).
    pub admitted: u64,
    /// Calls turned away because every slot was in use and they might not wait.
    pub rejected_full: u64,
    /// Calls turned away because `max_queue` callers were already waiting.
    pub rejected_queue_full: u64,
    /// Calls that waited `max_wait` and got no slot.
    pub rejected_waited_out: u64,
    /// With `key = …`: the keys kept now.
    pub keys: Option<usize>,
}

/// The `#[rate_limit]` of a function, in [`FunctionMetrics::rate_limit`]: the limiter's own
/// figures, so functions that share one by `name` show the same ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitMetrics {
    /// The limiter's name.
    pub name: String,
    /// Calls allowed per `per`.
    pub rate: u32,
    /// The period of `rate`.
    pub per: Duration,
    /// Calls admitted back to back from idle.
    pub burst: u32,
    /// Calls that would be admitted at once now (without `key`; with it, `burst`).
    pub available: u32,
    /// Calls admitted so far (those that waited for their turn included).
    pub admitted: u64,
    /// Calls turned away so far.
    pub limited: u64,
    /// With `key = …`: the keys kept now.
    pub keys: Option<usize>,
}

/// The `#[cached]` cache of a function, in [`FunctionMetrics::cache`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheMetrics {
    /// The cache's name.
    pub name: String,
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls that were not (they ran the body, or waited for a call that did).
    pub misses: u64,
    /// Entries held now.
    pub entries: u64,
}

/// A `#[monitored]` function's part in a drain, in [`FunctionMetrics::drain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainMetrics {
    /// Calls in flight when the drain began.
    pub in_flight_at_start: u64,
    /// Calls still in flight when the drain returned; `None` while it runs.
    pub left_at_end: Option<u64>,
    /// Async `drain = "cancel"` calls dropped at the deadline.
    pub cancelled: u64,
}

/// One decorated function, as every per-function `static` of its attributes names it:
/// its label and whether the label was given. Functions given one `name` share one set of
/// figures; default labels (`module::fn`) are never shared: a second function with the
/// same default label (two methods `get` in one module) is `module::get#2`, as breakers are.
#[derive(Debug)]
pub struct Function {
    label: &'static str,
    named: bool,
    name: OnceLock<&'static str>,
}

impl Function {
    /// `label`: `name = "…"` (`named`), or `module_path!()::fn_name`.
    pub const fn new(label: &'static str, named: bool) -> Self {
        Function {
            label,
            named,
            name: OnceLock::new(),
        }
    }

    /// The label its figures carry, unique but for functions given one `name`.
    pub(crate) fn name(&'static self) -> &'static str {
        self.name.get_or_init(|| entry(self, |e| e.name))
    }
}

/// One label's figures.
struct Entry {
    name: &'static str,
    /// The function whose default label this is; `None` for a given `name`.
    anchor: Option<usize>,
    parts: Vec<&'static dyn Part>,
}

/// Labels in the order they first moved, each with its parts.
static FUNCTIONS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// Runs `f` on the entry of `function`, made if it has none.
fn entry<R>(function: &'static Function, f: impl FnOnce(&mut Entry) -> R) -> R {
    let mut entries = FUNCTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    let anchor = (!function.named).then_some(function as *const Function as usize);
    let found = entries.iter().position(|e| match anchor {
        None => e.anchor.is_none() && e.name == function.label,
        Some(_) => e.anchor == anchor,
    });
    let at = match found {
        Some(at) => at,
        None => {
            let taken = |name: &str| entries.iter().any(|e| e.name == name);
            let name: &'static str = if !taken(function.label) {
                function.label
            } else {
                // Leaked once per function and process: a label lives as long as its figures.
                let unique = (2..)
                    .map(|n| format!("{}#{n}", function.label))
                    .find(|candidate| !taken(candidate))
                    .unwrap_or_default();
                Box::leak(unique.into_boxed_str())
            };
            entries.push(Entry {
                name,
                anchor,
                parts: Vec::new(),
            });
            entries.len() - 1
        }
    };
    f(&mut entries[at])
}

/// `part` of `function` has moved for the first time.
#[cold]
pub(crate) fn join(function: &'static Function, part: &'static dyn Part) {
    entry(function, |e| e.parts.push(part));
}

/// One entry per function label with figures.
pub(crate) fn snapshot() -> Vec<FunctionMetrics> {
    let functions: Vec<(&'static str, Vec<&'static dyn Part>)> = FUNCTIONS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|e| !e.parts.is_empty())
        .map(|e| (e.name, e.parts.clone()))
        .collect();
    functions
        .into_iter()
        .map(|(label, parts)| read(label, &parts))
        .collect()
}

/// The figures of a function none of whose parts moved yet (all zero).
pub(crate) fn empty(label: &str) -> FunctionMetrics {
    read(label, &[])
}

fn read(label: &str, parts: &[&'static dyn Part]) -> FunctionMetrics {
    let mut monitor = Figures::default();
    for part in parts {
        part.read_into(&mut monitor);
    }
    let ended: u64 = monitor
        .histogram
        .as_ref()
        .map_or(0, |h| h.into_iter().map(|b| b.count()).sum::<u64>())
        + monitor.turned_away;
    FunctionMetrics {
        name: label.to_owned(),
        calls: monitor.calls,
        successes: ended
            .saturating_sub(monitor.errors)
            .saturating_sub(monitor.cancelled),
        errors: monitor.errors,
        in_flight: monitor.calls.saturating_sub(ended),
        latency: Latency::of(monitor.histogram.as_ref()),
        retry: monitor.retry,
        timeouts: monitor.timeouts,
        bulkhead: monitor.bulkhead,
        rate_limit: monitor.rate_limit,
        fallbacks: monitor.fallbacks,
        cache: monitor.cache,
        task: None,
        drain: None,
        drain_cancelled: monitor.drain_cancelled,
        monitored: monitor.monitored,
        rejected: monitor.rejected,
        cancelled: monitor.cancelled,
        latency_sum: Duration::from_nanos(monitor.latency_sum_nanos),
        histogram: monitor.histogram,
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

/// What one function did since the process started: its `#[monitored]` figures, and
/// those of its `#[retry]` and `#[timeout]`. Functions given one `name` share one entry.
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
    /// `name = "…"` of `#[monitored]`, or `module::path::fn_name`.
    pub name: String,
    /// Calls started (of a `#[monitored]` function; 0 for a function without it).
    pub calls: u64,
    /// Calls that returned, and did not return `Err`.
    pub successes: u64,
    /// Calls that returned `Err`, and calls that panicked.
    pub errors: u64,
    /// Calls started and not yet ended.
    pub in_flight: u64,
    /// Latency quantiles over every call that ended.
    pub latency: Latency,
    /// What `#[retry]` did, if the function has it and it ever retried, waited or gave up.
    pub retry: Option<RetryMetrics>,
    /// Calls whose `#[timeout]` deadline passed, if the function has one that ever did.
    pub timeouts: Option<u64>,
    /// Its `#[bulkhead]`, once the function has been called.
    pub bulkhead: Option<BulkheadMetrics>,
    /// Its `#[rate_limit]`, once the function has been called.
    pub rate_limit: Option<RateLimitMetrics>,
    /// Calls whose `#[fallback]` ran, if the function has one that ever did.
    pub fallbacks: Option<u64>,
    /// Its `#[cached]` cache, once the function has been called.
    pub cache: Option<CacheMetrics>,
    /// Its `#[supervised]` task, once its companion `…_supervised` has been called.
    pub task: Option<crate::task::TaskMetrics>,
    /// Once a drain began: this function's calls in flight then, and left at its end.
    pub drain: Option<DrainMetrics>,
    pub(crate) drain_cancelled: u64,
    /// Whether a `#[monitored]` function has this label (else the call figures are zero).
    pub(crate) monitored: bool,
    pub(crate) rejected: u64,
    pub(crate) cancelled: u64,
    pub(crate) latency_sum: Duration,
    pub(crate) histogram: Option<Histogram>,
}

impl FunctionMetrics {
    /// Calls whose future was dropped before they ended (neither success nor error).
    pub fn cancelled(&self) -> u64 {
        self.cancelled
    }

    /// Calls turned away by a gate of the function (an open breaker below
    /// `#[monitored]`): counted among `errors`, and not logged one by one.
    pub fn rejected(&self) -> u64 {
        self.rejected
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
