//! `#[timeout]`: a deadline on an async body, or on a sync body run on a helper thread.

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
use crate::outcome::TimeoutReturn;
use crate::stats::TimeoutStats;

pin_project! {
    /// An async body with a deadline. The body is polled first, so one that is ready at once
    /// costs no clock read and no timer; the timer starts the first time the body waits.
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Timeout<F, R> {
        #[pin]
        body: F,
        // Boxed, and only once the body waits: a body that is ready at once pays for
        // neither the timer nor the room for it in its future.
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
        after: Duration,
        stats: &'static TimeoutStats,
        no_timer: bool,
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
        if this.sleep.is_none() {
            if *this.no_timer || tokio::runtime::Handle::try_current().is_err() {
                *this.no_timer = true;
                no_runtime_warning();
                return Poll::Pending;
            }
            *this.sleep = Some(Box::pin(tokio::time::sleep(*this.after)));
        }
        match this.sleep.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => {
                this.stats.elapsed();
                Poll::Ready(R::elapsed(Elapsed::new(*this.after)))
            }
            _ => Poll::Pending,
        }
    }
}

/// Wraps an async body in a deadline of `after`.
#[inline(always)]
pub fn timeout_call<R: TimeoutReturn, F: Future<Output = R>>(
    after: Duration,
    stats: &'static TimeoutStats,
    body: F,
) -> Timeout<F, R> {
    Timeout {
        body,
        sleep: None,
        after,
        stats,
        no_timer: false,
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
/// deadline counted in milliseconds.
pub fn timeout_detach<R, F>(after: Duration, stats: &'static TimeoutStats, body: F) -> R
where
    R: TimeoutReturn + Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let (tx, rx) = sync_channel(1);
    // Shared so that, if no thread can be started, the caller can still run the body.
    let slot = Arc::new(Mutex::new(Some(body)));
    let theirs = Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("steadfast-timeout".into())
        .spawn(move || {
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
                Some(body) => body(),
                None => R::elapsed(Elapsed::new(after)),
            };
        }
    };
    match rx.recv_timeout(after) {
        Ok(out) => out,
        Err(RecvTimeoutError::Timeout) => {
            stats.elapsed();
            R::elapsed(Elapsed::new(after))
        }
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => R::elapsed(Elapsed::new(after)),
        },
    }
}
