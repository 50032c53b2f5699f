//! `#[cached(max_entries = 10_000, ttl = "5m", tti = "1m", key = symbol, name = "…")]`

use proc_macro2::{Span, TokenStream};

use super::{
    AttributeArgs, Keys, Num, Spanned, duration, each_key_value, expr, int, set_once, string,
};
use crate::duration::DurationArg;
use crate::errors::Errors;

pub(crate) const KEYS: Keys = Keys {
    attribute: "cached",
    keys: &["max_entries", "ttl", "tti", "key", "name"],
    flags: &[],
};

pub(crate) struct CachedArgs {
    /// Entries kept at most; required.
    pub(crate) max_entries: Option<Spanned<Num<u64>>>,
    /// Time to live from insertion.
    pub(crate) ttl: Option<Spanned<DurationArg>>,
    /// Time to idle since the last read.
    pub(crate) tti: Option<Spanned<DurationArg>>,
    /// `key = expr`: the cache key; default: the arguments.
    pub(crate) key: Option<Spanned<syn::Expr>>,
    /// `name = "…"`: the name `steadfast::cache(name)` finds it by.
    pub(crate) name: Option<Spanned<syn::LitStr>>,
    /// Whether `max_entries` / `key` were written, valid or not.
    pub(crate) max_entries_written: bool,
    pub(crate) key_written: bool,
    /// Whether a key it does not know was written.
    pub(crate) unknown_written: bool,
    /// Where to point errors about the attribute as a whole.
    pub(crate) span: Span,
}

impl AttributeArgs for CachedArgs {
    const NAME: &'static str = "cached";
    const ONCE: &'static str = "a function has one cache";
    const NOT_BELOW: &'static [(&'static str, &'static str)] = &[
        (
            "retry",
            "a cache hit would look like a successful attempt; write `#[cached]` above `#[retry]`",
        ),
        (
            "circuit_breaker",
            "a cache hit would count as a success of the breaker's dependency; write `#[cached]` above `#[circuit_breaker]`",
        ),
        (
            "timeout",
            "a cache hit would run under the deadline of a call it does not make; write `#[cached]` above `#[timeout]`",
        ),
    ];

    fn parse(tokens: TokenStream, at: Span, errors: &mut Errors) -> CachedArgs {
        let mut args = CachedArgs {
            max_entries: None,
            ttl: None,
            tti: None,
            key: None,
            name: None,
            max_entries_written: false,
            key_written: false,
            unknown_written: false,
            span: at,
        };
        let attr = KEYS.attribute;
        let present = each_key_value(tokens, &KEYS, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "max_entries" => set_once(
                    errors,
                    attr,
                    &mut args.max_entries,
                    key,
                    value,
                    int(key, u64::MAX >> 1),
                ),
                "ttl" => set_once(errors, attr, &mut args.ttl, key, value, duration(key)),
                "tti" => set_once(errors, attr, &mut args.tti, key, value, duration(key)),
                "key" => set_once(errors, attr, &mut args.key, key, value, expr),
                "name" => set_once(errors, attr, &mut args.name, key, value, string(key)),
                _ => return false,
            }
            true
        });
        args.max_entries_written = present.contains("max_entries");
        args.key_written = present.contains("key");
        args.unknown_written = present.iter().any(|k| !KEYS.keys.contains(&k.as_str()));
        args
    }
}
