//! The link-time list of every decorated function: its breaker(s), its retry policy, its
//! deadline. One entry per function (however many attributes it has): each entry is a
//! static the compiler and linker handle, so fewer is faster to build.

use crate::retry::RetryCell;
use crate::timeout::TimeoutCell;

/// A function's breaker(s), registered on demand (a no-op once done).
pub trait Register: Sync + std::fmt::Debug {
    /// Registers it.
    fn register(&'static self);
}

/// What one decorated function lists at link time.
#[derive(Debug, Clone, Copy)]
pub struct Listed {
    /// Its breaker slot (`#[circuit_breaker]`, with or without `key`).
    pub breaker: Option<&'static dyn Register>,
    /// Its retry policy (`#[retry]`).
    pub retry: Option<&'static RetryCell>,
    /// Its deadline (`#[timeout]`).
    pub timeout: Option<&'static TimeoutCell>,
}

impl Listed {
    /// Nothing listed.
    pub const NONE: Listed = Listed {
        breaker: None,
        retry: None,
        timeout: None,
    };
}

/// Every decorated function's entry, gathered at link time.
#[linkme::distributed_slice]
pub static LISTED: [Listed];

/// Every decorated function's breaker(s).
pub(crate) fn breakers() -> impl Iterator<Item = &'static dyn Register> {
    LISTED.iter().filter_map(|l| l.breaker)
}

/// Every `#[retry]` function's policy.
pub(crate) fn retries() -> impl Iterator<Item = &'static RetryCell> {
    LISTED.iter().filter_map(|l| l.retry)
}

/// Every `#[timeout]` function's deadline.
pub(crate) fn timeouts() -> impl Iterator<Item = &'static TimeoutCell> {
    LISTED.iter().filter_map(|l| l.timeout)
}
