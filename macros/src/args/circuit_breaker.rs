//! `#[circuit_breaker(...)]`

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream};
use syn::{Expr, LitStr};

use super::{
    AttributeArgs, Keys, Num, Spanned, boolean, callable, duration, each_key_value, expr, fraction,
    int, max_keys, policy, set_once, string,
};
use crate::duration::DurationArg;
use crate::errors::Errors;

pub(crate) const KEYS: Keys = Keys {
    attribute: "circuit_breaker",
    keys: &[
        "name",
        "failure_threshold",
        "window",
        "failure_rate",
        "minimum_calls",
        "open_for",
        "half_open_probes",
        "failure_if",
        "key",
        "max_keys",
        "per_key_metrics",
        "critical",
        "policy",
        "scope",
        "quorum",
    ],
    flags: &["critical", "per_key_metrics"],
};

/// The most `half_open_probes` the runtime can count (15 bits of its state word).
pub(crate) const MAX_PROBES: u64 = (1 << 15) - 1;
/// The most consecutive failures the runtime can count (30 bits of its state word).
pub(crate) const MAX_CONSECUTIVE: u64 = (1 << 30) - 1;
/// `failure_threshold` with `window` keeps that many failure times: bound the memory.
pub(crate) const MAX_IN_WINDOW: u64 = 10_000;

#[derive(Default)]
pub(crate) struct CircuitBreakerArgs {
    pub(crate) name: Option<Spanned<LitStr>>,
    pub(crate) failure_threshold: Option<Spanned<Num<u64>>>,
    pub(crate) window: Option<Spanned<DurationArg>>,
    pub(crate) failure_rate: Option<Spanned<Num<f64>>>,
    pub(crate) minimum_calls: Option<Spanned<Num<u64>>>,
    pub(crate) open_for: Option<Spanned<DurationArg>>,
    pub(crate) half_open_probes: Option<Spanned<Num<u64>>>,
    pub(crate) failure_if: Option<Spanned<Expr>>,
    pub(crate) key: Option<Spanned<Expr>>,
    pub(crate) max_keys: Option<Spanned<Num<u64>>>,
    /// `per_key_metrics`: one Prometheus series per key, not only per function.
    pub(crate) per_key_metrics: Option<Spanned<bool>>,
    /// `critical`: open, it makes the process unhealthy.
    pub(crate) critical: Option<Spanned<bool>>,
    /// `policy = PAYMENTS`: a `BreakerPolicy` the other keys override.
    pub(crate) policy: Option<Spanned<Expr>>,
    /// `scope = "fleet"`: the breaker also opens while `quorum` nodes report it open.
    pub(crate) scope: Option<Spanned<String>>,
    /// `quorum = 2`: nodes whose own breaker is open that open it for the fleet.
    pub(crate) quorum: Option<Spanned<Num<u64>>>,
    /// Keys written, valid or not, so that one bad value does not also make its partner
    /// look alone.
    present: BTreeSet<String>,
}

impl AttributeArgs for CircuitBreakerArgs {
    const NAME: &'static str = "circuit_breaker";
    const ONCE: &'static str =
        "a function has one breaker (use `key = …` for one breaker per argument value)";

    fn parse(tokens: TokenStream, _at: Span, errors: &mut Errors) -> CircuitBreakerArgs {
        let mut args = CircuitBreakerArgs::default();
        let attr = KEYS.attribute;
        args.present = each_key_value(tokens, &KEYS, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "name" => set_once(errors, attr, &mut args.name, key, value, string(key)),
                "failure_threshold" => set_once(
                    errors,
                    attr,
                    &mut args.failure_threshold,
                    key,
                    value,
                    int(key, MAX_CONSECUTIVE),
                ),
                "window" => set_once(errors, attr, &mut args.window, key, value, duration(key)),
                "failure_rate" => set_once(
                    errors,
                    attr,
                    &mut args.failure_rate,
                    key,
                    value,
                    fraction(key),
                ),
                "minimum_calls" => set_once(
                    errors,
                    attr,
                    &mut args.minimum_calls,
                    key,
                    value,
                    int(key, u64::from(u32::MAX)),
                ),
                "open_for" => set_once(errors, attr, &mut args.open_for, key, value, duration(key)),
                "half_open_probes" => set_once(
                    errors,
                    attr,
                    &mut args.half_open_probes,
                    key,
                    value,
                    int(key, MAX_PROBES),
                ),
                "failure_if" => set_once(
                    errors,
                    attr,
                    &mut args.failure_if,
                    key,
                    value,
                    callable(key),
                ),
                "key" => set_once(errors, attr, &mut args.key, key, value, expr),
                "max_keys" => set_once(errors, attr, &mut args.max_keys, key, value, max_keys(key)),
                "per_key_metrics" => set_once(
                    errors,
                    attr,
                    &mut args.per_key_metrics,
                    key,
                    value,
                    boolean(key),
                ),
                "critical" => set_once(errors, attr, &mut args.critical, key, value, boolean(key)),
                "policy" => set_once(errors, attr, &mut args.policy, key, value, policy(key)),
                "scope" => set_once(
                    errors,
                    attr,
                    &mut args.scope,
                    key,
                    value,
                    super::retry::one_of(key, super::rate_limit::SCOPES),
                ),
                "quorum" => set_once(errors, attr, &mut args.quorum, key, value, int(key, 10_000)),
                _ => return false,
            }
            true
        });
        args
    }
}

impl CircuitBreakerArgs {
    /// Was `key` written, whether or not its value was valid?
    pub(crate) fn has(&self, key: &str) -> bool {
        self.present.contains(key)
    }
}
