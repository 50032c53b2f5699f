//! `#[timeout]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::args::TimeoutArgs;
use crate::item::{self, Func};
use crate::kind::Kind;

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
// Sync, with `detach`:
//         timeout_detach(2s, &STATS, move || <inner>)          // <inner> on a thread of its own
pub(crate) fn wrap(
    inner: TokenStream,
    args: &TimeoutArgs,
    function: &TokenStream,
    func: &Func,
    kind: &Kind,
) -> TokenStream {
    let after = args.after.as_ref().map_or_else(
        || quote!(::steadfast::__private::Duration::MAX),
        |after| after.to_tokens(),
    );
    let ret_span = item::output_span(func);
    let call = match kind {
        Kind::Sync => quote_spanned! {ret_span=>
            ::steadfast::__private::timeout_detach(#after, &__STEADFAST_TIMEOUT, move || #inner)
        },
        Kind::Async | Kind::BoxedAsync(_) => quote_spanned! {ret_span=>
            ::steadfast::__private::timeout_call(#after, &__STEADFAST_TIMEOUT, async { #inner }).await
        },
    };
    quote! {
        static __STEADFAST_TIMEOUT: ::steadfast::__private::TimeoutStats =
            ::steadfast::__private::TimeoutStats::new(#function);
        #call
    }
}
