//! What generated code calls. Not a public API: names here change without notice.

use std::sync::{Arc, OnceLock};

pub use crate::breaker::{
    BreakerKey, BreakerSpec, Config, Core, KeyedBreakers, KeyedSlot, Permit, TripPolicy,
};
pub use crate::clock::{Clock, Nanos, SystemClock};
pub use crate::outcome::{BreakerReturn, Outcome};
pub use ::core::time::Duration;

use crate::CircuitOpen;

/// Per-key breakers one function keeps unless `max_keys` says otherwise.
pub const DEFAULT_MAX_KEYS: usize = 1024;

/// The `static` behind a function's breaker: one atomic load once initialised.
#[derive(Debug)]
pub struct BreakerSlot(OnceLock<Arc<Core>>);

impl BreakerSlot {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        BreakerSlot(OnceLock::new())
    }

    #[inline]
    pub fn get_or_init(&'static self, spec: impl FnOnce() -> BreakerSpec) -> &'static Core {
        match self.0.get() {
            Some(core) => core,
            None => self.init(spec),
        }
    }

    #[cold]
    fn init(&'static self, spec: impl FnOnce() -> BreakerSpec) -> &'static Core {
        self.0.get_or_init(|| crate::breaker::register(spec()))
    }
}

/// The value a rejected call returns.
#[inline]
pub fn reject<R: BreakerReturn>(open: CircuitOpen) -> R {
    R::rejected(open)
}

impl<C: crate::clock::Clock> Permit<'_, C> {
    /// Records the outcome of the call from its return value.
    #[inline]
    pub fn record<R: BreakerReturn>(self, out: &R) {
        match out.failure() {
            None => self.success(),
            Some(_) => self.failure(),
        }
    }

    /// Records the outcome, counting only the errors `failure_if` accepts.
    #[inline]
    pub fn record_if<R: BreakerReturn>(self, out: &R, failure_if: impl FnOnce(&R::Error) -> bool) {
        match out.failure() {
            None => self.success(),
            Some(error) if failure_if(error) => self.failure(),
            Some(_) => self.ignore(),
        }
    }
}

/// A duration given as an expression; the identity, so a wrong type is an error here.
#[inline]
pub const fn duration(d: Duration) -> Duration {
    d
}

// `key = expr` takes owned keys and references alike, so that `&str` works: the
// receiver `&&KeyWrap(&expr)` picks `KeyByDeref` when `expr` is a reference and
// `KeyByValue` otherwise (autoref specialisation).

/// Wraps a `key = …` value for [`KeyByDeref`] / [`KeyByValue`].
#[derive(Debug)]
pub struct KeyWrap<'a, T: ?Sized>(pub &'a T);

pub trait KeyByDeref {
    type Key: ?Sized + BreakerKey;
    fn key(&self) -> &Self::Key;
}

impl<U: ?Sized + BreakerKey> KeyByDeref for &KeyWrap<'_, &U> {
    type Key = U;
    #[inline]
    fn key(&self) -> &U {
        self.0
    }
}

pub trait KeyByValue {
    type Key: ?Sized + BreakerKey;
    fn key(&self) -> &Self::Key;
}

impl<T: ?Sized + BreakerKey> KeyByValue for KeyWrap<'_, T> {
    type Key = T;
    #[inline]
    fn key(&self) -> &T {
        self.0
    }
}

pub use ::std::boxed::Box;

/// Calls a closure once; the body of a sync function runs in one so that its `return`
/// and `?` stay its own. Taking `FnOnce` lets the body move out of what it captured.
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}
