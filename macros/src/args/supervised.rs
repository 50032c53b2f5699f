//! `#[supervised(restart = "transient", delay = "1s", max_delay = "30s", multiplier = 2.0,
//! jitter = "full", max_restarts = 5, within = "60s", reset_after = "30s", shutdown = "10s",
//! critical, name = "…")]`

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream};

use super::retry::{JITTERS, multiplier, one_of};
use super::{
    AttributeArgs, Keys, Num, Spanned, boolean, duration, each_key_value, int, set_once, string,
};
use crate::duration::DurationArg;
use crate::errors::Errors;

pub(crate) const KEYS: Keys = Keys {
    attribute: "supervised",
    keys: &[
        "restart",
        "delay",
        "max_delay",
        "multiplier",
        "jitter",
        "max_restarts",
        "within",
        "reset_after",
        "shutdown",
        "critical",
        "name",
    ],
    flags: &["critical"],
};

pub(crate) const RESTARTS: &[&str] = &["transient", "permanent"];

pub(crate) struct SupervisedArgs {
    /// One of [`RESTARTS`].
    pub(crate) restart: Option<Spanned<String>>,
    pub(crate) delay: Option<Spanned<DurationArg>>,
    pub(crate) max_delay: Option<Spanned<DurationArg>>,
    pub(crate) multiplier: Option<Spanned<Num<f64>>>,
    /// One of `#[retry]`'s jitters.
    pub(crate) jitter: Option<Spanned<String>>,
    pub(crate) max_restarts: Option<Spanned<Num<u64>>>,
    pub(crate) within: Option<Spanned<DurationArg>>,
    pub(crate) reset_after: Option<Spanned<DurationArg>>,
    pub(crate) shutdown: Option<Spanned<DurationArg>>,
    pub(crate) critical: Option<Spanned<bool>>,
    pub(crate) name: Option<Spanned<syn::LitStr>>,
    /// Keys written, valid or not.
    pub(crate) present: BTreeSet<String>,
    /// Where to point errors about the attribute as a whole.
    pub(crate) span: Span,
}

impl AttributeArgs for SupervisedArgs {
    const NAME: &'static str = "supervised";
    const ONCE: &'static str = "a function has one supervisor; merge the two";

    fn parse(tokens: TokenStream, at: Span, errors: &mut Errors) -> SupervisedArgs {
        let mut args = SupervisedArgs {
            restart: None,
            delay: None,
            max_delay: None,
            multiplier: None,
            jitter: None,
            max_restarts: None,
            within: None,
            reset_after: None,
            shutdown: None,
            critical: None,
            name: None,
            present: BTreeSet::new(),
            span: at,
        };
        let attr = KEYS.attribute;
        args.present = each_key_value(tokens, &KEYS, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "restart" => set_once(
                    errors,
                    attr,
                    &mut args.restart,
                    key,
                    value,
                    one_of(key, RESTARTS),
                ),
                "delay" => set_once(errors, attr, &mut args.delay, key, value, duration(key)),
                "max_delay" => {
                    set_once(errors, attr, &mut args.max_delay, key, value, duration(key))
                }
                "multiplier" => set_once(
                    errors,
                    attr,
                    &mut args.multiplier,
                    key,
                    value,
                    multiplier(key),
                ),
                "jitter" => set_once(
                    errors,
                    attr,
                    &mut args.jitter,
                    key,
                    value,
                    one_of(key, JITTERS),
                ),
                "max_restarts" => set_once(
                    errors,
                    attr,
                    &mut args.max_restarts,
                    key,
                    value,
                    int(key, u64::from(u32::MAX)),
                ),
                "within" => set_once(errors, attr, &mut args.within, key, value, duration(key)),
                "reset_after" => set_once(
                    errors,
                    attr,
                    &mut args.reset_after,
                    key,
                    value,
                    duration(key),
                ),
                "shutdown" => set_once(errors, attr, &mut args.shutdown, key, value, duration(key)),
                "critical" => set_once(errors, attr, &mut args.critical, key, value, boolean(key)),
                "name" => set_once(errors, attr, &mut args.name, key, value, string(key)),
                _ => return false,
            }
            true
        });
        args
    }
}
