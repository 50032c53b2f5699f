// Zero rates, bursts and periods, a missing rate, a misspelt key, `max_keys` without
// `key`, a `key` that is not made of arguments, a policy that is a literal or of the wrong
// kind: one error each, on the token at fault.
use steadfast::{RateLimited, rate_limit};

#[rate_limit(rate = 0)]
fn no_rate() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 10, burst = 0)]
fn no_burst() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 10, per = "0s")]
fn no_period() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(per = "1s")]
fn rate_missing() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 10, max_wiat = "1s")]
fn misspelt() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 10, max_keys = 100)]
fn keys_without_key() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 10, key = tenant)]
fn key_not_an_argument(host: &str) -> Result<(), RateLimited> {
    let _ = host;
    Ok(())
}

#[rate_limit(policy = 100)]
fn policy_literal() -> Result<(), RateLimited> {
    Ok(())
}

const BULKHEAD: steadfast::BulkheadPolicy = steadfast::BulkheadPolicy::new(4);

#[rate_limit(policy = BULKHEAD)]
fn policy_of_another_kind() -> Result<(), RateLimited> {
    Ok(())
}

fn main() {}
