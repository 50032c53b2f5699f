//! Stacked attributes leave no warning behind: the imports of the attributes that the
//! first one took off the function count as used, and a `mut` argument under `#[retry]`
//! is not reported as needlessly mutable.
#![deny(warnings)]

use steadfast::{CircuitOpen, Elapsed, circuit_breaker, retry, timeout};

#[derive(Debug)]
pub struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

impl From<Elapsed> for Error {
    fn from(_: Elapsed) -> Self {
        Error
    }
}

#[retry(attempts = 2)]
#[circuit_breaker]
#[timeout("1s")]
pub async fn only_retry_comes_first(mut buffer: Vec<u8>) -> Result<usize, Error> {
    buffer.push(1);
    Ok(buffer.len())
}

fn main() {
    let _ = only_retry_comes_first(Vec::new());
}
