// Zero rates, bursts and periods, and a missing rate: one error each, on the value.
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

fn main() {}
