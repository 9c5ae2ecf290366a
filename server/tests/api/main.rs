//! The API integration suite: the real server, a fresh database per test, real SMTP delivery.
//! Runs on SQLite by default and on PostgreSQL with `PORTAL_TEST_DB=postgres`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod at_rest;
mod attacks;
mod faults;
mod helpers;
mod host;
mod pruning;
mod reset_email;
mod reset_sms;
mod robustness;
mod security;
mod security_review;
mod session;
mod smtp_tls;

#[test]
fn the_suite_says_which_database_it_runs_on() {
    println!("integration suite database backend: {}", helpers::backend());
}
