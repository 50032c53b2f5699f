// `scope = "fleet"` needs the feature `redis` (not enabled here); `quorum` needs
// `scope = "fleet"`; a fleet breaker is one breaker, not one per key.
use steadfast::{CircuitOpen, circuit_breaker};

#[circuit_breaker(scope = "fleet", quorum = 2)]
fn fleet_without_feature() -> Result<(), CircuitOpen> {
    Ok(())
}

#[circuit_breaker(quorum = 2)]
fn quorum_without_fleet() -> Result<(), CircuitOpen> {
    Ok(())
}

#[circuit_breaker(scope = "fleet", key = host)]
fn fleet_per_key(host: &str) -> Result<(), CircuitOpen> {
    let _ = host;
    Ok(())
}

fn main() {}
