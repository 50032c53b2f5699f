//! Deciding from the *type* of a return value whether it is a failure.

use crate::{CircuitOpen, Elapsed};

/// A return type whose values can be a failure: `Result<T, E>` and every alias of it
/// (`io::Result<T>`, `anyhow::Result<T>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result`, so steadfast cannot tell a failure from a success",
    label = "this must be a `Result<T, E>` (or an alias of one, like `io::Result<T>`)"
)]
pub trait Outcome {
    /// The error type.
    type Error;
    /// The error, when the value is a failure.
    fn error(&self) -> Option<&Self::Error>;
}

impl<T, E> Outcome for Result<T, E> {
    type Error = E;
    #[inline]
    fn error(&self) -> Option<&E> {
        self.as_ref().err()
    }
}

/// What `#[circuit_breaker]` needs of a return type: a `Result<T, E>` whose `E` can be made
/// from a [`CircuitOpen`]. Generated code asks for this one bound, once, so a wrong return
/// type is one error, on the return type.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs the function to return `Result<T, E>` with `E: From<steadfast::CircuitOpen>`, found `{Self}`",
    label = "a rejected call has to be returned as this type",
    note = "the return type must be a `Result` (or an alias of one, like `io::Result<T>`)",
    note = "its error type needs `impl From<steadfast::CircuitOpen>`; `anyhow::Error` and `Box<dyn Error + Send + Sync>` already have it"
)]
pub trait BreakerReturn: Outcome {
    /// The value returned in place of calling the body.
    fn rejected(open: CircuitOpen) -> Self;
}

impl<T, E: From<CircuitOpen>> BreakerReturn for Result<T, E> {
    #[inline]
    fn rejected(open: CircuitOpen) -> Self {
        Err(E::from(open))
    }
}

/// What `#[retry]` needs of a return type: a `Result<T, E>`, so that it can tell which
/// attempts failed.
#[diagnostic::on_unimplemented(
    message = "`#[retry]` needs the function to return a `Result`, found `{Self}`",
    label = "`#[retry]` retries the calls that return `Err`, so this must be a `Result<T, E>`",
    note = "any alias of `Result` works, like `io::Result<T>` or `anyhow::Result<T>`"
)]
pub trait RetryReturn: Outcome {}

impl<T, E> RetryReturn for Result<T, E> {}

/// What `#[timeout]` needs of a return type: a `Result<T, E>` whose `E` can be made from an
/// [`Elapsed`].
#[diagnostic::on_unimplemented(
    message = "`#[timeout]` needs the function to return `Result<T, E>` with `E: From<steadfast::Elapsed>`, found `{Self}`",
    label = "a call past its deadline has to be returned as this type",
    note = "the return type must be a `Result` (or an alias of one, like `io::Result<T>`)",
    note = "its error type needs `impl From<steadfast::Elapsed>`; `anyhow::Error`, `io::Error` and `Box<dyn Error + Send + Sync>` already have it"
)]
pub trait TimeoutReturn: Outcome {
    /// The value returned when the deadline passes.
    fn elapsed(elapsed: Elapsed) -> Self;
}

impl<T, E: From<Elapsed>> TimeoutReturn for Result<T, E> {
    #[inline]
    fn elapsed(elapsed: Elapsed) -> Self {
        Err(E::from(elapsed))
    }
}
