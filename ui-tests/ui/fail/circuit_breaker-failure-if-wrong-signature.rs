use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

fn is_transient(_: &str) -> bool {
    true
}

#[circuit_breaker(failure_if = is_transient)]
fn f() -> Result<(), Error> {
    Ok(())
}

fn main() {}
