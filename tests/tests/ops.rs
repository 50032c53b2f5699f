//! What operators load, checked against what the toolkit exports: the alert rules
//! (`ops/prometheus/`) with `promtool check rules` and their unit tests with `promtool test
//! rules`; the Grafana dashboard (`ops/grafana/steadfast.json`): valid JSON of Grafana's
//! schema version, every PromQL expression parsed by promtool, and every metric they name
//! one that `metrics::prometheus()` exports.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ops() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops")
}

/// Every metric name `prometheus()` exports (a histogram's `_bucket`, `_sum`, `_count`).
fn exported() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in steadfast::metrics::prometheus().lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            continue;
        };
        names.insert(name.to_owned());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    names
}

/// The `steadfast_…` metric names an expression uses.
fn metrics_in(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(at) = expr[i..].find("steadfast_") {
        let start = i + at;
        let word_start = start == 0
            || !(bytes[start - 1].is_ascii_alphanumeric()
                || bytes[start - 1] == b'_'
                || bytes[start - 1] == b':');
        let end = start
            + expr[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(expr.len() - start);
        if word_start {
            names.insert(expr[start..end].to_owned());
        }
        i = end;
    }
    names
}

/// Runs promtool; `None` outside CI when it is not installed.
fn promtool(args: &[&str], dir: &Path) -> Option<(bool, String)> {
    match Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(out) => Some((
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "promtool not available ({e}): install Debian's `prometheus` to run this check"
            );
            None
        }
        Err(e) => panic!("promtool is required in CI: {e}"),
    }
}

#[test]
fn the_alert_rules_are_valid_fire_as_their_tests_say_and_name_exported_metrics() {
    let dir = ops().join("prometheus");
    let rules = std::fs::read_to_string(dir.join("steadfast.rules.yml")).unwrap();
    let exported = exported();
    let exprs: Vec<&str> = rules
        .lines()
        .filter(|l| l.trim_start().starts_with("expr:"))
        .collect();
    assert_eq!(
        exprs.len(),
        8,
        "one expr line per alert (multi-line ones start with `expr: |`)"
    );
    let used = metrics_in(&rules);
    assert_eq!(
        used.iter().map(String::as_str).collect::<Vec<_>>(),
        [
            "steadfast_breaker_critical",
            "steadfast_breaker_state",
            "steadfast_bulkhead_rejections_total",
            "steadfast_calls_total",
            "steadfast_drain_left",
            "steadfast_draining",
            "steadfast_errors_total",
            "steadfast_retry_exhausted_total",
            "steadfast_task_state",
        ]
    );
    for name in &used {
        assert!(
            exported.contains(name),
            "the rules use `{name}`, which is not exported"
        );
    }
    if let Some((ok, out)) = promtool(&["check", "rules", "steadfast.rules.yml"], &dir) {
        assert!(ok, "{out}");
    }
    if let Some((ok, out)) = promtool(&["test", "rules", "steadfast.rules.test.yml"], &dir) {
        assert!(ok, "{out}");
    }
}

/// Grafana's variables, as a query would see them once substituted.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replace("$job", ".*")
        .replace("$instance", ".*")
}

#[test]
fn the_dashboard_is_grafana_json_whose_queries_parse_and_name_exported_metrics() {
    let text = std::fs::read_to_string(ops().join("grafana/steadfast.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(
        dashboard["schemaVersion"], 39,
        "Grafana 10.4/11's dashboard schema"
    );
    assert_eq!(dashboard["uid"], "steadfast");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut exprs = Vec::new();
    let mut ids = BTreeSet::new();
    for panel in panels {
        assert!(
            ids.insert(panel["id"].as_u64().expect("an id")),
            "duplicate panel id"
        );
        assert!(panel["title"].as_str().is_some_and(|t| !t.is_empty()));
        let grid = &panel["gridPos"];
        for key in ["x", "y", "w", "h"] {
            assert!(
                grid[key].as_u64().is_some(),
                "gridPos.{key} of {}",
                panel["title"]
            );
        }
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{} has no query", panel["title"]);
        for target in targets {
            exprs.push(target["expr"].as_str().expect("expr").to_owned());
        }
    }
    let exported = exported();
    let mut seen = BTreeSet::new();
    for expr in &exprs {
        for name in metrics_in(expr) {
            assert!(
                exported.contains(&name),
                "the dashboard uses `{name}`, which is not exported: {expr}"
            );
            seen.insert(name);
        }
    }
    // What the issue asks the dashboard to show.
    for needed in [
        "steadfast_breaker_state",
        "steadfast_breaker_rejections_total",
        "steadfast_calls_total",
        "steadfast_errors_total",
        "steadfast_call_duration_seconds_bucket",
        "steadfast_retry_attempts_total",
        "steadfast_timeouts_total",
        "steadfast_bulkhead_in_use",
        "steadfast_task_restarts_total",
    ] {
        assert!(seen.contains(needed), "no panel shows {needed}");
    }
    // Every expression parsed by promtool, as recording rules of a generated file.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-rules");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        let quoted = serde_json::to_string(&substitute(expr)).unwrap();
        rules.push_str(&format!(
            "      - record: steadfast:dashboard:panel_{i}\n        expr: {quoted}\n"
        ));
    }
    std::fs::write(dir.join("dashboard.rules.yml"), &rules).unwrap();
    if let Some((ok, out)) = promtool(&["check", "rules", "dashboard.rules.yml"], &dir) {
        assert!(ok, "{out}\n{rules}");
        assert!(
            out.contains(&format!("{} rules found", exprs.len())),
            "{out}"
        );
    }
}

#[test]
fn metric_names_are_found_in_expressions() {
    let names = metrics_in(
        "sum(rate(steadfast_calls_total{job=\"x\"}[1m])) / steadfast_errors_total and foo_steadfast_x",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["steadfast_calls_total", "steadfast_errors_total"]
    );
}
