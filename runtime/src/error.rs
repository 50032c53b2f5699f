use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::clock::Nanos;
use crate::gate::Rejection;

/// What a rejection knows of its breaker: its name and where its last cause is kept.
/// The breaker of a function lives as long as the process (`&'static`); the per-key
/// breakers of `key = …` are shared. Cloning it never allocates.
#[derive(Clone)]
pub(crate) enum Name {
    Static(&'static Label),
    Shared(Arc<Label>),
}

/// A breaker's name, and the `Display` of the failure that last opened it.
pub(crate) struct Label {
    name: Box<str>,
    cause: Mutex<Option<Arc<str>>>,
}

impl Name {
    /// The name of a breaker that lives as long as the process: the breaker of a function,
    /// of which there is one per decorated function.
    pub(crate) fn leaked(name: &str) -> Name {
        Name::Static(Box::leak(Box::new(Label::new(name))))
    }

    /// The name of a breaker that can go away (a per-key breaker).
    pub(crate) fn shared(name: &str) -> Name {
        Name::Shared(Arc::new(Label::new(name)))
    }

    fn label(&self) -> &Label {
        match self {
            Name::Static(label) => label,
            Name::Shared(label) => label,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.label().name
    }

    /// Keeps the `Display` of the failure that opened the breaker. Cold: once per opening.
    pub(crate) fn set_cause(&self, cause: &dyn fmt::Display) {
        let text: Arc<str> = cause.to_string().into();
        *self.label().lock() = Some(text);
    }

    /// Opened by a failure with no text to keep.
    pub(crate) fn clear_cause(&self) {
        *self.label().lock() = None;
    }

    /// The `Display` of the failure that last opened the breaker.
    pub(crate) fn cause(&self) -> Option<Arc<str>> {
        self.label().lock().clone()
    }
}

impl Label {
    fn new(name: &str) -> Label {
        Label {
            name: name.into(),
            cause: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<str>>> {
        // Only a clone or a store happens under it: it cannot be poisoned by user code.
        self.cause.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Why a breaker turned a call away.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Why {
    /// Open, waiting out `open_for`, with this long left (read from a precise clock).
    Open(Duration),
    /// Open until this time, decided from the clock's recent time (which may lag): the
    /// time left is read from the precise clock when someone asks, so it is never
    /// overstated.
    OpenUntil(Nanos, fn() -> Nanos),
    /// Half-open, every probe slot taken.
    ProbesBusy,
    /// Held open by [`Breaker::force_open`](crate::Breaker::force_open).
    Forced,
}

/// A call rejected by an open circuit breaker; the function's body did not run.
///
/// `#[circuit_breaker]` returns it, converted with `From`, in place of calling the body
/// while the breaker is open.
///
/// ```
/// use std::time::Duration;
///
/// fn report(err: &steadfast::CircuitOpen) -> String {
///     if err.retry_after() < Duration::from_secs(1) {
///         format!("{} is recovering, trying again soon", err.name())
///     } else {
///         err.to_string() // "circuit `payments` is open; retry in 12.3s"
///     }
/// }
/// ```
#[derive(Clone)]
pub struct CircuitOpen {
    name: Name,
    why: Why,
    /// The breaker's cause, read when first asked for: a rejection does not pay for it.
    cause: OnceLock<Option<Arc<str>>>,
}

impl CircuitOpen {
    pub(crate) fn new(name: Name, why: Why) -> Self {
        CircuitOpen {
            name,
            why,
            cause: OnceLock::new(),
        }
    }

    /// The name of the breaker that rejected the call.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// How long until the breaker admits probes again: never more than the time that
    /// was really left of `open_for` when the call was rejected. `Duration::ZERO` when it
    /// is half-open and every probe slot is taken (a slot frees as soon as a probe ends);
    /// `Duration::MAX` when it was forced open, which lasts until
    /// [`Breaker::reset`](crate::Breaker::reset).
    pub fn retry_after(&self) -> Duration {
        match self.why {
            Why::Open(left) => left,
            Why::OpenUntil(until, now) => until.saturating_sub(now()),
            Why::ProbesBusy => Duration::ZERO,
            Why::Forced => Duration::MAX,
        }
    }

    /// The `Display` of the failure that opened the breaker (`"connection refused"`), so
    /// that a caller turned away still learns why; `None` when it was
    /// [forced open](crate::Breaker::force_open) or opened by a failure with no text (a
    /// panic is `"panicked"`). Read from the breaker when first asked: if by then it has
    /// closed and opened again, this is the failure that opened it that time.
    pub fn last_failure(&self) -> Option<&str> {
        if matches!(self.why, Why::Forced) {
            return None;
        }
        self.cause.get_or_init(|| self.name.cause()).as_deref()
    }
}

impl Rejection for CircuitOpen {
    fn try_again_in(&self) -> Option<Duration> {
        match self.why {
            Why::Forced => None,
            _ => Some(self.retry_after()),
        }
    }
}

impl fmt::Debug for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitOpen")
            .field("name", &self.name())
            .field("retry_after", &self.retry_after())
            .field("last_failure", &self.last_failure())
            .finish()
    }
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match self.why {
            Why::Open(_) | Why::OpenUntil(..) => {
                write!(f, "circuit `{name}` is open")?;
                if let Some(cause) = self.last_failure() {
                    write!(f, " after: {cause}")?;
                }
                write!(f, "; retry in {}", Human(self.retry_after()))
            }
            Why::ProbesBusy => write!(
                f,
                "circuit `{name}` is half-open and its probe calls are all in flight; retry shortly"
            ),
            Why::Forced => write!(
                f,
                "circuit `{name}` is forced open; it rejects every call until it is reset"
            ),
        }
    }
}

impl std::error::Error for CircuitOpen {}

/// So that functions returning `io::Result<T>` can take `#[circuit_breaker]`: the
/// `CircuitOpen` is the error's source (`io::ErrorKind::Other`), and
/// `err.get_ref().and_then(|e| e.downcast_ref::<CircuitOpen>())` gets it back.
impl From<CircuitOpen> for std::io::Error {
    fn from(open: CircuitOpen) -> Self {
        std::io::Error::other(open)
    }
}

/// A call that did not finish before its `#[timeout]` deadline.
///
/// ```
/// fn describe(err: &steadfast::Elapsed) -> String {
///     format!("gave up after {:?}", err.after())
/// }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Elapsed {
    after: Duration,
    /// `Some(bound)`: not started, `bound` detached bodies of the function still running.
    refused: Option<usize>,
}

impl Elapsed {
    #[doc(hidden)]
    pub fn new(after: Duration) -> Self {
        Elapsed {
            after,
            refused: None,
        }
    }

    pub(crate) fn refused(after: Duration, running: usize) -> Self {
        Elapsed {
            after,
            refused: Some(running),
        }
    }

    /// The deadline that passed, as the `#[timeout]` attribute gave it.
    pub fn after(&self) -> Duration {
        self.after
    }

    /// True when the body never ran: a `#[timeout(…, detach)]` function already had as
    /// many bodies running past their deadline as it may (64), so the call was turned away
    /// at once rather than start one more thread.
    pub fn is_refused(&self) -> bool {
        self.refused.is_some()
    }
}

impl fmt::Debug for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Elapsed")
            .field("after", &self.after)
            .field("refused", &self.is_refused())
            .finish()
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.refused {
            None => write!(f, "deadline of {} elapsed", Human(self.after)),
            Some(running) => write!(
                f,
                "not started: {running} earlier calls of this #[timeout({}, detach)] function are still running past their deadline; try again later",
                Human(self.after)
            ),
        }
    }
}

impl std::error::Error for Elapsed {}

/// So that functions returning `io::Result<T>` can take `#[timeout]`: the error is of
/// kind `io::ErrorKind::TimedOut`, with the `Elapsed` as its source.
impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}

/// A duration as a person reads it: `850ms`, `12.3s`, `4m05s`.
struct Human(Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d == Duration::MAX {
            return f.write_str("forever");
        }
        let secs = d.as_secs();
        if secs >= 3600 {
            write!(f, "{}h{:02}m", secs / 3600, (secs % 3600) / 60)
        } else if secs >= 60 {
            write!(f, "{}m{:02}s", secs / 60, secs % 60)
        } else if secs >= 1 {
            write!(f, "{:.1}s", d.as_secs_f64())
        } else {
            let ms = d.as_millis();
            if ms >= 1 {
                write!(f, "{ms}ms")
            } else {
                write!(f, "{}µs", d.as_micros())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let name = Name::shared("payments");
        let open = CircuitOpen::new(name.clone(), Why::Open(Duration::from_millis(12_340)));
        assert_eq!(
            open.to_string(),
            "circuit `payments` is open; retry in 12.3s"
        );
        name.set_cause(&"connection refused");
        let open = CircuitOpen::new(name.clone(), Why::Open(Duration::from_millis(12_340)));
        assert_eq!(
            open.to_string(),
            "circuit `payments` is open after: connection refused; retry in 12.3s"
        );
        assert_eq!(open.last_failure(), Some("connection refused"));
        name.set_cause(&"a later cause");
        assert_eq!(
            open.last_failure(),
            Some("connection refused"),
            "read once, then kept"
        );
        let open = CircuitOpen::new(Name::shared("p"), Why::Open(Duration::from_millis(250)));
        assert_eq!(open.to_string(), "circuit `p` is open; retry in 250ms");
        let open = CircuitOpen::new(Name::shared("p"), Why::Forced);
        assert!(open.to_string().contains("forced open"));
        assert_eq!(
            Elapsed::new(Duration::from_secs(125)).to_string(),
            "deadline of 2m05s elapsed"
        );
    }

    #[test]
    fn errors_are_small_shareable_values() {
        fn assert_traits<T: Clone + Send + Sync + 'static + std::error::Error>() {}
        assert_traits::<CircuitOpen>();
        assert_traits::<Elapsed>();
        assert!(std::mem::size_of::<CircuitOpen>() <= 64);
    }
}

/// What a failed call says, for [`CircuitOpen::last_failure`](crate::CircuitOpen::last_failure):
/// its error's `Display`, else its `Debug`, else the error type's name. Picked by autoref
/// specialisation at the expansion site: `(&&&&Watch(&out)).cause()`.
#[derive(Clone, Copy)]
#[allow(missing_docs)]
pub enum Cause<'a> {
    Display(&'a dyn std::fmt::Display),
    Debug(&'a dyn std::fmt::Debug),
    Type(&'static str),
}

impl std::fmt::Debug for Cause<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for Cause<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Display(e) => e.fmt(f),
            Cause::Debug(e) => write!(f, "{e:?}"),
            Cause::Type(name) => write!(f, "an error of type `{name}`"),
        }
    }
}
