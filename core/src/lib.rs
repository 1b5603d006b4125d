//! `xbot-core`: the pure core of xbot-redis. No I/O, no async, no Redis client:
//! everything here is a function of its arguments, so it behaves the same in
//! the native runner, the napi addon and WebAssembly.
//!
//! - [`api`]: the pure API as JavaScript calls it (used by both bindings).
//! - [`args`]: object-valued JS arguments, read alike by both bindings.
//! - [`client`]: what a client computes before each Redis call (items, keys, leases).
//! - [`keys`]: prefixes, environments, the key catalog, build and classify.
//! - [`legacy`]: the bot's legacy Redis layout, its conversions and dedup variant A.
//! - [`content`]: JS-exact normalization, SHA-256, dedup keys.
//! - [`jsonl`]: the CLI's `hash` JSON Lines protocol, one line at a time.
//! - [`queue`]: items, scores, retry policy.
//! - [`bandit`]: seeded Beta sampling and Thompson selection.
//! - [`model`]: logistic scoring and online updates.
//! - [`scripts`]: the Redis protocol as Lua scripts (one per state transition).
//! - [`time`]: UTC buckets and ISO-8601 timestamps.

pub mod api;
pub mod args;
pub mod bandit;
pub mod client;
pub mod content;
pub mod effects;
mod error;
pub mod jsonl;
pub mod keys;
pub mod legacy;
pub mod model;
pub mod queue;
pub mod ratelimit;
pub mod scripts;
pub mod time;

pub use error::{Error, Result};
