//! `#[retry]`

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

use super::{AsLayer, Cx, Emit, Needs, count_u32, duration, number};
use crate::args::retry::RetryArgs;
use crate::duration::DurationArg;
use crate::item;

// Input:
//     #[retry(attempts = 3, delay = "50ms")]
//     fn fetch(url: String, client: &Client) -> Result<Page, Error> { body }
//
// Output:
//     fn fetch(url: String, client: &Client) -> Result<Page, Error> {
//         static POLICY: RetryCell = RetryCell::new(             // `config::apply` can replace it;
//             RetryPolicy::DEFAULT.set_attempts(3).set_delay(50ms), // the cell holds the counts too
//             "module::fetch", &FUNCTION);
//         list!(retry, &POLICY);   // listed before `main`: known before the first call
//         let mut state = POLICY.start(Waits::Thread);  // one load and a branch, `None`
//         loop {                                        // (with max_elapsed: the clock read)
//             let wait = {
//                 let out = <inner>;        // the next layer, or the body, which starts with
//                                           // `let url = retry_clone(&url);` (by-value arguments)
//                 if !retry_failed(&out) {
//                     break out;                                      // success: one branch
//                 }
//                 match retry_step(&out, &mut state, &POLICY, Waits::Thread, rejection.take()) {
//                     Step::Stop => break out,
//                     Step::Wait(d) => d,
//                 }
//             };                                                      // `out` is gone before the wait:
//             sleep_blocking(wait);                                   // `.await`ed in an async fn, and the
//         }                                                           // future stays `Send` if it was
//     }
//
// With a gate inside (a `#[circuit_breaker]`), `rejection` is a slot the gate fills when it
// turns a call away, so that the retry waits it out instead of spending attempts on it.
impl Emit for RetryArgs {
    fn needs(&self) -> Needs {
        Needs {
            repeats: true,
            waits_out_rejections: true,
            figures: true,
            ..Needs::default()
        }
    }

    /// Listed before `main`, so that `config` knows it before the function's first call.
    fn listed(&self) -> Option<(&'static str, TokenStream)> {
        Some(("retry", quote!(&__STEADFAST_POLICY)))
    }

    /// As data, unless `retry_if` asks for its own code.
    fn as_layer(&self, cx: &Cx<'_>) -> Option<AsLayer> {
        if self.retry_if.is_some() {
            return None;
        }
        Some(AsLayer {
            statics: policy_binding(self, cx),
            layer: quote!(::steadfast::__private::Layer::Retry(&__STEADFAST_POLICY)),
            returns: None,
        })
    }

    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
        let (state, wait) = (
            Cx::local("__steadfast_retry"),
            Cx::local("__steadfast_wait"),
        );
        // The result is the argument that fixes the return type's bound, so it is named with
        // the user's hygiene and located at the return type: a wrong return type is reported
        // there (a mixed-site name would be reported at the attribute).
        let ret_span = item::output_span(cx.func);
        let out = Ident::new("__steadfast_out", Span::call_site());
        let out_at_ret = Ident::new("__steadfast_out", ret_span);
        let (waits, sleep) = if cx.is_async() {
            (
                quote!(::steadfast::__private::Waits::Tokio),
                quote!(::steadfast::__private::sleep(#wait).await),
            )
        } else {
            (
                quote!(::steadfast::__private::Waits::Thread),
                quote!(::steadfast::__private::sleep_blocking(#wait)),
            )
        };
        let rejected = Cx::local("__steadfast_rejected");
        let (declare_slot, take_slot) = match &cx.rejection.read {
            Some(slot) => (
                quote!(let mut #slot = ::core::option::Option::None;),
                quote!(#slot.take()),
            ),
            None => (quote!(), quote!(::core::option::Option::None)),
        };
        // Giving up on a rejection returns it: the reader above learns it was one.
        let forward = cx.rejection.forward(&quote!(#rejected));
        let take_slot = if forward.is_empty() {
            take_slot
        } else {
            quote!(#rejected)
        };
        let take_first = (!forward.is_empty()).then(|| {
            let slot = &cx.rejection.read;
            quote!(let #rejected = #slot.take();)
        });
        let out_type = cx.out_type;
        let step = match &self.retry_if {
            None => quote_spanned! {ret_span=>
                ::steadfast::__private::retry_step(&#out_at_ret, &mut #state, &__STEADFAST_POLICY, #waits, #take_slot)
            },
            Some(retry_if) => {
                let f = &retry_if.value;
                quote_spanned! {ret_span=>
                    ::steadfast::__private::retry_step_if(&#out_at_ret, &mut #state, &__STEADFAST_POLICY, #waits, #f, #take_slot)
                }
            }
        };
        let failed = quote_spanned! {ret_span=>
            ::steadfast::__private::retry_failed(&#out_at_ret)
        };
        let policy_binding = policy_binding(self, cx);
        quote! {
            #policy_binding
            let mut #state = __STEADFAST_POLICY.start(#waits);
            #declare_slot
            loop {
                let #wait = {
                    let #out #out_type = #inner;
                    #take_first
                    if !#failed {
                        #forward
                        break #out;
                    }
                    match #step {
                        ::steadfast::__private::Step::Stop => {
                            #forward
                            break #out;
                        }
                        ::steadfast::__private::Step::Wait(#wait) => #wait,
                    }
                };
                #sleep;
            }
        }
    }
}

/// `static POLICY`: the policy (`policy = …`, else the runtime's defaults) with each key
/// written here set on it, as a value when every one is known at compile time (not a
/// struct built per call), else built at the first call and checked by the runtime.
fn policy_binding(args: &RetryArgs, cx: &Cx<'_>) -> TokenStream {
    let label = cx.function;
    let base = match &args.policy {
        Some(p) => {
            let expr = &p.value;
            quote_spanned!(p.span=> ::steadfast::__private::retry_policy_of(#expr))
        }
        None => quote!(::steadfast::__private::RetryPolicy::DEFAULT),
    };
    let mut sets = Vec::new();
    if let Some(a) = &args.attempts {
        let n = count_u32(&a.value);
        sets.push(quote!(.set_attempts(#n)));
    }
    if let Some(d) = &args.delay {
        let d = duration(&d.value);
        sets.push(quote!(.set_delay(#d)));
    }
    let multiplier = args.multiplier.as_ref().map(|m| number(&m.value));
    let backoff = args.backoff.as_ref().map(|b| match b.value.as_str() {
        "constant" => quote!(::steadfast::__private::Backoff::Constant),
        "linear" => quote!(::steadfast::__private::Backoff::Linear),
        _ => match &multiplier {
            Some(m) => quote!(::steadfast::__private::Backoff::Exponential { multiplier: #m }),
            None => quote!(::steadfast::__private::Backoff::DEFAULT),
        },
    });
    let backoff = backoff.or_else(|| {
        multiplier
            .as_ref()
            .map(|m| quote!(::steadfast::__private::Backoff::Exponential { multiplier: #m }))
    });
    if let Some(b) = backoff {
        sets.push(quote!(.set_backoff(#b)));
    }
    if let Some(d) = &args.max_delay {
        let d = duration(&d.value);
        sets.push(quote!(.set_max_delay(#d)));
    }
    if let Some(j) = &args.jitter {
        let j = match j.value.as_str() {
            "none" => quote!(None),
            "equal" => quote!(Equal),
            "decorrelated" => quote!(Decorrelated),
            _ => quote!(Full),
        };
        sets.push(quote!(.set_jitter(::steadfast::__private::Jitter::#j)));
    }
    if let Some(d) = &args.max_elapsed {
        let d = duration(&d.value);
        sets.push(quote!(.set_max_elapsed(::core::option::Option::Some(#d))));
    }
    let value = quote!(#base #(#sets)*);
    let constant = [&args.delay, &args.max_delay, &args.max_elapsed]
        .into_iter()
        .flatten()
        .all(|d| matches!(d.value, DurationArg::Literal(..)))
        && args
            .attempts
            .as_ref()
            .is_none_or(|a| a.value.literal().is_some())
        && args
            .multiplier
            .as_ref()
            .is_none_or(|m| m.value.literal().is_some());
    let default_name = super::default_name(cx.func);
    // `name = "…"` names it for `config`, over its policy's name.
    let value = match &args.name {
        Some(name) => {
            let lit = &name.value;
            quote!(#value.set_name(#lit))
        }
        None => value,
    };
    // A policy known at compile time is a `static`; values known only at run time are built
    // and checked at the first call. Either way `config::apply` can replace it, and it is
    // listed before `main` so that its name is known before the first call.
    let cell = if constant {
        quote!(::steadfast::__private::RetryCell::new(#value, #default_name, #label))
    } else {
        quote!(::steadfast::__private::RetryCell::lazy(|| #value, #default_name, #label))
    };
    quote! {
        static __STEADFAST_POLICY: ::steadfast::__private::RetryCell = #cell;
    }
}
