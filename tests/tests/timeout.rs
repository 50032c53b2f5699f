//! `#[timeout]`: async bodies cancelled at the deadline; sync bodies detached.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc;
use std::time::Duration;

use steadfast::{Elapsed, timeout};
use tokio::time::Instant;

#[derive(Debug, PartialEq)]
enum Error {
    TimedOut(Duration),
    Failed,
}

impl From<Elapsed> for Error {
    fn from(e: Elapsed) -> Self {
        Error::TimedOut(e.after())
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

struct SetOnDrop(&'static AtomicBool);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

static DROPPED: AtomicBool = AtomicBool::new(false);

#[timeout("2s")]
async fn sleeps(d: Duration) -> Result<u32, Error> {
    let _guard = SetOnDrop(&DROPPED);
    tokio::time::sleep(d).await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn the_body_is_cancelled_at_the_deadline() {
    let start = Instant::now();
    assert_eq!(sleeps(ms(1_999)).await, Ok(1));
    DROPPED.store(false, SeqCst);
    let start2 = Instant::now();
    assert_eq!(sleeps(ms(10_000)).await, Err(Error::TimedOut(ms(2_000))));
    assert_eq!(start2.elapsed(), ms(2_000), "returned at the deadline");
    assert!(DROPPED.load(SeqCst), "the body was dropped");
    assert!(start.elapsed() < ms(4_000));
    let timeouts = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "timeout::sleeps")
        .and_then(|m| m.timeouts);
    assert_eq!(timeouts, Some(1));
}

#[timeout("1ms")]
async fn ready_at_once(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[tokio::test]
async fn a_ready_body_is_never_late() {
    for x in 0..1000 {
        assert_eq!(ready_at_once(x).await, Ok(x));
    }
}

#[timeout("50ms")]
async fn io(d: Duration) -> std::io::Result<()> {
    tokio::time::sleep(d).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn io_results_time_out_with_kind_timed_out() {
    let err = io(ms(100)).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(err.get_ref().unwrap().downcast_ref::<Elapsed>().is_some());
}

#[timeout("50ms", detach)]
fn blocking(work: Duration, done: mpsc::Sender<()>) -> Result<&'static str, Error> {
    std::thread::sleep(work);
    let _ = done.send(());
    Ok("done")
}

#[test]
fn detached_sync_bodies_return_elapsed_and_finish_on_their_own() {
    let (tx, rx) = mpsc::channel();
    assert_eq!(blocking(ms(1), tx.clone()), Ok("done"));
    rx.recv().unwrap();
    let start = std::time::Instant::now();
    assert_eq!(blocking(ms(300), tx), Err(Error::TimedOut(ms(50))));
    let waited = start.elapsed();
    assert!(
        waited >= ms(50) && waited < ms(250),
        "returned at the deadline: {waited:?}"
    );
    rx.recv_timeout(ms(5_000))
        .expect("the detached body finished by itself");
}

#[timeout("1s", detach)]
fn panics() -> Result<(), Error> {
    panic!("inside the helper thread")
}

#[test]
fn a_panic_in_a_detached_body_reaches_the_caller() {
    let payload = std::panic::catch_unwind(panics).unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"inside the helper thread")
    );
}

struct Service;

impl Service {
    #[timeout("100ms")]
    async fn call(&self, fail: bool) -> Result<(), Error> {
        if fail { Err(Error::Failed) } else { Ok(()) }
    }
}

#[tokio::test]
async fn methods_and_errors_pass_through() {
    assert_eq!(Service.call(false).await, Ok(()));
    assert_eq!(Service.call(true).await, Err(Error::Failed));
}

#[timeout("100ms")]
async fn works_then_waits() -> Result<u32, Error> {
    // 90 ms of work that does not yield, then a 90 ms wait.
    std::thread::sleep(ms(90));
    tokio::time::sleep(ms(90)).await;
    Ok(1)
}

#[timeout("100ms")]
async fn works_past_the_deadline() -> Result<u32, Error> {
    std::thread::sleep(ms(120));
    tokio::time::sleep(ms(10)).await;
    Ok(1)
}

/// The deadline runs from the call's start: time spent before the body's first wait
/// counts, as with `tokio::time::timeout` (it used to start at the first wait: `Ok` after
/// 180 ms here).
#[tokio::test]
async fn the_deadline_runs_from_the_calls_start() {
    let start = std::time::Instant::now();
    assert_eq!(works_then_waits().await, Err(Error::TimedOut(ms(100))));
    let took = start.elapsed();
    // The old behaviour returned `Ok` at 180 ms; the bound only guards against a timer
    // that would have waited the whole deadline again.
    assert!(took >= ms(100) && took < ms(500), "Elapsed after {took:?}");
    // All of the deadline spent before the first wait: `Elapsed` at that wait.
    assert_eq!(
        works_past_the_deadline().await,
        Err(Error::TimedOut(ms(100)))
    );
}

static RELEASED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
static RELEASE: std::sync::Condvar = std::sync::Condvar::new();

/// Blocks until released: a dependency that hangs.
#[timeout("50ms", detach)]
fn hangs() -> Result<u32, Elapsed> {
    let mut released = RELEASED.lock().unwrap();
    while !*released {
        released = RELEASE.wait(released).unwrap();
    }
    Ok(7)
}

/// A hung dependency takes at most 64 threads per detached function: the next call is
/// refused at once, without a thread, with an `Elapsed` that says so; once the bodies end,
/// calls run again.
#[test]
fn detached_bodies_past_their_deadline_are_bounded() {
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..8 {
                    let elapsed = hangs().unwrap_err();
                    assert!(!elapsed.is_refused() && elapsed.after() == ms(50));
                }
            });
        }
    });
    let start = std::time::Instant::now();
    let refused = hangs().unwrap_err();
    assert!(refused.is_refused(), "{refused}");
    assert!(
        start.elapsed() < ms(45),
        "refused at once, not at the deadline (50 ms)"
    );
    assert!(
        refused.to_string().contains("64 earlier calls"),
        "{refused}"
    );
    *RELEASED.lock().unwrap() = true;
    RELEASE.notify_all();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match hangs() {
            Ok(7) => break,
            Err(e) if e.is_refused() && std::time::Instant::now() < deadline => {
                std::thread::sleep(ms(5))
            }
            other => panic!("the bodies never ended: {other:?}"),
        }
    }
}
