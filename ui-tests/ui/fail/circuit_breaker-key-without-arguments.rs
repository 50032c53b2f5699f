use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[circuit_breaker(key = 42)]
fn f(host: &str) -> Result<(), Error> {
    let _ = host;
    Ok(())
}

fn main() {}
