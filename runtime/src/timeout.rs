//! `#[timeout]`: a deadline on an async body, or on a sync body run on a helper thread.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::Elapsed;
use crate::clock::{Clock, SystemClock};
use crate::returns::TimeoutReturn;
use crate::stats::{MAX_DETACHED, TimeoutStats};

pin_project! {
    /// An async body with a deadline that runs from the call's start. The body is polled
    /// first, so one that is ready at once costs one raw clock read and no timer; the
    /// timer starts the first time the body waits, for what is left of the deadline then.
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Timeout<F, R> {
        #[pin]
        body: F,
        deadline: Deadline,
        _output: PhantomData<fn() -> R>,
    }
}

impl<F: Future<Output = R>, R: TimeoutReturn> Future for Timeout<F, R> {
    type Output = R;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let this = self.project();
        if let Poll::Ready(out) = this.body.poll(cx) {
            return Poll::Ready(out);
        }
        // Everything past the body's poll is the same for every body: one function in
        // the runtime, not one copy per decorated function.
        match this.deadline.poll_elapsed(cx) {
            Poll::Ready(elapsed) => Poll::Ready(R::elapsed(elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The deadline of one async `#[timeout]` call.
#[derive(Debug)]
pub(crate) struct Deadline {
    // Boxed, and only once the body waits: a body that is ready at once pays for
    // neither the timer nor the room for it in its future.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    after: Duration,
    // A raw reading of the clock when the call started (`Clock::raw`).
    started: u64,
    stats: &'static TimeoutStats,
    no_timer: bool,
}

impl Deadline {
    /// A deadline of `after` from now (not generic: built once for every body).
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn new(after: Duration, stats: &'static TimeoutStats) -> Deadline {
        Deadline {
            sleep: None,
            after,
            started: SystemClock.raw(),
            stats,
            no_timer: false,
        }
    }

    /// After the body said it is not ready: `Ready` once the deadline has passed.
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<Elapsed> {
        if self.sleep.is_none() {
            if self.no_timer || tokio::runtime::Handle::try_current().is_err() {
                self.no_timer = true;
                no_runtime_warning();
                return Poll::Pending;
            }
            // The deadline runs from the call's start: time the body spent before its
            // first wait counts, as it does for `tokio::time::timeout`.
            let spent = SystemClock.raw_delta_nanos(self.started, SystemClock.raw());
            let left = self.after.saturating_sub(Duration::from_nanos(spent));
            if left.is_zero() {
                self.stats.elapsed();
                return Poll::Ready(Elapsed::new(self.after));
            }
            self.sleep = Some(Box::pin(tokio::time::sleep(left)));
        }
        match self.sleep.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => {
                self.stats.elapsed();
                Poll::Ready(Elapsed::new(self.after))
            }
            _ => Poll::Pending,
        }
    }
}

/// Wraps an async body in a deadline of `after`.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn timeout_call<R: TimeoutReturn, F: Future<Output = R>>(
    after: Duration,
    stats: &'static TimeoutStats,
    body: F,
) -> Timeout<F, R> {
    Timeout {
        body,
        deadline: Deadline::new(after, stats),
        _output: PhantomData,
    }
}

#[cold]
fn no_runtime_warning() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Relaxed) {
        tracing::error!(
            target: "steadfast",
            "an async #[timeout] or #[retry] ran outside a tokio runtime with time enabled; its deadlines are not enforced there and its waits block the thread"
        );
    }
}

/// Waits `d` on tokio's clock; outside a tokio runtime, blocks the thread instead (and
/// says so once). The timer is boxed so that the future of a function that retries stays
/// small on the path where it never waits.
pub fn sleep(d: Duration) -> Sleep {
    if tokio::runtime::Handle::try_current().is_ok() {
        Sleep(Some(Box::pin(tokio::time::sleep(d))))
    } else {
        no_runtime_warning();
        std::thread::sleep(d);
        Sleep(None)
    }
}

/// The wait between two attempts of an async `#[retry]` function.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Sleep(Option<Pin<Box<tokio::time::Sleep>>>);

/// The timer is dropped out of line: the drop glue of every `#[retry]` function's future
/// then stays small enough to be inlined where the future ends, which on the path where
/// no attempt failed is most of what the attribute costs.
impl Drop for Sleep {
    #[inline]
    fn drop(&mut self) {
        if self.0.is_some() {
            drop_timer(self.0.take());
        }
    }
}

#[inline(never)]
fn drop_timer(timer: Option<Pin<Box<tokio::time::Sleep>>>) {
    drop(timer);
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.0 {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Ready(()),
        }
    }
}

/// Runs a sync body on a thread of its own and waits for it at most `after`: past the
/// deadline the caller gets `Elapsed` and the thread finishes by itself, its result
/// dropped. A panic in the body is raised again in the caller, as it would have been
/// without the attribute.
///
/// One thread per call: a pool would be taken over by bodies that overran their deadline,
/// and delay everyone after them; a fresh thread costs tens of microseconds, next to a
/// deadline counted in milliseconds. At most `MAX_DETACHED` (64) bodies of one function run at
/// once: past that (earlier ones stuck past their deadline), a call is refused at once with
/// an [`Elapsed`] that says so, and its body does not run.
pub fn timeout_detach<R, F>(after: Duration, stats: &'static TimeoutStats, body: F) -> R
where
    R: TimeoutReturn + Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    // The thread, the channel and the bound are handled once, for every function, on an
    // erased body: only this small shell is compiled per decorated function.
    let erased: ErasedBody = Box::new(move || Box::new(body()) as Box<dyn Any + Send>);
    match detach(after, stats, erased) {
        Detached::Done(out) => match out.downcast::<R>() {
            Ok(out) => *out,
            // The value is the body's own: it is always an `R`.
            Err(_) => R::elapsed(Elapsed::new(after)),
        },
        Detached::Elapsed(elapsed) => R::elapsed(elapsed),
    }
}

type ErasedBody = Box<dyn FnOnce() -> Box<dyn Any + Send> + Send>;

enum Detached {
    Done(Box<dyn Any + Send>),
    Elapsed(Elapsed),
}

#[inline(never)]
fn detach(after: Duration, stats: &'static TimeoutStats, body: ErasedBody) -> Detached {
    // Bodies that overran their deadline keep their threads: past the bound, a call is
    // refused at once rather than adding one more.
    let Some(running) = stats.detach() else {
        stats.elapsed();
        return Detached::Elapsed(Elapsed::refused(after, MAX_DETACHED));
    };
    let (tx, rx) = sync_channel(1);
    // Shared so that, if no thread can be started, the caller can still run the body.
    let slot = Arc::new(Mutex::new(Some(body)));
    let theirs = Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("steadfast-timeout".into())
        .spawn(move || {
            // Counted until the body has finished, deadline or not.
            let _running = running;
            let body = theirs.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(body) = body {
                let _ = tx.send(body());
            }
        });
    let handle = match spawned {
        Ok(handle) => handle,
        Err(error) => {
            tracing::error!(
                target: "steadfast",
                %error,
                "#[timeout(detach)] could not start a thread; the body runs on the caller's thread without a deadline"
            );
            let body = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            return match body {
                Some(body) => Detached::Done(body()),
                None => Detached::Elapsed(Elapsed::new(after)),
            };
        }
    };
    match rx.recv_timeout(after) {
        Ok(out) => Detached::Done(out),
        Err(RecvTimeoutError::Timeout) => {
            stats.elapsed();
            Detached::Elapsed(Elapsed::new(after))
        }
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => Detached::Elapsed(Elapsed::new(after)),
        },
    }
}

/// The `static` behind a `#[timeout]` function's deadline: as written (or its policy's),
/// unless `config::apply` changed it. One load per call.
#[derive(Debug)]
pub struct TimeoutCell {
    /// The deadline in nanoseconds; 0 until a deadline known only at run time is read.
    nanos: std::sync::atomic::AtomicU64,
    make: Option<fn() -> Duration>,
    name: Option<&'static str>,
    default_name: &'static str,
}

impl TimeoutCell {
    /// A deadline known at compile time, from a literal or a policy (`name`: the policy's).
    pub const fn new(
        after: Duration,
        name: Option<&'static str>,
        default_name: &'static str,
    ) -> Self {
        let nanos = after.as_nanos();
        TimeoutCell {
            nanos: std::sync::atomic::AtomicU64::new(if nanos > u64::MAX as u128 {
                u64::MAX
            } else if nanos == 0 {
                1
            } else {
                nanos as u64
            }),
            make: None,
            name,
            default_name,
        }
    }

    /// A deadline known only at run time: read at the first call.
    pub const fn lazy(
        make: fn() -> Duration,
        name: Option<&'static str>,
        default_name: &'static str,
    ) -> Self {
        TimeoutCell {
            nanos: std::sync::atomic::AtomicU64::new(0),
            make: Some(make),
            name,
            default_name,
        }
    }

    /// The deadline in force.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn get(&self) -> Duration {
        match self.nanos.load(std::sync::atomic::Ordering::Relaxed) {
            0 => self.first(),
            nanos => Duration::from_nanos(nanos),
        }
    }

    #[cold]
    fn first(&self) -> Duration {
        let after = self.make.map_or(Duration::MAX, |make| make());
        self.set(after);
        after
    }

    /// Its name: its policy's, else the function's path.
    pub(crate) fn name(&self) -> &'static str {
        self.name.unwrap_or(self.default_name)
    }

    /// The deadline from the next call on.
    pub(crate) fn set(&self, after: Duration) {
        let nanos = crate::clock::duration_nanos(after).max(1);
        self.nanos
            .store(nanos, std::sync::atomic::Ordering::Relaxed);
    }
}

crate::listed::section!(
    /// Every `#[timeout]` function's deadline, listed before `main`.
    pub(crate) fn listed() -> TimeoutCell,
    "steadfast_0_1_timeouts"
);
