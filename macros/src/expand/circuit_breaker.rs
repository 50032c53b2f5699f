//! `#[circuit_breaker]`

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use crate::args::BreakerArgs;
use crate::item::{self, Func};

const DEFAULT_THRESHOLD: u32 = 5;
const DEFAULT_OPEN_FOR_NANOS: u64 = 30_000_000_000;
const DEFAULT_RATE_WINDOW_NANOS: u64 = 60_000_000_000;
const DEFAULT_MINIMUM_CALLS: u32 = 20;

// Input:
//     #[circuit_breaker(failure_threshold = 3)]
//     fn fetch(host: &str) -> Result<Page, Error> { body }
//
// Output:
//     fn fetch(host: &str) -> Result<Page, Error> {
//         static BREAKER: BreakerSlot = BreakerSlot::new();
//         let breaker = BREAKER.get_or_init(|| BreakerSpec { .. });   // one atomic load
//         match circuit_breaker_call(breaker) {                       // R: BreakerReturn
//             Ok(call) => {
//                 let out = <inner>;                                  // the body, or the next layer
//                 call.record(&out);
//                 out
//             }
//             Err(rejected) => rejected,                              // Err(From::from(CircuitOpen))
//         }
//     }
//
// With `key = expr`, the static holds the function's per-key breakers and `breaker` is the
// one for this call's key.
//
// Under a `#[retry]`, `rejection` is the retry's slot for the `CircuitOpen` of a rejected
// call, so that it can wait the breaker out instead of spending attempts.
pub(crate) fn wrap(
    inner: TokenStream,
    args: &BreakerArgs,
    func: &Func,
    rejection: Option<&Ident>,
) -> TokenStream {
    let local = |name: &str| Ident::new(name, Span::mixed_site());
    let (breaker, out, rejected) = (
        local("__steadfast_breaker"),
        local("__steadfast_out"),
        local("__steadfast_rejected"),
    );
    let spec = spec(args, func);
    let lookup = match &args.key {
        None => quote! {
            static __STEADFAST_BREAKER: ::steadfast::__private::BreakerSlot =
                ::steadfast::__private::BreakerSlot::new();
            let #breaker = __STEADFAST_BREAKER.get_or_init(|| #spec);
        },
        Some(key) => {
            let key_expr = &key.value;
            let max_keys = args.max_keys.as_ref().map_or_else(
                || quote!(::steadfast::__private::DEFAULT_MAX_KEYS),
                |m| {
                    let n = Literal::usize_unsuffixed(m.value as usize);
                    quote!(#n)
                },
            );
            let key_value = quote_spanned! {key.span=>
                (&&::steadfast::__private::KeyWrap(&(#key_expr))).key()
            };
            quote! {
                static __STEADFAST_BREAKERS: ::steadfast::__private::KeyedSlot =
                    ::steadfast::__private::KeyedSlot::new();
                let #breaker = {
                    #[allow(unused_imports)]
                    use ::steadfast::__private::{KeyByDeref as _, KeyByValue as _};
                    __STEADFAST_BREAKERS.get_or_init(|| (#spec, #max_keys)).get(#key_value)
                };
            }
        }
    };
    let ret_span = item::output_span(func);
    let call = local("__steadfast_call");
    let record = match &args.failure_if {
        None => quote!(#call.record(&#out)),
        Some(failure_if) => {
            let f = &failure_if.value;
            quote_spanned!(failure_if.span=> #call.record_if(&#out, #f))
        }
    };
    // Spanned at the return type: a return type that cannot take a breaker is reported there.
    let admit = match rejection {
        None => quote_spanned!(ret_span=> ::steadfast::__private::circuit_breaker_call(&*#breaker)),
        Some(slot) => quote_spanned!(ret_span=>
            ::steadfast::__private::circuit_breaker_call_in_retry(&*#breaker, &mut #slot)
        ),
    };
    quote! {
        #lookup
        match #admit {
            ::core::result::Result::Ok(#call) => {
                let #out = #inner;
                #record;
                #out
            }
            ::core::result::Result::Err(#rejected) => #rejected,
        }
    }
}

/// `BreakerSpec { name, named, config }`, built the first time the function is called.
fn spec(args: &BreakerArgs, func: &Func) -> TokenStream {
    let (name, named) = match &args.name {
        Some(name) => {
            let lit = &name.value;
            (quote!(#lit), true)
        }
        None => {
            let ident = func.sig.ident.to_string();
            (
                quote!(::core::concat!(::core::module_path!(), "::", #ident)),
                false,
            )
        }
    };
    let nanos = |n: u64| quote!(::steadfast::__private::Duration::from_nanos(#n));
    let u32_lit = |n: u64| Literal::u32_unsuffixed(n.min(u64::from(u32::MAX)) as u32);
    let window = args
        .window
        .as_ref()
        .map_or_else(|| nanos(DEFAULT_RATE_WINDOW_NANOS), |w| w.value.to_tokens());
    let trip = if let Some(rate) = &args.failure_rate {
        let rate = Literal::f64_unsuffixed(rate.value);
        let minimum = args
            .minimum_calls
            .as_ref()
            .map_or(Literal::u32_unsuffixed(DEFAULT_MINIMUM_CALLS), |m| {
                u32_lit(m.value)
            });
        quote!(::steadfast::__private::TripPolicy::Rate { rate: #rate, minimum_calls: #minimum, window: #window })
    } else {
        let threshold = args
            .failure_threshold
            .as_ref()
            .map_or(Literal::u32_unsuffixed(DEFAULT_THRESHOLD), |t| {
                u32_lit(t.value)
            });
        if args.window.is_some() {
            quote!(::steadfast::__private::TripPolicy::Count { threshold: #threshold, window: #window })
        } else {
            quote!(::steadfast::__private::TripPolicy::Consecutive { threshold: #threshold })
        }
    };
    let open_for = args
        .open_for
        .as_ref()
        .map_or_else(|| nanos(DEFAULT_OPEN_FOR_NANOS), |d| d.value.to_tokens());
    let probes = args
        .half_open_probes
        .as_ref()
        .map_or(Literal::u32_unsuffixed(1), |p| u32_lit(p.value));
    let _ = func.sig.span();
    quote! {
        ::steadfast::__private::BreakerSpec {
            name: #name,
            named: #named,
            config: ::steadfast::__private::Config {
                trip: #trip,
                open_for: #open_for,
                half_open_probes: #probes,
            },
        }
    }
}
