//! `#[retry]` on an async fn whose first attempt succeeds, in the shape users measure it:
//! a current-thread tokio runtime with time enabled, a loop of `f(i).await` inside one
//! `block_on`, nothing marked `#[inline(never)]`, against the bare call, backon and
//! tokio-retry in the same run. Each figure is the median of 9 rounds of 2,000,000 calls.
//!
//! `cargo bench -p steadfast-bench --features peers --bench retry_async`

use std::hint::black_box;
use std::time::{Duration, Instant};

use steadfast::retry;

#[derive(Debug)]
struct Error;

async fn bare(x: u64) -> Result<u64, Error> {
    if black_box(x) == u64::MAX {
        Err(Error)
    } else {
        Ok(x + 1)
    }
}

#[retry(attempts = 3, delay = "100ms")]
async fn with_retry(x: u64) -> Result<u64, Error> {
    if black_box(x) == u64::MAX {
        Err(Error)
    } else {
        Ok(x + 1)
    }
}

const CALLS: u64 = 2_000_000;
const ROUNDS: usize = 9;

fn median<F, Fut>(f: F) -> f64
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..CALLS {
                    f(black_box(i)).await;
                }
                start.elapsed().as_nanos() as f64 / CALLS as f64
            })
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

fn main() {
    let rows = [
        (
            "bare async call",
            median(|x| async move { drop(black_box(bare(x).await)) }),
        ),
        (
            "steadfast #[retry(attempts = 3)]",
            median(|x| async move { drop(black_box(with_retry(x).await)) }),
        ),
        (
            "backon, 2 retries",
            median(|x| async move {
                use backon::Retryable as _;
                drop(black_box(
                    (|| bare(x))
                        .retry(backon::ExponentialBuilder::default().with_max_times(2))
                        .await,
                ))
            }),
        ),
        (
            "tokio-retry, 2 retries",
            median(|x| async move {
                let strategy = tokio_retry::strategy::ExponentialBackoff::from_millis(100)
                    .take(2)
                    .map(|d: Duration| d);
                drop(black_box(
                    tokio_retry::Retry::start(strategy, || bare(x)).await,
                ))
            }),
        ),
    ];
    println!("| async retry, first attempt succeeds | median ns/call of {ROUNDS} rounds |");
    println!("|---|---|");
    for (name, ns) in rows {
        println!("| {name} | {ns:.2} |");
    }
}
