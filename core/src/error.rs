//! One error type for the whole project. Every variant has a stable `code`
//! (used as `error.code` in JS and in the CLI's JSON errors) and a message
//! that says what was wrong and what to do instead.

use thiserror::Error;

/// Result alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the pure core can reject.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    #[error("unknown key family `{family}`; `xbot-redis catalog` lists the families")]
    UnknownFamily { family: String },

    #[error("key family `{family}` needs parameter `{param}` (pattern `{pattern}`)")]
    MissingParam {
        family: String,
        param: String,
        pattern: String,
    },

    #[error("key family `{family}` has no parameter `{param}`; it takes: {expected}")]
    UnexpectedParam {
        family: String,
        param: String,
        expected: String,
    },

    #[error("parameter `{param}` of `{family}` is invalid ({value:?}): {reason}")]
    InvalidParam {
        family: String,
        param: String,
        value: String,
        reason: String,
    },

    #[error("invalid key prefix {prefix:?}: {reason}")]
    InvalidPrefix { prefix: String, reason: String },

    #[error("unknown environment {env:?}: use production|prod, staging|stg, or development|dev|test|local")]
    InvalidEnv { env: String },

    #[error("prefix {prefix:?} belongs to the {prefix_env} environment but {env} was requested; fix REDIS_PREFIX or APP_ENV")]
    PrefixEnvMismatch {
        prefix: String,
        prefix_env: String,
        env: String,
    },

    #[error("key part {index} is invalid ({part:?}): {reason}")]
    InvalidKeyPart {
        index: usize,
        part: String,
        reason: String,
    },

    #[error("invalid key pattern {pattern:?}: {reason}")]
    InvalidPattern { pattern: String, reason: String },

    #[error("a key needs at least one part")]
    EmptyKey,

    #[error("invalid priority {value}: must be an integer from 0 to 100")]
    InvalidPriority { value: String },

    #[error("invalid timestamp {value}: {reason}")]
    InvalidTimestamp { value: String, reason: String },

    #[error("invalid sequence {value}: must be an integer from 0 to 15")]
    InvalidSeq { value: String },

    #[error("invalid queue score {value}: {reason}")]
    InvalidScore { value: String, reason: String },

    #[error(
        "unknown queue {queue:?}: use sync_to_supabase, analytics_processing or pending_posts"
    )]
    UnknownQueue { queue: String },

    #[error("invalid retry attempt {value}: attempts are counted from 1")]
    InvalidAttempt { value: String },

    #[error("invalid Beta parameter {name} = {value}: must be a finite number > 0 and <= 1e15")]
    InvalidBetaParam { name: &'static str, value: String },

    #[error("invalid seed {value}: must be an integer from 0 to 2^53-1")]
    InvalidSeed { value: String },

    #[error("invalid count {value}: must be an integer from 1 to {max}")]
    InvalidCount { value: String, max: u64 },

    #[error("thompsonSelect needs at least one arm")]
    NoArms,

    #[error("arm id {id:?} appears twice; arm ids must be unique")]
    DuplicateArm { id: String },

    #[error("invalid arm id {id:?}: must be 1-128 characters without control characters")]
    InvalidArmId { id: String },

    #[error("invalid reward {value}: must be a number from 0 to 1")]
    InvalidReward { value: String },

    #[error("invalid model value `{name}` = {value}: must be a finite number")]
    InvalidModelValue { name: String, value: String },

    #[error("invalid learning rate {value}: must be a finite number > 0 and <= 10")]
    InvalidLearningRate { value: String },

    #[error("invalid queue item: `{field}` {reason}")]
    InvalidItem { field: &'static str, reason: String },

    #[error("queue item payload is {size} bytes; the limit is {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },

    #[error("invalid {kind} bucket {value:?}: expected {format} (UTC)")]
    InvalidTimeBucket {
        kind: &'static str,
        value: String,
        format: &'static str,
    },

    #[error("invalid JSON for {what}: {reason}")]
    InvalidJson { what: &'static str, reason: String },
}

impl Error {
    /// Stable machine-readable code, e.g. `INVALID_PRIORITY`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownFamily { .. } => "UNKNOWN_FAMILY",
            Error::MissingParam { .. } => "MISSING_PARAM",
            Error::UnexpectedParam { .. } => "UNEXPECTED_PARAM",
            Error::InvalidParam { .. } => "INVALID_PARAM",
            Error::InvalidPrefix { .. } => "INVALID_PREFIX",
            Error::InvalidEnv { .. } => "INVALID_ENV",
            Error::PrefixEnvMismatch { .. } => "PREFIX_ENV_MISMATCH",
            Error::InvalidKeyPart { .. } => "INVALID_KEY_PART",
            Error::InvalidPattern { .. } => "INVALID_PATTERN",
            Error::EmptyKey => "EMPTY_KEY",
            Error::InvalidPriority { .. } => "INVALID_PRIORITY",
            Error::InvalidTimestamp { .. } => "INVALID_TIMESTAMP",
            Error::InvalidSeq { .. } => "INVALID_SEQ",
            Error::InvalidScore { .. } => "INVALID_SCORE",
            Error::UnknownQueue { .. } => "UNKNOWN_QUEUE",
            Error::InvalidAttempt { .. } => "INVALID_ATTEMPT",
            Error::InvalidBetaParam { .. } => "INVALID_BETA_PARAM",
            Error::InvalidSeed { .. } => "INVALID_SEED",
            Error::InvalidCount { .. } => "INVALID_COUNT",
            Error::NoArms => "NO_ARMS",
            Error::DuplicateArm { .. } => "DUPLICATE_ARM",
            Error::InvalidArmId { .. } => "INVALID_ARM_ID",
            Error::InvalidReward { .. } => "INVALID_REWARD",
            Error::InvalidModelValue { .. } => "INVALID_MODEL_VALUE",
            Error::InvalidLearningRate { .. } => "INVALID_LEARNING_RATE",
            Error::InvalidItem { .. } => "INVALID_ITEM",
            Error::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Error::InvalidTimeBucket { .. } => "INVALID_TIME_BUCKET",
            Error::InvalidJson { .. } => "INVALID_JSON",
        }
    }
}

/// Formats a JS-style number for error messages (`NaN`, `Infinity`, `1.5`, `101`).
pub(crate) fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{v}")
    }
}

/// Checks that `v` is an integer in `[min, max]` and returns it as `u64`.
pub(crate) fn exact_uint(v: f64, min: u64, max: u64) -> Option<u64> {
    (v.is_finite() && v.fract() == 0.0 && v >= min as f64 && v <= max as f64).then_some(v as u64)
}
