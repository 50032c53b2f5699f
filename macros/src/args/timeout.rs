//! `#[timeout("2s")]`, `#[timeout("2s", detach)]`

use proc_macro2::{Span, TokenStream};
use syn::Ident;
use syn::spanned::Spanned as _;

use super::{AttributeArgs, Entry, entries};
use crate::duration::DurationArg;
use crate::errors::Errors;

pub(crate) struct TimeoutArgs {
    /// The deadline; `None` only when it was missing or bad (an error is recorded).
    pub(crate) after: Option<DurationArg>,
    /// `detach`, for sync functions.
    pub(crate) detach: Option<Ident>,
    /// `policy = BACKEND`: a `TimeoutPolicy` whose deadline applies unless one is written.
    pub(crate) policy: Option<syn::Expr>,
    /// `name = "…"`: the name `config` knows it by.
    pub(crate) name: Option<syn::LitStr>,
    /// Where to point errors about the attribute as a whole.
    pub(crate) span: Span,
}

fn bad(flag: &mut bool, errors: &mut Errors, error: syn::Error) {
    *flag = true;
    errors.push(error);
}

const USAGE: &str = "`#[timeout]` takes a deadline and, on a sync function, `detach`: `#[timeout(\"2s\")]`, `#[timeout(\"2s\", detach)]`, `#[timeout(policy = BACKEND)]`";

impl AttributeArgs for TimeoutArgs {
    const NAME: &'static str = "timeout";
    const ONCE: &'static str = "a function has one deadline";

    fn parse(tokens: TokenStream, span: Span, errors: &mut Errors) -> TimeoutArgs {
        let mut args = TimeoutArgs {
            after: None,
            detach: None,
            policy: None,
            name: None,
            span,
        };
        let list = match entries(tokens) {
            Ok(list) => list,
            Err(e) => {
                errors.push(e);
                return args;
            }
        };
        let mut seen_deadline = false;
        let mut bad_entries = false;
        for (i, entry) in list.into_iter().enumerate() {
            match entry {
                Entry::Positional(expr) if i == 0 => {
                    seen_deadline = true;
                    match DurationArg::from_expr(expr, "the deadline of `#[timeout]`") {
                        Ok(after) => args.after = Some(after),
                        Err(e) => errors.push(e),
                    }
                }
                Entry::Flag(flag) if flag == "detach" && args.detach.is_none() => {
                    args.detach = Some(flag);
                }
                Entry::Flag(flag) if flag == "detach" => bad(
                    &mut bad_entries,
                    errors,
                    syn::Error::new(flag.span(), "duplicate `detach` for `#[timeout]`"),
                ),
                // `#[timeout(after)]` with a `const` named `after`: a deadline, not a flag.
                Entry::Flag(ident) if i == 0 => {
                    seen_deadline = true;
                    let expr = syn::Expr::Path(syn::ExprPath {
                        attrs: Vec::new(),
                        qself: None,
                        path: ident.into(),
                    });
                    match DurationArg::from_expr(expr, "the deadline of `#[timeout]`") {
                        Ok(after) => args.after = Some(after),
                        Err(e) => errors.push(e),
                    }
                }
                Entry::Flag(flag) => bad(
                    &mut bad_entries,
                    errors,
                    syn::Error::new(
                        flag.span(),
                        format!("unknown flag `{flag}` for `#[timeout]`; the only one is `detach`"),
                    ),
                ),
                Entry::KeyValue { key, value } if key == "policy" && args.policy.is_none() => {
                    match super::policy(&key)(&value) {
                        Ok(policy) => args.policy = Some(policy),
                        Err(e) => bad(&mut bad_entries, errors, e),
                    }
                }
                Entry::KeyValue { key, value } if key == "name" && args.name.is_none() => {
                    match super::string(&key)(&value) {
                        Ok(name) => args.name = Some(name),
                        Err(e) => bad(&mut bad_entries, errors, e),
                    }
                }
                Entry::KeyValue { key, .. } if key == "policy" || key == "name" => bad(
                    &mut bad_entries,
                    errors,
                    syn::Error::new(
                        key.span(),
                        format!("duplicate key `{key}` for `#[timeout]`"),
                    ),
                ),
                Entry::KeyValue { key, .. } => bad(
                    &mut bad_entries,
                    errors,
                    syn::Error::new(
                        key.span(),
                        format!(
                            "`#[timeout]` takes two `key = value` arguments, `policy` and `name`; {USAGE}"
                        ),
                    ),
                ),
                Entry::Positional(expr) => bad(
                    &mut bad_entries,
                    errors,
                    syn::Error::new(
                        expr.span(),
                        format!("`#[timeout]` takes one deadline; {USAGE}"),
                    ),
                ),
            }
        }
        // A bad entry already says what is wrong; "needs a deadline" would only repeat it.
        if !seen_deadline && !bad_entries && args.policy.is_none() {
            errors.push(syn::Error::new(
                span,
                format!("`#[timeout]` needs a deadline; {USAGE}"),
            ));
        }
        args
    }
}
