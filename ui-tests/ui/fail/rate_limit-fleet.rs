// `scope = "fleet"` needs the feature `redis` (not enabled here); `expected_nodes` needs
// `scope = "fleet"`, and so does `lease`; a lease of zero turns; an unknown scope.
use steadfast::{RateLimited, rate_limit};

#[rate_limit(rate = 100, scope = "fleet")]
fn fleet_without_feature() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 100, expected_nodes = 3)]
fn nodes_without_fleet() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 100, lease = 10)]
fn lease_without_fleet() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 100, scope = "fleet", lease = 0)]
fn zero_lease() -> Result<(), RateLimited> {
    Ok(())
}

#[rate_limit(rate = 100, scope = "cluster")]
fn unknown_scope() -> Result<(), RateLimited> {
    Ok(())
}

fn main() {}
