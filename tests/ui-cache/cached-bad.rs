// `max_entries` missing, a method without `key`, a generic function, `#[cached]` below a
// retry, a breaker and a timeout, an error that can neither be cloned nor made from
// `SharedError`: one error each, on the token at fault.
use steadfast::{CircuitOpen, Elapsed, cached, circuit_breaker, retry, timeout};

#[derive(Debug, Clone)]
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

#[cached(ttl = "5m")]
fn no_bound(x: u32) -> Result<u32, Error> {
    Ok(x)
}

struct Client;

impl Client {
    #[cached(max_entries = 10)]
    fn shared_by_every_instance(&self, x: u32) -> Result<u32, Error> {
        Ok(x)
    }
}

#[cached(max_entries = 10)]
fn generic<T: std::fmt::Debug>(x: T) -> Result<u32, Error> {
    let _ = x;
    Ok(1)
}

#[retry(attempts = 3)]
#[cached(max_entries = 10)]
fn under_a_retry(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[circuit_breaker(failure_threshold = 3)]
#[cached(max_entries = 10)]
fn under_a_breaker(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[timeout("1s")]
#[cached(max_entries = 10)]
async fn under_a_timeout(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[derive(Debug)]
struct Opaque;

#[cached(max_entries = 10)]
fn opaque_error(x: u32) -> Result<u32, Opaque> {
    Ok(x)
}

fn main() {}
