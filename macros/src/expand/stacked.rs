//! Several layers on one `async fn`, as data for one runtime future
//! (`steadfast::__private::stacked`) instead of a block of code per layer.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::{AsLayer, Cx, Returns, body};
use crate::attributes::Layer;
use crate::item;
use crate::kind::Kind;

// Input:
//     #[monitored] #[retry(attempts = 3)] #[circuit_breaker] #[timeout("2s")]
//     async fn fetch(url: String, client: &Client) -> Result<Page, Error> { body }
//
// Output:
//     async fn fetch(url: String, client: &Client) -> Result<Page, Error> {
//         <each layer's statics, as its own code declares them>;  list!(…) each
//         static LAYERS: [Layer; 4] = [Layer::Monitored { … }, Layer::Retry(&POLICY),
//                                      Layer::Breaker(&BREAKER), Layer::Timeout { … }];
//         let url = &url;                                // attempts share the arguments
//         stacked(&LAYERS,
//             move || async move { let url = retry_clone(url); body },   // one attempt
//             |out| (&&&&Watch(out)).cause(),            // what an `Err` says
//             Some(open_into), Some(elapsed_into),       // the breaker's and timeout's errors
//         ).await
//     }
//
// Taken when the function is an `async fn`, a `#[retry]` is among at least two layers that
// can all be data (`Emit::as_layer`), `#[monitored]` is outermost if present, and the
// attempts can share the arguments (no `&mut`, no receiver by value). The runtime's
// `Driver` then does what the layers' blocks would, compiled once rather than per function.

/// The function's stack as one runtime future, or `None` when it does not qualify.
pub(crate) fn emit(layers: &[Layer], cx: &Cx<'_>, entries: &TokenStream) -> Option<TokenStream> {
    if !matches!(cx.kind, Kind::Async)
        || layers.len() < 2
        || !layers.iter().any(Layer::is_retry)
        || layers.iter().skip(1).any(Layer::is_monitored)
    {
        return None;
    }
    let parts: Vec<AsLayer> = layers
        .iter()
        .map(|layer| layer.as_layer(cx))
        .collect::<Option<_>>()?;
    let (rebind, maker) = body::attempts(cx.func)?;
    let statics = parts.iter().map(|part| &part.statics);
    let values = parts.iter().map(|part| &part.layer);
    let count = proc_macro2::Literal::usize_unsuffixed(parts.len());
    let at_ret = item::output_span(cx.func);
    // Spanned at the return type: one that cannot carry the layer's error is reported there.
    let returns = |which: Returns, into: &str| {
        if parts.iter().any(|part| part.returns == Some(which)) {
            let into = proc_macro2::Ident::new(into, at_ret);
            quote_spanned!(at_ret=> ::core::option::Option::Some(::steadfast::__private::#into))
        } else {
            quote!(::core::option::Option::None)
        }
    };
    let open = returns(Returns::Open, "open_into");
    let elapsed = returns(Returns::Elapsed, "elapsed_into");
    let out = Cx::local("__steadfast_out");
    // Spanned at the return type too: one that is not a `Result` is reported there.
    let stacked = quote_spanned!(at_ret=> ::steadfast::__private::stacked);
    Some(quote! {
        #(#statics)*
        #entries
        static __STEADFAST_LAYERS: [::steadfast::__private::Layer; #count] = [#(#values),*];
        #rebind
        #stacked(
            &__STEADFAST_LAYERS,
            #maker,
            |#out| {
                #[allow(unused_imports)]
                use ::steadfast::__private::{CauseDebug as _, CauseDisplay as _, CauseNone as _, CauseType as _};
                (&&&&::steadfast::__private::Watch(#out)).cause()
            },
            #open,
            #elapsed,
        ).await
    })
}
