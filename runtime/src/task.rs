//! `#[supervised]`: a function run as a background task, restarted with backoff when it
//! fails, given up on loudly, and stopped on shutdown.
//!
//! An async task runs on tokio: a supervisor task spawns each run as a task of its own (a
//! panic is then a `JoinError`, and a run that outlives its shutdown grace is aborted). A
//! sync task runs on a named thread, each run under `catch_unwind`; it cannot be dropped.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::retry::{Backoff, Jitter, RetryPolicy};

/// The settings of one `#[supervised]` function, as the attribute gives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskSpec {
    /// `name = "…"`, if written.
    pub name: Option<&'static str>,
    /// `restart = "permanent"`: restart after a run that returned `Ok` too.
    pub permanent: bool,
    /// Wait before the first restart.
    pub delay: Duration,
    /// Cap on one wait.
    pub max_delay: Duration,
    /// Growth of the wait from one restart to the next.
    pub multiplier: f64,
    /// Randomness on the wait.
    pub jitter: Jitter,
    /// Restarts allowed within `within`; one more and the task gives up.
    pub max_restarts: u32,
    /// The sliding window of `max_restarts`.
    pub within: Duration,
    /// A run this long brings the backoff back to `delay`; `None`: `max_delay`.
    pub reset_after: Option<Duration>,
    /// How long a run has after the shutdown signal before it is dropped.
    pub shutdown: Duration,
    /// When it gives up, `health()` is Unhealthy rather than Degraded.
    pub critical: bool,
}

impl TaskSpec {
    /// The defaults of `#[supervised]`: transient restarts, 1 s doubling up to 30 s with
    /// full jitter, more than 5 restarts within 60 s gives up, 10 s to stop. Generated code
    /// fills every key not written from here.
    pub const DEFAULT: TaskSpec = TaskSpec {
        name: None,
        permanent: false,
        delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
        multiplier: 2.0,
        jitter: Jitter::Full,
        max_restarts: 5,
        within: Duration::from_secs(60),
        reset_after: None,
        shutdown: Duration::from_secs(10),
        critical: false,
    };

    /// The backoff between restarts, in `#[retry]`'s terms; values out of range (from an
    /// expression) are taken at their nearest valid one, never a panic.
    fn backoff(&self) -> RetryPolicy {
        let multiplier = if self.multiplier >= 1.0 && self.multiplier.is_finite() {
            self.multiplier
        } else {
            1.0
        };
        RetryPolicy {
            name: None,
            attempts: u32::MAX,
            delay: self.delay,
            backoff: Backoff::Exponential { multiplier },
            max_delay: self.max_delay.max(self.delay),
            jitter: self.jitter,
            max_elapsed: None,
        }
    }
}

/// Where a supervised task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// A run is going on.
    Running,
    /// Waiting to restart after a run ended.
    BackingOff {
        /// When the next run starts.
        until: Instant,
    },
    /// It returned for good: stopped, shut down, or (`restart = "transient"`) done.
    Stopped,
    /// It failed more than `max_restarts` times within `within` and was given up on.
    Failed,
}

impl TaskState {
    /// The value of `steadfast_task_state`: 0 running, 1 backing off, 2 stopped, 3 failed.
    pub fn as_number(self) -> u8 {
        match self {
            TaskState::Running => 0,
            TaskState::BackingOff { .. } => 1,
            TaskState::Stopped => 2,
            TaskState::Failed => 3,
        }
    }

    fn is_finished(self) -> bool {
        matches!(self, TaskState::Stopped | TaskState::Failed)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Running => "running",
            TaskState::BackingOff { .. } => "backing off",
            TaskState::Stopped => "stopped",
            TaskState::Failed => "failed",
        })
    }
}

#[derive(Debug)]
struct Inner {
    state: TaskState,
    last_error: Option<String>,
    dropped: bool,
}

#[derive(Debug)]
struct Shared {
    name: Box<str>,
    function: &'static str,
    critical: bool,
    /// A sync task's `shutdown` grace: how long `stop` waits for a thread that cannot be
    /// dropped. `None` for an async task, whose supervisor drops the run at its grace.
    thread_grace: Option<Duration>,
    inner: Mutex<Inner>,
    restarts: AtomicU64,
    stop: AtomicBool,
    /// Wakes the supervisor and `shutdown_requested` inside the task.
    stop_notify: Notify,
    /// Wakes `stop()` waiters when it finishes.
    done: Notify,
    /// Wakes a sync supervisor's backoff and `stop_blocking` waiters.
    changed: Condvar,
}

/// A handle on a supervised task: cheap to clone, from its companion
/// `<name>_supervised(…)`, [`task`] or [`tasks`].
#[derive(Debug, Clone)]
pub struct Task(Arc<Shared>);

impl Task {
    fn new(
        name: &str,
        function: &'static str,
        critical: bool,
        thread_grace: Option<Duration>,
    ) -> Task {
        Task(Arc::new(Shared {
            name: name.into(),
            function,
            critical,
            thread_grace,
            inner: Mutex::new(Inner {
                state: TaskState::Running,
                last_error: None,
                dropped: false,
            }),
            restarts: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            stop_notify: Notify::new(),
            done: Notify::new(),
            changed: Condvar::new(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Only the supervisor's own code runs under it: user code never poisons it.
        self.0.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `name = "…"`, else the function's path.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Where it is now.
    pub fn state(&self) -> TaskState {
        self.lock().state
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u64 {
        self.0.restarts.load(Ordering::Relaxed)
    }

    /// The `Display` of the last run's error, or its panic message.
    pub fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }

    /// Whether it was marked `critical`.
    pub fn is_critical(&self) -> bool {
        self.0.critical
    }

    /// Tells the task to stop (its `shutdown_requested()` resolves, no restart follows)
    /// and waits until it has: a run gets its `shutdown` grace, then an async one is
    /// dropped. A sync run cannot be: after its grace, `stop` returns with the task still
    /// [`Running`](TaskState::Running) (it starts no new run when it returns). Returns at
    /// once if it has stopped already.
    pub async fn stop(&self) {
        self.request_stop();
        let finished = async {
            loop {
                let done = self.0.done.notified();
                let mut done = std::pin::pin!(done);
                done.as_mut().enable();
                if self.is_finished() {
                    return;
                }
                done.await;
            }
        };
        match self.0.thread_grace {
            None => finished.await,
            Some(grace) => {
                let _ = tokio::time::timeout(grace, finished).await;
            }
        }
    }

    /// [`stop`](Task::stop), waiting on the thread.
    pub fn stop_blocking(&self) {
        self.request_stop();
        let deadline = self.0.thread_grace.map(|grace| Instant::now() + grace);
        let mut inner = self.lock();
        while !inner.state.is_finished() {
            inner = match deadline {
                None => self
                    .0
                    .changed
                    .wait(inner)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return;
                    }
                    self.0
                        .changed
                        .wait_timeout(inner, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    pub(crate) fn request_stop(&self) {
        self.0.stop.store(true, Ordering::SeqCst);
        self.0.stop_notify.notify_waiters();
        let _inner = self.lock();
        self.0.changed.notify_all();
    }

    pub(crate) fn stop_is_requested(&self) -> bool {
        self.0.stop.load(Ordering::SeqCst)
    }

    pub(crate) fn stop_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.0.stop_notify.notified()
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.state().is_finished()
    }

    /// Whether a run was dropped after its shutdown grace.
    pub(crate) fn was_dropped(&self) -> bool {
        self.lock().dropped
    }

    fn set(&self, state: TaskState) {
        let mut inner = self.lock();
        inner.state = state;
        drop(inner);
        #[cfg(feature = "metrics")]
        crate::facade::task_state(self.name(), state);
        self.0.changed.notify_all();
        if state.is_finished() {
            self.0.done.notify_waiters();
        }
    }

    fn set_error(&self, error: String) {
        self.lock().last_error = Some(error);
    }

    /// Ends a task that could not start.
    fn fail_now(&self, why: &str) {
        tracing::error!(target: "steadfast", task = %self.name(), "task `{}` cannot start: {why}", self.name());
        self.set_error(why.to_owned());
        self.set(TaskState::Failed);
    }

    /// A run ended (`failure`: why, `None` for a success) after `ran`, at `now` since the
    /// supervisor began: the wait before the next run, or `None` when the task is over.
    fn after_run(
        &self,
        spec: &TaskSpec,
        schedule: &mut Schedule,
        failure: Option<String>,
        ran: Duration,
        now: Duration,
    ) -> Option<Duration> {
        if self.stop_is_requested() {
            if let Some(error) = failure {
                self.set_error(error);
            }
            self.set(TaskState::Stopped);
            return None;
        }
        match failure {
            None if !spec.permanent => {
                tracing::info!(target: "steadfast", task = %self.name(), "task `{}` finished", self.name());
                self.set(TaskState::Stopped);
                return None;
            }
            None => {}
            Some(error) => {
                tracing::warn!(target: "steadfast", task = %self.name(), error = %error, "task `{}` failed: {error}", self.name());
                self.set_error(error);
            }
        }
        match schedule.next(now, ran) {
            Some(wait) => {
                self.0.restarts.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                crate::facade::task_restarted(self.name());
                Some(wait)
            }
            None => {
                let last = self.last_error().unwrap_or_else(|| "it returned".into());
                tracing::error!(
                    target: "steadfast",
                    task = %self.name(),
                    critical = self.0.critical,
                    "task `{}` gave up: more than {} restarts within {:?}; last error: {last}",
                    self.name(),
                    spec.max_restarts,
                    spec.within,
                );
                self.set(TaskState::Failed);
                None
            }
        }
    }
}

/// The restart schedule of one task: backoff, its reset, and the sliding window.
#[derive(Debug)]
struct Schedule {
    backoff: RetryPolicy,
    max_restarts: u32,
    within: Duration,
    reset_after: Duration,
    /// Failed runs since the backoff was last reset.
    failures: u32,
    previous: Duration,
    /// When each restart in the window was decided, since the supervisor began.
    restarts: VecDeque<Duration>,
}

impl Schedule {
    fn new(spec: &TaskSpec) -> Schedule {
        Schedule {
            backoff: spec.backoff(),
            max_restarts: spec.max_restarts,
            within: spec.within,
            reset_after: spec.reset_after.unwrap_or(spec.max_delay),
            failures: 0,
            previous: Duration::ZERO,
            restarts: VecDeque::new(),
        }
    }

    /// After a run that lasted `ran` and ended at `now`: the wait before the restart, or
    /// `None` when this restart would be more than `max_restarts` within `within`.
    fn next(&mut self, now: Duration, ran: Duration) -> Option<Duration> {
        while self
            .restarts
            .front()
            .is_some_and(|at| now.saturating_sub(*at) >= self.within)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() >= self.max_restarts as usize {
            return None;
        }
        self.restarts.push_back(now);
        if ran >= self.reset_after {
            self.failures = 0;
            self.previous = Duration::ZERO;
        }
        self.failures = self.failures.saturating_add(1);
        let wait = self.backoff.wait(self.failures, self.previous);
        self.previous = wait;
        Some(wait)
    }
}

/// What `#[supervised]` needs of the function's return type: `()`, or a `Result` whose
/// error can be shown (`Display`), which is the last error of the task.
#[diagnostic::on_unimplemented(
    message = "`#[supervised]` needs the function to return `()` or a `Result` whose error implements `Display`, found `{Self}`",
    label = "an `Err` of this type is a failed run, restarted with backoff",
    note = "`anyhow::Result<()>`, `io::Result<()>` and `Result<(), Box<dyn Error + Send + Sync>>` work"
)]
pub trait TaskReturn {
    /// The run's failure, shown; `None` when it succeeded.
    fn failure(&self) -> Option<String>;
}

impl TaskReturn for () {
    fn failure(&self) -> Option<String> {
        None
    }
}

impl<T, E: fmt::Display> TaskReturn for Result<T, E> {
    fn failure(&self) -> Option<String> {
        self.as_ref().err().map(ToString::to_string)
    }
}

/// What `#[supervised]` needs of each argument: every run gets a clone, on a task of its
/// own.
#[diagnostic::on_unimplemented(
    message = "`#[supervised]` runs the function anew on clones of its arguments, on a task of its own: `{Self}` must be `Clone + Send + 'static`",
    label = "each run gets a clone of this argument",
    note = "share what cannot be cloned through an `Arc`"
)]
pub trait TaskArg: Clone + Send + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Clone + Send + 'static> TaskArg for T {}

/// Checks one argument of a `#[supervised]` function where it is declared.
#[inline]
pub fn task_arg<T: TaskArg>(arg: T) -> T {
    arg
}

/// A panic's message, as the failure of a run.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("panicked: {text}")
}

/// The `static` of one `#[supervised]` function: its settings and the label of its
/// figures.
#[derive(Debug)]
pub struct TaskSlot {
    spec: TaskSpec,
    /// The label of the function's figures: `#[monitored(name = …)]`, else its path.
    label: &'static str,
}

impl TaskSlot {
    /// The slot of a function with these settings.
    pub const fn new(spec: TaskSpec, label: &'static str) -> TaskSlot {
        TaskSlot { spec, label }
    }

    /// A new task of this function (on a thread of its own: `thread`), listed.
    fn start(&'static self, thread: bool) -> Task {
        let name = self.spec.name.unwrap_or(self.label);
        let grace = thread.then_some(self.spec.shutdown);
        let task = Task::new(name, self.label, self.spec.critical, grace);
        register(&task);
        task
    }
}

/// What the figures keep of a supervised function, in
/// [`FunctionMetrics::task`](crate::metrics::FunctionMetrics::task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskMetrics {
    /// The task's name.
    pub name: String,
    /// Where it is now.
    pub state: TaskState,
    /// Restarts so far.
    pub restarts: u64,
    /// The last run's error or panic.
    pub last_error: Option<String>,
}

impl Task {
    /// Its figures now.
    pub(crate) fn metrics(&self) -> TaskMetrics {
        TaskMetrics {
            name: self.name().to_owned(),
            state: self.state(),
            restarts: self.restarts(),
            last_error: self.last_error(),
        }
    }

    /// The label of its function's figures.
    pub(crate) fn function(&self) -> &'static str {
        self.0.function
    }
}

/// Every task started, the newest of each name last.
static TASKS: Mutex<Vec<Task>> = Mutex::new(Vec::new());
/// Set once every task was told to stop (a drain began): a task started later is told at
/// once, and never runs.
static ALL_STOPPED: AtomicBool = AtomicBool::new(false);

fn register(task: &Task) {
    let mut tasks = TASKS.lock().unwrap_or_else(PoisonError::into_inner);
    // Under the lock that `request_stop_all` takes: a task registered after it is told here.
    if ALL_STOPPED.load(Ordering::SeqCst) {
        task.0.stop.store(true, Ordering::SeqCst);
    }
    // A finished task of the same name is replaced; a running one stays (drain waits for it).
    tasks.retain(|t| t.name() != task.name() || !t.is_finished());
    tasks.push(task.clone());
}

/// The supervised task named `name` (`#[supervised(name = "…")]`, else the function's
/// path), the one started last if the companion was called more than once.
pub fn task(name: &str) -> Option<Task> {
    let tasks = TASKS.lock().unwrap_or_else(PoisonError::into_inner);
    tasks.iter().rev().find(|t| t.name() == name).cloned()
}

/// Every supervised task started so far, one per name (the newest), in the order of names.
pub fn tasks() -> Vec<Task> {
    let tasks = TASKS.lock().unwrap_or_else(PoisonError::into_inner);
    let mut out: Vec<Task> = Vec::new();
    for t in tasks.iter().rev() {
        if !out.iter().any(|o| o.name() == t.name()) {
            out.push(t.clone());
        }
    }
    out.sort_by(|a, b| a.name().cmp(b.name()));
    out
}

/// Tells every task to stop (a drain began); returns those still running.
pub(crate) fn request_stop_all() -> Vec<Task> {
    let tasks = TASKS.lock().unwrap_or_else(PoisonError::into_inner);
    ALL_STOPPED.store(true, Ordering::SeqCst);
    let running: Vec<Task> = tasks.iter().filter(|t| !t.is_finished()).cloned().collect();
    drop(tasks);
    for task in &running {
        task.request_stop();
    }
    running
}

tokio::task_local! {
    static CURRENT: Task;
}

thread_local! {
    static CURRENT_THREAD: std::cell::RefCell<Option<Task>> = const { std::cell::RefCell::new(None) };
}

/// The task this code runs in, if it runs in one.
pub(crate) fn current() -> Option<Task> {
    CURRENT
        .try_with(Task::clone)
        .ok()
        .or_else(|| CURRENT_THREAD.with(|c| c.borrow().clone()))
}

/// Whether the task this code runs in was told to stop.
pub(crate) fn current_stop_requested() -> bool {
    CURRENT
        .try_with(Task::stop_is_requested)
        .ok()
        .or_else(|| CURRENT_THREAD.with(|c| c.borrow().as_ref().map(Task::stop_is_requested)))
        .unwrap_or(false)
}

/// Runs an async `#[supervised]` function under supervision on the current tokio
/// runtime: `make` calls it anew (on clones of its arguments) for each run.
pub fn supervise_async<F, Fut>(slot: &'static TaskSlot, make: F) -> Task
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: TaskReturn + Send + 'static,
{
    // The only code generic over the function: each run boxed, so that the supervisor is
    // compiled once, not once per supervised function.
    let mut make = make;
    start_async(
        slot,
        Box::new(move || {
            let run = make();
            Box::pin(async move { run.await.failure() })
        }),
    )
}

/// The supervisor of an async supervised function, spawned by code compiled once.
fn start_async(slot: &'static TaskSlot, runs: Runs) -> Task {
    let task = slot.start(false);
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(run_async(task.clone(), slot.spec, runs));
        }
        Err(_) => task.fail_now("an async `#[supervised]` function runs on tokio: call its `_supervised` companion inside a runtime"),
    }
    task
}

/// Each run of an async supervised function: its failure, shown, or `None`.
type Runs =
    Box<dyn FnMut() -> std::pin::Pin<Box<dyn Future<Output = Option<String>> + Send>> + Send>;

async fn run_async(task: Task, spec: TaskSpec, mut make: Runs) {
    let origin = tokio::time::Instant::now();
    let mut schedule = Schedule::new(&spec);
    loop {
        if task.stop_is_requested() {
            task.set(TaskState::Stopped);
            return;
        }
        task.set(TaskState::Running);
        let started = tokio::time::Instant::now();
        let mut run = tokio::spawn(CURRENT.scope(task.clone(), make()));
        // The run's end, or the stop signal while it runs.
        let ended = {
            let stop = task.stop_notified();
            let mut stop = std::pin::pin!(stop);
            stop.as_mut().enable();
            std::future::poll_fn(|cx| {
                if let Poll::Ready(out) = std::pin::Pin::new(&mut run).poll(cx) {
                    return Poll::Ready(Some(out));
                }
                if task.stop_is_requested() || stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                Poll::Pending
            })
            .await
        };
        let ended = match ended {
            Some(out) => out,
            None => match tokio::time::timeout(spec.shutdown, &mut run).await {
                Ok(out) => out,
                Err(_) => {
                    run.abort();
                    tracing::warn!(
                        target: "steadfast",
                        task = %task.name(),
                        "task `{}` did not stop within its {:?} shutdown grace: dropped",
                        task.name(),
                        spec.shutdown
                    );
                    task.lock().dropped = true;
                    task.set(TaskState::Stopped);
                    return;
                }
            },
        };
        let failure = match ended {
            Ok(failure) => failure,
            Err(e) if e.is_panic() => Some(panic_message(&*e.into_panic())),
            Err(_) => Some("its run was cancelled".to_owned()),
        };
        let now = tokio::time::Instant::now();
        let Some(wait) = task.after_run(&spec, &mut schedule, failure, now - started, now - origin)
        else {
            return;
        };
        task.set(TaskState::BackingOff {
            until: (now + wait).into_std(),
        });
        let sleep = tokio::time::sleep(wait);
        let stop = task.stop_notified();
        let (mut sleep, mut stop) = (std::pin::pin!(sleep), std::pin::pin!(stop));
        stop.as_mut().enable();
        std::future::poll_fn(|cx| {
            if task.stop_is_requested()
                || stop.as_mut().poll(cx).is_ready()
                || sleep.as_mut().poll(cx).is_ready()
            {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// Runs a sync `#[supervised]` function under supervision on a thread of its own, named
/// after the task: `run` calls it anew (on clones of its arguments) for each run.
pub fn supervise_thread<F, R>(slot: &'static TaskSlot, run: F) -> Task
where
    F: FnMut() -> R + Send + 'static,
    R: TaskReturn,
{
    let mut run = run;
    start_thread(slot, Box::new(move || run().failure()))
}

/// The thread of a sync supervised function, started by code compiled once.
fn start_thread(slot: &'static TaskSlot, runs: Box<dyn FnMut() -> Option<String> + Send>) -> Task {
    let task = slot.start(true);
    let spec = slot.spec;
    let supervised = task.clone();
    let spawned = std::thread::Builder::new()
        .name(task.name().chars().take(15).collect())
        .spawn(move || run_thread(supervised, spec, runs));
    if let Err(e) = spawned {
        task.fail_now(&format!("its thread could not start: {e}"));
    }
    task
}

fn run_thread(task: Task, spec: TaskSpec, mut run: Box<dyn FnMut() -> Option<String> + Send>) {
    CURRENT_THREAD.with(|c| *c.borrow_mut() = Some(task.clone()));
    let origin = Instant::now();
    let mut schedule = Schedule::new(&spec);
    loop {
        if task.stop_is_requested() {
            task.set(TaskState::Stopped);
            return;
        }
        task.set(TaskState::Running);
        let started = Instant::now();
        let failure = match std::panic::catch_unwind(AssertUnwindSafe(&mut run)) {
            Ok(failure) => failure,
            Err(payload) => Some(panic_message(&*payload)),
        };
        let now = Instant::now();
        let Some(wait) = task.after_run(&spec, &mut schedule, failure, now - started, now - origin)
        else {
            return;
        };
        let until = now + wait;
        task.set(TaskState::BackingOff { until });
        let mut inner = task.lock();
        while !task.stop_is_requested() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            inner = task
                .0
                .changed
                .wait_timeout(inner, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TaskSpec {
        TaskSpec {
            jitter: Jitter::None,
            ..TaskSpec::DEFAULT
        }
    }

    #[test]
    fn the_backoff_doubles_up_to_max_delay() {
        let mut s = Schedule::new(&TaskSpec {
            max_restarts: 100,
            within: Duration::from_secs(1),
            ..spec()
        });
        let waits: Vec<u64> = (0..7)
            .map(|i| {
                s.next(Duration::from_secs(10 * i), Duration::ZERO)
                    .unwrap()
                    .as_secs()
            })
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn more_than_max_restarts_within_the_window_gives_up() {
        let mut s = Schedule::new(&spec());
        for i in 0..5 {
            assert!(s.next(Duration::from_secs(i), Duration::ZERO).is_some());
        }
        assert_eq!(s.next(Duration::from_secs(5), Duration::ZERO), None);
    }

    #[test]
    fn restarts_outside_the_window_are_forgotten() {
        let mut s = Schedule::new(&spec());
        for i in 0..5 {
            assert!(
                s.next(Duration::from_secs(i * 10), Duration::ZERO)
                    .is_some()
            );
        }
        // At 60 s the restart at 0 s is a minute old: four in the window, one more fits.
        assert!(s.next(Duration::from_secs(60), Duration::ZERO).is_some());
        // At 65 s: 10, 20, 30, 40 and 60 are in it: the next one gives up.
        assert_eq!(s.next(Duration::from_secs(65), Duration::ZERO), None);
    }

    #[test]
    fn a_long_run_resets_the_backoff() {
        let mut s = Schedule::new(&TaskSpec {
            max_restarts: 100,
            ..spec()
        });
        assert_eq!(
            s.next(Duration::ZERO, Duration::ZERO),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            s.next(Duration::from_secs(1), Duration::ZERO),
            Some(Duration::from_secs(2))
        );
        // A run of `reset_after` (= max_delay, 30 s) brings it back to `delay`.
        assert_eq!(
            s.next(Duration::from_secs(40), Duration::from_secs(30)),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn panic_messages_are_kept() {
        let payload = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(panic_message(&*payload), "panicked: boom 7");
    }
}
