//! Benchmarks only: see `benches/`. Run `cargo bench -p steadfast-bench --features peers`.
