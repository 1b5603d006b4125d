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

/// `text.toLowerCase().replace(/\s+/g, ' ').trim()`, exactly as JavaScript does it.
#[napi(ts_args_type = "text: string")]
pub fn normalize_content(text: Text) -> String {
    api::normalize_content(&text.0)
}

/// Lowercase hex SHA-256 of the UTF-8 bytes of `normalizeContent(text)`.
#[napi(ts_args_type = "text: string")]
pub fn content_hash(text: Text) -> String {
    api::content_hash(&text.0)
}

/// `contentHash` for many texts in one call.
#[napi(ts_args_type = "texts: string[]")]
pub fn content_hash_batch(texts: Vec<Text>) -> Vec<String> {
    let texts: Vec<&str> = texts.iter().map(|t| t.0.as_str()).collect();
    api::content_hash_batch(&texts)
}

/// A catalog key: `buildKey('cache.tweet', {tweetId: '42'}, {prefix: 'prod:'})`
/// → `{key: 'prod:cache:tweet:42', family: 'cache.tweet', ttlSeconds: 86400, redisType: 'string'}`.
/// Numbers are accepted for parameters when they are safe integers.
#[napi(
    ts_args_type = "family: string, params?: Record<string, string | number> | undefined | null, options?: KeyOptions | undefined | null"
)]
pub fn build_key(
    family: String,
    params: Option<Unknown>,
    options: Option<Unknown>,
) -> Result<BuiltKey, &'static str> {
    let params = args::params(params.map(Arg::from)).map_err(err)?;
    let options = key_options(options)?;
    api::build_key(&family, params, options)
        .map(Into::into)
        .map_err(err)
}

/// The generic helper: prefix + parts joined by `:` (empty parts, `:` inside a
/// part, whitespace and control characters are errors).
#[napi(ts_args_type = "parts: Array<string>, options?: KeyOptions | undefined | null")]
pub fn key(parts: Vec<String>, options: Option<Unknown>) -> Result<String, &'static str> {
    let options = key_options(options)?;
    api::key(&parts, options).map_err(err)
}

/// The family and parameters a key was built from, or `null` for a non-catalog key.
/// Without `options.prefix`, the key's first segment is taken as its prefix.
#[napi(ts_args_type = "key: string, options?: KeyOptions | undefined | null")]
pub fn classify_key(
    key: String,
    options: Option<Unknown>,
) -> Result<Either<ClassifiedKey, Null>, &'static str> {
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
#[napi]
pub fn queue_score(
    priority: f64,
    enqueued_at_ms: f64,
    seq: Option<f64>,
) -> Result<f64, &'static str> {
    api::queue_score(priority, enqueued_at_ms, seq).map_err(err)
}

/// The inverse of `queueScore`.
#[napi]
pub fn decode_queue_score(score: f64) -> Result<DecodedScore, &'static str> {
    api::decode_queue_score(score).map(Into::into).map_err(err)
}

/// Backoff in ms before retry `attempt` (1-based) of `queue`; `null` = no more
/// retries (dead-letter). With `itemId` the delay is jittered deterministically.
#[napi]
pub fn retry_delay_ms(
    queue: String,
    attempt: f64,
    item_id: Option<String>,
) -> Result<Either<f64, Null>, &'static str> {
    let delay = api::retry_delay_ms(&queue, attempt, item_id.as_deref()).map_err(err)?;
    Ok(or_null(delay))
}

/// `count` (default 1) seeded Beta(alpha, beta) draws, bit-identical in every runtime.
#[napi]
pub fn sample_beta(
    alpha: f64,
    beta: f64,
    seed: f64,
    count: Option<f64>,
) -> Result<Vec<f64>, &'static str> {
    api::sample_beta(alpha, beta, seed, count).map_err(err)
}

/// Fills `out` with seeded Beta(alpha, beta) draws: the same numbers as
/// `sampleBeta(alpha, beta, seed, out.length)`, without building an array
/// (the fast path for large batches).
#[napi]
pub fn sample_beta_into(
    alpha: f64,
    beta: f64,
    seed: f64,
    mut out: Float64ArraySlice,
) -> Result<(), &'static str> {
    // SAFETY: the call runs synchronously on the JS thread, so no JS code can
    // touch the buffer while it is filled.
    let out = unsafe { out.as_mut() };
    api::sample_beta_into(alpha, beta, seed, out).map_err(err)
}

/// One Thompson-sampling choice: one draw per arm (input order, one seeded
/// stream), the largest wins (the first on a tie).
#[napi(ts_args_type = "arms: Array<Arm>, seed: number")]
pub fn thompson_select(arms: Unknown, seed: f64) -> Result<Selection, &'static str> {
    let arms = args::arms(&Arg::from(arms)).map_err(err)?;
    api::thompson_select(&arms, seed)
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
pub fn queue_keys(queue: String, options: Option<Unknown>) -> Result<Vec<String>, &'static str> {
    let options = key_options(options)?;
    api::queue_keys(&queue, options).map_err(err)
}

/// The Lua scripts of the Redis protocol, ready for ioredis
/// `redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.source })`.
#[napi]
pub fn scripts() -> Vec<LuaScript> {
    api::scripts().iter().map(Into::into).collect()
}
