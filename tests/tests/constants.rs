//! Number keys take constants and other expressions of their type, as durations do:
//! checked by the type system where they are written, and by the runtime when first used.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use steadfast::{CircuitOpen, circuit_breaker, retry};

#[derive(Debug)]
enum Error {
    Down,
    Open(CircuitOpen),
}

impl From<CircuitOpen> for Error {
    fn from(e: CircuitOpen) -> Self {
        Error::Open(e)
    }
}

const ATTEMPTS: u32 = 4;
const GROWTH: f64 = 1.5;
const THRESHOLD: u32 = 3;
const PROBES: u32 = 2;
const HOSTS: usize = 8;
const RATE: f64 = 0.5;

static TRIES: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = ATTEMPTS, delay = "1ms", multiplier = GROWTH, jitter = "none")]
fn flaky() -> Result<(), Error> {
    TRIES.fetch_add(1, SeqCst);
    Err(Error::Down)
}

#[test]
fn attempts_from_a_const() {
    flaky().unwrap_err();
    assert_eq!(TRIES.load(SeqCst), ATTEMPTS);
}

#[circuit_breaker(
    name = "constants.breaker",
    failure_threshold = THRESHOLD,
    half_open_probes = PROBES,
    open_for = "1h"
)]
fn guarded() -> Result<(), Error> {
    Err(Error::Down)
}

#[test]
fn breaker_settings_from_consts() {
    for _ in 0..THRESHOLD {
        assert!(matches!(guarded(), Err(Error::Down)));
    }
    let Err(Error::Open(open)) = guarded() else {
        panic!("expected a rejection");
    };
    assert_eq!(open.name(), "constants.breaker");
}

#[circuit_breaker(key = host, max_keys = HOSTS, failure_rate = RATE, minimum_calls = THRESHOLD, window = "1m")]
fn per_host(host: u32) -> Result<(), Error> {
    let _ = host;
    Err(Error::Down)
}

#[test]
fn keyed_and_rate_settings_from_consts() {
    for _ in 0..THRESHOLD {
        assert!(matches!(per_host(1), Err(Error::Down)));
    }
    assert!(matches!(per_host(1), Err(Error::Open(_))));
    assert!(matches!(per_host(2), Err(Error::Down)));
}

fn no_attempts() -> u32 {
    0
}

static ONCE: AtomicU32 = AtomicU32::new(0);

// Out of range, known only at run time: the nearest valid value is used (and an error is
// logged naming the key), never a panic.
#[retry(attempts = no_attempts(), delay = "1ms")]
fn runs_once() -> Result<(), Error> {
    ONCE.fetch_add(1, SeqCst);
    Err(Error::Down)
}

const NONE: u32 = 0;

#[circuit_breaker(name = "constants.zero", failure_threshold = NONE, open_for = "1h")]
fn zero_threshold() -> Result<(), Error> {
    Err(Error::Down)
}

#[test]
fn out_of_range_at_run_time_uses_the_nearest_valid_value() {
    runs_once().unwrap_err();
    runs_once().unwrap_err();
    assert_eq!(ONCE.load(SeqCst), 2, "one attempt per call");
    assert!(matches!(zero_threshold(), Err(Error::Down)));
    assert!(
        matches!(zero_threshold(), Err(Error::Open(_))),
        "a threshold of 0 acts as 1"
    );
}
