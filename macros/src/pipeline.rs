//! The whole pipeline for one invocation: parse → validate → emit.
//!
//! On any error the output is the errors and the function as it came (less our
//! attributes), so the user sees only what is wrong and the rest of the crate still
//! type-checks.

use proc_macro2::TokenStream;
use quote::quote;

use crate::attributes::{Attr, Layer};
use crate::errors::Errors;
use crate::expand::{self, Cx, Needs, Slots, body};
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
    let (label, named) = label(&layers, &func);
    let body = emit(&layers, &taken, &func, &kind, &label, named);
    let companions = layers
        .iter()
        .filter_map(|layer| layer.companion(&func, &kind, &label));
    // The signature as it came and the new body, as tokens: re-parsing the generated body
    // into a `syn::Block` only to print it again would double the macro's own work.
    let (outer, inner): (Vec<_>, Vec<_>) = func
        .attrs
        .iter()
        .partition(|a| matches!(a.style, syn::AttrStyle::Outer));
    let (vis, sig) = (&func.vis, &func.sig);
    quote! {
        #(#outer)* #vis #sig { #(#inner)* #body }
        #(#companions)*
    }
}

/// The function every layer's figures belong to, labelled with one attribute's own
/// name (that of `#[monitored(name = …)]`) if given, so that one function's figures all
/// carry one label; a default label is made unique by the runtime.
fn label(layers: &[Layer], func: &Func) -> (TokenStream, bool) {
    match layers.iter().find_map(Layer::label) {
        Some(name) => (name, true),
        None => (expand::default_name(func), false),
    }
}

/// The function's new body: the layers wrapped around the user's, innermost first.
fn emit(
    layers: &[Layer],
    taken: &[syn::Path],
    func: &Func,
    kind: &Kind,
    label: &TokenStream,
    named: bool,
) -> TokenStream {
    let needs: Vec<Needs> = layers.iter().map(Layer::needs).collect();
    let slots = plan_rejections(&needs);
    let declare_function = needs.iter().any(|n| n.figures).then(|| {
        quote! {
            static __STEADFAST_FUNCTION: ::steadfast::__private::Function =
                ::steadfast::__private::Function::new(#label, #named);
        }
    });
    let function = quote!(&__STEADFAST_FUNCTION);
    let repeats = needs.iter().any(|n| n.repeats);
    let out_type = body::out_type(kind, func);
    // Each layer's entry (made before `main`), declared innermost so that it sees every
    // layer's statics: `list!(kind, &STATIC);`, one static holding one reference.
    let entry: TokenStream = layers
        .iter()
        .filter_map(Layer::listed)
        .map(|(kind, slot)| {
            let kind = proc_macro2::Ident::new(kind, proc_macro2::Span::call_site());
            quote!(::steadfast::__private::list!(#kind, #slot);)
        })
        .collect();
    let whole = Cx {
        func,
        kind,
        function: &function,
        rejection: Slots::default(),
        out_type: &out_type,
    };
    let uses = taken.iter().map(|path| {
        quote! {
            #[allow(unused_imports)]
            use #path as _;
        }
    });
    let uses = quote!(#(#uses)*);
    if let Some(stacked) = expand::stacked::emit(layers, &whole, &entry) {
        return body::body(kind, quote!(#uses #declare_function #stacked));
    }
    let mut expr = body::innermost(kind, func, repeats, entry);
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
    body::body(kind, quote!(#uses #declare_function #expr))
}

/// The rejection slots of each layer. A layer that reads rejections (`#[retry]` waits
/// them out, `#[monitored]` counts them without logging, `#[circuit_breaker]` counts
/// overload for nothing, `#[fallback]` replaces them) has a slot of its own when a
/// gate below it can fill it; a gate fills the slot of the nearest reader above it, and a
/// reader passes on what it read to the nearest reader above it (a retry that gives up on
/// a rejection returns it). No slot crosses a thread boundary.
fn plan_rejections(needs: &[Needs]) -> Vec<Slots> {
    let mut slots = vec![Slots::default(); needs.len()];
    // Layers below the current one whose rejections still look for a reader.
    let mut pending: Vec<usize> = Vec::new();
    for (at, n) in needs.iter().enumerate().rev() {
        if n.other_thread {
            pending.clear();
        } else if n.waits_out_rejections
            || n.counts_rejections
            || n.ignores_overload
            || n.replaces_errors
        {
            if pending.is_empty() {
                // Nothing below to read; a reader that is also a gate still fills above.
                if n.rejects {
                    pending.push(at);
                }
                continue;
            }
            let slot = expand::rejection_slot(at);
            for below in pending.drain(..) {
                slots[below].fill = Some(slot.clone());
            }
            slots[at].read = Some(slot);
            pending.push(at);
        } else if n.rejects {
            pending.push(at);
        }
    }
    slots
}
