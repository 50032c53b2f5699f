//! `#[fallback]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Pat};

use super::{Cx, Emit, Needs, body};
use crate::args::fallback::FallbackArgs;
use crate::item;

// Input:
//     #[fallback(cached_quote, args, on = is_outage)]
//     async fn quote(symbol: String) -> Result<Quote, Error> { body }
//
// Output:
//     async fn quote(symbol: String) -> Result<Quote, Error> {
//         static FALLBACK: FallbackStats = FallbackStats::new(&FUNCTION);
//         let kept_symbol = fallback_arg(&symbol);            // `args`: a clone, for the fallback
//         let mut rejection = None;                           // a gate below fills it
//         let out: Result<Quote, Error> = <inner>;            // the body, or the next layer
//         match fallback_split(out) {                         // R: FallbackReturn
//             Ok(out) => { <pass rejection on>; out }         // Ok: returned as is
//             Err(e) if !{ let on: fn(&Error) -> bool = is_outage; on(&e) } => {
//                 <pass rejection on>; fallback_keep(e)           // returned as it is
//             }
//             Err(e) => {
//                 FALLBACK.taken();
//                 let f: fn(&String, Error) -> _ = cached_quote;  // sync: `-> Result<Quote, Error>`
//                 f(&kept_symbol, e).await
//             }
//         }
//     }
//
// A panic unwinds past it and a dropped future never gets here: the fallback runs only on
// an `Err` that was returned.
impl Emit for FallbackArgs {
    fn needs(&self) -> Needs {
        Needs {
            replaces_errors: true,
            figures: true,
            ..Needs::default()
        }
    }

    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
        let function = cx.function;
        let (out, e) = (Cx::local("__steadfast_out"), Cx::local("__steadfast_error"));
        let Some(fallback) = &self.function else {
            // The parser reported it; keep going with the body alone.
            return inner;
        };
        // The fallback as a function pointer of the shape expected: one that does not fit
        // is one error on its path, naming that shape (`fn(Error) -> Result<Quote, Error>`).
        // On an `async fn`, the pointer returns a future (`_`) whose output is checked
        // where it is awaited.
        let ret = body::output_type(cx.kind, cx.func);
        let error_type = if ret.to_string() == "_" {
            quote!(_)
        } else {
            quote!(<#ret as ::steadfast::returns::Outcome>::Error)
        };
        let pointer_output = if cx.is_async() {
            quote!(_)
        } else {
            ret.clone()
        };
        // `args`: a clone of each argument (a copy of a reference), taken before the body
        // may move it, spanned at the argument so that one that is not `Clone` is
        // reported there; the fallback gets a reference to each.
        let mut keep = Vec::new();
        let mut refs = Vec::new();
        let mut params = Vec::new();
        if self.args.is_some() {
            for (i, input) in cx.func.sig.inputs.iter().enumerate() {
                let kept = Cx::local(&format!("__steadfast_kept_{i}"));
                match input {
                    FnArg::Receiver(r) if matches!(r.kind, syn::ReceiverKind::Reference(..)) => {
                        keep.push(quote!(let #kept = self;));
                        refs.push(quote!(#kept));
                        params.push(quote!(&Self));
                    }
                    FnArg::Receiver(r) => {
                        keep.push(quote_spanned!(r.span()=> let #kept = ::steadfast::__private::fallback_arg(&self);));
                        refs.push(quote!(&#kept));
                        params.push(quote!(&Self));
                    }
                    FnArg::Typed(typed) => {
                        let Pat::Ident(ident) = &*typed.pat else {
                            // The validator reported it.
                            continue;
                        };
                        let name = &ident.ident;
                        keep.push(quote_spanned!(typed.span()=> let #kept = ::steadfast::__private::fallback_arg(&#name);));
                        refs.push(quote!(&#kept));
                        let ty = body::nameable(&typed.ty);
                        params.push(quote!(&#ty));
                    }
                }
            }
        }
        let pointer = Cx::local("__steadfast_fallback");
        let (bind, call) = match (cx.is_async(), self.args.is_some()) {
            // The future of an `async fn` taking references borrows them: no pointer type
            // can say so, so the fallback is called as it is, and a misfit is rustc's error
            // on the call (an argument, the count, or the output where it is awaited).
            (true, true) => (
                TokenStream::new(),
                quote_spanned!(fallback.span()=> (#fallback)(#(#refs,)* #e).await),
            ),
            (true, false) => (
                quote_spanned!(fallback.span()=>
                    #[allow(clippy::type_complexity)]
                    let #pointer: fn(#error_type) -> #pointer_output = #fallback;
                ),
                quote_spanned!(fallback.span()=> #pointer(#e).await),
            ),
            (false, _) => (
                quote_spanned!(fallback.span()=>
                    #[allow(clippy::type_complexity)]
                    let #pointer: fn(#(#params,)* #error_type) -> #pointer_output = #fallback;
                ),
                quote_spanned!(fallback.span()=> #pointer(#(#refs,)* #e)),
            ),
        };
        // A rejection read from a gate below is passed on only with the error it came
        // with; an error the fallback replaced is no rejection any more.
        let (declare, forward) = match &cx.rejection.read {
            Some(slot) => (
                quote!(let mut #slot = ::core::option::Option::None;),
                cx.rejection.forward(&quote!(#slot)),
            ),
            None => (TokenStream::new(), TokenStream::new()),
        };
        let split = quote_spanned!(item::output_span(cx.func)=>
            ::steadfast::__private::fallback_split(#out)
        );
        let keep_error = quote_spanned!(item::output_span(cx.func)=>
            ::steadfast::__private::fallback_keep(#e)
        );
        // `on`, as a function pointer of the shape expected, for the same reason.
        let on_arm = self.on.as_ref().map(|on| {
            let predicate = Cx::local("__steadfast_on");
            let bind = quote_spanned!(on.span()=>
                #[allow(clippy::type_complexity)]
                let #predicate: fn(&#error_type) -> bool = #on;
            );
            quote! {
                ::core::result::Result::Err(#e) if !{ #bind #predicate(&#e) } => {
                    #forward
                    #keep_error
                }
            }
        });
        let out_type = cx.out_type;
        quote! {
            static __STEADFAST_FALLBACK: ::steadfast::__private::FallbackStats =
                ::steadfast::__private::FallbackStats::new(#function);
            #(#keep)*
            #declare
            let #out #out_type = #inner;
            match #split {
                ::core::result::Result::Ok(#out) => {
                    #forward
                    #out
                }
                #on_arm
                ::core::result::Result::Err(#e) => {
                    __STEADFAST_FALLBACK.taken();
                    #bind
                    #call
                }
            }
        }
    }
}
