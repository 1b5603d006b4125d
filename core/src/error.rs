//! One error type for the whole project. Every variant has a stable `code`
//! (used as `error.code` in JS and in the CLI's JSON errors) and a message
//! that says what was wrong and what to do instead.

use std::fmt::{self, Write as _};
use thiserror::Error;

/// Result alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the pure core can reject.
#[derive(Clone, PartialEq, Error)]
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

    #[error("parameter `{param}` of `{family}` is invalid ({}): {reason}", Quoted(.value))]
    InvalidParam {
        family: String,
        param: String,
        value: String,
        reason: String,
    },

    #[error("invalid key prefix {}: {reason}", Quoted(.prefix))]
    InvalidPrefix { prefix: String, reason: String },

    #[error("unknown environment {}: use production|prod, staging|stg, or development|dev|test|local", Quoted(.env))]
    InvalidEnv { env: String },

    #[error("prefix {} belongs to the {prefix_env} environment but {env} was requested; fix REDIS_PREFIX or APP_ENV", Quoted(.prefix))]
    PrefixEnvMismatch {
        prefix: String,
        prefix_env: String,
        env: String,
    },

    #[error("key part {index} is invalid ({}): {reason}", Quoted(.part))]
    InvalidKeyPart {
        index: usize,
        part: String,
        reason: String,
    },

    #[error("invalid key pattern {}: {reason}", Quoted(.pattern))]
    InvalidPattern { pattern: String, reason: String },

    #[error("a key needs at least one part")]
    EmptyKey,

    #[error("invalid priority {value}: must be an integer from 0 to 100")]
    InvalidPriority { value: String },

    #[error("invalid timestamp {value}: {reason}")]
    InvalidTimestamp { value: String, reason: String },

    #[error("invalid lease {value} ms: must be an integer from {min} to {max} ms")]
    InvalidLease { value: String, min: u64, max: u64 },

    #[error("invalid sequence {value}: must be an integer from 0 to 15")]
    InvalidSeq { value: String },

    #[error("invalid queue score {value}: {reason}")]
    InvalidScore { value: String, reason: String },

    #[error(
        "unknown queue {}: use sync_to_supabase, analytics_processing or pending_posts", Quoted(.queue)
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

    #[error("arm id {} appears twice; arm ids must be unique", Quoted(.id))]
    DuplicateArm { id: String },

    #[error("invalid arm id {}: must be 1-128 characters without control characters", Quoted(.id))]
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

    #[error("invalid {kind} bucket {}: expected {format} (UTC)", Quoted(.value))]
    InvalidTimeBucket {
        kind: &'static str,
        value: String,
        format: &'static str,
    },

    #[error("invalid JSON for {what}: {reason}")]
    InvalidJson { what: &'static str, reason: String },

    #[error("argument `{param}` must be {expected}, got {got}")]
    InvalidArgument {
        param: &'static str,
        expected: &'static str,
        got: String,
    },

    #[error("invalid side effect ({what}): {reason}")]
    InvalidEffect { what: String, reason: String },
}

/// `CODE: message` (tests and `expect` show the same text a user sees; a
/// derived Debug would also pull std's Unicode escape tables into the wasm).
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self)
    }
}

/// A string as a JSON string literal (`"a\"b"`, control characters as
/// `\n` or `\u0007`): how messages quote user input.
pub(crate) struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if (c as u32) < 0x20 || c == '\u{7f}' => write!(f, "\\u{:04x}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// One character, quoted as [`Quoted`] does.
pub(crate) fn quoted_char(c: char) -> String {
    Quoted(c.encode_utf8(&mut [0; 4])).to_string()
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
            Error::InvalidLease { .. } => "INVALID_LEASE",
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
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::InvalidEffect { .. } => "INVALID_EFFECT",
        }
    }
}

/// Formats a number exactly as JavaScript's `String(v)` does (`NaN`,
/// `-Infinity`, `0` for -0, `1.5`, `1e+21`, `1e-7`), so a message shows the
/// value the JS caller passed, in every runtime.
pub(crate) fn num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    // ryu gives the shortest digits that round-trip (as JS requires), in its
    // own notation ("1.5e-7", "123.0", "1e21"); take the digits and the
    // decimal exponent and lay them out by ECMAScript's Number::toString.
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v.abs());
    let (mantissa, exp) = match s.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().expect("ryu writes an integer exponent")),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = [int, frac].concat();
    let digits = all.trim_start_matches('0');
    // The value is 0.d1d2...dk × 10^n.
    let n = exp + int.len() as i32 - (all.len() - digits.len()) as i32;
    let digits = digits.trim_end_matches('0');
    let k = digits.len() as i32;
    let mut out = String::with_capacity(24);
    if v < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).unsigned_abs().to_string());
    }
    out
}

/// Checks that `v` is an integer in `[min, max]` and returns it as `u64`.
pub(crate) fn exact_uint(v: f64, min: u64, max: u64) -> Option<u64> {
    (v.is_finite() && v.fract() == 0.0 && v >= min as f64 && v <= max as f64).then_some(v as u64)
}

#[cfg(test)]
mod tests {
    use super::{num, quoted_char, Error, Quoted};

    #[test]
    fn user_input_is_quoted_as_json_strings() {
        assert_eq!(Quoted("a\"b\\c").to_string(), r#""a\"b\\c""#);
        assert_eq!(
            Quoted("tab\there\n\u{7}\u{7f}é🚀").to_string(),
            r#""tab\there\n\u0007\u007fé🚀""#
        );
        assert_eq!(quoted_char(' '), r#"" ""#);
        let e = Error::UnknownQueue {
            queue: "no\npe".into(),
        };
        assert_eq!(
            format!("{e:?}"),
            r#"UNKNOWN_QUEUE: unknown queue "no\npe": use sync_to_supabase, analytics_processing or pending_posts"#
        );
    }

    #[test]
    fn numbers_read_as_javascript_writes_them() {
        // Each pair is (value, String(value) in Node 20).
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (101.0, "101"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1.5e300, "1.5e+300"),
            (1e-6, "0.000001"),
            (1.25e-6, "0.00000125"),
            (1e-7, "1e-7"),
            (-2.5e-8, "-2.5e-8"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (9_007_199_254_740_993.0, "9007199254740992"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(v, want) in cases {
            assert_eq!(num(v), want, "{v:e}");
        }
    }
}
