//! Pure types and rules of the portal: no I/O, no clock, no randomness of their own.

pub mod client;
pub mod host;
pub mod identifier;
pub mod password;
pub mod permissions;
pub mod reset;
