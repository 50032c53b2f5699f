//! `#[retry]` on an async fn whose first attempt succeeds, in the shape users measure it:
//! a current-thread tokio runtime with time enabled, a loop of `f(i).await` inside one
//! `block_on`, nothing marked `#[inline(never)]`, against the bare call, backon and
//! tokio-retry in the same run. Each figure is the median of 9 rounds of 2,000,000 calls;
//! the rounds of the four take turns (round 1 of each, then round 2 of each, …), so that a
//! slow minute of a shared machine falls on all of them, not on one.
//!
//! `cargo bench -p steadfast-bench --features peers --bench retry_async`

use std::hint::black_box;
use std::time::{Duration, Instant};

use steadfast::retry;

#[derive(Debug)]
struct Error;

async fn bare(x: u64) -> Result<u64, Error> {
    if x == u64::MAX { Err(Error) } else { Ok(x + 1) }
}

#[retry(attempts = 3, delay = "100ms")]
async fn with_retry(x: u64) -> Result<u64, Error> {
    if x == u64::MAX { Err(Error) } else { Ok(x + 1) }
}

const CALLS: u64 = 2_000_000;
const ROUNDS: usize = 9;

/// One round of `for i in 0..CALLS { black_box(call(i).await); }` in one `block_on`, in
/// ns per call.
macro_rules! round {
    ($rt:expr, |$i:ident| $call:expr) => {{
        $rt.block_on(async {
            let start = Instant::now();
            for $i in 0..CALLS {
                let $i = black_box($i);
                drop(black_box($call));
            }
            start.elapsed().as_nanos() as f64 / CALLS as f64
        })
    }};
}

fn median(mut rounds: Vec<f64>) -> f64 {
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let names = [
        "bare async call",
        "steadfast #[retry(attempts = 3)]",
        "backon, 2 retries",
        "tokio-retry, 2 retries",
    ];
    let mut rounds: [Vec<f64>; 4] = Default::default();
    for _ in 0..ROUNDS {
        rounds[0].push(round!(rt, |i| bare(i).await));
        rounds[1].push(round!(rt, |i| with_retry(i).await));
        rounds[2].push(round!(rt, |i| {
            use backon::Retryable as _;
            (|| bare(i))
                .retry(backon::ExponentialBuilder::default().with_max_times(2))
                .await
        }));
        rounds[3].push(round!(rt, |i| {
            let strategy = tokio_retry::strategy::ExponentialBackoff::from_millis(100)
                .take(2)
                .map(|d: Duration| d);
            tokio_retry::Retry::start(strategy, || bare(i)).await
        }));
    }
    let rows = names.into_iter().zip(rounds.map(median));
    println!("| async retry, first attempt succeeds | median ns/call of {ROUNDS} rounds |");
    println!("|---|---|");
    for (name, ns) in rows {
        println!("| {name} | {ns:.2} |");
    }
}
