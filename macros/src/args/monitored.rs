//! `#[monitored]`, `#[monitored(name = "quotes.fetch", level = "debug", drain = "reject")]`

use proc_macro2::{Span, TokenStream};
use syn::{Expr, ExprLit, Lit, LitStr};

use super::retry::one_of;
use super::{AttributeArgs, Keys, Spanned, each_key_value, set_once, string};
use crate::errors::Errors;

pub(crate) const KEYS: Keys = Keys {
    attribute: "monitored",
    keys: &["name", "level", "drain"],
    flags: &[],
};

pub(crate) const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];
pub(crate) const DRAINS: &[&str] = &["reject", "cancel"];

#[derive(Default)]
pub(crate) struct MonitoredArgs {
    pub(crate) name: Option<Spanned<LitStr>>,
    /// One of [`LEVELS`].
    pub(crate) level: Option<Spanned<String>>,
    /// One of [`DRAINS`]: what a call does while the process drains.
    pub(crate) drain: Option<Spanned<String>>,
}

impl AttributeArgs for MonitoredArgs {
    const NAME: &'static str = "monitored";
    const ONCE: &'static str = "a function is monitored once";

    fn parse(tokens: TokenStream, _at: Span, errors: &mut Errors) -> MonitoredArgs {
        let mut args = MonitoredArgs::default();
        let attr = KEYS.attribute;
        each_key_value(tokens, &KEYS, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "name" => set_once(errors, attr, &mut args.name, key, value, string(key)),
                "level" => set_once(errors, attr, &mut args.level, key, value, level),
                "drain" => set_once(
                    errors,
                    attr,
                    &mut args.drain,
                    key,
                    value,
                    one_of(key, DRAINS),
                ),
                _ => return false,
            }
            true
        });
        args
    }
}

fn level(value: &Expr) -> syn::Result<String> {
    let listed = LEVELS
        .iter()
        .map(|l| format!("\"{l}\""))
        .collect::<Vec<_>>()
        .join(", ");
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if LEVELS.contains(&s.value().as_str()) => Ok(s.value()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Err(syn::Error::new(
            s.span(),
            format!("unknown level {:?}; expected one of: {listed}", s.value()),
        )),
        other => Err(syn::Error::new(
            syn::spanned::Spanned::span(other),
            format!("`level` takes a string, one of: {listed}"),
        )),
    }
}
