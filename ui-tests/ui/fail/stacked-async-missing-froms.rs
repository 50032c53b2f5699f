// Every attribute on an async fn whose error type has neither `From`: one error per
// missing `From`, each on the return type, naming the attribute and the impl to add.
use steadfast::{circuit_breaker, monitored, retry, timeout};

#[derive(Debug)]
struct ApiError;

#[monitored]
#[retry(attempts = 3)]
#[circuit_breaker]
#[timeout("2s")]
async fn fetch(id: u32) -> Result<u32, ApiError> {
    Ok(id)
}

fn main() {}
