//! The API integration suite: the real server, a fresh database per test, real SMTP delivery.
//! Runs on SQLite by default and on PostgreSQL with `PORTAL_TEST_DB=postgres`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod at_rest;
mod attacks;
mod cli;
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
mod shutdown;
mod smtp_tls;

/// `script/test` runs this first with `--nocapture`, so the log says which database and which
/// version each suite ran on.
#[tokio::test]
async fn the_suite_says_which_database_it_runs_on() {
    use sqlx::Connection;
    let url = helpers::fresh_database_url().await;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
    let version: String = match helpers::backend() {
        "postgres" => sqlx::query_scalar("SELECT version()"),
        _ => sqlx::query_scalar("SELECT 'SQLite ' || sqlite_version()"),
    }
    .fetch_one(&mut c)
    .await
    .unwrap();
    println!(
        "integration suite database backend: {} ({version})",
        helpers::backend()
    );
}
