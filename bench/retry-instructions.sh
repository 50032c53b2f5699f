#!/usr/bin/env bash
# Instructions per call of a `#[retry(attempts = 3)] async fn` whose first attempt succeeds,
# and of one with all four attributes stacked (`#[monitored]`, `#[retry]`,
# `#[circuit_breaker]`, `#[timeout]`), against the same function bare: a loop of `f(i).await` in one `block_on` of a
# current-thread tokio runtime with time enabled, release build with fat LTO (the shape of
# the [pipeline] issue's harness). Counted under valgrind's callgrind (deterministic, where
# wall time on a shared 2-vCPU machine is not): each program runs N and 2N calls, and the
# difference divided by N is the cost of one call, start-up excluded.
#
#   bash bench/retry-instructions.sh          # needs valgrind (Debian's `valgrind`)
#   N=200000 bash bench/retry-instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
N=${N:-100000}
work=target/retry-instructions
rm -rf "$work"
mkdir -p "$work/src"
cat >"$work/Cargo.toml" <<TOML
[package]
name = "retry-instructions"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
steadfast = { path = "$root/runtime" }
tokio = { version = "1", features = ["rt", "time"] }

[profile.release]
lto = "fat"
codegen-units = 1

[workspace]
TOML
cat >"$work/src/main.rs" <<'RUST'
use std::hint::black_box;

#[derive(Debug)]
struct Error;

async fn bare(x: u64) -> Result<u64, Error> {
    if x == u64::MAX { Err(Error) } else { Ok(x + 1) }
}

#[steadfast::retry(attempts = 3, delay = "100ms")]
async fn with_retry(x: u64) -> Result<u64, Error> {
    if x == u64::MAX { Err(Error) } else { Ok(x + 1) }
}

#[steadfast::monitored]
#[steadfast::retry(attempts = 3, delay = "100ms")]
#[steadfast::circuit_breaker]
#[steadfast::timeout("1s")]
async fn stacked(x: u64) -> Result<u64, Error> {
    if x == u64::MAX { Err(Error) } else { Ok(x + 1) }
}

impl From<steadfast::CircuitOpen> for Error {
    fn from(_: steadfast::CircuitOpen) -> Self {
        Error
    }
}

impl From<steadfast::Elapsed> for Error {
    fn from(_: steadfast::Elapsed) -> Self {
        Error
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    // One loop per function (the choice made once, outside it): a `match` on the name
    // inside the loop would add a string comparison per call that differs by name.
    macro_rules! calls {
        ($f:ident) => {
            rt.block_on(async {
                for i in 0..n {
                    drop(black_box($f(black_box(i)).await));
                }
            })
        };
    }
    match which.as_str() {
        "retry" => calls!(with_retry),
        "stacked" => calls!(stacked),
        _ => calls!(bare),
    }
}
RUST
(cd "$work" && cargo build -q --release)
# The clock's calibration (quanta's, at its first use) runs a varying number of rounds: its
# instructions are left out, so that the difference is the calls' alone.
count() {
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$work/target/release/retry-instructions" "$1" "$2" >/dev/null 2>&1
  local total clock
  total=$(callgrind_annotate "$out" | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
  clock=$(callgrind_annotate --inclusive=yes "$out" | grep -m1 'quanta::Clock::new' | awk '{print $1}' | tr -d ,)
  rm -f "$out"
  echo $((total - ${clock:-0}))
}
echo "| async call | instructions per call |"
echo "|---|---|"
for which in bare retry stacked; do
  one=$(count "$which" "$N")
  two=$(count "$which" $((2 * N)))
  echo "| $which | $(( (two - one) / N )) |"
done
