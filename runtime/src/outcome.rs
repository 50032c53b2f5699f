//! Deciding from the *type* of a return value whether it is a failure.

use crate::CircuitOpen;

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
/// from a [`CircuitOpen`].
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs the function to return `Result<T, E>` with `E: From<steadfast::CircuitOpen>`, found `{Self}`",
    label = "a rejected call has to be returned as this type",
    note = "the return type must be a `Result` (or an alias of one, like `io::Result<T>`)",
    note = "its error type needs `impl From<steadfast::CircuitOpen>`; `anyhow::Error` and `Box<dyn Error + Send + Sync>` already have it"
)]
pub trait BreakerReturn {
    /// The error type.
    type Error;
    /// The value returned in place of calling the body.
    fn rejected(open: CircuitOpen) -> Self;
    /// The error, when the value is a failure.
    fn failure(&self) -> Option<&Self::Error>;
}

// Everything generated code needs of the return type is in this one trait, so a wrong
// return type is one error, not one per use.
impl<T, E: From<CircuitOpen>> BreakerReturn for Result<T, E> {
    type Error = E;
    #[inline]
    fn rejected(open: CircuitOpen) -> Self {
        Err(E::from(open))
    }
    #[inline]
    fn failure(&self) -> Option<&E> {
        self.as_ref().err()
    }
}
