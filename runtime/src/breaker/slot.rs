//! The `static` behind a decorated function's breaker.

use std::sync::{Arc, OnceLock};

use super::core::Core;
use super::registry::BreakerSpec;

/// The `static` behind a function's breaker: one atomic load once initialised. It is also
/// listed before `main` (`crate::listed`), so that every breaker is known before its
/// first call.
#[derive(Debug)]
pub struct BreakerSlot {
    core: OnceLock<Arc<Core>>,
    spec: Spec<BreakerSpec>,
}

/// What a slot is made from: a value known at compile time (evaluated there, held in the
/// slot's own `static`: nothing to compile per function), or a function run at the first
/// use when a value is known only then.
#[derive(Debug, Clone, Copy)]
pub enum Spec<T> {
    /// Evaluated at compile time.
    Known(T),
    /// Made at the first use.
    Lazy(fn() -> T),
}

impl<T: Copy> Spec<T> {
    pub(crate) fn get(self) -> T {
        match self {
            Spec::Known(spec) => spec,
            Spec::Lazy(make) => make(),
        }
    }
}

impl BreakerSlot {
    /// An empty slot, for a `static`.
    pub const fn new(spec: Spec<BreakerSpec>) -> Self {
        BreakerSlot {
            core: OnceLock::new(),
            spec,
        }
    }

    #[inline]
    /// The function's breaker, registered on first use.
    pub fn get(&'static self) -> &'static Core {
        match self.core.get() {
            Some(core) => core,
            None => self.init(),
        }
    }

    /// Not generic: the part of the first call that every function shares, compiled once
    /// rather than once per decorated function.
    #[cold]
    #[inline(never)]
    fn init(&'static self) -> &'static Core {
        self.core
            .get_or_init(|| crate::breaker::register(self.spec.get()))
    }
}
