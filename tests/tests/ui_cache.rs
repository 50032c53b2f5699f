//! The compile errors of `#[cached]`, with the feature `cache` on (the `steadfast-ui-tests`
//! crate builds without it, and checks the error that names the feature). Each `.stderr`
//! is what a user sees: `TRYBUILD=overwrite` regenerates, read each before committing it.

#[test]
fn ui_cache() {
    trybuild::TestCases::new().compile_fail("ui-cache/*.rs");
}
