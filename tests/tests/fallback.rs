//! `#[fallback]`: called on an `Err` and only then, with exactly what the contract says,
//! sync and async, and its place among the other attributes.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::{CircuitOpen, circuit_breaker, fallback, monitored, retry};

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Down(u32),
    Invalid,
    Open,
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

static BODY: AtomicU32 = AtomicU32::new(0);
static FALLEN: AtomicU32 = AtomicU32::new(0);

fn served_stale(error: Error) -> Result<String, Error> {
    FALLEN.fetch_add(1, SeqCst);
    match error {
        Error::Down(n) => Ok(format!("stale after {n}")),
        // The fallback's own error is returned as it is.
        other => Err(other),
    }
}

#[fallback(served_stale)]
fn lookup(outcome: Result<String, Error>) -> Result<String, Error> {
    BODY.fetch_add(1, SeqCst);
    outcome
}

#[test]
fn called_on_err_only_and_its_own_result_returned_as_is() {
    let (body, fallen) = (BODY.load(SeqCst), FALLEN.load(SeqCst));
    assert_eq!(lookup(Ok("fresh".into())), Ok("fresh".into()));
    assert_eq!(FALLEN.load(SeqCst), fallen, "never on Ok");
    assert_eq!(lookup(Err(Error::Down(3))), Ok("stale after 3".into()));
    assert_eq!(lookup(Err(Error::Invalid)), Err(Error::Invalid));
    assert_eq!(BODY.load(SeqCst) - body, 3);
    assert_eq!(FALLEN.load(SeqCst) - fallen, 2);
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "fallback::lookup")
        .unwrap();
    assert!(m.fallbacks >= Some(2));
    assert!(
        steadfast::metrics::prometheus()
            .contains("steadfast_fallbacks_total{function=\"fallback::lookup\"}")
    );
}

/// With `args`: a reference to each argument the body received, then the error.
fn from_cache(
    symbol: &String,
    attempt: &u32,
    region: &&str,
    error: Error,
) -> Result<String, Error> {
    Ok(format!(
        "{symbol}@{region}#{attempt} from cache ({error:?})"
    ))
}

#[fallback(from_cache, args)]
fn quote(symbol: String, attempt: u32, region: &str) -> Result<String, Error> {
    // The body owns and consumes its arguments; the fallback still sees them.
    drop(symbol);
    let _ = region;
    Err(Error::Down(attempt))
}

#[test]
fn args_gives_the_fallback_what_the_body_received() {
    assert_eq!(
        quote("ACME".into(), 2, "eu"),
        Ok("ACME@eu#2 from cache (Down(2))".into())
    );
}

fn is_outage(error: &Error) -> bool {
    matches!(error, Error::Down(_) | Error::Open)
}

fn zero(_: Error) -> Result<u32, Error> {
    Ok(0)
}

#[fallback(zero, on = is_outage)]
fn count(outcome: Result<u32, Error>) -> Result<u32, Error> {
    outcome
}

#[test]
fn on_narrows_which_errors_fall_back() {
    assert_eq!(count(Err(Error::Down(1))), Ok(0));
    assert_eq!(count(Err(Error::Invalid)), Err(Error::Invalid));
    assert_eq!(count(Ok(5)), Ok(5));
}

static PANICKED_FALLEN: AtomicU32 = AtomicU32::new(0);

fn never(_: Error) -> Result<(), Error> {
    PANICKED_FALLEN.fetch_add(1, SeqCst);
    Ok(())
}

#[fallback(never)]
fn panics() -> Result<(), Error> {
    panic!("a bug, not an error")
}

#[test]
fn a_panic_keeps_unwinding_past_the_fallback() {
    assert!(std::panic::catch_unwind(panics).is_err());
    assert_eq!(PANICKED_FALLEN.load(SeqCst), 0);
}

// --- async

static ASYNC_FALLEN: AtomicU32 = AtomicU32::new(0);

async fn fetch_stale(
    symbol: &String,
    _delay: &Duration,
    _fail: &bool,
    error: Error,
) -> Result<String, Error> {
    ASYNC_FALLEN.fetch_add(1, SeqCst);
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(format!("{symbol}: stale ({error:?})"))
}

#[fallback(fetch_stale, args)]
async fn fetch(symbol: String, delay: Duration, fail: bool) -> Result<String, Error> {
    tokio::time::sleep(delay).await;
    if fail {
        Err(Error::Down(0))
    } else {
        Ok(symbol)
    }
}

async fn plain_stale(_: Error) -> Result<u32, Error> {
    Ok(7)
}

#[fallback(plain_stale)]
async fn plain(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::Invalid) } else { Ok(1) }
}

#[tokio::test(start_paused = true)]
async fn async_fallbacks_run_on_err_and_never_for_a_cancelled_call() {
    assert_eq!(plain(false).await, Ok(1));
    assert_eq!(plain(true).await, Ok(7));
    let before = ASYNC_FALLEN.load(SeqCst);
    assert_eq!(
        fetch("ACME".into(), Duration::ZERO, true).await,
        Ok("ACME: stale (Down(0))".into())
    );
    assert_eq!(
        fetch("ACME".into(), Duration::ZERO, false).await,
        Ok("ACME".into())
    );
    // Cancelled halfway: dropped, so no error and no fallback.
    let cancelled = tokio::time::timeout(
        Duration::from_secs(1),
        fetch("X".into(), Duration::from_secs(60), true),
    )
    .await;
    assert!(cancelled.is_err());
    assert_eq!(ASYNC_FALLEN.load(SeqCst) - before, 1);
}

// --- methods

struct Client {
    region: &'static str,
}

impl Client {
    fn nearest(&self, id: &u32, _error: Error) -> Result<String, Error> {
        Ok(format!("{id} from {}", self.region))
    }

    #[fallback(Self::nearest, args)]
    fn get(&self, id: u32) -> Result<String, Error> {
        Err(Error::Down(id))
    }
}

#[test]
fn a_method_falls_back_to_a_method_with_self() {
    let client = Client { region: "eu" };
    assert_eq!(client.get(9), Ok("9 from eu".into()));
}

// --- with the other attributes

static STACK_BODY: AtomicU32 = AtomicU32::new(0);

fn offline(_: Error) -> Result<u32, Error> {
    Ok(0)
}

#[monitored(name = "fallback.stacked")]
#[fallback(offline)]
#[retry(attempts = 2, delay = "1ms")]
#[circuit_breaker(name = "fallback.stacked", failure_threshold = 2, open_for = "1h")]
fn stacked() -> Result<u32, Error> {
    STACK_BODY.fetch_add(1, SeqCst);
    Err(Error::Down(1))
}

#[test]
fn above_a_retry_and_a_breaker_it_answers_failures_and_rejections_alike() {
    // Two attempts fail (the breaker opens on the second): the fallback answers.
    assert_eq!(stacked(), Ok(0));
    assert_eq!(STACK_BODY.load(SeqCst), 2);
    // Rejected at once by the open breaker: the fallback answers, the body never runs.
    assert_eq!(stacked(), Ok(0));
    assert_eq!(STACK_BODY.load(SeqCst), 2);
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "fallback.stacked")
        .unwrap();
    // What the caller got were successes: an error the fallback replaced is not counted
    // as a failure, nor a replaced rejection as a rejection.
    assert_eq!((m.calls, m.successes, m.errors, m.rejected()), (2, 2, 0, 0));
    assert_eq!(m.fallbacks, Some(2));
    assert_eq!(
        steadfast::breaker("fallback.stacked").unwrap().state(),
        steadfast::BreakerState::Open
    );
}

fn only_invalid(error: &Error) -> bool {
    *error == Error::Invalid
}

#[monitored(name = "fallback.passed_on")]
#[fallback(offline, on = only_invalid)]
#[circuit_breaker(name = "fallback.passed_on", failure_threshold = 1, open_for = "1h")]
fn passed_on() -> Result<u32, Error> {
    Err(Error::Down(1))
}

#[test]
fn a_rejection_it_does_not_replace_is_still_a_rejection_above() {
    assert_eq!(passed_on(), Err(Error::Down(1)));
    assert_eq!(passed_on(), Err(Error::Open));
    let m = steadfast::metrics::snapshot()
        .into_iter()
        .find(|m| m.name == "fallback.passed_on")
        .unwrap();
    assert_eq!((m.calls, m.errors, m.rejected()), (2, 2, 1));
    assert_eq!(m.fallbacks, None, "never ran");
}
