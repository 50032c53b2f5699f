//! `#[rate_limit]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::{
    Cx, Emit, Needs, count_u32, default_name, duration, max_keys_arg, name_arg, spec_literal,
    with_key,
};
use crate::args::rate_limit::RateLimitArgs;
use crate::item;

// Input:
//     #[rate_limit(rate = 100, per = "1s", max_wait = "2s")]
//     async fn fetch(url: &str) -> Result<Page, Error> { body }
//
// Output:
//     async fn fetch(url: &str) -> Result<Page, Error> {
//         static LIMITER: LimiterSlot = LimiterSlot::new(LimitSpec { rate: 100, per: 1s, max_wait: 2s, … });
//         'gate: {
//             let wait = match rate_limit_take(&LIMITER, rejection) {   // R: RateLimitReturn
//                 Ok(wait) => wait,                               // its turn, reserved
//                 Err(limited) => break 'gate limited,            // Err(From::from(RateLimited))
//             };
//             if !wait.is_zero() { sleep(wait).await }
//             <inner>                                             // the body, or the next layer
//         }
//     }
//
// A sync function sleeps its thread. `rejection` is the slot of a layer above that reads
// rejections (`#[retry]` waits the turn out; `#[circuit_breaker]` counts it for nothing).
impl Emit for RateLimitArgs {
    fn needs(&self) -> Needs {
        Needs {
            rejects: true,
            figures: true,
            ..Needs::default()
        }
    }

    /// Listed before `main`, so that `config` knows it before the function's first call.
    fn listed(&self) -> Option<(&'static str, TokenStream)> {
        Some(("rate_limit", quote!(&__STEADFAST_LIMITER)))
    }

    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream {
        let function = cx.function;
        let fleet = self.scope.as_ref().is_some_and(|s| s.value == "fleet");
        let default_name = default_name(cx.func);
        let some = |v: TokenStream| quote!(::core::option::Option::Some(#v));
        let none = quote!(::core::option::Option::None);
        let max_keys = max_keys_arg(
            self.key.as_ref(),
            self.max_keys.as_ref(),
            quote!(::steadfast::__private::LimitSpec::DEFAULT_MAX_KEYS),
        );
        // `rate` is required without a policy: the validator reported its absence, the
        // default only keeps going.
        let spec = spec_literal(
            quote!(::steadfast::__private::LimitSpec),
            vec![
                ("name", self.name.as_ref().map(|_| name_arg(self.name.as_ref())), none.clone()),
                ("default_name", Some(default_name.clone()), TokenStream::new()),
                ("rate", self.rate.as_ref().map(|r| count_u32(&r.value)), quote!(1)),
                (
                    "per",
                    self.per.as_ref().map(|p| duration(&p.value)),
                    quote!(::steadfast::__private::LimitSpec::DEFAULT_PER),
                ),
                ("burst", self.burst.as_ref().map(|b| some(count_u32(&b.value))), none),
                (
                    "max_wait",
                    self.max_wait.as_ref().map(|w| duration(&w.value)),
                    quote!(::steadfast::__private::Duration::ZERO),
                ),
                ("max_keys", Some(max_keys), TokenStream::new()),
                (
                    "fleet_nodes",
                    fleet.then(|| {
                        some(
                            self.expected_nodes
                                .as_ref()
                                .map_or_else(|| quote!(1), |n| count_u32(&n.value)),
                        )
                    }),
                    quote!(::core::option::Option::None),
                ),
                (
                    "fleet_lease",
                    self.lease.as_ref().map(|n| count_u32(&n.value)),
                    quote!(::steadfast::__private::LimitSpec::NO_LEASE),
                ),
            ],
            self.policy.as_ref().map(|p| {
                let policy = &p.value;
                quote_spanned!(p.span=> ::steadfast::__private::rate_limit_policy_of(#policy, #default_name))
            }),
        );
        let slot = cx.rejection.fill_arg();
        let (wait, limited) = (
            Cx::local("__steadfast_wait"),
            Cx::local("__steadfast_limited"),
        );
        let sleep = if cx.is_async() {
            quote!(::steadfast::__private::sleep(#wait).await)
        } else {
            quote!(::steadfast::__private::sleep_blocking(#wait))
        };
        // Spanned at the return type: a return type that cannot take the rejection is
        // reported there.
        let take = match &self.key {
            // The fleet's decision (or `None`: this process's share decides), awaited
            // before the function's `Result` exists.
            None if fleet => {
                let decided = Cx::local("__steadfast_decided");
                let ask = if cx.is_async() {
                    quote!(::steadfast::__private::fleet_take(&__STEADFAST_LIMITER).await)
                } else {
                    quote!(::steadfast::__private::fleet_take_blocking(
                        &__STEADFAST_LIMITER
                    ))
                };
                let decide = quote_spanned!(item::output_span(cx.func)=>
                    ::steadfast::__private::rate_limit_decided(&__STEADFAST_LIMITER, #decided, #slot)
                );
                // Without the feature `redis`, one error on `scope = "fleet"`.
                let at = self
                    .scope
                    .as_ref()
                    .map_or_else(proc_macro2::Span::call_site, |s| s.key.span());
                let gate = quote_spanned!(at=> ::steadfast::__private::fleet_gate!);
                quote! {{
                    let #decided = #gate({ #ask } { ::core::option::Option::None });
                    #decide
                }}
            }
            None => quote_spanned!(item::output_span(cx.func)=>
                ::steadfast::__private::rate_limit_take(&__STEADFAST_LIMITER, #slot)
            ),
            Some(key) => with_key(key, |key| {
                quote_spanned!(item::output_span(cx.func)=>
                    ::steadfast::__private::rate_limit_take_key(&__STEADFAST_LIMITER, #key, #slot)
                )
            }),
        };
        let gate = syn::Lifetime::new("'__steadfast_limit", proc_macro2::Span::mixed_site());
        quote! {
            static __STEADFAST_LIMITER: ::steadfast::__private::LimiterSlot =
                ::steadfast::__private::LimiterSlot::new(#spec, #function);
            #gate: {
                // Settled before any await: the `Result` holds the return type, which need
                // not be `Send`.
                let #wait = match #take {
                    ::core::result::Result::Ok(#wait) => #wait,
                    ::core::result::Result::Err(#limited) => break #gate #limited,
                };
                if !#wait.is_zero() {
                    #sleep;
                }
                #inner
            }
        }
    }
}
