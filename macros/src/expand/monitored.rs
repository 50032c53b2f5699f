//! `#[monitored]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::{AsLayer, Cx, Emit, Needs, as_future};
use crate::args::monitored::MonitoredArgs;

// Input:
//     #[monitored(level = "debug")]
//     async fn fetch(url: &str) -> Result<Page, Error> { body }
//
// Output:
//     async fn fetch(url: &str) -> Result<Page, Error> {
//         static STATS: MonitorStats = MonitorStats::new("module::fetch");
//         static CALLSITE, SPAN: the span's callsite and metadata, as `tracing::span!` has them
//         let call = STATS.start();                            // calls += 1, clock read
//         let span = span(&CALLSITE);                          // enabled or not: one runtime call
//         monitored(call, span, async { <inner> },             // polled inside the span
//             |out, call| (&&&&Watch(out)).end(call, "fetch")  // Err: an ERROR event, a failure
//         ).await
//     }
//
// Sync: the span is entered, `let out = <inner>;`, then the same `end`. Right above the
// body, the body's own async block is the future. A panic or a dropped future ends `call`
// in its `Drop`: an error, or a cancellation.
impl Emit for MonitoredArgs {
    fn needs(&self) -> Needs {
        Needs {
            figures: true,
            counts_rejections: true,
            // `drain = …`: it turns calls away itself while the process drains.
            rejects: self.drain.is_some(),
            ..Needs::default()
        }
    }

    /// `name = "…"` labels every figure of the function, whatever attribute records it.
    fn label(&self) -> Option<TokenStream> {
        self.name.as_ref().map(|name| {
            let lit = &name.value;
            quote!(#lit)
        })
    }

    /// As data, without `drain` (which turns calls away or cancels them itself).
    fn as_layer(&self, cx: &Cx<'_>) -> Option<AsLayer> {
        if self.drain.is_some() {
            return None;
        }
        let name = span_name(self, cx);
        Some(AsLayer {
            statics: statics(self, cx),
            layer: quote! {
                ::steadfast::__private::Layer::Monitored {
                    stats: &__STEADFAST_MONITOR,
                    callsite: &__STEADFAST_CALLSITE,
                    name: #name,
                }
            },
            returns: None,
        })
    }

    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
        wrap(inner, self, cx)
    }
}

/// The name of its span and of its events: `name = "…"`, else the function's.
fn span_name(args: &MonitoredArgs, cx: &Cx<'_>) -> TokenStream {
    match &args.name {
        Some(name) => {
            let lit = &name.value;
            quote!(#lit)
        }
        None => {
            let ident = cx.func.sig.ident.to_string();
            quote!(#ident)
        }
    }
}

/// `static MONITOR` (the figures), and the span's callsite and metadata, two statics as
/// `tracing::span!` makes them; deciding whether it is enabled and opening it is one
/// function of the runtime rather than the macro's expansion in every decorated function.
fn statics(args: &MonitoredArgs, cx: &Cx<'_>) -> TokenStream {
    let stats_name = cx.function;
    let span_name = span_name(args, cx);
    let level = match args.level.as_ref().map_or("info", |l| l.value.as_str()) {
        "trace" => quote!(TRACE),
        "debug" => quote!(DEBUG),
        "warn" => quote!(WARN),
        "error" => quote!(ERROR),
        _ => quote!(INFO),
    };
    let tracing = quote!(::steadfast::__private::tracing);
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
    }
}

fn wrap(inner: TokenStream, args: &MonitoredArgs, cx: &Cx<'_>) -> TokenStream {
    let out_type = cx.out_type;
    let cancel = args.drain.as_ref().is_some_and(|d| d.value == "cancel");
    // `drain = "cancel"` on an async function: the layers below are dropped at a drain's
    // deadline (a sync call cannot be, and only rejects).
    let on_cancel = Cx::local("__steadfast_on_cancel");
    let cancel = cancel && cx.is_async();
    let inner = if cancel {
        let future = as_future(inner);
        quote!((::steadfast::__private::cancellable(&__STEADFAST_MONITOR, #on_cancel, #future)).await)
    } else {
        inner
    };
    let (call, out) = (Cx::local("__steadfast_call"), Cx::local("__steadfast_out"));
    let span_name = span_name(args, cx);
    // Ends the call from its result: a failure (with its event) for a `Result`'s `Err`,
    // a success otherwise, picked by autoref specialisation in one method call. An `Err`
    // that a gate below returned in place of the call (`rejected`) is counted, not logged.
    let rejected = Cx::local("__steadfast_rejected");
    let end = quote! {
        #[allow(unused_imports)]
        use ::steadfast::__private::{EndAny as _, EndDebug as _, EndDisplay as _, EndResult as _};
        (&&&&::steadfast::__private::Watch(#out)).end(#call, #span_name, #rejected)
    };
    let slot = cx.rejection.read.as_ref();
    let forward = cx.rejection.forward(&quote!(#rejected));
    let run = match (cx.is_async(), slot) {
        (false, _) => {
            let (declare, read) = match slot {
                Some(slot) => (
                    quote!(let mut #slot = ::core::option::Option::None;),
                    quote!(let #rejected = #slot;),
                ),
                None => (
                    TokenStream::new(),
                    quote!(let #rejected = ::core::option::Option::None;),
                ),
            };
            quote! {
                let _entered = ::steadfast::__private::enter_span(&__STEADFAST_CALLSITE);
                #declare
                let #out #out_type = #inner;
                #read
                {
                    let #out = &#out;
                    #end;
                }
                #forward
                #out
            }
        }
        (true, None) => {
            let future = as_future(inner);
            quote! {
                ::steadfast::__private::monitored(#call, &__STEADFAST_CALLSITE, #future, |#out, #call| {
                    let #rejected = ::core::option::Option::None;
                    #end
                }).await
            }
        }
        // The slot lives in the body's future, which hands it out with the value.
        (true, Some(slot)) => {
            let pair = Cx::local("__steadfast_pair");
            quote! {{
                let (#out, #rejected) = ::steadfast::__private::monitored(
                    #call,
                    &__STEADFAST_CALLSITE,
                    async {
                        let mut #slot = ::core::option::Option::None;
                        let #out #out_type = #inner;
                        (#out, #slot)
                    },
                    |#pair, #call| {
                        let (#out, #rejected) = #pair;
                        let #rejected = *#rejected;
                        #end
                    },
                ).await;
                #forward
                #out
            }}
        }
    };
    let start = match &args.drain {
        None => quote! {
            let #call = __STEADFAST_MONITOR.start();
            #run
        },
        // Counted in flight first, then the drain's door read: see `drain`.
        Some(_) => {
            let gate = syn::Lifetime::new("'__steadfast_drain", proc_macro2::Span::mixed_site());
            let fill = cx.rejection.fill_arg();
            let turned_away = Cx::local("__steadfast_turned_away");
            // Placed at the return type: one that cannot take `ShuttingDown` is reported there.
            let at = crate::item::output_span(cx.func);
            let (admit, admitted) = if cancel {
                (
                    syn::Ident::new("drain_admit_cancellable", at),
                    quote!((#call, #on_cancel)),
                )
            } else {
                (syn::Ident::new("drain_admit", at), quote!(#call))
            };
            let admit = quote_spanned!(at=>
                ::steadfast::__private::#admit(__STEADFAST_MONITOR.start(), #fill)
            );
            quote! {
                #gate: {
                    let #admitted = match #admit {
                        ::core::result::Result::Ok(#admitted) => #admitted,
                        ::core::result::Result::Err(#turned_away) => break #gate #turned_away,
                    };
                    #run
                }
            }
        }
    };
    let statics = statics(args, cx);
    quote! {
        #statics
        #start
    }
}
