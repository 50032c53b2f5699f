//! What generated code calls, and nothing else. Not a public API: names here change
//! without notice. (`Clock` and `SystemClock` are here for the runtime's own clock-read
//! benchmark.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::breaker::{BreakerKey, Core, Permit};

pub use crate::__steadfast_list as list;
pub use crate::breaker::{BreakerSlot, BreakerSpec, Config, KeyedSlot, Spec, TripPolicy};
use crate::call_span::span;
use crate::call_span::{Polling, failed, finishing};
pub use crate::clock::{Clock, SystemClock, Waits};
pub use crate::drain::{
    Cancellable, Inside, admit as drain_admit, admit_cancellable as drain_admit_cancellable,
    cancellable,
};
pub use crate::figures::Function;
pub use crate::gate::Rejected;
pub use crate::listed::Listed;
pub use crate::monitor::{MonitorStats, MonitoredCall};
pub use crate::retry::RetryCell;
pub use crate::retry::{Backoff, Jitter, RetryPolicy, RetryState, Step};
use crate::returns::{BreakerReturn, RetryReturn};
pub use crate::stacked::{Layer, stacked};
pub use crate::stats::TimeoutStats;
pub use crate::task::{TaskSlot, TaskSpec, supervise_async, supervise_thread, task_arg};
pub use crate::timeout::TimeoutCell;
pub use crate::timeout::{sleep, timeout_call, timeout_detach};
pub use ::core::time::Duration;
#[cfg(not(all(target_os = "linux", not(steadfast_inventory))))]
pub use ::inventory;
pub use ::tracing;

pub use crate::bulkhead::{BulkheadPermit, BulkheadSlot, BulkheadSpec};
pub use crate::policy::{BreakerPolicy, TimeoutPolicy};
pub use crate::rate_limit::{LimitSpec, LimiterSlot};

/// A `#[bulkhead]` call's way in, as the function's: the permit, or the function's
/// `Err(BulkheadFull)`, told to a reading layer above through `rejection`.
#[inline]
pub fn bulkhead_admit<R: crate::returns::BulkheadReturn>(
    entered: Result<BulkheadPermit, crate::BulkheadFull>,
    rejection: Option<&mut Option<Rejected>>,
) -> Result<BulkheadPermit, R> {
    entered.map_err(|full| {
        if let Some(slot) = rejection {
            *slot = Some(Rejected::of(&full));
        }
        R::full(full)
    })
}

/// Takes a turn of a `#[rate_limit]` function's limiter: `Ok(wait)` (zero: go at once; the
/// caller sleeps it, on the thread or on tokio), or the function's `Err(RateLimited)`, told
/// to a waiting layer above through `rejection`.
#[inline]
pub fn rate_limit_take<R: crate::returns::RateLimitReturn>(
    limiter: &'static LimiterSlot,
    rejection: Option<&mut Option<Rejected>>,
) -> Result<Duration, R> {
    limiter_answer(limiter.take(), rejection)
}

/// [`rate_limit_take`] for the limit of this call's `key`.
#[inline]
pub fn rate_limit_take_key<R: crate::returns::RateLimitReturn, K: ?Sized + BreakerKey>(
    limiter: &'static LimiterSlot,
    key: &K,
    rejection: Option<&mut Option<Rejected>>,
) -> Result<Duration, R> {
    limiter_answer(limiter.take_key(key), rejection)
}

/// A `scope = "fleet"` turn, decided by the fleet (`Some`) or, when it could not decide in
/// time, by this process's share of the limit.
#[inline]
pub fn rate_limit_decided<R: crate::returns::RateLimitReturn>(
    limiter: &'static LimiterSlot,
    decided: Option<Result<Duration, crate::RateLimited>>,
    rejection: Option<&mut Option<Rejected>>,
) -> Result<Duration, R> {
    match decided {
        Some(answer) => limiter_answer(answer, rejection),
        None => limiter_answer(limiter.take(), rejection),
    }
}

#[cfg(feature = "redis")]
pub use crate::fleet::FleetBreaker;

/// The fleet's decision for an async `scope = "fleet"` function (`None`: decide locally).
#[cfg(feature = "redis")]
pub async fn fleet_take(
    limiter: &'static LimiterSlot,
) -> Option<Result<Duration, crate::RateLimited>> {
    crate::fleet::take(limiter).await
}

/// [`fleet_take`] for a sync function.
#[cfg(feature = "redis")]
pub fn fleet_take_blocking(
    limiter: &'static LimiterSlot,
) -> Option<Result<Duration, crate::RateLimited>> {
    crate::fleet::take_blocking(limiter)
}

/// `scope = "fleet"`'s code, or without the feature `redis`, one error that names it (and
/// the function without it, so nothing else is reported).
#[cfg(feature = "redis")]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_fleet_gate {
    ({ $($on:tt)* } { $($off:tt)* }) => {{ $($on)* }};
}

/// `scope = "fleet"`'s code, or without the feature `redis`, one error that names it.
#[cfg(not(feature = "redis"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_fleet_gate {
    ({ $($on:tt)* } { $($off:tt)* }) => {{
        ::core::compile_error!(
            "`scope = \"fleet\"` needs steadfast's cargo feature `redis`: `steadfast = { version = \"…\", features = [\"redis\"] }`"
        );
        $($off)*
    }};
}

pub use crate::__steadfast_fleet_gate as fleet_gate;

/// A limiter's answer as the function's: a rejection told to a waiting layer above
/// through `rejection`, and returned as the function's `Err`.
#[inline]
fn limiter_answer<R: crate::returns::RateLimitReturn>(
    answer: Result<Duration, crate::RateLimited>,
    rejection: Option<&mut Option<Rejected>>,
) -> Result<Duration, R> {
    answer.map_err(|limited| {
        if let Some(slot) = rejection {
            *slot = Some(Rejected::of(&limited));
        }
        R::limited(limited)
    })
}

/// What a function's breaker is: `policy` (the defaults, or `policy = …` with the keys
/// written beside it), named `name = "…"` if written, else by the policy's name, else by
/// the function's path (`default_name`, never shared). Evaluated at compile time when every
/// value is known then; not inlined otherwise (compiled once, in this crate).
pub const fn breaker_spec(
    policy: BreakerPolicy,
    name: Option<&'static str>,
    default_name: &'static str,
) -> BreakerSpec {
    let (name, named) = match (name, policy.name()) {
        (Some(name), _) | (None, Some(name)) => (name, true),
        (None, None) => (default_name, false),
    };
    BreakerSpec {
        name,
        named,
        critical: policy.is_critical(),
        config: policy.config(),
    }
}

/// `policy = …` of `#[circuit_breaker]`; the identity, so that another type is an error
/// on the policy as written.
#[inline]
pub const fn breaker_policy(policy: BreakerPolicy) -> BreakerPolicy {
    policy
}

/// `policy = …` of `#[retry]`.
#[inline]
pub const fn retry_policy_of(policy: RetryPolicy) -> RetryPolicy {
    policy
}

pub use crate::fallback::FallbackStats;

#[cfg(feature = "cache")]
pub use crate::cache::{
    CacheKind, CacheResultClone, CacheResultShared, CacheSlot, CacheSpec, CacheValue, cached,
    cached_async,
};

/// `#[cached]`'s code, or without the feature `cache`, one error that names it (and the
/// function without its cache, so nothing else is reported).
#[cfg(feature = "cache")]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_cache_gate {
    ({ $($on:tt)* } { $($off:tt)* }) => {{ $($on)* }};
}

/// `#[cached]`'s code, or without the feature `cache`, one error that names it (and the
/// function without its cache, so nothing else is reported).
#[cfg(not(feature = "cache"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_cache_gate {
    ({ $($on:tt)* } { $($off:tt)* }) => {{
        ::core::compile_error!(
            "`#[cached]` needs steadfast's cargo feature `cache`: `steadfast = { version = \"…\", features = [\"cache\"] }`"
        );
        $($off)*
    }};
}

pub use crate::__steadfast_cache_gate as cache_gate;

/// `#[fallback]`: `Ok(out)` for a success, else the error.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn fallback_split<R: crate::returns::FallbackReturn>(out: R) -> Result<R, R::Error> {
    out.split()
}

/// `#[fallback]`: an error that does not fall back, returned as it is.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn fallback_keep<R: crate::returns::FallbackReturn>(error: R::Error) -> R {
    R::keep(error)
}

/// `#[fallback(…, args)]`: an argument kept for the fallback.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn fallback_arg<T: crate::fallback::FallbackArg>(argument: &T) -> T {
    argument.clone()
}

/// `policy = …` of `#[bulkhead]`: its settings, for a function named `default_name`.
#[inline]
pub const fn bulkhead_policy_of(
    policy: crate::BulkheadPolicy,
    default_name: &'static str,
) -> BulkheadSpec {
    policy.spec(default_name)
}

/// `policy = …` of `#[rate_limit]`: its settings, for a function named `default_name`.
#[inline]
pub const fn rate_limit_policy_of(
    policy: crate::RateLimitPolicy,
    default_name: &'static str,
) -> LimitSpec {
    policy.spec(default_name)
}

/// `policy = …` of `#[timeout]`: its deadline.
#[inline]
pub const fn timeout_policy(policy: TimeoutPolicy) -> Duration {
    policy.after()
}

/// Per-key breakers one function keeps unless `max_keys` says otherwise.
pub const DEFAULT_MAX_KEYS: usize = 1024;

/// Admits a call to a function whose breaker is `core`, or returns the value the
/// rejected call returns (`Err(CircuitOpen.into())`), leaving the rejection's summary in
/// `rejection`, the slot of a `#[retry]` above (`None` when there is none).
///
/// Every requirement on the function's return type is this one bound, so a wrong return
/// type is a single error, pointing at the return type (the call is spanned there).
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn circuit_breaker_call<'a, R: BreakerReturn>(
    core: &'a Core,
    rejection: Option<&mut Option<Rejected>>,
) -> Result<BreakerCall<'a, R, R::Error>, R> {
    match core.try_acquire() {
        Ok(permit) => Ok(BreakerCall {
            permit,
            failure: R::error,
        }),
        Err(open) => Err(rejected(open, rejection)),
    }
}

/// The summary is made only for a waiting layer above: reading when to try again can
/// cost a clock read, which a plain rejection does not pay.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
fn rejected<R: BreakerReturn>(
    open: crate::CircuitOpen,
    rejection: Option<&mut Option<Rejected>>,
) -> R {
    if let Some(slot) = rejection {
        *slot = Some(Rejected::of(&open));
    }
    R::rejected(open)
}

/// The output of a stacked function's call that its breaker turned away: the one bound
/// a stack with `#[circuit_breaker]` puts on the return type (spanned there).
#[inline]
pub fn open_into<R: BreakerReturn>(open: crate::CircuitOpen) -> R {
    R::rejected(open)
}

/// The output of a stacked function's call past its deadline: the one bound a stack with
/// `#[timeout]` puts on the return type (spanned there).
#[inline]
pub fn elapsed_into<R: crate::returns::TimeoutReturn>(elapsed: crate::Elapsed) -> R {
    R::elapsed(elapsed)
}

/// An admitted call: records its outcome from the return value.
#[must_use]
#[derive(Debug)]
pub struct BreakerCall<'a, R, E> {
    permit: Permit<'a>,
    failure: for<'r> fn(&'r R) -> Option<&'r E>,
}

impl<R, E> BreakerCall<'_, R, E> {
    /// Every `Err` is a failure; `cause` is what it says, kept if it opens the breaker.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn record(self, cause: Option<Cause<'_>>) {
        match cause {
            None => self.permit.success(),
            Some(cause) => self.failed(&cause),
        }
    }

    /// Only the errors `failure_if` accepts are failures; others count for nothing.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn record_if(self, out: &R, failure_if: impl FnOnce(&E) -> bool, cause: Option<Cause<'_>>) {
        match ((self.failure)(out), cause) {
            (Some(error), Some(cause)) if failure_if(error) => self.failed(&cause),
            (Some(_), _) => self.permit.ignore(),
            (None, _) => self.permit.success(),
        }
    }

    #[cold]
    fn failed(self, cause: &Cause<'_>) {
        self.permit.failure_because(Some(cause));
    }
}

pub use crate::error::Cause;

pub trait CauseDisplay<'a> {
    fn cause(&self) -> Option<Cause<'a>>;
}

impl<'a, T, E: std::fmt::Display> CauseDisplay<'a> for &&&Watch<'a, Result<T, E>> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn cause(&self) -> Option<Cause<'a>> {
        match self.0 {
            Ok(_) => None,
            Err(e) => Some(Cause::Display(e)),
        }
    }
}

pub trait CauseDebug<'a> {
    fn cause(&self) -> Option<Cause<'a>>;
}

impl<'a, T, E: std::fmt::Debug> CauseDebug<'a> for &&Watch<'a, Result<T, E>> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn cause(&self) -> Option<Cause<'a>> {
        match self.0 {
            Ok(_) => None,
            Err(e) => Some(Cause::Debug(e)),
        }
    }
}

/// Not a `Result`: the return type's own error (`BreakerReturn`) is the one reported.
pub trait CauseNone<'a> {
    fn cause(&self) -> Option<Cause<'a>>;
}

impl<'a, T> CauseNone<'a> for Watch<'a, T> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn cause(&self) -> Option<Cause<'a>> {
        None
    }
}

pub trait CauseType<'a> {
    fn cause(&self) -> Option<Cause<'a>>;
}

impl<'a, T, E> CauseType<'a> for &Watch<'a, Result<T, E>> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn cause(&self) -> Option<Cause<'a>> {
        match self.0 {
            Ok(_) => None,
            Err(_) => Some(Cause::Type(std::any::type_name::<E>())),
        }
    }
}

/// After one attempt of a `#[retry]` function: stop (a success, nothing left) or wait and
/// go again. `rejection` is what a gate inside the retry left when it turned this attempt
/// away; `cell` is the function's policy, read (once per call) only if this attempt failed.
/// The success path is one branch.
///
/// The one bound generated code puts on the return type for `#[retry]`.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn retry_step<R: RetryReturn>(
    out: &R,
    state: &mut Option<RetryState>,
    cell: &'static RetryCell,
    waits: Waits,
    rejection: Option<Rejected>,
) -> Step {
    retry_step_if(out, state, cell, waits, |_| true, rejection)
}

/// Whether an attempt of a `#[retry]` function failed: asked before [`retry_step`], so
/// that a success leaves the loop on one branch of its own (LLVM does not thread the
/// success out of `retry_step`'s result, where it meets the failures' `Step::Stop`).
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn retry_failed<R: RetryReturn>(out: &R) -> bool {
    out.is_failure()
}

/// [`retry_step`] with `retry_if`: errors it declines are returned at once. A rejection by
/// a gate inside the retry is the retry's own business and does not ask `retry_if`.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn retry_step_if<R: RetryReturn>(
    out: &R,
    state: &mut Option<RetryState>,
    cell: &'static RetryCell,
    waits: Waits,
    retry_if: impl FnOnce(&R::Error) -> bool,
    rejection: Option<Rejected>,
) -> Step {
    match out.error() {
        None => Step::Stop,
        Some(error) => match rejection {
            Some(rejected) => crate::retry::after_rejection(state, cell, rejected, waits),
            None if retry_if(error) => crate::retry::after_failure(state, cell, waits),
            None => Step::Stop,
        },
    }
}

/// A wait between the attempts of a sync `#[retry]` function: the thread sleeps.
#[inline]
pub fn sleep_blocking(d: Duration) {
    std::thread::sleep(d);
}

/// Makes the copy of a by-value argument that one attempt of a `#[retry]` function
/// consumes. The argument's type must be `Clone`.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn retry_clone<T: Clone>(argument: &T) -> T {
    argument.clone()
}

/// A duration given as an expression; the identity, so a wrong type is an error here.
#[inline]
pub const fn duration(d: Duration) -> Duration {
    d
}

/// A count given as an expression (`attempts = MAX_ATTEMPTS`); the identity, so a wrong
/// type is an error here. Its range is checked when the attribute first uses it.
#[inline]
pub const fn count_u32(n: u32) -> u32 {
    n
}

/// [`count_u32`] for `max_entries`.
#[inline]
pub const fn count_u64(n: u64) -> u64 {
    n
}

/// [`count_u32`] for `max_keys`.
#[inline]
pub const fn count_usize(n: usize) -> usize {
    n
}

/// [`count_u32`] for `failure_rate` and `multiplier`.
#[inline]
pub const fn number(x: f64) -> f64 {
    x
}

/// `policy = …` of `#[timeout]`: its name.
#[inline]
pub const fn timeout_policy_name(policy: TimeoutPolicy) -> Option<&'static str> {
    policy.name()
}

// `key = expr` takes owned keys and references alike, so that `&str` works: the
// receiver `&&KeyWrap(&expr)` picks `KeyByDeref` when `expr` is a reference and
// `KeyByValue` otherwise (autoref specialisation).

/// Wraps a `key = …` value for [`KeyByDeref`] / [`KeyByValue`].
#[derive(Debug)]
pub struct KeyWrap<'a, T: ?Sized>(pub &'a T);

pub trait KeyByDeref {
    type Key: ?Sized + BreakerKey;
    fn key(&self) -> &Self::Key;
}

impl<U: ?Sized + BreakerKey> KeyByDeref for &KeyWrap<'_, &U> {
    type Key = U;
    #[inline]
    fn key(&self) -> &U {
        self.0
    }
}

pub trait KeyByValue {
    type Key: ?Sized + BreakerKey;
    fn key(&self) -> &Self::Key;
}

impl<T: ?Sized + BreakerKey> KeyByValue for KeyWrap<'_, T> {
    type Key = T;
    #[inline]
    fn key(&self) -> &T {
        self.0
    }
}

pub use ::std::boxed::Box;

/// Calls a closure once; the body of a sync function runs in one so that its `return`
/// and `?` stay its own. Taking `FnOnce` lets the body move out of what it captured.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}

// `#[monitored]` takes any return type. Which results are failures, and how to print an
// error, is picked by autoref specialisation at the expansion site, in one method call:
// `(&&&&Watch(&out)).end(call, name)` ends the call as a failure for a `Result`'s `Err`
// (printed with `Display`, else `Debug`, else by its type name) and as a success otherwise.

/// Wraps a `#[monitored]` function's result for the `End…` traits.
#[derive(Debug)]
pub struct Watch<'a, T>(pub &'a T);

// `rejected` is what a gate below left in the rejection slot: the `Err` is the gate's
// rejection, not the function's own error, so it is counted and not logged.

pub trait EndDisplay {
    fn end(&self, call: MonitoredCall, function: &str, rejected: Option<Rejected>);
}

impl<T, E: std::fmt::Display> EndDisplay for &&&Watch<'_, Result<T, E>> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn end(&self, call: MonitoredCall, function: &str, rejected: Option<Rejected>) {
        match self.0 {
            Ok(_) => call.end(false),
            Err(e) => failed(call, function, rejected, e),
        }
    }
}

pub trait EndDebug {
    fn end(&self, call: MonitoredCall, function: &str, rejected: Option<Rejected>);
}

impl<T, E: std::fmt::Debug> EndDebug for &&Watch<'_, Result<T, E>> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn end(&self, call: MonitoredCall, function: &str, rejected: Option<Rejected>) {
        match self.0 {
            Ok(_) => call.end(false),
            Err(e) => failed(call, function, rejected, &Cause::Debug(e)),
        }
    }
}

pub trait EndResult {
    fn end(&self, call: MonitoredCall, function: &str, rejected: Option<Rejected>);
}

impl<T, E> EndResult for &Watch<'_, Result<T, E>> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn end(&self, call: MonitoredCall, function: &str, rejected: Option<Rejected>) {
        match self.0 {
            Ok(_) => call.end(false),
            Err(_) => failed(
                call,
                function,
                rejected,
                &Cause::Type(std::any::type_name::<E>()),
            ),
        }
    }
}

pub trait EndAny {
    fn end(&self, call: MonitoredCall, function: &str, rejected: Option<Rejected>);
}

impl<T> EndAny for Watch<'_, T> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn end(&self, call: MonitoredCall, _function: &str, _rejected: Option<Rejected>) {
        call.end(false);
    }
}

pin_project_lite::pin_project! {
    /// An async `#[monitored]` call: the body polled inside its span, and ended by
    /// `finish` (chosen at the expansion site) when it is ready. Dropped before that, the
    /// call ends in its own `Drop`: a cancellation, or a failure while panicking.
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Monitored<F: Future> {
        #[pin]
        body: F,
        span: tracing::Span,
        call: Option<MonitoredCall>,
        finish: fn(&F::Output, MonitoredCall),
    }
}

/// Runs `body` as one call of a `#[monitored]` async function, in a span made now from
/// `callsite` (here, so that the function holds no span of its own to drop).
#[inline]
pub fn monitored<F: Future>(
    call: MonitoredCall,
    callsite: &'static tracing::callsite::DefaultCallsite,
    body: F,
    finish: fn(&F::Output, MonitoredCall),
) -> Monitored<F> {
    Monitored {
        body,
        span: span(callsite),
        call: Some(call),
        finish,
    }
}

impl<F: Future> Future for Monitored<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // Everything but the body's poll and `finish` is the same for every body: in
        // non-generic functions, not copied into each decorated function.
        let _polling = Polling::enter(this.span);
        let out = std::task::ready!(this.body.poll(cx));
        if let Some(call) = finishing(this.call) {
            (this.finish)(&out, call);
        }
        Poll::Ready(out)
    }
}

/// The metadata of a `#[monitored]` function's span, as `tracing::span!` builds it: the
/// span is named `name`, its target is the module, and it has no fields.
pub const fn span_metadata(
    name: &'static str,
    module: &'static str,
    level: tracing::Level,
    file: &'static str,
    line: u32,
    callsite: &'static tracing::callsite::DefaultCallsite,
) -> tracing::Metadata<'static> {
    tracing::Metadata::new(
        name,
        module,
        level,
        Some(file),
        Some(line),
        Some(module),
        tracing::field::FieldSet::new(&[], tracing::callsite::Identifier(callsite)),
        tracing::metadata::Kind::SPAN,
    )
}

/// While a sync `#[monitored]` body runs: inside its span, and inside an admitted call
/// (for the drain). One guard, so the function has one local to drop, not two.
#[derive(Debug)]
pub struct Entered {
    // Dropped in this order: the call, then the span.
    _inside: crate::drain::Inside,
    _span: tracing::span::EnteredSpan,
}

/// Makes the call's span (as `call_span::span` makes it) and enters it and an admitted
/// call, until the guard is dropped: one call and one local in the function, not two of
/// each (the span's own local and its drop on unwinding cost 1.4 M instructions to compile
/// per function).
#[cfg_attr(not(debug_assertions), inline)]
pub fn enter_span(callsite: &'static tracing::callsite::DefaultCallsite) -> Entered {
    let span = span(callsite).entered();
    Entered {
        _inside: crate::drain::Inside::enter(),
        _span: span,
    }
}

/// `__private::list!(kind, &SLOT);`: lists `SLOT` (a static) before `main`. The kinds,
/// each with its section (which its module's `listed::section!` reads back by the same
/// name), the name of its entry and the type it lists.
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_list {
    (breaker, $slot:expr) => {
        $crate::__steadfast_list_entry!(
            "steadfast_0_1_breakers",
            __STEADFAST_LISTED_BREAKER,
            $crate::__private::BreakerSlot,
            $slot
        );
    };
    (keyed_breaker, $slot:expr) => {
        $crate::__steadfast_list_entry!(
            "steadfast_0_1_keyed_breakers",
            __STEADFAST_LISTED_BREAKER,
            $crate::__private::KeyedSlot,
            $slot
        );
    };
    (retry, $slot:expr) => {
        $crate::__steadfast_list_entry!(
            "steadfast_0_1_retries",
            __STEADFAST_LISTED_RETRY,
            $crate::__private::RetryCell,
            $slot
        );
    };
    (timeout, $slot:expr) => {
        $crate::__steadfast_list_entry!(
            "steadfast_0_1_timeouts",
            __STEADFAST_LISTED_TIMEOUT,
            $crate::__private::TimeoutCell,
            $slot
        );
    };
    (bulkhead, $slot:expr) => {
        $crate::__steadfast_list_entry!(
            "steadfast_0_1_bulkheads",
            __STEADFAST_LISTED_BULKHEAD,
            $crate::__private::BulkheadSlot,
            $slot
        );
    };
    (rate_limit, $slot:expr) => {
        $crate::__steadfast_list_entry!(
            "steadfast_0_1_rate_limits",
            __STEADFAST_LISTED_RATE_LIMIT,
            $crate::__private::LimiterSlot,
            $slot
        );
    };
}

/// One entry: a `#[used]` static in its kind's section. Chosen here, by the runtime's own
/// `cfg`, so that nothing of it is evaluated per function in the user's crate.
#[cfg(all(target_os = "linux", not(steadfast_inventory)))]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_list_entry {
    ($section:literal, $name:ident, $ty:ty, $slot:expr) => {
        #[used]
        #[unsafe(link_section = $section)]
        static $name: &'static $ty = $slot;
    };
}

/// One entry through `inventory` (a static and a constructor), where the section reader
/// is not used.
#[cfg(not(all(target_os = "linux", not(steadfast_inventory))))]
#[doc(hidden)]
#[macro_export]
macro_rules! __steadfast_list_entry {
    ($section:literal, $name:ident, $ty:ty, $slot:expr) => {
        $crate::__private::inventory::submit! { $crate::__private::Listed::<$ty>($slot) }
    };
}
