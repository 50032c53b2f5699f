use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

trait Api {
    #[circuit_breaker]
    fn call(&self) -> Result<(), Error>;
}

fn main() {}
