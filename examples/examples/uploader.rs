//! A sync worker that uploads reports to a flaky server with `#[retry]` and
//! `#[circuit_breaker]`, keeping each report on disk until its upload succeeded, so that
//! killing it at any moment loses nothing: run it again and it carries on.
//!
//! Run: `cargo run -p steadfast-examples --example uploader`
//! Interrupt it (Ctrl-C, or `-- --stop-after 3`) and run it again: it resumes.
//! `-- --reset` starts over with fresh reports.
//!
//! A report moves from `outbox/` to `sent/` only after the server acknowledged it (a
//! rename, atomic on one file system). A kill between the acknowledgement and the rename
//! uploads that report again on the next run: at least once, never lost; the server
//! ignores a report id it already has.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use steadfast::{CircuitOpen, circuit_breaker, retry};

/// The flaky server: acknowledges a report by id, fails 1 upload in 4, and is down for a
/// while after the 6th request.
struct Server {
    requests: AtomicU32,
    down_until: Mutex<Option<Instant>>,
    received: Mutex<BTreeSet<String>>,
}

static SERVER: Server = Server {
    requests: AtomicU32::new(0),
    down_until: Mutex::new(None),
    received: Mutex::new(BTreeSet::new()),
};

impl Server {
    fn receive(&self, id: &str, _body: &[u8]) -> io::Result<()> {
        std::thread::sleep(Duration::from_millis(20));
        let n = self.requests.fetch_add(1, Relaxed) + 1;
        let mut down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        if n == 6 {
            *down = Some(Instant::now() + Duration::from_millis(600));
        }
        if down.is_some_and(|until| Instant::now() < until) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "server is down",
            ));
        }
        if n.is_multiple_of(4) {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "upload timed out"));
        }
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned());
        Ok(())
    }
}

/// One upload: up to 4 attempts with backoff; every attempt passes the breaker, which
/// opens after 3 failures in a row and then fails uploads at once for 300 ms.
/// `io::Result` works as it is: `io::Error` has `From<CircuitOpen>`.
#[retry(attempts = 4, delay = "30ms", max_delay = "400ms", jitter = "full")]
#[circuit_breaker(name = "upload", failure_threshold = 3, open_for = "300ms")]
fn upload(report: &Path) -> io::Result<()> {
    let body = fs::read(report)?;
    let id = report
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    SERVER.receive(id, &body)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .map(|i| args.get(i + 1).cloned().unwrap_or_default())
}

fn main() -> io::Result<()> {
    let dir = arg("--dir").map_or_else(
        || std::env::temp_dir().join("steadfast-uploader-demo"),
        PathBuf::from,
    );
    let (outbox, sent) = (dir.join("outbox"), dir.join("sent"));
    let left = fs::read_dir(&outbox).map_or(0, |d| d.count());
    // A fresh run when asked, the first time, or when the last run sent everything.
    if arg("--reset").is_some() || left == 0 {
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&outbox)?;
        fs::create_dir_all(&sent)?;
        for i in 1..=10 {
            fs::write(
                outbox.join(format!("report-{i:02}.csv")),
                format!("id,value\n{i},{}\n", i * 7),
            )?;
        }
        println!("new run: 10 reports in {}", outbox.display());
    } else {
        println!(
            "resuming: {left} reports still in {} (the last run stopped before sending them)",
            outbox.display()
        );
    }
    let stop_after: Option<usize> = arg("--stop-after").and_then(|n| n.parse().ok());

    let mut pending: Vec<PathBuf> = fs::read_dir(&outbox)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    pending.sort();
    let start = Instant::now();
    let mut uploaded = 0;
    while let Some(report) = pending.first().cloned() {
        let name = report
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // One call of `upload`: its retries and their waits happen inside it.
        let call = Instant::now();
        let result = upload(&report);
        let took = call.elapsed().as_millis();
        match result {
            Ok(()) => {
                fs::rename(&report, sent.join(&name))?; // only now does it leave the outbox
                pending.remove(0);
                uploaded += 1;
                println!(
                    "{:>5} ms  sent {name} (the call took {took} ms, retries included)",
                    start.elapsed().as_millis()
                );
                if stop_after == Some(uploaded) {
                    println!("stopping after {uploaded} (as if killed); run again to resume");
                    return Ok(());
                }
            }
            Err(e) => {
                // The report stays in the outbox. An open breaker says how long to wait.
                let wait = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<CircuitOpen>())
                    .map_or(Duration::from_millis(100), CircuitOpen::retry_after);
                println!(
                    "{:>5} ms  {name} not sent after {took} ms ({e}); pausing {} ms before the next call",
                    start.elapsed().as_millis(),
                    wait.as_millis()
                );
                std::thread::sleep(wait);
            }
        }
    }
    let total = fs::read_dir(&sent)?.count();
    println!("\nall sent: {total} reports in {}", sent.display());
    println!("server requests: {}", SERVER.requests.load(Relaxed));
    Ok(())
}
