//! `#[bulkhead]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::{
    Cx, Emit, Needs, count_u32, default_name, duration, max_keys_arg, name_arg, spec_literal,
    with_key,
};
use crate::args::bulkhead::BulkheadArgs;
use crate::item;

// Input:
//     #[bulkhead(max_concurrent = 4, max_wait = "250ms")]
//     async fn convert(file: File) -> Result<Pdf, Error> { body }
//
// Output:
//     async fn convert(file: File) -> Result<Pdf, Error> {
//         static BULKHEAD: BulkheadSlot = BulkheadSlot::new(BulkheadSpec { max_concurrent: 4, max_wait: 250ms, … });
//         'gate: {
//             let entered = BULKHEAD.entry().await;               // sync: enter_blocking()
//                                                                 // key = k: entry_key(&k)
//             let permit = match bulkhead_admit(entered, rejection) {   // R: BulkheadReturn
//                 Ok(permit) => permit,
//                 Err(full) => break 'gate full,                  // Err(From::from(BulkheadFull))
//             };
//             let out = <inner>;                                  // the body, or the next layer
//             drop(permit);                                       // also on panic or cancellation
//             out
//         }
//     }
impl Emit for BulkheadArgs {
    fn needs(&self) -> Needs {
        Needs {
            rejects: true,
            figures: true,
            ..Needs::default()
        }
    }

    /// Listed before `main`, so that `config` knows it before the function's first call.
    fn listed(&self) -> Option<(&'static str, TokenStream)> {
        Some(("bulkhead", quote!(&__STEADFAST_BULKHEAD)))
    }

    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
        let function = cx.function;
        let default_name = default_name(cx.func);
        let some = |v: TokenStream| quote!(::core::option::Option::Some(#v));
        let none = quote!(::core::option::Option::None);
        let max_keys = max_keys_arg(
            self.key.as_ref(),
            self.max_keys.as_ref(),
            quote!(::steadfast::__private::BulkheadSpec::DEFAULT_MAX_KEYS),
        );
        // `max_concurrent` is required without a policy: the validator reported its
        // absence, the default only keeps going.
        let spec = spec_literal(
            quote!(::steadfast::__private::BulkheadSpec),
            vec![
                ("name", self.name.as_ref().map(|_| name_arg(self.name.as_ref())), none.clone()),
                ("default_name", Some(default_name.clone()), TokenStream::new()),
                (
                    "max_concurrent",
                    self.max_concurrent.as_ref().map(|m| count_u32(&m.value)),
                    quote!(1),
                ),
                (
                    "max_wait",
                    self.max_wait.as_ref().map(|w| duration(&w.value)),
                    quote!(::steadfast::__private::Duration::ZERO),
                ),
                (
                    "max_queue",
                    self.max_queue.as_ref().map(|q| some(count_u32(&q.value))),
                    none,
                ),
                ("max_keys", Some(max_keys), TokenStream::new()),
            ],
            self.policy.as_ref().map(|p| {
                let policy = &p.value;
                quote_spanned!(p.span=> ::steadfast::__private::bulkhead_policy_of(#policy, #default_name))
            }),
        );
        let slot = cx.rejection.fill_arg();
        let (entered, permit, full, out) = (
            Cx::local("__steadfast_entered"),
            Cx::local("__steadfast_permit"),
            Cx::local("__steadfast_full"),
            Cx::local("__steadfast_out"),
        );
        let enter = match (&self.key, cx.is_async()) {
            (None, true) => quote!(__STEADFAST_BULKHEAD.entry().await),
            (None, false) => quote!(__STEADFAST_BULKHEAD.enter_blocking()),
            (Some(key), true) => {
                let entry = with_key(key, |key| quote!(__STEADFAST_BULKHEAD.entry_key(#key)));
                quote!(#entry.await)
            }
            (Some(key), false) => with_key(
                key,
                |key| quote!(__STEADFAST_BULKHEAD.enter_blocking_key(#key)),
            ),
        };
        // Spanned at the return type: a return type that cannot take the rejection is
        // reported there.
        let admit = quote_spanned!(item::output_span(cx.func)=>
            ::steadfast::__private::bulkhead_admit(#entered, #slot)
        );
        let out_type = cx.out_type;
        let gate = syn::Lifetime::new("'__steadfast_bulkhead", proc_macro2::Span::mixed_site());
        quote! {
            static __STEADFAST_BULKHEAD: ::steadfast::__private::BulkheadSlot =
                ::steadfast::__private::BulkheadSlot::new(#spec, #function);
            #gate: {
                let #entered = #enter;
                let #permit = match #admit {
                    ::core::result::Result::Ok(#permit) => #permit,
                    ::core::result::Result::Err(#full) => break #gate #full,
                };
                let #out #out_type = #inner;
                ::core::mem::drop(#permit);
                #out
            }
        }
    }
}
