//! `beacon-mock` as a library user embeds it in an application's tests.
//!
//! The crate has no code of its own: its tests are the examples.
//!
//! - `tests/readme_example.rs`: the README's Rust example, verbatim (a `main`, run without the
//!   test harness); `tests/readme_in_sync.rs` fails when the README's block and it differ.
//! - `tests/app_under_test.rs`: an application's client calling the mock over HTTP, and the
//!   test checking what it sent.
