//! Emitting the code: each attribute wraps the expression built by the ones below it.

mod circuit_breaker;

use proc_macro2::TokenStream;
use quote::quote;

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
    let layers = stack::layers(attr, args, &mut func.attrs, &mut errors);
    item::check_shape(&func, attr, &mut errors);
    for layer in &layers {
        match layer {
            Layer::CircuitBreaker(args) => validate::breaker(args, &func, &mut errors),
        }
    }
    if let Some(error) = errors.take() {
        let error = error.to_compile_error();
        return quote!(#error #func);
    }

    let kind = Kind::of(&func);
    let mut expr = kind.innermost(&func);
    for layer in layers.iter().rev() {
        expr = match layer {
            Layer::CircuitBreaker(args) => circuit_breaker::wrap(expr, args, &func),
        };
    }
    let body = kind.body(expr);
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
