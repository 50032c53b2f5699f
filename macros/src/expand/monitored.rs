//! `#[monitored]`

use proc_macro2::TokenStream;
use quote::quote;

use super::{Cx, Emit};
use crate::args::monitored::MonitoredArgs;

// Input:
//     #[monitored(level = "debug")]
//     async fn fetch(url: &str) -> Result<Page, Error> { body }
//
// Output:
//     async fn fetch(url: &str) -> Result<Page, Error> {
//         static STATS: MonitorStats = MonitorStats::new("module::fetch");
//         let call = STATS.start();                            // calls += 1, clock read
//         let span = tracing::span!(Level::DEBUG, "fetch");
//         Instrument::instrument(async {                       // entered while it runs
//             let out = <inner>;
//             match failure_of(&out) {                         // Err(e) for a Result, else never
//                 Some(e) => { tracing::event!(ERROR, error = %describe(e)); call.end(true) }
//                 None => call.end(false),                     // latency recorded
//             }
//             out
//         }, span).await
//     }
//
// A panic or a dropped future ends `call` in its `Drop`: an error, or a cancellation.
impl Emit for MonitoredArgs {
    /// `name = "…"` labels every figure of the function, whatever attribute records it.
    fn label(&self) -> Option<TokenStream> {
        self.name.as_ref().map(|name| {
            let lit = &name.value;
            quote!(#lit)
        })
    }

    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
        wrap(inner, self, cx)
    }
}

fn wrap(inner: TokenStream, args: &MonitoredArgs, cx: &Cx<'_>) -> TokenStream {
    let (call, span, out, error) = (
        Cx::local("__steadfast_call"),
        Cx::local("__steadfast_span"),
        Cx::local("__steadfast_out"),
        Cx::local("__steadfast_error"),
    );
    let ident = cx.func.sig.ident.to_string();
    let stats_name = cx.label;
    let span_name = match &args.name {
        Some(name) => {
            let lit = &name.value;
            quote!(#lit)
        }
        None => quote!(#ident),
    };
    let level = match args.level.as_ref().map_or("info", |l| l.value.as_str()) {
        "trace" => quote!(TRACE),
        "debug" => quote!(DEBUG),
        "warn" => quote!(WARN),
        "error" => quote!(ERROR),
        _ => quote!(INFO),
    };
    let tracing = quote!(::steadfast::__private::tracing);
    // Classifies the result and ends the call, inside the span.
    let classify = quote! {
        #[allow(unused_imports)]
        use ::steadfast::__private::{
            DescribeAny as _, DescribeDebug as _, DescribeDisplay as _, WatchAny as _,
            WatchResult as _,
        };
        match (&&::steadfast::__private::Watch(&#out)).failure() {
            ::core::option::Option::Some(#error) => {
                ::steadfast::__private::report_error(
                    #span_name,
                    &(&&&::steadfast::__private::Describe(#error)).describe(),
                );
                #call.end(true);
            }
            ::core::option::Option::None => #call.end(false),
        }
    };
    let run = if !cx.is_async() {
        quote! {
            let _entered = #span.enter();
            let #out = #inner;
            #classify
            #out
        }
    } else {
        quote! {
            #tracing::Instrument::instrument(
                async {
                    let #out = #inner;
                    #classify
                    #out
                },
                #span,
            )
            .await
        }
    };
    // The span's callsite and metadata are two statics, as `tracing::span!` makes them;
    // deciding whether it is enabled and opening it is one function of the runtime
    // rather than the macro's expansion in every decorated function.
    quote! {
        static __STEADFAST_MONITOR: ::steadfast::__private::MonitorStats =
            ::steadfast::__private::MonitorStats::new(#stats_name);
        static __STEADFAST_CALLSITE: #tracing::callsite::DefaultCallsite =
            #tracing::callsite::DefaultCallsite::new(&__STEADFAST_SPAN);
        static __STEADFAST_SPAN: #tracing::Metadata<'static> = ::steadfast::__private::span_metadata(
            #span_name,
            ::core::module_path!(),
            #tracing::Level::#level,
            ::core::file!(),
            ::core::line!(),
            &__STEADFAST_CALLSITE,
        );
        let #call = __STEADFAST_MONITOR.start();
        let #span = ::steadfast::__private::span(&__STEADFAST_CALLSITE);
        #run
    }
}
