//! Fixed-window rate limits: which counter key an attempt lands in, when the
//! window resets, and the configured limits (`cache:config:rate_limits`).

use crate::error::{Error, Result};
use crate::keys::{build_key, BuiltKey, KeyContext, Params};
use crate::time::{parse_bucket, time_bucket, Bucket};
use serde::{Deserialize, Serialize};

/// The bot's two limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limiter {
    /// Posts per UTC hour (`rate_limit:posting:{hour}`).
    Posting,
    /// API calls per UTC minute (`rate_limit:api:{minute}`).
    Api,
}

impl Limiter {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "posting" => Ok(Limiter::Posting),
            "api" => Ok(Limiter::Api),
            _ => Err(Error::InvalidParam {
                family: "rate_limit".into(),
                param: "limiter".into(),
                value: s.into(),
                reason: "use posting or api".into(),
            }),
        }
    }
    fn family(self) -> (&'static str, &'static str, Bucket) {
        match self {
            Limiter::Posting => ("rate_limit.posting", "hour", Bucket::Hour),
            Limiter::Api => ("rate_limit.api", "minute", Bucket::Minute),
        }
    }
}

/// The counter of the window containing `now_ms`, and when that window ends.
pub fn window(limiter: Limiter, now_ms: f64, ctx: &KeyContext) -> Result<(BuiltKey, u64)> {
    let (family, param, bucket) = limiter.family();
    let b = time_bucket(bucket, now_ms)?;
    let end = parse_bucket(bucket, &b)? as u64 + bucket.span_ms();
    let params: Params = [(param.to_string(), b)].into();
    Ok((build_key(family, &params, ctx)?, end))
}

/// Limits per window, stored as JSON under `cache:config:rate_limits`:
/// `{"postingPerHour": 12, "apiPerMinute": 60}` (missing fields keep the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RateLimits {
    pub posting_per_hour: u32,
    pub api_per_minute: u32,
}

impl Default for RateLimits {
    /// 12 posts per hour, 60 API calls per minute.
    fn default() -> Self {
        RateLimits {
            posting_per_hour: 12,
            api_per_minute: 60,
        }
    }
}

impl RateLimits {
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::InvalidJson {
            what: "cache:config:rate_limits",
            reason: e.to_string(),
        })
    }
    pub fn limit(&self, limiter: Limiter) -> u32 {
        match limiter {
            Limiter::Posting => self.posting_per_hour,
            Limiter::Api => self.api_per_minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let ctx = KeyContext::default();
        let (k, end) = window(Limiter::Posting, 1_795_806_261_000.0, &ctx).unwrap(); // 19:04:21
        assert_eq!(k.key, "app:rate_limit:posting:2026-11-27T19");
        assert_eq!(end, 1_795_806_000_000 + 3_600_000);
        let (k, end) = window(Limiter::Api, 1_795_806_261_000.0, &ctx).unwrap();
        assert_eq!(k.key, "app:rate_limit:api:2026-11-27T1904");
        assert_eq!(end, 1_795_806_300_000);
        assert_eq!(k.ttl_seconds, Some(60));
    }

    #[test]
    fn limits_json() {
        assert_eq!(RateLimits::from_json("{}").unwrap(), RateLimits::default());
        assert_eq!(
            RateLimits::from_json(r#"{"apiPerMinute": 5}"#)
                .unwrap()
                .api_per_minute,
            5
        );
        assert_eq!(
            RateLimits::from_json(r#"{"apiPerMin": 5}"#)
                .unwrap_err()
                .code(),
            "INVALID_JSON"
        );
        assert_eq!(Limiter::parse("x").unwrap_err().code(), "INVALID_PARAM");
    }
}
