use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[circuit_breaker(half_open_probes = 0)]
fn f() -> Result<(), Error> {
    Ok(())
}

fn main() {}
