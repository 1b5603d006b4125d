//! Duplicate-content markers: check and mark in one step (`SET NX EX GET`).
//! A Redis error is an error for the caller, never "not a duplicate".

use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    /// True when this call placed the marker (the content was not seen before).
    pub new: bool,
    pub key: String,
    pub sha256: String,
    /// Who holds the marker when it was not new (e.g. the tweet id).
    pub holder: Option<String>,
}

/// Marks `text` (normalized and hashed) as held by `holder` for the family's TTL:
/// `content_hash.sha256` (7 days) or `dedup.tweet` (24 hours).
pub async fn mark(redis: &Redis, text: &str, holder: &str, family: &str) -> OpResult<Mark> {
    let marker = xbot_core::client::dedup_marker(text, holder, family, &redis.ctx)?;
    let (key, ttl) = (marker.key, marker.ttl_seconds);
    // During the cut-over a text the old bot posted is still a duplicate:
    // its marker (variant A, unprefixed) is read, never written.
    if redis.legacy.is_some() {
        let legacy = xbot_core::legacy::legacy_dedup_key(text);
        let held: Option<String> = redis.get(&legacy).await?;
        if let Some(holder) = held {
            return Ok(Mark {
                new: false,
                key: legacy,
                sha256: marker.sha256,
                holder: Some(holder),
            });
        }
    }
    let previous: Option<String> = redis::cmd("SET")
        .arg(&key)
        .arg(holder)
        .arg("NX")
        .arg("GET")
        .arg("EX")
        .arg(ttl)
        .query_async(&mut redis.conn.clone())
        .await
        .map_err(|source| OpError::Redis {
            what: key.clone(),
            source,
        })?;
    Ok(Mark {
        new: previous.is_none(),
        key,
        sha256: marker.sha256,
        holder: previous,
    })
}
