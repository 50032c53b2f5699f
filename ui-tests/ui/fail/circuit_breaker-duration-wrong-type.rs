use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

const OPEN_FOR: u64 = 30;

#[circuit_breaker(open_for = OPEN_FOR)]
fn f() -> Result<(), Error> {
    Ok(())
}

fn main() {}
