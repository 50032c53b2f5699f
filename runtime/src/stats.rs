//! Per-function counters of what `#[retry]` and `#[timeout]` did, for the exporters.
//!
//! Each decorated function has its counters in a `static` of its own; they are written only
//! on the paths that retry or time out (never on a first-attempt success or a call that
//! finishes in time), with one relaxed atomic add and no lock. A function's counters join
//! the process-wide list the first time one of them moves.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

/// What `#[retry]` did for one function.
#[derive(Debug)]
pub struct RetryStats {
    function: &'static str,
    retries: AtomicU64,
    exhausted: AtomicU64,
    listed: AtomicBool,
}

/// What `#[timeout]` did for one function.
#[derive(Debug)]
pub struct TimeoutStats {
    function: &'static str,
    elapsed: AtomicU64,
    listed: AtomicBool,
}

static RETRIES: Mutex<Vec<&'static RetryStats>> = Mutex::new(Vec::new());
static TIMEOUTS: Mutex<Vec<&'static TimeoutStats>> = Mutex::new(Vec::new());

fn list<T>(listed: &AtomicBool, registry: &Mutex<Vec<&'static T>>, this: &'static T) {
    if !listed.load(Relaxed) && !listed.swap(true, Relaxed) {
        registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(this);
    }
}

impl RetryStats {
    /// Counters for `function` (`module::path::fn_name`), all zero.
    pub const fn new(function: &'static str) -> Self {
        RetryStats {
            function,
            retries: AtomicU64::new(0),
            exhausted: AtomicU64::new(0),
            listed: AtomicBool::new(false),
        }
    }

    /// An attempt after the first is about to run.
    pub(crate) fn retried(&'static self) {
        list(&self.listed, &RETRIES, self);
        self.retries.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        crate::facade::retried(self.function);
    }

    /// A call gave up: no attempts left, or no time left under `max_elapsed`.
    pub(crate) fn exhausted(&'static self) {
        list(&self.listed, &RETRIES, self);
        self.exhausted.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        crate::facade::exhausted(self.function);
    }
}

impl TimeoutStats {
    /// Counters for `function`, all zero.
    pub const fn new(function: &'static str) -> Self {
        TimeoutStats {
            function,
            elapsed: AtomicU64::new(0),
            listed: AtomicBool::new(false),
        }
    }

    /// A deadline passed.
    pub(crate) fn elapsed(&'static self) {
        list(&self.listed, &TIMEOUTS, self);
        self.elapsed.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        crate::facade::timed_out(self.function);
    }
}

/// One function's `#[retry]` counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryCounts {
    /// `module::path::fn_name`.
    pub function: &'static str,
    /// Attempts after the first (each one followed a wait).
    pub retries: u64,
    /// Calls that gave up with attempts or `max_elapsed` used up.
    pub exhausted: u64,
}

/// One function's `#[timeout]` counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeoutCounts {
    /// `module::path::fn_name`.
    pub function: &'static str,
    /// Calls whose deadline passed.
    pub elapsed: u64,
}

/// Every function whose retries have moved.
pub fn retry_counts() -> Vec<RetryCounts> {
    RETRIES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|s| RetryCounts {
            function: s.function,
            retries: s.retries.load(Relaxed),
            exhausted: s.exhausted.load(Relaxed),
        })
        .collect()
}

/// Every function whose timeouts have moved.
pub fn timeout_counts() -> Vec<TimeoutCounts> {
    TIMEOUTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|s| TimeoutCounts {
            function: s.function,
            elapsed: s.elapsed.load(Relaxed),
        })
        .collect()
}
