//! The xbot-redis runner as a library: Redis connections, the protocol's
//! typed operations, configuration helpers. The `xbot-redis` binary is a thin
//! CLI over it.

pub mod config;
pub mod dashboard;
pub mod error;
pub mod ops;
pub mod redis;
pub mod worker;
