//! Our attributes stacked on one function.
//!
//! The compiler hands the function to the first attribute written, with the others still
//! on it. That first one takes every other attribute of ours off the function and builds
//! all the layers at once, in source order, first written = outermost, so that
//! `#[retry] #[circuit_breaker]` puts every attempt through the breaker.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Attribute, Meta};

use crate::attributes::{Attr, Layer};
use crate::errors::Errors;

/// Which of our attributes `attribute` is, if any:
/// `circuit_breaker`, `steadfast::circuit_breaker` or `::steadfast::circuit_breaker`.
fn attr_of(attribute: &Attribute) -> Option<Attr> {
    let path = attribute.path();
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let name = match segments.as_slice() {
        [name] if path.leading_colon.is_none() => name,
        [krate, name] if krate == "steadfast" => name,
        _ => return None,
    };
    Attr::ALL.iter().copied().find(|a| a.name() == name)
}

/// Our attributes on one function, in source order, the invoked one first.
pub(crate) struct Stack {
    pub(crate) layers: Vec<Layer>,
    /// The paths of the attributes taken off the function. The compiler never resolves
    /// them now, so the expansion names each once (`use path as _;`): the user's
    /// `use steadfast::{retry, timeout};` must not be reported unused.
    pub(crate) taken: Vec<syn::Path>,
}

/// Takes our attributes off `attrs` and parses them, with the invoked one first.
pub(crate) fn layers(
    invoked: Attr,
    tokens: TokenStream,
    fn_span: Span,
    attrs: &mut Vec<Attribute>,
    errors: &mut Errors,
) -> Stack {
    let mut taken = Vec::new();
    let mut seen = vec![invoked];
    let mut layers = vec![invoked.parse(tokens, fn_span, errors)];
    let mut kept = Vec::with_capacity(attrs.len());
    for attribute in attrs.drain(..) {
        let Some(attr) = attr_of(&attribute) else {
            kept.push(attribute);
            continue;
        };
        taken.push(attribute.path().clone());
        if seen.contains(&attr) {
            errors.push(duplicate(attr, attribute.path().span()));
            continue;
        }
        // Written below (inside) an attribute it must not be under: said on its own path.
        for (above, why) in attr.not_below() {
            if seen.iter().any(|s| s.name() == *above) {
                errors.push(syn::Error::new(
                    attribute.path().span(),
                    format!("`#[{}]` below `#[{above}]`: {why}", attr.name()),
                ));
            }
        }
        seen.push(attr);
        let tokens = match &attribute.meta {
            Meta::Path(_) => TokenStream::new(),
            Meta::List(list) => list.tokens.clone(),
            Meta::NameValue(nv) => {
                errors.push(syn::Error::new(
                    nv.eq_token.span,
                    format!("write `#[{}(key = value, …)]`", attr.name()),
                ));
                continue;
            }
        };
        layers.push(attr.parse(tokens, attribute.path().span(), errors));
    }
    *attrs = kept;
    Stack { layers, taken }
}

fn duplicate(attr: Attr, span: Span) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "`#[{}]` is already on this function; {}",
            attr.name(),
            attr.once()
        ),
    )
}
