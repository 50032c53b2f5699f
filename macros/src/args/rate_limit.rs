//! `#[rate_limit(rate = 100, per = "1s", burst = 10, max_wait = "2s", name = "…")]`, and with
//! `scope = "fleet"`: `expected_nodes = 3`, `lease = 10`

use proc_macro2::{Span, TokenStream};

use super::retry::one_of;
use super::{
    AttributeArgs, Keys, Num, Spanned, duration, duration_or_zero, each_key_value, expr, int,
    max_keys, policy, set_once, string,
};
use crate::duration::DurationArg;
use crate::errors::Errors;

/// The most turns one round trip may lease (the runtime keeps up to 2^24 - 1).
const MAX_LEASE: u64 = 100_000;

pub(crate) const SCOPES: &[&str] = &["local", "fleet"];

pub(crate) const KEYS: Keys = Keys {
    attribute: "rate_limit",
    keys: &[
        "rate",
        "per",
        "burst",
        "max_wait",
        "name",
        "key",
        "max_keys",
        "policy",
        "scope",
        "expected_nodes",
        "lease",
    ],
    flags: &[],
};

pub(crate) struct RateLimitArgs {
    /// Calls per `per`; required.
    pub(crate) rate: Option<Spanned<Num<u64>>>,
    /// The period of `rate`; default one second.
    pub(crate) per: Option<Spanned<DurationArg>>,
    /// Calls admitted back to back from idle; default `rate`.
    pub(crate) burst: Option<Spanned<Num<u64>>>,
    /// How long a call may wait for its turn; default: not at all.
    pub(crate) max_wait: Option<Spanned<DurationArg>>,
    /// `name = "…"`: shared by every function that names it.
    pub(crate) name: Option<Spanned<syn::LitStr>>,
    /// `policy = QUOTA`: a policy `const` whose settings the keys written here override.
    pub(crate) policy: Option<Spanned<syn::Expr>>,
    /// Whether `policy` was written, valid or not.
    pub(crate) policy_written: bool,
    /// `key = host`: one limit per value of this expression of the arguments.
    pub(crate) key: Option<Spanned<syn::Expr>>,
    /// `max_keys = 10_000`: the keys kept at most (needs `key`).
    pub(crate) max_keys: Option<Spanned<Num<u64>>>,
    /// Whether `key` was written, valid or not.
    pub(crate) key_written: bool,
    /// `scope = "fleet"` (one of [`SCOPES`]): shared by every process through Redis.
    pub(crate) scope: Option<Spanned<String>>,
    /// `expected_nodes = 3`: with `scope = "fleet"`, this process's share when it decides
    /// alone is `rate / expected_nodes`.
    pub(crate) expected_nodes: Option<Spanned<Num<u64>>>,
    /// `lease = 10`: with `scope = "fleet"`, the turns asked of the fleet per round trip
    /// (the others spent by this process's next calls).
    pub(crate) lease: Option<Spanned<Num<u64>>>,
    /// Whether `rate` was written at all (a bad value already has its error).
    pub(crate) rate_written: bool,
    /// Whether a key it does not know was written (its error says what is wrong; "needs
    /// `…`" would only repeat it when the key was a misspelling).
    pub(crate) unknown_written: bool,
    /// Where to point errors about the attribute as a whole.
    pub(crate) span: Span,
}

impl AttributeArgs for RateLimitArgs {
    const NAME: &'static str = "rate_limit";
    const ONCE: &'static str = "a function has one rate limit; to share one, give it a `name`";

    fn parse(tokens: TokenStream, at: Span, errors: &mut Errors) -> RateLimitArgs {
        let mut args = RateLimitArgs {
            rate: None,
            per: None,
            burst: None,
            max_wait: None,
            name: None,
            policy: None,
            policy_written: false,
            key: None,
            max_keys: None,
            key_written: false,
            scope: None,
            expected_nodes: None,
            lease: None,
            rate_written: false,
            unknown_written: false,
            span: at,
        };
        let attr = KEYS.attribute;
        let present = each_key_value(tokens, &KEYS, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "rate" => set_once(
                    errors,
                    attr,
                    &mut args.rate,
                    key,
                    value,
                    int(key, u64::from(u32::MAX)),
                ),
                "per" => set_once(errors, attr, &mut args.per, key, value, duration(key)),
                "burst" => set_once(
                    errors,
                    attr,
                    &mut args.burst,
                    key,
                    value,
                    int(key, u64::from(u32::MAX)),
                ),
                "max_wait" => set_once(
                    errors,
                    attr,
                    &mut args.max_wait,
                    key,
                    value,
                    duration_or_zero(key),
                ),
                "name" => set_once(errors, attr, &mut args.name, key, value, string(key)),
                "key" => set_once(errors, attr, &mut args.key, key, value, expr),
                "policy" => set_once(errors, attr, &mut args.policy, key, value, policy(key)),
                "max_keys" => set_once(errors, attr, &mut args.max_keys, key, value, max_keys(key)),
                "scope" => set_once(
                    errors,
                    attr,
                    &mut args.scope,
                    key,
                    value,
                    one_of(key, SCOPES),
                ),
                "expected_nodes" => set_once(
                    errors,
                    attr,
                    &mut args.expected_nodes,
                    key,
                    value,
                    int(key, 100_000),
                ),
                "lease" => set_once(
                    errors,
                    attr,
                    &mut args.lease,
                    key,
                    value,
                    int(key, MAX_LEASE),
                ),
                _ => return false,
            }
            true
        });
        args.rate_written = present.contains("rate");
        args.unknown_written = present.iter().any(|k| !KEYS.keys.contains(&k.as_str()));
        args.key_written = present.contains("key");
        args.policy_written = present.contains("policy");
        args
    }
}
