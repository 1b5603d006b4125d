//! Errors of Redis operations, each with a stable code for `--json` output.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum OpError {
    /// Bad input, rejected by the core before any I/O.
    #[error(transparent)]
    Core(#[from] xbot_core::Error),

    #[error("configuration: {0}")]
    Config(String),

    #[error("cannot reach Redis at {url}: {source}")]
    Connect {
        url: String,
        source: redis::RedisError,
    },

    #[error("Redis error on {what}: {source}")]
    Redis {
        what: String,
        source: redis::RedisError,
    },

    #[error("key {key} holds a {found}, but the catalog says {expected}; remove or rename it (xbot-redis audit lists such keys)")]
    WrongType {
        key: String,
        found: String,
        expected: String,
    },

    #[error("queue {queue} is full ({capacity} items, the capacity of this environment's profile: production 100,000, staging 1,000, development 10,000); drain it, or dead-letter what cannot be processed")]
    QueueFull { queue: String, capacity: u64 },

    #[error("item {id} is not in flight on queue {queue} (already acked, failed, reaped, or never reserved)")]
    NotInFlight { queue: String, id: String },

    #[error("item {id} on queue {queue} is leased under another token (a wrong token, or this lease expired and the item was reserved again)")]
    NotOwner { queue: String, id: String },

    #[error("item {id} on queue {queue} is not in the dead-letter set; `xbot-redis queue dead {queue}` lists what is")]
    NotDead { queue: String, id: String },

    #[error("the value stored at {key} is not valid: {reason}; fix or delete it")]
    BadStoredValue { key: String, reason: String },

    #[error("{what}: {reason}")]
    Input { what: String, reason: String },

    #[error("durable mode: only {acked} of {wanted} replicas confirmed the write to {key} in time; it is retried (XBOT_REDIS_WAIT_REPLICAS)")]
    NotReplicated {
        key: String,
        acked: u32,
        wanted: u32,
    },

    #[error("unexpected reply from {script}: {detail}")]
    Protocol {
        script: &'static str,
        detail: String,
    },
}

impl OpError {
    pub fn code(&self) -> &'static str {
        match self {
            OpError::Core(e) => e.code(),
            OpError::Config(_) => "CONFIG",
            OpError::Connect { .. } => "REDIS_UNREACHABLE",
            OpError::Redis { .. } => "REDIS_ERROR",
            OpError::WrongType { .. } => "WRONG_TYPE",
            OpError::QueueFull { .. } => "QUEUE_FULL",
            OpError::NotInFlight { .. } => "NOT_IN_FLIGHT",
            OpError::NotOwner { .. } => "NOT_OWNER",
            OpError::NotDead { .. } => "NOT_DEAD",
            OpError::BadStoredValue { .. } => "BAD_STORED_VALUE",
            OpError::Input { .. } => "INVALID_INPUT",
            OpError::NotReplicated { .. } => "NOT_REPLICATED",
            OpError::Protocol { .. } => "PROTOCOL_ERROR",
        }
    }

    /// Bad input (exit 2) rather than a failure (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            OpError::Core(_) | OpError::Config(_) | OpError::Input { .. }
        )
    }
}

pub type OpResult<T> = Result<T, OpError>;
