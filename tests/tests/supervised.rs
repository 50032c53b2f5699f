//! `#[supervised]`: restart schedules (under paused time), giving up, panics, handles,
//! `stop()` during a backoff, argument cloning, health and metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use steadfast::{HealthStatus, TaskState, supervised};
use tokio::time::Instant;

/// When each run started, relative to the test's start.
#[derive(Clone, Default)]
struct Runs(
    Arc<std::sync::Mutex<Vec<Duration>>>,
    Arc<std::sync::OnceLock<Instant>>,
);

impl Runs {
    fn start(&self) -> usize {
        let origin = *self.1.get_or_init(Instant::now);
        let mut runs = self.0.lock().unwrap();
        runs.push(origin.elapsed());
        runs.len()
    }
    fn at(&self) -> Vec<u64> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.as_millis() as u64)
            .collect()
    }
}

#[supervised(
    delay = "100ms",
    max_delay = "1s",
    jitter = "none",
    max_restarts = 10,
    within = "1m",
    name = "tests.always_fails"
)]
async fn always_fails(runs: Runs) -> Result<(), String> {
    let n = runs.start();
    Err(format!("run {n} failed"))
}

/// Waits on the thread (at most 5 s) for a task to stop.
fn wait_stopped(task: &steadfast::Task) {
    for _ in 0..1000 {
        if task.state() == TaskState::Stopped {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

async fn until(task: &steadfast::Task, done: impl Fn(TaskState) -> bool) {
    for _ in 0..100_000 {
        if done(task.state()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("task `{}` stuck in {:?}", task.name(), task.state());
}

#[tokio::test(start_paused = true)]
async fn restarts_follow_the_backoff_and_give_up_after_max_restarts() {
    let runs = Runs::default();
    let task = always_fails_supervised(runs.clone());
    until(&task, |s| s == TaskState::Failed).await;
    // 1 run + 10 restarts, 100 ms doubling up to 1 s between them.
    assert_eq!(
        runs.at(),
        [0, 100, 300, 700, 1500, 2500, 3500, 4500, 5500, 6500, 7500]
    );
    assert_eq!(task.restarts(), 10);
    assert_eq!(task.last_error().as_deref(), Some("run 11 failed"));
    assert_eq!(
        steadfast::task("tests.always_fails").unwrap().state(),
        TaskState::Failed
    );
    let health = steadfast::health();
    assert!(
        health
            .reasons
            .iter()
            .any(|r| r == "task `tests.always_fails` gave up; last error: run 11 failed"),
        "{health:?}"
    );
    assert!(health.status >= HealthStatus::Degraded);
    let text = steadfast::metrics::prometheus();
    assert!(
        text.contains("steadfast_task_state{task=\"tests.always_fails\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("steadfast_task_restarts_total{task=\"tests.always_fails\"} 10"),
        "{text}"
    );
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find_map(|m| m.task.filter(|t| t.name == "tests.always_fails"))
        .expect("the task is in the snapshot");
    assert_eq!((m.state, m.restarts), (TaskState::Failed, 10));
}

/// Fails fast for its first 3 runs, then every 20 s: failures spread beyond `within`.
#[supervised(
    delay = "1s",
    max_delay = "1s",
    jitter = "none",
    max_restarts = 3,
    within = "10s",
    name = "tests.slow_failures"
)]
async fn slow_failures(runs: Runs) -> Result<(), String> {
    if runs.start() > 3 {
        tokio::time::sleep(Duration::from_secs(20)).await;
    }
    Err("down".into())
}

#[tokio::test(start_paused = true)]
async fn failures_outside_the_window_do_not_give_up() {
    let runs = Runs::default();
    let task = slow_failures_supervised(runs.clone());
    tokio::time::sleep(Duration::from_secs(200)).await;
    // Three quick restarts fill the window; later failures are 21 s apart, each alone in it.
    assert!(runs.at().len() > 8, "{:?}", runs.at());
    assert_ne!(task.state(), TaskState::Failed);
    task.stop().await;
    assert_eq!(task.state(), TaskState::Stopped);
}

#[supervised(
    delay = "1s",
    max_delay = "1s",
    jitter = "none",
    max_restarts = 3,
    within = "10s",
    name = "tests.fast_failures"
)]
async fn fast_failures(runs: Runs) -> Result<(), String> {
    runs.start();
    Err("down".into())
}

#[tokio::test(start_paused = true)]
async fn the_failure_after_max_restarts_within_the_window_gives_up() {
    let runs = Runs::default();
    let task = fast_failures_supervised(runs.clone());
    until(&task, |s| s == TaskState::Failed).await;
    assert_eq!(runs.at(), [0, 1000, 2000, 3000]);
}

#[supervised(
    delay = "50ms",
    jitter = "none",
    max_restarts = 5,
    within = "1m",
    name = "tests.panics"
)]
async fn panics(runs: Runs) {
    if runs.start() < 3 {
        panic!("the queue is gone");
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_a_failure_with_its_message() {
    let runs = Runs::default();
    let task = panics_supervised(runs.clone());
    until(&task, |s| s == TaskState::Stopped).await;
    assert_eq!(runs.at(), [0, 50, 150]);
    assert_eq!(task.restarts(), 2);
    assert_eq!(
        task.last_error().as_deref(),
        Some("panicked: the queue is gone")
    );
}

#[supervised(
    restart = "permanent",
    delay = "1s",
    max_delay = "1s",
    jitter = "none",
    max_restarts = 100,
    within = "1000s",
    name = "tests.permanent"
)]
async fn permanent(runs: Runs) -> Result<(), std::io::Error> {
    runs.start();
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn permanent_restarts_after_ok_and_stop_during_a_backoff_returns_at_once() {
    let runs = Runs::default();
    let task = permanent_supervised(runs.clone());
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(runs.at(), [0, 1000, 2000, 3000]);
    assert!(
        matches!(task.state(), TaskState::BackingOff { .. }),
        "{:?}",
        task.state()
    );
    let before = Instant::now();
    task.stop().await;
    assert_eq!(
        before.elapsed(),
        Duration::ZERO,
        "stop waits for no backoff"
    );
    assert_eq!(task.state(), TaskState::Stopped);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(runs.at().len(), 4, "no run after stop");
}

#[supervised(jitter = "none", name = "tests.stops_when_asked")]
async fn stops_when_asked(runs: Runs) -> Result<(), String> {
    runs.start();
    steadfast::shutdown_requested().await;
    assert!(steadfast::is_shutting_down());
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn stop_signals_the_run_and_waits_for_it() {
    let runs = Runs::default();
    let task = stops_when_asked_supervised(runs.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(task.state(), TaskState::Running);
    assert!(!steadfast::is_shutting_down(), "only the task is told");
    task.stop().await;
    assert_eq!(task.state(), TaskState::Stopped);
    assert_eq!(runs.at(), [0]);
    assert!(task.last_error().is_none());
}

#[supervised(shutdown = "2s", name = "tests.ignores_stop")]
async fn ignores_stop() -> Result<(), String> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_run_that_ignores_stop_is_dropped_after_its_shutdown_grace() {
    let task = ignores_stop_supervised();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let before = Instant::now();
    task.stop().await;
    assert_eq!(before.elapsed(), Duration::from_secs(2));
    assert_eq!(task.state(), TaskState::Stopped);
}

/// Counts its clones: every run gets a fresh one.
#[derive(Debug)]
struct Counted(Arc<AtomicU32>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, Ordering::SeqCst);
        Counted(self.0.clone())
    }
}

#[supervised(delay = "10ms", jitter = "none", name = "tests.clones")]
fn clones(arg: Counted, label: String) -> Result<(), String> {
    assert_eq!(label, "worker");
    if arg.0.load(Ordering::SeqCst) < 3 {
        Err("again".into())
    } else {
        Ok(())
    }
}

#[test]
fn a_sync_task_runs_on_its_own_named_thread_on_clones_of_the_arguments() {
    let clones_made = Arc::new(AtomicU32::new(0));
    let task = clones_supervised(Counted(clones_made.clone()), "worker".to_owned());
    wait_stopped(&task);
    assert_eq!(task.state(), TaskState::Stopped);
    assert_eq!(clones_made.load(Ordering::SeqCst), 3, "one clone per run");
    assert_eq!(task.restarts(), 2);
    // Still callable as written.
    assert!(clones(Counted(clones_made), "worker".to_owned()).is_ok());
}

#[supervised(name = "tests.thread_name")]
fn thread_name(tx: std::sync::mpsc::Sender<Option<String>>) {
    let _ = tx.send(std::thread::current().name().map(str::to_owned));
}

#[test]
fn the_thread_is_named_after_the_task() {
    let (tx, rx) = std::sync::mpsc::channel();
    let _task = thread_name_supervised(tx);
    let name = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        name.as_deref(),
        Some("tests.thread_na"),
        "thread names are cut to 15 bytes"
    );
}

#[supervised(
    critical,
    delay = "10ms",
    jitter = "none",
    max_restarts = 1,
    name = "tests.critical"
)]
async fn critical_one() -> Result<(), String> {
    Err("disk full".into())
}

#[tokio::test(start_paused = true)]
async fn a_critical_task_that_gives_up_makes_the_process_unhealthy() {
    let task = critical_one_supervised();
    until(&task, |s| s == TaskState::Failed).await;
    let health = steadfast::health();
    assert_eq!(health.status, HealthStatus::Unhealthy);
    assert!(
        health
            .reasons
            .contains(&"critical task `tests.critical` gave up; last error: disk full".to_owned()),
        "{health:?}"
    );
}

struct Worker {
    id: u32,
}

impl Worker {
    #[supervised(name = "tests.method")]
    async fn run(self: Arc<Self>, tx: tokio::sync::mpsc::UnboundedSender<u32>) {
        let _ = tx.send(self.id);
    }
}

#[tokio::test]
async fn a_method_taking_an_arc_of_self_is_supervised() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = Arc::new(Worker { id: 7 }).run_supervised(tx);
    assert_eq!(rx.recv().await, Some(7));
    task.stop().await;
}

#[test]
fn an_async_task_outside_a_runtime_fails_with_why() {
    let task = stops_when_asked_supervised(Runs::default());
    assert_eq!(task.state(), TaskState::Failed);
    assert!(task.last_error().unwrap().contains("inside a runtime"));
}

#[supervised(
    delay = "10ms",
    jitter = "none",
    max_restarts = 3,
    name = "tests.sync_panics"
)]
fn sync_panics(runs: Arc<AtomicU32>) {
    if runs.fetch_add(1, Ordering::SeqCst) < 1 {
        panic!("bad input");
    }
}

#[test]
fn a_sync_panic_is_a_failure_with_its_message() {
    let runs = Arc::new(AtomicU32::new(0));
    let task = sync_panics_supervised(runs.clone());
    wait_stopped(&task);
    assert_eq!(task.state(), TaskState::Stopped);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(task.last_error().as_deref(), Some("panicked: bad input"));
}

#[supervised(shutdown = "100ms", name = "tests.sync_ignores_stop")]
fn sync_ignores_stop(release: Arc<AtomicU32>) {
    while release.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn stopping_a_sync_task_that_ignores_it_returns_after_its_grace() {
    let release = Arc::new(AtomicU32::new(0));
    let task = sync_ignores_stop_supervised(release.clone());
    std::thread::sleep(Duration::from_millis(20));
    let before = std::time::Instant::now();
    task.stop_blocking();
    let waited = before.elapsed();
    assert!(
        waited >= Duration::from_millis(100) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert_eq!(
        task.state(),
        TaskState::Running,
        "a thread cannot be dropped"
    );
    release.store(1, Ordering::SeqCst);
    wait_stopped(&task);
    assert_eq!(task.state(), TaskState::Stopped, "no run after it returned");
}
