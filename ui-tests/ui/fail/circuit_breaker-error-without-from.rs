use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[derive(Debug)]
struct MyError;

#[circuit_breaker]
fn f() -> Result<(), MyError> {
    Ok(())
}

fn main() {}
