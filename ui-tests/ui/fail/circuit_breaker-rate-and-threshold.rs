use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[circuit_breaker(failure_rate = 0.5, failure_threshold = 5, window = "60s")]
fn f() -> Result<(), Error> {
    Ok(())
}

fn main() {}
