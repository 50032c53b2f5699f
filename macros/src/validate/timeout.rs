//! `#[timeout]`

use super::{Check, Cx};
use crate::args::timeout::TimeoutArgs;
use crate::duration::DurationArg;
use crate::errors::Errors;
use crate::kind::Kind;

/// `#[timeout]`: a sync body cannot be interrupted, so it needs `detach`; an async one
/// must not have it.
impl Check for TimeoutArgs {
    fn check(&self, cx: &Cx<'_>, errors: &mut Errors) {
        let (args, func, kind) = (self, cx.func, cx.kind);
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
}
