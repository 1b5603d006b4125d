//! Duplicate-content markers: check and mark in one step (`SET NX EX GET`).
//! A Redis error is an error for the caller, never "not a duplicate".

use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use serde::Serialize;
use xbot_core::content::{dedup_keys, digest};

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
    let bad = |param: &str, value: &str, reason: &str| -> OpError {
        xbot_core::Error::InvalidParam {
            family: "dedup".into(),
            param: param.into(),
            value: value.into(),
            reason: reason.into(),
        }
        .into()
    };
    if !matches!(family, "content_hash.sha256" | "dedup.tweet") {
        return Err(bad(
            "family",
            family,
            "dedup marks live in content_hash.sha256 (7 days) or dedup.tweet (24 h)",
        ));
    }
    if xbot_core::content::normalize(text).is_empty() {
        // Every blank text would share one marker: the second would be a "duplicate".
        return Err(bad(
            "text",
            text,
            "nothing is left after normalization (empty or only whitespace)",
        ));
    }
    if holder.is_empty() {
        return Err(bad("holder", holder, "must not be empty"));
    }
    let d = digest(text, &redis.ctx);
    let (content, tweet) = dedup_keys(&d.sha256, &redis.ctx)?;
    let key = match family {
        "content_hash.sha256" => content,
        "dedup.tweet" => tweet,
        other => {
            return Err(xbot_core::Error::UnknownFamily {
                family: other.into(),
            }
            .into())
        }
    };
    let ttl = key.ttl_seconds.unwrap_or(86_400);
    // SET NX GET (Redis >= 7): sets only if absent and returns the previous value.
    let previous: Option<String> = redis::cmd("SET")
        .arg(&key.key)
        .arg(holder)
        .arg("NX")
        .arg("GET")
        .arg("EX")
        .arg(ttl)
        .query_async(&mut redis.conn.clone())
        .await
        .map_err(|source| OpError::Redis {
            what: key.key.clone(),
            source,
        })?;
    Ok(Mark {
        new: previous.is_none(),
        key: key.key,
        sha256: d.sha256,
        holder: previous,
    })
}
