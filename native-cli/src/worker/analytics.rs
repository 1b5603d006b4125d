//! `analytics_processing` items: tweet metrics feed the daily/hourly stats and
//! the bandit posteriors (reward rule: `xbot_core::bandit::reward`).
//!
//! Item data: `{"tweetId", "likes", "retweets", "replies", "impressions",
//! "topic"?, "hour"? ("00"-"23"), "tags"?: [..]}`.

use super::metrics::Metrics;
use super::sink::SinkError;
use crate::ops::{bandit, now_ms, stats};
use crate::redis::Redis;
use serde_json::Value;
use xbot_core::bandit::{reward, Engagement};
use xbot_core::keys::{build_key, Params};

/// Default engagement-rate baseline when `learn:performance_baseline` has none.
pub const DEFAULT_BASELINE_RATE: f64 = 0.02;

fn permanent(e: impl std::fmt::Display) -> SinkError {
    SinkError::Permanent(e.to_string())
}

/// A Redis error on keys of `family`: counted, then retried.
fn transient<'a>(
    metrics: &'a Metrics,
    family: &'static str,
) -> impl Fn(crate::error::OpError) -> SinkError + 'a {
    move |e| {
        if e.is_usage() {
            return permanent(e);
        }
        metrics.error(family);
        SinkError::Transient(e.to_string())
    }
}

/// The baseline engagement rate (`{"engagementRate": 0.02}` in `learn:performance_baseline`).
async fn baseline(redis: &Redis, metrics: &Metrics) -> Result<f64, SinkError> {
    let key = build_key("learn.performance_baseline", &Params::new(), &redis.ctx)
        .map_err(permanent)?
        .key;
    let raw: Option<String> = redis
        .get(&key)
        .await
        .map_err(transient(metrics, "learn.performance_baseline"))?;
    Ok(raw
        .and_then(|r| serde_json::from_str::<Value>(&r).ok())
        .and_then(|v| v["engagementRate"].as_f64())
        .filter(|r| r.is_finite() && *r > 0.0)
        .unwrap_or(DEFAULT_BASELINE_RATE))
}

/// Applies one metrics item; returns the reward it scored.
pub async fn apply(redis: &Redis, data: &Value, metrics: &Metrics) -> Result<f64, SinkError> {
    let m: Engagement = serde_json::from_value(data.clone())
        .map_err(|e| permanent(format!("malformed metrics: {e}")))?;
    let r = reward(&m, baseline(redis, metrics).await?).map_err(permanent)?;
    let now = now_ms();
    for (field, v) in [
        ("likes", m.likes),
        ("retweets", m.retweets),
        ("replies", m.replies),
        ("impressions", m.impressions),
    ] {
        for period in ["daily", "hourly"] {
            stats::incr(redis, period, field, v as i64, now)
                .await
                .map_err(transient(metrics, stats_family(period)))?;
        }
    }
    for period in ["daily", "hourly"] {
        stats::incr(redis, period, "tweets_measured", 1, now)
            .await
            .map_err(transient(metrics, stats_family(period)))?;
    }
    let arms = [("topic", data.get("topic")), ("hour", data.get("hour"))];
    for (kind, arm) in arms {
        if let Some(arm) = arm.and_then(Value::as_str) {
            bandit::update(redis, kind, arm, r)
                .await
                .map_err(transient(metrics, bandit_family(kind)))?;
        }
    }
    for tag in data
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        bandit::update(redis, "tag", tag, r)
            .await
            .map_err(transient(metrics, "bandit.tag.alpha"))?;
    }
    Ok(r)
}

fn stats_family(period: &str) -> &'static str {
    if period == "daily" {
        "stats.daily"
    } else {
        "stats.hourly"
    }
}

/// A bandit update touches the alpha and beta keys of one arm (one hash slot);
/// errors are counted under the alpha family.
fn bandit_family(kind: &str) -> &'static str {
    match kind {
        "topic" => "bandit.topic.alpha",
        "hour" => "bandit.hour.alpha",
        _ => "bandit.tag.alpha",
    }
}
