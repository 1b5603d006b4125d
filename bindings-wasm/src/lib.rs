//! wasm-bindgen glue for the browser package: convert arguments, call
//! `xbot_core::api`, convert the result. Same names, results and error codes
//! as the napi package; errors are JS `Error`s with a stable `code`.
//! Lone UTF-16 surrogates arrive as U+FFFD (TextEncoder), as in Node's `createHash`.

#[cfg(feature = "node")]
mod client;
mod convert;

/// Talc instead of std's dlmalloc: ~4 KB less code, and faster.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

use convert::{err, Js, Obj};
use wasm_bindgen::prelude::*;
use xbot_core::{api, args};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
export interface KeyOptions { prefix?: string | null; env?: string | null }
export interface BuiltKey { key: string; family: string; ttlSeconds: number | null; redisType: string }
export interface ClassifiedKey { family: string; params: Record<string, string>; prefix: string }
export interface ParamInfo { name: string; format: string; example: string }
export interface TtlByEnv { production: number | null; staging: number | null; development: number | null }
export interface CatalogEntry {
  name: string; pattern: string; params: ParamInfo[]; redisType: string; ttlSeconds: number | null;
  ttlSecondsByEnv: TtlByEnv; ttlClass: string; hashTag: boolean; purpose: string; example: string
}
export interface DecodedScore { priority: number; enqueuedAtMs: number; seq: number }
export interface Arm { id: string; alpha: number; beta: number }
export interface Selection { id: string; index: number; samples: number[] }
export function buildKey(family: string, params?: Record<string, string | number> | null): BuiltKey;
export function key(parts: string[]): string;
export function classifyKey(key: string): ClassifiedKey | null;
export function queueKeys(queue: string): string[];
export function queueScore(priority: number, enqueuedAtMs: number): number;
export function retryDelayMs(queue: string, attempt: number): number | null;
export function sampleBeta(alpha: number, beta: number, seed: number): number[];
export interface LogisticWeights { bias?: number; weights: Record<string, number> }
"#;

fn string(param: &'static str, v: JsValue) -> Result<String, JsValue> {
    args::string_arg(param, &Js(v)).map_err(err)
}

fn number(param: &'static str, v: JsValue) -> Result<f64, JsValue> {
    args::number_arg(param, &Js(v)).map_err(err)
}

fn opt_number(param: &'static str, v: Option<JsValue>) -> Result<Option<f64>, JsValue> {
    args::opt_number_arg(param, v.map(Js)).map_err(err)
}

/// `text.toLowerCase().replace(/\s+/g, ' ').trim()`, exactly as JavaScript does it.
#[wasm_bindgen(js_name = normalizeContent)]
pub fn normalize_content(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
) -> Result<String, JsValue> {
    Ok(api::normalize_content(&string("text", text)?))
}

/// `normalizeContent` for a value already known to be a string: the
/// package's `normalizeContent` calls this after its `typeof` check (wasm-bindgen
/// passes a `&str` in one step; a `JsValue` costs a second boundary crossing).
#[wasm_bindgen(js_name = normalizeContentStr)]
pub fn normalize_content_str(text: &str) -> String {
    api::normalize_content(text)
}

/// `contentHash` for a value already known to be a string (see `normalizeContentStr`).
#[wasm_bindgen(js_name = contentHashStr)]
pub fn content_hash_str(text: &str) -> String {
    api::content_hash(text)
}

/// The bot's legacy dedup normalization (variant A):
/// `text.toLowerCase().replace(/[^\w\s]/g, '').replace(/\s+/g, ' ').trim()`.
#[wasm_bindgen(js_name = legacyNormalize)]
pub fn legacy_normalize(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
) -> Result<String, JsValue> {
    Ok(xbot_core::legacy::legacy_normalize(&string("text", text)?))
}

/// SHA-256 hex of `legacyNormalize(text)`: the hash in the bot's legacy
/// dedup markers `content_hash:<hex>` (unprefixed).
#[wasm_bindgen(js_name = legacyContentHash)]
pub fn legacy_content_hash(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
) -> Result<String, JsValue> {
    Ok(xbot_core::legacy::legacy_content_hash(&string(
        "text", text,
    )?))
}

/// Lowercase hex SHA-256 of the UTF-8 bytes of `normalizeContent(text)`.
#[wasm_bindgen(js_name = contentHash)]
pub fn content_hash(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
) -> Result<String, JsValue> {
    Ok(api::content_hash(&string("text", text)?))
}

/// `contentHashBatch` of texts given as one UTF-8 buffer and their byte
/// lengths; returns the hex hashes concatenated (64 characters each). The
/// package's `contentHashBatch` uses this: one copy in, one string out,
/// instead of one glue conversion per text each way.
#[wasm_bindgen(js_name = contentHashBatchUtf8)]
pub fn content_hash_batch_utf8(bytes: &[u8], lengths: &[u32]) -> Result<String, JsValue> {
    let bad = |reason: String| {
        err(xbot_core::Error::InvalidJson {
            what: "UTF-8 batch",
            reason,
        })
    };
    let mut texts = Vec::with_capacity(lengths.len());
    let mut at = 0usize;
    for &n in lengths {
        let end = at + n as usize;
        let chunk = bytes
            .get(at..end)
            .ok_or_else(|| bad("lengths exceed the buffer".into()))?;
        texts.push(std::str::from_utf8(chunk).map_err(|e| bad(e.to_string()))?);
        at = end;
    }
    Ok(api::content_hash_batch(&texts).concat())
}

/// `contentHash` for many texts in one call.
#[wasm_bindgen(js_name = contentHashBatch)]
pub fn content_hash_batch(
    #[wasm_bindgen(unchecked_param_type = "string[]")] texts: JsValue,
) -> Result<Vec<String>, JsValue> {
    let texts = args::strings_arg("texts", &Js(texts)).map_err(err)?;
    Ok(api::content_hash_batch(&texts))
}

/// A catalog key: `buildKey('cache.tweet', {tweetId: '42'}, {prefix: 'prod:'})`.
#[wasm_bindgen(js_name = buildKey, unchecked_return_type = "BuiltKey")]
pub fn build_key(
    #[wasm_bindgen(unchecked_param_type = "string")] family: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string | number> | null")] params: Option<
        JsValue,
    >,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let params = args::params(convert::opt(params)).map_err(err)?;
    let options = convert::key_options(options)?;
    let built = api::build_key(&string("family", family)?, params, options).map_err(err)?;
    Ok(convert::built_key(built))
}

/// The generic helper: prefix + parts joined by `:`.
#[wasm_bindgen]
pub fn key(
    #[wasm_bindgen(unchecked_param_type = "string[]")] parts: JsValue,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<String, JsValue> {
    let parts = args::strings_arg("parts", &Js(parts)).map_err(err)?;
    api::key(&parts, convert::key_options(options)?).map_err(err)
}

/// The family and parameters of a key, or `null` for a non-catalog key.
#[wasm_bindgen(js_name = classifyKey, unchecked_return_type = "ClassifiedKey | null")]
pub fn classify_key(
    #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let key = string("key", key)?;
    let found = api::classify_key(&key, convert::key_options(options)?).map_err(err)?;
    Ok(convert::classified(found))
}

/// Every key family.
#[wasm_bindgen(unchecked_return_type = "CatalogEntry[]")]
pub fn catalog() -> JsValue {
    convert::array(api::catalog(), convert::catalog_entry)
}

/// The sorted-set score (higher = served first), exact below 2^53.
#[wasm_bindgen(js_name = queueScore)]
pub fn queue_score(
    #[wasm_bindgen(unchecked_param_type = "number")] priority: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] enqueued_at_ms: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number | null")] seq: Option<JsValue>,
) -> Result<f64, JsValue> {
    api::queue_score(
        number("priority", priority)?,
        number("enqueuedAtMs", enqueued_at_ms)?,
        opt_number("seq", seq)?,
    )
    .map_err(err)
}

/// The inverse of `queueScore`.
#[wasm_bindgen(js_name = decodeQueueScore, unchecked_return_type = "DecodedScore")]
pub fn decode_queue_score(
    #[wasm_bindgen(unchecked_param_type = "number")] score: JsValue,
) -> Result<JsValue, JsValue> {
    let d = api::decode_queue_score(number("score", score)?).map_err(err)?;
    Ok(Obj::new()
        .set("priority", d.priority as f64)
        .set("enqueuedAtMs", d.enqueued_at_ms as f64)
        .set("seq", d.seq as f64)
        .into())
}

/// Backoff in ms before retry `attempt` (1-based); `null` = dead-letter.
#[wasm_bindgen(js_name = retryDelayMs, unchecked_return_type = "number | null")]
pub fn retry_delay_ms(
    #[wasm_bindgen(unchecked_param_type = "string")] queue: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] attempt: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | null")] item_id: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let queue = string("queue", queue)?;
    let attempt = number("attempt", attempt)?;
    let item_id = args::opt_string_arg("itemId", item_id.map(Js)).map_err(err)?;
    let delay = api::retry_delay_ms(&queue, attempt, item_id.as_deref()).map_err(err)?;
    Ok(convert::num_or_null(delay))
}

/// `count` (default 1) seeded Beta(alpha, beta) draws, bit-identical in every runtime.
/// An `Array` of numbers, as the napi package returns (not a `Float64Array`).
#[wasm_bindgen(js_name = sampleBeta, unchecked_return_type = "number[]")]
pub fn sample_beta(
    #[wasm_bindgen(unchecked_param_type = "number")] alpha: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] beta: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number | null")] count: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let draws = api::sample_beta(
        number("alpha", alpha)?,
        number("beta", beta)?,
        number("seed", seed)?,
        opt_number("count", count)?,
    )
    .map_err(err)?;
    let out = js_sys::Array::new_with_length(draws.len() as u32);
    for (i, x) in draws.into_iter().enumerate() {
        out.set(i as u32, JsValue::from_f64(x));
    }
    Ok(out.into())
}

/// Fills `out` with seeded Beta(alpha, beta) draws: the same numbers as
/// `sampleBeta(alpha, beta, seed, out.length)`, without building an array.
#[wasm_bindgen(js_name = sampleBetaInto)]
pub fn sample_beta_into(
    #[wasm_bindgen(unchecked_param_type = "number")] alpha: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] beta: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
    out: &mut [f64],
) -> Result<(), JsValue> {
    let (alpha, beta, seed) = (
        number("alpha", alpha)?,
        number("beta", beta)?,
        number("seed", seed)?,
    );
    api::sample_beta_into(alpha, beta, seed, out).map_err(err)
}

/// One Thompson-sampling choice.
#[wasm_bindgen(js_name = thompsonSelect, unchecked_return_type = "Selection")]
pub fn thompson_select(
    #[wasm_bindgen(unchecked_param_type = "Arm[]")] arms: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
) -> Result<JsValue, JsValue> {
    let arms = args::arms(&Js(arms)).map_err(err)?;
    let selection = api::thompson_select(&arms, number("seed", seed)?).map_err(err)?;
    Ok(convert::selection(selection))
}

/// `sigmoid(bias + Σ weights[f]·features[f])`.
#[wasm_bindgen(js_name = logisticScore)]
pub fn logistic_score(
    #[wasm_bindgen(unchecked_param_type = "LogisticWeights")] weights: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, number>")] features: JsValue,
) -> Result<f64, JsValue> {
    let model = args::logistic_model(&Js(weights)).map_err(err)?;
    let features = args::numbers("features", &Js(features)).map_err(err)?;
    api::logistic_score(&model, &features).map_err(err)
}

/// The seven keys of `queue` in the order every queue script takes them.
#[wasm_bindgen(js_name = queueKeys)]
pub fn queue_keys(
    #[wasm_bindgen(unchecked_param_type = "string")] queue: JsValue,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<Vec<String>, JsValue> {
    api::queue_keys(&string("queue", queue)?, convert::key_options(options)?).map_err(err)
}
