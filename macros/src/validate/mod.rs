//! The validate stage: the arguments against each other and against the function. Every
//! problem is collected; none stops the others from being found.

pub(crate) mod bulkhead;
pub(crate) mod cached;
pub(crate) mod circuit_breaker;
pub(crate) mod fallback;
pub(crate) mod monitored;
pub(crate) mod rate_limit;
pub(crate) mod retry;
pub(crate) mod supervised;
pub(crate) mod timeout;

use std::collections::BTreeSet;

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, FnArg, Ident, Pat};

use crate::errors::Errors;
use crate::item::Func;
use crate::kind::Kind;

/// One attribute's semantic checks.
pub(crate) trait Check {
    /// Records an error for each problem with these arguments on this function.
    fn check(&self, _cx: &Cx<'_>, _errors: &mut Errors) {}
}

/// What the checks see of the function.
pub(crate) struct Cx<'a> {
    pub(crate) func: &'a Func,
    pub(crate) kind: &'a Kind,
}

/// `key = expr` must be made of the function's arguments.
pub(crate) fn key_uses_arguments(key: &Expr, func: &Func, errors: &mut Errors) {
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
