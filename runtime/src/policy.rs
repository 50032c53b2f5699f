//! Policies: the settings of a breaker or a deadline written once, as a `const`, and
//! shared by every function that names it with `policy = …`. ([`RetryPolicy`] lives beside
//! the retry state machine, in `retry.rs`.)
//!
//! Every setter is a `const fn` that checks its value: in a `const`, a bad value is a
//! compile error (a const-evaluation panic whose message names the setting). The setters
//! prefixed `set_` are what generated code calls for keys written beside a `policy`; they
//! do not check (the macro checked the literals, and the runtime checks the rest when the
//! breaker is first used) and are not part of the public API.

use std::time::Duration;

use crate::breaker::{Config, MAX_FAILURES, MAX_IN_WINDOW, MAX_PROBES, TripPolicy};

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
