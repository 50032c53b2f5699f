//! `#[cached]`

use syn::FnArg;
use syn::spanned::Spanned;

use super::{Check, Cx, key_uses_arguments};
use crate::args::cached::CachedArgs;
use crate::errors::Errors;

/// `#[cached]`: `max_entries` is required; a method needs its own `key` (else every
/// instance would share one cache, keyed by the other arguments); the cache lives in a
/// `static`, which cannot name a generic function's types.
impl Check for CachedArgs {
    fn check(&self, cx: &Cx<'_>, errors: &mut Errors) {
        if !self.max_entries_written && !self.unknown_written {
            errors.push(syn::Error::new(
                self.span,
                "`#[cached]` needs `max_entries`: `#[cached(max_entries = 10_000)]` keeps at most 10,000 values",
            ));
        }
        if !self.key_written {
            if let Some(FnArg::Receiver(r)) = cx.func.sig.inputs.first() {
                errors.push(syn::Error::new(
                    r.span(),
                    "`#[cached]` on a method needs `key = …`: without it, every instance would share one cache keyed by the other arguments; write `key = (self.id, symbol.clone())` or what tells instances apart",
                ));
            }
        }
        if let Some(key) = &self.key {
            key_uses_arguments(&key.value, cx.func, errors);
        }
        if let Some(param) = cx.func.sig.generics.type_params().next() {
            errors.push(syn::Error::new(
                param.span(),
                "`#[cached]` keeps a function's cache in a `static`, which cannot name a generic function's types: cache a non-generic function that calls it",
            ));
        }
    }
}
