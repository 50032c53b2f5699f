//! `#[retry]`: exact waits under paused time, the last error unchanged, `max_elapsed`,
//! `retry_if`, cancellation, clones per attempt, methods.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::retry;
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Transient(u32),
    Fatal,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Attempt times, relative to the first.
fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

static EXP_TIMES: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[retry(attempts = 4, delay = "100ms", jitter = "none")]
async fn exponential() -> Result<(), Error> {
    let mut times = EXP_TIMES.lock().unwrap();
    times.push(Instant::now());
    Err(Error::Transient(times.len() as u32))
}

#[tokio::test(start_paused = true)]
async fn exponential_waits_exactly_and_returns_the_last_error() {
    let start = Instant::now();
    assert_eq!(
        exponential().await,
        Err(Error::Transient(4)),
        "the last error, unchanged"
    );
    let times = EXP_TIMES.lock().unwrap().clone();
    assert_eq!(gaps(&times), [ms(100), ms(200), ms(400)]);
    assert_eq!(start.elapsed(), ms(700), "no wait after the last attempt");
}

static LIN_TIMES: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[retry(
    attempts = 4,
    delay = "10ms",
    backoff = "linear",
    jitter = "none",
    max_delay = "25ms"
)]
async fn linear() -> Result<(), Error> {
    LIN_TIMES.lock().unwrap().push(Instant::now());
    Err(Error::Fatal)
}

static CONST_TIMES: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[retry(attempts = 3, delay = "30ms", backoff = "constant", jitter = "none")]
async fn constant() -> Result<(), Error> {
    CONST_TIMES.lock().unwrap().push(Instant::now());
    Err(Error::Fatal)
}

static MULT_TIMES: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[retry(attempts = 4, delay = "10ms", multiplier = 3.0, jitter = "none")]
async fn multiplied() -> Result<(), Error> {
    MULT_TIMES.lock().unwrap().push(Instant::now());
    Err(Error::Fatal)
}

#[tokio::test(start_paused = true)]
async fn linear_constant_and_multiplier_schedules_capped_at_max_delay() {
    linear().await.unwrap_err();
    assert_eq!(gaps(&LIN_TIMES.lock().unwrap()), [ms(10), ms(20), ms(25)]);
    constant().await.unwrap_err();
    assert_eq!(gaps(&CONST_TIMES.lock().unwrap()), [ms(30), ms(30)]);
    multiplied().await.unwrap_err();
    assert_eq!(gaps(&MULT_TIMES.lock().unwrap()), [ms(10), ms(30), ms(90)]);
}

static FULL_TIMES: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[retry(attempts = 50, delay = "100ms", backoff = "constant", jitter = "full")]
async fn full_jitter() -> Result<(), Error> {
    FULL_TIMES.lock().unwrap().push(Instant::now());
    Err(Error::Fatal)
}

#[tokio::test(start_paused = true)]
async fn full_jitter_stays_within_zero_and_the_delay() {
    full_jitter().await.unwrap_err();
    let gaps = gaps(&FULL_TIMES.lock().unwrap());
    assert_eq!(gaps.len(), 49);
    assert!(gaps.iter().all(|g| *g <= ms(100)));
    assert!(
        gaps.iter().any(|g| *g < ms(90)),
        "some jitter happened: {gaps:?}"
    );
}

static ELAPSED_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(
    attempts = 10,
    delay = "100ms",
    backoff = "constant",
    jitter = "none",
    max_elapsed = "250ms"
)]
async fn bounded() -> Result<(), Error> {
    let n = ELAPSED_RUNS.fetch_add(1, SeqCst) + 1;
    Err(Error::Transient(n))
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_would_cross_max_elapsed_is_not_taken() {
    let start = Instant::now();
    // Attempts at 0, 100, 200 ms; a wait to 300 would cross 250: stop at 200.
    assert_eq!(bounded().await, Err(Error::Transient(3)));
    assert_eq!(start.elapsed(), ms(200));
}

fn transient(e: &Error) -> bool {
    matches!(e, Error::Transient(_))
}

static IF_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 5, delay = "1ms", retry_if = transient)]
fn selective(fatal_after: u32) -> Result<u32, Error> {
    let n = IF_RUNS.fetch_add(1, SeqCst) + 1;
    if n >= fatal_after {
        Err(Error::Fatal)
    } else {
        Err(Error::Transient(n))
    }
}

#[test]
fn retry_if_stops_on_errors_it_declines() {
    assert_eq!(selective(2), Err(Error::Fatal));
    assert_eq!(IF_RUNS.load(SeqCst), 2, "the fatal error was not retried");
}

static EVENTUAL_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 3, delay = "1ms")]
fn eventually(label: String, mut buffer: Vec<u8>) -> Result<String, Error> {
    // Consumes its arguments: each attempt gets its own copy.
    buffer.push(1);
    let n = EVENTUAL_RUNS.fetch_add(1, SeqCst) + 1;
    if n < 3 {
        drop(label);
        return Err(Error::Transient(n));
    }
    Ok(format!("{label}:{}", buffer.len()))
}

#[test]
fn by_value_arguments_are_cloned_for_every_attempt() {
    assert_eq!(eventually("x".to_owned(), vec![0]).unwrap(), "x:2");
    assert_eq!(EVENTUAL_RUNS.load(SeqCst), 3);
}

struct Counter {
    calls: u32,
    fail_until: u32,
}

impl Counter {
    #[retry(attempts = 5, delay = "1ms", jitter = "none")]
    fn bump(&mut self, by: &u32) -> Result<u32, Error> {
        self.calls += by;
        if self.calls < self.fail_until {
            Err(Error::Transient(self.calls))
        } else {
            Ok(self.calls)
        }
    }

    #[retry(attempts = 5, delay = "1ms", jitter = "none")]
    async fn bump_async(&mut self) -> Result<u32, Error> {
        tokio::task::yield_now().await;
        self.calls += 1;
        if self.calls < self.fail_until {
            Err(Error::Transient(self.calls))
        } else {
            Ok(self.calls)
        }
    }
}

#[tokio::test(start_paused = true)]
async fn mut_self_methods_see_every_attempt() {
    let mut c = Counter {
        calls: 0,
        fail_until: 3,
    };
    assert_eq!(c.bump(&1), Ok(3));
    let mut c = Counter {
        calls: 0,
        fail_until: 4,
    };
    assert_eq!(c.bump_async().await, Ok(4));
}

static CANCEL_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 5, delay = "1s", jitter = "none")]
async fn slow_to_succeed() -> Result<(), Error> {
    CANCEL_RUNS.fetch_add(1, SeqCst);
    Err(Error::Fatal)
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_during_a_wait_ends_the_retrying() {
    let call = tokio::spawn(slow_to_succeed());
    tokio::time::sleep(ms(1_500)).await; // first wait over, second attempt, now in the second wait
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    tokio::time::sleep(ms(60_000)).await;
    assert_eq!(CANCEL_RUNS.load(SeqCst), 2);
}

#[retry(attempts = 2, delay = "1ms")]
async fn first_try(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[tokio::test(start_paused = true)]
async fn a_first_attempt_success_does_not_wait_and_stays_send() {
    let start = Instant::now();
    let handle = tokio::spawn(first_try(7));
    assert_eq!(handle.await.unwrap(), Ok(7));
    assert_eq!(start.elapsed(), Duration::ZERO);
}

static SHARED_RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 3, delay = "1ms", jitter = "none")]
fn per_call(fail: bool) -> Result<(), Error> {
    SHARED_RUNS.fetch_add(1, SeqCst);
    if fail { Err(Error::Fatal) } else { Ok(()) }
}

#[test]
fn concurrent_calls_keep_their_own_attempts() {
    std::thread::scope(|s| {
        for i in 0..8 {
            s.spawn(move || {
                let fail = i % 2 == 0;
                assert_eq!(per_call(fail).is_err(), fail);
            });
        }
    });
    // 4 failing calls × 3 attempts + 4 succeeding calls × 1.
    assert_eq!(SHARED_RUNS.load(SeqCst), 16);
    let mine = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "retry::per_call")
        .and_then(|m| m.retry)
        .unwrap();
    assert_eq!((mine.retries, mine.exhausted, mine.gate_waits), (8, 4, 0));
}

#[retry(attempts = 2, delay = "1ms")]
fn io_alias(n: u8) -> std::io::Result<u8> {
    if n == 0 {
        Err(std::io::Error::other("zero"))
    } else {
        Ok(n)
    }
}

#[retry(attempts = 2, delay = "1ms")]
fn anyhow_alias(n: u8) -> anyhow::Result<u8> {
    anyhow::ensure!(n > 0, "zero");
    Ok(n)
}

#[test]
fn result_aliases() {
    assert_eq!(io_alias(1).unwrap(), 1);
    assert_eq!(io_alias(0).unwrap_err().to_string(), "zero");
    assert_eq!(anyhow_alias(0).unwrap_err().to_string(), "zero");
}
