//! `#[retry]` success path and `#[timeout]` on a ready body, against a bare call, a
//! hand-written retry loop and `tokio::time::timeout`, in ns per call.
//!
//! `cargo bench -p steadfast --bench retry_timeout` (release, fat LTO). Each figure is the
//! median of 9 rounds of 2,000,000 calls, with min and max; all in one process and one run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use steadfast::{Elapsed, retry, timeout};

#[derive(Debug)]
struct Error;

impl From<Elapsed> for Error {
    fn from(_: Elapsed) -> Self {
        Error
    }
}

#[inline(never)]
fn bare(x: u64) -> Result<u64, Error> {
    if black_box(x) == u64::MAX {
        Err(Error)
    } else {
        Ok(x + 1)
    }
}

#[inline(never)]
fn hand_written_loop(x: u64) -> Result<u64, Error> {
    let mut attempt = 1;
    loop {
        match bare(x) {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 3 => return Err(e),
            Err(_) => {
                std::thread::sleep(Duration::from_millis(100));
                attempt += 1;
            }
        }
    }
}

#[inline(never)]
#[retry(attempts = 3, delay = "100ms")]
fn retried(x: u64) -> Result<u64, Error> {
    if black_box(x) == u64::MAX {
        Err(Error)
    } else {
        Ok(x + 1)
    }
}

#[inline(never)]
async fn bare_async(x: u64) -> Result<u64, Error> {
    if black_box(x) == u64::MAX {
        Err(Error)
    } else {
        Ok(x + 1)
    }
}

#[inline(never)]
async fn hand_written_async_loop(x: u64) -> Result<u64, Error> {
    let mut attempt = 1;
    loop {
        match bare_async(x).await {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 3 => return Err(e),
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                attempt += 1;
            }
        }
    }
}

#[inline(never)]
#[retry(attempts = 3, delay = "100ms")]
async fn retried_async(x: u64) -> Result<u64, Error> {
    if black_box(x) == u64::MAX {
        Err(Error)
    } else {
        Ok(x + 1)
    }
}

#[inline(never)]
#[timeout("1s")]
async fn timed(x: u64) -> Result<u64, Error> {
    if black_box(x) == u64::MAX {
        Err(Error)
    } else {
        Ok(x + 1)
    }
}

#[inline(never)]
#[timeout("1s", detach)]
fn detached(x: u64) -> Result<u64, Error> {
    if black_box(x) == u64::MAX {
        Err(Error)
    } else {
        Ok(x + 1)
    }
}

#[inline(never)]
async fn tokio_timed(x: u64) -> Result<u64, Error> {
    match tokio::time::timeout(Duration::from_secs(1), bare_async(x)).await {
        Ok(out) => out,
        Err(_) => Err(Error),
    }
}

const CALLS: u64 = 2_000_000;
const ROUNDS: usize = 9;

struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(f64::total_cmp);
    Stats {
        median: samples[samples.len() / 2],
        min: samples[0],
        max: samples[samples.len() - 1],
    }
}

fn sync(f: fn(u64) -> Result<u64, Error>) -> Stats {
    let round = || {
        let start = Instant::now();
        for i in 0..CALLS {
            let _ = black_box(f(black_box(i)));
        }
        start.elapsed().as_nanos() as f64 / CALLS as f64
    };
    round();
    stats((0..ROUNDS).map(|_| round()).collect())
}

macro_rules! asynchronous {
    ($runtime:expr, $f:ident) => {{
        let round = || {
            $runtime.block_on(async {
                let start = Instant::now();
                for i in 0..CALLS {
                    let _ = black_box($f(black_box(i)).await);
                }
                start.elapsed().as_nanos() as f64 / CALLS as f64
            })
        };
        round();
        stats((0..ROUNDS).map(|_| round()).collect())
    }};
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let rows = [
        ("bare call (sync)", sync(bare)),
        (
            "hand-written retry loop, first attempt succeeds",
            sync(hand_written_loop),
        ),
        ("#[retry], first attempt succeeds (sync)", sync(retried)),
        (
            "bare call (async, ready)",
            asynchronous!(runtime, bare_async),
        ),
        (
            "hand-written async retry loop, first attempt succeeds",
            asynchronous!(runtime, hand_written_async_loop),
        ),
        (
            "#[retry], first attempt succeeds (async)",
            asynchronous!(runtime, retried_async),
        ),
        (
            "tokio::time::timeout, ready body",
            asynchronous!(runtime, tokio_timed),
        ),
        ("#[timeout], ready body", asynchronous!(runtime, timed)),
    ];
    eprintln!(
        "future sizes: bare {} B, #[retry] {} B, #[timeout] {} B, tokio::time::timeout {} B",
        std::mem::size_of_val(&bare_async(0)),
        std::mem::size_of_val(&retried_async(0)),
        std::mem::size_of_val(&timed(0)),
        std::mem::size_of_val(&tokio_timed(0)),
    );
    println!("| path | median ns/call | min | max |");
    println!("|---|---|---|---|");
    for (name, s) in &rows {
        println!("| {name} | {:.2} | {:.2} | {:.2} |", s.median, s.min, s.max);
    }

    // A thread per call: fewer calls, same rounds.
    let round = || {
        let start = Instant::now();
        for i in 0..5_000 {
            let _ = black_box(detached(black_box(i)));
        }
        start.elapsed().as_nanos() as f64 / 5_000.0
    };
    round();
    let s = stats((0..ROUNDS).map(|_| round()).collect());
    println!(
        "| #[timeout(detach)], sync body done at once (a thread per call) | {:.0} | {:.0} | {:.0} |",
        s.median, s.min, s.max
    );
}
