//! `#[retry]`

use super::{Check, Cx};
use crate::args::retry::RetryArgs;
use crate::duration::DurationArg;
use crate::errors::Errors;

/// The runtime's default `delay` (`RetryPolicy::DEFAULT.delay`), for the one check that
/// needs it at compile time; a test ties the two.
pub(crate) const DEFAULT_DELAY_NANOS: u64 = 100_000_000;

/// `#[retry]`: keys that only make sense together, and arguments it can hand to every
/// attempt.
impl Check for RetryArgs {
    fn check(&self, cx: &Cx<'_>, errors: &mut Errors) {
        let (args, func) = (self, cx.func);
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
                if *max < DEFAULT_DELAY_NANOS && !args.has("delay") && !args.has("policy") {
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_delay_is_the_runtimes() {
        let runtime = steadfast::__private::RetryPolicy::DEFAULT.delay_value();
        assert_eq!(u128::from(super::DEFAULT_DELAY_NANOS), runtime.as_nanos());
    }
}
