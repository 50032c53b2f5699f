//! [`drain`]: shutting down without losing work, and the signal supervised tasks and
//! loops read ([`is_shutting_down`], [`shutdown_requested`]).
//!
//! The promise that no call is admitted unseen rests on one pairing, model-checked with
//! loom (`door`): a call counts itself in flight (a store to its function's counter), then
//! passes a `SeqCst` fence and reads whether the door is closed; a drain closes the door,
//! passes a `SeqCst` fence and then reads the counters. Of the two fences one comes first:
//! either the drain sees the call's count, or the call sees the closed door.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Notify;

use crate::gate::{Rejected, Rejection};
use crate::monitor::MonitoredCall;

pub(crate) mod door;

use door::Door;

/// A call turned away because the process is draining ([`drain`]): returned by a
/// `#[monitored(drain = "reject")]` function called after the drain began, and by a
/// `drain = "cancel"` one cancelled at the drain's deadline.
///
/// Converted into the function's error with `From`, as every gate's rejection is;
/// `io::Error` has the `From`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ShuttingDown;

impl fmt::Display for ShuttingDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the process is shutting down")
    }
}

impl std::error::Error for ShuttingDown {}

impl Rejection for ShuttingDown {
    /// Never: the process will not take the call again.
    fn try_again_in(&self) -> Option<Duration> {
        None
    }

    /// This process's own state, not evidence that a dependency is down.
    fn is_overload(&self) -> bool {
        true
    }
}

impl From<ShuttingDown> for std::io::Error {
    fn from(shutting_down: ShuttingDown) -> Self {
        std::io::Error::other(shutting_down)
    }
}

#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
fn door() -> &'static Door {
    static DOOR: OnceLock<Door> = OnceLock::new();
    DOOR.get_or_init(Door::new)
}

/// Wakes [`shutdown_requested`] when a drain begins.
static SHUTDOWN: Notify = Notify::const_new();
/// Set at the deadline: `drain = "cancel"` calls stop.
static CANCELLING: AtomicBool = AtomicBool::new(false);
/// Wakes the `drain = "cancel"` calls at the deadline.
static CANCEL: Notify = Notify::const_new();

thread_local! {
    /// How many admitted `#[monitored]` calls this thread is inside now (a sync call, or
    /// the poll of an async one): a call made from inside one is admitted while draining.
    static INSIDE: Cell<u32> = const { Cell::new(0) };
    /// Set by a `Cancellable` that returned `ShuttingDown` in place of its body, read by
    /// the `#[monitored]` call polling it (on the same thread, in the same poll): the call
    /// is counted as cancelled, not as a failure.
    static CANCELLED_NOW: Cell<bool> = const { Cell::new(false) };
}

/// Whether the body just polled was cancelled by the drain (and forgets it).
#[inline]
pub(crate) fn take_cancelled() -> bool {
    CANCELLED_NOW.with(Cell::take)
}

/// Marks the thread as inside an admitted call while it lives.
#[derive(Debug)]
pub struct Inside(());

impl Inside {
    /// The thread enters an admitted call.
    #[inline]
    pub fn enter() -> Inside {
        INSIDE.with(|n| n.set(n.get().wrapping_add(1)));
        Inside(())
    }
}

impl Drop for Inside {
    #[inline]
    fn drop(&mut self) {
        INSIDE.with(|n| n.set(n.get().wrapping_sub(1)));
    }
}

#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
fn inside() -> bool {
    INSIDE.with(|n| n.get() > 0)
}

/// True once [`drain`] has begun (for the whole process), or, inside a supervised task,
/// once the task was told to stop ([`Task::stop`](crate::Task::stop)): the loop should
/// finish what it holds and return.
pub fn is_shutting_down() -> bool {
    door().is_closed() || crate::task::current_stop_requested()
}

/// Resolves when [`is_shutting_down`] turns true: `select!` on it in a loop, or await it
/// beside the work.
///
/// ```no_run
/// # async fn next_job() -> Option<u32> { None }
/// #[steadfast::supervised]
/// async fn consume() -> Result<(), std::io::Error> {
///     loop {
///         tokio::select! {
///             _ = steadfast::shutdown_requested() => return Ok(()),
///             job = next_job() => { let _ = job; }
///         }
///     }
/// }
/// ```
pub async fn shutdown_requested() {
    let task = crate::task::current();
    loop {
        let global = SHUTDOWN.notified();
        let mut global = std::pin::pin!(global);
        global.as_mut().enable();
        let local = task.as_ref().map(|t| t.stop_notified());
        let mut local = std::pin::pin!(local);
        if let Some(local) = local.as_mut().as_pin_mut() {
            local.enable();
        }
        if door().is_closed() || task.as_ref().is_some_and(|t| t.stop_is_requested()) {
            return;
        }
        std::future::poll_fn(|cx| {
            if global.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            match local.as_mut().as_pin_mut().map(|local| local.poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(()),
                _ => Poll::Pending,
            }
        })
        .await;
    }
}

/// Lets a `#[monitored(drain = …)]` call in, or turns it away with the function's
/// `Err(ShuttingDown)` (told to a waiting layer above through `rejection`). The call is
/// counted in flight before the door is read: see the module's documentation.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub fn admit<R: crate::returns::DrainReturn>(
    call: MonitoredCall,
    rejection: Option<&mut Option<Rejected>>,
) -> Result<MonitoredCall, R> {
    if door().admits() || inside() {
        return Ok(call);
    }
    Err(turn_away(call, rejection))
}

/// [`admit`] for an async `drain = "cancel"` call: with what its body returns when the
/// drain drops it (the function's `Err(ShuttingDown)`), for [`cancellable`].
#[inline]
#[allow(clippy::type_complexity)]
pub fn admit_cancellable<R: crate::returns::DrainReturn>(
    call: MonitoredCall,
    rejection: Option<&mut Option<Rejected>>,
) -> Result<(MonitoredCall, fn(ShuttingDown) -> R), R> {
    admit(call, rejection).map(|call| (call, R::shutting_down as fn(ShuttingDown) -> R))
}

#[cold]
fn turn_away<R: crate::returns::DrainReturn>(
    call: MonitoredCall,
    rejection: Option<&mut Option<Rejected>>,
) -> R {
    call.end_turned_away();
    if let Some(slot) = rejection {
        *slot = Some(Rejected::of(&ShuttingDown));
    }
    R::shutting_down(ShuttingDown)
}

pin_project_lite::pin_project! {
    /// The body of an async `drain = "cancel"` call: dropped, and the call's
    /// `Err(ShuttingDown)` returned, when the drain's deadline passes.
    #[must_use = "futures do nothing unless polled"]
    pub struct Cancellable<F, R> {
        #[pin]
        body: Option<F>,
        #[pin]
        cancel: Option<tokio::sync::futures::Notified<'static>>,
        stats: &'static crate::monitor::MonitorStats,
        on_cancel: fn(ShuttingDown) -> R,
    }
}

impl<F, R> fmt::Debug for Cancellable<F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancellable")
            .field("running", &self.body.is_some())
            .finish_non_exhaustive()
    }
}

/// `body`, dropped at the drain's deadline.
#[inline]
pub fn cancellable<F: Future<Output = R>, R>(
    stats: &'static crate::monitor::MonitorStats,
    on_cancel: fn(ShuttingDown) -> R,
    body: F,
) -> Cancellable<F, R> {
    Cancellable {
        body: Some(body),
        cancel: None,
        stats,
        on_cancel,
    }
}

impl<F: Future<Output = R>, R> Future for Cancellable<F, R> {
    type Output = R;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let mut this = self.project();
        if this.cancel.is_none() {
            this.cancel.set(Some(CANCEL.notified()));
            if let Some(n) = this.cancel.as_mut().as_pin_mut() {
                n.enable();
            }
        }
        let cancelled = CANCELLING.load(Ordering::Acquire)
            || this
                .cancel
                .as_mut()
                .as_pin_mut()
                .is_some_and(|n| n.poll(cx).is_ready());
        if cancelled {
            this.body.set(None);
            this.stats.cancelled_by_drain();
            CANCELLED_NOW.with(|c| c.set(true));
            return Poll::Ready((this.on_cancel)(ShuttingDown));
        }
        match this.body.as_pin_mut() {
            Some(body) => body.poll(cx),
            // Polled after it returned: the caller broke the `Future` contract.
            None => Poll::Pending,
        }
    }
}

/// What [`drain`] found: how long it waited, and what was still running.
///
/// ```
/// # fn main() {
/// let report = steadfast::drain_blocking(std::time::Duration::from_millis(10));
/// if !report.clean() {
///     eprintln!("{report}"); // names every function and task still running
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainReport {
    waited: Duration,
    in_flight_at_start: u64,
    functions: Vec<DrainedFunction>,
    tasks: Vec<DrainedTask>,
}

/// One `#[monitored]` function in a [`DrainReport`]: its calls in flight when the drain
/// began and what became of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainedFunction {
    /// The function's label.
    pub name: String,
    /// Calls in flight when the drain began.
    pub in_flight_at_start: u64,
    /// Calls still in flight at the deadline (zero when everything finished in time).
    pub in_flight_at_deadline: u64,
    /// Of those, async `drain = "cancel"` calls dropped at the deadline.
    pub cancelled: u64,
    /// Calls still in flight when the drain returned (sync calls cannot be stopped).
    pub left: u64,
}

/// What became of a supervised task during a drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEnd {
    /// It returned after its shutdown signal.
    Stopped,
    /// It outlived its `shutdown` grace and was dropped.
    Dropped,
    /// It was still running when the drain returned.
    StillRunning,
}

/// One supervised task in a [`DrainReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainedTask {
    /// The task's name.
    pub name: String,
    /// What became of it.
    pub end: TaskEnd,
}

impl DrainReport {
    /// True when every call and task finished on its own within the grace: nothing was
    /// cancelled, dropped or left running.
    pub fn clean(&self) -> bool {
        self.functions
            .iter()
            .all(|f| f.in_flight_at_deadline == 0 && f.left == 0)
            && self.tasks.iter().all(|t| t.end == TaskEnd::Stopped)
    }

    /// How long the drain took, from its start to its return.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// `#[monitored]` calls in flight when the drain began.
    pub fn in_flight_at_start(&self) -> u64 {
        self.in_flight_at_start
    }

    /// Every function that had calls in flight at the start or at the deadline, in the
    /// order of names.
    pub fn functions(&self) -> &[DrainedFunction] {
        &self.functions
    }

    /// Every supervised task that was running when the drain began, in the order of names.
    pub fn tasks(&self) -> &[DrainedTask] {
        &self.tasks
    }

    /// The names of the functions and tasks still running when the drain returned.
    pub fn still_running(&self) -> Vec<String> {
        let functions = self.functions.iter().filter(|f| f.left > 0);
        let tasks = self.tasks.iter().filter(|t| t.end == TaskEnd::StillRunning);
        functions
            .map(|f| f.name.clone())
            .chain(tasks.map(|t| t.name.clone()))
            .collect()
    }
}

impl fmt::Display for DrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.clean() {
            return write!(f, "drained cleanly in {:?}", self.waited);
        }
        write!(f, "drained in {:?}:", self.waited)?;
        for func in &self.functions {
            if func.in_flight_at_deadline == 0 {
                continue;
            }
            write!(
                f,
                " `{}` had {} call(s) running at the deadline",
                func.name, func.in_flight_at_deadline
            )?;
            if func.cancelled > 0 {
                write!(f, " ({} cancelled)", func.cancelled)?;
            }
            if func.left > 0 {
                write!(f, ", {} still running", func.left)?;
            }
            f.write_str(";")?;
        }
        for task in &self.tasks {
            match task.end {
                TaskEnd::Stopped => {}
                TaskEnd::Dropped => write!(f, " task `{}` dropped;", task.name)?,
                TaskEnd::StillRunning => write!(f, " task `{}` still running;", task.name)?,
            }
        }
        Ok(())
    }
}

/// The one drain of the process: begun once, joined by any later call.
#[derive(Debug, Default)]
struct State {
    begun: bool,
    report: Option<DrainReport>,
    /// In flight per function when the drain began (for the report and the metrics).
    at_start: Vec<(String, u64)>,
}

static STATE: Mutex<State> = Mutex::new(State {
    begun: false,
    report: None,
    at_start: Vec::new(),
});
static DONE: Notify = Notify::const_new();
static DONE_BLOCKING: Condvar = Condvar::new();

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// True from the start of a drain until it returns.
pub(crate) fn in_progress() -> bool {
    let state = state();
    state.begun && state.report.is_none()
}

/// True once a drain has begun.
pub(crate) fn begun() -> bool {
    door().is_closed()
}

/// Per function: in flight at the start, and left at the end once the drain returned.
pub(crate) fn progress() -> Vec<(String, u64, Option<u64>)> {
    let state = state();
    state
        .at_start
        .iter()
        .map(|(name, at_start)| {
            let left = state.report.as_ref().map(|r| {
                r.functions
                    .iter()
                    .find(|f| &f.name == name)
                    .map_or(0, |f| f.left)
            });
            (name.clone(), *at_start, left)
        })
        .collect()
}

/// One drain's run, shared by the async and the blocking entry.
struct Run {
    started: tokio::time::Instant,
    grace: Duration,
    at_start: Vec<(String, u64)>,
    tasks_at_start: Vec<crate::Task>,
}

/// Starts the drain, or returns `None` when one has begun already.
fn begin(grace: Duration) -> Option<Run> {
    let mut state = state();
    if state.begun {
        return None;
    }
    state.begun = true;
    // Phase 1: the door closes (then the fence), so every call counted before is seen
    // below; tasks and loops are told.
    door().close();
    let started = tokio::time::Instant::now();
    let tasks_at_start = crate::task::request_stop_all();
    SHUTDOWN.notify_waiters();
    let at_start: Vec<(String, u64)> = in_flight().into_iter().filter(|(_, n)| *n > 0).collect();
    state.at_start = at_start.clone();
    drop(state);
    #[cfg(feature = "metrics")]
    {
        crate::facade::draining(true);
        for (function, calls) in &at_start {
            crate::facade::drain_progress(function, true, *calls);
        }
    }
    tracing::warn!(
        target: "steadfast",
        grace = ?grace,
        in_flight = at_start.iter().map(|(_, n)| n).sum::<u64>(),
        tasks = tasks_at_start.len(),
        "draining: new calls are turned away, waiting for those in flight"
    );
    Some(Run {
        started,
        grace,
        at_start,
        tasks_at_start,
    })
}

/// In flight now, per `#[monitored]` function.
fn in_flight() -> Vec<(String, u64)> {
    crate::figures::snapshot()
        .into_iter()
        .filter(|f| f.monitored)
        .map(|f| (f.name, f.in_flight))
        .collect()
}

/// How often a drain looks at what is left.
const POLL: Duration = Duration::from_millis(5);
/// How long cancelled calls get to unwind after the deadline before the report is made.
const SETTLE: Duration = Duration::from_millis(50);

impl Run {
    /// Phase 3's test: nothing in flight, every task stopped.
    fn settled(&self) -> bool {
        in_flight().iter().all(|(_, n)| *n == 0)
            && self.tasks_at_start.iter().all(|t| t.is_finished())
    }

    fn left(&self) -> Duration {
        self.grace.saturating_sub(self.started.elapsed())
    }

    /// Phase 4, at the deadline: async `drain = "cancel"` calls stop.
    fn cancel(&self) -> Vec<(String, u64)> {
        let at_deadline = in_flight();
        CANCELLING.store(true, Ordering::Release);
        CANCEL.notify_waiters();
        at_deadline
    }

    fn report(self, at_deadline: Option<Vec<(String, u64)>>) -> DrainReport {
        let now = in_flight();
        let cancelled = crate::figures::snapshot()
            .into_iter()
            .map(|f| (f.name, f.drain_cancelled))
            .collect::<Vec<_>>();
        let find = |list: &[(String, u64)], name: &str| {
            list.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v)
        };
        let mut names: Vec<&str> = self.at_start.iter().map(|(n, _)| n.as_str()).collect();
        if let Some(at_deadline) = &at_deadline {
            names.extend(
                at_deadline
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(n, _)| n.as_str()),
            );
        }
        names.sort_unstable();
        names.dedup();
        let functions = names
            .into_iter()
            .map(|name| {
                let in_flight_at_deadline = at_deadline.as_deref().map_or(0, |l| find(l, name));
                DrainedFunction {
                    name: name.to_owned(),
                    in_flight_at_start: find(&self.at_start, name),
                    in_flight_at_deadline,
                    cancelled: find(&cancelled, name),
                    left: if at_deadline.is_some() {
                        find(&now, name)
                    } else {
                        0
                    },
                }
            })
            .collect();
        let mut tasks: Vec<DrainedTask> = self
            .tasks_at_start
            .iter()
            .map(|t| DrainedTask {
                name: t.name().to_owned(),
                end: if !t.is_finished() {
                    TaskEnd::StillRunning
                } else if t.was_dropped() {
                    TaskEnd::Dropped
                } else {
                    TaskEnd::Stopped
                },
            })
            .collect();
        tasks.sort_by(|a, b| a.name.cmp(&b.name));
        let report = DrainReport {
            waited: self.started.elapsed(),
            in_flight_at_start: self.at_start.iter().map(|(_, n)| n).sum(),
            functions,
            tasks,
        };
        if report.clean() {
            tracing::info!(target: "steadfast", "{report}");
        } else {
            tracing::warn!(target: "steadfast", "{report}");
        }
        #[cfg(feature = "metrics")]
        {
            crate::facade::draining(false);
            for f in &report.functions {
                crate::facade::drain_progress(&f.name, false, f.left);
            }
        }
        let mut state = state();
        state.report = Some(report.clone());
        drop(state);
        DONE.notify_waiters();
        DONE_BLOCKING.notify_all();
        report
    }
}

/// Shuts the process's work down without losing it, in four phases:
///
/// 1. [`health()`](crate::health) turns Unhealthy with the reason `draining` (a load
///    balancer stops sending work), supervised tasks get their shutdown signal, and
///    [`is_shutting_down`] is true.
/// 2. New calls of `#[monitored(drain = "reject")]` (or `"cancel"`) functions get
///    `Err(ShuttingDown.into())` without running, except calls made from inside a call
///    that was admitted (work in flight can finish what it started).
/// 3. It waits until no `#[monitored]` call is in flight and every supervised task has
///    stopped, or `grace` has passed.
/// 4. At the deadline, async calls of `drain = "cancel"` functions are dropped (they
///    return `ShuttingDown`); sync calls cannot be stopped and are reported.
///
/// No call is ever admitted unseen: a call counts itself in flight and then checks
/// whether the process drains; the drain turns that on and then reads the counts. A
/// second call of `drain` (or [`drain_blocking`]) waits for the first and returns its
/// report. Draining is for the whole process and cannot be undone.
///
/// ```no_run
/// # async fn serve() {}
/// # async fn ctrl_c() {} // tokio::signal::ctrl_c(), with tokio's `signal` feature
/// #[tokio::main]
/// async fn main() {
///     tokio::select! {
///         _ = serve() => {}
///         _ = ctrl_c() => {}
///     }
///     let report = steadfast::drain(std::time::Duration::from_secs(20)).await;
///     if !report.clean() {
///         eprintln!("{report}");
///     }
/// }
/// ```
pub async fn drain(grace: Duration) -> DrainReport {
    let Some(run) = begin(grace) else {
        return joined().await;
    };
    while !run.settled() {
        let left = run.left();
        if left.is_zero() {
            let at_deadline = run.cancel();
            let settle = tokio::time::Instant::now() + SETTLE;
            while !run.settled() && tokio::time::Instant::now() < settle {
                tokio::time::sleep(POLL).await;
            }
            return run.report(Some(at_deadline));
        }
        tokio::time::sleep(left.min(POLL)).await;
    }
    run.report(None)
}

/// [`drain`] for a sync program (a plain `main`): the same phases, waiting on the thread.
pub fn drain_blocking(grace: Duration) -> DrainReport {
    let Some(run) = begin(grace) else {
        let mut state = state();
        loop {
            if let Some(report) = &state.report {
                return report.clone();
            }
            state = DONE_BLOCKING
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    };
    while !run.settled() {
        let left = run.left();
        if left.is_zero() {
            let at_deadline = run.cancel();
            let settle = tokio::time::Instant::now() + SETTLE;
            while !run.settled() && tokio::time::Instant::now() < settle {
                std::thread::sleep(POLL);
            }
            return run.report(Some(at_deadline));
        }
        std::thread::sleep(left.min(POLL));
    }
    run.report(None)
}

/// The report of the drain that began first, once it returns.
async fn joined() -> DrainReport {
    loop {
        let done = DONE.notified();
        let mut done = std::pin::pin!(done);
        done.as_mut().enable();
        if let Some(report) = &state().report {
            return report.clone();
        }
        done.await;
    }
}
