//! Attributes stacked on one function nest in source order: first written = outermost.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::{BreakerState, CircuitOpen, Elapsed, circuit_breaker, retry, timeout};
use tokio::time::Instant;

#[derive(Debug, PartialEq)]
enum Error {
    Upstream,
    Open(Duration),
    TimedOut,
}

impl From<CircuitOpen> for Error {
    fn from(e: CircuitOpen) -> Self {
        Error::Open(e.retry_after())
    }
}

impl From<Elapsed> for Error {
    fn from(_: Elapsed) -> Self {
        Error::TimedOut
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

static WAITED_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(
    attempts = 3,
    delay = "100ms",
    backoff = "constant",
    jitter = "none",
    max_delay = "1s"
)]
#[circuit_breaker(name = "stack.waits", failure_threshold = 2, open_for = "500ms")]
async fn waits_out_the_breaker() -> Result<(), Error> {
    WAITED_RUNS.fetch_add(1, SeqCst);
    Err(Error::Upstream)
}

#[tokio::test(start_paused = true)]
async fn retry_over_breaker_waits_for_it_instead_of_burning_attempts() {
    let start = Instant::now();
    // 0 ms: fails; 100 ms: fails, opens until 600 ms; 200 ms: rejected, waits
    // max(100, 400) = 400 ms; 600 ms: the probe runs, fails: third attempt, done.
    assert_eq!(waits_out_the_breaker().await, Err(Error::Upstream));
    assert_eq!(
        WAITED_RUNS.load(SeqCst),
        3,
        "the rejection spent no attempt"
    );
    assert_eq!(start.elapsed(), ms(600));
    assert_eq!(
        steadfast::breaker("stack.waits").unwrap().state(),
        BreakerState::Open
    );
}

static FAST_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 10, delay = "10ms", jitter = "none", max_delay = "1s")]
#[circuit_breaker(name = "stack.fast", failure_threshold = 2, open_for = "30s")]
async fn gives_up_on_a_long_open() -> Result<(), Error> {
    FAST_RUNS.fetch_add(1, SeqCst);
    Err(Error::Upstream)
}

#[tokio::test(start_paused = true)]
async fn a_breaker_open_longer_than_max_delay_is_returned_at_once() {
    let start = Instant::now();
    // 0 ms: fails; 10 ms: fails and opens for 30 s; 30 ms: rejected with 29.98 s to go,
    // longer than max_delay: the CircuitOpen comes back at once.
    let err = gives_up_on_a_long_open().await.unwrap_err();
    assert_eq!(err, Error::Open(ms(29_980)));
    assert_eq!(
        FAST_RUNS.load(SeqCst),
        2,
        "the body ran only until the breaker opened"
    );
    assert_eq!(start.elapsed(), ms(30));
}

static OUTER_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "stack.outer", failure_threshold = 2)]
#[retry(attempts = 3, delay = "1ms", jitter = "none")]
async fn breaker_outside() -> Result<(), Error> {
    OUTER_RUNS.fetch_add(1, SeqCst);
    Err(Error::Upstream)
}

#[tokio::test(start_paused = true)]
async fn breaker_over_retry_records_one_outcome_per_call() {
    breaker_outside().await.unwrap_err();
    assert_eq!(
        steadfast::breaker("stack.outer").unwrap().state(),
        BreakerState::Closed
    );
    breaker_outside().await.unwrap_err();
    assert_eq!(
        steadfast::breaker("stack.outer").unwrap().state(),
        BreakerState::Open
    );
    assert_eq!(OUTER_RUNS.load(SeqCst), 6, "3 attempts in each of 2 calls");
}

#[retry(attempts = 3, delay = "50ms", backoff = "constant", jitter = "none")]
#[timeout("100ms")]
async fn deadline_per_attempt() -> Result<(), Error> {
    tokio::time::sleep(ms(1_000)).await;
    Ok(())
}

#[timeout("250ms")]
#[retry(attempts = 10, delay = "50ms", backoff = "constant", jitter = "none")]
async fn deadline_for_the_whole_call() -> Result<(), Error> {
    tokio::time::sleep(ms(100)).await;
    Err(Error::Upstream)
}

#[tokio::test(start_paused = true)]
async fn retry_over_timeout_bounds_each_attempt_timeout_over_retry_the_call() {
    let start = Instant::now();
    assert_eq!(deadline_per_attempt().await, Err(Error::TimedOut));
    assert_eq!(start.elapsed(), ms(3 * 100 + 2 * 50));
    let start = Instant::now();
    assert_eq!(deadline_for_the_whole_call().await, Err(Error::TimedOut));
    assert_eq!(start.elapsed(), ms(250));
}

#[circuit_breaker(name = "stack.timeout", failure_threshold = 1)]
#[timeout("10ms")]
async fn timeout_inside_breaker() -> Result<(), Error> {
    tokio::time::sleep(ms(100)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timeout_inside_a_breaker_counts_as_a_failure() {
    assert_eq!(timeout_inside_breaker().await, Err(Error::TimedOut));
    assert_eq!(
        steadfast::breaker("stack.timeout").unwrap().state(),
        BreakerState::Open
    );
}

static SYNC_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 3, delay = "1ms", jitter = "none")]
#[timeout("20ms", detach)]
fn sync_attempts_with_deadlines(work: Duration) -> Result<u32, Error> {
    SYNC_RUNS.fetch_add(1, SeqCst);
    std::thread::sleep(work);
    Ok(1)
}

#[test]
fn sync_retry_over_detached_timeout() {
    assert_eq!(sync_attempts_with_deadlines(ms(0)), Ok(1));
    assert_eq!(sync_attempts_with_deadlines(ms(200)), Err(Error::TimedOut));
    assert_eq!(SYNC_RUNS.load(SeqCst), 4);
}

#[steadfast::retry(attempts = 2, delay = "1ms")]
#[steadfast::circuit_breaker(name = "stack.paths")]
#[steadfast::timeout("1s")]
async fn by_full_paths(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[tokio::test]
async fn stacked_by_full_paths() {
    assert_eq!(by_full_paths(4).await, Ok(4));
}

static COUNTED_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 3, delay = "10ms", backoff = "constant", jitter = "none")]
#[circuit_breaker(name = "stack.counted", failure_threshold = 1, open_for = "50ms")]
async fn counted() -> Result<u32, Error> {
    let run = COUNTED_RUNS.fetch_add(1, SeqCst) + 1;
    if run < 3 {
        Err(Error::Upstream)
    } else {
        Ok(run)
    }
}

/// Found by a run of the `retry_timeout` example: a call whose body ran 3 times reported
/// "retries 3", because waits on the open breaker were counted as retries.
#[tokio::test(start_paused = true)]
async fn waits_on_an_open_breaker_are_not_counted_as_retries() {
    // 0 ms: runs, fails, opens until 50 ms; 10 ms: rejected, waits 40 ms; 50 ms: the
    // probe runs, fails, reopens until 100 ms; 60 ms: rejected, waits 40 ms; 100 ms: the
    // probe runs and succeeds.
    assert_eq!(counted().await, Ok(3));
    let retry = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "stacking::counted")
        .and_then(|m| m.retry)
        .expect("the retry's figures are in the snapshot");
    assert_eq!(
        retry.retries,
        u64::from(COUNTED_RUNS.load(SeqCst)) - 1,
        "one retry per run of the body after the first"
    );
    assert_eq!(retry.gate_waits, 2, "two waits on the open breaker");
    assert_eq!(retry.exhausted, 0);
    let text = steadfast::metrics::prometheus();
    assert!(text.contains("steadfast_retry_attempts_total{function=\"stacking::counted\"} 2"));
    assert!(text.contains("steadfast_retry_gate_waits_total{function=\"stacking::counted\"} 2"));
}

// Four layers on an `async fn` run as one runtime future. Dropped midway (its caller gave
// up), the call lets everything go as the layers emitted one by one do: `#[monitored]`
// counts it cancelled (not an error, no longer in flight) and the breaker records nothing.
#[steadfast::monitored(name = "stack.dropped")]
#[retry(attempts = 3, delay = "10ms", jitter = "none")]
#[circuit_breaker(name = "stack.dropped", failure_threshold = 1, open_for = "1s")]
#[timeout("10s")]
async fn dropped_midway(started: std::sync::Arc<tokio::sync::Notify>) -> Result<(), Error> {
    started.notify_one();
    std::future::pending::<()>().await;
    Err(Error::Upstream)
}

#[tokio::test]
async fn a_stacked_call_dropped_midway_is_cancelled_and_records_nothing() {
    for _ in 0..10 {
        let started = std::sync::Arc::new(tokio::sync::Notify::new());
        let call = tokio::spawn(dropped_midway(started.clone()));
        started.notified().await;
        call.abort();
        assert!(call.await.unwrap_err().is_cancelled());
    }
    let figures = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "stack.dropped")
        .expect("the function's figures are in the snapshot");
    assert_eq!(
        (
            figures.calls,
            figures.errors,
            figures.in_flight,
            figures.cancelled()
        ),
        (10, 0, 0, 10)
    );
    assert_eq!(
        steadfast::breaker("stack.dropped").unwrap().state(),
        BreakerState::Closed,
        "a dropped call is not a failure"
    );
}

struct Client {
    calls: AtomicU32,
}

impl Client {
    // A method on `&self`, by-value arguments (one `mut`, one a pattern) and a reference,
    // each attempt with its own copies.
    #[retry(attempts = 3, delay = "1ms", jitter = "none")]
    #[circuit_breaker(name = "stack.shapes")]
    #[timeout("1s")]
    async fn shapes(
        &self,
        mut path: String,
        (a, b): (u32, u32),
        suffix: &str,
    ) -> Result<String, Error> {
        path.push_str(suffix);
        if self.calls.fetch_add(1, SeqCst) < 2 {
            return Err(Error::Upstream);
        }
        Ok(format!("{path}{}", a + b))
    }
}

#[tokio::test(start_paused = true)]
async fn each_attempt_of_a_stack_gets_its_own_copies_of_the_arguments() {
    let client = Client {
        calls: AtomicU32::new(0),
    };
    let got = client.shapes("/a".to_owned(), (1, 2), "/b").await;
    assert_eq!(
        got,
        Ok("/a/b3".to_owned()),
        "the third attempt sees the arguments as given"
    );
    assert_eq!(client.calls.load(SeqCst), 3);
}

// A `&mut` argument cannot be lent to every attempt through one shared closure: this stack
// is emitted layer by layer, and each attempt borrows the argument again.
#[retry(attempts = 3, delay = "1ms", jitter = "none")]
#[circuit_breaker(name = "stack.by_mut")]
async fn fill(log: &mut Vec<u32>, upto: usize) -> Result<usize, Error> {
    log.push(log.len() as u32);
    if log.len() < upto {
        return Err(Error::Upstream);
    }
    Ok(log.len())
}

#[tokio::test(start_paused = true)]
async fn a_stack_with_a_mut_argument_borrows_it_again_for_each_attempt() {
    let mut log = Vec::new();
    assert_eq!(fill(&mut log, 3).await, Ok(3));
    assert_eq!(log, [0, 1, 2], "each attempt saw the previous ones' pushes");
}
