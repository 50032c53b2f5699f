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
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=target/compile-cost
rm -rf "$work"
mkdir -p "$work"
N=${N:-300}

# VARIANTS="retry stacked" measures only those (and plain, the baseline).
all="instrument circuit_breaker retry timeout monitored async_plain async_instrument async_circuit_breaker async_retry async_timeout async_monitored stacked"
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
steadfast = { path = "$root/runtime" }
tracing = "0.1.40"
TOML
  {
    echo '#![allow(dead_code, unused_imports)]'
    echo 'use steadfast::{CircuitOpen, Elapsed, circuit_breaker, monitored, retry, timeout};'
    echo '#[derive(Debug)] pub struct E;'
    echo 'impl From<CircuitOpen> for E { fn from(_: CircuitOpen) -> Self { E } }'
    echo 'impl From<Elapsed> for E { fn from(_: Elapsed) -> Self { E } }'
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
        async_plain) echo "$async" ;;
        async_instrument) echo "#[tracing::instrument] $async" ;;
        async_circuit_breaker) echo "#[circuit_breaker] $async" ;;
        async_retry) echo "#[retry] $async" ;;
        async_timeout) echo "#[timeout(\"1s\")] $async" ;;
        async_monitored) echo "#[monitored] $async" ;;
        stacked) echo "#[monitored] #[retry] #[circuit_breaker] #[timeout(\"1s\")] $async" ;;
      esac
    done
  } >"$work/$v/src/lib.rs"
done

cd "$work"
CARGO_INCREMENTAL=0 cargo build -q --workspace 2>/dev/null # dependencies, once
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
