//! Several layers on one `async fn`, run by one runtime future: the layers as data (a
//! `static` slice of [`Layer`]s, outermost first), the body behind a trait object.
//!
//! Each `async` layer emitted as code of its own is compiled once per decorated function:
//! its `async` block or generic future, with its poll, drop glue and unwind paths. Stacked,
//! most of a function's compile time was that. Here what is generic over the function is
//! [`Polled`] (make the body's future, poll it, say what its output is) and
//! [`Stacked::poll`]; the layers' logic ([`Driver`]) is compiled once, in this crate.
//!
//! The macros take this path for an `async fn` whose attributes are all among
//! `#[monitored]` (outermost, without `drain`), `#[retry]` (without `retry_if`),
//! `#[circuit_breaker]` (without `key`, `failure_if` or `scope = "fleet"`) and `#[timeout]`,
//! with a `#[retry]` among them, and whose arguments every attempt can borrow (no `&mut`,
//! no receiver by value); every other stack is emitted layer by layer. The two give the
//! same results, counts and events (the tests of stacked functions run through this one).
//! Each kind of layer appears at most once (a second one is a compile error), which the
//! driver's one field per kind relies on.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::breaker::{BreakerSlot, Permit};
use crate::call_span::{Polling, failed, finishing, span};
use crate::clock::Waits;
use crate::error::Cause;
use crate::gate::Rejected;
use crate::monitor::{MonitorStats, MonitoredCall};
use crate::retry::{RetryCell, RetryState, Step, after_failure, after_rejection};
use crate::returns::{Outcome, RetryReturn};
use crate::stats::TimeoutStats;
use crate::timeout::{Deadline, Sleep, TimeoutCell, sleep};
use crate::{CircuitOpen, Elapsed};
use tracing::callsite::DefaultCallsite;

/// One layer of a stack, as the macros list it in a `static` (outermost first). Each kind
/// appears at most once, and `Monitored` only first.
#[derive(Debug)]
pub enum Layer {
    /// `#[monitored]`: its figures, its span's callsite, and the name its events give.
    Monitored {
        /// Its figures.
        stats: &'static MonitorStats,
        /// Its span's callsite.
        callsite: &'static DefaultCallsite,
        /// The name its `ERROR` events give.
        name: &'static str,
    },
    /// `#[retry]`, by its cell.
    Retry(&'static RetryCell),
    /// `#[circuit_breaker]` (one breaker for the function).
    Breaker(&'static BreakerSlot),
    /// `#[timeout]`: the deadline's cell and its counts.
    Timeout {
        /// The deadline in force.
        cell: &'static TimeoutCell,
        /// Its counts.
        stats: &'static TimeoutStats,
    },
}

/// The body of a stacked function, as the layers see it during one poll: make an attempt,
/// poll it, read what it returned, or put a layer's own error in its place. The output
/// lives only as long as that poll: a failed attempt's result is gone before a `#[retry]`
/// waits, so the call's future is `Send` whenever the function's would be without the
/// attributes (even when its error type is not).
pub(crate) trait Attempt {
    /// Polls the attempt, making the body's future first if `start`; once `Ready`, its
    /// output is kept for [`Attempt::cause`], and whether it is a failure (an `Err`) is
    /// returned.
    fn poll_body(&mut self, start: bool, cx: &mut Context<'_>) -> Poll<bool>;
    /// Drops the attempt's future (a deadline passed).
    fn cancel(&mut self);
    /// What the output's error says (`None` for a success).
    fn cause(&self) -> Option<Cause<'_>>;
    /// The output becomes a layer's own error (`Err(CircuitOpen.into())`, `Err(Elapsed.into())`).
    fn fail(&mut self, why: Failure);
}

/// A layer's own error, in place of the body's output.
pub(crate) enum Failure {
    /// The breaker turned the call away.
    Open(CircuitOpen),
    /// The deadline passed.
    Elapsed(Elapsed),
}

/// What is generic about a stacked function's output: what its error says, and how to make
/// one from a breaker's rejection or a passed deadline (`None` without that layer).
struct Outputs<R> {
    /// `Outcome::is_failure`, taken where the bound is checked (`stacked`), so that a
    /// return type that is not a `Result` is one error, on the return type.
    failure: fn(&R) -> bool,
    cause: for<'a> fn(&'a R) -> Option<Cause<'a>>,
    open: Option<fn(CircuitOpen) -> R>,
    elapsed: Option<fn(Elapsed) -> R>,
}

/// One poll of a stacked function's body: its future, and the output of the attempt that
/// ended during this poll.
struct Polled<'a, M, F: Future> {
    body: Pin<&'a mut Option<F>>,
    make: &'a mut M,
    outputs: &'a Outputs<F::Output>,
    out: Option<F::Output>,
}

impl<M: FnMut() -> F, F: Future> Attempt for Polled<'_, M, F> {
    fn poll_body(&mut self, start: bool, cx: &mut Context<'_>) -> Poll<bool> {
        if start {
            self.body.set(Some((self.make)()));
        }
        let Some(body) = self.body.as_mut().as_pin_mut() else {
            return Poll::Pending;
        };
        // The finished future stays until the next attempt replaces it or the call is
        // dropped: its own values were dropped when it finished, what is left are the
        // references it captured, and it is never polled again.
        let out = ready!(body.poll(cx));
        let failed = (self.outputs.failure)(&out);
        self.out = Some(out);
        Poll::Ready(failed)
    }

    fn cancel(&mut self) {
        self.body.set(None);
    }

    fn cause(&self) -> Option<Cause<'_>> {
        match &self.out {
            Some(out) => (self.outputs.cause)(out),
            None => None,
        }
    }

    fn fail(&mut self, why: Failure) {
        // `None` only for a layer the stack does not have: never asked.
        match (why, self.outputs.open, self.outputs.elapsed) {
            (Failure::Open(open), Some(into), _) => self.out = Some(into(open)),
            (Failure::Elapsed(elapsed), _, Some(into)) => self.out = Some(into(elapsed)),
            _ => {}
        }
    }
}

/// The state of one call through the layers. Fields are dropped in order: a call dropped
/// midway lets go of what runs below `#[monitored]` first, and ends its monitored call
/// last, as the layers emitted one by one do.
#[derive(Debug)]
pub(crate) struct Driver {
    below: Below,
    /// The stack's `#[monitored]` (always its first layer), if it has one.
    monitored: Option<(
        &'static MonitorStats,
        &'static DefaultCallsite,
        &'static str,
    )>,
    span: tracing::Span,
    call: Option<MonitoredCall>,
}

/// The layers below `#[monitored]` (all of them without one), run in a loop rather than
/// by recursion: down through each layer's entry to the body, then up through each one's
/// exit. Each kind of layer appears at most once, so each has one field; a call dropped
/// midway lets go of its deadline, its breaker permit (counted as the breaker counts an
/// unfinished call), then its wait.
#[derive(Debug)]
struct Below {
    layers: &'static [Layer],
    /// The next layer to enter; one past the retry's while it waits.
    at: usize,
    /// The body's future exists.
    running: bool,
    /// The output the layers hold is a failure.
    failed: bool,
    /// Below a `#[monitored]`, which counts rejections.
    monitored: bool,
    deadline: Option<Deadline>,
    permit: Option<Permit<'static>>,
    sleep: Option<Sleep>,
    /// The retry's attempts: `None` until one fails (as `RetryCell::start` leaves it).
    retry: Option<RetryState>,
    /// What a gate left when it turned the call away: travels up with the output.
    rejection: Option<Rejected>,
}

impl Driver {
    fn new(layers: &'static [Layer]) -> Driver {
        let (monitored, below) = match layers {
            [
                Layer::Monitored {
                    stats,
                    callsite,
                    name,
                },
                below @ ..,
            ] => (Some((*stats, *callsite, *name)), below),
            _ => (None, layers),
        };
        Driver {
            below: Below {
                layers: below,
                at: 0,
                running: false,
                failed: false,
                monitored: monitored.is_some(),
                deadline: None,
                permit: None,
                sleep: None,
                retry: None,
                rejection: None,
            },
            monitored,
            span: tracing::Span::none(),
            call: None,
        }
    }

    /// Polls the stack. `Ready` once the call has its output.
    fn poll(&mut self, body: &mut dyn Attempt, cx: &mut Context<'_>) -> Poll<()> {
        let Some((stats, callsite, name)) = self.monitored else {
            return self.below.poll(body, cx);
        };
        if self.call.is_none() {
            self.call = Some(stats.start());
            self.span = span(callsite);
        }
        // Everything below runs inside the span, the call's end included.
        let _polling = Polling::enter(&self.span);
        ready!(self.below.poll(body, cx));
        if let Some(call) = finishing(&mut self.call) {
            match self.below.failed.then(|| body.cause()).flatten() {
                Some(cause) => failed(call, name, self.below.rejection, &cause),
                None => call.end(false),
            }
        }
        Poll::Ready(())
    }
}

impl Below {
    /// `Ready` once the call has its output.
    #[inline(always)]
    fn poll(&mut self, body: &mut dyn Attempt, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let from = ready!(self.down(body, cx));
            if self.up(from, body) {
                return Poll::Ready(());
            }
        }
    }

    /// Enters the layers from `at` down and runs the body, until there is an output: `Ready`
    /// with the index of the layer it is from (the number of layers for the body's).
    #[inline(always)]
    fn down(&mut self, body: &mut dyn Attempt, cx: &mut Context<'_>) -> Poll<usize> {
        if let Some(wait) = &mut self.sleep {
            if Pin::new(wait).poll(cx).is_pending() {
                return self.deadlines(self.at - 1, body, cx);
            }
            self.sleep = None;
        }
        while let Some(layer) = self.layers.get(self.at) {
            match *layer {
                Layer::Retry(cell) => self.retry = cell.start(Waits::Tokio),
                Layer::Breaker(slot) => match slot.get().try_acquire() {
                    Ok(permit) => self.permit = Some(permit),
                    Err(open) => {
                        self.rejected(open, body);
                        return Poll::Ready(self.at);
                    }
                },
                Layer::Timeout { cell, stats } => {
                    self.deadline = Some(Deadline::new(cell.get(), stats));
                }
                Layer::Monitored { .. } => {}
            }
            self.at += 1;
        }
        let start = !self.running;
        self.running = true;
        match body.poll_body(start, cx) {
            Poll::Ready(failed) => {
                self.running = false;
                self.failed = failed;
                self.rejection = None;
                Poll::Ready(self.layers.len())
            }
            // A deadline above the body may have passed (the body is polled first: one
            // that is ready at once needs no timer).
            Poll::Pending => self.deadlines(self.layers.len(), body, cx),
        }
    }

    /// The breaker at `at` turned the call away: its rejection is the output. Summarised
    /// only for a layer above that reads it (a retry waits it out, a monitor counts it):
    /// reading when to try again can cost a clock read.
    #[cold]
    fn rejected(&mut self, open: CircuitOpen, body: &mut dyn Attempt) {
        let above = self.layers.get(..self.at).unwrap_or_default();
        if self.monitored || above.iter().any(|l| matches!(l, Layer::Retry(_))) {
            self.rejection = Some(Rejected::of(&open));
        }
        body.fail(Failure::Open(open));
        self.failed = true;
    }

    /// What runs below layer `below` is pending: `Ready` with the timeout's index if the
    /// deadline of one above it passed (what runs below the timeout is then dropped).
    fn deadlines(
        &mut self,
        below: usize,
        body: &mut dyn Attempt,
        cx: &mut Context<'_>,
    ) -> Poll<usize> {
        let layers = self.layers;
        let above = layers.get(..below).unwrap_or_default();
        let Some(at) = above
            .iter()
            .rposition(|l| matches!(l, Layer::Timeout { .. }))
        else {
            return Poll::Pending;
        };
        let Some(deadline) = &mut self.deadline else {
            return Poll::Pending;
        };
        let elapsed = ready!(deadline.poll_elapsed(cx));
        self.deadline = None;
        body.cancel();
        self.running = false;
        self.rejection = None;
        for layer in layers.get(at + 1..).unwrap_or_default() {
            match layer {
                Layer::Retry(_) => {
                    self.sleep = None;
                    self.retry = None;
                }
                Layer::Breaker(_) => self.permit = None,
                Layer::Monitored { .. } | Layer::Timeout { .. } => {}
            }
        }
        body.fail(Failure::Elapsed(elapsed));
        self.failed = true;
        Poll::Ready(at)
    }

    /// The output of layer `from` (or the body's) goes up through the layers above it:
    /// `true` once it is the call's, `false` when a retry waits to attempt again.
    #[inline(always)]
    fn up(&mut self, from: usize, body: &mut dyn Attempt) -> bool {
        let layers = self.layers.get(..from).unwrap_or_default();
        for (at, layer) in layers.iter().enumerate().rev() {
            match *layer {
                Layer::Timeout { .. } => self.deadline = None,
                Layer::Breaker(_) => {
                    if let Some(permit) = self.permit.take() {
                        match self.failed.then(|| body.cause()).flatten() {
                            Some(cause) => permit.failure_because(Some(&cause)),
                            None => permit.success(),
                        }
                    }
                }
                Layer::Retry(cell) => {
                    let rejected = self.rejection.take();
                    // `None` until an attempt fails (`RetryCell::start`).
                    let state = &mut self.retry;
                    let step = match (self.failed, rejected) {
                        (false, _) => Step::Stop,
                        (true, Some(rejected)) => {
                            after_rejection(state, cell, rejected, Waits::Tokio)
                        }
                        (true, None) => after_failure(state, cell, Waits::Tokio),
                    };
                    match step {
                        // Giving up on a rejection returns it: the layer above learns it was one.
                        Step::Stop => {
                            self.rejection = rejected;
                            self.retry = None;
                        }
                        Step::Wait(wait) => {
                            self.sleep = Some(sleep(wait));
                            self.at = at + 1;
                            return false;
                        }
                    }
                }
                Layer::Monitored { .. } => {}
            }
        }
        self.at = 0;
        true
    }
}

pin_project! {
    /// One call of a stacked `async fn`.
    #[must_use = "futures do nothing unless polled"]
    #[allow(missing_docs)]
    pub struct Stacked<M, F: Future> {
        // Declared first: the body's future is dropped before the layers' state.
        #[pin]
        body: Option<F>,
        make: M,
        outputs: Outputs<F::Output>,
        driver: Driver,
    }
}

impl<M: FnMut() -> F, F: Future> Future for Stacked<M, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut polled = Polled {
            body: this.body,
            make: this.make,
            outputs: this.outputs,
            out: None,
        };
        ready!(poll_layers(this.driver, &mut polled, cx));
        match polled.out {
            Some(out) => Poll::Ready(out),
            // Not reached: every layer that ends a call leaves an output (the macro passes
            // `open`/`elapsed` exactly when the stack has a breaker/timeout to use them).
            None => Poll::Pending,
        }
    }
}

/// Not generic: compiled once for every stacked function.
#[inline(never)]
fn poll_layers(driver: &mut Driver, body: &mut dyn Attempt, cx: &mut Context<'_>) -> Poll<()> {
    driver.poll(body, cx)
}

/// One call of a stacked `async fn`: `layers` around the attempts `make` builds. `cause`
/// says what an output's error is (picked by autoref specialisation at the expansion
/// site); `open` and `elapsed` make the output of a rejection and of a passed deadline
/// (`Some` when the stack has a breaker, a timeout).
// Always inlined, debug builds included (unlike the hot paths elsewhere): it only moves
// its arguments into the future, and a function of its own per decorated function cost more
// to compile (measured: −0.09 M instructions per stacked function inlined).
#[inline(always)]
pub fn stacked<M: FnMut() -> F, F: Future<Output: RetryReturn>>(
    layers: &'static [Layer],
    make: M,
    cause: for<'a> fn(&'a F::Output) -> Option<Cause<'a>>,
    open: Option<fn(CircuitOpen) -> F::Output>,
    elapsed: Option<fn(Elapsed) -> F::Output>,
) -> Stacked<M, F> {
    Stacked {
        body: None,
        make,
        outputs: Outputs {
            failure: <F::Output as Outcome>::is_failure,
            cause,
            open,
            elapsed,
        },
        driver: Driver::new(layers),
    }
}
