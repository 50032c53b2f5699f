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

struct Connection;

#[retry(attempts = 3)]
fn f(id: u32, conn: Connection) -> Result<(), Error> {
    let _ = (id, conn);
    Ok(())
}

fn main() {}
