//! The innermost layer (the user's body, as an expression) and the function's new body.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Pat, Type};

use crate::item::{self, Func};
use crate::kind::Kind;

/// The user's body as an expression that evaluates to the function's output, in its
/// own closure or async block so that `return` and `?` keep their meaning.
///
/// Output (sync):  `call_once(move || { <pin the type>; body statements })`
/// Output (async): `async move { <pin the type>; body statements }.await`
///
/// `repeated`: the body runs once per attempt of a `#[retry]`. Then the closure or
/// block is not `move`: it borrows what it only reads (`&mut self` included), and starts
/// by cloning each argument taken by value (`let x = retry_clone(&x);`), for the body to
/// consume.
///
/// `items`: item statements (the entries made before `main`) put first inside the closure or async
/// block, where every layer's statics are in scope, without a block of their own (which
/// would cost `#[timeout]` and `#[monitored]` a second async block around the body's).
pub(crate) fn innermost(
    kind: &Kind,
    func: &Func,
    repeated: bool,
    items: TokenStream,
) -> TokenStream {
    let stmts = &func.block.stmts;
    let capture = (!repeated).then(|| quote!(move));
    // Each attempt's copies of the by-value arguments are made inside the closure or
    // block, as its own locals: captured as one reference to the argument, not stored
    // in the future beside a reference to the copy.
    let items = if repeated {
        let clones = clones(func);
        quote!(#items #(#clones)*)
    } else {
        items
    };
    match kind {
        // The body's statements go straight into the closure or async block, after the
        // type pin: wrapped in a block of their own, `{ Ok(x) }` would make rustc say
        // "unnecessary braces" about the user's code.
        Kind::Sync => {
            let pin = pin_output_type(func);
            quote! {
                ::steadfast::__private::call_once(#capture || { #items #pin #(#stmts)* })
            }
        }
        Kind::Async => {
            let pin = pin_output_type(func);
            quote! {
                (async #capture { #items #pin #(#stmts)* }).await
            }
        }
        // `#[async_trait]` pinned the type itself.
        Kind::BoxedAsync(inner) => {
            let mut inner = inner.clone();
            if repeated {
                inner = reborrowing(inner, func);
            }
            if !items.is_empty() {
                inner
                    .block
                    .stmts
                    .insert(0, syn::Stmt::Item(syn::Item::Verbatim(items)));
            }
            quote!((#inner).await)
        }
    }
}

/// `#[async_trait]`'s `async move { …; let mut __self = self; … }`, made to run once per
/// attempt: not `move` (it borrows what it only reads, as `&mut` arguments), and with a
/// `&mut self` receiver reborrowed (`&mut *self`) instead of moved, so the next attempt
/// has it again.
fn reborrowing(mut block: syn::ExprAsync, func: &Func) -> syn::ExprAsync {
    block.capture = None;
    let mutable_receiver = match func.sig.inputs.first() {
        Some(syn::FnArg::Receiver(receiver)) => match &receiver.kind {
            syn::ReceiverKind::Reference(_, _, mutability) => mutability.is_some(),
            syn::ReceiverKind::Typed(_, ty) => {
                matches!(&**ty, Type::Reference(r) if r.mutability.is_some())
            }
            _ => false,
        },
        _ => false,
    };
    if mutable_receiver {
        for stmt in &mut block.block.stmts {
            let syn::Stmt::Local(local) = stmt else {
                continue;
            };
            let binds_self = matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "__self");
            if let (true, Some(init)) = (binds_self, &mut local.init) {
                let span = syn::spanned::Spanned::span(&*init.expr);
                let this = &init.expr;
                let reborrow: syn::Expr = syn::parse_quote_spanned!(span=> &mut *#this);
                *init.expr = reborrow;
            }
        }
    }
    block
}

/// The attempts of a stack the runtime runs (`expand::stacked`), for an `async fn` whose
/// arguments the attempts can share: `(bindings, maker)`. `bindings` rebinds each by-value
/// argument to a reference to it; `maker` is `move || async move { … }`, whose block starts
/// by cloning those for the attempt's body (`let x = retry_clone(x);`). `None` when an
/// argument (or the receiver) is a `&mut`, taken by value, or bound by `ref`: those cannot be
/// handed to attempts through a shared closure.
pub(crate) fn attempts(func: &Func) -> Option<(TokenStream, TokenStream)> {
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                let shared = match &receiver.kind {
                    syn::ReceiverKind::Reference(_, _, mutability) => mutability.is_none(),
                    syn::ReceiverKind::Typed(_, ty) => {
                        matches!(&**ty, Type::Reference(r) if r.mutability.is_none())
                    }
                    _ => false,
                };
                if !shared {
                    return None;
                }
            }
            FnArg::Typed(arg) => {
                let mut_ref = matches!(&*arg.ty, Type::Reference(r) if r.mutability.is_some());
                if mut_ref || binds_ref_mut(&arg.pat) {
                    return None;
                }
            }
        }
    }
    let mut rebind = Vec::new();
    let mut clone = Vec::new();
    for binding in by_value(func) {
        let ident = &binding.ident;
        let mutability = &binding.mutability;
        // The argument is only borrowed now: keep its `mut` from looking unused (whether
        // the body needs it is then told on the copy, at the same `mut`).
        let keep_mut = mutability.map(|_| quote!(let _ = &mut #ident;));
        rebind.push(quote_spanned! {ident.span()=>
            #keep_mut
            let #ident = &#ident;
        });
        clone.push(quote_spanned! {ident.span()=>
            let #mutability #ident = ::steadfast::__private::retry_clone(#ident);
        });
    }
    let pin = pin_output_type(func);
    let stmts = &func.block.stmts;
    Some((
        quote!(#(#rebind)*),
        quote!(move || async move { #(#clone)* #pin #(#stmts)* }),
    ))
}

/// Whether `pat` binds anything by `ref mut`.
fn binds_ref_mut(pat: &Pat) -> bool {
    struct RefMut(bool);
    impl<'ast> Visit<'ast> for RefMut {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            self.0 |= p.by_ref.is_some() && p.mutability.is_some();
            syn::visit::visit_pat_ident(self, p);
        }
    }
    let mut found = RefMut(false);
    found.visit_pat(pat);
    found.0
}

/// The function's new body (inside its braces) around the wrapped expression.
pub(crate) fn body(kind: &Kind, wrapped: TokenStream) -> TokenStream {
    match kind {
        Kind::Sync | Kind::Async => wrapped,
        Kind::BoxedAsync(_) => quote! {
            ::steadfast::__private::Box::pin(async move { #wrapped })
        },
    }
}

/// `ty` as it can be written in an expression: each `impl Trait` in it as `_`.
pub(crate) fn nameable(ty: &Type) -> Type {
    let mut ty = ty.clone();
    InferImplTrait.visit_type_mut(&mut ty);
    ty
}

/// The function's output type as it can be written in its body, or `_` where it cannot
/// (the boxed future of `#[async_trait]`).
pub(crate) fn output_type(kind: &Kind, func: &Func) -> TokenStream {
    if matches!(kind, Kind::BoxedAsync(_)) {
        return quote!(_);
    }
    let output = nameable(&item::output(func));
    quote!(#output)
}

/// `: Output` for a local of the layers, or nothing when the output cannot be named there.
pub(crate) fn out_type(kind: &Kind, func: &Func) -> TokenStream {
    if matches!(kind, Kind::BoxedAsync(_)) {
        return TokenStream::new();
    }
    let mut output = item::output(func);
    InferImplTrait.visit_type_mut(&mut output);
    quote!(: #output)
}

/// `if let Some(r) = None::<Output> { return r; }`: settles the type of the closure or
/// async block before its body is checked, so `?` in it converts errors as it did in the
/// function (the same device as `#[async_trait]`).
fn pin_output_type(func: &Func) -> TokenStream {
    let mut output = item::output(func);
    InferImplTrait.visit_type_mut(&mut output);
    let ret = syn::Ident::new("__steadfast_ret", Span::mixed_site());
    quote! {
        #[allow(unreachable_code, clippy::diverging_sub_expression)]
        if let ::core::option::Option::Some(#ret) = ::core::option::Option::None::<#output> {
            return #ret;
        }
    }
}

/// `impl Trait` cannot be named in an expression; `_` lets the compiler fill it in.
struct InferImplTrait;

impl VisitMut for InferImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(imp) = ty {
            let span = syn::spanned::Spanned::span(imp);
            *ty = syn::parse_quote_spanned!(span=> _);
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

/// `let x = retry_clone(&x);` for every binding of every argument taken by value, spanned
/// at the binding, so that a type that is not `Clone` is reported on its argument.
/// References (`&T`, `&mut T`) are not cloned: the body borrows them again each attempt.
fn clones(func: &Func) -> Vec<TokenStream> {
    by_value(func)
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

/// Every binding of every argument taken by value (not `&T` or `&mut T`, not `_`).
fn by_value(func: &Func) -> Vec<syn::PatIdent> {
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
    bindings.0
}
