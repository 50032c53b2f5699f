//! `#[rate_limit]`: GCRA in one atomic word per limiter, no timer thread.
//!
//! A limiter of `rate` calls `per` period with a `burst` keeps one number, the
//! *theoretical arrival time* (TAT): when the limiter would be back to idle if every call
//! admitted so far had come exactly on schedule, one every `interval = per / rate`. A call
//! at `now` moves it to `max(TAT, now) + interval` and is admitted at once when that is at
//! most `burst × interval` ahead of `now`; when it is further ahead, the call may wait for
//! the difference (if that fits its `max_wait`: its turn is reserved by the same
//! compare-and-swap, so waiters are served in arrival order), or is rejected with exactly
//! that difference as its `retry_after`. There is no window, so never twice the burst
//! across a boundary; time is counted in nanoseconds of the runtime's clock.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::clock::{Clock, SystemClock, duration_nanos};
use crate::figures::{self, Figures, Function, Part, RateLimitMetrics};
use crate::gate::Rejection;
use crate::keys::{BreakerKey, Held, KeyMap};
use crate::shard::ShardedCounter;

/// A call `#[rate_limit]` turned away: its turn was further away than `max_wait`.
///
/// ```
/// use std::time::Duration;
/// #[steadfast::rate_limit(rate = 1, per = "1h", name = "docs.once_an_hour")]
/// fn report() -> Result<(), steadfast::RateLimited> { Ok(()) }
///
/// report().unwrap();
/// let limited = report().unwrap_err();
/// assert_eq!(limited.name(), "docs.once_an_hour");
/// assert!(limited.retry_after() > Duration::from_secs(3590));
/// assert!(limited.retry_after() <= Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone)]
pub struct RateLimited {
    name: Arc<str>,
    rate: u32,
    per: Duration,
    retry_after: Duration,
}

impl RateLimited {
    /// The limiter's name (`name = "…"`, else the function's path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limit: `rate` calls per `per`.
    pub fn limit(&self) -> (u32, Duration) {
        (self.rate, self.per)
    }

    /// How long until a call would be admitted without waiting (if nobody else takes the
    /// turn first): exact, in nanoseconds, never less than the real wait.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rate limit `{}` ({} per {:?}) reached; retry in {:?}",
            self.name, self.rate, self.per, self.retry_after
        )
    }
}

impl std::error::Error for RateLimited {}

impl Rejection for RateLimited {
    fn try_again_in(&self) -> Option<Duration> {
        Some(self.retry_after)
    }

    /// A rate limit is this process's own limit, not a sign that a dependency is down.
    fn is_overload(&self) -> bool {
        true
    }
}

impl From<RateLimited> for std::io::Error {
    fn from(limited: RateLimited) -> Self {
        std::io::Error::new(std::io::ErrorKind::WouldBlock, limited)
    }
}

/// A limiter's settings, as the attribute (or its defaults) gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSpec {
    /// `name = "…"`, if written.
    pub name: Option<&'static str>,
    /// `module::fn`, the name when none is written.
    pub default_name: &'static str,
    /// Calls per `per`.
    pub rate: u32,
    /// The period of `rate`.
    pub per: Duration,
    /// Calls admitted back to back from idle; `None`: `rate`.
    pub burst: Option<u32>,
    /// How long a call may wait for its turn; zero: not at all.
    pub max_wait: Duration,
    /// With `key = …`: at most this many keys kept (one limit per key); `None`: one limit.
    pub max_keys: Option<usize>,
    /// `scope = "fleet"`: `Some(expected_nodes)`, the share of the rate this process keeps
    /// when it decides alone; `None`: a limit of this process.
    pub fleet_nodes: Option<u32>,
    /// `lease = n` with `scope = "fleet"`: the turns one round trip to Redis asks for, the
    /// others spent by this process's next calls; [`NO_LEASE`](Self::NO_LEASE): one.
    pub fleet_lease: u32,
}

impl LimitSpec {
    /// `per` when `per` is not written.
    pub const DEFAULT_PER: Duration = Duration::from_secs(1);
    /// `max_keys` when `key` is written without it.
    pub const DEFAULT_MAX_KEYS: usize = 10_000;
    /// `lease` when it is not written: one turn per round trip.
    pub const NO_LEASE: u32 = 1;

    fn name(&self) -> &'static str {
        self.name.unwrap_or(self.default_name)
    }
}

/// How long turns leased from the fleet (`lease = n`) may be spent: unspent ones are lost
/// then (the fleet counted them when it leased them, so they cost turns but never admit a
/// call over the limit; at most `lease - 1` per process are late by up to this much).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) const LEASE_FOR: Duration = Duration::from_secs(1);
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
const LEASE_COUNT_BITS: u32 = 24;
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
const LEASE_COUNT_MASK: u64 = (1 << LEASE_COUNT_BITS) - 1;

/// One rate limiter: its settings and its one atomic word.
#[derive(Debug)]
pub(crate) struct Limiter {
    name: Arc<str>,
    /// The settings, changed live by `config::apply`: `rate`, `per` (nanoseconds),
    /// `burst`, `max_wait` (nanoseconds), and what the hot path reads of them:
    /// `interval = per / rate` (at least 1) and `tolerance = burst × interval`, how far
    /// ahead of now the TAT may run for a call to pass at once.
    rate: AtomicU32,
    per: AtomicU64,
    burst: AtomicU32,
    max_wait: AtomicU64,
    interval: AtomicU64,
    tolerance: AtomicU64,
    /// `scope = "fleet"`: the expected processes, whose share this process keeps when it
    /// decides alone (`interval` and `tolerance` are that share's), and the whole fleet's
    /// interval and tolerance, which the shared decision uses. 1 and the same for a local
    /// limit.
    nodes: u32,
    fleet_interval: AtomicU64,
    fleet_tolerance: AtomicU64,
    /// `lease = n`: the turns one round trip asks the fleet for (1: no lease).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    lease: u32,
    /// Turns the fleet leased to this process and not yet spent: their count in the low
    /// [`LEASE_COUNT_BITS`] bits, above it the millisecond (runtime clock) they expire at.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    leased: AtomicU64,
    /// The theoretical arrival time, in the runtime clock's nanoseconds.
    tat: AtomicU64,
    /// Per-thread shards: a second write per call to the limiter's shared line would
    /// double what admission costs under contention.
    admitted: ShardedCounter,
    limited: AtomicU64,
    /// With `key = …`: one theoretical arrival time per key.
    keys: Option<Keys>,
}

/// A limiter's settings that `config::apply` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LimitSettings {
    pub(crate) rate: u32,
    pub(crate) per: Duration,
    pub(crate) burst: u32,
    pub(crate) max_wait: Duration,
}

impl LimitSettings {
    /// The settings of `spec`; zeros given as expressions (literal zeros are compile
    /// errors) are logged, naming the key, and replaced by the nearest valid value.
    fn of(spec: &LimitSpec) -> LimitSettings {
        let bad = |key: &str, value: &str, used: &str| {
            tracing::error!(
                target: "steadfast",
                "#[rate_limit] `{}`: `{key}` must be more than zero, found {value}; {used} is used",
                spec.name()
            );
        };
        if spec.rate == 0 {
            bad("rate", "0", "1");
        }
        let rate = spec.rate.max(1);
        if spec.burst == Some(0) {
            bad("burst", "0", "1");
        }
        if spec.per.is_zero() {
            bad("per", "0s", "1ns");
        }
        LimitSettings {
            rate,
            per: spec.per.max(Duration::from_nanos(1)),
            burst: spec.burst.unwrap_or(rate).max(1),
            max_wait: spec.max_wait,
        }
    }

    fn interval(&self) -> u64 {
        (duration_nanos(self.per).max(1) / u64::from(self.rate.max(1))).max(1)
    }
}

/// The per-key state of a keyed limiter: a TAT per key.
#[derive(Debug)]
struct Keys {
    map: KeyMap<AtomicU64>,
    warned: AtomicBool,
}

/// What a limiter says to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Admitted; wait this long first (zero: go now). The turn is reserved.
    After(u64),
    /// Rejected: a turn is this far away.
    Limited(u64),
}

impl Limiter {
    fn new(spec: &LimitSpec) -> Limiter {
        let limiter = Limiter {
            name: Arc::from(spec.name()),
            rate: AtomicU32::new(1),
            per: AtomicU64::new(1),
            burst: AtomicU32::new(1),
            max_wait: AtomicU64::new(0),
            interval: AtomicU64::new(1),
            tolerance: AtomicU64::new(1),
            nodes: spec.fleet_nodes.unwrap_or(1).max(1),
            fleet_interval: AtomicU64::new(1),
            fleet_tolerance: AtomicU64::new(1),
            lease: spec.fleet_lease.max(1),
            leased: AtomicU64::new(0),
            tat: AtomicU64::new(0),
            admitted: ShardedCounter::default(),
            limited: AtomicU64::new(0),
            keys: spec.max_keys.map(|capacity| Keys {
                map: KeyMap::new(capacity),
                warned: AtomicBool::new(false),
            }),
        };
        limiter.retune(LimitSettings::of(spec), 0);
        limiter
    }

    /// New settings, from the next call on, at `now`. What was used is kept as a number of
    /// turns, not as time: each theoretical arrival time still ahead of `now` is rescaled to
    /// the new interval, so turns taken before count against the new rate (a busy limiter
    /// gets no fresh burst) and a higher rate frees turns as soon as it applies.
    pub(crate) fn retune(&self, settings: LimitSettings, now: u64) {
        let whole = settings.interval();
        let burst = settings.burst.max(1);
        self.fleet_interval.store(whole, Relaxed);
        self.fleet_tolerance
            .store(whole.saturating_mul(u64::from(burst)), Relaxed);
        // This process's share: `rate / nodes`, `burst / nodes` (at least one).
        let nodes = u64::from(self.nodes);
        let interval = whole.saturating_mul(nodes);
        let local_burst = u64::from(burst).div_ceil(nodes).max(1);
        let old = self.interval.swap(interval, Relaxed);
        self.rate.store(settings.rate.max(1), Relaxed);
        self.per.store(duration_nanos(settings.per).max(1), Relaxed);
        self.burst.store(settings.burst.max(1), Relaxed);
        self.max_wait
            .store(duration_nanos(settings.max_wait), Relaxed);
        self.tolerance
            .store(interval.saturating_mul(local_burst), Relaxed);
        if old == interval {
            return;
        }
        let rescale = |word: &AtomicU64| {
            let _ = word.fetch_update(Relaxed, Relaxed, |tat| {
                let ahead = tat.checked_sub(now).filter(|a| *a > 0)?;
                let scaled = u128::from(ahead) * u128::from(interval) / u128::from(old.max(1));
                Some(now.saturating_add(u64::try_from(scaled).unwrap_or(u64::MAX)))
            });
        };
        rescale(&self.tat);
        if let Some(keys) = &self.keys {
            keys.map.for_each(rescale);
        }
    }

    /// The whole fleet's interval and tolerance, and `max_wait`, in nanoseconds: what the
    /// shared decision uses.
    #[cfg(feature = "redis")]
    pub(crate) fn fleet_arguments(&self) -> (u64, u64, u64) {
        (
            self.fleet_interval.load(Relaxed),
            self.fleet_tolerance.load(Relaxed),
            self.max_wait.load(Relaxed),
        )
    }

    /// `lease = n`: the turns one round trip asks the fleet for.
    #[cfg(feature = "redis")]
    pub(crate) fn lease(&self) -> u32 {
        self.lease
    }

    /// Spends one of the turns the fleet leased to this process, if one is left and has
    /// not expired at `now` (runtime clock nanoseconds).
    #[cfg(feature = "redis")]
    #[inline]
    pub(crate) fn take_leased(&self, now: u64) -> bool {
        let now_ms = now / 1_000_000;
        self.leased
            .fetch_update(Relaxed, Relaxed, |word| {
                let left = word & LEASE_COUNT_MASK;
                (left > 0 && now_ms < word >> LEASE_COUNT_BITS).then(|| word - 1)
            })
            .is_ok()
    }

    /// Keeps `turns` more turns the fleet granted at `now`, to be spent within
    /// [`LEASE_FOR`] (turns still left from an earlier lease are kept with them).
    #[cfg(feature = "redis")]
    pub(crate) fn keep_leased(&self, turns: u64, now: u64) {
        if turns == 0 {
            return;
        }
        let now_ms = now / 1_000_000;
        let until = (now.saturating_add(duration_nanos(LEASE_FOR)) / 1_000_000)
            .min(u64::MAX >> LEASE_COUNT_BITS);
        let _ = self.leased.fetch_update(Relaxed, Relaxed, |word| {
            let valid = now_ms < word >> LEASE_COUNT_BITS;
            let left = if valid { word & LEASE_COUNT_MASK } else { 0 };
            let count = left.saturating_add(turns).min(LEASE_COUNT_MASK);
            Some(until << LEASE_COUNT_BITS | count)
        });
    }

    /// The leased turns left at `now`.
    #[cfg(all(test, feature = "redis"))]
    pub(crate) fn leased(&self, now: u64) -> u64 {
        let word = self.leased.load(Relaxed);
        if now / 1_000_000 < word >> LEASE_COUNT_BITS {
            word & LEASE_COUNT_MASK
        } else {
            0
        }
    }

    /// A call the shared decision admitted.
    #[cfg(feature = "redis")]
    pub(crate) fn count_admitted(&self) {
        self.admitted.add(1);
    }

    /// A call the shared decision limited, `retry_after` nanoseconds from its turn.
    #[cfg(feature = "redis")]
    pub(crate) fn count_limited(&self, retry_after: u64) -> RateLimited {
        self.limited.fetch_add(1, Relaxed);
        crate::observe::rate_limited(&self.name);
        self.rejection(retry_after)
    }

    /// The settings now.
    pub(crate) fn settings(&self) -> LimitSettings {
        LimitSettings {
            rate: self.rate.load(Relaxed),
            per: Duration::from_nanos(self.per.load(Relaxed)),
            burst: self.burst.load(Relaxed),
            max_wait: Duration::from_nanos(self.max_wait.load(Relaxed)),
        }
    }

    /// One call at `now` that may wait up to `max_wait` nanoseconds for its turn.
    #[inline]
    pub(crate) fn take(&self, now: u64, max_wait: u64) -> Turn {
        self.take_on(&self.tat, now, max_wait)
    }

    /// [`take`](Self::take) on the TAT of `key`. A key is evicted only when its state is a
    /// fresh key's (its TAT not after now): an eviction never hands out a new burst. With
    /// every kept key active and the map full, the call is limited by a fresh state that is
    /// not kept (and a warning is logged once).
    fn take_key<K: ?Sized + BreakerKey>(
        &self,
        keys: &Keys,
        key: &K,
        now: u64,
        max_wait: u64,
    ) -> Turn {
        keys.map.with(
            key,
            || AtomicU64::new(0),
            // Fresh keys only: a TAT not after now is what a new key would start with.
            |map| map.retain(|tat| tat.load(Relaxed) > now),
            |held| match held {
                Held::Kept(tat) => self.take_on(tat, now, max_wait),
                Held::Unkept(tat) => {
                    if !keys.warned.swap(true, Relaxed) {
                        tracing::warn!(
                            target: "steadfast",
                            limiter = &*self.name,
                            "rate limiter `{}` keeps {} keys and every one is in use: new keys are limited from a fresh state that is not kept (raise `max_keys`)",
                            self.name,
                            keys.map.capacity()
                        );
                    }
                    self.take_on(&tat, now, max_wait)
                }
            },
        )
    }

    #[inline]
    fn take_on(&self, word: &AtomicU64, now: u64, max_wait: u64) -> Turn {
        let (interval, tolerance) = (self.interval.load(Relaxed), self.tolerance.load(Relaxed));
        let mut tat = word.load(Relaxed);
        loop {
            let next = tat.max(now).saturating_add(interval);
            let wait = (next - now).saturating_sub(tolerance);
            if wait > max_wait {
                self.limited.fetch_add(1, Relaxed);
                crate::observe::rate_limited(&self.name);
                return Turn::Limited(wait);
            }
            match word.compare_exchange_weak(tat, next, Relaxed, Relaxed) {
                Ok(_) => {
                    self.admitted.add(1);
                    return Turn::After(wait);
                }
                Err(current) => tat = current,
            }
        }
    }

    /// Calls that would be admitted at once at `now`, back to back.
    fn available(&self, now: u64) -> u32 {
        let tat = self.tat.load(Relaxed).max(now);
        let used = tat - now;
        let (interval, tolerance) = (self.interval.load(Relaxed), self.tolerance.load(Relaxed));
        let free = tolerance.saturating_sub(used) / interval.max(1);
        u32::try_from(free)
            .unwrap_or(u32::MAX)
            .min(self.burst.load(Relaxed))
    }

    fn answer(&self, turn: Turn) -> Result<Duration, RateLimited> {
        match turn {
            Turn::After(wait) => Ok(Duration::from_nanos(wait)),
            Turn::Limited(retry_after) => Err(self.rejection(retry_after)),
        }
    }

    fn rejection(&self, retry_after: u64) -> RateLimited {
        RateLimited {
            name: self.name.clone(),
            rate: self.rate.load(Relaxed),
            per: Duration::from_nanos(self.per.load(Relaxed)),
            retry_after: Duration::from_nanos(retry_after),
        }
    }
}

fn registry() -> std::sync::MutexGuard<'static, Vec<Arc<Limiter>>> {
    static ALL: OnceLock<Mutex<Vec<Arc<Limiter>>>> = OnceLock::new();
    ALL.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The limiter of `spec`: the one already registered under its name (functions that share
/// a name share a limiter; the first settings win, and a different one is warned about),
/// else a new one.
fn limiter(spec: &LimitSpec) -> Arc<Limiter> {
    let mut all = registry();
    let name = spec.name();
    if let Some(found) = all.iter().find(|l| &*l.name == name) {
        let (found_now, wanted) = (found.settings(), LimitSettings::of(spec));
        if found_now != wanted {
            tracing::warn!(
                target: "steadfast",
                limiter = name,
                "rate limiter `{name}` is shared by functions with different settings; the first one's ({} per {:?}, burst {}) apply",
                found_now.rate,
                found_now.per,
                found_now.burst
            );
        }
        return found.clone();
    }
    let made = Arc::new(Limiter::new(spec));
    all.push(made.clone());
    made
}

/// The `static` behind a `#[rate_limit]` function: its settings, and its limiter from the
/// first call on.
#[derive(Debug)]
pub struct LimiterSlot {
    spec: LimitSpec,
    function: &'static Function,
    limiter: OnceLock<Arc<Limiter>>,
}

impl LimiterSlot {
    /// A function's limiter, made (or found by name) at its first call, when it also joins
    /// the figures of `function`.
    pub const fn new(spec: LimitSpec, function: &'static Function) -> LimiterSlot {
        LimiterSlot {
            spec,
            function,
            limiter: OnceLock::new(),
        }
    }

    #[inline]
    pub(crate) fn get(&'static self) -> &'static Limiter {
        self.limiter.get_or_init(|| {
            figures::join(self.function, self);
            limiter(&self.spec)
        })
    }

    /// Its name: `name = "…"`, else the function's path.
    pub(crate) fn name(&'static self) -> &'static str {
        self.spec.name()
    }

    /// Its limiter, made now if the function has not been called yet.
    pub(crate) fn limiter(&'static self) -> &'static Limiter {
        self.get()
    }

    /// Takes a turn now: `Ok(wait)` (zero: go at once), or the rejection.
    #[inline]
    pub(crate) fn take(&'static self) -> Result<Duration, RateLimited> {
        let limiter = self.get();
        let now = SystemClock.now().0;
        limiter.answer(limiter.take(now, limiter.max_wait.load(Relaxed)))
    }

    /// [`take`](Self::take) for the limit of `key`.
    #[inline]
    pub(crate) fn take_key<K: ?Sized + BreakerKey>(
        &'static self,
        key: &K,
    ) -> Result<Duration, RateLimited> {
        let limiter = self.get();
        let now = SystemClock.now().0;
        let max_wait = limiter.max_wait.load(Relaxed);
        let turn = match &limiter.keys {
            Some(keys) => limiter.take_key(keys, key, now, max_wait),
            None => limiter.take(now, max_wait),
        };
        limiter.answer(turn)
    }
}

impl Part for LimiterSlot {
    fn read_into(&self, into: &mut Figures) {
        if let Some(l) = self.limiter.get() {
            let h = RateLimiter(l.clone());
            let now = l.settings();
            into.rate_limit = Some(RateLimitMetrics {
                name: l.name.to_string(),
                rate: now.rate,
                per: now.per,
                burst: now.burst,
                available: h.available(),
                admitted: h.admitted(),
                limited: h.limited(),
                keys: h.keys(),
            });
        }
    }
}

/// A rate limiter, by name: what it allows and how much of it is in use.
///
/// ```
/// #[steadfast::rate_limit(rate = 5, per = "1s", name = "docs.quota")]
/// fn call() -> Result<(), steadfast::RateLimited> { Ok(()) }
///
/// call().unwrap();
/// let quota = steadfast::rate_limiter("docs.quota").unwrap();
/// assert_eq!(quota.rate(), 5);
/// assert_eq!(quota.admitted(), 1);
/// assert!(quota.available() <= 4);
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiter(Arc<Limiter>);

impl RateLimiter {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Calls per [`per`](Self::per).
    pub fn rate(&self) -> u32 {
        self.0.rate.load(Relaxed)
    }

    /// The period of [`rate`](Self::rate).
    pub fn per(&self) -> Duration {
        Duration::from_nanos(self.0.per.load(Relaxed))
    }

    /// Calls admitted back to back from idle.
    pub fn burst(&self) -> u32 {
        self.0.burst.load(Relaxed)
    }

    /// Calls that would be admitted now, back to back, without waiting.
    pub fn available(&self) -> u32 {
        self.0.available(SystemClock.now().0)
    }

    /// Calls admitted so far (those that waited for their turn included).
    pub fn admitted(&self) -> u64 {
        self.0.admitted.get()
    }

    /// Calls rejected so far.
    pub fn limited(&self) -> u64 {
        self.0.limited.load(Relaxed)
    }

    /// With `key = …`: the keys kept now (at most `max_keys`); `None` for one limit.
    pub fn keys(&self) -> Option<usize> {
        self.0.keys.as_ref().map(|k| k.map.len())
    }
}

/// The rate limiter called `name`, once a function using it has been called.
pub fn rate_limiter(name: &str) -> Option<RateLimiter> {
    registry()
        .iter()
        .find(|l| &*l.name == name)
        .map(|l| RateLimiter(l.clone()))
}

/// Every rate limiter in use, in the order of their names.
pub fn rate_limiters() -> Vec<RateLimiter> {
    let mut all: Vec<RateLimiter> = registry().iter().map(|l| RateLimiter(l.clone())).collect();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    all
}

crate::listed::section!(
    /// Every `#[rate_limit]` function's slot, listed before `main`.
    pub(crate) fn listed() -> LimiterSlot,
    "steadfast_0_1_rate_limits"
);

/// Names of limiters, for duplicate checks in tests.
#[cfg(test)]
fn names() -> std::collections::HashMap<String, usize> {
    let mut seen = std::collections::HashMap::new();
    for l in registry().iter() {
        *seen.entry(l.name.to_string()).or_default() += 1;
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rate: u32, per: Duration, burst: Option<u32>) -> LimitSpec {
        LimitSpec {
            name: None,
            default_name: "t",
            rate,
            per,
            burst,
            max_wait: Duration::ZERO,
            max_keys: None,
            fleet_nodes: None,
            fleet_lease: LimitSpec::NO_LEASE,
        }
    }

    const MS: u64 = 1_000_000;

    #[cfg(feature = "redis")]
    #[test]
    fn leased_turns_are_spent_once_each_and_expire() {
        let l = Limiter::new(&LimitSpec {
            fleet_nodes: Some(3),
            fleet_lease: 10,
            ..spec(100, Duration::from_secs(1), None)
        });
        assert_eq!(l.lease(), 10);
        let t0 = 7_000 * MS;
        assert!(!l.take_leased(t0), "nothing leased yet");
        l.keep_leased(9, t0);
        assert_eq!(l.leased(t0), 9);
        for _ in 0..9 {
            assert!(l.take_leased(t0 + 10 * MS));
        }
        assert!(!l.take_leased(t0 + 10 * MS), "nine leased, nine spent");
        // Turns left from an earlier lease are kept with the new ones...
        l.keep_leased(4, t0 + 100 * MS);
        l.keep_leased(5, t0 + 200 * MS);
        assert_eq!(l.leased(t0 + 300 * MS), 9);
        // ... until the last lease's validity ends: then every one is gone.
        let end = t0 + 200 * MS + duration_nanos(LEASE_FOR);
        assert!(l.take_leased(end - MS));
        assert_eq!(l.leased(end), 0);
        assert!(!l.take_leased(end));
        // Expired turns are not carried into a new lease.
        l.keep_leased(2, end + MS);
        assert_eq!(l.leased(end + MS), 2);
        // The count is capped, never wrapped into the expiry.
        l.keep_leased(u64::MAX, end + MS);
        assert_eq!(l.leased(end + MS), LEASE_COUNT_MASK);
    }

    #[cfg(feature = "redis")]
    #[test]
    fn leased_turns_are_not_spent_twice_by_racing_threads() {
        let l = std::sync::Arc::new(Limiter::new(&LimitSpec {
            fleet_lease: 10,
            ..spec(100, Duration::from_secs(1), None)
        }));
        let t0 = 9_000 * MS;
        l.keep_leased(1_000, t0);
        let spent: u64 = (0..4)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || (0..1_000).filter(|_| l.take_leased(t0)).count() as u64)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(spent, 1_000);
    }

    #[test]
    fn a_burst_from_idle_then_one_per_interval() {
        // 10 per second, burst 3: interval 100 ms.
        let l = Limiter::new(&spec(10, Duration::from_secs(1), Some(3)));
        let t0 = 5_000 * MS;
        for _ in 0..3 {
            assert_eq!(l.take(t0, 0), Turn::After(0));
        }
        // The fourth is 100 ms away, exactly.
        assert_eq!(l.take(t0, 0), Turn::Limited(100 * MS));
        assert_eq!(l.take(t0 + 40 * MS, 0), Turn::Limited(60 * MS));
        assert_eq!(l.take(t0 + 100 * MS, 0), Turn::After(0));
        assert_eq!(l.take(t0 + 100 * MS, 0), Turn::Limited(100 * MS));
        assert_eq!(l.admitted.get(), 4);
        assert_eq!(l.limited.load(Relaxed), 3);
    }

    #[test]
    fn never_twice_the_burst_across_a_boundary() {
        // 5 per second, burst 5: however the calls are placed, no second holds more than
        // 5 + (its length / interval) admissions; here: 5 at t0, then at most 1 per 200 ms.
        let l = Limiter::new(&spec(5, Duration::from_secs(1), None));
        let t0 = 1_000 * MS;
        let mut admitted = 0;
        for step in 0..=1000u64 {
            while l.take(t0 + step * MS, 0) == Turn::After(0) {
                admitted += 1;
            }
        }
        // 5 at once, then one at 200, 400, 600, 800, 1000 ms.
        assert_eq!(admitted, 10);
    }

    #[test]
    fn a_waiter_reserves_its_turn_in_arrival_order() {
        let l = Limiter::new(&spec(10, Duration::from_secs(1), Some(1)));
        let t0 = 1_000 * MS;
        assert_eq!(l.take(t0, 500 * MS), Turn::After(0));
        assert_eq!(l.take(t0, 500 * MS), Turn::After(100 * MS));
        assert_eq!(l.take(t0, 500 * MS), Turn::After(200 * MS));
        // One that cannot wait long enough is told at once how long it would have been.
        assert_eq!(l.take(t0, 250 * MS), Turn::Limited(300 * MS));
        // Its rejection reserved nothing: the next with enough patience gets 300 ms.
        assert_eq!(l.take(t0, 300 * MS), Turn::After(300 * MS));
    }

    #[test]
    fn available_counts_down_and_refills() {
        let l = Limiter::new(&spec(4, Duration::from_secs(1), None));
        let t0 = 1_000 * MS;
        assert_eq!(l.available(t0), 4);
        assert_eq!(l.take(t0, 0), Turn::After(0));
        assert_eq!(l.take(t0, 0), Turn::After(0));
        assert_eq!(l.available(t0), 2);
        assert_eq!(l.available(t0 + 250 * MS), 3);
        assert_eq!(l.available(t0 + 10_000 * MS), 4);
    }

    #[test]
    fn a_new_rate_applies_from_the_next_call_and_keeps_what_was_used() {
        let l = Limiter::new(&spec(2, Duration::from_secs(1), None));
        let t0 = 1_000_000 * MS;
        assert_eq!(l.take(t0, 0), Turn::After(0));
        assert_eq!(l.take(t0, 0), Turn::After(0));
        assert_eq!(l.take(t0, 0), Turn::Limited(500 * MS));
        // Ten a second, burst 2: the two turns taken still count (no fresh burst), now
        // 200 ms' worth at the new rate: the next turn is one new interval away.
        l.retune(
            LimitSettings {
                rate: 10,
                per: Duration::from_secs(1),
                burst: 2,
                max_wait: Duration::ZERO,
            },
            t0,
        );
        assert_eq!(l.take(t0, 0), Turn::Limited(100 * MS));
        assert_eq!(l.take(t0 + 100 * MS, 0), Turn::After(0));
        assert_eq!(l.take(t0 + 100 * MS, 0), Turn::Limited(100 * MS));
        assert_eq!(l.settings().rate, 10);
    }

    #[test]
    fn huge_rates_and_long_periods_do_not_overflow() {
        let l = Limiter::new(&spec(u32::MAX, Duration::from_nanos(1), None));
        assert_eq!(l.interval.load(Relaxed), 1);
        assert_eq!(l.take(u64::MAX - 1, 0), Turn::After(0));
        let l = Limiter::new(&spec(
            1,
            Duration::from_secs(365 * 24 * 3600),
            Some(u32::MAX),
        ));
        assert_eq!(l.take(0, 0), Turn::After(0));
    }

    #[test]
    fn keys_are_independent_and_only_fresh_keys_are_evicted() {
        // 10 an hour per key, at most 2 keys kept.
        let l = Limiter::new(&LimitSpec {
            max_keys: Some(2),
            fleet_nodes: None,
            fleet_lease: LimitSpec::NO_LEASE,
            ..spec(10, Duration::from_secs(3600), None)
        });
        let keys = l.keys.as_ref().unwrap();
        let t0 = 1_000 * MS;
        for _ in 0..10 {
            assert_eq!(l.take_key(keys, "a", t0, 0), Turn::After(0));
        }
        assert!(matches!(l.take_key(keys, "a", t0, 0), Turn::Limited(_)));
        assert_eq!(l.take_key(keys, "b", t0, 0), Turn::After(0));
        // "a" and "b" are both active: a third key is limited from a fresh state that is
        // not kept, and neither is evicted.
        assert_eq!(l.take_key(keys, "c", t0, 0), Turn::After(0));
        assert_eq!(keys.map.len(), 2);
        // The classic bug: evicting "a" now would hand it a new burst (10/hour → more).
        assert!(matches!(l.take_key(keys, "a", t0, 0), Turn::Limited(_)));
        // Six minutes later "b" (one call, one interval) is back to fresh, "a" is not:
        // "b" is evicted to make room for "c".
        let later = t0 + 360_000 * MS;
        assert_eq!(l.take_key(keys, "c", later, 0), Turn::After(0));
        assert_eq!(keys.map.len(), 2);
        assert!(matches!(l.take_key(keys, "a", later, 0), Turn::After(0)));
        assert!(matches!(l.take_key(keys, "a", later, 0), Turn::Limited(_)));
    }

    #[test]
    fn functions_sharing_a_name_share_one_limiter() {
        static FA: Function = Function::new("rate_limit.tests.a", false);
        static FB: Function = Function::new("rate_limit.tests.b", false);
        static A: LimiterSlot = LimiterSlot::new(
            LimitSpec {
                name: Some("rate_limit.tests.shared"),
                default_name: "a",
                rate: 2,
                per: Duration::from_secs(3600),
                burst: None,
                max_wait: Duration::ZERO,
                max_keys: None,
                fleet_nodes: None,
                fleet_lease: LimitSpec::NO_LEASE,
            },
            &FA,
        );
        static B: LimiterSlot = LimiterSlot::new(
            LimitSpec {
                name: Some("rate_limit.tests.shared"),
                default_name: "b",
                rate: 2,
                per: Duration::from_secs(3600),
                burst: None,
                max_wait: Duration::ZERO,
                max_keys: None,
                fleet_nodes: None,
                fleet_lease: LimitSpec::NO_LEASE,
            },
            &FB,
        );
        assert!(A.take().is_ok());
        assert!(B.take().is_ok());
        let limited = A.take().unwrap_err();
        assert_eq!(limited.name(), "rate_limit.tests.shared");
        assert_eq!(names()["rate_limit.tests.shared"], 1);
        assert_eq!(
            rate_limiter("rate_limit.tests.shared").unwrap().limited(),
            1
        );
    }
}
