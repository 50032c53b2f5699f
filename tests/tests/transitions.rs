//! Every state change is a `tracing` event with target `steadfast`; opening is a warning.
//! And the breaker holds up when many threads hit it at once.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use steadfast::{BreakerState, CircuitOpen, circuit_breaker};
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

static PROBE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(
    name = "race",
    failure_threshold = 1,
    open_for = "30ms",
    half_open_probes = 1
)]
fn race(fail: bool, hold: &Barrier) -> Result<(), Error> {
    if fail {
        return Err(Error);
    }
    PROBE_RUNS.fetch_add(1, SeqCst);
    hold.wait(); // keep the probe in flight until the others have been rejected
    Ok(())
}

#[test]
fn sixty_four_threads_into_a_half_open_breaker_run_one_probe() {
    let unused = Barrier::new(1);
    race(true, &unused).unwrap_err();
    std::thread::sleep(Duration::from_millis(40)); // open_for is over
    let start = Barrier::new(64);
    let hold = Barrier::new(2); // the probe and the main thread
    let rejected = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..64 {
            s.spawn(|| {
                start.wait();
                match race(false, &hold) {
                    Ok(()) => {}
                    Err(Error) => {
                        rejected.fetch_add(1, SeqCst);
                    }
                }
                done.fetch_add(1, SeqCst);
            });
        }
        while done.load(SeqCst) < 63 {
            std::thread::yield_now();
        }
        hold.wait(); // release the probe
    });
    assert_eq!(PROBE_RUNS.load(SeqCst), 1, "exactly one body ran");
    assert_eq!(rejected.load(SeqCst), 63);
    assert_eq!(
        steadfast::breaker("race").unwrap().state(),
        BreakerState::Closed
    );
}

static ASYNC_PROBES: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(
    name = "async-race",
    failure_threshold = 1,
    open_for = "1s",
    half_open_probes = 5
)]
async fn async_race(fail: bool) -> Result<(), Error> {
    if fail {
        return Err(Error);
    }
    ASYNC_PROBES.fetch_add(1, SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_probes_across_tasks_on_a_multi_thread_runtime() {
    async_race(true).await.unwrap_err();
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    let calls: Vec<_> = (0..100).map(|_| tokio::spawn(async_race(false))).collect();
    let mut ok = 0;
    for call in calls {
        if call.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(ASYNC_PROBES.load(SeqCst), 5);
    assert_eq!(
        steadfast::breaker("async-race").unwrap().state(),
        BreakerState::Closed
    );
}
