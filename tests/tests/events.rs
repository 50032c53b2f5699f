//! Every state change is a `tracing` event with target `steadfast`; opening is a warning.
//!
//! Alone in its binary: `tracing` caches each callsite's interest process-wide, and a
//! breaker opening on another test's thread (with no subscriber) would cache "not
//! interested" for the very events this test watches through a scoped subscriber.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::{CircuitOpen, circuit_breaker};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    target: String,
    level: tracing::Level,
    breaker: String,
    from: String,
    to: String,
}

#[derive(Default, Clone)]
struct Capture(Arc<Mutex<Vec<Seen>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        #[derive(Default)]
        struct Fields(Vec<(String, String)>);
        impl Visit for Fields {
            fn record_str(&mut self, field: &Field, value: &str) {
                self.0.push((field.name().to_owned(), value.to_owned()));
            }
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                self.0.push((field.name().to_owned(), format!("{value:?}")));
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let get = |name: &str| {
            fields
                .0
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        self.0.lock().unwrap().push(Seen {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            breaker: get("breaker"),
            from: get("from"),
            to: get("to"),
        });
    }
}

#[circuit_breaker(name = "traced", failure_threshold = 1, open_for = "50ms")]
fn traced(fail: bool) -> Result<(), Error> {
    if fail { Err(Error) } else { Ok(()) }
}

#[test]
fn every_transition_is_an_event_and_opening_warns() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        traced(false).unwrap();
        traced(true).unwrap_err(); // closed -> open
        std::thread::sleep(Duration::from_millis(60));
        traced(true).unwrap_err(); // open -> half-open, probe fails: half-open -> open
        std::thread::sleep(Duration::from_millis(60));
        traced(false).unwrap(); // open -> half-open -> closed
        let b = steadfast::breaker("traced").unwrap();
        b.force_open(); // closed -> open
        b.reset(); // open -> closed
    });
    let seen = capture.0.lock().unwrap().clone();
    let transitions: Vec<(tracing::Level, &str, &str)> = seen
        .iter()
        .map(|s| {
            assert_eq!(s.target, "steadfast");
            assert_eq!(s.breaker, "traced");
            (s.level, s.from.as_str(), s.to.as_str())
        })
        .collect();
    use tracing::Level;
    assert_eq!(
        transitions,
        vec![
            (Level::WARN, "closed", "open"),
            (Level::INFO, "open", "half-open"),
            (Level::WARN, "half-open", "open"),
            (Level::INFO, "open", "half-open"),
            (Level::INFO, "half-open", "closed"),
            (Level::WARN, "closed", "open"),
            (Level::INFO, "open", "closed"),
        ]
    );
}
