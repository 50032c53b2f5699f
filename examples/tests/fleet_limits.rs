//! Three processes sharing one limit through a real `redis-server`: the `fleet_limits`
//! example (three workers, each calling as fast as it can) admits no more than the limit
//! in aggregate, every decision taken on Redis.

use std::path::Path;
use std::process::Command;

#[test]
fn three_processes_admit_no_more_than_the_fleet_limit() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "CI needs redis-server");
        eprintln!("skipped: no redis-server here (CI installs Debian's)");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/fleet_limits");
    let out = Command::new(example)
        .args(["--workers", "3", "--seconds", "3"])
        .output()
        .expect("the example was built by `cargo test`");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = text.lines().last().unwrap_or_default();
    // "aggregate admitted 200 of at most 201 in 3.01 s (every decision shared)"
    let words: Vec<&str> = last.split_whitespace().collect();
    let (admitted, bound): (u64, u64) = match words.as_slice() {
        ["aggregate", "admitted", n, "of", "at", "most", b, ..] => {
            (n.parse().unwrap(), b.parse().unwrap())
        }
        _ => panic!("last line: {last:?}\n{text}"),
    };
    assert!(last.ends_with("(every decision shared)"), "{text}");
    assert!(
        admitted <= bound,
        "{admitted} admitted, more than the limit allows ({bound})\n{text}"
    );
    // 50 a second for 3 seconds, plus the burst of 50: the workers used the quota.
    assert!(admitted >= 170, "only {admitted} admitted\n{text}");
    let workers = text.lines().filter(|l| l.contains(" total ")).count();
    assert_eq!(workers, 3, "{text}");
}
