//! Locks: `SET NX PX` with a random owner token, a fencing number that only
//! grows, and release/extend only by the owner. A lock prevents duplicate
//! work; it is not a correctness guarantee (pass the fence to the protected
//! resource, and make side effects idempotent).

use super::random_hex;
use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use serde::Serialize;

/// A held lock.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    pub name: String,
    pub token: String,
    /// Grows by one on every acquisition of this lock.
    pub fence: u64,
    pub lease_ms: u64,
}

/// The lock and fence keys of a lock name (`posting_in_progress`, `sync_in_progress`).
fn keys(redis: &Redis, name: &str) -> OpResult<(String, String, u64)> {
    let k = xbot_core::client::lock_keys(name, &redis.ctx)?;
    Ok((k.key, k.fence_key, k.default_lease_ms))
}

fn redis_err(what: &str) -> impl FnOnce(redis::RedisError) -> OpError + '_ {
    move |source| OpError::Redis {
        what: what.to_string(),
        source,
    }
}

/// Takes the lock if it is free: `Ok(Some(lease))`, or `Ok(None)` while another owner holds it.
/// `lease_ms` defaults to the family's TTL (5 min posting, 10 min sync).
pub async fn acquire(redis: &Redis, name: &str, lease_ms: Option<u64>) -> OpResult<Option<Lease>> {
    let (lock, fence, default_ms) = keys(redis, name)?;
    let lease_ms = xbot_core::client::lease_ms(lease_ms.unwrap_or(default_ms) as f64)?;
    if name == "posting_in_progress" && legacy_lock_ms(redis).await?.is_some() {
        return Ok(None);
    }
    let token = random_hex();
    let (got, n): (i64, i64) = redis
        .script(
            "lock_acquire",
            &[lock, fence],
            &[token.clone(), lease_ms.to_string()],
        )
        .await
        .map_err(redis_err("lock_acquire"))?;
    Ok((got == 1).then(|| Lease {
        name: name.into(),
        token,
        fence: n as u64,
        lease_ms,
    }))
}

/// How long the old bot's posting lock (`<legacy prefix>xbot:lock:posting`)
/// is still held, when it is: a new posting lock waits for it (never steals
/// it) during the cut-over. `Some(0)` is a legacy lock without expiry.
pub async fn legacy_lock_ms(redis: &Redis) -> OpResult<Option<u64>> {
    let Some(prefixes) = &redis.legacy else {
        return Ok(None);
    };
    let mut longest = None;
    for p in prefixes.iter() {
        let key = xbot_core::legacy::legacy_lock_key(p);
        let pttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut redis.conn.clone())
            .await
            .map_err(redis_err(&key))?;
        let held = match pttl {
            -2 => None,
            -1 => Some(0),
            ms => Some(ms.max(0) as u64),
        };
        longest = longest.max(held);
    }
    Ok(longest)
}

/// Releases the lock if `token` still owns it; returns whether it did.
pub async fn release(redis: &Redis, name: &str, token: &str) -> OpResult<bool> {
    let (lock, _, _) = keys(redis, name)?;
    let n: i64 = redis
        .script("lock_release", &[lock], &[token.to_string()])
        .await
        .map_err(redis_err("lock_release"))?;
    Ok(n == 1)
}

/// Extends the lease if `token` still owns the lock; returns whether it did.
pub async fn extend(
    redis: &Redis,
    name: &str,
    token: &str,
    lease_ms: Option<u64>,
) -> OpResult<bool> {
    let (lock, _, default_ms) = keys(redis, name)?;
    let lease_ms = xbot_core::client::lease_ms(lease_ms.unwrap_or(default_ms) as f64)?;
    let args = [token.to_string(), lease_ms.to_string()];
    let n: i64 = redis
        .script("lock_extend", &[lock], &args)
        .await
        .map_err(redis_err("lock_extend"))?;
    Ok(n == 1)
}
