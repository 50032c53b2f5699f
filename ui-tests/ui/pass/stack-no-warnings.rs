//! Stacked attributes leave no warning behind: the imports of the attributes that the
//! first one took off the function count as used, and a `mut` argument under `#[retry]`
//! is not reported as needlessly mutable, and single-expression bodies raise no lint.
#![deny(warnings)]

use steadfast::{CircuitOpen, Elapsed, circuit_breaker, monitored, retry, timeout};

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

// Single-expression bodies: no "unnecessary braces" about the user's `{ Ok(x) }`.
#[circuit_breaker]
pub async fn single_expression_async(x: u64) -> Result<u64, Error> { Ok(x) }

#[retry]
pub fn single_expression_sync(x: u64) -> Result<u64, Error> { Ok(x) }

#[monitored]
#[timeout("1s")]
pub async fn single_expression_stacked(x: u64) -> Result<u64, Error> { Ok(x) }

#[monitored]
pub fn single_expression_any(x: u64) -> u64 { x }

fn main() {
    let _ = only_retry_comes_first(Vec::new());
    let _ = single_expression_async(1);
    let _ = single_expression_sync(1);
    let _ = single_expression_stacked(1);
    let _ = single_expression_any(1);
}
