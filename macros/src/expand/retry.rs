//! `#[retry]`

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::visit::Visit;
use syn::{FnArg, Ident, Pat, Type};

use crate::args::RetryArgs;
use crate::duration::DurationArg;
use crate::item::{self, Func};
use crate::kind::Kind;

pub(crate) const DEFAULT_DELAY_NANOS: u64 = 100_000_000;
const DEFAULT_MAX_DELAY_NANOS: u64 = 10_000_000_000;
const DEFAULT_ATTEMPTS: u32 = 3;

// Input:
//     #[retry(attempts = 3, delay = "50ms")]
//     fn fetch(url: String, client: &Client) -> Result<Page, Error> { body }
//
// Output:
//     fn fetch(url: String, client: &Client) -> Result<Page, Error> {
//         static STATS: RetryStats = RetryStats::new("module::fetch");
//         let policy = RetryPolicy { attempts: 3, delay: 50ms, .. };
//         let mut state = RetryState::new(&policy, std_now);     // no clock read without max_elapsed
//         loop {
//             let out = {
//                 let url = retry_clone(&url);                    // by-value arguments, per attempt
//                 <inner>                                         // the body, or the next layer
//             };
//             match retry_step(&out, &mut state, &policy, &STATS, retry_if, rejection) {
//                 Step::Stop => break out,                        // success: one branch
//                 Step::Wait(d) => sleep(d),                      // `.await`ed in an async fn
//             }
//         }
//     }
//
// With a `#[circuit_breaker]` inside, `rejection` is a slot the breaker fills when it
// rejects, so that the retry waits it out instead of spending attempts on it.
pub(crate) fn wrap(
    inner: TokenStream,
    args: &RetryArgs,
    function: &TokenStream,
    func: &Func,
    kind: &Kind,
    rejection: Option<&Ident>,
) -> TokenStream {
    let local = |name: &str| Ident::new(name, Span::mixed_site());
    let (policy, state, wait) = (
        local("__steadfast_policy"),
        local("__steadfast_retry"),
        local("__steadfast_wait"),
    );
    // The result is the argument that fixes the return type's bound, so it is named with
    // the user's hygiene and located at the return type: a wrong return type is reported
    // there (a mixed-site name would be reported at the attribute).
    let ret_span = item::output_span(func);
    let out = Ident::new("__steadfast_out", Span::call_site());
    let out_at_ret = Ident::new("__steadfast_out", ret_span);
    let policy_expr = policy_tokens(args);
    let clones = clones(func);
    let (now, sleep) = if matches!(kind, Kind::Sync) {
        (
            quote!(::steadfast::__private::std_now),
            quote!(::steadfast::__private::sleep_blocking(#wait)),
        )
    } else {
        (
            quote!(::steadfast::__private::tokio_now),
            quote!(::steadfast::__private::sleep(#wait).await),
        )
    };
    let (declare_slot, take_slot) = match rejection {
        Some(slot) => (
            quote!(let mut #slot: ::core::option::Option<::steadfast::CircuitOpen> = ::core::option::Option::None;),
            quote!(#slot.take()),
        ),
        None => (quote!(), quote!(::core::option::Option::None)),
    };
    let step = match &args.retry_if {
        None => quote_spanned! {ret_span=>
            ::steadfast::__private::retry_step(&#out_at_ret, &mut #state, #policy, &__STEADFAST_RETRY, #take_slot)
        },
        Some(retry_if) => {
            let f = &retry_if.value;
            quote_spanned! {ret_span=>
                ::steadfast::__private::retry_step_if(&#out_at_ret, &mut #state, #policy, &__STEADFAST_RETRY, #f, #take_slot)
            }
        }
    };
    // Literal durations make a constant policy: a `static`, not a struct built per call.
    let constant = [&args.delay, &args.max_delay, &args.max_elapsed]
        .into_iter()
        .flatten()
        .all(|d| matches!(d.value, DurationArg::Literal(..)));
    let policy_binding = if constant {
        quote! {
            static __STEADFAST_POLICY: ::steadfast::__private::RetryPolicy = #policy_expr;
            let #policy = &__STEADFAST_POLICY;
        }
    } else {
        quote!(let #policy = &#policy_expr;)
    };
    quote! {
        static __STEADFAST_RETRY: ::steadfast::__private::RetryStats =
            ::steadfast::__private::RetryStats::new(#function);
        #policy_binding
        let mut #state = ::steadfast::__private::RetryState::new(#policy, #now);
        #declare_slot
        loop {
            let #out = {
                #(#clones)*
                #inner
            };
            match #step {
                ::steadfast::__private::Step::Stop => break #out,
                ::steadfast::__private::Step::Wait(#wait) => #sleep,
            }
        }
    }
}

fn policy_tokens(args: &RetryArgs) -> TokenStream {
    let nanos = |n: u64| quote!(::steadfast::__private::Duration::from_nanos(#n));
    let attempts = Literal::u32_unsuffixed(args.attempts.as_ref().map_or(DEFAULT_ATTEMPTS, |a| {
        u32::try_from(a.value).unwrap_or(u32::MAX)
    }));
    let delay = args
        .delay
        .as_ref()
        .map_or_else(|| nanos(DEFAULT_DELAY_NANOS), |d| d.value.to_tokens());
    let max_delay = args
        .max_delay
        .as_ref()
        .map_or_else(|| nanos(DEFAULT_MAX_DELAY_NANOS), |d| d.value.to_tokens());
    let multiplier = Literal::f64_unsuffixed(args.multiplier.as_ref().map_or(2.0, |m| m.value));
    let backoff = match args.backoff.as_ref().map(|b| b.value.as_str()) {
        Some("constant") => quote!(::steadfast::__private::Backoff::Constant),
        Some("linear") => quote!(::steadfast::__private::Backoff::Linear),
        _ => quote!(::steadfast::__private::Backoff::Exponential { multiplier: #multiplier }),
    };
    let jitter = match args.jitter.as_ref().map(|j| j.value.as_str()) {
        Some("none") => quote!(::steadfast::__private::Jitter::None),
        Some("equal") => quote!(::steadfast::__private::Jitter::Equal),
        Some("decorrelated") => quote!(::steadfast::__private::Jitter::Decorrelated),
        _ => quote!(::steadfast::__private::Jitter::Full),
    };
    let max_elapsed = match &args.max_elapsed {
        Some(d) => {
            let d = d.value.to_tokens();
            quote!(::core::option::Option::Some(#d))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        ::steadfast::__private::RetryPolicy {
            attempts: #attempts,
            delay: #delay,
            backoff: #backoff,
            max_delay: #max_delay,
            jitter: #jitter,
            max_elapsed: #max_elapsed,
        }
    }
}

/// `let x = retry_clone(&x);` for every binding of every argument taken by value, spanned
/// at the binding, so that a type that is not `Clone` is reported on its argument.
/// References (`&T`, `&mut T`) are not cloned: the body borrows them again each attempt.
fn clones(func: &Func) -> Vec<TokenStream> {
    struct Bindings(Vec<syn::PatIdent>);
    impl<'ast> Visit<'ast> for Bindings {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            if p.by_ref.is_none() {
                self.0.push(p.clone());
            }
            syn::visit::visit_pat_ident(self, p);
        }
    }
    let mut bindings = Bindings(Vec::new());
    for input in &func.sig.inputs {
        if let FnArg::Typed(arg) = input {
            if !matches!(*arg.ty, Type::Reference(_)) && !matches!(*arg.pat, Pat::Wild(_)) {
                bindings.visit_pat(&arg.pat);
            }
        }
    }
    bindings
        .0
        .iter()
        .map(|binding| {
            let ident = &binding.ident;
            let mutability = &binding.mutability;
            // The body now mutates the copy: keep the argument's own `mut` from looking
            // unused (whether the body needs it is then told on the copy, at the same `mut`).
            let keep_mut = mutability.map(|_| quote!(let _ = &mut #ident;));
            quote_spanned! {ident.span()=>
                #keep_mut
                let #mutability #ident = ::steadfast::__private::retry_clone(&#ident);
            }
        })
        .collect()
}
