//! Policies: the settings of a breaker, a deadline, a bulkhead or a rate limiter written
//! once, as a `const`, and shared by every function that names it with `policy = …`. ([`RetryPolicy`] lives beside
//! the retry state machine, in `retry.rs`.)
//!
//! Every setter is a `const fn` that checks its value: in a `const`, a bad value is a
//! compile error (a const-evaluation panic whose message names the setting). The setters
//! prefixed `set_` are what generated code calls for keys written beside a `policy`; they
//! do not check (the macro checked the literals, and the runtime checks the rest when the
//! breaker is first used) and are not part of the public API.

use std::time::Duration;

use crate::breaker::{Config, MAX_FAILURES, MAX_IN_WINDOW, MAX_PROBES, TripPolicy};
use crate::bulkhead::BulkheadSpec;
use crate::rate_limit::LimitSpec;

/// The settings of a `#[circuit_breaker]`, as a `const` shared by many functions:
///
/// ```
/// use std::time::Duration;
/// use steadfast::{BreakerPolicy, CircuitOpen, circuit_breaker};
///
/// pub const PAYMENTS: BreakerPolicy = BreakerPolicy::named("payments")
///     .failure_threshold(5)
///     .open_for(Duration::from_secs(30));
///
/// #[circuit_breaker(policy = PAYMENTS)]
/// fn charge(cents: u64) -> Result<u64, CircuitOpen> { Ok(cents) }
///
/// // Keys written beside the policy override it for this function (here: a breaker
/// // of its own, named `refunds`, with the policy's other settings).
/// #[circuit_breaker(policy = PAYMENTS, name = "refunds", open_for = "1m")]
/// fn refund(cents: u64) -> Result<u64, CircuitOpen> { Ok(cents) }
///
/// charge(100).unwrap();
/// refund(100).unwrap();
/// assert!(steadfast::breaker("payments").is_some());
/// assert!(steadfast::breaker("refunds").is_some());
/// ```
///
/// A policy made with [`named`](Self::named) gives its name to the breaker of every
/// function that uses it (unless `name = "…"` is written beside it): those functions share
/// one breaker, and since they share one policy they cannot disagree about its settings.
/// A policy made with [`new`](Self::new) gives each function a breaker of its own.
///
/// A bad value is a compile error at the `const`:
///
/// ```compile_fail
/// const BAD: steadfast::BreakerPolicy = steadfast::BreakerPolicy::new().failure_threshold(0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    name: Option<&'static str>,
    threshold: Option<u32>,
    window: Option<Duration>,
    rate: Option<f64>,
    minimum_calls: Option<u32>,
    open_for: Duration,
    half_open_probes: u32,
    critical: bool,
}

impl BreakerPolicy {
    /// The defaults of `#[circuit_breaker]`: open after 5 consecutive failures, stay open
    /// 30 s, then admit 1 probe; no name (each function gets a breaker of its own).
    pub const DEFAULT: BreakerPolicy = BreakerPolicy {
        name: None,
        threshold: None,
        window: None,
        rate: None,
        minimum_calls: None,
        open_for: Config::DEFAULT.open_for,
        half_open_probes: Config::DEFAULT.half_open_probes,
        critical: false,
    };

    /// The defaults, with no name.
    pub const fn new() -> BreakerPolicy {
        BreakerPolicy::DEFAULT
    }

    /// The defaults, naming the breaker: every function using this policy shares the
    /// breaker `name`.
    pub const fn named(name: &'static str) -> BreakerPolicy {
        if name.is_empty() {
            panic!("BreakerPolicy::named: the name must not be empty");
        }
        BreakerPolicy {
            name: Some(name),
            ..BreakerPolicy::DEFAULT
        }
    }

    /// Open after `n` consecutive failures (or, with [`window`](Self::window), `n`
    /// failures within it). Replaces a [`failure_rate`](Self::failure_rate).
    pub const fn failure_threshold(self, n: u32) -> BreakerPolicy {
        if n == 0 || n > MAX_FAILURES {
            panic!("BreakerPolicy: `failure_threshold` must be between 1 and 1073741823");
        }
        self.set_failure_threshold(n)
    }

    /// Count failures (or calls, for a rate) within this sliding window.
    pub const fn window(self, window: Duration) -> BreakerPolicy {
        if window.is_zero() {
            panic!("BreakerPolicy: `window` must be longer than zero");
        }
        self.set_window(window)
    }

    /// Open when the failure rate over the window reaches `rate`, in (0, 1]. Replaces a
    /// [`failure_threshold`](Self::failure_threshold).
    pub const fn failure_rate(self, rate: f64) -> BreakerPolicy {
        if !(rate > 0.0 && rate <= 1.0) {
            panic!("BreakerPolicy: `failure_rate` must be in (0, 1] (0.5 = half the calls)");
        }
        self.set_failure_rate(rate)
    }

    /// With [`failure_rate`](Self::failure_rate): calls the window must hold before the
    /// rate counts.
    pub const fn minimum_calls(self, n: u32) -> BreakerPolicy {
        if n == 0 {
            panic!("BreakerPolicy: `minimum_calls` must be at least 1");
        }
        self.set_minimum_calls(n)
    }

    /// How long it stays open before admitting probes.
    pub const fn open_for(self, open_for: Duration) -> BreakerPolicy {
        if open_for.is_zero() {
            panic!("BreakerPolicy: `open_for` must be longer than zero");
        }
        self.set_open_for(open_for)
    }

    /// Probes admitted while half-open, in all; all must succeed to close it.
    pub const fn half_open_probes(self, n: u32) -> BreakerPolicy {
        if n == 0 || n > MAX_PROBES {
            panic!("BreakerPolicy: `half_open_probes` must be between 1 and 32767");
        }
        self.set_half_open_probes(n)
    }

    /// Marks it critical: while it is open, [`health`](crate::health) is Unhealthy.
    pub const fn critical(self) -> BreakerPolicy {
        self.set_critical(true)
    }

    /// The name it gives its breakers, if it was made with [`named`](Self::named).
    pub const fn name(&self) -> Option<&'static str> {
        self.name
    }

    #[doc(hidden)]
    pub const fn set_failure_threshold(mut self, n: u32) -> BreakerPolicy {
        self.threshold = Some(n);
        self.rate = None;
        self
    }

    #[doc(hidden)]
    pub const fn set_window(mut self, window: Duration) -> BreakerPolicy {
        self.window = Some(window);
        self
    }

    #[doc(hidden)]
    pub const fn set_failure_rate(mut self, rate: f64) -> BreakerPolicy {
        self.rate = Some(rate);
        self.threshold = None;
        self
    }

    #[doc(hidden)]
    pub const fn set_minimum_calls(mut self, n: u32) -> BreakerPolicy {
        self.minimum_calls = Some(n);
        self
    }

    #[doc(hidden)]
    pub const fn set_open_for(mut self, open_for: Duration) -> BreakerPolicy {
        self.open_for = open_for;
        self
    }

    #[doc(hidden)]
    pub const fn set_half_open_probes(mut self, n: u32) -> BreakerPolicy {
        self.half_open_probes = n;
        self
    }

    #[doc(hidden)]
    pub const fn set_critical(mut self, critical: bool) -> BreakerPolicy {
        self.critical = critical;
        self
    }

    /// Whether it is [`critical`](Self::critical).
    pub const fn is_critical(&self) -> bool {
        self.critical
    }

    /// The breaker's configuration: a rate over the window, a count within the window, or
    /// consecutive failures.
    pub(crate) const fn config(&self) -> Config {
        let window = match self.window {
            Some(w) => w,
            None => TripPolicy::DEFAULT_WINDOW,
        };
        let trip = match (self.rate, self.threshold, self.window) {
            (Some(rate), _, _) => TripPolicy::Rate {
                rate,
                minimum_calls: match self.minimum_calls {
                    Some(n) => n,
                    None => TripPolicy::DEFAULT_MINIMUM_CALLS,
                },
                window,
            },
            (None, threshold, Some(window)) => TripPolicy::Count {
                threshold: match threshold {
                    Some(n) if n <= MAX_IN_WINDOW => n,
                    Some(_) => MAX_IN_WINDOW,
                    None => TripPolicy::DEFAULT_THRESHOLD,
                },
                window,
            },
            (None, threshold, None) => TripPolicy::Consecutive {
                threshold: match threshold {
                    Some(n) => n,
                    None => TripPolicy::DEFAULT_THRESHOLD,
                },
            },
        };
        Config {
            trip,
            open_for: self.open_for,
            half_open_probes: self.half_open_probes,
        }
    }
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy::DEFAULT
    }
}

/// The deadline of a `#[timeout]`, as a `const` shared by many functions:
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Elapsed, TimeoutPolicy, timeout};
///
/// pub const BACKEND: TimeoutPolicy = TimeoutPolicy::new(Duration::from_secs(2));
///
/// #[timeout(policy = BACKEND)]
/// async fn lookup(id: u32) -> Result<u32, Elapsed> { Ok(id) }
///
/// // A deadline written beside the policy overrides it.
/// #[timeout("500ms", policy = BACKEND)]
/// async fn quick_lookup(id: u32) -> Result<u32, Elapsed> { Ok(id) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutPolicy {
    name: Option<&'static str>,
    after: Duration,
}

impl TimeoutPolicy {
    /// A deadline of `after`.
    pub const fn new(after: Duration) -> TimeoutPolicy {
        if after.is_zero() {
            panic!("TimeoutPolicy: the deadline must be longer than zero");
        }
        TimeoutPolicy { name: None, after }
    }

    /// A deadline of `after`, named `name`.
    pub const fn named(name: &'static str, after: Duration) -> TimeoutPolicy {
        if name.is_empty() {
            panic!("TimeoutPolicy::named: the name must not be empty");
        }
        TimeoutPolicy {
            name: Some(name),
            ..TimeoutPolicy::new(after)
        }
    }

    /// The deadline.
    pub const fn after(&self) -> Duration {
        self.after
    }

    /// Its name, if it was made with [`named`](Self::named).
    pub const fn name(&self) -> Option<&'static str> {
        self.name
    }
}

/// The settings of a `#[bulkhead]`, as a `const` shared by many functions:
///
/// ```
/// use std::time::Duration;
/// use steadfast::{BulkheadFull, BulkheadPolicy, bulkhead};
///
/// pub const CONVERTERS: BulkheadPolicy = BulkheadPolicy::named("converters", 4)
///     .max_wait(Duration::from_millis(250))
///     .max_queue(16);
///
/// #[bulkhead(policy = CONVERTERS)]
/// fn to_pdf(doc: &str) -> Result<usize, BulkheadFull> { Ok(doc.len()) }
///
/// #[bulkhead(policy = CONVERTERS)]
/// async fn to_png(doc: &str) -> Result<usize, BulkheadFull> { Ok(doc.len()) }
///
/// // Keys written beside the policy override it for this function (here: a bulkhead of
/// // its own, with the policy's wait and queue).
/// #[bulkhead(policy = CONVERTERS, name = "thumbnails", max_concurrent = 1)]
/// fn thumbnail(doc: &str) -> Result<usize, BulkheadFull> { Ok(doc.len()) }
///
/// to_pdf("a").unwrap();
/// thumbnail("a").unwrap();
/// assert_eq!(steadfast::bulkhead("converters").unwrap().limit(), 4);
/// assert_eq!(steadfast::bulkhead("thumbnails").unwrap().limit(), 1);
/// ```
///
/// A policy made with [`named`](Self::named) gives its name to the bulkhead of every
/// function that uses it (unless `name = "…"` is written beside it): those functions share
/// one bulkhead. One made with [`new`](Self::new) gives each function a bulkhead of its
/// own. A bad value is a compile error at the `const`:
///
/// ```compile_fail
/// const BAD: steadfast::BulkheadPolicy = steadfast::BulkheadPolicy::new(0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkheadPolicy {
    name: Option<&'static str>,
    max_concurrent: u32,
    max_wait: Duration,
    max_queue: Option<u32>,
}

impl BulkheadPolicy {
    /// `max_concurrent` calls inside at once; no waiting (a call that finds every slot in
    /// use is turned away at once).
    pub const fn new(max_concurrent: u32) -> BulkheadPolicy {
        if max_concurrent == 0 || max_concurrent > u32::MAX >> 1 {
            panic!("BulkheadPolicy: `max_concurrent` must be between 1 and 2147483647");
        }
        BulkheadPolicy {
            name: None,
            max_concurrent,
            max_wait: Duration::ZERO,
            max_queue: None,
        }
    }

    /// [`new`](Self::new), naming the bulkhead: every function using this policy shares
    /// the bulkhead `name`.
    pub const fn named(name: &'static str, max_concurrent: u32) -> BulkheadPolicy {
        if name.is_empty() {
            panic!("BulkheadPolicy::named: the name must not be empty");
        }
        BulkheadPolicy {
            name: Some(name),
            ..BulkheadPolicy::new(max_concurrent)
        }
    }

    /// How long a call may wait for a slot.
    pub const fn max_wait(self, max_wait: Duration) -> BulkheadPolicy {
        BulkheadPolicy { max_wait, ..self }
    }

    /// Calls allowed to wait at once; set [`max_wait`](Self::max_wait) first (without a
    /// wait, nobody queues).
    pub const fn max_queue(self, max_queue: u32) -> BulkheadPolicy {
        if self.max_wait.is_zero() {
            panic!(
                "BulkheadPolicy: `max_queue` bounds the calls waiting for a slot; set `max_wait` first"
            );
        }
        if max_queue == 0 || max_queue > u32::MAX >> 1 {
            panic!("BulkheadPolicy: `max_queue` must be between 1 and 2147483647");
        }
        BulkheadPolicy {
            max_queue: Some(max_queue),
            ..self
        }
    }

    /// Its name, if it was made with [`named`](Self::named).
    pub const fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// Calls inside at once.
    pub const fn limit(&self) -> u32 {
        self.max_concurrent
    }

    /// The bulkhead settings of a function using it, named `default_name` unless the
    /// policy names it.
    #[doc(hidden)]
    pub const fn spec(self, default_name: &'static str) -> BulkheadSpec {
        BulkheadSpec {
            name: self.name,
            default_name,
            max_concurrent: self.max_concurrent,
            max_wait: self.max_wait,
            max_queue: self.max_queue,
            max_keys: None,
        }
    }
}

/// The settings of a `#[rate_limit]`, as a `const` shared by many functions:
///
/// ```
/// use std::time::Duration;
/// use steadfast::{RateLimitPolicy, RateLimited, rate_limit};
///
/// // The API's quota, shared by every function that calls it.
/// pub const QUOTES_API: RateLimitPolicy =
///     RateLimitPolicy::named("quotes.api", 100, Duration::from_secs(1)).burst(10);
///
/// #[rate_limit(policy = QUOTES_API)]
/// fn quote(symbol: &str) -> Result<usize, RateLimited> { Ok(symbol.len()) }
///
/// #[rate_limit(policy = QUOTES_API, max_wait = "2s")]
/// async fn history(symbol: &str) -> Result<usize, RateLimited> { Ok(symbol.len()) }
///
/// quote("X").unwrap();
/// assert_eq!(steadfast::rate_limiter("quotes.api").unwrap().burst(), 10);
/// ```
///
/// A bad value is a compile error at the `const`:
///
/// ```compile_fail
/// const BAD: steadfast::RateLimitPolicy =
///     steadfast::RateLimitPolicy::new(0, std::time::Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitPolicy {
    name: Option<&'static str>,
    rate: u32,
    per: Duration,
    burst: Option<u32>,
    max_wait: Duration,
}

impl RateLimitPolicy {
    /// `rate` calls per `per`, in bursts of up to `rate`; no waiting for a turn.
    pub const fn new(rate: u32, per: Duration) -> RateLimitPolicy {
        if rate == 0 {
            panic!("RateLimitPolicy: `rate` must be at least 1");
        }
        if per.is_zero() {
            panic!("RateLimitPolicy: `per` must be longer than zero");
        }
        RateLimitPolicy {
            name: None,
            rate,
            per,
            burst: None,
            max_wait: Duration::ZERO,
        }
    }

    /// [`new`](Self::new), naming the limiter: every function using this policy shares the
    /// limiter `name` (one quota for all of them).
    pub const fn named(name: &'static str, rate: u32, per: Duration) -> RateLimitPolicy {
        if name.is_empty() {
            panic!("RateLimitPolicy::named: the name must not be empty");
        }
        RateLimitPolicy {
            name: Some(name),
            ..RateLimitPolicy::new(rate, per)
        }
    }

    /// Calls admitted back to back from idle.
    pub const fn burst(self, burst: u32) -> RateLimitPolicy {
        if burst == 0 {
            panic!("RateLimitPolicy: `burst` must be at least 1");
        }
        RateLimitPolicy {
            burst: Some(burst),
            ..self
        }
    }

    /// How long a call may wait for its turn.
    pub const fn max_wait(self, max_wait: Duration) -> RateLimitPolicy {
        RateLimitPolicy { max_wait, ..self }
    }

    /// Its name, if it was made with [`named`](Self::named).
    pub const fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// The limit: `rate` calls per `per`.
    pub const fn limit(&self) -> (u32, Duration) {
        (self.rate, self.per)
    }

    /// The limiter settings of a function using it, named `default_name` unless the
    /// policy names it.
    #[doc(hidden)]
    pub const fn spec(self, default_name: &'static str) -> LimitSpec {
        LimitSpec {
            name: self.name,
            default_name,
            rate: self.rate,
            per: self.per,
            burst: self.burst,
            max_wait: self.max_wait,
            max_keys: None,
            fleet_nodes: None,
            fleet_lease: LimitSpec::NO_LEASE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_picks_the_trip_mode_from_what_was_set() {
        let p = BreakerPolicy::new();
        assert_eq!(p.config(), Config::DEFAULT);
        let p = BreakerPolicy::new().failure_threshold(3);
        assert_eq!(p.config().trip, TripPolicy::Consecutive { threshold: 3 });
        let w = Duration::from_secs(10);
        let p = p.window(w);
        assert_eq!(
            p.config().trip,
            TripPolicy::Count {
                threshold: 3,
                window: w
            }
        );
        let p = p.failure_rate(0.5).minimum_calls(7);
        assert_eq!(
            p.config().trip,
            TripPolicy::Rate {
                rate: 0.5,
                minimum_calls: 7,
                window: w
            }
        );
        let p = p.failure_threshold(2);
        assert_eq!(
            p.config().trip,
            TripPolicy::Count {
                threshold: 2,
                window: w
            },
            "a threshold replaces the rate"
        );
    }
}
