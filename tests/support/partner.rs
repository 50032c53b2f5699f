//! The error of the fleet tests' partner call: it failed, or its breaker is open. Shared by
//! `tests/fleet.rs` and `tests/fleet_quorum.rs` (with `#[path]`).

use steadfast::CircuitOpen;

#[derive(Debug)]
pub(crate) enum PartnerError {
    Down,
    Open(CircuitOpen),
}

impl From<CircuitOpen> for PartnerError {
    fn from(e: CircuitOpen) -> Self {
        PartnerError::Open(e)
    }
}

/// The partner call's outcome: down when told to fail.
pub(crate) fn answer(fail: bool) -> Result<(), PartnerError> {
    if fail {
        Err(PartnerError::Down)
    } else {
        Ok(())
    }
}
