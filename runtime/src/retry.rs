//! `#[retry]`: the backoff schedule, jitter, and the state of one call's attempts.
//!
//! Every step saturates: no multiplier, attempt count or delay can overflow, panic or wrap
//! to zero, and no wait exceeds `max_delay`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::{Nanos, Waits};
use crate::figures::{Count, Function};
use crate::gate::Rejected;
use crate::stats::RetryStats;

/// How the wait grows from one attempt to the next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backoff {
    /// `delay` every time.
    Constant,
    /// `delay × n` before attempt `n + 1`.
    Linear,
    /// `delay × multiplier^(n-1)` before attempt `n + 1`.
    Exponential {
        /// Growth per attempt, at least 1.
        multiplier: f64,
    },
}

/// Randomness applied to the (already capped) wait `d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// `d`.
    None,
    /// `U(0, d)`.
    Full,
    /// `d/2 + U(0, d/2)`.
    Equal,
    /// `min(max_delay, U(delay, 3 × previous wait))`.
    Decorrelated,
}

/// The settings of a `#[retry]`, as a `const` shared by many functions:
///
/// ```
/// use std::time::Duration;
/// use steadfast::{RetryPolicy, retry};
///
/// pub const BACKEND: RetryPolicy = RetryPolicy::named("backend")
///     .attempts(4)
///     .delay(Duration::from_millis(50))
///     .max_delay(Duration::from_secs(2));
///
/// #[retry(policy = BACKEND)]
/// fn fetch(id: u32) -> Result<u32, std::io::Error> { Ok(id) }
///
/// // Keys written beside the policy override it for this function.
/// #[retry(policy = BACKEND, attempts = 2)]
/// fn fetch_once_more(id: u32) -> Result<u32, std::io::Error> { Ok(id) }
/// # assert_eq!(fetch(1).unwrap() + fetch_once_more(1).unwrap(), 2);
/// ```
///
/// Every setter is a `const fn` that checks its value: a bad one is a compile error at the
/// `const`, with a message naming the setting:
///
/// ```compile_fail
/// const NONE: steadfast::RetryPolicy = steadfast::RetryPolicy::new().attempts(0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub(crate) name: Option<&'static str>,
    /// Attempts in all, the first included (≥ 1).
    pub(crate) attempts: u32,
    /// Wait before the second attempt.
    pub(crate) delay: Duration,
    /// Growth of the wait.
    pub(crate) backoff: Backoff,
    /// Cap on one wait.
    pub(crate) max_delay: Duration,
    /// Randomness on the wait.
    pub(crate) jitter: Jitter,
    /// Give up once this much time has passed since the first attempt.
    pub(crate) max_elapsed: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::DEFAULT
    }
}

impl Backoff {
    /// `backoff = "exponential"` with the default `multiplier = 2.0`.
    pub const DEFAULT: Backoff = Backoff::Exponential { multiplier: 2.0 };
}

impl RetryPolicy {
    /// The defaults of `#[retry]`: 3 attempts, 100 ms before the second, doubling, at most
    /// 10 s, full jitter, no `max_elapsed`. Generated code fills every key not written from
    /// here, so this is their one home.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        name: None,
        attempts: 3,
        delay: Duration::from_millis(100),
        backoff: Backoff::DEFAULT,
        max_delay: Duration::from_secs(10),
        jitter: Jitter::Full,
        max_elapsed: None,
    };

    /// The defaults, with no name.
    pub const fn new() -> RetryPolicy {
        RetryPolicy::DEFAULT
    }

    /// The defaults, named `name` (the name under which its settings can be changed
    /// without recompiling).
    pub const fn named(name: &'static str) -> RetryPolicy {
        if name.is_empty() {
            panic!("RetryPolicy::named: the name must not be empty");
        }
        RetryPolicy {
            name: Some(name),
            ..RetryPolicy::DEFAULT
        }
    }

    /// Attempts in all, the first included (at least 1).
    pub const fn attempts(self, n: u32) -> RetryPolicy {
        if n == 0 {
            panic!("RetryPolicy: `attempts` must be at least 1 (the first attempt counts)");
        }
        self.set_attempts(n)
    }

    /// The wait before the second attempt.
    pub const fn delay(self, delay: Duration) -> RetryPolicy {
        if delay.is_zero() {
            panic!("RetryPolicy: `delay` must be longer than zero");
        }
        self.set_delay(delay)
    }

    /// How the wait grows: [`Backoff::Constant`], [`Backoff::Linear`] or
    /// [`Backoff::Exponential`].
    pub const fn backoff(self, backoff: Backoff) -> RetryPolicy {
        if let Backoff::Exponential { multiplier } = backoff {
            if !(multiplier >= 1.0 && multiplier < f64::INFINITY) {
                panic!("RetryPolicy: `multiplier` must be a number of at least 1");
            }
        }
        self.set_backoff(backoff)
    }

    /// Exponential backoff growing by `multiplier` per attempt (at least 1).
    pub const fn multiplier(self, multiplier: f64) -> RetryPolicy {
        self.backoff(Backoff::Exponential { multiplier })
    }

    /// The cap on one wait.
    pub const fn max_delay(self, max_delay: Duration) -> RetryPolicy {
        if max_delay.is_zero() {
            panic!("RetryPolicy: `max_delay` must be longer than zero");
        }
        self.set_max_delay(max_delay)
    }

    /// Randomness on the (capped) wait.
    pub const fn jitter(self, jitter: Jitter) -> RetryPolicy {
        self.set_jitter(jitter)
    }

    /// Give up once this much time has passed since the first attempt.
    pub const fn max_elapsed(self, max_elapsed: Duration) -> RetryPolicy {
        if max_elapsed.is_zero() {
            panic!("RetryPolicy: `max_elapsed` must be longer than zero");
        }
        self.set_max_elapsed(Some(max_elapsed))
    }

    /// Its name, if it was made with [`named`](Self::named).
    pub const fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// The wait before the second attempt (for the macro crate's test that ties its copy of
    /// the default to this one).
    #[doc(hidden)]
    pub const fn delay_value(&self) -> Duration {
        self.delay
    }

    #[doc(hidden)]
    pub const fn set_name(mut self, name: &'static str) -> RetryPolicy {
        self.name = Some(name);
        self
    }

    #[doc(hidden)]
    pub const fn set_attempts(mut self, n: u32) -> RetryPolicy {
        self.attempts = n;
        self
    }

    #[doc(hidden)]
    pub const fn set_delay(mut self, delay: Duration) -> RetryPolicy {
        self.delay = delay;
        self
    }

    #[doc(hidden)]
    pub const fn set_backoff(mut self, backoff: Backoff) -> RetryPolicy {
        self.backoff = backoff;
        self
    }

    #[doc(hidden)]
    pub const fn set_max_delay(mut self, max_delay: Duration) -> RetryPolicy {
        self.max_delay = max_delay;
        self
    }

    #[doc(hidden)]
    pub const fn set_jitter(mut self, jitter: Jitter) -> RetryPolicy {
        self.jitter = jitter;
        self
    }

    #[doc(hidden)]
    pub const fn set_max_elapsed(mut self, max_elapsed: Option<Duration>) -> RetryPolicy {
        self.max_elapsed = max_elapsed;
        self
    }

    /// With every value in range: `attempts` at least 1, a `multiplier` that is a number of
    /// at least 1, `max_delay` at least `delay`.
    pub(crate) fn checked(self) -> RetryPolicy {
        let backoff = match self.backoff {
            Backoff::Exponential { multiplier }
                if !(multiplier >= 1.0 && multiplier.is_finite()) =>
            {
                Backoff::Exponential { multiplier: 1.0 }
            }
            backoff => backoff,
        };
        RetryPolicy {
            attempts: self.attempts.max(1),
            backoff,
            max_delay: self.max_delay.max(self.delay),
            ..self
        }
    }

    /// What is wrong with these settings, one line per key.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.attempts == 0 {
            problems.push("`attempts` is 0; using 1 (the first attempt always runs)".to_owned());
        }
        if let Backoff::Exponential { multiplier } = self.backoff {
            if !(multiplier >= 1.0 && multiplier.is_finite()) {
                problems.push(format!(
                    "`multiplier` is {multiplier}, not a number of at least 1; using 1"
                ));
            }
        }
        if self.max_delay < self.delay {
            problems.push(format!(
                "`max_delay` ({:?}) is shorter than `delay` ({:?}); using {:?}",
                self.max_delay, self.delay, self.delay
            ));
        }
        problems
    }

    /// The wait after `n` failed attempts (`n ≥ 1`), before jitter, capped at `max_delay`.
    pub fn backoff_delay(&self, n: u32) -> Duration {
        let n = n.max(1);
        let raw = match self.backoff {
            Backoff::Constant => Some(self.delay),
            Backoff::Linear => Some(self.delay.saturating_mul(n)),
            Backoff::Exponential { multiplier } => {
                let exponent = i32::try_from(n - 1).unwrap_or(i32::MAX);
                let factor = multiplier.max(1.0).powi(exponent);
                Duration::try_from_secs_f64(self.delay.as_secs_f64() * factor).ok()
            }
        };
        // Not representable (overflow, infinity): it is past any cap.
        raw.map_or(self.max_delay, |d| d.min(self.max_delay))
    }

    /// The wait after `n` failed attempts, jittered; `previous` is the last wait taken
    /// (zero before the first, which decorrelated jitter takes as `delay`).
    pub fn wait(&self, n: u32, previous: Duration) -> Duration {
        let d = self.backoff_delay(n);
        match self.jitter {
            Jitter::None => d,
            Jitter::Full => uniform(Duration::ZERO, d),
            Jitter::Equal => {
                let half = d / 2;
                half.saturating_add(uniform(Duration::ZERO, d - half))
            }
            Jitter::Decorrelated => {
                let low = self.delay.min(self.max_delay);
                let high = previous.max(low).saturating_mul(3);
                uniform(low, high).min(self.max_delay)
            }
        }
    }
}

/// Uniform in `[low, high]`, to the nanosecond.
fn uniform(low: Duration, high: Duration) -> Duration {
    let lo = crate::clock::duration_nanos(low);
    let hi = crate::clock::duration_nanos(high);
    if hi <= lo {
        return low;
    }
    Duration::from_nanos(fastrand::u64(lo..=hi))
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Return this attempt's result.
    Stop,
    /// Wait, then attempt again.
    Wait(Duration),
}

/// Why a retrying call stopped on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exhausted {
    /// No attempts left, or the next wait would cross `max_elapsed`.
    Yes,
    /// `retry_if` declined the error, or a gate will stay shut too long.
    No,
}

/// The attempts of one call, from its first failure on. Lives on the caller's stack:
/// concurrent calls share nothing.
///
/// A call holds an `Option<RetryState>` ([`RetryCell::start`]): `None`, one word written,
/// until an attempt fails, so a call that succeeds at once reads no policy and writes
/// nothing else. The state is made, and the call's policy read once for the rest of the
/// call, at its first failure, or at its start when the policy has `max_elapsed`, is known
/// only at run time, or was changed by `config::apply`.
#[derive(Debug)]
pub struct RetryState {
    attempts: u32,
    rejections: u32,
    /// The last wait taken, in nanoseconds.
    previous: u64,
    /// When the call started, read only when its policy had `max_elapsed` then; zero
    /// otherwise (a real reading never is: the clock's origin is a day in the past).
    started: Nanos,
    /// The policy this call runs by (a call never mixes two policies that `config::apply`
    /// set while it ran). A reference, so that `Option<RetryState>` takes no more room.
    policy: &'static RetryPolicy,
}

impl RetryState {
    /// For a call that starts now under `policy`. Reads the clock only when `max_elapsed`
    /// is set; `waits` is the clock the waits run on (the thread's, or tokio's for async
    /// functions).
    pub(crate) fn new(policy: &'static RetryPolicy, waits: Waits) -> Self {
        RetryState {
            started: match policy.max_elapsed {
                Some(_) => waits.now(),
                None => Nanos(0),
            },
            ..RetryState::at_first_failure(policy)
        }
    }

    /// For a call whose first attempt just failed, its policy read now: without a start
    /// time, so a `max_elapsed` that `config::apply` set while it ran applies from the
    /// next call. (`new` is this with the start time.)
    fn at_first_failure(policy: &'static RetryPolicy) -> Self {
        RetryState {
            attempts: 0,
            rejections: 0,
            // No wait taken yet: jitter treats it as `delay` (see `wait`).
            previous: 0,
            started: Nanos(0),
            policy,
        }
    }

    /// Attempts that ran so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// After an attempt that failed with a retryable error.
    pub(crate) fn after_failure(&mut self, waits: Waits) -> (Step, Exhausted) {
        let policy = self.policy;
        self.attempts = self.attempts.saturating_add(1);
        if self.attempts >= policy.attempts {
            return (Step::Stop, Exhausted::Yes);
        }
        let wait = policy.wait(self.attempts, self.previous());
        self.take(wait, waits)
    }

    /// After a call that a gate inside the retry rejected: no attempt ran, so none is
    /// spent. Waits out the gate when it says when to come back and that fits the policy,
    /// else stops.
    pub(crate) fn after_rejection(
        &mut self,
        rejected: Rejected,
        waits: Waits,
    ) -> (Step, Exhausted) {
        let policy = self.policy;
        // Rejections have a budget of their own so that a gate whose turns keep being
        // taken by other callers cannot hold this call for ever.
        self.rejections = self.rejections.saturating_add(1);
        let Some(after) = rejected.try_again_in else {
            return (Step::Stop, Exhausted::No);
        };
        if self.rejections > policy.attempts || after > policy.max_delay {
            return (Step::Stop, Exhausted::No);
        }
        let backoff = policy.wait(self.attempts.max(1), self.previous());
        self.take(backoff.max(after), waits)
    }

    fn take(&mut self, wait: Duration, waits: Waits) -> (Step, Exhausted) {
        // Without a start (its policy read at a failure, after `config::apply` set
        // `max_elapsed` while the call ran) the limit applies from the next call.
        if let (Some(limit), false) = (self.policy.max_elapsed, self.started == Nanos(0)) {
            let elapsed = waits.now().saturating_sub(self.started);
            if elapsed.saturating_add(wait) > limit {
                return (Step::Stop, Exhausted::Yes);
            }
        }
        self.previous = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        (Step::Wait(wait), Exhausted::No)
    }

    /// The last wait taken (zero before the first).
    fn previous(&self) -> Duration {
        Duration::from_nanos(self.previous)
    }
}

/// After an attempt that failed with a retryable error, by the call's policy (read now if
/// this is its first failure).
#[cold]
pub(crate) fn after_failure(
    state: &mut Option<RetryState>,
    cell: &'static RetryCell,
    waits: Waits,
) -> Step {
    let state = state.get_or_insert_with(|| RetryState::at_first_failure(cell.get()));
    let (step, exhausted) = state.after_failure(waits);
    cell.stats.count(match (step, exhausted) {
        (Step::Wait(_), _) => Count::Retry,
        (Step::Stop, Exhausted::Yes) => Count::Exhausted,
        (Step::Stop, Exhausted::No) => Count::Nothing,
    });
    step
}

#[cold]
pub(crate) fn after_rejection(
    state: &mut Option<RetryState>,
    cell: &'static RetryCell,
    rejected: Rejected,
    waits: Waits,
) -> Step {
    let state = state.get_or_insert_with(|| RetryState::at_first_failure(cell.get()));
    let (step, exhausted) = state.after_rejection(rejected, waits);
    // A wait on a gate is not a retry: the body did not run.
    cell.stats.count(match (step, exhausted) {
        (Step::Wait(_), _) => Count::WaitOutGate,
        (Step::Stop, Exhausted::Yes) => Count::Exhausted,
        (Step::Stop, Exhausted::No) => Count::Nothing,
    });
    step
}

/// The `static` behind a `#[retry]` function's policy: the policy as written (a `const`, or
/// built at the first call when a value is known only then), unless `config::apply`
/// changed it. Listed before `main`, so that its name is known before its first call.
///
/// A policy set by `config::apply` is kept for the life of the process (a few dozen bytes
/// per change), so a call reads the policy in force with one load and holds a plain
/// reference to it: no reference count to move, and nothing to drop in every decorated
/// function.
#[derive(Debug)]
pub struct RetryCell {
    /// The policy as written; for one known only at run time, a placeholder.
    base: RetryPolicy,
    /// Built at the first call, for a policy known only at run time.
    lazy: Option<LazyPolicy>,
    /// `module::fn`, the name when the policy has none.
    default_name: &'static str,
    /// Its retries, waits on a gate and exhausted calls (in the cell: one `static` per
    /// function, not two).
    stats: RetryStats,
    /// True when a call must read the policy at its start: `base` is not the policy in
    /// force (it is lazy, or `config::apply` changed it), or it has `max_elapsed` (a call
    /// needs its start time). The one load of the fast path.
    slow: AtomicBool,
    /// The policy `config::apply` set last (leaked: see above).
    live: arc_swap::ArcSwapOption<&'static RetryPolicy>,
}

/// A policy built at the first call, and how to build it.
type LazyPolicy = (OnceLock<RetryPolicy>, fn() -> RetryPolicy);

impl RetryCell {
    /// A policy known at compile time.
    pub const fn new(
        policy: RetryPolicy,
        default_name: &'static str,
        function: &'static Function,
    ) -> Self {
        RetryCell {
            base: policy,
            lazy: None,
            default_name,
            stats: RetryStats::new(function),
            // A `max_elapsed` needs the clock at each call's start: the slow start.
            slow: AtomicBool::new(policy.max_elapsed.is_some()),
            live: arc_swap::ArcSwapOption::const_empty(),
        }
    }

    /// A policy with a value known only at run time: built and checked at the first call.
    pub const fn lazy(
        make: fn() -> RetryPolicy,
        default_name: &'static str,
        function: &'static Function,
    ) -> Self {
        RetryCell {
            base: RetryPolicy::DEFAULT,
            lazy: Some((OnceLock::new(), make)),
            default_name,
            stats: RetryStats::new(function),
            slow: AtomicBool::new(true),
            live: arc_swap::ArcSwapOption::const_empty(),
        }
    }

    /// A call starts: one load and a branch, and no state (`None`: made, and the policy
    /// read, when an attempt fails), unless the policy is known only at run time, `config::apply`
    /// changed it, or it has `max_elapsed`: then it is read now, with the clock under
    /// `max_elapsed`, and kept for the call.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn start(&'static self, waits: Waits) -> Option<RetryState> {
        if self.slow.load(Ordering::Relaxed) {
            return Some(self.start_slow(waits));
        }
        None
    }

    #[inline(never)]
    fn start_slow(&'static self, waits: Waits) -> RetryState {
        RetryState::new(self.get(), waits)
    }

    /// The policy in force: one load and a branch unless the cell is slow (see `slow`).
    #[inline]
    pub(crate) fn get(&'static self) -> &'static RetryPolicy {
        if self.slow.load(Ordering::Relaxed) {
            return self.get_slow();
        }
        &self.base
    }

    #[inline(never)]
    fn get_slow(&'static self) -> &'static RetryPolicy {
        match self.live.load().as_deref() {
            Some(live) => live,
            None => self.written(),
        }
    }

    /// The policy as written (built at the first call if need be).
    fn written(&'static self) -> &'static RetryPolicy {
        match &self.lazy {
            None => &self.base,
            Some((cell, make)) => cell.get_or_init(|| retry_policy(make(), &self.stats)),
        }
    }

    /// Its name: its policy's (or `name = "…"`), else the function's path.
    pub(crate) fn name(&'static self) -> &'static str {
        self.written().name().unwrap_or(self.default_name)
    }

    /// The settings in force.
    pub(crate) fn current(&'static self) -> RetryPolicy {
        *self.get()
    }

    /// Runs by `policy` from the next call on.
    pub(crate) fn set(&'static self, policy: RetryPolicy) {
        if *self.get() == policy {
            return;
        }
        let kept: &'static RetryPolicy = Box::leak(Box::new(policy));
        self.live.store(Some(std::sync::Arc::new(kept)));
        self.slow.store(true, Ordering::Release);
    }
}

/// A `#[retry]` policy with a value known only at run time: checked at the function's first
/// call (an error logged for each value out of range, naming the key), and used with each
/// such value replaced by the nearest valid one. Never a panic.
#[inline]
pub(crate) fn retry_policy(policy: RetryPolicy, stats: &'static RetryStats) -> RetryPolicy {
    let checked = policy.checked();
    if checked != policy {
        stats.report_policy(|| policy.problems());
    }
    checked
}

crate::listed::section!(
    /// Every `#[retry]` function's policy, listed before `main`.
    pub(crate) fn listed() -> RetryCell,
    "steadfast_0_1_retries"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(backoff: Backoff, jitter: Jitter) -> RetryPolicy {
        RetryPolicy {
            name: None,
            attempts: 10,
            delay: Duration::from_millis(100),
            backoff,
            max_delay: Duration::from_secs(1),
            jitter,
            max_elapsed: None,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn schedules_without_jitter() {
        let exp = policy(Backoff::Exponential { multiplier: 2.0 }, Jitter::None);
        let waits: Vec<_> = (1..=6).map(|n| exp.backoff_delay(n)).collect();
        assert_eq!(
            waits,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        let lin = policy(Backoff::Linear, Jitter::None);
        let waits: Vec<_> = (1..=4).map(|n| lin.backoff_delay(n)).collect();
        assert_eq!(waits, [ms(100), ms(200), ms(300), ms(400)]);
        let con = policy(Backoff::Constant, Jitter::None);
        assert!((1..=20).all(|n| con.backoff_delay(n) == ms(100)));
    }

    #[test]
    fn arithmetic_saturates_and_never_exceeds_max_delay() {
        let mut p = policy(
            Backoff::Exponential { multiplier: 1e300 },
            Jitter::Decorrelated,
        );
        p.attempts = u32::MAX;
        p.max_delay = Duration::MAX;
        p.delay = Duration::MAX;
        let mut previous = p.delay;
        for n in (1..1000).chain([u32::MAX - 1, u32::MAX]) {
            let w = p.wait(n, previous);
            assert!(w <= p.max_delay);
            previous = w;
        }
        let mut p = policy(Backoff::Linear, Jitter::Full);
        p.delay = Duration::MAX;
        assert!(p.wait(u32::MAX, Duration::MAX) <= p.max_delay);
        p.backoff = Backoff::Exponential {
            multiplier: f64::INFINITY,
        };
        assert_eq!(p.backoff_delay(3), p.max_delay);
        p.backoff = Backoff::Exponential {
            multiplier: f64::NAN,
        };
        assert!(p.backoff_delay(3) <= p.max_delay);
    }

    #[test]
    fn jitter_bounds_over_many_samples() {
        for (jitter, low, high) in [
            (Jitter::Full, ms(0), ms(400)),
            (Jitter::Equal, ms(200), ms(400)),
        ] {
            let p = policy(Backoff::Exponential { multiplier: 2.0 }, jitter);
            let samples: Vec<_> = (0..10_000).map(|_| p.wait(3, ms(200))).collect();
            assert!(
                samples.iter().all(|w| *w >= low && *w <= high),
                "{jitter:?}"
            );
            let mean = samples.iter().sum::<Duration>() / 10_000;
            let mid = (low + high) / 2;
            assert!(
                mean > mid - ms(10) && mean < mid + ms(10),
                "{jitter:?} mean {mean:?}"
            );
        }
        let p = policy(
            Backoff::Exponential { multiplier: 2.0 },
            Jitter::Decorrelated,
        );
        let mut previous = p.delay;
        for _ in 0..10_000 {
            let w = p.wait(3, previous);
            assert!(w >= p.delay && w <= p.max_delay.min(previous * 3));
            previous = w;
        }
    }

    #[test]
    fn stops_after_the_last_attempt_without_waiting() {
        let mut p = policy(Backoff::Constant, Jitter::None);
        p.attempts = 3;
        let mut state = RetryState::new(Box::leak(Box::new(p)), Waits::Thread);
        assert_eq!(
            state.after_failure(Waits::Thread),
            (Step::Wait(ms(100)), Exhausted::No)
        );
        assert_eq!(
            state.after_failure(Waits::Thread),
            (Step::Wait(ms(100)), Exhausted::No)
        );
        assert_eq!(
            state.after_failure(Waits::Thread),
            (Step::Stop, Exhausted::Yes)
        );
        assert_eq!(state.attempts(), 3);
    }

    #[test]
    fn a_wait_that_would_cross_max_elapsed_is_not_taken() {
        let mut p = policy(Backoff::Constant, Jitter::None);
        p.max_elapsed = Some(ms(150));
        let mut state = RetryState::new(Box::leak(Box::new(p)), Waits::Thread);
        assert_eq!(state.after_failure(Waits::Thread).0, Step::Wait(ms(100)));
        std::thread::sleep(ms(60)); // 60 + 100 > 150
        assert_eq!(
            state.after_failure(Waits::Thread),
            (Step::Stop, Exhausted::Yes)
        );
    }

    #[test]
    fn rejections_wait_out_the_breaker_without_spending_attempts() {
        let p = policy(Backoff::Constant, Jitter::None);
        let mut state = RetryState::new(Box::leak(Box::new(p)), Waits::Thread);
        let open = |ms_left| Rejected {
            try_again_in: Some(ms(ms_left)),
            overload: false,
        };
        assert_eq!(
            state.after_rejection(open(500), Waits::Thread).0,
            Step::Wait(ms(500))
        );
        assert_eq!(
            state.after_rejection(open(20), Waits::Thread).0,
            Step::Wait(ms(100))
        );
        assert_eq!(state.attempts(), 0);
        assert_eq!(
            state.after_rejection(open(5_000), Waits::Thread),
            (Step::Stop, Exhausted::No),
            "longer than max_delay: return the CircuitOpen at once"
        );
        let never = Rejected {
            try_again_in: None,
            overload: false,
        };
        assert_eq!(
            state.after_rejection(never, Waits::Thread),
            (Step::Stop, Exhausted::No),
            "a gate that will not reopen by itself: return at once"
        );
    }
}
