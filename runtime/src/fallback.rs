//! `#[fallback]`: the function's error handed to another function, whose result is
//! returned in its place. What the fallback must look like is checked by the compiler:
//! generated code binds it to a function pointer of the shape expected, so one of another
//! shape is one error on its path, naming that shape.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crate::figures::{self, Figures, Function, Part};
use crate::observe;

/// The `static` behind a `#[fallback]` function: how often the fallback ran.
#[derive(Debug)]
pub struct FallbackStats {
    function: &'static Function,
    taken: AtomicU64,
    listed: AtomicBool,
}

impl FallbackStats {
    /// A count of zero, for `function`.
    pub const fn new(function: &'static Function) -> FallbackStats {
        FallbackStats {
            function,
            taken: AtomicU64::new(0),
            listed: AtomicBool::new(false),
        }
    }

    /// The fallback is about to run.
    #[cold]
    pub fn taken(&'static self) {
        if !self.listed.load(Relaxed) && !self.listed.swap(true, Relaxed) {
            figures::join(self.function, self);
        }
        self.taken.fetch_add(1, Relaxed);
        observe::fallback(self.function.name());
    }
}

impl Part for FallbackStats {
    fn read_into(&self, into: &mut Figures) {
        *into.fallbacks.get_or_insert(0) += self.taken.load(Relaxed);
    }
}

/// An argument of a `#[fallback(…, args)]` function, kept for the fallback: it is cloned
/// before the body runs (a reference is copied).
#[diagnostic::on_unimplemented(
    message = "`#[fallback(…, args)]` keeps a clone of each argument for the fallback, and `{Self}` is not `Clone`",
    label = "this argument is passed to the body by value and must be cloned for the fallback",
    note = "take it by reference, make its type `Clone`, or drop `args`"
)]
pub trait FallbackArg: Clone {}

impl<T: Clone> FallbackArg for T {}
