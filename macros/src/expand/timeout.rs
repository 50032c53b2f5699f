//! `#[timeout]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::{AsLayer, Cx, Emit, Needs, Returns, as_closure, as_future, duration};
use crate::args::timeout::TimeoutArgs;
use crate::item;

// Input:
//     #[timeout("2s")]
//     async fn fetch(url: &str) -> Result<Page, Error> { body }
//
// Output:
//     async fn fetch(url: &str) -> Result<Page, Error> {
//         static STATS: TimeoutStats = TimeoutStats::new("module::fetch");
//         timeout_call(2s, &STATS, async { <inner> }).await   // polls <inner> first: no timer if ready
//     }
//
// Right above the body, the body's own async block is the future (no second block).
//
// Sync, with `detach`:
//         timeout_detach(2s, &STATS, move || <inner>)          // <inner> on a thread of its own
impl Emit for TimeoutArgs {
    fn needs(&self) -> Needs {
        Needs {
            other_thread: self.detach.is_some(),
            figures: true,
            ..Needs::default()
        }
    }

    /// Listed before `main`, so that `config` knows it before the function's first call.
    fn listed(&self) -> Option<(&'static str, TokenStream)> {
        Some(("timeout", quote!(&__STEADFAST_DEADLINE)))
    }

    /// As data, on an `async fn` (`detach` needs its own code).
    fn as_layer(&self, cx: &Cx<'_>) -> Option<AsLayer> {
        if self.detach.is_some() || !cx.is_async() {
            return None;
        }
        Some(AsLayer {
            statics: statics(self, cx),
            layer: quote! {
                ::steadfast::__private::Layer::Timeout {
                    cell: &__STEADFAST_DEADLINE,
                    stats: &__STEADFAST_TIMEOUT,
                }
            },
            returns: Some(Returns::Elapsed),
        })
    }

    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
        let statics = statics(self, cx);
        let after = quote!(__STEADFAST_DEADLINE.get());
        let ret_span = item::output_span(cx.func);
        let call = if cx.is_async() {
            let future = as_future(inner);
            quote_spanned! {ret_span=>
                ::steadfast::__private::timeout_call(#after, &__STEADFAST_TIMEOUT, #future).await
            }
        } else {
            let body = as_closure(inner);
            quote_spanned! {ret_span=>
                ::steadfast::__private::timeout_detach(#after, &__STEADFAST_TIMEOUT, #body)
            }
        };
        quote! {
            #statics
            #call
        }
    }
}

/// `static TIMEOUT` (the counts) and `static DEADLINE`: the deadline written, else the
/// policy's (the parser saw to it that there is one), in a cell that `config::apply` can
/// change and that is listed before `main`.
fn statics(args: &TimeoutArgs, cx: &Cx<'_>) -> TokenStream {
    let after = match (&args.after, &args.policy) {
        (Some(after), _) => duration(after),
        (None, Some(policy)) => quote_spanned! {policy.span()=>
            ::steadfast::__private::timeout_policy(#policy)
        },
        (None, None) => quote!(::steadfast::__private::Duration::MAX),
    };
    let name = match (&args.name, &args.policy) {
        (Some(name), _) => quote!(::core::option::Option::Some(#name)),
        (None, Some(policy)) => quote_spanned! {policy.span()=>
            ::steadfast::__private::timeout_policy_name(#policy)
        },
        (None, None) => quote!(::core::option::Option::None),
    };
    let default_name = super::default_name(cx.func);
    let known = !matches!(args.after, Some(crate::duration::DurationArg::Expr(_)));
    let cell = if known {
        quote!(::steadfast::__private::TimeoutCell::new(#after, #name, #default_name))
    } else {
        quote!(::steadfast::__private::TimeoutCell::lazy(|| #after, #name, #default_name))
    };
    let label = cx.function;
    quote! {
        static __STEADFAST_TIMEOUT: ::steadfast::__private::TimeoutStats =
            ::steadfast::__private::TimeoutStats::new(#label);
        static __STEADFAST_DEADLINE: ::steadfast::__private::TimeoutCell = #cell;
    }
}
