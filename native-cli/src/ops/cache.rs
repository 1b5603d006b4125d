//! Caches: tweets (JSON, 24 h), configuration with version-based busting and
//! a loader on miss, and the capped `tweets:recent` list. Hits and misses are
//! counted per family in `stats:cache`.

use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use serde_json::{json, Value};
use std::future::Future;
use xbot_core::keys::{build_key, BuiltKey, Params};

/// Longest `tweets:recent` list.
pub use xbot_core::client::RECENT_MAX;

fn redis_err(what: &str) -> impl FnOnce(redis::RedisError) -> OpError + '_ {
    move |source| OpError::Redis {
        what: what.to_string(),
        source,
    }
}

fn key(redis: &Redis, family: &str, param: Option<(&str, &str)>) -> OpResult<BuiltKey> {
    let params: Params = param
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into_iter()
        .collect();
    Ok(build_key(family, &params, &redis.ctx)?)
}

/// Counts a hit or a miss of `family` (metrics only: not atomic with the read).
async fn count(redis: &Redis, family: &str, hit: bool) -> OpResult<()> {
    let k = key(redis, "stats.cache", None)?.key;
    let field = format!("{family}:{}", if hit { "hit" } else { "miss" });
    let _: i64 = redis::cmd("HINCRBY")
        .arg(&k)
        .arg(field)
        .arg(1)
        .query_async(&mut redis.conn_for(&k))
        .await
        .map_err(redis_err(&k))?;
    Ok(())
}

pub async fn tweet_get(redis: &Redis, tweet_id: &str) -> OpResult<Option<Value>> {
    let k = key(redis, "cache.tweet", Some(("tweetId", tweet_id)))?;
    let raw: Option<String> = redis.get(&k.key).await?;
    count(redis, "cache.tweet", raw.is_some()).await?;
    raw.map(|r| {
        serde_json::from_str(&r).map_err(|e| {
            xbot_core::Error::InvalidJson {
                what: "cached tweet",
                reason: e.to_string(),
            }
            .into()
        })
    })
    .transpose()
}

pub async fn tweet_set(redis: &Redis, tweet_id: &str, tweet: &Value) -> OpResult<()> {
    let k = key(redis, "cache.tweet", Some(("tweetId", tweet_id)))?;
    redis.set(&k.key, &tweet.to_string(), k.ttl_seconds).await
}

/// The current configuration schema version (0 when never set).
pub async fn config_version(redis: &Redis) -> OpResult<i64> {
    let k = key(redis, "cache.config", Some(("key", "schema_version")))?.key;
    Ok(redis.get(&k).await?.unwrap_or(0))
}

/// Invalidates every cached configuration entry at once; returns the new version.
/// The version key keeps the family's TTL, refreshed on every bump: when it
/// expires the version reads 0 again, and every entry cached under 0 expired
/// before it (same TTL), so nothing stale can match.
pub async fn config_bump(redis: &Redis) -> OpResult<i64> {
    let built = key(redis, "cache.config", Some(("key", "schema_version")))?;
    let k = built.key;
    let ttl = built.ttl_seconds.unwrap_or(3_600);
    let (version,): (i64,) = redis::pipe()
        .atomic()
        .incr(&k, 1)
        .expire(&k, ttl as i64)
        .ignore()
        .query_async(&mut redis.conn_for(&k))
        .await
        .map_err(redis_err(&k))?;
    Ok(version)
}

/// A configuration value: from the cache when stored under the current schema
/// version, else from `load` (e.g. Supabase `bot_config`), then cached for the
/// family's TTL. A loader error is returned and nothing is cached.
pub async fn config_get<F, Fut>(redis: &Redis, name: &str, load: F) -> OpResult<Value>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = OpResult<Value>>,
{
    let k = key(redis, "cache.config", Some(("key", name)))?;
    let version = config_version(redis).await?;
    let raw: Option<String> = redis.get(&k.key).await?;
    if let Some(entry) = raw.and_then(|r| serde_json::from_str::<Value>(&r).ok()) {
        if entry["version"] == json!(version) {
            count(redis, "cache.config", true).await?;
            return Ok(entry["value"].clone());
        }
    }
    count(redis, "cache.config", false).await?;
    let value = load().await?;
    redis
        .set(
            &k.key,
            &json!({ "version": version, "value": value }).to_string(),
            k.ttl_seconds,
        )
        .await?;
    Ok(value)
}

/// Adds a tweet to `tweets:recent` (newest first, capped, TTL refreshed).
pub async fn recent_push(redis: &Redis, tweet: &Value) -> OpResult<u64> {
    let k = key(redis, "tweets.recent", None)?;
    let args = [
        tweet.to_string(),
        RECENT_MAX.to_string(),
        k.ttl_seconds.unwrap_or(1_800).to_string(),
    ];
    redis
        .script("recent_push", std::slice::from_ref(&k.key), &args)
        .await
        .map_err(|source| OpError::Redis {
            what: k.key,
            source,
        })
}

/// The newest `n` recent tweets.
pub async fn recent(redis: &Redis, n: usize) -> OpResult<Vec<Value>> {
    let k = key(redis, "tweets.recent", None)?.key;
    let raw: Vec<String> = redis::cmd("LRANGE")
        .arg(&k)
        .arg(0)
        .arg(n.saturating_sub(1))
        .query_async(&mut redis.conn_for(&k))
        .await
        .map_err(redis_err(&k))?;
    Ok(raw
        .into_iter()
        .map(|r| serde_json::from_str(&r).unwrap_or(Value::String(r)))
        .collect())
}
