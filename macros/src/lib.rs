//! The attribute macros of [steadfast](https://docs.rs/steadfast). Depend on `steadfast`,
//! which re-exports them with their documentation; generated code calls into it.
//!
//! Each attribute is a three-step pipeline, as in `thiserror`: parse the arguments into a
//! typed struct (`args/<name>.rs`), check them and the function (`validate/<name>.rs`),
//! emit (`expand/<name>.rs`). `attributes.rs` is the one table that ties an attribute's
//! stages together; `pipeline.rs` runs them. An error is a `syn::Error` on the token at
//! fault; all of them are collected and emitted together with the untouched function, so
//! the user sees the real errors and no cascade.
//!
//! Imports point one way: `errors`, `duration`, `item`, `kind` ← `args` ← `validate` ←
//! `expand` ← `attributes` ← `stack` ← `pipeline`.

mod args;
mod attributes;
mod duration;
mod errors;
mod expand;
mod item;
mod kind;
mod pipeline;
mod stack;
mod validate;

#[cfg(test)]
mod never_panics;

use proc_macro::TokenStream;

use crate::attributes::Attr;

/// A circuit breaker around the function; see `steadfast::circuit_breaker`.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(Attr::CircuitBreaker, args.into(), item.into()).into()
}

/// Retries the function with backoff; see `steadfast::retry`.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(Attr::Retry, args.into(), item.into()).into()
}

/// A bounded cache of the function's successes; see `steadfast::cached`.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(Attr::Cached, args.into(), item.into()).into()
}

/// Another function's result in place of this one's error; see `steadfast::fallback`.
#[proc_macro_attribute]
pub fn fallback(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(Attr::Fallback, args.into(), item.into()).into()
}

/// A bound on the calls of a function inside at once; see `steadfast::bulkhead`.
#[proc_macro_attribute]
pub fn bulkhead(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(Attr::Bulkhead, args.into(), item.into()).into()
}

/// A rate limit on the calls of a function; see `steadfast::rate_limit`.
#[proc_macro_attribute]
pub fn rate_limit(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(Attr::RateLimit, args.into(), item.into()).into()
}

/// Metrics and a `tracing` span for every call; see `steadfast::monitored`.
#[proc_macro_attribute]
pub fn monitored(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(Attr::Monitored, args.into(), item.into()).into()
}

/// Runs the function as a supervised background task; see `steadfast::supervised`.
#[proc_macro_attribute]
pub fn supervised(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(Attr::Supervised, args.into(), item.into()).into()
}

/// A deadline on the function; see `steadfast::timeout`.
#[proc_macro_attribute]
pub fn timeout(args: TokenStream, item: TokenStream) -> TokenStream {
    pipeline::run(Attr::Timeout, args.into(), item.into()).into()
}
