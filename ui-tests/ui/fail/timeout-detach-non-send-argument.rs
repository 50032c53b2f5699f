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

use std::rc::Rc;

#[timeout("2s", detach)]
fn f(shared: Rc<u32>) -> Result<u32, Error> {
    Ok(*shared)
}

fn main() {}
