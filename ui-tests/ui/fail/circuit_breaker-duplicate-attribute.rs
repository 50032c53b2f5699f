use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[circuit_breaker(failure_threshold = 3)]
#[circuit_breaker(failure_threshold = 5)]
fn f() -> Result<(), Error> {
    Ok(())
}

fn main() {}
