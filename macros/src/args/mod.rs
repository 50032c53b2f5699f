//! Typed arguments, one struct per attribute.
//!
//! Every attribute's arguments are a comma-separated list of `key = value` entries (and,
//! for some attributes, a leading positional value or bare flags). [`Entries`] parses that
//! shape; each attribute's struct is then built from it key by key, collecting an error
//! for every bad entry rather than stopping at the first.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Token};

use crate::duration::DurationArg;
use crate::errors::Errors;

/// One attribute's typed arguments: what the parse stage makes of `#[name(…)]`.
pub(crate) trait AttributeArgs: Sized {
    /// The attribute's name as written: `circuit_breaker`.
    const NAME: &'static str;
    /// Why it cannot be written twice on one function, appended to "`#[name]` is already
    /// on this function".
    const ONCE: &'static str;
    /// Attributes this one must not be written below (inside), each with why: a compile
    /// error on this attribute's path when it is.
    const NOT_BELOW: &'static [(&'static str, &'static str)] = &[];
    /// Parses the arguments, recording an error for each bad entry. `at` is the
    /// attribute's path, or the function's `fn` for the invoked attribute (whose own path
    /// the compiler does not hand over).
    fn parse(tokens: TokenStream, at: Span, errors: &mut Errors) -> Self;
}

/// One entry of an attribute's argument list.
pub(crate) enum Entry {
    /// `key = value`
    KeyValue { key: Ident, value: Expr },
    /// `detach`
    Flag(Ident),
    /// `"2s"`
    Positional(Expr),
}

impl Parse for Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            Ok(Entry::KeyValue { key, value })
        } else if input.peek(Ident) && (input.peek2(Token![,]) || peek2_end(input)) {
            Ok(Entry::Flag(input.parse()?))
        } else {
            Ok(Entry::Positional(input.parse()?))
        }
    }
}

fn peek2_end(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    fork.parse::<Ident>().is_ok() && fork.is_empty()
}

/// Parses an attribute whose arguments are all `key = value`: each entry goes to `set`,
/// which returns false for a key it does not know; every bad entry becomes an error. Returns
/// the keys written, valid or not, so that one bad value does not also make its partner
/// look alone.
pub(crate) fn each_key_value(
    tokens: TokenStream,
    keys: &Keys,
    errors: &mut Errors,
    mut set: impl FnMut(&Ident, &Expr, &mut Errors) -> bool,
) -> BTreeSet<String> {
    let mut present = BTreeSet::new();
    let list = match entries(tokens) {
        Ok(list) => list,
        Err(e) => {
            errors.push(e);
            return present;
        }
    };
    for entry in &list {
        let (key, value) = match entry {
            Entry::KeyValue { key, value } => (key, value.clone()),
            // `critical` is `critical = true`.
            Entry::Flag(flag) if keys.flags.iter().any(|f| flag == f) => {
                let lit = syn::LitBool::new(true, flag.span());
                (flag, syn::parse_quote!(#lit))
            }
            _ => {
                only_key_values(errors, keys, entry);
                continue;
            }
        };
        present.insert(key.to_string());
        if !set(key, &value, errors) {
            errors.push(keys.unknown(key));
        }
    }
    present
}

/// Parses `a = 1, b = "x", …`.
pub(crate) fn entries(tokens: TokenStream) -> syn::Result<Vec<Entry>> {
    let list = Punctuated::<Entry, Token![,]>::parse_terminated.parse2(tokens)?;
    Ok(list.into_iter().collect())
}

/// The valid keys of an attribute, for "unknown key" messages.
pub(crate) struct Keys {
    pub(crate) attribute: &'static str,
    pub(crate) keys: &'static [&'static str],
    /// Keys that may be written alone, as flags: `critical` means `critical = true`.
    pub(crate) flags: &'static [&'static str],
}

impl Keys {
    pub(crate) fn unknown(&self, key: &Ident) -> syn::Error {
        let name = key.to_string();
        let hint = self
            .keys
            .iter()
            .filter(|k| edit_distance(k, &name) <= 2)
            .min_by_key(|k| edit_distance(k, &name))
            .map(|k| format!("did you mean `{k}`? "))
            .unwrap_or_default();
        syn::Error::new(
            key.span(),
            format!(
                "unknown key `{name}` for `#[{}]`; {hint}expected one of: {}",
                self.attribute,
                self.keys.join(", ")
            ),
        )
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(current)
            };
            prev = current;
        }
    }
    row[b.len()]
}

/// A value with the span of the `key = value` entry it came from.
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) key: Ident,
    pub(crate) span: Span,
}

/// Sets `slot` from `key = value`, or records a "duplicate key" error.
pub(crate) fn set_once<T>(
    errors: &mut Errors,
    attribute: &str,
    slot: &mut Option<Spanned<T>>,
    key: &Ident,
    value: &Expr,
    convert: impl FnOnce(&Expr) -> syn::Result<T>,
) {
    if slot.is_some() {
        errors.push(syn::Error::new(
            key.span(),
            format!("duplicate key `{key}` for `#[{attribute}]`"),
        ));
        return;
    }
    match convert(value) {
        Ok(v) => {
            *slot = Some(Spanned {
                value: v,
                key: key.clone(),
                span: value.span(),
            })
        }
        Err(e) => errors.push(e),
    }
}

fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        _ => None,
    }
}

/// A number key's value: a literal, checked at compile time, or any other expression of
/// the key's type (a `const`, a call), type-checked where it is written and checked by the
/// runtime when first used, as durations are.
pub(crate) enum Num<T> {
    Literal(T),
    Expr(Box<Expr>),
}

impl<T: Copy> Num<T> {
    /// The value, when it was written as a literal.
    pub(crate) fn literal(&self) -> Option<T> {
        match self {
            Num::Literal(n) => Some(*n),
            Num::Expr(_) => None,
        }
    }
}

/// A positive whole number no larger than `max`, or an expression.
pub(crate) fn int(key: &Ident, max: u64) -> impl FnOnce(&Expr) -> syn::Result<Num<u64>> + '_ {
    move |value| {
        let lit = match literal(value) {
            Some(Lit::Int(lit)) => lit,
            None => return Ok(Num::Expr(Box::new(value.clone()))),
            Some(_) => {
                return Err(syn::Error::new(
                    value.span(),
                    format!(
                        "`{key}` takes a whole number, such as `{key} = 5`, or a constant of its type"
                    ),
                ));
            }
        };
        let n: u64 = lit.base10_parse()?;
        if n == 0 || n > max {
            return Err(syn::Error::new(
                lit.span(),
                format!("`{key}` must be between 1 and {max}, found {n}"),
            ));
        }
        Ok(Num::Literal(n))
    }
}

/// A number in (0, 1], or an expression.
pub(crate) fn fraction(key: &Ident) -> impl FnOnce(&Expr) -> syn::Result<Num<f64>> + '_ {
    move |value| {
        let n: f64 = match literal(value) {
            Some(Lit::Float(lit)) => lit.base10_parse()?,
            Some(Lit::Int(lit)) => lit.base10_parse()?,
            None => return Ok(Num::Expr(Box::new(value.clone()))),
            _ => {
                return Err(syn::Error::new(
                    value.span(),
                    format!("`{key}` takes a number in (0, 1], such as `{key} = 0.5`"),
                ));
            }
        };
        if !(n > 0.0 && n <= 1.0) {
            return Err(syn::Error::new(
                value.span(),
                format!("`{key}` must be in (0, 1] (a fraction of calls, 0.5 = 50%), found {n}"),
            ));
        }
        Ok(Num::Literal(n))
    }
}

/// `true` or `false`.
pub(crate) fn boolean(key: &Ident) -> impl FnOnce(&Expr) -> syn::Result<bool> + '_ {
    move |value| match literal(value) {
        Some(Lit::Bool(b)) => Ok(b.value),
        _ => Err(syn::Error::new(
            value.span(),
            format!("`{key}` is a flag: write `{key}` (or `{key} = true`)"),
        )),
    }
}

/// A non-empty string literal.
pub(crate) fn string(key: &Ident) -> impl FnOnce(&Expr) -> syn::Result<LitStr> + '_ {
    move |value| match literal(value) {
        Some(Lit::Str(s)) if !s.value().trim().is_empty() => Ok(s.clone()),
        Some(Lit::Str(s)) => Err(syn::Error::new(
            s.span(),
            format!("`{key}` must not be empty"),
        )),
        _ => Err(syn::Error::new(
            value.span(),
            format!("`{key}` takes a string literal, such as `{key} = \"payments\"`"),
        )),
    }
}

/// A duration (see [`DurationArg`]).
pub(crate) fn duration(key: &Ident) -> impl FnOnce(&Expr) -> syn::Result<DurationArg> + '_ {
    move |value| DurationArg::from_expr(value.clone(), &format!("`{key}`"))
}

/// A duration where zero means "not at all" (`max_wait = "0s"`, the default written out).
pub(crate) fn duration_or_zero(key: &Ident) -> impl FnOnce(&Expr) -> syn::Result<DurationArg> + '_ {
    move |value| DurationArg::from_expr_or_zero(value.clone(), &format!("`{key}`"))
}

/// Any expression but a literal (a path to a function, a closure).
pub(crate) fn callable(key: &Ident) -> impl FnOnce(&Expr) -> syn::Result<Expr> + '_ {
    move |value| match literal(value) {
        Some(lit) => Err(syn::Error::new(
            lit.span(),
            format!("`{key}` takes a function, such as `{key} = is_transient`"),
        )),
        None => Ok(value.clone()),
    }
}

/// `max_keys = 1024`: keys kept at most, 1 to 2^32 − 1.
pub(crate) fn max_keys(key: &Ident) -> impl FnOnce(&Expr) -> syn::Result<Num<u64>> + '_ {
    int(key, u64::from(u32::MAX))
}

/// Any expression.
pub(crate) fn expr(value: &Expr) -> syn::Result<Expr> {
    Ok(value.clone())
}

/// `policy = NAME`: a path to a `const` (or any expression but a literal).
pub(crate) fn policy(key: &Ident) -> impl FnOnce(&Expr) -> syn::Result<Expr> + '_ {
    move |value| match literal(value) {
        Some(lit) => Err(syn::Error::new(
            lit.span(),
            format!("`{key}` takes a policy `const`, such as `{key} = PAYMENTS`"),
        )),
        None => Ok(value.clone()),
    }
}

/// Positional values and flags are errors for attributes that take only `key = value`.
pub(crate) fn only_key_values(errors: &mut Errors, keys: &Keys, entry: &Entry) {
    let (span, what) = match entry {
        Entry::Flag(ident) => (ident.span(), format!("`{ident}`")),
        Entry::Positional(expr) => (expr.span(), "this value".to_owned()),
        Entry::KeyValue { .. } => return,
    };
    errors.push(syn::Error::new(
        span,
        format!(
            "`#[{}]` takes `key = value` arguments; {what} has no key (expected one of: {})",
            keys.attribute,
            keys.keys.join(", ")
        ),
    ));
}

pub(crate) mod bulkhead;
pub(crate) mod cached;
pub(crate) mod circuit_breaker;
pub(crate) mod fallback;
pub(crate) mod monitored;
pub(crate) mod rate_limit;
pub(crate) mod retry;
pub(crate) mod supervised;
pub(crate) mod timeout;

#[cfg(test)]
mod tests {
    /// Every key `steadfast::config` changes is a key of the attribute, spelt the same.
    #[test]
    fn config_keys_are_the_attributes_keys() {
        for key in steadfast::config::BREAKER_KEYS {
            assert!(super::circuit_breaker::KEYS.keys.contains(key), "{key}");
        }
        for key in steadfast::config::RETRY_KEYS {
            assert!(super::retry::KEYS.keys.contains(key), "{key}");
        }
    }
}
