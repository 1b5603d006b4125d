//! Temporary data with fixed lifetimes: drafts (1 h) and sessions (24 h).

use crate::error::OpResult;
use crate::redis::Redis;
use xbot_core::keys::{build_key, BuiltKey, Params};

/// `draft` (`temp:draft:{id}:1h`) or `session` (`temp:session:{sessionId}:24h`).
fn key(redis: &Redis, kind: &str, id: &str) -> OpResult<BuiltKey> {
    let (family, param) = match kind {
        "draft" => ("temp.draft", "id"),
        "session" => ("temp.session", "sessionId"),
        _ => {
            return Err(xbot_core::Error::UnknownFamily {
                family: format!("temp.{kind}"),
            }
            .into())
        }
    };
    let params: Params = [(param.to_string(), id.to_string())].into();
    Ok(build_key(family, &params, &redis.ctx)?)
}

/// Stores `value` for the family's lifetime (always with a TTL).
pub async fn set(redis: &Redis, kind: &str, id: &str, value: &str) -> OpResult<String> {
    let k = key(redis, kind, id)?;
    redis
        .set(
            &k.key,
            value,
            Some(k.ttl_seconds.expect("temp families have a TTL")),
        )
        .await?;
    Ok(k.key)
}

pub async fn get(redis: &Redis, kind: &str, id: &str) -> OpResult<Option<String>> {
    redis.get(&key(redis, kind, id)?.key).await
}
