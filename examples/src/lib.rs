//! Code shared by the examples and their tests. The examples themselves are in
//! `examples/`; run one with `cargo run -p steadfast-examples --example <name>`.

pub mod service;
