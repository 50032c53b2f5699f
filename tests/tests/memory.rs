//! Memory: 500,000 rejections from one open breaker allocate (net) next to nothing.
//! Alone in its binary, so that the counting allocator sees only this test.

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use steadfast::{CircuitOpen, circuit_breaker};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[circuit_breaker(name = "memory", failure_threshold = 1, open_for = "1h")]
fn always_fails() -> Result<(), Error> {
    Err(Error)
}

#[test]
fn half_a_million_rejections_grow_memory_by_less_than_10_mib() {
    always_fails().unwrap_err(); // opens
    always_fails().unwrap_err(); // first rejection: anything lazy is set up now
    let region = Region::new(ALLOCATOR);
    for _ in 0..500_000 {
        always_fails().unwrap_err();
    }
    let change = region.change();
    let grown = change.bytes_allocated as i64 - change.bytes_deallocated as i64;
    assert!(grown < 10 << 20, "grew {grown} bytes");
    assert!(
        grown < 4096,
        "a rejection keeps nothing: grew {grown} bytes"
    );
}
