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
mod retry;
mod stats;
mod timeout;

#[doc(hidden)]
#[allow(missing_docs)]
pub mod __private;

pub use breaker::{Breaker, BreakerKey, BreakerState, breaker, breakers};
pub use error::{CircuitOpen, Elapsed};
pub use outcome::Outcome;
/// Puts a circuit breaker in front of a function, sync or `async`.
///
/// While the breaker is open the body does not run: the call returns
/// `Err(CircuitOpen { .. }.into())` at once. The function must return `Result<T, E>` (or
/// an alias, such as `io::Result<T>` or `anyhow::Result<T>`) with
/// `E: From<`[`CircuitOpen`]`>`. The signature is untouched; `return` and `?` in the body
/// keep their meaning.
///
/// # Keys
///
/// | key | meaning | default |
/// |---|---|---|
/// | `name = "payments"` | registry name; functions naming the same breaker share it | `module_path!()::fn_name` |
/// | `failure_threshold = 5` | consecutive failures that open it | 5 |
/// | `failure_threshold = 3, window = "60s"` | open instead on 3 failures within any 60 s | — |
/// | `failure_rate = 0.5, minimum_calls = 20, window = "60s"` | open when the failure rate over the sliding window reaches 0.5, once it holds 20 calls | `minimum_calls = 20`, `window = "60s"` |
/// | `open_for = "30s"` | how long it stays open before it lets probes through | 30s |
/// | `half_open_probes = 1` | calls admitted while half-open, in all; all must succeed to close, one failure reopens | 1 |
/// | `failure_if = path::to::fn` | `fn(&E) -> bool`: which errors count as failures; others count for nothing | every `Err` |
/// | `key = expr` | one breaker per value of `expr`, made of the arguments (`Hash + Eq + Debug`; a borrowed `&str` works) | one breaker |
/// | `max_keys = 1024` | with `key`: how many per-key breakers to keep; idle closed ones are evicted | 1024 |
///
/// Durations are string literals with a unit (`"250ms"`, `"2s"`, `"1.5m"`, `"1h"`),
/// checked at compile time, or any expression of type `std::time::Duration`.
///
/// A panic in the body counts as a failure and keeps unwinding. A cancelled call (its
/// future dropped) counts for nothing and gives back a half-open probe slot.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use steadfast::{BreakerState, CircuitOpen, circuit_breaker};
///
/// #[derive(Debug)]
/// enum PayError {
///     Declined,
///     ProviderDown,
///     Unavailable(CircuitOpen),
/// }
///
/// impl From<CircuitOpen> for PayError {
///     fn from(e: CircuitOpen) -> Self {
///         PayError::Unavailable(e)
///     }
/// }
///
/// // Declines are the customer's problem, not the provider's: they do not count.
/// fn provider_fault(e: &PayError) -> bool {
///     !matches!(e, PayError::Declined)
/// }
///
/// #[circuit_breaker(name = "payments", failure_threshold = 2, open_for = "1m", failure_if = provider_fault)]
/// fn charge(cents: u64, provider_up: bool) -> Result<u64, PayError> {
///     if !provider_up {
///         return Err(PayError::ProviderDown);
///     }
///     if cents > 10_000 {
///         return Err(PayError::Declined);
///     }
///     Ok(cents)
/// }
///
/// assert!(matches!(charge(50_000, true), Err(PayError::Declined)));
/// assert!(matches!(charge(50_000, true), Err(PayError::Declined)));
/// let payments = steadfast::breaker("payments").unwrap();
/// assert_eq!(payments.state(), BreakerState::Closed, "declines do not count");
///
/// let _ = charge(100, false);
/// let _ = charge(100, false);
/// assert_eq!(payments.state(), BreakerState::Open);
/// match charge(100, true) {
///     Err(PayError::Unavailable(open)) => {
///         assert_eq!(open.name(), "payments");
///         assert!(open.retry_after() <= Duration::from_secs(60));
///     }
///     other => panic!("expected a rejection, got {other:?}"),
/// }
/// ```
///
/// An `async fn` works the same way, and so do methods, generic functions, native
/// `async fn` in traits and `#[async_trait]` methods:
///
/// ```
/// # #[derive(Debug)] struct Error; impl From<steadfast::CircuitOpen> for Error { fn from(_: steadfast::CircuitOpen) -> Self { Error } }
/// struct Fleet;
///
/// impl Fleet {
///     /// One breaker per host: a failing host does not take the others down with it.
///     #[steadfast::circuit_breaker(key = host, failure_threshold = 3, window = "60s", open_for = "60s")]
///     async fn ping(&self, host: &str) -> Result<(), Error> {
///         Ok(())
///     }
/// }
/// ```
///
/// # The commonest mistake
///
/// The error type must be able to hold a [`CircuitOpen`]: this does not compile, because
/// `String` has no `From<CircuitOpen>`. Add a variant to your error type with that `From`,
/// or use `anyhow::Error` / `Box<dyn Error + Send + Sync>`, which have it.
///
/// ```compile_fail
/// #[steadfast::circuit_breaker]
/// fn lookup(id: u32) -> Result<String, String> {
///     Ok(id.to_string())
/// }
/// ```
pub use steadfast_macros::circuit_breaker;
pub use steadfast_macros::{retry, timeout};
