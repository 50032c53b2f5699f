use steadfast::{CircuitOpen, circuit_breaker};

#[derive(Debug)]
pub struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

/// Docs and other attributes stay.
#[circuit_breaker]
#[must_use = "it is a result"]
pub fn defaults() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(
    name = "everything",
    failure_threshold = 3,
    open_for = "1m",
    half_open_probes = 2
)]
pub(crate) fn consecutive() -> Result<u8, Error> {
    Ok(1)
}

#[circuit_breaker(failure_threshold = 3, window = "60s", open_for = "250ms")]
fn count_in_window() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(failure_rate = 0.5, minimum_calls = 20, window = "1h", open_for = "1.5s")]
fn rate() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(failure_rate = 1)]
fn rate_defaults() -> Result<(), Error> {
    Ok(())
}

fn is_transient(_: &Error) -> bool {
    true
}

#[circuit_breaker(failure_if = is_transient)]
fn failure_if_path() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(failure_if = |e: &Error| matches!(e, Error))]
fn failure_if_closure() -> Result<(), Error> {
    Ok(())
}

const OPEN_FOR: std::time::Duration = std::time::Duration::from_secs(3);

fn window() -> std::time::Duration {
    std::time::Duration::from_secs(60)
}

#[circuit_breaker(open_for = OPEN_FOR, failure_threshold = 2, window = window())]
fn duration_expressions() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker]
async fn asynchronous(x: u32) -> Result<u32, Error> {
    Ok(x)
}

#[circuit_breaker]
unsafe fn unsafe_fn(p: *const u8) -> Result<u8, Error> {
    Ok(unsafe { *p })
}

#[circuit_breaker]
fn anyhow_result() -> anyhow::Result<()> {
    Ok(())
}

#[circuit_breaker]
fn io_result() -> std::io::Result<()> {
    Ok(())
}

#[circuit_breaker]
fn boxed() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Ok(())
}

fn main() {
    let _ = defaults();
    let _ = consecutive();
    let _ = count_in_window();
    let _ = rate();
    let _ = rate_defaults();
    let _ = failure_if_path();
    let _ = failure_if_closure();
    let _ = duration_expressions();
    let _ = asynchronous(1);
    let _ = unsafe { unsafe_fn(&0) };
    let _ = anyhow_result();
    let _ = io_result();
    let _ = boxed();
}
