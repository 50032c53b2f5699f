#!/usr/bin/env bash
# End to end: the `service` example scraped by a real Prometheus server on loopback.
#
# Starts the example (which plays its schedule, then keeps serving) with its breaker
# marked critical, and a Prometheus whose only scrape target is the example's /metrics and
# which loads the shipped alert rules (ops/prometheus). Checks through Prometheus's HTTP
# API that the critical-breaker alert fires while the example's upstream is down, then,
# once the schedule ended, that `steadfast_calls_total` and `steadfast_breaker_state` hold
# the values the example itself serves. Bounded in time; stops what it started, by
# process id.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
service_port=$(free_port)
prometheus_port=$(free_port)

cargo build --locked -q -p steadfast-examples --example service
STEADFAST_BREAKER_UPSTREAM_CRITICAL=true \
  target/debug/examples/service --port "$service_port" --serve 60 >"$work/service.log" 2>&1 &
pids+=($!)

cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/ops/prometheus/steadfast.rules.yml
scrape_configs:
  - job_name: steadfast-example
    static_configs:
      - targets: ["127.0.0.1:$service_port"]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prometheus_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)

status=0
timeout 60 python3 - "$service_port" "$prometheus_port" "$work/service.log" <<'PY' || status=$?
import json, sys, time, urllib.parse, urllib.request

service, prometheus, log = sys.argv[1], sys.argv[2], sys.argv[3]

def get(url):
    with urllib.request.urlopen(url, timeout=2) as r:
        return r.read().decode()

def query(expr):
    url = f"http://127.0.0.1:{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    body = json.loads(get(url))
    assert body["status"] == "success", body
    return body["data"]["result"]

# While the upstream is down (3 s to 9 s into the schedule), the critical breaker's alert
# fires.
fired = False
while "serving for" not in open(log).read():
    alerts = query('ALERTS{alertname="SteadfastCriticalBreakerOpen", alertstate="firing", breaker="upstream"}')
    if alerts and not fired:
        fired = True
        print("alert firing:", alerts[0]["metric"])
    time.sleep(0.3)
assert fired, "SteadfastCriticalBreakerOpen never fired while the upstream was down"
direct = {}
for line in get(f"http://127.0.0.1:{service}/metrics").splitlines():
    if line.startswith(('steadfast_calls_total{function="quotes.fetch"}', 'steadfast_breaker_state{breaker="upstream"}')):
        name, value = line.rsplit(" ", 1)
        direct[name] = float(value)
print("the example serves:", direct)
assert len(direct) == 2, direct

# Wait for Prometheus to scrape that state (scrapes every second).
deadline = time.time() + 30
while True:
    calls = query('steadfast_calls_total{function="quotes.fetch"}')
    state = query('steadfast_breaker_state{breaker="upstream"}')
    got = {
        'steadfast_calls_total{function="quotes.fetch"}': float(calls[0]["value"][1]) if calls else None,
        'steadfast_breaker_state{breaker="upstream"}': float(state[0]["value"][1]) if state else None,
    }
    if got == direct:
        print("Prometheus scraped:", got)
        break
    assert time.time() < deadline, f"Prometheus has {got}, the example serves {direct}"
    time.sleep(0.5)
assert direct['steadfast_calls_total{function="quotes.fetch"}'] > 0
assert direct['steadfast_breaker_state{breaker="upstream"}'] == 0, "closed after the schedule"
# Closed again: the alert is no longer firing.
deadline = time.time() + 15
while query('ALERTS{alertname="SteadfastCriticalBreakerOpen", alertstate="firing"}'):
    assert time.time() < deadline, "the alert still fires after the breaker closed"
    time.sleep(0.5)
print("e2e: 2 passed, 0 failed")
PY
if [ "$status" -ne 0 ]; then
  echo "e2e failed ($status); service log:" >&2; tail -40 "$work/service.log" >&2
  echo "prometheus log:" >&2; tail -20 "$work/prometheus.log" >&2
  exit 1
fi
