//! Debian's `redis-server` on a loopback port, started by the test or bench that includes
//! this file (with `#[path]`) and stopped by its process id when dropped. Shared by
//! `tests/tests/fleet.rs` and `bench/benches/fleet.rs`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) struct RedisServer {
    pub(crate) port: u16,
    child: Option<Child>,
}

/// A free loopback port.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl RedisServer {
    /// A server on `port`, answering; `None` outside CI when redis-server is not installed.
    pub(crate) fn start(port: u16) -> Option<RedisServer> {
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("skipped: no redis-server here ({e}); CI installs Debian's");
                return None;
            }
            Err(e) => panic!("CI needs redis-server: {e}"),
        };
        let server = RedisServer {
            port,
            child: Some(child),
        };
        for _ in 0..300 {
            if server.cli(&["PING"]).trim() == "PONG" {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not answer on port {port}");
    }

    /// `redis://127.0.0.1:<port>`.
    #[allow(dead_code)]
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// One `redis-cli` command: what it printed.
    pub(crate) fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stops it now (by its process id).
    #[allow(dead_code)]
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
