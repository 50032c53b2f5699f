//! `#[retry(...)]`

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, Ident, Lit};

use super::{
    AttributeArgs, Keys, Num, Spanned, callable, duration, each_key_value, int, policy, set_once,
    string,
};
use crate::duration::DurationArg;
use crate::errors::Errors;

pub(crate) const KEYS: Keys = Keys {
    attribute: "retry",
    keys: &[
        "attempts",
        "delay",
        "backoff",
        "multiplier",
        "max_delay",
        "jitter",
        "max_elapsed",
        "retry_if",
        "policy",
        "name",
    ],
    flags: &[],
};

pub(crate) const BACKOFFS: &[&str] = &["constant", "linear", "exponential"];
pub(crate) const JITTERS: &[&str] = &["none", "full", "equal", "decorrelated"];

#[derive(Default)]
pub(crate) struct RetryArgs {
    pub(crate) attempts: Option<Spanned<Num<u64>>>,
    pub(crate) delay: Option<Spanned<DurationArg>>,
    /// One of [`BACKOFFS`].
    pub(crate) backoff: Option<Spanned<String>>,
    pub(crate) multiplier: Option<Spanned<Num<f64>>>,
    pub(crate) max_delay: Option<Spanned<DurationArg>>,
    /// One of [`JITTERS`].
    pub(crate) jitter: Option<Spanned<String>>,
    pub(crate) max_elapsed: Option<Spanned<DurationArg>>,
    pub(crate) retry_if: Option<Spanned<Expr>>,
    /// `policy = BACKEND`: a `RetryPolicy` the other keys override.
    pub(crate) policy: Option<Spanned<Expr>>,
    /// `name = "…"`: the name `config` knows it by.
    pub(crate) name: Option<Spanned<syn::LitStr>>,
    present: BTreeSet<String>,
}

impl AttributeArgs for RetryArgs {
    const NAME: &'static str = "retry";
    const ONCE: &'static str = "merge the two into one `#[retry(...)]`";

    fn parse(tokens: TokenStream, _at: Span, errors: &mut Errors) -> RetryArgs {
        let mut args = RetryArgs::default();
        let attr = KEYS.attribute;
        args.present = each_key_value(tokens, &KEYS, errors, |key, value, errors| {
            match key.to_string().as_str() {
                "attempts" => set_once(
                    errors,
                    attr,
                    &mut args.attempts,
                    key,
                    value,
                    int(key, u64::from(u32::MAX)),
                ),
                "delay" => set_once(errors, attr, &mut args.delay, key, value, duration(key)),
                "backoff" => set_once(
                    errors,
                    attr,
                    &mut args.backoff,
                    key,
                    value,
                    one_of(key, BACKOFFS),
                ),
                "multiplier" => set_once(
                    errors,
                    attr,
                    &mut args.multiplier,
                    key,
                    value,
                    multiplier(key),
                ),
                "max_delay" => {
                    set_once(errors, attr, &mut args.max_delay, key, value, duration(key))
                }
                "jitter" => set_once(
                    errors,
                    attr,
                    &mut args.jitter,
                    key,
                    value,
                    one_of(key, JITTERS),
                ),
                "max_elapsed" => set_once(
                    errors,
                    attr,
                    &mut args.max_elapsed,
                    key,
                    value,
                    duration(key),
                ),
                "retry_if" => set_once(errors, attr, &mut args.retry_if, key, value, callable(key)),
                "policy" => set_once(errors, attr, &mut args.policy, key, value, policy(key)),
                "name" => set_once(errors, attr, &mut args.name, key, value, string(key)),
                _ => return false,
            }
            true
        });
        args
    }
}

impl RetryArgs {
    /// Was `key` written, whether or not its value was valid?
    pub(crate) fn has(&self, key: &str) -> bool {
        self.present.contains(key)
    }
}

/// A string literal naming one of `names`.
pub(crate) fn one_of<'a>(
    key: &'a Ident,
    names: &'a [&'a str],
) -> impl FnOnce(&Expr) -> syn::Result<String> + 'a {
    move |value| {
        let listed = names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ");
        match value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) if names.contains(&s.value().as_str()) => Ok(s.value()),
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Err(syn::Error::new(
                s.span(),
                format!("unknown {key} {:?}; expected one of: {listed}", s.value()),
            )),
            other => Err(syn::Error::new(
                other.span(),
                format!("`{key}` takes a string, one of: {listed}"),
            )),
        }
    }
}

/// A number of at least 1.
pub(crate) fn multiplier(key: &Ident) -> impl FnOnce(&Expr) -> syn::Result<Num<f64>> + '_ {
    move |value| {
        let n: f64 = match value {
            Expr::Lit(ExprLit {
                lit: Lit::Float(lit),
                ..
            }) => lit.base10_parse()?,
            Expr::Lit(ExprLit {
                lit: Lit::Int(lit), ..
            }) => lit.base10_parse()?,
            other @ Expr::Lit(_) => {
                return Err(syn::Error::new(
                    other.span(),
                    format!("`{key}` takes a number of at least 1, such as `{key} = 2.0`"),
                ));
            }
            other => return Ok(Num::Expr(Box::new(other.clone()))),
        };
        if !(n.is_finite() && n >= 1.0) {
            return Err(syn::Error::new(
                value.span(),
                format!("`{key}` must be at least 1 (a wait never shrinks), found {n}"),
            ));
        }
        Ok(Num::Literal(n))
    }
}
