//! `#[circuit_breaker]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::{Cx, Emit, Needs, count_u32, count_usize, duration, number, with_defaults};
use crate::args::circuit_breaker::CircuitBreakerArgs;
use crate::item;

// Input:
//     #[circuit_breaker(failure_threshold = 3)]
//     fn fetch(host: &str) -> Result<Page, Error> { body }
//
// Output:
//     fn fetch(host: &str) -> Result<Page, Error> {
//         static BREAKER: BreakerSlot = BreakerSlot::new();
//         let breaker = BREAKER.get_or_init(|| BreakerSpec {              // one atomic load
//             config: Config { trip: Consecutive { threshold: 3 }, ..Config::DEFAULT }, ..
//         });
//         'gate: {
//             let call = match circuit_breaker_call(breaker, rejection) {   // R: BreakerReturn
//                 Ok(call) => call,
//                 Err(rejected) => break 'gate rejected,                  // Err(From::from(CircuitOpen))
//             };
//             let out = <inner>;                                          // the body, or the next layer
//             call.record((&&&&Watch(&out)).cause());                   // a failure keeps its Display
//             out
//         }
//     }
//
// With `key = expr`, the static holds the function's per-key breakers and `breaker` is the
// one for this call's key. `rejection` is the slot of a `#[retry]` above, which then waits
// the breaker out instead of spending attempts on it; `None` without one.
impl Emit for CircuitBreakerArgs {
    fn needs(&self) -> Needs {
        Needs {
            rejects: true,
            ..Needs::default()
        }
    }

    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
        let out_type = cx.out_type;
        let (breaker, out, rejected, call) = (
            Cx::local("__steadfast_breaker"),
            Cx::local("__steadfast_out"),
            Cx::local("__steadfast_rejected"),
            Cx::local("__steadfast_call"),
        );
        let lookup = lookup(self, cx);
        // What a failure says, kept by the breaker if it opens it (`last_failure()`): its
        // `Display`, else `Debug`, else its type's name, picked by autoref specialisation.
        let cause = quote! {{
            #[allow(unused_imports)]
            use ::steadfast::__private::{CauseDebug as _, CauseDisplay as _, CauseNone as _, CauseType as _};
            (&&&&::steadfast::__private::Watch(&#out)).cause()
        }};
        let record = match &self.failure_if {
            None => quote!(#call.record(#cause)),
            Some(failure_if) => {
                let f = &failure_if.value;
                quote_spanned!(failure_if.span=> #call.record_if(&#out, #f, #cause))
            }
        };
        let slot = match &cx.rejection.fill {
            Some(slot) => quote!(::core::option::Option::Some(&mut #slot)),
            None => quote!(::core::option::Option::None),
        };
        // Spanned at the return type: a return type that cannot take a breaker is reported there.
        let admit = quote_spanned!(item::output_span(cx.func)=>
            ::steadfast::__private::circuit_breaker_call(&*#breaker, #slot)
        );
        // A labelled block rather than a `match` around `inner`: the admission's `Result`
        // (which holds the function's return type) is gone before `inner` awaits, so the
        // future stays `Send` when the error type is not.
        let gate = syn::Lifetime::new("'__steadfast_breaker", proc_macro2::Span::mixed_site());
        quote! {
            #gate: {
                #lookup
                let #call = match #admit {
                    ::core::result::Result::Ok(#call) => #call,
                    ::core::result::Result::Err(#rejected) => break #gate #rejected,
                };
                let #out #out_type = #inner;
                #record;
                #out
            }
        }
    }
}

/// `let breaker = …;`: the function's breaker, or the one of this call's key.
fn lookup(args: &CircuitBreakerArgs, cx: &Cx<'_>) -> TokenStream {
    let breaker = Cx::local("__steadfast_breaker");
    let spec = spec(args, cx);
    let Some(key) = &args.key else {
        return quote! {
            static __STEADFAST_BREAKER: ::steadfast::__private::BreakerSlot =
                ::steadfast::__private::BreakerSlot::new();
            let #breaker = __STEADFAST_BREAKER.get_or_init(|| #spec);
        };
    };
    let key_expr = &key.value;
    let max_keys = args.max_keys.as_ref().map_or_else(
        || quote!(::steadfast::__private::DEFAULT_MAX_KEYS),
        |m| count_usize(&m.value),
    );
    let per_key = args.per_key_metrics.as_ref().is_some_and(|p| p.value);
    let key_value = quote_spanned! {key.span=>
        (&&::steadfast::__private::KeyWrap(&(#key_expr))).key()
    };
    quote! {
        static __STEADFAST_BREAKERS: ::steadfast::__private::KeyedSlot =
            ::steadfast::__private::KeyedSlot::new();
        let #breaker = {
            #[allow(unused_imports)]
            use ::steadfast::__private::{KeyByDeref as _, KeyByValue as _};
            __STEADFAST_BREAKERS.get_or_init(|| (#spec, #max_keys, #per_key)).get(#key_value)
        };
    }
}

/// `BreakerSpec { name, named, config }`, built the first time the function is called.
/// Keys not written take the runtime's defaults (`..Config::DEFAULT`).
fn spec(args: &CircuitBreakerArgs, cx: &Cx<'_>) -> TokenStream {
    let (name, named) = match &args.name {
        Some(name) => {
            let lit = &name.value;
            (quote!(#lit), true)
        }
        None => {
            let ident = cx.func.sig.ident.to_string();
            (
                quote!(::core::concat!(::core::module_path!(), "::", #ident)),
                false,
            )
        }
    };
    let critical = args.critical.as_ref().is_some_and(|c| c.value);
    let config = with_defaults(
        quote!(::steadfast::__private::Config),
        super::CONFIG_FIELDS,
        [
            trip(args).map(|t| ("trip", t)),
            args.open_for
                .as_ref()
                .map(|d| ("open_for", duration(&d.value))),
            args.half_open_probes
                .as_ref()
                .map(|p| ("half_open_probes", count_u32(&p.value))),
        ],
    );
    quote! {
        ::steadfast::__private::BreakerSpec {
            name: #name,
            named: #named,
            critical: #critical,
            config: #config,
        }
    }
}

/// The trip policy, when any key of it was written.
fn trip(args: &CircuitBreakerArgs) -> Option<TokenStream> {
    let policy = quote!(::steadfast::__private::TripPolicy);
    let window = args
        .window
        .as_ref()
        .map_or_else(|| quote!(#policy::DEFAULT_WINDOW), |w| duration(&w.value));
    if let Some(rate) = &args.failure_rate {
        let rate = number(&rate.value);
        let minimum = args.minimum_calls.as_ref().map_or_else(
            || quote!(#policy::DEFAULT_MINIMUM_CALLS),
            |m| count_u32(&m.value),
        );
        return Some(
            quote!(#policy::Rate { rate: #rate, minimum_calls: #minimum, window: #window }),
        );
    }
    let threshold = args.failure_threshold.as_ref().map_or_else(
        || quote!(#policy::DEFAULT_THRESHOLD),
        |t| count_u32(&t.value),
    );
    if args.window.is_some() {
        Some(quote!(#policy::Count { threshold: #threshold, window: #window }))
    } else if args.failure_threshold.is_some() {
        Some(quote!(#policy::Consecutive { threshold: #threshold }))
    } else {
        None
    }
}
