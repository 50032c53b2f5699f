//! One rejection shape for every gate: a call turned away before its body ran.
//!
//! A gate (a circuit breaker today; bulkheads, rate limiters and draining next) rejects a
//! call with its own small error, converted into the function's error with `From`. What
//! the layers around it need to know of that error is the same for every gate, and is
//! [`Rejection`]: whether and when trying again makes sense, and whether the rejection is
//! this process's own overload. `#[retry]` reads it, never a gate's type.

use std::time::Duration;

/// A call turned away by a gate before its body ran.
///
/// [`CircuitOpen`](crate::CircuitOpen) implements it. `#[retry]` above a gate waits out a
/// rejection that says when to try again (when that fits `max_delay` and what is left of
/// `max_elapsed`) without spending an attempt, and returns it at once otherwise.
///
/// ```
/// use std::time::Duration;
/// use steadfast::Rejection;
///
/// fn advice(rejected: &impl Rejection) -> String {
///     match rejected.try_again_in() {
///         Some(d) if d < Duration::from_secs(1) => "try again shortly".into(),
///         Some(d) => format!("try again in {d:?}"),
///         None => format!("do not retry: {rejected}"),
///     }
/// }
/// ```
pub trait Rejection: std::error::Error + Clone + Send + Sync + 'static {
    /// How long until the gate can admit the call, or `None` when waiting will not help
    /// (a breaker forced open, a process shutting down).
    fn try_again_in(&self) -> Option<Duration>;

    /// True when the gate is this process's own limit (a full bulkhead, a rate limit, a
    /// drain), not evidence that a dependency is down: a circuit breaker above counts it
    /// for nothing. False for a circuit breaker's own rejection.
    fn is_overload(&self) -> bool {
        false
    }
}

/// What a layer above a gate learns of a rejection, whatever the gate: the one value
/// generated code passes between layers (in `__private`, not part of the public API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// [`Rejection::try_again_in`], read when the call was rejected.
    pub try_again_in: Option<Duration>,
    /// [`Rejection::is_overload`].
    pub overload: bool,
}

impl Rejected {
    /// The summary of `rejection`.
    pub fn of(rejection: &impl Rejection) -> Rejected {
        Rejected {
            try_again_in: rejection.try_again_in(),
            overload: rejection.is_overload(),
        }
    }
}
