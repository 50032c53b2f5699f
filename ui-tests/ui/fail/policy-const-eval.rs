// A bad value in a policy is a compile error at the `const`, naming the setting; a policy
// of the wrong kind is a type error on the policy as written.
use std::time::Duration;
use steadfast::{BreakerPolicy, RetryPolicy, circuit_breaker, retry};

const NO_ATTEMPTS: RetryPolicy = RetryPolicy::new().attempts(0);
const NEVER_OPEN: BreakerPolicy = BreakerPolicy::named("p").open_for(Duration::ZERO);

#[retry(policy = NO_ATTEMPTS)]
fn a() -> Result<(), std::io::Error> {
    Ok(())
}

#[circuit_breaker(policy = NEVER_OPEN)]
fn b() -> Result<(), std::io::Error> {
    Ok(())
}

#[retry(policy = NEVER_OPEN)]
fn c() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
