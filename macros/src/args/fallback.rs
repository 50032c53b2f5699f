//! `#[fallback(cached_quote)]`, `#[fallback(cached_quote, args)]`,
//! `#[fallback(cached_quote, on = is_outage)]`

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned as _;
use syn::{Expr, Ident};

use super::{AttributeArgs, Entry, callable, entries};
use crate::errors::Errors;

pub(crate) struct FallbackArgs {
    /// The fallback: a path to a function (`cached_quote`, `Self::cached_quote`); `None`
    /// only when it was missing or bad (an error is recorded).
    pub(crate) function: Option<Expr>,
    /// `args`: the fallback takes references to the function's arguments first.
    pub(crate) args: Option<Ident>,
    /// `on = is_outage`: only errors it says yes to fall back.
    pub(crate) on: Option<Expr>,
}

const USAGE: &str = "`#[fallback]` takes the fallback function, then optionally `args` and `on = predicate`: `#[fallback(cached_quote)]`, `#[fallback(cached_quote, args)]`, `#[fallback(cached_quote, on = is_outage)]`";

impl AttributeArgs for FallbackArgs {
    const NAME: &'static str = "fallback";
    const ONCE: &'static str =
        "a function has one fallback; to try several, let the fallback try the next";
    const NOT_BELOW: &'static [(&'static str, &'static str)] = &[(
        "retry",
        "a retry above a fallback would never see an error to retry: the fallback turns every one into its own result; write `#[fallback]` above `#[retry]`",
    )];

    fn parse(tokens: TokenStream, at: Span, errors: &mut Errors) -> FallbackArgs {
        let mut args = FallbackArgs {
            function: None,
            args: None,
            on: None,
        };
        let list = match entries(tokens) {
            Ok(list) => list,
            Err(e) => {
                errors.push(e);
                return args;
            }
        };
        let mut bad = false;
        for (i, entry) in list.into_iter().enumerate() {
            match entry {
                Entry::Flag(ident) if i == 0 => {
                    args.function = Some(Expr::Path(syn::ExprPath {
                        attrs: Vec::new(),
                        qself: None,
                        path: ident.into(),
                    }));
                }
                Entry::Positional(expr) if i == 0 => {
                    let key = Ident::new("fallback", expr.span());
                    match callable(&key)(&expr) {
                        Ok(f) => args.function = Some(f),
                        Err(_) => {
                            bad = true;
                            errors.push(syn::Error::new(
                                expr.span(),
                                format!("`#[fallback]` takes a function, not a value; {USAGE}"),
                            ));
                        }
                    }
                }
                Entry::Flag(flag) if flag == "args" && args.args.is_none() => {
                    args.args = Some(flag);
                }
                Entry::KeyValue { key, value } if key == "on" && args.on.is_none() => {
                    match callable(&key)(&value) {
                        Ok(on) => args.on = Some(on),
                        Err(e) => {
                            bad = true;
                            errors.push(e);
                        }
                    }
                }
                Entry::Flag(flag) if flag == "args" => {
                    bad = true;
                    errors.push(syn::Error::new(
                        flag.span(),
                        "duplicate `args` for `#[fallback]`",
                    ));
                }
                Entry::KeyValue { key, .. } if key == "on" => {
                    bad = true;
                    errors.push(syn::Error::new(
                        key.span(),
                        "duplicate key `on` for `#[fallback]`",
                    ));
                }
                Entry::Flag(flag) => {
                    bad = true;
                    errors.push(syn::Error::new(
                        flag.span(),
                        format!("unknown flag `{flag}` for `#[fallback]`; the only one is `args`; {USAGE}"),
                    ));
                }
                Entry::KeyValue { key, .. } => {
                    bad = true;
                    errors.push(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown key `{key}` for `#[fallback]`; the only one is `on`; {USAGE}"
                        ),
                    ));
                }
                Entry::Positional(expr) => {
                    bad = true;
                    errors.push(syn::Error::new(
                        expr.span(),
                        format!("`#[fallback]` takes one fallback function, first; {USAGE}"),
                    ));
                }
            }
        }
        // A bad entry already says what is wrong; "needs a function" would only repeat it.
        if args.function.is_none() && !bad {
            errors.push(syn::Error::new(
                at,
                format!("`#[fallback]` needs the fallback function; {USAGE}"),
            ));
        }
        args
    }
}
