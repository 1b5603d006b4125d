//! napi glue for the `xbot-redis` npm package: convert arguments, call
//! `xbot_core::api`, convert the result. Errors are thrown as JS `Error`s whose
//! `code` is the core's stable code (e.g. `INVALID_PRIORITY`). Lone UTF-16
//! surrogates in strings arrive as U+FFFD, as in Node's own `createHash().update(str)`.

mod arg;
pub mod client;
mod text;
mod types;

use arg::Arg;
use napi::bindgen_prelude::{Either, Float64ArraySlice, Null, Unknown};
use napi::Result;
use napi_derive::napi;
use text::Text;
use types::*;
use xbot_core::{api, args};

pub(crate) fn err(e: xbot_core::Error) -> napi::Error<&'static str> {
    napi::Error::new(e.code(), e.to_string())
}

/// The `options` argument of the key functions.
pub(crate) fn key_options(v: Option<Unknown>) -> Result<Option<api::KeyOptions>, &'static str> {
    args::key_options(v.map(Arg::from)).map_err(err)
}

/// A string argument, read in one copy; anything else is `INVALID_ARGUMENT`.
fn text(param: &'static str, v: Unknown) -> Result<Text, &'static str> {
    let a = Arg::from(v);
    match a.text() {
        Some(t) => Ok(t),
        None => Err(err(args::string_arg(param, &a).unwrap_err())),
    }
}

fn string(param: &'static str, v: Unknown) -> Result<String, &'static str> {
    args::string_arg(param, &Arg::from(v)).map_err(err)
}

fn number(param: &'static str, v: Unknown) -> Result<f64, &'static str> {
    args::number_arg(param, &Arg::from(v)).map_err(err)
}

fn opt_number(param: &'static str, v: Option<Unknown>) -> Result<Option<f64>, &'static str> {
    args::opt_number_arg(param, v.map(Arg::from)).map_err(err)
}

/// `text.toLowerCase().replace(/\s+/g, ' ').trim()`, exactly as JavaScript does it.
#[napi(ts_args_type = "text: string")]
pub fn normalize_content(text: Unknown) -> Result<String, &'static str> {
    Ok(api::normalize_content(&self::text("text", text)?.0))
}

/// Lowercase hex SHA-256 of the UTF-8 bytes of `normalizeContent(text)`.
#[napi(ts_args_type = "text: string")]
pub fn content_hash(text: Unknown) -> Result<String, &'static str> {
    Ok(api::content_hash(&self::text("text", text)?.0))
}

/// The bot's legacy dedup normalization (variant A):
/// `text.toLowerCase().replace(/[^\w\s]/g, '').replace(/\s+/g, ' ').trim()`.
#[napi(ts_args_type = "text: string")]
pub fn legacy_normalize(text: Unknown) -> Result<String, &'static str> {
    Ok(xbot_core::legacy::legacy_normalize(
        &self::text("text", text)?.0,
    ))
}

/// SHA-256 hex of `legacyNormalize(text)`: the hash in the bot's legacy
/// dedup markers `content_hash:<hex>` (unprefixed).
#[napi(ts_args_type = "text: string")]
pub fn legacy_content_hash(text: Unknown) -> Result<String, &'static str> {
    Ok(xbot_core::legacy::legacy_content_hash(
        &self::text("text", text)?.0,
    ))
}

/// `contentHash` for many texts in one call.
#[napi(ts_args_type = "texts: string[]")]
pub fn content_hash_batch(texts: Unknown) -> Result<Vec<String>, &'static str> {
    let a = Arg::from(texts);
    let items = a.items();
    let fast: Option<Vec<Text>> = items.iter().map(Arg::text).collect();
    match fast {
        // An array of strings (a non-array has no items, so it goes the slow way).
        Some(t) if args::JsArg::kind(&a) == args::JsKind::Array => {
            let texts: Vec<&str> = t.iter().map(|t| t.0.as_str()).collect();
            Ok(api::content_hash_batch(&texts))
        }
        _ => Err(err(args::strings_arg("texts", &a).unwrap_err())),
    }
}

/// A catalog key: `buildKey('cache.tweet', {tweetId: '42'}, {prefix: 'prod:'})`
/// → `{key: 'prod:cache:tweet:42', family: 'cache.tweet', ttlSeconds: 86400, redisType: 'string'}`.
/// Numbers are accepted for parameters when they are safe integers.
#[napi(
    ts_args_type = "family: string, params?: Record<string, string | number> | undefined | null, options?: KeyOptions | undefined | null"
)]
pub fn build_key(
    family: Unknown,
    params: Option<Unknown>,
    options: Option<Unknown>,
) -> Result<BuiltKey, &'static str> {
    let family = string("family", family)?;
    let params = args::params(params.map(Arg::from)).map_err(err)?;
    let options = key_options(options)?;
    api::build_key(&family, params, options)
        .map(Into::into)
        .map_err(err)
}

/// The generic helper: prefix + parts joined by `:` (empty parts, `:` inside a
/// part, whitespace and control characters are errors).
#[napi(ts_args_type = "parts: Array<string>, options?: KeyOptions | undefined | null")]
pub fn key(parts: Unknown, options: Option<Unknown>) -> Result<String, &'static str> {
    let parts = args::strings_arg("parts", &Arg::from(parts)).map_err(err)?;
    let options = key_options(options)?;
    api::key(&parts, options).map_err(err)
}

/// The family and parameters a key was built from, or `null` for a non-catalog key.
/// Without `options.prefix`, the key's first segment is taken as its prefix.
#[napi(ts_args_type = "key: string, options?: KeyOptions | undefined | null")]
pub fn classify_key(
    key: Unknown,
    options: Option<Unknown>,
) -> Result<Either<ClassifiedKey, Null>, &'static str> {
    let key = string("key", key)?;
    let options = key_options(options)?;
    let found = api::classify_key(&key, options).map_err(err)?;
    Ok(found.map_or(Either::B(Null), |c| Either::A(c.into())))
}

/// Every key family with pattern, parameters, type, TTLs, TTL class and purpose.
#[napi]
pub fn catalog() -> Vec<CatalogEntry> {
    api::catalog().into_iter().map(Into::into).collect()
}

/// The sorted-set score (higher = served first): priority 0-100 first, then
/// FIFO by `enqueuedAtMs`, then `seq` 0-15. Always an exact integer below 2^53.
#[napi(ts_args_type = "priority: number, enqueuedAtMs: number, seq?: number | undefined | null")]
pub fn queue_score(
    priority: Unknown,
    enqueued_at_ms: Unknown,
    seq: Option<Unknown>,
) -> Result<f64, &'static str> {
    api::queue_score(
        number("priority", priority)?,
        number("enqueuedAtMs", enqueued_at_ms)?,
        opt_number("seq", seq)?,
    )
    .map_err(err)
}

/// The inverse of `queueScore`.
#[napi(ts_args_type = "score: number")]
pub fn decode_queue_score(score: Unknown) -> Result<DecodedScore, &'static str> {
    api::decode_queue_score(number("score", score)?)
        .map(Into::into)
        .map_err(err)
}

/// Backoff in ms before retry `attempt` (1-based) of `queue`; `null` = no more
/// retries (dead-letter). With `itemId` the delay is jittered deterministically.
#[napi(ts_args_type = "queue: string, attempt: number, itemId?: string | undefined | null")]
pub fn retry_delay_ms(
    queue: Unknown,
    attempt: Unknown,
    item_id: Option<Unknown>,
) -> Result<Either<f64, Null>, &'static str> {
    let queue = string("queue", queue)?;
    let attempt = number("attempt", attempt)?;
    let item_id = args::opt_string_arg("itemId", item_id.map(Arg::from)).map_err(err)?;
    let delay = api::retry_delay_ms(&queue, attempt, item_id.as_deref()).map_err(err)?;
    Ok(or_null(delay))
}

/// `count` (default 1) seeded Beta(alpha, beta) draws, bit-identical in every runtime.
#[napi(
    ts_args_type = "alpha: number, beta: number, seed: number, count?: number | undefined | null"
)]
pub fn sample_beta(
    alpha: Unknown,
    beta: Unknown,
    seed: Unknown,
    count: Option<Unknown>,
) -> Result<Vec<f64>, &'static str> {
    api::sample_beta(
        number("alpha", alpha)?,
        number("beta", beta)?,
        number("seed", seed)?,
        opt_number("count", count)?,
    )
    .map_err(err)
}

/// Fills `out` with seeded Beta(alpha, beta) draws: the same numbers as
/// `sampleBeta(alpha, beta, seed, out.length)`, without building an array
/// (the fast path for large batches).
#[napi(ts_args_type = "alpha: number, beta: number, seed: number, out: Float64Array")]
pub fn sample_beta_into(
    alpha: Unknown,
    beta: Unknown,
    seed: Unknown,
    out: Either<Float64ArraySlice, Unknown>,
) -> Result<(), &'static str> {
    let (alpha, beta, seed) = (
        number("alpha", alpha)?,
        number("beta", beta)?,
        number("seed", seed)?,
    );
    let Either::A(mut out) = out else {
        return Err(err(xbot_core::Error::InvalidArgument {
            param: "out",
            expected: "a Float64Array",
            got: "another type".into(),
        }));
    };
    // SAFETY: the call runs synchronously on the JS thread, so no JS code can
    // touch the buffer while it is filled.
    let out = unsafe { out.as_mut() };
    api::sample_beta_into(alpha, beta, seed, out).map_err(err)
}

/// One Thompson-sampling choice: one draw per arm (input order, one seeded
/// stream), the largest wins (the first on a tie).
#[napi(ts_args_type = "arms: Array<Arm>, seed: number")]
pub fn thompson_select(arms: Unknown, seed: Unknown) -> Result<Selection, &'static str> {
    let arms = args::arms(&Arg::from(arms)).map_err(err)?;
    api::thompson_select(&arms, number("seed", seed)?)
        .map(Into::into)
        .map_err(err)
}

/// `sigmoid(bias + Σ weights[f]·features[f])`; features without a weight count 0.
#[napi(ts_args_type = "weights: LogisticWeights, features: Record<string, number>")]
pub fn logistic_score(weights: Unknown, features: Unknown) -> Result<f64, &'static str> {
    let model = args::logistic_model(&Arg::from(weights)).map_err(err)?;
    let features = args::numbers("features", &Arg::from(features)).map_err(err)?;
    api::logistic_score(&model, &features).map_err(err)
}

/// The seven keys of `queue` in the order every queue script takes them
/// (ready, items, meta, inflight, delayed, dead, seq): pass them as KEYS.
#[napi(ts_args_type = "queue: string, options?: KeyOptions | undefined | null")]
pub fn queue_keys(queue: Unknown, options: Option<Unknown>) -> Result<Vec<String>, &'static str> {
    let queue = string("queue", queue)?;
    let options = key_options(options)?;
    api::queue_keys(&queue, options).map_err(err)
}

/// The Lua scripts of the Redis protocol, ready for ioredis
/// `redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.source })`.
#[napi]
pub fn scripts() -> Vec<LuaScript> {
    api::scripts().iter().map(Into::into).collect()
}
