//! The attribute macros of [steadfast](https://docs.rs/steadfast). Depend on `steadfast`,
//! which re-exports them with their documentation; generated code calls into it.
//!
//! Each attribute is a three-step pipeline, as in `thiserror`: parse the arguments into a
//! typed struct (`args`), check them and the function (`validate`), emit (`expand`). An
//! error is a `syn::Error` on the token at fault; all of them are collected and emitted
//! together with the untouched function, so the user sees the real errors and no cascade.

mod args;
mod duration;
mod expand;
mod item;
mod kind;
mod stack;
mod validate;

#[cfg(test)]
mod never_panics;

use proc_macro::TokenStream;

use crate::stack::Attr;

/// A circuit breaker around the function; see `steadfast::circuit_breaker`.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Attr::CircuitBreaker, args.into(), item.into()).into()
}

/// Retries the function with backoff; see `steadfast::retry`.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Attr::Retry, args.into(), item.into()).into()
}

/// Metrics and a `tracing` span for every call; see `steadfast::monitored`.
#[proc_macro_attribute]
pub fn monitored(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Attr::Monitored, args.into(), item.into()).into()
}

/// A deadline on the function; see `steadfast::timeout`.
#[proc_macro_attribute]
pub fn timeout(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Attr::Timeout, args.into(), item.into()).into()
}
