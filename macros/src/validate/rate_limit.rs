//! `#[rate_limit]`

use super::{Check, Cx};
use crate::args::rate_limit::RateLimitArgs;
use crate::errors::Errors;

/// `#[rate_limit]`: a rate is required (zero rates, bursts and periods are parse errors).
impl Check for RateLimitArgs {
    fn check(&self, _cx: &Cx<'_>, errors: &mut Errors) {
        if !self.rate_written {
            errors.push(syn::Error::new(
                self.span,
                "`#[rate_limit]` needs a rate: `#[rate_limit(rate = 100, per = \"1s\")]` admits 100 calls a second",
            ));
        }
    }
}
