//! `steadfast::config`: settings changed without recompiling, all or nothing, live.
//!
//! Its own binary: the settings it changes are process-wide.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use steadfast::{BreakerState, CircuitOpen, RetryPolicy, circuit_breaker, config, retry};

#[derive(Debug)]
enum Error {
    Down,
    Open(CircuitOpen),
}

impl From<CircuitOpen> for Error {
    fn from(e: CircuitOpen) -> Self {
        Error::Open(e)
    }
}

#[circuit_breaker(name = "payments", failure_threshold = 5, open_for = "1h")]
fn charge(ok: bool) -> Result<(), Error> {
    if ok { Ok(()) } else { Err(Error::Down) }
}

#[circuit_breaker(name = "quotes", failure_rate = 0.5, minimum_calls = 4, window = "1m")]
fn quote() -> Result<(), Error> {
    Ok(())
}

/// The settings are process-wide and `cargo test` runs these tests on threads of one
/// process: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open(f: impl Fn() -> Result<(), Error>) -> CircuitOpen {
    match f() {
        Err(Error::Open(open)) => open,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn a_live_change_applies_from_the_next_call_and_keeps_the_state() {
    let _serial = serial();
    charge(true).unwrap();
    let applied = config::apply(
        r#"
        [breaker.payments]
        failure_threshold = 2
        open_for = "30s"
        "#,
    )
    .unwrap();
    assert_eq!(
        applied.changes(),
        [
            "breaker.payments.failure_threshold = 2",
            "breaker.payments.open_for = \"30s\""
        ]
    );
    // Two failures now open it, for 30 s.
    charge(false).unwrap_err();
    assert!(matches!(charge(false), Err(Error::Down)));
    let rejected = open(|| charge(true));
    assert!(rejected.retry_after() <= Duration::from_secs(30));
    assert!(rejected.retry_after() > Duration::from_secs(29));

    // Open, it stays open; the new `open_for` applies from its next opening.
    config::apply("[breaker.payments]\nopen_for = \"2h\"").unwrap();
    let b = steadfast::breaker("payments").unwrap();
    assert_eq!(b.state(), BreakerState::Open);
    assert!(open(|| charge(true)).retry_after() <= Duration::from_secs(30));
    assert!(config::current().contains("open_for = \"2h\""));
    b.reset();
}

#[test]
fn bad_input_names_what_is_wrong_and_applies_nothing() {
    let _serial = serial();
    let before = config::current();
    let err = config::apply(
        r#"
        [breaker.quotes]
        minimum_calls = 10

        [breaker.paymnets]
        open_for = "1m"
        "#,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(r#"breaker "paymnets" is not defined; known: "#) && text.contains("payments"),
        "{text}"
    );
    assert_eq!(config::current(), before, "the valid part was not applied");

    for (input, says) in [
        (
            "[breaker.payments]\nopen_fr = \"1m\"",
            "breaker.payments.open_fr: unknown key",
        ),
        (
            "[breaker.payments]\nopen_for = 30",
            "breaker.payments.open_for: takes a string",
        ),
        (
            "[breaker.payments]\nopen_for = \"30\"",
            "malformed duration \"30\"",
        ),
        (
            "[breaker.payments]\nhalf_open_probes = 0",
            "must be between 1 and 32767, found 0",
        ),
        (
            "[breaker.quotes]\nfailure_rate = 1.5",
            "must be in (0, 1], found 1.5",
        ),
        (
            "[breaker.quotes]\nwindow = \"2m\"",
            "`window` of a breaker opening on a failure rate is fixed while it runs",
        ),
        (
            "[breaker.payments]\nfailure_rate = 0.5",
            "cannot change how it opens while it runs",
        ),
        (
            "[bulkhed.x]\nmax_concurrent = 1",
            "unknown kind \"bulkhed\"",
        ),
        (
            "[retry.nope]\nattempts = 2",
            "retry \"nope\" is not defined",
        ),
        ("[breaker.payments", "not valid TOML"),
    ] {
        let err = config::apply(input).expect_err(input);
        assert!(err.to_string().contains(says), "{input}: {err}");
    }
    assert_eq!(config::current(), before);

    // A change within the same mode is fine, and keeps the counts.
    config::apply("[breaker.quotes]\nminimum_calls = 10\nfailure_rate = 0.9").unwrap();
    assert!(config::current().contains("minimum_calls = 10"));
    quote().unwrap();
}

const BACKEND: RetryPolicy = RetryPolicy::named("backend")
    .attempts(2)
    .delay(Duration::from_millis(1))
    .jitter(steadfast::Jitter::None);

thread_local! {
    static ATTEMPTS: Cell<u32> = const { Cell::new(0) };
}

static CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(policy = BACKEND)]
fn fetch() -> Result<(), Error> {
    CALLS.fetch_add(1, SeqCst);
    ATTEMPTS.with(|a| a.set(a.get() + 1));
    Err(Error::Down)
}

#[retry(attempts = 3, delay = "1ms", jitter = "none")]
fn unnamed() -> Result<(), Error> {
    Err(Error::Down)
}

#[test]
fn retries_are_changed_by_their_policys_name_or_their_path() {
    let _serial = serial();
    assert!(config::current().contains("[retry.backend]"));
    assert!(config::current().contains("[retry.\"config::unnamed\"]"));
    config::apply("[retry.backend]\nattempts = 2").unwrap();
    let before = CALLS.load(SeqCst);
    fetch().unwrap_err();
    assert_eq!(CALLS.load(SeqCst) - before, 2);
    config::apply("[retry.backend]\nattempts = 4").unwrap();
    let before = CALLS.load(SeqCst);
    fetch().unwrap_err();
    assert_eq!(CALLS.load(SeqCst) - before, 4);
    config::apply("[retry.\"config::unnamed\"]\ndelay = \"2ms\"\nmax_delay = \"5ms\"").unwrap();
    unnamed().unwrap_err();
    let err = config::apply("[retry.backend]\nmax_delay = \"1ms\"\ndelay = \"1s\"").unwrap_err();
    assert!(err.to_string().contains("is shorter than `delay`"), "{err}");
}

static PATIENT_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 1000, delay = "1ms", backoff = "constant", jitter = "none")]
fn patient() -> Result<(), Error> {
    PATIENT_CALLS.fetch_add(1, SeqCst);
    Err(Error::Down)
}

#[test]
/// A policy written without `max_elapsed` (whose calls start without reading the clock or
/// the policy) that `config::apply` gives a `max_elapsed`: the next call is bounded by it.
fn max_elapsed_set_by_config_bounds_the_next_call() {
    let _serial = serial();
    config::apply("[retry.\"config::patient\"]\nmax_elapsed = \"20ms\"").unwrap();
    let before = PATIENT_CALLS.load(SeqCst);
    patient().unwrap_err();
    let calls = PATIENT_CALLS.load(SeqCst) - before;
    // 1 ms apart at least: at most 21 attempts fit in 20 ms; without the limit, 1000.
    assert!((1..=21).contains(&calls), "{calls} attempts");
}

#[test]
/// A call reads its policy once, as one value (when its first attempt fails, or at its
/// start once `config::apply` changed it): under changes made while calls run, every call
/// runs exactly one of the applied attempt counts. (Only `attempts` is observable without
/// timing; that fields cannot mix follows from the one read.)
fn a_call_runs_by_the_old_settings_or_the_new_never_a_mix() {
    let _serial = serial();
    config::apply("[retry.backend]\nattempts = 3").unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..200 {
                let attempts = if i % 2 == 0 { 3 } else { 5 };
                config::apply(&format!("[retry.backend]\nattempts = {attempts}")).unwrap();
                std::thread::sleep(Duration::from_micros(200));
            }
            stop.store(true, SeqCst);
        });
        for _ in 0..2 {
            s.spawn(|| {
                while !stop.load(SeqCst) {
                    ATTEMPTS.with(|a| a.set(0));
                    fetch().unwrap_err();
                    let n = ATTEMPTS.with(Cell::get);
                    assert!(n == 3 || n == 5, "{n} attempts");
                }
            });
        }
    });
}

/// Run by `environment_variables_change_settings_too` in a child process, with the
/// variables set there (a test cannot set its own environment safely).
#[test]
#[ignore = "run by environment_variables_change_settings_too"]
fn env_child() {
    match std::env::var("EXPECT").as_deref() {
        Ok("ok") => {
            let applied = config::apply_env("STEADFAST").unwrap();
            println!("APPLIED {}", applied.changes().join(" | "));
            println!("CURRENT {}", config::current().replace('\n', " "));
        }
        _ => {
            let err = config::apply_env("STEADFAST").unwrap_err();
            println!("ERROR {err}");
        }
    }
}

fn child(vars: &[(&str, &str)]) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["env_child", "--exact", "--ignored", "--nocapture"])
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn environment_variables_change_settings_too() {
    let _serial = serial();
    let out = child(&[
        ("EXPECT", "ok"),
        ("STEADFAST_BREAKER_PAYMENTS_OPEN_FOR", "1m"),
        ("STEADFAST_RETRY_CONFIG__UNNAMED_ATTEMPTS", "7"),
        ("STEADFAST_RATE_LIMIT_QUOTA_RATE", "50"),
        ("STEADFAST_BULKHEAD_CONVERTER_MAX_CONCURRENT", "6"),
    ]);
    assert!(
        out.contains("APPLIED STEADFAST_BREAKER_PAYMENTS_OPEN_FOR = \"1m\""),
        "{out}"
    );
    assert!(out.contains("attempts = 7"), "{out}");
    assert!(out.contains("rate = 50"), "{out}");
    assert!(out.contains("max_concurrent = 6"), "{out}");
    let out = child(&[
        ("EXPECT", "err"),
        ("STEADFAST_BREAKER_PAYMENTS_OPEN_FOR", "1m"),
        ("STEADFAST_BREAKER_PAYMENT_OPEN_FOR", "1m"),
    ]);
    assert!(
        out.contains("ERROR nothing applied: STEADFAST_BREAKER_PAYMENT_OPEN_FOR names no setting"),
        "{out}"
    );
}

#[steadfast::timeout("200ms")]
async fn lookup(latency: Duration) -> Result<(), steadfast::Elapsed> {
    tokio::time::sleep(latency).await;
    Ok(())
}

#[test]
fn a_deadline_changes_from_the_next_call() {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        lookup(Duration::from_millis(150)).await.unwrap();
        config::apply("[timeout.\"config::lookup\"]\nafter = \"100ms\"").unwrap();
        let e = lookup(Duration::from_millis(150)).await.unwrap_err();
        assert_eq!(e.after(), Duration::from_millis(100));
        assert!(config::current().contains("after = \"100ms\""));
        let err = config::apply("[timeout.\"config::lookup\"]\nbefore = \"1s\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown key; a timeout takes: after"),
            "{err}"
        );
        config::apply("[timeout.\"config::lookup\"]\nafter = \"200ms\"").unwrap();
    });
}

#[retry(name = "quotes.fetch", attempts = 2, delay = "1ms")]
#[steadfast::timeout("1s", name = "quotes.deadline")]
async fn named(ok: bool) -> Result<(), Error> {
    if ok { Ok(()) } else { Err(Error::Down) }
}

impl From<steadfast::Elapsed> for Error {
    fn from(_: steadfast::Elapsed) -> Self {
        Error::Down
    }
}

#[test]
fn name_written_on_the_attribute_names_it_for_config() {
    let _serial = serial();
    let now = config::current();
    assert!(now.contains("[retry.\"quotes.fetch\"]"), "{now}");
    assert!(now.contains("[timeout.\"quotes.deadline\"]"), "{now}");
    config::apply(
        "[retry.\"quotes.fetch\"]\nattempts = 3\n[timeout.\"quotes.deadline\"]\nafter = \"2s\"",
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async { named(true).await.unwrap() });
}

#[derive(Debug, PartialEq)]
enum Limited {
    Full(steadfast::FullReason),
    Limited(Duration),
}

impl From<steadfast::BulkheadFull> for Limited {
    fn from(e: steadfast::BulkheadFull) -> Self {
        Limited::Full(e.reason())
    }
}

impl From<steadfast::RateLimited> for Limited {
    fn from(e: steadfast::RateLimited) -> Self {
        Limited::Limited(e.retry_after())
    }
}

#[steadfast::bulkhead(max_concurrent = 1, max_wait = "1h", name = "converter")]
async fn convert(hold: Duration) -> Result<(), Limited> {
    tokio::time::sleep(hold).await;
    Ok(())
}

#[test]
fn a_bulkhead_is_retuned_live_and_waiters_are_let_in_at_once() {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        // Known before its first call: listed before `main`.
        assert!(config::current().contains("[bulkhead.converter]"));
        let h = || steadfast::bulkhead("converter").unwrap();
        let calls: Vec<_> = (0..3)
            .map(|_| tokio::spawn(convert(Duration::from_secs(10))))
            .collect();
        tokio::task::yield_now().await;
        assert_eq!((h().in_use(), h().queued()), (1, 2));
        let applied = config::apply("[bulkhead.converter]\nmax_concurrent = 3").unwrap();
        assert_eq!(
            applied.changes(),
            ["bulkhead.converter.max_concurrent = 3"]
        );
        // Both waiters let in at once, not when the first call ends.
        assert_eq!((h().in_use(), h().queued(), h().limit()), (3, 0, 3));
        let started = tokio::time::Instant::now();
        for c in calls {
            c.await.unwrap().unwrap();
        }
        assert_eq!(started.elapsed(), Duration::from_secs(10));

        // Down to one slot and no waiting: the second call is turned away at once.
        config::apply("[bulkhead.converter]\nmax_concurrent = 1\nmax_wait = \"0s\"").unwrap();
        let inside = tokio::spawn(convert(Duration::from_secs(1)));
        tokio::task::yield_now().await;
        assert_eq!(
            convert(Duration::ZERO).await,
            Err(Limited::Full(steadfast::FullReason::Full))
        );
        inside.await.unwrap().unwrap();
        let current = config::current();
        assert!(
            current.contains("[bulkhead.converter]\nmax_concurrent = 1\nmax_wait = \"0s\""),
            "{current}"
        );

        // A queue with no wait, a zero limit, an unknown key: nothing applied.
        let err = config::apply(
            "[bulkhead.converter]\nmax_queue = 5\n[bulkhead.converter2]\nmax_concurrent = 2",
        )
        .unwrap_err();
        let problems = err.problems().join("\n");
        assert!(problems.contains("`max_queue` bounds the calls waiting"), "{problems}");
        assert!(
            problems.contains("bulkhead \"converter2\" is not defined; known: "),
            "{problems}"
        );
        let err = config::apply("[bulkhead.converter]\nmax_concurrent = 0\nlimit = 3").unwrap_err();
        let problems = err.problems().join("\n");
        assert!(
            problems.contains("bulkhead.converter.max_concurrent: must be between 1 and"),
            "{problems}"
        );
        assert!(
            problems.contains("bulkhead.converter.limit: unknown key; a bulkhead takes: max_concurrent, max_wait, max_queue"),
            "{problems}"
        );
        assert_eq!(h().limit(), 1);
        config::apply("[bulkhead.converter]\nmax_wait = \"1h\"").unwrap();
    });
}

#[steadfast::rate_limit(rate = 2, per = "1h", name = "quota")]
fn call_api() -> Result<(), Limited> {
    Ok(())
}

#[test]
fn a_rate_limit_is_retuned_live_keeping_what_was_used() {
    let _serial = serial();
    call_api().unwrap();
    call_api().unwrap();
    assert!(matches!(call_api(), Err(Limited::Limited(_))));
    // A hundred an hour, burst 2: the two turns taken still count (no fresh burst), and
    // the next one is one new interval (36 s) away instead of half an hour.
    let applied = config::apply("[rate_limit.quota]\nrate = 100\nburst = 2").unwrap();
    assert_eq!(
        applied.changes(),
        ["rate_limit.quota.burst = 2", "rate_limit.quota.rate = 100"]
    );
    let l = steadfast::rate_limiter("quota").unwrap();
    assert_eq!(
        (l.rate(), l.per(), l.burst()),
        (100, Duration::from_secs(3600), 2)
    );
    match call_api() {
        Err(Limited::Limited(after)) => assert!(
            after > Duration::from_secs(35) && after <= Duration::from_secs(36),
            "{after:?}"
        ),
        other => panic!("the used turns still count: {other:?}"),
    }
    let current = config::current();
    assert!(
        current
            .contains("[rate_limit.quota]\nburst = 2\nmax_wait = \"0s\"\nper = \"1h\"\nrate = 100"),
        "{current}"
    );
    let err = config::apply("[rate_limit.quota]\nrate = 0\nper = \"0s\"\nevery = 1").unwrap_err();
    let problems = err.problems().join("\n");
    for expected in [
        "rate_limit.quota.rate: must be between 1 and",
        "rate_limit.quota.per: must be longer than zero",
        "rate_limit.quota.every: unknown key; a rate limiter takes: rate, per, burst, max_wait",
    ] {
        assert!(problems.contains(expected), "{expected} in {problems}");
    }
    assert_eq!(steadfast::rate_limiter("quota").unwrap().rate(), 100);
}

// One function of every kind that lists something, none of them ever called: each is
// known to `config` from the start (listed before `main`, by the linker on Linux).
#[circuit_breaker(name = "listed.breaker")]
fn listed_breaker() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(name = "listed.keyed", key = who)]
fn listed_keyed(who: &str) -> Result<(), Error> {
    let _ = who;
    Ok(())
}

#[retry(name = "listed.retry")]
fn listed_retry() -> Result<(), Error> {
    Ok(())
}

#[steadfast::timeout("1s", name = "listed.timeout")]
async fn listed_timeout() -> Result<(), steadfast::Elapsed> {
    Ok(())
}

#[steadfast::bulkhead(max_concurrent = 2, name = "listed.bulkhead")]
fn listed_bulkhead() -> Result<(), steadfast::BulkheadFull> {
    Ok(())
}

#[steadfast::rate_limit(rate = 5, per = "1s", name = "listed.rate_limit")]
fn listed_rate_limit() -> Result<(), steadfast::RateLimited> {
    Ok(())
}

#[test]
fn every_kind_is_known_before_its_first_call() {
    let _serial = serial();
    let current = config::current();
    for section in [
        "[breaker.\"listed.breaker\"]",
        "[breaker.\"listed.keyed\"]",
        "[retry.\"listed.retry\"]",
        "[timeout.\"listed.timeout\"]",
        "[bulkhead.\"listed.bulkhead\"]",
        "[rate_limit.\"listed.rate_limit\"]",
    ] {
        assert!(
            current.contains(section),
            "{section} missing from:\n{current}"
        );
    }
    // Known, so a change to one is applied, not refused as an unknown name.
    config::apply("[retry.\"listed.retry\"]\nattempts = 5").unwrap();
    config::apply("[retry.\"listed.retry\"]\nattempts = 3").unwrap();
}
