// A zero limit, a missing limit, a queue without a wait, a misspelt key, `max_keys`
// without `key`, a key that is not made of the arguments, an error type without
// `From<BulkheadFull>`: one error each, on the token at fault.
use steadfast::{BulkheadFull, bulkhead};

#[bulkhead(max_concurrent = 0)]
fn none_at_once() -> Result<(), BulkheadFull> {
    Ok(())
}

#[bulkhead(max_wait = "1s")]
fn limit_missing() -> Result<(), BulkheadFull> {
    Ok(())
}

#[bulkhead(max_concurrent = 4, max_queue = 10)]
fn queue_without_wait() -> Result<(), BulkheadFull> {
    Ok(())
}

#[bulkhead(max_concurrent = 4, max_wait = "0s", max_queue = 10)]
fn queue_with_zero_wait() -> Result<(), BulkheadFull> {
    Ok(())
}

#[bulkhead(max_concurent = 4)]
fn misspelt() -> Result<(), BulkheadFull> {
    Ok(())
}

#[bulkhead(max_concurrent = 4, max_keys = 100)]
fn keys_without_key(_user: u64) -> Result<(), BulkheadFull> {
    Ok(())
}

#[bulkhead(max_concurrent = 4, key = tenant)]
fn key_not_an_argument(_user: u64) -> Result<(), BulkheadFull> {
    Ok(())
}

#[derive(Debug)]
struct ApiError;

#[bulkhead(max_concurrent = 4)]
async fn no_from() -> Result<(), ApiError> {
    Ok(())
}

fn main() {}
