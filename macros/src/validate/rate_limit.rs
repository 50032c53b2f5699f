//! `#[rate_limit]`

use super::{Check, Cx, key_uses_arguments};
use crate::args::rate_limit::RateLimitArgs;
use crate::errors::Errors;

/// `#[rate_limit]`: a rate is required unless a policy gives one (zero rates, bursts and periods are parse errors),
/// `max_keys` needs `key`, and `key` is made of the function's arguments.
impl Check for RateLimitArgs {
    fn check(&self, cx: &Cx<'_>, errors: &mut Errors) {
        if !self.rate_written && !self.unknown_written && !self.policy_written {
            errors.push(syn::Error::new(
                self.span,
                "`#[rate_limit]` needs a rate: `#[rate_limit(rate = 100, per = \"1s\")]` admits 100 calls a second",
            ));
        }
        if let (Some(max_keys), false) = (&self.max_keys, self.key_written) {
            errors.push(syn::Error::new(
                max_keys.key.span(),
                "`max_keys` bounds the limits of `key = …`; it needs `key`",
            ));
        }
        if let Some(key) = &self.key {
            key_uses_arguments(&key.value, cx.func, errors);
        }
    }
}
