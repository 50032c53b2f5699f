//! Per-function counters of what `#[retry]` and `#[timeout]` did.
//!
//! Each decorated function has its counters in a `static` of its own; they are written only
//! on the paths that retry or time out (never on a first-attempt success or a call that
//! finishes in time), with one relaxed atomic add and no lock. A function's counters join
//! the registry of figures (`figures`) the first time one of them moves, and every move is
//! told to the recorders (`observe`).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::figures::{self, Count, Figures, Function, Part, RetryMetrics};
use crate::observe;

/// What `#[retry]` did for one function.
#[derive(Debug)]
pub(crate) struct RetryStats {
    function: &'static Function,
    retries: AtomicU64,
    gate_waits: AtomicU64,
    exhausted: AtomicU64,
    listed: AtomicBool,
    /// Its policy's problems were logged.
    reported: AtomicBool,
}

/// What `#[timeout]` did for one function.
#[derive(Debug)]
pub struct TimeoutStats {
    function: &'static Function,
    elapsed: AtomicU64,
    listed: AtomicBool,
    /// Detached bodies still running.
    detached: AtomicUsize,
}

/// Bodies of one `#[timeout(…, detach)]` function that may run at once (most of them stuck
/// past their deadline, or no call would be waiting on them): a bound on the threads a
/// hung dependency can take.
pub(crate) const MAX_DETACHED: usize = 64;

/// One detached body counted while it runs; dropped when it ends (or is never started).
#[derive(Debug)]
pub(crate) struct Detached(&'static TimeoutStats);

impl Drop for Detached {
    fn drop(&mut self) {
        self.0.detached.fetch_sub(1, Relaxed);
    }
}

impl RetryStats {
    /// Counters for `function`, all zero.
    pub(crate) const fn new(function: &'static Function) -> Self {
        RetryStats {
            function,
            retries: AtomicU64::new(0),
            gate_waits: AtomicU64::new(0),
            exhausted: AtomicU64::new(0),
            listed: AtomicBool::new(false),
            reported: AtomicBool::new(false),
        }
    }

    /// Logs, once per function, what is wrong with a policy given at run time.
    #[cold]
    pub(crate) fn report_policy(&'static self, problems: impl FnOnce() -> Vec<String>) {
        if self.reported.swap(true, Relaxed) {
            return;
        }
        let function = self.function.name();
        for problem in problems() {
            tracing::error!(target: "steadfast", function, "#[retry] of `{function}`: {problem}");
        }
    }

    /// What the step after an attempt was.
    pub(crate) fn count(&'static self, what: Count) {
        let counter = match what {
            Count::Retry => &self.retries,
            Count::WaitOutGate => &self.gate_waits,
            Count::Exhausted => &self.exhausted,
            Count::Nothing => return,
        };
        if !self.listed.load(Relaxed) && !self.listed.swap(true, Relaxed) {
            figures::join(self.function, self);
        }
        counter.fetch_add(1, Relaxed);
        observe::retry(self.function.name(), what);
    }
}

impl Part for RetryStats {
    fn read_into(&self, into: &mut Figures) {
        *into.retry.get_or_insert_default() += RetryMetrics {
            retries: self.retries.load(Relaxed),
            gate_waits: self.gate_waits.load(Relaxed),
            exhausted: self.exhausted.load(Relaxed),
        };
    }
}

impl TimeoutStats {
    /// Counters for `function`, all zero.
    pub const fn new(function: &'static Function) -> Self {
        TimeoutStats {
            function,
            elapsed: AtomicU64::new(0),
            listed: AtomicBool::new(false),
            detached: AtomicUsize::new(0),
        }
    }

    /// Counts one more detached body, unless [`MAX_DETACHED`] are running.
    pub(crate) fn detach(&'static self) -> Option<Detached> {
        self.detached
            .fetch_update(Relaxed, Relaxed, |n| (n < MAX_DETACHED).then_some(n + 1))
            .ok()
            .map(|_| Detached(self))
    }

    /// A deadline passed.
    pub(crate) fn elapsed(&'static self) {
        if !self.listed.load(Relaxed) && !self.listed.swap(true, Relaxed) {
            figures::join(self.function, self);
        }
        self.elapsed.fetch_add(1, Relaxed);
        observe::timed_out(self.function.name());
    }
}

impl Part for TimeoutStats {
    fn read_into(&self, into: &mut Figures) {
        *into.timeouts.get_or_insert(0) += self.elapsed.load(Relaxed);
    }
}
