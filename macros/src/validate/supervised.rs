//! `#[supervised]`

use syn::{FnArg, ReceiverKind, Type};

use super::{Check, Cx};
use crate::args::Num;
use crate::args::supervised::SupervisedArgs;
use crate::duration::DurationArg;
use crate::errors::Errors;

/// The runtime's defaults (`TaskSpec::DEFAULT`) that the window check needs at compile
/// time; a test ties them to the runtime's.
pub(crate) const DEFAULT_DELAY_NANOS: u64 = 1_000_000_000;
pub(crate) const DEFAULT_MAX_DELAY_NANOS: u64 = 30_000_000_000;
pub(crate) const DEFAULT_MULTIPLIER: f64 = 2.0;
pub(crate) const DEFAULT_MAX_RESTARTS: u64 = 5;
pub(crate) const DEFAULT_WITHIN_NANOS: u64 = 60_000_000_000;

/// `#[supervised]`: arguments it can clone for every run and send to another task, and a
/// window its backoff can fill.
impl Check for SupervisedArgs {
    fn check(&self, cx: &Cx<'_>, errors: &mut Errors) {
        for input in &cx.func.sig.inputs {
            match input {
                FnArg::Receiver(receiver) => {
                    let by_reference = matches!(receiver.kind, ReceiverKind::Reference(..))
                        || matches!(&receiver.kind, ReceiverKind::Typed(_, ty) if matches!(**ty, Type::Reference(_)));
                    if by_reference {
                        errors.push(syn::Error::new(
                            receiver.self_token.span,
                            "`#[supervised]` runs the method on a task of its own, which cannot borrow `self`; take `self` by value (`self: Arc<Self>` for a shared one)",
                        ));
                    }
                }
                FnArg::Typed(typed) => not_borrowed(&typed.ty, errors),
            }
        }
        if let Some(max_delay) = &self.max_delay {
            let delay = self
                .delay
                .as_ref()
                .map_or(Some(DEFAULT_DELAY_NANOS), |d| literal(&d.value));
            if let (Some(delay), DurationArg::Literal(max, _)) = (delay, &max_delay.value) {
                if *max < delay {
                    errors.push(syn::Error::new(
                        max_delay.span,
                        format!(
                            "`max_delay` is shorter than `delay` ({}): no wait could be as long as `delay`",
                            show(u128::from(delay))
                        ),
                    ));
                    return;
                }
            }
        }
        self.check_window(errors);
    }
}

impl SupervisedArgs {
    /// A `within` that the backoff alone spaces `max_restarts + 1` failures beyond can
    /// never see the task give up.
    fn check_window(&self, errors: &mut Errors) {
        let nanos = |d: &Option<crate::args::Spanned<DurationArg>>, default| match d {
            None => Some(default),
            Some(d) => literal(&d.value),
        };
        let (Some(delay), Some(max_delay), Some(within)) = (
            nanos(&self.delay, DEFAULT_DELAY_NANOS),
            nanos(&self.max_delay, DEFAULT_MAX_DELAY_NANOS),
            nanos(&self.within, DEFAULT_WITHIN_NANOS),
        ) else {
            return;
        };
        let multiplier = match &self.multiplier {
            None => DEFAULT_MULTIPLIER,
            Some(m) => match m.value {
                Num::Literal(m) => m,
                Num::Expr(_) => return,
            },
        };
        let restarts = match &self.max_restarts {
            None => DEFAULT_MAX_RESTARTS,
            Some(m) => match m.value.literal() {
                Some(n) => n,
                None => return,
            },
        };
        let waits = waits(delay, max_delay.max(delay), multiplier, restarts);
        let spread: u128 = waits.iter().sum();
        if spread < u128::from(within) {
            return;
        }
        let shown: Vec<String> = waits.iter().take(6).map(|w| show(*w)).collect();
        let more = if waits.len() > 6 { ", …" } else { "" };
        let at = self
            .within
            .as_ref()
            .map(|w| w.span)
            .or(self.max_restarts.as_ref().map(|m| m.span))
            .unwrap_or(self.span);
        errors.push(syn::Error::new(
            at,
            format!(
                "`within = {}` can never see more than `max_restarts = {restarts}` restarts, so the task would never give up: the backoff alone puts {} between a first failure and the {} ({}{more}); make `within` longer than that, or lower `delay` or `max_restarts`",
                show(u128::from(within)),
                show(spread),
                ordinal(restarts + 1),
                shown.join(" + "),
            ),
        ));
    }
}

/// The backoff's waits before each of the first `n` restarts, before jitter, in
/// nanoseconds.
fn waits(delay: u64, max_delay: u64, multiplier: f64, n: u64) -> Vec<u128> {
    let mut out = Vec::new();
    let mut wait = delay as f64;
    for _ in 0..n.min(10_000) {
        let capped = wait.min(max_delay as f64);
        out.push(capped as u128);
        wait = capped * multiplier;
    }
    out
}

/// `6th`, `21st`.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn literal(d: &DurationArg) -> Option<u64> {
    match d {
        DurationArg::Literal(n, _) => Some(*n),
        DurationArg::Expr(_) => None,
    }
}

/// `90s`, `1.5s`, `250ms`.
fn show(nanos: u128) -> String {
    if nanos % 1_000_000_000 == 0 {
        format!("\"{}s\"", nanos / 1_000_000_000)
    } else if nanos >= 1_000_000_000 {
        format!("\"{:.1}s\"", nanos as f64 / 1e9)
    } else {
        format!("\"{}ms\"", nanos / 1_000_000)
    }
}

/// An argument given to every run must outlive the call that started the task.
fn not_borrowed(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Reference(r) if r.lifetime.as_ref().is_none_or(|l| l.ident != "static") => {
            errors.push(syn::Error::new_spanned(
                r,
                "`#[supervised]` runs the function anew on clones of its arguments, on a task of its own: an argument cannot borrow; take it owned (`String`, `Arc<T>`) or `&'static`",
            ));
        }
        Type::ImplTrait(t) => errors.push(syn::Error::new_spanned(
            t,
            "`#[supervised]` clones every argument for each run: an `impl Trait` argument cannot be; take a generic `T: Trait + Clone` instead",
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_runtimes() {
        let d = steadfast::__private::TaskSpec::DEFAULT;
        assert_eq!(u128::from(DEFAULT_DELAY_NANOS), d.delay.as_nanos());
        assert_eq!(u128::from(DEFAULT_MAX_DELAY_NANOS), d.max_delay.as_nanos());
        assert_eq!(DEFAULT_MULTIPLIER, d.multiplier);
        assert_eq!(DEFAULT_MAX_RESTARTS, u64::from(d.max_restarts));
        assert_eq!(u128::from(DEFAULT_WITHIN_NANOS), d.within.as_nanos());
    }

    #[test]
    fn the_defaults_give_up_within_their_window() {
        let w = waits(DEFAULT_DELAY_NANOS, DEFAULT_MAX_DELAY_NANOS, 2.0, 5);
        assert_eq!(w.iter().sum::<u128>(), 31_000_000_000);
    }
}
