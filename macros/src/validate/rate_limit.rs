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
        let fleet = self.scope.as_ref().is_some_and(|s| s.value == "fleet");
        if !fleet {
            for (key, what) in [
                (
                    &self.expected_nodes,
                    "`expected_nodes` is the share of a fleet's limit this process keeps alone",
                ),
                (
                    &self.lease,
                    "`lease` is how many of a fleet's turns one round trip to Redis takes",
                ),
            ] {
                if let Some(key) = key {
                    errors.push(syn::Error::new(
                        key.key.span(),
                        format!("{what}; it needs `scope = \"fleet\"`"),
                    ));
                }
            }
        } else if let Some(key) = &self.key {
            errors.push(syn::Error::new(
                key.key.span(),
                "`key = …` with `scope = \"fleet\"` is not supported yet: a fleet-wide limit is one limit",
            ));
        }
    }
}
