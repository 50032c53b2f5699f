//! What sort of function the body runs in: sync, `async`, or a body that `#[async_trait]`
//! already turned into `Box::pin(async move { … })`.

use syn::{Block, Expr, ExprAsync, Stmt};

use crate::item::Func;

pub(crate) enum Kind {
    Sync,
    Async,
    /// The async block inside `#[async_trait]`'s `Box::pin(…)`.
    BoxedAsync(ExprAsync),
}

impl Kind {
    pub(crate) fn of(func: &Func) -> Kind {
        if func.sig.asyncness.is_some() {
            return Kind::Async;
        }
        match boxed_async_block(&func.block) {
            Some(block) => Kind::BoxedAsync(block.clone()),
            None => Kind::Sync,
        }
    }
}

/// The body of a method `#[async_trait]` rewrote: a lone `Box::pin(async move { … })`.
fn boxed_async_block(block: &Block) -> Option<&ExprAsync> {
    let [Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_slice() else {
        return None;
    };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
        return None;
    }
    match &call.args[0] {
        Expr::Async(inner) if inner.capture.is_some() => Some(inner),
        _ => None,
    }
}
