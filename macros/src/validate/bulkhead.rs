//! `#[bulkhead]`

use super::{Check, Cx};
use crate::args::bulkhead::BulkheadArgs;
use crate::errors::Errors;

/// `#[bulkhead]`: `max_concurrent` is required (zero is a parse error), and a queue needs a
/// wait (no unbounded queue, and no queue nobody may stand in).
impl Check for BulkheadArgs {
    fn check(&self, _cx: &Cx<'_>, errors: &mut Errors) {
        if !self.max_concurrent_written && !self.unknown_written {
            errors.push(syn::Error::new(
                self.span,
                "`#[bulkhead]` needs `max_concurrent`: `#[bulkhead(max_concurrent = 10)]` lets 10 calls in at once",
            ));
        }
        if let (Some(queue), false) = (&self.max_queue, self.max_wait_written) {
            errors.push(syn::Error::new(
                queue.key.span(),
                "`max_queue` bounds the calls waiting for a slot, and without `max_wait` no call waits: add `max_wait = \"250ms\"`",
            ));
        }
    }
}
