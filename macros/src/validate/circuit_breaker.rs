//! `#[circuit_breaker]`

use super::{Check, Cx, key_uses_arguments};
use crate::args::circuit_breaker::{CircuitBreakerArgs, MAX_IN_WINDOW};
use crate::errors::Errors;

/// `#[circuit_breaker]`: keys that only make sense together, and `key` against the
/// function's arguments.
impl Check for CircuitBreakerArgs {
    fn check(&self, cx: &Cx<'_>, errors: &mut Errors) {
        let (args, func) = (self, cx.func);
        // With a policy, a key written alone adjusts the policy's mode (its window, its
        // minimum), which the policy may well have.
        let policy = args.has("policy");
        let fleet = args.scope.as_ref().is_some_and(|s| s.value == "fleet");
        if let (Some(quorum), false) = (&args.quorum, fleet) {
            errors.push(syn::Error::new(
                quorum.key.span(),
                "`quorum` is how many nodes of a fleet open the breaker for all; it needs `scope = \"fleet\"`",
            ));
        }
        if let (true, Some(key)) = (fleet, &args.key) {
            errors.push(syn::Error::new(
                key.key.span(),
                "`key = …` with `scope = \"fleet\"` is not supported yet: a fleet's breaker is one breaker",
            ));
        }
        if let Some(window) = &args.window {
            if !args.has("failure_threshold") && !args.has("failure_rate") && !policy {
                errors.push(syn::Error::new(
                window.key.span(),
                "`window` needs `failure_threshold` (open on N failures within the window) or `failure_rate` (open on a failure rate over the window)",
            ));
            }
        }
        if let (Some(rate), true) = (&args.failure_rate, args.has("failure_threshold")) {
            errors.push(syn::Error::new(
            rate.key.span(),
            "`failure_rate` and `failure_threshold` are two different ways to open a breaker; use one of them",
        ));
        }
        if let Some(minimum) = &args.minimum_calls {
            if !args.has("failure_rate") && !policy {
                errors.push(syn::Error::new(
                minimum.key.span(),
                "`minimum_calls` goes with `failure_rate`: the rate counts once the window holds that many calls",
            ));
            }
        }
        if let (Some(threshold), Some(_)) = (&args.failure_threshold, &args.window) {
            if threshold.value.literal().is_some_and(|n| n > MAX_IN_WINDOW) {
                errors.push(syn::Error::new(
                threshold.span,
                format!(
                    "`failure_threshold` with `window` must be at most {MAX_IN_WINDOW}: the breaker keeps the time of each failure; use `failure_rate` for larger volumes"
                ),
            ));
            }
        }
        if let Some(max_keys) = &args.max_keys {
            if !args.has("key") {
                errors.push(syn::Error::new(
                    max_keys.key.span(),
                    "`max_keys` bounds the breakers of `key = …`; it needs `key`",
                ));
            }
        }
        if let Some(per_key) = &args.per_key_metrics {
            if !args.has("key") {
                errors.push(syn::Error::new(
                    per_key.key.span(),
                    "`per_key_metrics` exports one series per key of `key = …`; it needs `key`",
                ));
            }
        }
        if let Some(key) = &args.key {
            key_uses_arguments(&key.value, func, errors);
        }
    }
}
