//! The `shutdown` example, killed with SIGTERM mid-upload: every upload is either
//! acknowledged by the storage server or still on disk (none lost), none reaches the
//! server twice, and `/health` answers 503 while it drains.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the storage server saw, per upload id.
#[derive(Debug, Default)]
struct Seen {
    received: BTreeMap<String, u32>,
    acknowledged: Vec<String>,
}

/// A storage server on loopback: 300 ms per upload; `stuck-*` is read and never answered.
fn storage() -> (SocketAddr, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let Some((path, _body)) = read_request(&mut stream) else {
                    return;
                };
                let Some(id) = path.strip_prefix("/store/").map(str::to_owned) else {
                    return;
                };
                *record
                    .lock()
                    .unwrap()
                    .received
                    .entry(id.clone())
                    .or_default() += 1;
                if id.starts_with("stuck") {
                    std::thread::sleep(Duration::from_secs(30));
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
                let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                if stream.write_all(ok).and_then(|()| stream.flush()).is_ok() {
                    record.lock().unwrap().acknowledged.push(id);
                }
            });
        }
    });
    (addr, seen)
}

/// The request's path and body.
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        if header.trim().is_empty() {
            break;
        }
        match header.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("content-length") => {
                length = value.trim().parse().ok()?;
            }
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, body))
}

/// One HTTP/1.1 request to the example: its status.
fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))
}

/// The example binary `cargo test` built beside this test.
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    dir.join("examples").join("shutdown")
}

fn on_disk(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".upload").map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn sigterm_mid_upload_loses_nothing_and_sends_nothing_twice() {
    let (storage, seen) = storage();
    let dir = std::env::temp_dir().join(format!("steadfast-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(example())
        .args(["--serve", "--port", "0", "--grace", "1500ms"])
        .arg("--storage")
        .arg(storage.to_string())
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example was built by `cargo test`");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let service: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .parse()
        .unwrap();
    // The rest of its output, for the failure message.
    let output = Arc::new(Mutex::new(String::new()));
    let collect = output.clone();
    let reader = std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let mut all = collect.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });

    let mut ids = vec!["stuck-1".to_owned()];
    ids.extend((1..=11).map(|n| format!("report-{n:02}")));
    for id in &ids {
        assert_eq!(
            request(service, "POST", &format!("/upload/{id}"), id.as_bytes()).unwrap(),
            202
        );
    }
    assert_eq!(request(service, "GET", "/health", b"").unwrap(), 200);
    // Mid-upload: some acknowledged, some on their way, the stuck one held.
    let started = Instant::now();
    while seen.lock().unwrap().acknowledged.len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no upload reached the storage server"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    // While it drains: 503 on /health, new uploads refused.
    let mut health_503 = false;
    let mut refused = false;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !(health_503 && refused) {
        match request(service, "GET", "/health", b"") {
            Ok(503) => health_503 = true,
            Ok(_) => {}
            Err(_) => break, // it exited
        }
        if health_503 && !refused {
            refused = request(service, "POST", "/upload/late", b"late").ok() == Some(503);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let exit = child.wait().unwrap();
    reader.join().unwrap();
    let output = output.lock().unwrap().clone();
    assert!(exit.success(), "{exit}\n{output}");
    assert!(
        health_503,
        "/health never answered 503 during the drain\n{output}"
    );
    assert!(
        refused,
        "a new upload was not refused during the drain\n{output}"
    );

    let seen = seen.lock().unwrap();
    let kept = on_disk(&dir);
    for id in &ids {
        let acked = seen.acknowledged.contains(id);
        let stored = kept.contains(id);
        assert!(
            acked || stored,
            "`{id}` was lost\n{seen:?}\nkept {kept:?}\n{output}"
        );
        assert!(
            !(acked && stored),
            "`{id}` is both acknowledged and kept: it would be sent twice\n{output}"
        );
    }
    for (id, times) in &seen.received {
        assert_eq!(*times, 1, "`{id}` reached the storage server {times} times");
    }
    assert!(
        !kept.contains(&"late".to_owned()),
        "a refused upload was kept"
    );
    assert!(
        kept.contains(&"stuck-1".to_owned()),
        "the send cancelled at the deadline is kept"
    );
    assert!(
        !seen.acknowledged.is_empty() && !kept.is_empty(),
        "a drain mid-upload: {seen:?} {kept:?}"
    );
    assert!(output.contains("1 cancelled"), "{output}");
    let _ = std::fs::remove_dir_all(&dir);
}
