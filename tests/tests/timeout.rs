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
