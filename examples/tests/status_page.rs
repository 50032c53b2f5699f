//! The status page in a real browser: the service example with its upstream down, its
//! `/status` loaded by headless Chromium (Debian's `chromium`, installed by `.ci/run`).
//! What a person would see is read from the DOM the browser built: the verdict, the open
//! breaker with its cause. No console error; a screenshot is left in
//! `target/status-page.png` to look at.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use steadfast_examples::service::{Mode, http_get, start_service, start_upstream};

/// Debian's Chromium, or `STEADFAST_CHROMIUM`. Under CI it must be there.
fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("STEADFAST_CHROMIUM").ok(),
        Some("/usr/bin/chromium".to_owned()),
        Some("/usr/bin/chromium-browser".to_owned()),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() && std::env::var_os("CI").is_some() {
        panic!("CI needs Chromium for the status page test: `apt-get install chromium`");
    }
    found
}

/// Runs headless Chromium on `url` with `args`, in a profile of its own: stdout, stderr.
fn browse(chromium: &Path, profile: &Path, args: &[&str], url: &str) -> (String, String) {
    let out = Command::new("timeout")
        .arg("90")
        .arg(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_the_open_breaker_in_a_real_browser() {
    let Some(chromium) = chromium() else {
        eprintln!("skipped: no Chromium here (CI installs it)");
        return;
    };
    let upstream = start_upstream().await.unwrap();
    let service: SocketAddr = start_service(SocketAddr::from(([127, 0, 0, 1], 0)), upstream.addr)
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(http_get(service, "/quote/ACME").await.unwrap().0, 200);
    }
    upstream.set(Mode::Failing);
    for _ in 0..4 {
        let _ = http_get(service, "/quote/ACME").await.unwrap();
    }
    // An open breaker stays open on the page: it turns half-open only when a call asks.
    let (status, page) = http_get(service, "/status").await.unwrap();
    assert_eq!(status, 200);
    assert!(page.len() < 30 * 1024, "the page is {} bytes", page.len());
    for outside in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(
            !page.contains(outside),
            "the page loads something: {outside}"
        );
    }

    let url = format!("http://{service}/status");
    let profile = std::env::temp_dir().join(format!("steadfast-chromium-{}", std::process::id()));
    let (dom, log) = tokio::task::spawn_blocking({
        let (chromium, profile, url) = (chromium.clone(), profile.clone(), url.clone());
        move || browse(&chromium, &profile, &["--dump-dom"], &url)
    })
    .await
    .unwrap();
    // What a person sees: the verdict, the open breaker, its cause.
    assert!(
        dom.contains("class=\"verdict degraded\">degraded</span>"),
        "verdict:\n{dom}"
    );
    assert!(
        dom.contains("<li>circuit breaker `upstream` is open</li>"),
        "reason:\n{dom}"
    );
    let row = dom
        .split("<tr ")
        .find(|r| r.contains("data-breaker=\"upstream\""))
        .unwrap_or_else(|| panic!("no row for the breaker:\n{dom}"));
    assert!(row.contains("data-state=\"open\""), "{row}");
    assert!(
        row.contains("<span class=\"pill open\">open</span>"),
        "{row}"
    );
    assert!(row.contains("upstream answered 503"), "the cause: {row}");
    let function = dom
        .split("<tr ")
        .find(|r| r.contains("data-function=\"quotes.fetch\""))
        .unwrap_or_else(|| panic!("no row for the function:\n{dom}"));
    assert!(
        function.contains("<td class=\"n\">7</td>"),
        "7 calls: {function}"
    );
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");

    // A screenshot for people to look at.
    let shot = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/status-page.png")
        .canonicalize()
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/status-page.png")
        });
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    tokio::task::spawn_blocking(move || {
        browse(
            &chromium,
            &profile,
            &[&arg, "--window-size=1100,760", "--hide-scrollbars"],
            &url,
        );
        let _ = std::fs::remove_dir_all(&profile);
    })
    .await
    .unwrap();
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 5_000, "an empty page? {} bytes", png.len());
}
