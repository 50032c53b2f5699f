//! `#[supervised]`

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{FnArg, Ident};

use super::{Cx, Emit, count_u32, duration, name_arg, number, spec_literal};
use crate::args::supervised::SupervisedArgs;
use crate::item::Func;
use crate::kind::Kind;

// Input:
//     #[supervised(max_restarts = 3)]
//     async fn consume(queue: Queue) -> Result<(), Error> { body }
//
// Output: the function as it came (less the attribute), and beside it
//     fn consume_supervised(queue: Queue) -> steadfast::Task {
//         static TASK: TaskSlot = TaskSlot::new(TaskSpec { max_restarts: 3, ..TaskSpec::DEFAULT }, "module::consume");
//         let queue = task_arg(queue);                        // Clone + Send + 'static, checked here
//         supervise_async(&TASK, move || consume(Clone::clone(&queue)))   // sync: supervise_thread
//     }
impl Emit for SupervisedArgs {
    /// Not a layer: the function runs as written.
    fn wrap(&self, inner: TokenStream, _cx: &Cx<'_>) -> TokenStream {
        inner
    }

    fn companion(&self, func: &Func, kind: &Kind, label: &TokenStream) -> Option<TokenStream> {
        Some(companion(self, func, kind, label))
    }
}

fn companion(args: &SupervisedArgs, func: &Func, kind: &Kind, label: &TokenStream) -> TokenStream {
    let sig = &func.sig;
    let vis = &func.vis;
    let ident = &sig.ident;
    let name = format_ident!("{}_supervised", ident);
    let (generics, where_clause) = (&sig.generics, &sig.generics.where_clause);
    let mut params = Vec::new();
    let mut checks = Vec::new();
    let mut clones = Vec::new();
    let mut method = false;
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                method = true;
                params.push(match &receiver.kind {
                    syn::ReceiverKind::Typed(_, ty) => quote!(self: #ty),
                    _ => quote!(self),
                });
                clones.push(quote!(::core::clone::Clone::clone(&self)));
            }
            FnArg::Typed(typed) => {
                // Named hygienically, placed at the argument's type: an argument that cannot
                // be cloned or sent is reported there.
                let ty = &typed.ty;
                let at = ty.span().resolved_at(Span::mixed_site());
                let arg = Ident::new(&format!("__steadfast_arg{i}"), at);
                params.push(quote!(#arg: #ty));
                checks.push(quote_spanned!(at=>
                    let #arg = ::steadfast::__private::task_arg(#arg);
                ));
                clones.push(quote_spanned!(at=> ::core::clone::Clone::clone(&#arg)));
            }
        }
    }
    // A method, or a function whose signature names `Self`, lives in an `impl`.
    let in_impl = method || mentions_self(sig);
    let path = if in_impl {
        quote!(Self::#ident)
    } else {
        quote!(#ident)
    };
    let call = quote_spanned!(ident.span()=> #path(#(#clones),*));
    let spec = spec(args);
    let supervise = match kind {
        Kind::Sync => quote!(supervise_thread),
        _ => quote!(supervise_async),
    };
    let doc = format!(
        "Runs [`{ident}`]({}{ident}) under supervision: restarted with backoff when it fails, stopped on shutdown (`#[supervised]`).",
        if in_impl { "Self::" } else { "" }
    );
    // Placed at the return type: one the supervisor cannot judge is reported there.
    let supervise = quote_spanned!(crate::item::output_span(func)=>
        ::steadfast::__private::#supervise(&__STEADFAST_TASK, move || #call)
    );
    quote! {
        #[doc = #doc]
        #[allow(clippy::needless_pass_by_value, clippy::redundant_clone, clippy::redundant_closure)]
        #vis fn #name #generics (#(#params),*) -> ::steadfast::Task #where_clause {
            static __STEADFAST_TASK: ::steadfast::__private::TaskSlot =
                ::steadfast::__private::TaskSlot::new(#spec, #label);
            #(#checks)*
            #supervise
        }
    }
}

fn spec(args: &SupervisedArgs) -> TokenStream {
    let some = |v: TokenStream| quote!(::core::option::Option::Some(#v));
    let jitter = args.jitter.as_ref().map(|j| {
        let j = match j.value.as_str() {
            "none" => quote!(None),
            "equal" => quote!(Equal),
            "decorrelated" => quote!(Decorrelated),
            _ => quote!(Full),
        };
        quote!(::steadfast::__private::Jitter::#j)
    });
    let lit_true =
        |b: &crate::args::Spanned<bool>| if b.value { quote!(true) } else { quote!(false) };
    spec_literal(
        quote!(::steadfast::__private::TaskSpec),
        vec![
            (
                "name",
                args.name.as_ref().map(|_| name_arg(args.name.as_ref())),
                TokenStream::new(),
            ),
            (
                "permanent",
                args.restart.as_ref().map(|r| {
                    if r.value == "permanent" {
                        quote!(true)
                    } else {
                        quote!(false)
                    }
                }),
                TokenStream::new(),
            ),
            (
                "delay",
                args.delay.as_ref().map(|d| duration(&d.value)),
                TokenStream::new(),
            ),
            (
                "max_delay",
                args.max_delay.as_ref().map(|d| duration(&d.value)),
                TokenStream::new(),
            ),
            (
                "multiplier",
                args.multiplier.as_ref().map(|m| number(&m.value)),
                TokenStream::new(),
            ),
            ("jitter", jitter, TokenStream::new()),
            (
                "max_restarts",
                args.max_restarts.as_ref().map(|m| count_u32(&m.value)),
                TokenStream::new(),
            ),
            (
                "within",
                args.within.as_ref().map(|d| duration(&d.value)),
                TokenStream::new(),
            ),
            (
                "reset_after",
                args.reset_after.as_ref().map(|d| some(duration(&d.value))),
                TokenStream::new(),
            ),
            (
                "shutdown",
                args.shutdown.as_ref().map(|d| duration(&d.value)),
                TokenStream::new(),
            ),
            (
                "critical",
                args.critical.as_ref().map(lit_true),
                TokenStream::new(),
            ),
        ],
        Some(quote!(::steadfast::__private::TaskSpec::DEFAULT)),
    )
}

/// Whether the signature names `Self` anywhere.
fn mentions_self(sig: &syn::Signature) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "Self",
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(quote::ToTokens::to_token_stream(sig))
}
