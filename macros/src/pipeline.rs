//! The whole pipeline for one invocation: parse → validate → emit.
//!
//! On any error the output is the errors and the function as it came (less our
//! attributes), so the user sees only what is wrong and the rest of the crate still
//! type-checks.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::attributes::{Attr, Layer};
use crate::errors::Errors;
use crate::expand::{self, Cx, Needs, body};
use crate::item::{self, Func};
use crate::kind::Kind;
use crate::stack::{self, Stack};
use crate::validate;

pub(crate) fn run(attr: Attr, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut func = match item::parse(item.clone(), attr.name()) {
        Ok(func) => func,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    let mut errors = Errors::default();
    let fn_span = func.sig.fn_token.span;
    let Stack { layers, taken } = stack::layers(attr, args, fn_span, &mut func.attrs, &mut errors);
    item::check_shape(&func, attr.name(), &mut errors);
    let kind = Kind::of(&func);
    let cx = validate::Cx {
        func: &func,
        kind: &kind,
    };
    for layer in &layers {
        layer.check(&cx, &mut errors);
    }
    if let Some(error) = errors.take() {
        let error = error.to_compile_error();
        return quote!(#error #func);
    }
    let body = emit(&layers, &taken, &func, &kind);
    // The signature as it came and the new body, as tokens: re-parsing the generated body
    // into a `syn::Block` only to print it again would double the macro's own work.
    let (outer, inner): (Vec<_>, Vec<_>) = func
        .attrs
        .iter()
        .partition(|a| matches!(a.style, syn::AttrStyle::Outer));
    let (vis, sig) = (&func.vis, &func.sig);
    quote!(#(#outer)* #vis #sig { #(#inner)* #body })
}

/// The function's new body: the layers wrapped around the user's, innermost first.
fn emit(layers: &[Layer], taken: &[syn::Path], func: &Func, kind: &Kind) -> TokenStream {
    let needs: Vec<Needs> = layers.iter().map(Layer::needs).collect();
    let slots = plan_rejections(&needs);
    // The function every layer's figures belong to, labelled with one attribute's own
    // name (that of `#[monitored(name = …)]`) if given, so that one function's figures all
    // carry one label; a default label is made unique by the runtime.
    let (label, named) = match layers.iter().find_map(Layer::label) {
        Some(name) => (name, true),
        None => {
            let ident = func.sig.ident.to_string();
            (
                quote!(::core::concat!(::core::module_path!(), "::", #ident)),
                false,
            )
        }
    };
    let declare_function = needs.iter().any(|n| n.figures).then(|| {
        quote! {
            static __STEADFAST_FUNCTION: ::steadfast::__private::Function =
                ::steadfast::__private::Function::new(#label, #named);
        }
    });
    let function = quote!(&__STEADFAST_FUNCTION);
    let repeats = needs.iter().any(|n| n.repeats);
    let out_type = body::out_type(kind, func);
    let mut expr = body::innermost(kind, func, repeats);
    for (layer, rejection) in layers.iter().zip(slots).rev() {
        let cx = Cx {
            func,
            kind,
            function: &function,
            rejection,
            out_type: &out_type,
        };
        // Each layer is a block expression: statements of its own, then the value.
        let wrapped = layer.wrap(expr, &cx);
        expr = quote!({ #wrapped });
    }
    let uses = taken.iter().map(|path| {
        quote! {
            #[allow(unused_imports)]
            use #path as _;
        }
    });
    body::body(kind, quote!(#(#uses)* #declare_function #expr))
}

/// The rejection slot of each layer: a layer that waits out rejections shares one with
/// the gates below it, down to the next layer that waits or a thread boundary.
fn plan_rejections(needs: &[Needs]) -> Vec<Option<Ident>> {
    let mut slots = vec![None; needs.len()];
    for (waiter, _) in needs
        .iter()
        .enumerate()
        .filter(|(_, n)| n.waits_out_rejections)
    {
        let mut gates = Vec::new();
        for (at, below) in needs.iter().enumerate().skip(waiter + 1) {
            if below.other_thread || below.waits_out_rejections {
                break;
            }
            if below.rejects {
                gates.push(at);
            }
        }
        if !gates.is_empty() {
            for at in gates.into_iter().chain([waiter]) {
                slots[at] = Some(expand::rejection_slot());
            }
        }
    }
    slots
}
