//! `#[circuit_breaker]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::{
    AsLayer, Cx, Emit, Needs, Returns, count_u32, count_usize, duration, name_arg, number, with_key,
};
use crate::args::circuit_breaker::CircuitBreakerArgs;
use crate::item;

// Input:
//     #[circuit_breaker(failure_threshold = 3)]
//     fn fetch(host: &str) -> Result<Page, Error> { body }
//
// Output:
//     fn fetch(host: &str) -> Result<Page, Error> {
//         static BREAKER: BreakerSlot = BreakerSlot::new(|| breaker_spec(  // built at first use
//             BreakerPolicy::DEFAULT.set_failure_threshold(3), None, "module::fetch"));
//         list!(breaker, &BREAKER);   // listed before `main`: known before the first call
//         let breaker = BREAKER.get();                                     // one atomic load
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
            ignores_overload: true,
            ..Needs::default()
        }
    }

    /// Listed before `main`, so that the breaker is known before the function's first call.
    fn listed(&self) -> Option<(&'static str, TokenStream)> {
        Some(match self.key {
            None => ("breaker", quote!(&__STEADFAST_BREAKER)),
            Some(_) => ("keyed_breaker", quote!(&__STEADFAST_BREAKERS)),
        })
    }

    /// As data: one breaker for the function, recording every error (not `key`,
    /// `failure_if` or `scope = "fleet"`).
    fn as_layer(&self, cx: &Cx<'_>) -> Option<AsLayer> {
        let fleet = self.scope.as_ref().is_some_and(|s| s.value == "fleet");
        if self.key.is_some() || self.failure_if.is_some() || fleet {
            return None;
        }
        Some(AsLayer {
            statics: slot(self, cx),
            layer: quote!(::steadfast::__private::Layer::Breaker(&__STEADFAST_BREAKER)),
            returns: Some(Returns::Open),
        })
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
        let slot = cx.rejection.fill_arg();
        // Spanned at the return type: a return type that cannot take a breaker is reported there.
        let admit = quote_spanned!(item::output_span(cx.func)=>
            ::steadfast::__private::circuit_breaker_call(&*#breaker, #slot)
        );
        // A labelled block rather than a `match` around `inner`: the admission's `Result`
        // (which holds the function's return type) is gone before `inner` awaits, so the
        // future stays `Send` when the error type is not.
        let gate = syn::Lifetime::new("'__steadfast_breaker", proc_macro2::Span::mixed_site());
        // A gate below that turned the call away for this process's own overload (a rate
        // limit) says nothing about the dependency: the permit is let go unrecorded, and
        // the rejection passed on to a reader above.
        let (declare, record) = match &cx.rejection.read {
            None => (TokenStream::new(), quote!(#record;)),
            Some(read) => {
                let forward = cx.rejection.forward(&quote!(#read));
                (
                    quote!(let mut #read: ::core::option::Option<::steadfast::__private::Rejected> = ::core::option::Option::None;),
                    quote! {
                        match #read {
                            ::core::option::Option::Some(::steadfast::__private::Rejected { overload: true, .. }) => {
                                ::core::mem::drop(#call)
                            }
                            _ => #record,
                        }
                        #forward
                    },
                )
            }
        };
        quote! {
            #gate: {
                #lookup
                let #call = match #admit {
                    ::core::result::Result::Ok(#call) => #call,
                    ::core::result::Result::Err(#rejected) => break #gate #rejected,
                };
                #declare
                let #out #out_type = #inner;
                #record
                #out
            }
        }
    }
}

/// The spec as the slot's `static` holds it: evaluated at compile time when every value is
/// known then (nothing to compile per function), else at the first use.
fn source(args: &CircuitBreakerArgs, value: TokenStream) -> TokenStream {
    if known_at_compile_time(args) {
        quote!(::steadfast::__private::Spec::Known(#value))
    } else {
        quote!(::steadfast::__private::Spec::Lazy(|| #value))
    }
}

/// `static BREAKER`: the slot of the function's one breaker (without `key`).
fn slot(args: &CircuitBreakerArgs, cx: &Cx<'_>) -> TokenStream {
    let spec = source(args, spec(args, cx));
    quote! {
        static __STEADFAST_BREAKER: ::steadfast::__private::BreakerSlot =
            ::steadfast::__private::BreakerSlot::new(#spec);
    }
}

/// `let breaker = …;`: the function's breaker, or the one of this call's key.
fn lookup(args: &CircuitBreakerArgs, cx: &Cx<'_>) -> TokenStream {
    let breaker = Cx::local("__steadfast_breaker");
    let Some(key) = &args.key else {
        let slot = slot(args, cx);
        // `scope = "fleet"`: the breaker joins the fleet's refresh at its first call (one
        // load after that); without the feature `redis`, one error naming it.
        let fleet = args
            .scope
            .as_ref()
            .filter(|s| s.value == "fleet")
            .map(|scope| {
                let quorum = args
                    .quorum
                    .as_ref()
                    .map_or_else(|| quote!(2), |q| count_u32(&q.value));
                let gate = quote_spanned!(scope.key.span()=> ::steadfast::__private::fleet_gate!);
                quote! {
                    #gate({
                        static __STEADFAST_FLEET_BREAKER: ::steadfast::__private::FleetBreaker =
                            ::steadfast::__private::FleetBreaker::new(#quorum);
                        __STEADFAST_FLEET_BREAKER.watch(#breaker);
                    } {});
                }
            });
        return quote! {
            #slot
            let #breaker = __STEADFAST_BREAKER.get();
            #fleet
        };
    };
    let lookup = with_key(key, |key| quote!(__STEADFAST_BREAKERS.get().get(#key)));
    let max_keys = args.max_keys.as_ref().map_or_else(
        || quote!(::steadfast::__private::DEFAULT_MAX_KEYS),
        |m| count_usize(&m.value),
    );
    let per_key = args.per_key_metrics.as_ref().is_some_and(|p| p.value);
    let spec = spec(args, cx);
    let spec = source(args, quote!((#spec, #max_keys, #per_key)));
    quote! {
        static __STEADFAST_BREAKERS: ::steadfast::__private::KeyedSlot =
            ::steadfast::__private::KeyedSlot::new(#spec);
        let #breaker = #lookup;
    }
}

/// Whether every value of the breaker's spec is known at compile time: literals, and a
/// policy (a `const`).
fn known_at_compile_time(args: &CircuitBreakerArgs) -> bool {
    let durations = [&args.window, &args.open_for]
        .into_iter()
        .flatten()
        .all(|d| matches!(d.value, crate::duration::DurationArg::Literal(..)));
    let counts = [
        &args.failure_threshold,
        &args.minimum_calls,
        &args.half_open_probes,
        &args.max_keys,
    ]
    .into_iter()
    .flatten()
    .all(|n| n.value.literal().is_some());
    let rate = args
        .failure_rate
        .as_ref()
        .is_none_or(|r| r.value.literal().is_some());
    durations && counts && rate
}

/// `breaker_spec(policy, name, default_name)`, built the first time the function is called:
/// the policy (`policy = …`, else the runtime's defaults) with each key written here set on
/// it, in a fixed order.
fn spec(args: &CircuitBreakerArgs, cx: &Cx<'_>) -> TokenStream {
    let name = name_arg(args.name.as_ref());
    let default_name = super::default_name(cx.func);
    let base = match &args.policy {
        Some(policy) => {
            let expr = &policy.value;
            quote_spanned!(policy.span=> ::steadfast::__private::breaker_policy(#expr))
        }
        None => quote!(::steadfast::__private::BreakerPolicy::DEFAULT),
    };
    let mut sets = Vec::new();
    if let Some(t) = &args.failure_threshold {
        let n = count_u32(&t.value);
        sets.push(quote!(.set_failure_threshold(#n)));
    }
    if let Some(r) = &args.failure_rate {
        let r = number(&r.value);
        sets.push(quote!(.set_failure_rate(#r)));
    }
    if let Some(w) = &args.window {
        let w = duration(&w.value);
        sets.push(quote!(.set_window(#w)));
    }
    if let Some(m) = &args.minimum_calls {
        let m = count_u32(&m.value);
        sets.push(quote!(.set_minimum_calls(#m)));
    }
    if let Some(d) = &args.open_for {
        let d = duration(&d.value);
        sets.push(quote!(.set_open_for(#d)));
    }
    if let Some(p) = &args.half_open_probes {
        let p = count_u32(&p.value);
        sets.push(quote!(.set_half_open_probes(#p)));
    }
    if let Some(c) = &args.critical {
        let c = c.value;
        sets.push(quote!(.set_critical(#c)));
    }
    quote! {
        ::steadfast::__private::breaker_spec(
            #base #(#sets)*,
            #name,
            #default_name,
        )
    }
}
