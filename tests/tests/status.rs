//! `steadfast::status`: the JSON follows its documented schema and the page shows every
//! part, escaped, in a few kilobytes.

use std::time::Duration;

use steadfast::{
    BulkheadFull, CircuitOpen, RateLimited, bulkhead, circuit_breaker, monitored, rate_limit,
    supervised,
};

#[derive(Debug)]
enum E {
    Down(&'static str),
    Open(CircuitOpen),
    Full(BulkheadFull),
    Limited(RateLimited),
}

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            E::Down(why) => f.write_str(why),
            E::Open(e) => write!(f, "{e}"),
            E::Full(e) => write!(f, "{e}"),
            E::Limited(e) => write!(f, "{e}"),
        }
    }
}

impl From<CircuitOpen> for E {
    fn from(e: CircuitOpen) -> Self {
        E::Open(e)
    }
}
impl From<BulkheadFull> for E {
    fn from(e: BulkheadFull) -> Self {
        E::Full(e)
    }
}
impl From<RateLimited> for E {
    fn from(e: RateLimited) -> Self {
        E::Limited(e)
    }
}

#[monitored(name = "status.<pay>")]
#[circuit_breaker(
    name = "status.<payments>",
    failure_threshold = 2,
    open_for = "1h",
    critical
)]
fn pay(fail: bool) -> Result<(), E> {
    if fail {
        Err(E::Down("card service said <no> & \"never\""))
    } else {
        Ok(())
    }
}

#[bulkhead(max_concurrent = 3, name = "status.converters")]
fn convert() -> Result<(), E> {
    Ok(())
}

#[rate_limit(rate = 10, per = "1s", name = "status.quota")]
fn quota() -> Result<(), E> {
    Ok(())
}

#[supervised(
    name = "status.watchdog",
    max_restarts = 1,
    delay = "1ms",
    jitter = "none"
)]
fn watchdog() -> Result<(), String> {
    Err("lost the <socket>".into())
}

#[test]
fn the_json_follows_its_schema_and_the_page_shows_every_part() {
    pay(false).unwrap();
    let _ = pay(true);
    let _ = pay(true);
    assert!(matches!(pay(false), Err(E::Open(_))));
    convert().unwrap();
    quota().unwrap();
    let task = watchdog_supervised();
    for _ in 0..1000 {
        if task.state() == steadfast::TaskState::Failed {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }

    let json: serde_json::Value =
        serde_json::from_str(&steadfast::status::json()).expect("valid JSON");
    assert_eq!(json["version"], 1);
    assert_eq!(json["health"]["status"], "unhealthy");
    assert_eq!(json["draining"], false);
    let breaker = json["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "status.<payments>")
        .expect("the breaker");
    assert_eq!(breaker["state"], "open");
    assert_eq!(breaker["critical"], true);
    assert_eq!(
        breaker["last_failure"],
        "card service said <no> & \"never\""
    );
    assert_eq!(breaker["rejections"], 1);
    assert_eq!(breaker["transitions"], 1);
    assert!(breaker["in_state_seconds"].as_f64().unwrap() < 60.0);
    let function = json["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "status.<pay>")
        .expect("the function");
    assert_eq!(
        (function["calls"].as_u64(), function["errors"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(function["rejected"], 1);
    assert_eq!(function["error_rate"], 0.75);
    assert!(function["p99_seconds"].as_f64().unwrap() >= function["p50_seconds"].as_f64().unwrap());
    let bulkhead = &json["bulkheads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "status.converters")
        .unwrap();
    assert_eq!(
        (bulkhead["limit"].as_u64(), bulkhead["admitted"].as_u64()),
        (Some(3), Some(1))
    );
    let limiter = &json["rate_limiters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "status.quota")
        .unwrap();
    assert_eq!(
        (limiter["rate"].as_u64(), limiter["per_seconds"].as_f64()),
        (Some(10), Some(1.0))
    );
    let task = &json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "status.watchdog")
        .unwrap();
    assert_eq!(task["state"], "failed");
    assert_eq!(task["last_error"], "lost the <socket>");
    assert!(json["caches"].is_array());

    let page = steadfast::status::html();
    assert!(page.len() < 30 * 1024, "{} bytes", page.len());
    eprintln!("the page: {} bytes", page.len());
    assert!(page.contains("class=\"verdict unhealthy\">unhealthy</span>"));
    assert!(page.contains("data-breaker=\"status.&lt;payments&gt;\" data-state=\"open\""));
    assert!(page.contains("card service said &lt;no&gt; &amp; &quot;never&quot;"));
    assert!(!page.contains("<no>"), "user text is escaped");
    assert!(page.contains("<td>status.&lt;pay&gt;</td>"));
    assert!(page.contains("<td>status.converters</td>"));
    assert!(page.contains("<td>status.quota</td>"));
    assert!(page.contains("data-task=\"status.watchdog\" data-state=\"failed\""));
    assert!(page.contains("lost the &lt;socket&gt;"));
    assert!(page.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
}
