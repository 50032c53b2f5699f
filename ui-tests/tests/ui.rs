//! `ui/pass`: every function shape must compile. `ui/fail`: each bad input must fail with
//! exactly the error beside it (`TRYBUILD=overwrite` regenerates; read each before
//! committing it: it is what a user sees).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/fail/*.rs");
}
