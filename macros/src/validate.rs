//! Semantic checks: the arguments against each other, and against the function. Every
//! problem is collected; none stops the others from being found.

use std::collections::BTreeSet;

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, FnArg, Ident, Pat};

use crate::args::breaker::MAX_IN_WINDOW;
use crate::args::{BreakerArgs, RetryArgs, TimeoutArgs};
use crate::duration::DurationArg;
use crate::item::Func;
use crate::kind::Kind;

/// Every error found so far, combined into one.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn take(self) -> Option<syn::Error> {
        self.0
    }
}

/// `#[circuit_breaker]`: keys that only make sense together, and `key` against the
/// function's arguments.
pub(crate) fn breaker(args: &BreakerArgs, func: &Func, errors: &mut Errors) {
    if let Some(window) = &args.window {
        if !args.has("failure_threshold") && !args.has("failure_rate") {
            errors.push(syn::Error::new(
                window.key.span(),
                "`window` needs `failure_threshold` (open on N failures within the window) or `failure_rate` (open on a failure rate over the window)",
            ));
        }
    }
    if let (Some(rate), true) = (&args.failure_rate, args.has("failure_threshold")) {
        errors.push(syn::Error::new(
            rate.key.span(),
            "`failure_rate` and `failure_threshold` are two different ways to open a breaker; use one of them",
        ));
    }
    if let Some(minimum) = &args.minimum_calls {
        if !args.has("failure_rate") {
            errors.push(syn::Error::new(
                minimum.key.span(),
                "`minimum_calls` goes with `failure_rate`: the rate counts once the window holds that many calls",
            ));
        }
    }
    if let (Some(threshold), Some(_)) = (&args.failure_threshold, &args.window) {
        if threshold.value > MAX_IN_WINDOW {
            errors.push(syn::Error::new(
                threshold.span,
                format!(
                    "`failure_threshold` with `window` must be at most {MAX_IN_WINDOW}: the breaker keeps the time of each failure; use `failure_rate` for larger volumes"
                ),
            ));
        }
    }
    if let Some(max_keys) = &args.max_keys {
        if !args.has("key") {
            errors.push(syn::Error::new(
                max_keys.key.span(),
                "`max_keys` bounds the breakers of `key = …`; it needs `key`",
            ));
        }
    }
    if let Some(key) = &args.key {
        key_uses_arguments(&key.value, func, errors);
    }
}

/// `#[retry]`: keys that only make sense together, and arguments it can hand to every
/// attempt.
pub(crate) fn retry(args: &RetryArgs, func: &Func, errors: &mut Errors) {
    if let Some(multiplier) = &args.multiplier {
        if let Some(backoff) = args.backoff.as_ref().filter(|b| b.value != "exponential") {
            errors.push(syn::Error::new(
                multiplier.key.span(),
                format!(
                    "`multiplier` applies to `backoff = \"exponential\"`, not to `backoff = \"{}\"`",
                    backoff.value
                ),
            ));
        }
    }
    if let (Some(delay), Some(max_delay)) = (&args.delay, &args.max_delay) {
        if let (DurationArg::Literal(d, _), DurationArg::Literal(max, _)) =
            (&delay.value, &max_delay.value)
        {
            if max < d {
                errors.push(syn::Error::new(
                    max_delay.span,
                    "`max_delay` is shorter than `delay`: no wait could be as long as `delay`",
                ));
            }
        }
    } else if let (None, Some(max_delay)) = (&args.delay, &args.max_delay) {
        if let DurationArg::Literal(max, _) = &max_delay.value {
            if *max < crate::expand::retry::DEFAULT_DELAY_NANOS && !args.has("delay") {
                errors.push(syn::Error::new(
                    max_delay.span,
                    "`max_delay` is shorter than the default `delay` of 100ms; set `delay` too",
                ));
            }
        }
    }
    if let Some(syn::FnArg::Receiver(receiver)) = func.sig.inputs.first() {
        let by_reference = match &receiver.kind {
            syn::ReceiverKind::Reference(..) => true,
            syn::ReceiverKind::Typed(_, ty) => matches!(**ty, syn::Type::Reference(_)),
            _ => false,
        };
        if !by_reference {
            errors.push(syn::Error::new(
                receiver.self_token.span,
                "`#[retry]` cannot give every attempt its own `self` when the method takes `self` by value; take `&self` or `&mut self`",
            ));
        }
    }
}

/// `#[timeout]`: a sync body cannot be interrupted, so it needs `detach`; an async one
/// must not have it.
pub(crate) fn timeout(args: &TimeoutArgs, func: &Func, kind: &Kind, errors: &mut Errors) {
    match (kind, &args.detach) {
        (Kind::Sync, None) => {
            let span = args.after.as_ref().map_or(args.span, |after| after.span());
            errors.push(syn::Error::new(
                span,
                format!(
                    "`#[timeout]` cannot interrupt a sync function: a thread cannot be stopped from outside. \
                     Write `#[timeout({}, detach)]` to run `{}` on a helper thread and return `Elapsed` at the deadline \
                     while that thread finishes on its own (arguments and result must be `Send + 'static`), \
                     or make the function `async`",
                    args.after.as_ref().map_or_else(|| "\"2s\"".to_owned(), DurationArg::source),
                    func.sig.ident,
                ),
            ));
        }
        (Kind::Async | Kind::BoxedAsync(_), Some(detach)) => errors.push(syn::Error::new(
            detach.span(),
            "`detach` is for sync functions; an async body is cancelled at the deadline without it",
        )),
        _ => {}
    }
}

/// `key = expr` must be made of the function's arguments.
fn key_uses_arguments(key: &Expr, func: &Func, errors: &mut Errors) {
    let arguments = argument_names(func);
    let mut used = Variables::default();
    used.visit_expr(key);
    let mut any_argument = false;
    for ident in &used.0 {
        let name = ident.to_string();
        if arguments.contains(&name) {
            any_argument = true;
        } else if name.starts_with(|c: char| c.is_lowercase() || c == '_') {
            let list = if arguments.is_empty() {
                "it has none".to_owned()
            } else {
                format!(
                    "its arguments are: {}",
                    arguments.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            errors.push(syn::Error::new(
                ident.span(),
                format!(
                    "`key` uses `{name}`, which is not an argument of `{}`; {list}",
                    func.sig.ident
                ),
            ));
            return;
        }
    }
    if !any_argument {
        errors.push(syn::Error::new(
            key.span(),
            "`key` must be made of the function's arguments (one breaker per value), such as `key = host`",
        ));
    }
}

fn argument_names(func: &Func) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(_) => {
                names.insert("self".to_owned());
            }
            FnArg::Typed(typed) => collect_bindings(&typed.pat, &mut names),
        }
    }
    names
}

fn collect_bindings(pat: &Pat, names: &mut BTreeSet<String>) {
    struct Bindings<'a>(&'a mut BTreeSet<String>);
    impl<'ast> Visit<'ast> for Bindings<'_> {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            self.0.insert(p.ident.to_string());
            syn::visit::visit_pat_ident(self, p);
        }
    }
    Bindings(names).visit_pat(pat);
}

/// Single-segment paths used as values (not called as functions).
#[derive(Default)]
struct Variables(Vec<Ident>);

impl<'ast> Visit<'ast> for Variables {
    fn visit_expr_path(&mut self, e: &'ast syn::ExprPath) {
        if e.qself.is_none() && e.path.leading_colon.is_none() && e.path.segments.len() == 1 {
            self.0.push(e.path.segments[0].ident.clone());
        }
    }

    fn visit_expr_call(&mut self, e: &'ast syn::ExprCall) {
        // `hash(host)`: `hash` is a function, not a variable.
        if !matches!(&*e.func, Expr::Path(_)) {
            self.visit_expr(&e.func);
        }
        for arg in &e.args {
            self.visit_expr(arg);
        }
    }

    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}

    fn visit_macro(&mut self, _: &'ast syn::Macro) {}
}
