//! `#[fallback]`

use syn::spanned::Spanned;
use syn::{FnArg, Pat};

use super::{Check, Cx};
use crate::args::fallback::FallbackArgs;
use crate::errors::Errors;

/// `#[fallback(f, args)]`: the fallback gets a reference to each argument, so each must be
/// a name it can be read by (`x: T`, not a pattern that takes it apart), and `&mut self`
/// stays the body's alone. Whether the fallback's signature fits is the compiler's check
/// (an error on its path naming the signature expected).
impl Check for FallbackArgs {
    fn check(&self, cx: &Cx<'_>, errors: &mut Errors) {
        if self.args.is_none() {
            return;
        }
        for input in &cx.func.sig.inputs {
            match input {
                FnArg::Receiver(r)
                    if matches!(r.kind, syn::ReceiverKind::Reference(_, _, Some(_))) =>
                {
                    errors.push(syn::Error::new(
                        r.span(),
                        "`#[fallback(…, args)]` gives the fallback a reference to each argument, and `&mut self` is the body's alone: take `&self`, or drop `args`",
                    ));
                }
                FnArg::Receiver(_) => {}
                FnArg::Typed(typed) => match &*typed.pat {
                    Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {}
                    other => errors.push(syn::Error::new(
                        other.span(),
                        "`#[fallback(…, args)]` gives the fallback a reference to each argument: name this one (`value: T`) instead of taking it apart",
                    )),
                },
            }
        }
    }
}
