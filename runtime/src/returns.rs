//! What each attribute needs of a function's return type. You never implement these
//! traits: they are implemented for `Result<T, E>` (and so for every alias of it, such as
//! `io::Result<T>` or `anyhow::Result<T>`), and they exist so that a return type an
//! attribute cannot work with is one compile error, on the return type, in words:
//!
//! | attribute | needs |
//! |---|---|
//! | `#[circuit_breaker]` | `Result<T, E>` with `impl From<steadfast::CircuitOpen> for E` ([`BreakerReturn`], [`BreakerError`]) |
//! | `#[timeout]` | `Result<T, E>` with `impl From<steadfast::Elapsed> for E` ([`TimeoutReturn`], [`TimeoutError`]) |
//! | `#[bulkhead]` | `Result<T, E>` with `impl From<steadfast::BulkheadFull> for E` ([`BulkheadReturn`], [`BulkheadError`]) |
//! | `#[rate_limit]` | `Result<T, E>` with `impl From<steadfast::RateLimited> for E` ([`RateLimitReturn`], [`RateLimitError`]) |
//! | `#[retry]` | any `Result<T, E>` ([`RetryReturn`]) |
//! | `#[fallback]` | any `Result<T, E>` ([`FallbackReturn`]) |
//! | `#[monitored]` | any return type |
//! | `#[monitored(drain = …)]` | `Result<T, E>` with `impl From<steadfast::ShuttingDown> for E` ([`DrainReturn`], [`DrainError`]) |
//! | `#[supervised]` | `()`, or `Result<T, E>` with `E: Display` ([`TaskReturn`]) |
//!
//! `anyhow::Error`, `Box<dyn Error + Send + Sync>` and `io::Error` have both `From`s.

pub use crate::task::TaskReturn;
use crate::{BulkheadFull, CircuitOpen, Elapsed, RateLimited, ShuttingDown};

mod sealed {
    pub trait Sealed {}
    impl<T, E> Sealed for Result<T, E> {}
}

/// A return type whose values can be a failure: `Result<T, E>` and every alias of it
/// (`io::Result<T>`, `anyhow::Result<T>`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result`, so steadfast cannot tell a failure from a success",
    label = "this must be a `Result<T, E>` (or an alias of one, like `io::Result<T>`)"
)]
pub trait Outcome: sealed::Sealed {
    /// The error type.
    type Error;
    /// The error, when the value is a failure.
    fn error(&self) -> Option<&Self::Error>;
    /// Whether the value is a failure.
    fn is_failure(&self) -> bool;
}

impl<T, E> Outcome for Result<T, E> {
    type Error = E;
    #[inline]
    fn error(&self) -> Option<&E> {
        self.as_ref().err()
    }
    #[inline]
    // A pattern, not `is_err()`: no instance of `Result::is_err` per return type in a
    // debug build of every decorated function.
    #[allow(clippy::redundant_pattern_matching)]
    fn is_failure(&self) -> bool {
        matches!(self, Err(_))
    }
}

/// What `#[circuit_breaker]` needs of a return type: a `Result<T, E>` whose `E` can be made
/// from a [`CircuitOpen`]. Generated code asks for this one bound, once, so a wrong return
/// type is one error, on the return type.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs the function to return a `Result`, found `{Self}`",
    label = "a call the breaker turns away is returned as an `Err` of this type",
    note = "any alias of `Result` works, like `io::Result<T>` or `anyhow::Result<T>`"
)]
pub trait BreakerReturn: Outcome {
    /// The value returned in place of calling the body.
    fn rejected(open: CircuitOpen) -> Self;
}

impl<T, E: BreakerError> BreakerReturn for Result<T, E> {
    #[inline]
    fn rejected(open: CircuitOpen) -> Self {
        Err(E::from(open))
    }
}

/// What `#[circuit_breaker]` needs of the error type `E` of `Result<T, E>`:
/// `impl From<CircuitOpen> for E`.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs `impl From<steadfast::CircuitOpen> for {Self}`",
    label = "a call the breaker turns away is returned as `Err({Self}::from(CircuitOpen))`",
    note = "add a variant for it: `impl From<steadfast::CircuitOpen> for {Self} {{ fn from(e: steadfast::CircuitOpen) -> Self {{ … }} }}`",
    note = "`anyhow::Error`, `io::Error` and `Box<dyn Error + Send + Sync>` already have it"
)]
pub trait BreakerError: From<CircuitOpen> {}

#[diagnostic::do_not_recommend]
impl<E: From<CircuitOpen>> BreakerError for E {}

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
    message = "`#[timeout]` needs the function to return a `Result`, found `{Self}`",
    label = "a call past its deadline is returned as an `Err` of this type",
    note = "any alias of `Result` works, like `io::Result<T>` or `anyhow::Result<T>`"
)]
pub trait TimeoutReturn: Outcome {
    /// The value returned when the deadline passes.
    fn elapsed(elapsed: Elapsed) -> Self;
}

/// What `#[timeout]` needs of the error type `E` of `Result<T, E>`:
/// `impl From<Elapsed> for E`.
#[diagnostic::on_unimplemented(
    message = "`#[timeout]` needs `impl From<steadfast::Elapsed> for {Self}`",
    label = "a call past its deadline is returned as `Err({Self}::from(Elapsed))`",
    note = "add a variant for it: `impl From<steadfast::Elapsed> for {Self} {{ fn from(e: steadfast::Elapsed) -> Self {{ … }} }}`",
    note = "`anyhow::Error`, `io::Error` and `Box<dyn Error + Send + Sync>` already have it"
)]
pub trait TimeoutError: From<Elapsed> {}

#[diagnostic::do_not_recommend]
impl<E: From<Elapsed>> TimeoutError for E {}

impl<T, E: TimeoutError> TimeoutReturn for Result<T, E> {
    #[inline]
    fn elapsed(elapsed: Elapsed) -> Self {
        Err(E::from(elapsed))
    }
}

/// What `#[rate_limit]` needs of a return type: a `Result<T, E>` whose `E` can be made from
/// a [`RateLimited`].
#[diagnostic::on_unimplemented(
    message = "`#[rate_limit]` needs the function to return a `Result`, found `{Self}`",
    label = "a call the limiter turns away is returned as an `Err` of this type",
    note = "any alias of `Result` works, like `io::Result<T>` or `anyhow::Result<T>`"
)]
pub trait RateLimitReturn: Outcome {
    /// The value returned in place of calling the body.
    fn limited(limited: RateLimited) -> Self;
}

/// What `#[rate_limit]` needs of the error type `E` of `Result<T, E>`:
/// `impl From<RateLimited> for E`.
#[diagnostic::on_unimplemented(
    message = "`#[rate_limit]` needs `impl From<steadfast::RateLimited> for {Self}`",
    label = "a call the limiter turns away is returned as `Err({Self}::from(RateLimited))`",
    note = "add a variant for it: `impl From<steadfast::RateLimited> for {Self} {{ fn from(e: steadfast::RateLimited) -> Self {{ … }} }}`",
    note = "`anyhow::Error`, `io::Error` and `Box<dyn Error + Send + Sync>` already have it"
)]
pub trait RateLimitError: From<RateLimited> {}

#[diagnostic::do_not_recommend]
impl<E: From<RateLimited>> RateLimitError for E {}

impl<T, E: RateLimitError> RateLimitReturn for Result<T, E> {
    #[inline]
    fn limited(limited: RateLimited) -> Self {
        Err(E::from(limited))
    }
}

/// What `#[bulkhead]` needs of a return type: a `Result<T, E>` whose `E` can be made from
/// a [`BulkheadFull`].
#[diagnostic::on_unimplemented(
    message = "`#[bulkhead]` needs the function to return a `Result`, found `{Self}`",
    label = "a call the bulkhead turns away is returned as an `Err` of this type",
    note = "any alias of `Result` works, like `io::Result<T>` or `anyhow::Result<T>`"
)]
pub trait BulkheadReturn: Outcome {
    /// The value returned in place of calling the body.
    fn full(full: BulkheadFull) -> Self;
}

/// What `#[bulkhead]` needs of the error type `E` of `Result<T, E>`:
/// `impl From<BulkheadFull> for E`.
#[diagnostic::on_unimplemented(
    message = "`#[bulkhead]` needs `impl From<steadfast::BulkheadFull> for {Self}`",
    label = "a call the bulkhead turns away is returned as `Err({Self}::from(BulkheadFull))`",
    note = "add a variant for it: `impl From<steadfast::BulkheadFull> for {Self} {{ fn from(e: steadfast::BulkheadFull) -> Self {{ … }} }}`",
    note = "`anyhow::Error`, `io::Error` and `Box<dyn Error + Send + Sync>` already have it"
)]
pub trait BulkheadError: From<BulkheadFull> {}

#[diagnostic::do_not_recommend]
impl<E: From<BulkheadFull>> BulkheadError for E {}

impl<T, E: BulkheadError> BulkheadReturn for Result<T, E> {
    #[inline]
    fn full(full: BulkheadFull) -> Self {
        Err(E::from(full))
    }
}

/// What `#[monitored(drain = …)]` needs of a return type: a `Result<T, E>` whose `E` can
/// be made from a [`ShuttingDown`].
#[diagnostic::on_unimplemented(
    message = "`#[monitored(drain = …)]` needs the function to return a `Result`, found `{Self}`",
    label = "a call turned away while the process drains is returned as an `Err` of this type",
    note = "any alias of `Result` works, like `io::Result<T>` or `anyhow::Result<T>`"
)]
pub trait DrainReturn: Outcome {
    /// The value returned in place of calling the body.
    fn shutting_down(shutting_down: ShuttingDown) -> Self;
}

/// What `#[monitored(drain = …)]` needs of the error type `E` of `Result<T, E>`:
/// `impl From<ShuttingDown> for E`.
#[diagnostic::on_unimplemented(
    message = "`#[monitored(drain = …)]` needs `impl From<steadfast::ShuttingDown> for {Self}`",
    label = "a call turned away while draining is returned as `Err({Self}::from(ShuttingDown))`",
    note = "add a variant for it: `impl From<steadfast::ShuttingDown> for {Self} {{ fn from(e: steadfast::ShuttingDown) -> Self {{ … }} }}`",
    note = "`anyhow::Error`, `io::Error` and `Box<dyn Error + Send + Sync>` already have it"
)]
pub trait DrainError: From<ShuttingDown> {}

#[diagnostic::do_not_recommend]
impl<E: From<ShuttingDown>> DrainError for E {}

impl<T, E: DrainError> DrainReturn for Result<T, E> {
    #[inline]
    fn shutting_down(shutting_down: ShuttingDown) -> Self {
        Err(E::from(shutting_down))
    }
}

/// What `#[fallback]` needs of a return type: a `Result<T, E>`, whose `Err` goes to the
/// fallback.
#[diagnostic::on_unimplemented(
    message = "`#[fallback]` needs the function to return a `Result`, found `{Self}`",
    label = "the fallback is called with the `Err` of this type",
    note = "any alias of `Result` works, like `io::Result<T>` or `anyhow::Result<T>`"
)]
pub trait FallbackReturn: Outcome + Sized {
    /// `Ok(self)` for a success, else the error.
    fn split(self) -> Result<Self, Self::Error>;
    /// The error, returned as it is.
    fn keep(error: Self::Error) -> Self;
}

impl<T, E> FallbackReturn for Result<T, E> {
    #[inline]
    fn split(self) -> Result<Self, E> {
        match self {
            Ok(v) => Ok(Ok(v)),
            Err(e) => Err(e),
        }
    }

    #[inline]
    fn keep(error: E) -> Self {
        Err(error)
    }
}
