// An error type without `From<RateLimited>`: one error, on the return type, naming the
// impl to add.
use steadfast::rate_limit;

#[derive(Debug)]
struct ApiError;

#[rate_limit(rate = 10)]
fn fetch(id: u32) -> Result<u32, ApiError> {
    Ok(id)
}

#[rate_limit(rate = 10)]
async fn fetch_async(id: u32) -> Result<u32, ApiError> {
    Ok(id)
}

fn main() {}
