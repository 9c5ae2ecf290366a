//! The password-reset portal's server: the JSON API, the SPA's files, and the notification
//! outbox, on SQLite or PostgreSQL.

#[cfg(test)]
mod architecture;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod extract;
pub mod files;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod prune;
pub mod reset;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
