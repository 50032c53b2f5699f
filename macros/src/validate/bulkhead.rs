//! `#[bulkhead]`

use super::{Check, Cx, key_uses_arguments};
use crate::args::bulkhead::BulkheadArgs;
use crate::errors::Errors;

/// `#[bulkhead]`: `max_concurrent` is required unless a policy gives it (zero is a parse
/// error); a queue needs a wait longer than zero (no unbounded queue, and no queue nobody
/// may stand in); `max_keys` needs `key`, and `key` is made of the function's arguments.
impl Check for BulkheadArgs {
    fn check(&self, cx: &Cx<'_>, errors: &mut Errors) {
        if !self.max_concurrent_written && !self.unknown_written && !self.policy_written {
            errors.push(syn::Error::new(
                self.span,
                "`#[bulkhead]` needs `max_concurrent`: `#[bulkhead(max_concurrent = 10)]` lets 10 calls in at once",
            ));
        }
        // A policy may give the wait.
        let waits = self.max_wait_written
            && !matches!(
                self.max_wait.as_ref().map(|w| &w.value),
                Some(crate::duration::DurationArg::Literal(0, _))
            );
        if let (Some(queue), false, false) = (&self.max_queue, waits, self.policy_written) {
            errors.push(syn::Error::new(
                queue.key.span(),
                "`max_queue` bounds the calls waiting for a slot, and without a `max_wait` longer than zero no call waits: add `max_wait = \"250ms\"`",
            ));
        }
        if let (Some(max_keys), false) = (&self.max_keys, self.key_written) {
            errors.push(syn::Error::new(
                max_keys.key.span(),
                "`max_keys` bounds the bulkheads of `key = …`; it needs `key`",
            ));
        }
        if let Some(key) = &self.key {
            key_uses_arguments(&key.value, cx.func, errors);
        }
    }
}
