//! The function as the macro sees it.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType, Type};

use crate::errors::Errors;

/// The decorated function; re-emitted as it came but for its block.
pub(crate) type Func = ItemFn;

/// Parses the item under the attribute; anything but a function with a body is an error
/// on the item itself.
/// `attr` is the invoked attribute's name, for messages.
pub(crate) fn parse(item: TokenStream, attr: &str) -> syn::Result<Func> {
    let error = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => return Ok(func),
        Err(error) => error,
    };
    if let Ok(method) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        if method.default.is_none() {
            return Err(syn::Error::new(
                method.sig.span(),
                format!(
                    "`#[{}]` needs a function with a body; put it on the method in the `impl`, or give this one a default body",
                    attr
                ),
            ));
        }
    }
    if let Ok(other) = syn::parse2::<syn::Item>(item) {
        if !matches!(other, syn::Item::Fn(_) | syn::Item::Verbatim(_)) {
            return Err(syn::Error::new(
                first_span(&other),
                format!("`#[{}]` goes on a function", attr),
            ));
        }
    }
    Err(error)
}

fn first_span(item: &syn::Item) -> Span {
    quote::ToTokens::to_token_stream(item)
        .into_iter()
        .find(|t| !matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#'))
        .map_or_else(Span::call_site, |t| t.span())
}

/// Function shapes no attribute of ours can wrap.
pub(crate) fn check_shape(func: &Func, attr: &str, errors: &mut Errors) {
    let sig = &func.sig;
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(
            constness.span,
            format!(
                "`#[{}]` cannot be used on a `const fn`: it calls into the steadfast runtime, which a constant cannot do",
                attr
            ),
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new(
            abi.extern_token.span,
            format!(
                "`#[{}]` cannot be used on an `extern` function: wrap a Rust function that calls it instead",
                attr
            ),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new(
            variadic.dots.spans[0],
            format!("`#[{}]` cannot be used on a variadic function", attr),
        ));
    }
}

/// The function's declared output type (`()` when there is none).
pub(crate) fn output(func: &Func) -> Type {
    match &func.sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    }
}

/// Where errors about the return type should point.
pub(crate) fn output_span(func: &Func) -> Span {
    match &func.sig.output {
        ReturnType::Default => func.sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    }
}
