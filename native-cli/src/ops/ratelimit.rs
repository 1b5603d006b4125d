//! Fixed-window rate limits, counted atomically with their expiry.

use super::now_ms;
use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use serde::Serialize;
use xbot_core::keys::{build_key, Params};
use xbot_core::ratelimit::{window, Limiter, RateLimits};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub allowed: bool,
    pub key: String,
    pub count: u64,
    pub limit: u32,
    pub remaining: u64,
    /// When the window resets (epoch ms).
    pub reset_at_ms: u64,
}

/// The configured limits: `cache:config:rate_limits` JSON, else the defaults.
pub async fn limits(redis: &Redis) -> OpResult<RateLimits> {
    let params: Params = [("key".to_string(), "rate_limits".to_string())].into();
    let key = build_key("cache.config", &params, &redis.ctx)?.key;
    let raw: Option<String> = redis.get(&key).await?;
    Ok(match raw {
        // Bad data in Redis is not the caller's usage error (exit 1, naming the key).
        Some(json) => RateLimits::from_json(&json).map_err(|e| OpError::BadStoredValue {
            key: key.clone(),
            reason: e.to_string(),
        })?,
        None => RateLimits::default(),
    })
}

/// One attempt: counted and allowed, or denied (and not counted).
pub async fn hit(redis: &Redis, limiter: Limiter, limits: &RateLimits) -> OpResult<Decision> {
    let (counter, reset_at_ms) = window(limiter, now_ms() as f64, &redis.ctx)?;
    let limit = limits.limit(limiter);
    let ttl = counter.ttl_seconds.unwrap_or(60);
    let (allowed, count): (i64, u64) = redis
        .script(
            "ratelimit_hit",
            std::slice::from_ref(&counter.key),
            &[limit.to_string(), ttl.to_string()],
        )
        .await
        .map_err(|source| OpError::Redis {
            what: counter.key.clone(),
            source,
        })?;
    Ok(Decision {
        allowed: allowed == 1,
        remaining: u64::from(limit).saturating_sub(count),
        key: counter.key,
        count,
        limit,
        reset_at_ms,
    })
}
