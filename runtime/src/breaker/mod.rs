//! Circuit breakers: the state machine, the registry, and per-key breakers.

mod core;
mod keyed;
mod registry;
mod slot;
mod trip;
mod word;

#[cfg(all(test, steadfast_loom))]
mod loom_tests;
#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

pub use self::core::{BreakerState, Config};
pub use self::registry::{breaker, breakers};
pub use self::trip::TripPolicy;
pub use crate::keys::BreakerKey;

pub(crate) use self::core::{Core, MAX_IN_WINDOW, Permit};
pub use self::keyed::KeyedSlot;
pub(crate) use self::keyed::{KeyedBreakers, KeyedSummary};
pub use self::registry::BreakerSpec;
pub(crate) use self::registry::{by_function, register};
pub use self::slot::{BreakerSlot, Spec};
pub(crate) use self::word::{MAX_FAILURES, MAX_PROBES};

/// A handle on a registered circuit breaker; cheap to clone.
///
/// Get one with [`steadfast::breaker`](crate::breaker) or
/// [`steadfast::breakers`](crate::breakers). Every decorated function's breaker is known
/// from the start (listed before `main`), at zero: it is registered at the function's first
/// call, or when `breakers()`, `breaker(name)`, `health()`, the metrics or `config` are
/// first used, whichever comes first.
///
/// ```
/// use steadfast::{BreakerState, CircuitOpen, circuit_breaker};
///
/// #[circuit_breaker(name = "ledger")]
/// fn post_entry() -> Result<(), CircuitOpen> {
///     Ok(())
/// }
///
/// post_entry().unwrap();
/// let ledger = steadfast::breaker("ledger").unwrap();
/// assert_eq!(ledger.state(), BreakerState::Closed);
///
/// ledger.force_open(); // e.g. during maintenance
/// assert!(post_entry().is_err());
/// ledger.reset();
/// assert!(post_entry().is_ok());
/// ```
#[derive(Clone)]
pub struct Breaker(pub(crate) Arc<Core>);

impl Breaker {
    /// Its name: `name = "…"`, or `module::path::function` by default; a per-key breaker
    /// adds its key, as in `fleet::ping["db-1"]`.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Closed, open or half-open. A breaker held by [`force_open`](Self::force_open) is
    /// `Open`.
    pub fn state(&self) -> BreakerState {
        self.0.state()
    }

    /// Whether it was declared `critical` (`#[circuit_breaker(critical)]`): while it is
    /// open, [`health`](crate::health) says the process is unhealthy.
    pub fn is_critical(&self) -> bool {
        self.0.is_critical()
    }

    /// Rejects every call until [`reset`](Self::reset).
    pub fn force_open(&self) {
        self.0.force_open();
    }

    /// Back to `Closed`, with every count cleared.
    pub fn reset(&self) {
        self.0.reset();
    }

    /// Calls it turned away since it was registered (`steadfast_breaker_rejections_total`).
    pub fn rejections(&self) -> u64 {
        self.0.rejections()
    }

    /// Its state changes since it was registered (`steadfast_breaker_transitions_total`).
    pub fn transitions(&self) -> u64 {
        self.0.transitions()
    }

    /// How long it has been in its current state: open for how long, closed since when
    /// (since it was made, before its first change). An open breaker turns half-open when
    /// a call asks after `open_for`, so an idle one reads `Open` for longer.
    pub fn in_state_for(&self) -> std::time::Duration {
        self.0.in_state_for()
    }

    /// The `Display` of the failure that last opened it (what [`CircuitOpen`] shows as
    /// its cause); `None` before it ever opened on an error with text.
    ///
    /// [`CircuitOpen`]: crate::CircuitOpen
    pub fn last_failure(&self) -> Option<String> {
        self.0.last_failure()
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.name())
            .field("state", &self.state())
            .field("config", &self.0.config())
            .finish()
    }
}
