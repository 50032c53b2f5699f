//! `#[monitored]`, `#[monitored(name = "quotes.fetch", level = "debug")]`

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use syn::{Expr, ExprLit, Lit, LitStr};

use super::{Entry, Keys, Spanned, entries, only_key_values, set_once, string};
use crate::validate::Errors;

pub(crate) const KEYS: Keys = Keys {
    attribute: "monitored",
    keys: &["name", "level"],
};

pub(crate) const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];

#[derive(Default)]
pub(crate) struct MonitoredArgs {
    pub(crate) name: Option<Spanned<LitStr>>,
    /// One of [`LEVELS`].
    pub(crate) level: Option<Spanned<String>>,
    present: BTreeSet<String>,
}

impl MonitoredArgs {
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> MonitoredArgs {
        let mut args = MonitoredArgs::default();
        let list = match entries(tokens) {
            Ok(list) => list,
            Err(e) => {
                errors.push(e);
                return args;
            }
        };
        let attr = KEYS.attribute;
        for entry in &list {
            let Entry::KeyValue { key, value } = entry else {
                only_key_values(errors, &KEYS, entry);
                continue;
            };
            args.present.insert(key.to_string());
            match key.to_string().as_str() {
                "name" => set_once(errors, attr, &mut args.name, key, value, string(key)),
                "level" => set_once(errors, attr, &mut args.level, key, value, level),
                _ => errors.push(KEYS.unknown(key)),
            }
        }
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
