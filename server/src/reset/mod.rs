//! The use cases of the portal's password life cycle, below the HTTP handlers and above the
//! store: each takes a transaction, the keys, `now` and parsed input, and holds no HTTP types.

pub mod change;
