//! The pure API in the shape JavaScript sees it (CONTRACT.md): argument types
//! a JS caller can pass (numbers as f64, optional arguments, option objects),
//! validated here once so the napi and wasm bindings only convert values.

use crate::error::{num, Error, Result};
use crate::{bandit, content, keys, model, queue};
use std::collections::BTreeMap;

/// `{prefix?, env?}`, as [`crate::args::key_options`] reads it from JS.
#[derive(Debug, Clone, Default)]
pub struct KeyOptions {
    pub prefix: Option<String>,
    pub env: Option<String>,
}

impl KeyOptions {
    pub fn context(&self) -> Result<keys::KeyContext> {
        keys::KeyContext::resolve(self.prefix.as_deref(), self.env.as_deref())
    }
}

/// A parameter value: a string, or a number that is a safe integer.
#[derive(Debug, Clone)]
pub enum ParamValue {
    Str(String),
    Num(f64),
}

const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

fn param_strings(family: &str, params: BTreeMap<String, ParamValue>) -> Result<keys::Params> {
    // Inserted one by one: collecting into a map would sort what is already sorted.
    let mut out = keys::Params::new();
    for (name, v) in params {
        let s = match v {
            ParamValue::Str(s) => s,
            ParamValue::Num(n) if n.is_finite() && n.fract() == 0.0 && (0.0..=MAX_SAFE).contains(&n) => {
                (n as u64).to_string()
            }
            ParamValue::Num(n) => {
                return Err(Error::InvalidParam {
                    family: family.into(),
                    param: name,
                    value: num(n),
                    reason: "numbers must be non-negative safe integers; pass large ids (tweet ids) as strings".into(),
                })
            }
        };
        out.insert(name, s);
    }
    Ok(out)
}

pub fn normalize_content(text: &str) -> String {
    content::normalize(text)
}

pub fn content_hash(text: &str) -> String {
    content::content_hash(text)
}

pub fn content_hash_batch<S: AsRef<str>>(texts: &[S]) -> Vec<String> {
    content::content_hash_batch(texts)
}

pub fn build_key(
    family: &str,
    params: Option<BTreeMap<String, ParamValue>>,
    options: Option<KeyOptions>,
) -> Result<keys::BuiltKey> {
    let ctx = options.unwrap_or_default().context()?;
    keys::build_key(
        family,
        &param_strings(family, params.unwrap_or_default())?,
        &ctx,
    )
}

pub fn key<S: AsRef<str>>(parts: &[S], options: Option<KeyOptions>) -> Result<String> {
    keys::generic_key(parts, &options.unwrap_or_default().context()?.prefix)
}

/// With `options.prefix` the key must carry it; otherwise its first segment is the prefix.
pub fn classify_key(key: &str, options: Option<KeyOptions>) -> Result<Option<keys::Classified>> {
    let prefix = options
        .and_then(|o| o.prefix)
        .map(|p| keys::Prefix::parse(&p))
        .transpose()?;
    Ok(keys::classify_key(key, prefix.as_ref()))
}

pub fn catalog() -> Vec<keys::CatalogEntry> {
    keys::catalog()
}

pub fn queue_score(priority: f64, enqueued_at_ms: f64, seq: Option<f64>) -> Result<f64> {
    queue::queue_score(priority, enqueued_at_ms, seq.unwrap_or(0.0))
}

pub fn decode_queue_score(score: f64) -> Result<queue::DecodedScore> {
    queue::decode_queue_score(score)
}

pub fn retry_delay_ms(queue: &str, attempt: f64, item_id: Option<&str>) -> Result<Option<u64>> {
    queue::retry_delay_ms(queue, attempt, item_id)
}

pub fn sample_beta(alpha: f64, beta: f64, seed: f64, count: Option<f64>) -> Result<Vec<f64>> {
    let count = count.unwrap_or(1.0);
    let n = crate::error::exact_uint(count, 1, bandit::MAX_COUNT).ok_or(Error::InvalidCount {
        value: num(count),
        max: bandit::MAX_COUNT,
    })?;
    bandit::sample_beta(alpha, beta, bandit::seed_from_f64(seed)?, n)
}

/// Fills `out` with the draws `sample_beta(alpha, beta, seed, out.len())` gives.
pub fn sample_beta_into(alpha: f64, beta: f64, seed: f64, out: &mut [f64]) -> Result<()> {
    bandit::fill_beta(alpha, beta, bandit::seed_from_f64(seed)?, out)
}

pub fn thompson_select(arms: &[bandit::Arm], seed: f64) -> Result<bandit::Selection> {
    bandit::thompson_select(arms, bandit::seed_from_f64(seed)?)
}

pub fn logistic_score(weights: &model::LogisticModel, features: &model::Features) -> Result<f64> {
    weights.score(features)
}

/// The seven keys of `queue` in the order the queue scripts take them.
pub fn queue_keys(queue: &str, options: Option<KeyOptions>) -> Result<Vec<String>> {
    let ctx = options.unwrap_or_default().context()?;
    Ok(keys::queue_keys(queue::QueueName::parse(queue)?, &ctx).to_vec())
}

/// The Lua scripts of the Redis protocol (name, number of keys, source).
pub fn scripts() -> &'static [crate::scripts::LuaScript] {
    crate::scripts::SCRIPTS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet_id(n: f64) -> Option<BTreeMap<String, ParamValue>> {
        Some([("tweetId".to_string(), ParamValue::Num(n))].into())
    }

    #[test]
    fn params_accept_safe_integers() {
        assert_eq!(
            build_key("cache.tweet", tweet_id(42.0), None).unwrap().key,
            "app:cache:tweet:42"
        );
        for bad in [1.5, -1.0, 1e300] {
            assert_eq!(
                build_key("cache.tweet", tweet_id(bad), None)
                    .unwrap_err()
                    .code(),
                "INVALID_PARAM"
            );
        }
        // An unknown option is refused: see `args::tests`.
    }

    #[test]
    fn optional_arguments() {
        assert_eq!(sample_beta(1.0, 1.0, 1.0, None).unwrap().len(), 1);
        assert_eq!(
            sample_beta(1.0, 1.0, 1.0, Some(2.5)).unwrap_err().code(),
            "INVALID_COUNT"
        );
        assert_eq!(
            queue_score(1.0, 1_795_802_400_000.0, None).unwrap(),
            queue_score(1.0, 1_795_802_400_000.0, Some(0.0)).unwrap()
        );
        let o = KeyOptions {
            prefix: Some("stg:".into()),
            env: None,
        };
        assert_eq!(classify_key("prod:tweets:recent", Some(o)).unwrap(), None);
        assert_eq!(key(&["a", "b"], None).unwrap(), "app:a:b");
    }
}
