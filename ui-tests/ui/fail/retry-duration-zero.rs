#![allow(unused_imports)]
use steadfast::{CircuitOpen, Elapsed, circuit_breaker, retry, timeout};

#[derive(Debug)]
struct Error;

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

#[retry(delay = "0ms")]
fn f() -> Result<(), Error> {
    Ok(())
}

fn main() {}
