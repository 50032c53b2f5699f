use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[circuit_breaker(open_for = "0s")]
fn f() -> Result<(), Error> {
    Ok(())
}

fn main() {}
