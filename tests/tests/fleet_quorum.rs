//! `#[circuit_breaker(scope = "fleet", quorum = 2)]` across three real processes sharing a
//! real `redis-server` (started here on a free loopback port, stopped by its process id).
//! This binary is the test and, run again with `STEADFAST_QUORUM_NODE` set, each node: a
//! node reads commands on stdin (`call`, `fail`) and answers each on stdout (`ok`, `down`,
//! `open`). One node's open breaker leaves the others closed; a second one opens it for
//! the third too; it closes again when their markers expire, `open_for` (6 s) after their
//! own openings. (`harness = false`: a plain `main`.)

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use steadfast::circuit_breaker;

#[path = "../support/redis_server.rs"]
mod redis_server;
use redis_server::{RedisServer as Redis, free_port};

#[path = "../support/partner.rs"]
mod partner;
use partner::PartnerError;

const NODE: &str = "STEADFAST_QUORUM_NODE";

#[circuit_breaker(
    name = "quorum.partner",
    failure_threshold = 1,
    open_for = "6s",
    scope = "fleet",
    quorum = 2
)]
async fn partner(fail: bool) -> Result<(), PartnerError> {
    partner::answer(fail)
}

/// One node: connects, then answers each command with what its breaker said.
fn node(target: &str) {
    let (url, app) = target.split_once(' ').expect("url and app");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        steadfast::fleet::connect(url, app).await.expect("connect");
        let mut out = std::io::stdout().lock();
        for line in std::io::stdin().lock().lines() {
            let answer = match partner(line.expect("a command").trim() == "fail").await {
                Ok(()) => "ok",
                Err(PartnerError::Down) => "down",
                Err(PartnerError::Open(open)) => {
                    assert_eq!(open.name(), "quorum.partner");
                    "open"
                }
            };
            writeln!(out, "{answer}").expect("stdout");
            out.flush().expect("stdout");
        }
    });
}

/// A node process, driven by [`Node::ask`].
struct Node {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Node {
    fn spawn(name: &'static str, redis: &Redis, app: &str) -> Node {
        let mut child = Command::new(std::env::current_exe().expect("this binary"))
            .env(NODE, format!("{} {app}", redis.url()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("a node");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Node {
            name,
            child,
            stdin,
            stdout,
        }
    }

    /// Sends `command`, returns the node's answer.
    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").expect("a node's stdin");
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).expect("a node's answer");
        assert!(!answer.is_empty(), "node {} exited", self.name);
        answer.trim().to_string()
    }
}

impl Node {
    /// Calls until the node answers `want`, for at most `within`: how long it took.
    fn until(&mut self, want: &str, within: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let answer = self.ask("call");
            if answer == want {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "node {} still answers {answer:?}, not {want:?}, after {:?}",
                self.name,
                started.elapsed()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    if let Ok(target) = std::env::var(NODE) {
        return node(&target);
    }
    let Some(redis) = Redis::start(free_port()) else {
        return;
    };
    let app = format!("quorum-{}", std::process::id());
    let key = format!("{app}:steadfast:breaker:quorum.partner");
    let mut a = Node::spawn("a", &redis, &app);
    let mut b = Node::spawn("b", &redis, &app);
    let mut c = Node::spawn("c", &redis, &app);
    for node in [&mut a, &mut b, &mut c] {
        assert_eq!(node.ask("call"), "ok", "node {} starts closed", node.name);
    }
    // Every node reads the fleet's view once a second (and publishes its own opening at
    // once): a refresh and a half is enough for every node to have read a change.
    let refresh = Duration::from_millis(1_500);
    let markers = |redis: &Redis| redis.cli(&["ZCARD", &key]).trim().to_string();

    // One node's breaker opens: the others stay closed (one marker, quorum two).
    assert_eq!(a.ask("fail"), "down");
    let a_opened = Instant::now();
    assert_eq!(a.ask("call"), "open", "a's own breaker is open");
    std::thread::sleep(refresh);
    assert_eq!(markers(&redis), "1", "a published its marker");
    assert_eq!(b.ask("call"), "ok", "one node of a quorum of two");
    assert_eq!(c.ask("call"), "ok", "one node of a quorum of two");
    // Three seconds apart, so that a's marker expires well before b's.
    std::thread::sleep(Duration::from_secs(3).saturating_sub(a_opened.elapsed()));

    // A second node's opens: the third is held open too, at its next refresh.
    assert_eq!(b.ask("fail"), "down");
    let b_opened = Instant::now();
    let held = c.until("open", refresh);
    assert_eq!(markers(&redis), "2");
    assert!(
        a_opened.elapsed() < Duration::from_secs(6),
        "a's marker must still be there: this machine was too slow to test the quorum"
    );

    // The markers expire `open_for` (6 s) after their own openings, calls or not; after
    // a's, one is left, under the quorum: c is let go at its next refresh.
    std::thread::sleep(Duration::from_secs(6).saturating_sub(a_opened.elapsed()));
    let let_go = c.until("ok", refresh);
    assert!(
        b_opened.elapsed() < Duration::from_secs(6),
        "b's marker must still be there: this machine was too slow to test the expiry"
    );
    assert_eq!(markers(&redis), "1", "b's marker is left");
    std::thread::sleep(
        (Duration::from_secs(6) + Duration::from_millis(300)).saturating_sub(b_opened.elapsed()),
    );
    assert_eq!(markers(&redis), "0", "every marker expired");
    // a and b probe their own breakers (half-open after `open_for`) and close.
    assert_eq!(a.ask("call"), "ok");
    assert_eq!(b.ask("call"), "ok");
    println!(
        "fleet_quorum: one open node left the others closed; two held the third open ({held:?} after the second opened); it was let go {let_go:?} after the first marker expired"
    );
}
