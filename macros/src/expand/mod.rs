//! Emitting the code: each attribute wraps the expression built by the ones below it.

mod circuit_breaker;
mod monitored;
pub(crate) mod retry;
mod timeout;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

use crate::item;
use crate::kind::Kind;
use crate::stack::{self, Attr, Layer};
use crate::validate::{self, Errors};

/// The whole pipeline for one invocation: parse → validate → emit.
///
/// On any error the output is the errors and the function as it came (less our
/// attributes), so the user sees only what is wrong and the rest of the crate still
/// type-checks.
pub(crate) fn attribute(attr: Attr, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut func = match item::parse(item.clone(), attr) {
        Ok(func) => func,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    let mut errors = Errors::default();
    let fn_span = func.sig.fn_token.span;
    let stack::Stack { layers, taken } =
        stack::layers(attr, args, fn_span, &mut func.attrs, &mut errors);
    item::check_shape(&func, attr, &mut errors);
    let kind = Kind::of(&func);
    for layer in &layers {
        match layer {
            Layer::CircuitBreaker(args) => validate::breaker(args, &func, &mut errors),
            Layer::Retry(args) => validate::retry(args, &func, &mut errors),
            Layer::Timeout(args) => validate::timeout(args, &func, &kind, &mut errors),
            Layer::Monitored(_) => {}
        }
    }
    if let Some(error) = errors.take() {
        let error = error.to_compile_error();
        return quote!(#error #func);
    }

    // A breaker inside a retry tells the retry when it rejected a call, through this slot.
    let retry_at = layers.iter().position(|l| matches!(l, Layer::Retry(_)));
    let breaker_at = layers
        .iter()
        .position(|l| matches!(l, Layer::CircuitBreaker(_)));
    // Not across a detached timeout: that breaker runs on another thread.
    let detached_between = |r: usize, b: usize| {
        layers[r..b]
            .iter()
            .any(|l| matches!(l, Layer::Timeout(t) if t.detach.is_some()))
    };
    let rejection = match (retry_at, breaker_at) {
        (Some(r), Some(b)) if r < b && !detached_between(r, b) => {
            Some(Ident::new("__steadfast_rejection", Span::mixed_site()))
        }
        _ => None,
    };
    // The `function` label of every layer's figures: `#[monitored(name = …)]` if given,
    // so that one function's metrics all carry one label.
    let function = function_label(&layers, &func);
    let mut expr = kind.innermost(&func, retry_at.is_some());
    for layer in layers.iter().rev() {
        // Each layer is a block expression: statements of its own, then the value.
        let wrapped = match layer {
            Layer::CircuitBreaker(args) => {
                circuit_breaker::wrap(expr, args, &func, rejection.as_ref())
            }
            Layer::Retry(args) => {
                retry::wrap(expr, args, &function, &func, &kind, rejection.as_ref())
            }
            Layer::Timeout(args) => timeout::wrap(expr, args, &function, &func, &kind),
            Layer::Monitored(args) => monitored::wrap(expr, args, &function, &func, &kind),
        };
        expr = quote!({ #wrapped });
    }
    let uses = taken.iter().map(|path| {
        quote! {
            #[allow(unused_imports)]
            use #path as _;
        }
    });
    let body = kind.body(quote!(#(#uses)* #expr));
    *func.block = match syn::parse2(body) {
        Ok(block) => block,
        Err(error) => {
            // Only reachable through a bug in an emitter: say so on the function.
            let error = syn::Error::new(
                func.sig.ident.span(),
                format!(
                    "steadfast generated code that does not parse ({error}); please report this"
                ),
            )
            .to_compile_error();
            return quote!(#error #item);
        }
    };
    quote!(#func)
}

/// `name = "…"` of a `#[monitored]` in the stack, else `module_path!()::fn_name`.
fn function_label(layers: &[Layer], func: &item::Func) -> TokenStream {
    let named = layers.iter().find_map(|layer| match layer {
        Layer::Monitored(args) => args.name.as_ref().map(|n| n.value.clone()),
        _ => None,
    });
    match named {
        Some(name) => quote!(#name),
        None => {
            let ident = func.sig.ident.to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #ident))
        }
    }
}
