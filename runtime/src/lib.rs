//! Attribute macros that make a function resilient and observable without changing its
//! signature, on sync and async functions alike.
//!
//! ```
//! use steadfast::{CircuitOpen, circuit_breaker};
//!
//! #[derive(Debug)]
//! enum FetchError {
//!     Unavailable(CircuitOpen),
//!     Upstream(String),
//! }
//!
//! impl From<CircuitOpen> for FetchError {
//!     fn from(e: CircuitOpen) -> Self {
//!         FetchError::Unavailable(e)
//!     }
//! }
//!
//! #[circuit_breaker(failure_threshold = 3, open_for = "30s")]
//! fn fetch_quote(symbol: &str) -> Result<f64, FetchError> {
//!     Err(FetchError::Upstream(format!("no quote for {symbol}")))
//! }
//!
//! for _ in 0..3 {
//!     assert!(matches!(fetch_quote("ACME"), Err(FetchError::Upstream(_))));
//! }
//! // Three failures in a row opened the breaker: the body no longer runs.
//! assert!(matches!(fetch_quote("ACME"), Err(FetchError::Unavailable(_))));
//! ```
//!
//! The attribute expands into calls into this crate, which holds the breaker registry
//! ([`breaker`], [`breakers`]). See the README for the whole guide.

#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod breaker;
mod clock;
mod error;
mod outcome;

#[doc(hidden)]
#[allow(missing_docs)]
pub mod __private;

pub use breaker::{Breaker, BreakerKey, BreakerState, breaker, breakers};
pub use error::{CircuitOpen, Elapsed};
pub use outcome::Outcome;
pub use steadfast_macros::circuit_breaker;
