//! `#[bulkhead(max_concurrent = 10, max_wait = "250ms", max_queue = 100, name = "…", key = …, max_keys = 1024)]`

use proc_macro2::{Span, TokenStream};

use super::{
    AttributeArgs, Keys, Num, Spanned, duration_or_zero, each_key_value, expr, int, max_keys,
    policy, set_once, string,
};
use crate::duration::DurationArg;
use crate::errors::Errors;

pub(crate) const KEYS: Keys = Keys {
    attribute: "bulkhead",
    keys: &[
        "max_concurrent",
        "max_wait",
        "max_queue",
        "name",
        "key",
        "max_keys",
        "policy",
    ],
    flags: &[],
};

pub(crate) struct BulkheadArgs {
    /// Calls inside at once; required.
    pub(crate) max_concurrent: Option<Spanned<Num<u64>>>,
    /// How long a call may wait for a slot; default: not at all.
    pub(crate) max_wait: Option<Spanned<DurationArg>>,
    /// Callers allowed to wait at once (needs `max_wait`).
    pub(crate) max_queue: Option<Spanned<Num<u64>>>,
    /// `name = "…"`: shared by every function that names it.
    pub(crate) name: Option<Spanned<syn::LitStr>>,
    /// `policy = QUOTA`: a policy `const` whose settings the keys written here override.
    pub(crate) policy: Option<Spanned<syn::Expr>>,
    /// Whether `policy` was written, valid or not.
    pub(crate) policy_written: bool,
    /// `key = user`: one set of slots per value of this expression of the arguments.
    pub(crate) key: Option<Spanned<syn::Expr>>,
    /// `max_keys = 1024`: the keys kept at most (needs `key`).
    pub(crate) max_keys: Option<Spanned<Num<u64>>>,
    /// Whether `key` was written, valid or not.
    pub(crate) key_written: bool,
    /// Whether `max_concurrent` / `max_wait` were written, valid or not.
    pub(crate) max_concurrent_written: bool,
    pub(crate) max_wait_written: bool,
    /// Whether a key it does not know was written (its error says what is wrong; "needs
    /// `…`" would only repeat it when the key was a misspelling).
    pub(crate) unknown_written: bool,
    /// Where to point errors about the attribute as a whole.
    pub(crate) span: Span,
}

impl AttributeArgs for BulkheadArgs {
    const NAME: &'static str = "bulkhead";
    const ONCE: &'static str = "a function has one bulkhead; to share one, give it a `name`";

    fn parse(tokens: TokenStream, at: Span, errors: &mut Errors) -> BulkheadArgs {
        let mut args = BulkheadArgs {
            max_concurrent: None,
            max_wait: None,
            max_queue: None,
            name: None,
            policy: None,
            policy_written: false,
            key: None,
            max_keys: None,
            key_written: false,
            max_concurrent_written: false,
            max_wait_written: false,
            unknown_written: false,
            span: at,
        };
        let attr = KEYS.attribute;
        let present = each_key_value(tokens, &KEYS, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "max_concurrent" => set_once(
                    errors,
                    attr,
                    &mut args.max_concurrent,
                    key,
                    value,
                    int(key, u64::from(u32::MAX >> 1)),
                ),
                "max_wait" => set_once(
                    errors,
                    attr,
                    &mut args.max_wait,
                    key,
                    value,
                    duration_or_zero(key),
                ),
                "max_queue" => set_once(
                    errors,
                    attr,
                    &mut args.max_queue,
                    key,
                    value,
                    int(key, u64::from(u32::MAX >> 1)),
                ),
                "name" => set_once(errors, attr, &mut args.name, key, value, string(key)),
                "key" => set_once(errors, attr, &mut args.key, key, value, expr),
                "policy" => set_once(errors, attr, &mut args.policy, key, value, policy(key)),
                "max_keys" => set_once(errors, attr, &mut args.max_keys, key, value, max_keys(key)),
                _ => return false,
            }
            true
        });
        args.max_concurrent_written = present.contains("max_concurrent");
        args.unknown_written = present.iter().any(|k| !KEYS.keys.contains(&k.as_str()));
        args.max_wait_written = present.contains("max_wait");
        args.key_written = present.contains("key");
        args.policy_written = present.contains("policy");
        args
    }
}
