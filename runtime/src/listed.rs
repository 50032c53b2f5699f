//! The list of every decorated function: its breaker(s), its retry policy, its
//! deadline, its bulkhead, its rate limiter. One entry per function (however many attributes it has): each entry is a
//! static the compiler and linker handle, so fewer is faster to build.

use crate::bulkhead::BulkheadSlot;
use crate::rate_limit::LimiterSlot;
use crate::retry::RetryCell;
use crate::timeout::TimeoutCell;

/// A function's breaker(s), registered on demand (a no-op once done).
pub trait Register: Sync + std::fmt::Debug {
    /// Registers it.
    fn register(&'static self);
}

/// What one decorated function lists before `main`.
#[derive(Debug, Clone, Copy)]
pub struct Listed {
    /// Its breaker slot (`#[circuit_breaker]`, with or without `key`).
    pub breaker: Option<&'static dyn Register>,
    /// Its retry policy (`#[retry]`).
    pub retry: Option<&'static RetryCell>,
    /// Its deadline (`#[timeout]`).
    pub timeout: Option<&'static TimeoutCell>,
    /// Its bulkhead (`#[bulkhead]`).
    pub bulkhead: Option<&'static BulkheadSlot>,
    /// Its rate limiter (`#[rate_limit]`).
    pub rate_limit: Option<&'static LimiterSlot>,
}

impl Listed {
    /// Nothing listed.
    pub const NONE: Listed = Listed {
        breaker: None,
        retry: None,
        timeout: None,
        bulkhead: None,
        rate_limit: None,
    };
}

inventory::collect!(Listed);

/// Every decorated function's entry, gathered before `main` (one small static and one
/// constructor per function, from a declarative macro: cheaper to compile than a
/// link-section attribute macro per function).
fn listed() -> impl Iterator<Item = &'static Listed> {
    inventory::iter::<Listed>.into_iter()
}

/// Every decorated function's breaker(s).
pub(crate) fn breakers() -> impl Iterator<Item = &'static dyn Register> {
    listed().filter_map(|l| l.breaker)
}

/// Every `#[retry]` function's policy.
pub(crate) fn retries() -> impl Iterator<Item = &'static RetryCell> {
    listed().filter_map(|l| l.retry)
}

/// Every `#[timeout]` function's deadline.
pub(crate) fn timeouts() -> impl Iterator<Item = &'static TimeoutCell> {
    listed().filter_map(|l| l.timeout)
}

/// Every `#[bulkhead]` function's slot.
pub(crate) fn bulkheads() -> impl Iterator<Item = &'static BulkheadSlot> {
    listed().filter_map(|l| l.bulkhead)
}

/// Every `#[rate_limit]` function's slot.
pub(crate) fn rate_limits() -> impl Iterator<Item = &'static LimiterSlot> {
    listed().filter_map(|l| l.rate_limit)
}
