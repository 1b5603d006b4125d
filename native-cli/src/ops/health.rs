//! Health: connectivity, a write/read/TTL probe on a per-instance key, memory,
//! and the eviction policy (queues, locks and dedup markers must never be evicted).

use super::random_hex;
use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use serde::Serialize;
use xbot_core::keys::{build_key, Params};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// PING, SET, GET and TTL all worked.
    pub ok: bool,
    /// Round trip of PING in milliseconds (fractional; 0.05 is healthy, not "down").
    pub ping_ms: f64,
    pub probe_key: String,
    pub write_read_ok: bool,
    pub ttl_seconds: i64,
    pub used_memory_bytes: Option<u64>,
    pub maxmemory_bytes: Option<u64>,
    pub maxmemory_policy: Option<String>,
    /// Things an operator must fix; an evicting policy is one.
    pub warnings: Vec<String>,
    /// The cache Redis (`REDIS_CACHE_URL`), when one is configured.
    pub cache: Option<CacheHealth>,
}

/// The cache Redis: it may evict (that is its job), so only reachability
/// and its policy are reported.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheHealth {
    pub ok: bool,
    pub ping_ms: Option<f64>,
    pub maxmemory_policy: Option<String>,
    pub error: Option<String>,
}

async fn cache_health(mut conn: crate::redis::Conn) -> CacheHealth {
    let pong = conn.ping_ms().await;
    let info: Result<String, _> = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await;
    match (pong, info) {
        (Ok(ping_ms), Ok(info)) => CacheHealth {
            ok: true,
            ping_ms: Some(ping_ms),
            maxmemory_policy: policy_of(&info),
            error: None,
        },
        (Err(e), _) | (_, Err(e)) => CacheHealth {
            ok: false,
            ping_ms: None,
            maxmemory_policy: None,
            error: Some(e.to_string()),
        },
    }
}

fn policy_of(info: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix("maxmemory_policy:"))
        .map(|p| p.trim().to_string())
}

fn info_field(info: &str, name: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
}

/// Runs the probe. `instance` names this process's probe key; `max_memory`
/// is `REDIS_MAX_MEMORY` (bytes) when set.
pub async fn check(redis: &Redis, instance: &str, max_memory: Option<u64>) -> OpResult<Health> {
    let mut conn = redis.conn.clone();
    let err = |what: &str| {
        let what = what.to_string();
        move |source| OpError::Redis { what, source }
    };
    let ping_ms = conn.ping_ms().await.map_err(err("PING"))?;

    let params: Params = [("instance".to_string(), instance.to_string())].into();
    let probe = build_key("health.instance", &params, &redis.ctx)?;
    let ttl = probe.ttl_seconds.unwrap_or(60);
    let value = random_hex();
    let _: () = redis::cmd("SET")
        .arg(&probe.key)
        .arg(&value)
        .arg("EX")
        .arg(ttl)
        .query_async(&mut conn)
        .await
        .map_err(err("SET probe"))?;
    let read: Option<String> = redis::cmd("GET")
        .arg(&probe.key)
        .query_async(&mut conn)
        .await
        .map_err(err("GET probe"))?;
    let ttl_left: i64 = redis::cmd("TTL")
        .arg(&probe.key)
        .query_async(&mut conn)
        .await
        .map_err(err("TTL probe"))?;
    let write_read_ok = read.as_deref() == Some(value.as_str());

    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await
        .map_err(err("INFO memory"))?;
    let used = info_field(&info, "used_memory");
    let maxmemory = info_field(&info, "maxmemory");
    // Managed Redis may forbid CONFIG; INFO memory also reports the policy.
    let policy = policy_of(&info);

    let mut warnings = Vec::new();
    match policy.as_deref() {
        Some("noeviction") | None => {}
        Some(p) => warnings.push(format!(
            "maxmemory-policy is {p}: Redis may evict queue items, locks and dedup markers; set it to noeviction \
             (or route caches to a separate Redis with REDIS_CACHE_URL)"
        )),
    }
    if let (Some(limit), Some(used)) = (max_memory, used) {
        if used > limit {
            warnings.push(format!(
                "used memory {used} B exceeds REDIS_MAX_MEMORY {limit} B"
            ));
        }
    }
    let cache = match redis.cache_conn() {
        Some(conn) => Some(cache_health(conn).await),
        None => None,
    };
    if let Some(CacheHealth {
        ok: false, error, ..
    }) = &cache
    {
        warnings.push(format!(
            "the cache Redis (REDIS_CACHE_URL) does not answer: {}",
            error.as_deref().unwrap_or("unknown error")
        ));
    }
    let ok = write_read_ok && (1..=ttl as i64).contains(&ttl_left);
    Ok(Health {
        ok,
        ping_ms,
        probe_key: probe.key,
        write_read_ok,
        ttl_seconds: ttl_left,
        used_memory_bytes: used,
        maxmemory_bytes: maxmemory,
        maxmemory_policy: policy,
        warnings,
        cache,
    })
}
