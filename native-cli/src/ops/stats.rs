//! Daily and hourly counters whose TTL is set when the hash is created.

use super::effects;
use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use std::collections::BTreeMap;
use xbot_core::effects::Effect;
use xbot_core::keys::BuiltKey;

/// The stats hash of `period` (`daily` or `hourly`) containing `at_ms`.
pub fn key(redis: &Redis, period: &str, at_ms: u64) -> OpResult<BuiltKey> {
    Ok(xbot_core::client::stats_key(
        period,
        at_ms as f64,
        &redis.ctx,
    )?)
}

/// Adds `by` to `field` of the period's hash; returns the new value.
pub async fn incr(redis: &Redis, period: &str, field: &str, by: i64, at_ms: u64) -> OpResult<i64> {
    let k = key(redis, period, at_ms)?;
    let args = [
        field.to_string(),
        by.to_string(),
        k.ttl_seconds.unwrap_or(86_400).to_string(),
    ];
    redis
        .script("stats_incr", std::slice::from_ref(&k.key), &args)
        .await
        .map_err(|source| OpError::Redis {
            what: k.key,
            source,
        })
}

/// Adds `by` to `field` at most once per idempotency `id`; returns the
/// field's value after it and whether this call applied it.
pub async fn incr_once(
    redis: &Redis,
    period: &str,
    field: &str,
    by: i64,
    at_ms: u64,
    id: &str,
) -> OpResult<(i64, bool)> {
    let k = key(redis, period, at_ms)?;
    let effect = Effect::Stats {
        key: k.key.clone(),
        ttl: k.ttl_seconds.unwrap_or(86_400),
        fields: vec![(field.to_string(), by)],
    };
    let outcome = effects::apply_once(redis, &effects::caller_scope(id)?, &effect).await?;
    let value: Option<i64> = redis::cmd("HGET")
        .arg(&k.key)
        .arg(field)
        .query_async(&mut redis.conn.clone())
        .await
        .map_err(|source| OpError::Redis {
            what: k.key.clone(),
            source,
        })?;
    Ok((
        value.unwrap_or(0),
        matches!(outcome, effects::Outcome::Applied(_)),
    ))
}

/// Every counter of the period's hash.
pub async fn show(
    redis: &Redis,
    period: &str,
    at_ms: u64,
) -> OpResult<(String, BTreeMap<String, i64>)> {
    let k = key(redis, period, at_ms)?;
    let all: BTreeMap<String, i64> = redis::cmd("HGETALL")
        .arg(&k.key)
        .query_async(&mut redis.conn.clone())
        .await
        .map_err(|source| OpError::Redis {
            what: k.key.clone(),
            source,
        })?;
    Ok((k.key, all))
}
