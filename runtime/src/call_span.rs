//! A `#[monitored]` call around its body, shared by the async wrapper (`__private`) and a
//! stacked function's driver (`stacked`): its span, the drain's guard while it runs, and
//! its end.

use crate::gate::Rejected;
use crate::monitor::MonitoredCall;

/// A `#[monitored]` call that returned `Err`: its `ERROR` event (inside the call's span),
/// then the call ends as a failure. A gate's rejection is counted, not logged: during an
/// outage every call is one, and the gate logs its own transitions.
#[cold]
pub(crate) fn failed(
    call: MonitoredCall,
    function: &str,
    rejected: Option<Rejected>,
    error: &dyn std::fmt::Display,
) {
    match rejected {
        Some(_) => call.end_rejected(),
        None => {
            report_error(function, &error.to_string());
            call.end(true);
        }
    }
}

/// While a `#[monitored]` body is polled: inside its span, and inside an admitted call
/// (for the drain: calls it makes are admitted).
pub(crate) struct Polling<'a> {
    _entered: tracing::span::Entered<'a>,
    _inside: crate::drain::Inside,
}

impl<'a> Polling<'a> {
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn enter(span: &'a tracing::Span) -> Polling<'a> {
        Polling {
            _entered: span.enter(),
            _inside: crate::drain::Inside::enter(),
        }
    }
}

/// The call to end now that its body is ready, unless the drain cancelled it (then it is
/// dropped here: cancelled, not failed).
#[cfg_attr(not(debug_assertions), inline)]
pub(crate) fn finishing(call: &mut Option<MonitoredCall>) -> Option<MonitoredCall> {
    let call = call.take()?;
    if crate::drain::take_cancelled() {
        drop(call);
        return None;
    }
    Some(call)
}

/// Opens the span of one `#[monitored]` call, or a disabled one: what `tracing::span!`
/// expands to, once in the runtime rather than in every decorated function.
#[inline]
pub(crate) fn span(callsite: &'static tracing::callsite::DefaultCallsite) -> tracing::Span {
    use tracing::callsite::Callsite as _;
    let meta = callsite.metadata();
    let level = *meta.level();
    if level <= tracing::level_filters::STATIC_MAX_LEVEL
        && level <= tracing::level_filters::LevelFilter::current()
    {
        let interest = callsite.interest();
        if !interest.is_never()
            && (interest.is_always()
                || tracing::dispatcher::get_default(|dispatch| dispatch.enabled(meta)))
        {
            return tracing::Span::new(meta, &meta.fields().value_set(&[]));
        }
    }
    tracing::Span::new_disabled(meta)
}

/// The `ERROR` event of a `#[monitored]` call that failed, inside its span. One function
/// in the runtime rather than an `event!` per decorated function: each `event!` expansion
/// costs compile time in the user's crate.
#[cold]
pub(crate) fn report_error(function: &str, error: &str) {
    tracing::error!(target: "steadfast", function, error, "{function} failed: {error}");
}
