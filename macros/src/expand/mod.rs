//! The emit stage: each attribute wraps the expression built by the ones below it.
//!
//! Every emitter has the same shape, `wrap(inner, &args, &Cx) -> TokenStream`: `inner` is
//! the body (or the layers below) as one expression, and the result is the statements of
//! this layer followed by the value. [`Cx`] carries what every emitter needs; [`Needs`] is
//! what an attribute asks of the others, from which the driver plans the shared slots.

pub(crate) mod body;
pub(crate) mod bulkhead;
pub(crate) mod cached;
pub(crate) mod circuit_breaker;
pub(crate) mod fallback;
pub(crate) mod monitored;
pub(crate) mod rate_limit;
pub(crate) mod retry;
pub(crate) mod stacked;
pub(crate) mod supervised;
pub(crate) mod timeout;

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use crate::args::Num;
use crate::duration::DurationArg;
use crate::item::Func;
use crate::kind::Kind;

/// One attribute's emitter.
pub(crate) trait Emit {
    /// What this attribute asks of the layers around it.
    fn needs(&self) -> Needs {
        Needs::default()
    }

    /// The `function` label this attribute gives every layer's figures, if it names one.
    fn label(&self) -> Option<TokenStream> {
        None
    }

    /// What this layer lists before `main`: `("retry", expr)`, a kind of the runtime's
    /// `__private::list!` and a reference to a static. The expression may name the
    /// layer's statics: the entry is declared inside every layer's block.
    fn listed(&self) -> Option<(&'static str, TokenStream)> {
        None
    }

    /// This layer around `inner`: its statements, then its value.
    fn wrap(&self, inner: TokenStream, cx: &Cx<'_>) -> TokenStream;

    /// This layer as data, for a stack the runtime runs as one future ([`stacked`]): its
    /// statics and its `__private::Layer`. `None` (the default) where the layer's own code
    /// is needed for what it was asked.
    fn as_layer(&self, _cx: &Cx<'_>) -> Option<AsLayer> {
        None
    }

    /// An item emitted beside the function (`#[supervised]`'s `…_supervised`), given the
    /// label of the function's figures.
    fn companion(&self, _func: &Func, _kind: &Kind, _label: &TokenStream) -> Option<TokenStream> {
        None
    }
}

/// One layer of a stack run by the runtime (see [`Emit::as_layer`]).
pub(crate) struct AsLayer {
    /// The layer's statics, as its own code declares them.
    pub(crate) statics: TokenStream,
    /// A `::steadfast::__private::Layer` naming them.
    pub(crate) layer: TokenStream,
    /// The error of its own this layer can return in place of the body's output.
    pub(crate) returns: Option<Returns>,
}

/// An error a layer returns in place of the body's output: a bound on the return type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returns {
    /// `CircuitOpen` (`#[circuit_breaker]`).
    Open,
    /// `Elapsed` (`#[timeout]`).
    Elapsed,
}

/// What an attribute asks of the others on the same function.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Needs {
    /// The layers below run more than once per call (`#[retry]`): the body borrows what it
    /// reads, and by-value arguments are cloned for each run.
    pub(crate) repeats: bool,
    /// Waits out a rejection of a gate below it instead of treating it as a failure
    /// (`#[retry]`): it reads the rejection slot.
    pub(crate) waits_out_rejections: bool,
    /// Counts the rejections of a gate below it apart from the function's own errors
    /// (`#[monitored]`: a rejection is counted, not logged): it reads the rejection slot.
    pub(crate) counts_rejections: bool,
    /// Counts a gate below it that turned the call away for this process's own overload
    /// (`#[rate_limit]`) for nothing (`#[circuit_breaker]`): it reads the rejection slot.
    pub(crate) ignores_overload: bool,
    /// Replaces the function's errors (`#[fallback]`): it reads the rejection slot, and
    /// passes a rejection on only when it returns the error unchanged.
    pub(crate) replaces_errors: bool,
    /// Turns calls away with an error that says when to try again (`#[circuit_breaker]`,
    /// `#[rate_limit]`): it fills the rejection slot of a layer above that reads it.
    pub(crate) rejects: bool,
    /// Runs the layers below on another thread (`#[timeout(…, detach)]`): no slot can
    /// cross it.
    pub(crate) other_thread: bool,
    /// Keeps figures under the function's label (`Cx::function`).
    pub(crate) figures: bool,
}

/// What every emitter needs to know about the function and the stack.
pub(crate) struct Cx<'a> {
    pub(crate) func: &'a Func,
    pub(crate) kind: &'a Kind,
    /// The function whose figures this layer keeps, `&'static Function`: labelled with
    /// `#[monitored(name = …)]`, else `module_path!()::fn_name`.
    pub(crate) function: &'a TokenStream,
    /// The rejection slots the stack planned for this layer.
    pub(crate) rejection: Slots,
    /// `: T` for a local holding the value of the layers below (the function's output
    /// type, `impl Trait` as `_`), so rustc has less to infer; empty for a body that
    /// `#[async_trait]` rewrote (its declared output is the boxed future).
    pub(crate) out_type: &'a TokenStream,
}

impl Cx<'_> {
    /// A local of the generated code, invisible to the user's body.
    pub(crate) fn local(name: &str) -> Ident {
        Ident::new(name, Span::mixed_site())
    }

    pub(crate) fn is_async(&self) -> bool {
        !matches!(self.kind, Kind::Sync)
    }
}

/// `inner` as a future: the future itself when `inner` is one awaited (`(fut).await`, as
/// the body is), else `async { inner }`. One async block fewer per function is less for
/// rustc to check and compile.
pub(crate) fn as_future(inner: TokenStream) -> TokenStream {
    use proc_macro2::{Delimiter, TokenTree};
    let tokens: Vec<TokenTree> = inner.into_iter().collect();
    if let [
        TokenTree::Group(group),
        TokenTree::Punct(dot),
        TokenTree::Ident(await_),
    ] = tokens.as_slice()
    {
        if group.delimiter() == Delimiter::Parenthesis && dot.as_char() == '.' && await_ == "await"
        {
            return group.stream();
        }
    }
    quote!(async { #(#tokens)* })
}

/// `inner` as a closure to run on another thread: the body's own `move` closure when
/// `inner` is the body (`call_once(move || …)`), else `move || inner`. One closure fewer
/// per function. (The body's closure is not `move` when a `#[retry]` above repeats it: it
/// borrows, so it is wrapped.)
pub(crate) fn as_closure(inner: TokenStream) -> TokenStream {
    use proc_macro2::{Delimiter, TokenTree};
    let mut tokens: Vec<TokenTree> = inner.into_iter().collect();
    if let Some(TokenTree::Group(group)) = tokens.last() {
        let call = TokenStream::from_iter(tokens[..tokens.len() - 1].iter().cloned());
        let closure = group.stream();
        let moves =
            matches!(closure.clone().into_iter().next(), Some(TokenTree::Ident(m)) if m == "move");
        if group.delimiter() == Delimiter::Parenthesis
            && moves
            && call.to_string() == quote!(::steadfast::__private::call_once).to_string()
        {
            return closure;
        }
    }
    let inner = TokenStream::from_iter(tokens.drain(..));
    quote!(move || #inner)
}

/// The rejection slots of one layer: `Option<Rejected>` locals through which a gate tells
/// the layers above that it turned the call away.
#[derive(Debug, Default, Clone)]
pub(crate) struct Slots {
    /// The slot this layer declares and reads after the layers below ran (a reader with a
    /// gate below it).
    pub(crate) read: Option<Ident>,
    /// The slot of the nearest reader above, which this layer fills: a gate when it rejects,
    /// a reader with what it read.
    pub(crate) fill: Option<Ident>,
}

impl Slots {
    /// The argument a gate passes to the runtime: `Some(&mut slot)` of the reader above,
    /// or `None`.
    pub(crate) fn fill_arg(&self) -> TokenStream {
        match &self.fill {
            Some(slot) => quote!(::core::option::Option::Some(&mut #slot)),
            None => quote!(::core::option::Option::None),
        }
    }

    /// `slot = value;` into the reader above, if there is one.
    pub(crate) fn forward(&self, value: &TokenStream) -> TokenStream {
        match &self.fill {
            Some(slot) => quote!(#slot = #value;),
            None => TokenStream::new(),
        }
    }
}

/// `name = "…"` as the runtime takes it: `Some("…")`, or `None`.
pub(crate) fn name_arg(name: Option<&crate::args::Spanned<syn::LitStr>>) -> TokenStream {
    match name {
        Some(name) => {
            let lit = &name.value;
            quote!(::core::option::Option::Some(#lit))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// `module_path!()::fn_name`: the name of a breaker, retry, deadline, bulkhead, limiter or
/// cache when none is written, and the default label of a function's figures.
pub(crate) fn default_name(func: &crate::item::Func) -> TokenStream {
    let ident = func.sig.ident.to_string();
    quote!(::core::concat!(::core::module_path!(), "::", #ident))
}

/// `max_keys` of a gate that takes `key = …`, as `Option<usize>`: `None` without `key`, else
/// the value written or `default` (the runtime's constant).
pub(crate) fn max_keys_arg(
    key: Option<&crate::args::Spanned<syn::Expr>>,
    max_keys: Option<&crate::args::Spanned<Num<u64>>>,
    default: TokenStream,
) -> TokenStream {
    let value = match (key, max_keys) {
        (None, _) => return quote!(::core::option::Option::None),
        (Some(_), None) => default,
        (Some(_), Some(m)) => count_usize(&m.value),
    };
    quote!(::core::option::Option::Some(#value))
}

/// `key = …` as the runtime takes it: `call`, given the key's value (a reference to the
/// user's expression, by `Deref` where it has one, so `String` and `&str` keys look up
/// alike), inside a block that brings the two lookup traits in scope.
pub(crate) fn with_key(
    key: &crate::args::Spanned<syn::Expr>,
    call: impl FnOnce(TokenStream) -> TokenStream,
) -> TokenStream {
    let key_expr = &key.value;
    let value = quote_spanned! {key.span=>
        (&&::steadfast::__private::KeyWrap(&(#key_expr))).key()
    };
    let call = call(value);
    quote! {{
        #[allow(unused_imports)]
        use ::steadfast::__private::{KeyByDeref as _, KeyByValue as _};
        #call
    }}
}

/// A settings struct literal of the runtime (`BulkheadSpec { … }`): each field as written,
/// else its default; with `policy` (the policy's settings as that struct), the fields not
/// written come from it instead (`..policy`).
pub(crate) fn spec_literal(
    ty: TokenStream,
    fields: Vec<(&str, Option<TokenStream>, TokenStream)>,
    policy: Option<TokenStream>,
) -> TokenStream {
    let has_policy = policy.is_some();
    let set = fields.into_iter().filter_map(|(field, written, default)| {
        let value = match (written, has_policy) {
            (Some(value), _) => value,
            (None, true) => return None,
            (None, false) => default,
        };
        let field = Ident::new(field, Span::call_site());
        Some(quote!(#field: #value,))
    });
    let set: Vec<TokenStream> = set.collect();
    let rest = policy.map(|p| quote!(..#p));
    quote!(#ty { #(#set)* #rest })
}

/// The rejection slot read by the layer at `at` (outermost 0).
pub(crate) fn rejection_slot(at: usize) -> Ident {
    Cx::local(&format!("__steadfast_rejection_{at}"))
}

/// A duration as the runtime takes it: nanoseconds for a literal checked at compile time,
/// or the user's expression, type-checked as a `Duration` where it is written.
pub(crate) fn duration(d: &DurationArg) -> TokenStream {
    match d {
        DurationArg::Literal(nanos, _) => {
            quote!(::steadfast::__private::Duration::from_nanos(#nanos))
        }
        DurationArg::Expr(expr) => {
            quote_spanned!(expr.span()=> ::steadfast::__private::duration(#expr))
        }
    }
}

/// A count as the runtime takes it: a `u32` literal, or the user's expression, type-checked
/// as a `u32` where it is written (and checked by the runtime when first used).
pub(crate) fn count_u32(n: &Num<u64>) -> TokenStream {
    match n {
        Num::Literal(n) => {
            let n = Literal::u32_unsuffixed(u32::try_from(*n).unwrap_or(u32::MAX));
            quote!(#n)
        }
        Num::Expr(expr) => quote_spanned!(expr.span()=> ::steadfast::__private::count_u32(#expr)),
    }
}

/// [`count_u32`] for a `usize`.
pub(crate) fn count_usize(n: &Num<u64>) -> TokenStream {
    match n {
        Num::Literal(n) => {
            let n = Literal::usize_unsuffixed(usize::try_from(*n).unwrap_or(usize::MAX));
            quote!(#n)
        }
        Num::Expr(expr) => {
            quote_spanned!(expr.span()=> ::steadfast::__private::count_usize(#expr))
        }
    }
}

/// [`count_u32`] for a `u64`.
pub(crate) fn count_u64(n: &Num<u64>) -> TokenStream {
    match n {
        Num::Literal(n) => {
            let n = Literal::u64_unsuffixed(*n);
            quote!(#n)
        }
        Num::Expr(expr) => {
            quote_spanned!(expr.span()=> ::steadfast::__private::count_u64(#expr))
        }
    }
}

/// [`count_u32`] for an `f64`.
pub(crate) fn number(n: &Num<f64>) -> TokenStream {
    match n {
        Num::Literal(n) => {
            let n = Literal::f64_unsuffixed(*n);
            quote!(#n)
        }
        Num::Expr(expr) => quote_spanned!(expr.span()=> ::steadfast::__private::number(#expr)),
    }
}
