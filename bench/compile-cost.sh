#!/usr/bin/env bash
# Compile cost per annotated function, debug build: a crate of 300 functions per
# attribute, sync and async (and 300 async ones with all four stacked), against 300 plain
# sync functions (the baseline of every "over plain" figure), 300 plain async ones and 300
# with #[tracing::instrument]. Each crate is built once to warm its dependencies, then rebuilt
# 3 times after touching its source, in two ways:
#   clean:       CARGO_INCREMENTAL=0, the crate compiled from scratch, as CI and every
#                first build pay it (the honest figure);
#   incremental: the default for debug builds, the rebuild a developer pays after an edit
#                (much of the work is reused, which hides most of the cost).
# The median of each (RUNS, default 3) is reported, and the cost per function over the plain crate.
#
#   bash bench/compile-cost.sh
#
# --instructions: instead of wall time (which moves ±20 % between identical builds on a
# shared 2-vCPU machine, more than most changes worth deciding on), count the instructions
# of the one rustc that compiles each crate, clean, under valgrind's cachegrind
# (deterministic to a fraction of a percent). Needs valgrind (Debian's `valgrind`). N
# defaults to 100 in this mode (cachegrind runs rustc about 50 times slower).
#
#   bash bench/compile-cost.sh --instructions
#   VARIANTS="bulkhead cached" bash bench/compile-cost.sh --instructions
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=target/compile-cost
rm -rf "$work"
mkdir -p "$work"
instructions=false
if [ "${1:-}" = "--instructions" ]; then
  instructions=true
  command -v valgrind >/dev/null || { echo "--instructions needs valgrind (apt-get install valgrind)" >&2; exit 1; }
fi
if $instructions; then N=${N:-100}; else N=${N:-300}; fi

# VARIANTS="retry stacked" measures only those (and plain, the baseline).
all="instrument circuit_breaker retry timeout monitored monitored_drain bulkhead rate_limit fallback cached supervised async_plain async_instrument async_circuit_breaker async_retry async_timeout async_monitored async_monitored_drain async_bulkhead async_rate_limit async_fallback async_cached async_supervised stacked"
read -r -a variants <<<"plain ${VARIANTS:-$all}"
RUNS=${RUNS:-3}
{
  echo '[workspace]'
  echo 'resolver = "3"'
  printf 'members = ['
  for v in "${variants[@]}"; do printf '"%s", ' "$v"; done
  echo ']'
} >"$work/Cargo.toml"

for v in "${variants[@]}"; do
  mkdir -p "$work/$v/src"
  cat >"$work/$v/Cargo.toml" <<TOML
[package]
name = "cost-$v"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
steadfast = { path = "$root/runtime", features = ["cache"] }
tracing = "0.1.40"
TOML
  {
    echo '#![allow(dead_code, unused_imports)]'
    echo 'use steadfast::{CircuitOpen, Elapsed, circuit_breaker, monitored, retry, timeout};'
    echo '#[derive(Debug, Clone)] pub struct E;'
    echo 'impl From<CircuitOpen> for E { fn from(_: CircuitOpen) -> Self { E } }'
    echo 'impl From<Elapsed> for E { fn from(_: Elapsed) -> Self { E } }'
    echo 'impl From<steadfast::BulkheadFull> for E { fn from(_: steadfast::BulkheadFull) -> Self { E } }'
    echo 'impl From<steadfast::RateLimited> for E { fn from(_: steadfast::RateLimited) -> Self { E } }'
    echo 'impl From<steadfast::ShuttingDown> for E { fn from(_: steadfast::ShuttingDown) -> Self { E } }'
    echo 'impl std::fmt::Display for E { fn fmt(&self, f: &mut std::fmt::Formatter<'"'"'_>) -> std::fmt::Result { f.write_str("e") } }'
    echo 'pub fn fb(_: E) -> Result<u64, E> { Ok(0) }'
    echo 'pub async fn afb(_: E) -> Result<u64, E> { Ok(0) }'
    for i in $(seq 1 "$N"); do
      sync="pub fn f$i(x: u64) -> Result<u64, E> { Ok(x + $i) }"
      async="pub async fn f$i(x: u64) -> Result<u64, E> { Ok(x + $i) }"
      case $v in
        plain) echo "$sync" ;;
        instrument) echo "#[tracing::instrument] $sync" ;;
        circuit_breaker) echo "#[circuit_breaker] $sync" ;;
        retry) echo "#[retry] $sync" ;;
        timeout) echo "#[timeout(\"1s\", detach)] $sync" ;;
        monitored) echo "#[monitored] $sync" ;;
        monitored_drain) echo "#[monitored(drain = \"reject\")] $sync" ;;
        supervised) echo "#[steadfast::supervised] $sync" ;;
        bulkhead) echo "#[steadfast::bulkhead(max_concurrent = 8)] $sync" ;;
        rate_limit) echo "#[steadfast::rate_limit(rate = 100)] $sync" ;;
        fallback) echo "#[steadfast::fallback(fb)] $sync" ;;
        cached) echo "#[steadfast::cached(max_entries = 100)] $sync" ;;
        async_plain) echo "$async" ;;
        async_instrument) echo "#[tracing::instrument] $async" ;;
        async_circuit_breaker) echo "#[circuit_breaker] $async" ;;
        async_retry) echo "#[retry] $async" ;;
        async_timeout) echo "#[timeout(\"1s\")] $async" ;;
        async_monitored) echo "#[monitored] $async" ;;
        async_monitored_drain) echo "#[monitored(drain = \"cancel\")] $async" ;;
        async_supervised) echo "#[steadfast::supervised] $async" ;;
        async_bulkhead) echo "#[steadfast::bulkhead(max_concurrent = 8)] $async" ;;
        async_rate_limit) echo "#[steadfast::rate_limit(rate = 100)] $async" ;;
        async_fallback) echo "#[steadfast::fallback(afb)] $async" ;;
        async_cached) echo "#[steadfast::cached(max_entries = 100)] $async" ;;
        stacked) echo "#[monitored] #[retry] #[circuit_breaker] #[timeout(\"1s\")] $async" ;;
      esac
    done
  } >"$work/$v/src/lib.rs"
done

cd "$work"
CARGO_INCREMENTAL=0 cargo build -q --workspace 2>/dev/null # dependencies, once

if $instructions; then
  # A RUSTC_WRAPPER that runs only the cost-* crates' rustc under cachegrind.
  cat >wrap.sh <<'WRAP'
#!/usr/bin/env bash
rustc=$1; shift
case " $* " in
  *" --crate-name cost_"*) exec valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$CG_OUT" "$rustc" "$@" ;;
  *) exec "$rustc" "$@" ;;
esac
WRAP
  chmod +x wrap.sh
  declare -A ir
  for v in "${variants[@]}"; do
    touch "$v/src/lib.rs"
    CG_OUT="$PWD/$v.cg" CARGO_INCREMENTAL=0 RUSTC_WRAPPER="$PWD/wrap.sh" cargo build -q -p "cost-$v" >/dev/null 2>&1
    ir[$v]=$(awk '/^summary/ {print $2}' "$v.cg")
  done
  echo "| crate of $N fns (sync unless async_) | instructions (G) | M instructions per fn over plain sync |"
  echo "|---|---|---|"
  for v in "${variants[@]}"; do
    awk -v i="${ir[$v]}" -v p="${ir[plain]}" -v n="$N" -v v="$v" \
      'BEGIN { printf "| %s | %.3f | %.1f |\n", v, i / 1e9, (i - p) / 1e6 / n }'
  done
  exit 0
fi

cargo build -q --workspace 2>/dev/null
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rebuild() { # $1 = variant, $2 = CARGO_INCREMENTAL
  for _ in $(seq 1 "$RUNS"); do
    touch "$1/src/lib.rs"
    start=$(date +%s.%N)
    CARGO_INCREMENTAL=$2 cargo build -q -p "cost-$1"
    end=$(date +%s.%N)
    echo "$end - $start" | bc
  done | median
}
declare -A clean incremental
for v in "${variants[@]}"; do
  clean[$v]=$(rebuild "$v" 0)
  incremental[$v]=$(rebuild "$v" 1)
done
echo "| crate of $N fns (sync unless async_) | clean (s) | ms per fn over plain sync | incremental (s) | ms per fn over plain sync |"
echo "|---|---|---|---|---|"
for v in "${variants[@]}"; do
  c=$(echo "(${clean[$v]} - ${clean[plain]}) * 1000 / $N" | bc -l)
  i=$(echo "(${incremental[$v]} - ${incremental[plain]}) * 1000 / $N" | bc -l)
  printf '| %s | %.2f | %.2f | %.2f | %.2f |\n' "$v" "${clean[$v]}" "$c" "${incremental[$v]}" "$i"
done
