//! `#[timeout]` on an async function (the body is cancelled at the deadline) and on a sync
//! one with `detach` (the body runs on a helper thread; the caller gets `Elapsed` at the
//! deadline and the thread finishes on its own).
//!
//! Run: `cargo run -p steadfast-examples --example timeouts`

use std::sync::mpsc;
use std::time::{Duration, Instant};

use steadfast::{Elapsed, timeout};

#[derive(Debug)]
enum Error {
    TooSlow(Elapsed),
}

impl From<Elapsed> for Error {
    fn from(e: Elapsed) -> Self {
        Error::TooSlow(e)
    }
}

/// Async: dropped at 100 ms. A drop guard tells which way the body ended: it finished, or
/// it was cancelled mid-wait by the deadline.
#[timeout("100ms")]
async fn lookup(key: &str, latency: Duration) -> Result<String, Error> {
    struct Guard {
        finished: bool,
    }
    impl Drop for Guard {
        fn drop(&mut self) {
            if std::thread::panicking() {
                return;
            }
            if self.finished {
                println!("    (body finished: the value was ready before the deadline)");
            } else {
                println!("    (body cancelled: dropped mid-wait at the deadline)");
            }
        }
    }
    let mut guard = Guard { finished: false };
    tokio::time::sleep(latency).await;
    guard.finished = true;
    Ok(format!("value of {key}"))
}

/// Sync: a thread cannot be interrupted, so the body runs on a thread of its own.
/// Arguments and result must be `Send + 'static` (here: an owned Vec and a Sender).
#[timeout("100ms", detach)]
fn checksum(data: Vec<u8>, work: Duration, done: mpsc::Sender<u32>) -> Result<u32, Error> {
    std::thread::sleep(work); // CPU-bound or blocking work
    let sum = data.iter().map(|b| u32::from(*b)).sum();
    let _ = done.send(sum);
    Ok(sum)
}

#[tokio::main]
async fn main() {
    println!("async #[timeout(\"100ms\")]:");
    let t = Instant::now();
    println!(
        "  fast lookup -> {:?} in {} ms",
        lookup("a", Duration::from_millis(10)).await,
        t.elapsed().as_millis()
    );
    let t = Instant::now();
    println!(
        "  slow lookup -> {:?} in {} ms",
        lookup("b", Duration::from_secs(2))
            .await
            .map_err(|Error::TooSlow(e)| e.to_string()),
        t.elapsed().as_millis()
    );

    println!("\nsync #[timeout(\"100ms\", detach)]:");
    let (tx, rx) = mpsc::channel();
    let t = Instant::now();
    println!(
        "  quick checksum -> {:?} in {} ms",
        checksum(vec![1, 2, 3], Duration::from_millis(5), tx.clone()),
        t.elapsed().as_millis()
    );
    let _ = rx.recv();
    let t = Instant::now();
    let result = checksum(vec![4, 5, 6], Duration::from_millis(400), tx);
    println!(
        "  slow checksum  -> {:?} in {} ms",
        result.map_err(|Error::TooSlow(e)| e.to_string()),
        t.elapsed().as_millis()
    );
    let sum = rx.recv_timeout(Duration::from_secs(5));
    println!(
        "  ...and its thread finished on its own {} ms later with {sum:?} (the caller had moved on)",
        t.elapsed().as_millis()
    );
}
