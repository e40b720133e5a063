//! Compile-time behaviour of `#[exws::message]` and `exws::handlers!`: every mistake is an
//! error on the user's own tokens, and every supported shape compiles.
//!
//! Refresh the expected output with `TRYBUILD=overwrite cargo test --test macro_ui` and read
//! the diff.

#[test]
fn macro_ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
