//! The queue item, as the TypeScript bot writes it:
//! `{id, type, data, priority, createdAt, retryCount}` with `createdAt` an
//! ISO-8601 string. Unknown fields are kept, so nothing the bot adds is lost.

use crate::error::{num, quoted_char, Error, Result};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Largest accepted item, as serialized JSON.
pub const MAX_ITEM_BYTES: usize = 256 * 1024;
const MAX_ID_LEN: usize = 128;
const MAX_TYPE_LEN: usize = 64;
const MAX_RETRY_COUNT: u32 = 1_000;
const MAX_ERROR_LEN: usize = 2_048;

/// A priority from 0 (lowest) to 100 (highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Priority(u8);

impl Priority {
    pub fn new(p: u64) -> Result<Self> {
        Self::from_f64(p as f64)
    }
    /// Accepts only integers 0-100 (no NaN, no fractions).
    pub fn from_f64(p: f64) -> Result<Self> {
        crate::error::exact_uint(p, 0, 100)
            .map(|p| Priority(p as u8))
            .ok_or(Error::InvalidPriority { value: num(p) })
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Priority::from_f64(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// One queue item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueItem {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: Value,
    pub priority: Priority,
    /// ISO-8601 UTC, as `Date.prototype.toISOString` writes it.
    pub created_at: String,
    #[serde(default)]
    pub retry_count: u32,
    /// Scheduled items (`pending_posts`): not served before this ISO-8601 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// The error of the last failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Fields the bot added that this crate does not know; kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn check_token(field: &'static str, v: &str, max: usize) -> Result<()> {
    let bad = |reason: String| Error::InvalidItem { field, reason };
    if v.is_empty() || v.len() > max {
        return Err(bad(format!("must be 1-{max} characters (got {})", v.len())));
    }
    if let Some(c) = v
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '@')))
    {
        return Err(bad(format!(
            "contains {}; allowed: letters, digits, '_', '-', '.', ':', '@'",
            quoted_char(c)
        )));
    }
    Ok(())
}

/// Checks a new item's `id` and `type` by the rules [`QueueItem::validate`] applies.
pub fn check_id_and_type(id: &str, kind: &str) -> Result<()> {
    check_token("id", id, MAX_ID_LEN)?;
    check_token("type", kind, MAX_TYPE_LEN)
}

impl QueueItem {
    /// A new item with `retryCount` 0.
    pub fn new(
        id: &str,
        kind: &str,
        data: Value,
        priority: Priority,
        created_at_ms: f64,
    ) -> Result<Self> {
        let item = QueueItem {
            id: id.into(),
            kind: kind.into(),
            data,
            priority,
            created_at: crate::time::iso_string(created_at_ms)?,
            retry_count: 0,
            not_before: None,
            last_error: None,
            extra: Map::new(),
        };
        item.validate()?;
        Ok(item)
    }

    /// Parses and validates an item; the size limit is checked before parsing.
    pub fn from_json(json: &str) -> Result<Self> {
        if json.len() > MAX_ITEM_BYTES {
            return Err(Error::PayloadTooLarge {
                size: json.len(),
                limit: MAX_ITEM_BYTES,
            });
        }
        let item: QueueItem = serde_json::from_str(json).map_err(|e| Error::InvalidJson {
            what: "queue item",
            reason: e.to_string(),
        })?;
        item.validate()?;
        Ok(item)
    }

    /// Serializes a validated item (fails if it outgrew the size limit).
    pub fn to_json(&self) -> Result<String> {
        self.validate()?;
        let s = serde_json::to_string(self).expect("items always serialize");
        if s.len() > MAX_ITEM_BYTES {
            return Err(Error::PayloadTooLarge {
                size: s.len(),
                limit: MAX_ITEM_BYTES,
            });
        }
        Ok(s)
    }

    /// Checks every field's rules.
    pub fn validate(&self) -> Result<()> {
        check_token("id", &self.id, MAX_ID_LEN)?;
        check_token("type", &self.kind, MAX_TYPE_LEN)?;
        crate::time::parse_iso(&self.created_at).map_err(|e| Error::InvalidItem {
            field: "createdAt",
            reason: e.to_string(),
        })?;
        if let Some(nb) = &self.not_before {
            crate::time::parse_iso(nb).map_err(|e| Error::InvalidItem {
                field: "notBefore",
                reason: e.to_string(),
            })?;
        }
        if self.retry_count > MAX_RETRY_COUNT {
            return Err(Error::InvalidItem {
                field: "retryCount",
                reason: format!("must be at most {MAX_RETRY_COUNT}"),
            });
        }
        if self
            .last_error
            .as_ref()
            .is_some_and(|e| e.len() > MAX_ERROR_LEN)
        {
            return Err(Error::InvalidItem {
                field: "lastError",
                reason: format!("longer than {MAX_ERROR_LEN} bytes"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"id":"sync_1","type":"tweet_upsert","data":{"table":"tweets","row":{"id":1}},"priority":50,"createdAt":"2026-11-27T18:36:12.000Z","retryCount":0,"source":"bot"}"#;

    #[test]
    fn round_trip_keeps_unknown_fields() {
        let item = QueueItem::from_json(OK).unwrap();
        assert_eq!(item.priority.get(), 50);
        assert_eq!(item.extra["source"], "bot");
        let back: Value = serde_json::from_str(&item.to_json().unwrap()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(OK).unwrap());
    }

    #[test]
    fn rejects_bad_fields() {
        let cases = [
            (
                OK.replace("\"priority\":50", "\"priority\":101"),
                "INVALID_JSON",
            ),
            (
                OK.replace("\"priority\":50", "\"priority\":50.5"),
                "INVALID_JSON",
            ),
            (
                OK.replace("\"id\":\"sync_1\"", "\"id\":\"\""),
                "INVALID_ITEM",
            ),
            (
                OK.replace("\"id\":\"sync_1\"", "\"id\":\"a b\""),
                "INVALID_ITEM",
            ),
            (
                OK.replace("2026-11-27T18:36:12.000Z", "yesterday"),
                "INVALID_ITEM",
            ),
            (
                OK.replace("\"retryCount\":0", "\"retryCount\":-1"),
                "INVALID_JSON",
            ),
            (OK.replace("\"type\":\"tweet_upsert\",", ""), "INVALID_JSON"),
        ];
        for (json, code) in cases {
            let e = QueueItem::from_json(&json).unwrap_err();
            assert_eq!(e.code(), code, "{json}: {e}");
        }
        let e =
            QueueItem::from_json(&OK.replace("\"priority\":50", "\"priority\":101")).unwrap_err();
        assert!(e.to_string().contains("0 to 100"), "{e}");
        let big = OK.replace(
            "\"id\":1",
            &format!("\"id\":\"{}\"", "x".repeat(MAX_ITEM_BYTES)),
        );
        assert_eq!(
            QueueItem::from_json(&big).unwrap_err().code(),
            "PAYLOAD_TOO_LARGE"
        );
    }

    #[test]
    fn new_item() {
        let p = Priority::new(25).unwrap();
        let item = QueueItem::new("a1", "metrics", Value::Null, p, 1_795_802_400_000.0).unwrap();
        assert_eq!(item.created_at, "2026-11-27T18:00:00.000Z");
        assert_eq!(
            Priority::from_f64(f64::NAN).unwrap_err().code(),
            "INVALID_PRIORITY"
        );
    }
}
