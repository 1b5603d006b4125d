//! `analytics_processing` items: tweet metrics feed the daily/hourly stats and
//! the bandit posteriors (reward rule: `xbot_core::bandit::reward`).
//!
//! Item data: `{"tweetId", "likes", "retweets", "replies", "impressions",
//! "topic"?, "hour"? ("00"-"23"), "tags"?: [..]}`.

use super::metrics::Metrics;
use super::sink::SinkError;
use crate::ops::{bandit, stats};
use crate::redis::Redis;
use serde_json::Value;
use xbot_core::bandit::{reward, Engagement};
use xbot_core::effects::{Effect, Plan};
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

/// The side effects of one metrics item, every key and value resolved: the
/// daily and hourly counters of the buckets containing `at_ms` (the item's
/// `createdAt`, so every delivery picks the same buckets; one effect per
/// hash), then one posterior update per arm with the reward against the
/// current baseline. A redelivered item reuses the plan its first delivery
/// stored, so the rewards are computed once per item too.
pub async fn plan(
    redis: &Redis,
    data: &Value,
    scope: &str,
    at_ms: u64,
    metrics: &Metrics,
) -> Result<Plan, SinkError> {
    let m: Engagement = serde_json::from_value(data.clone())
        .map_err(|e| permanent(format!("malformed metrics: {e}")))?;
    let counts = [
        ("likes", m.likes),
        ("retweets", m.retweets),
        ("replies", m.replies),
        ("impressions", m.impressions),
    ];
    for (name, v) in counts {
        if !(v >= 0.0 && v.fract() == 0.0 && v < 9.0e15) {
            return Err(permanent(format!(
                "malformed metrics: `{name}` must be a whole number >= 0, got {v}"
            )));
        }
    }
    let r = reward(&m, baseline(redis, metrics).await?).map_err(permanent)?;
    let mut fields: Vec<(String, i64)> = counts
        .iter()
        .map(|(name, v)| (name.to_string(), *v as i64))
        .collect();
    fields.push(("tweets_measured".into(), 1));
    let mut effects = Vec::new();
    for period in ["daily", "hourly"] {
        let k = stats::key(redis, period, at_ms).map_err(permanent)?;
        effects.push(Effect::Stats {
            key: k.key,
            ttl: k.ttl_seconds.unwrap_or(86_400),
            fields: fields.clone(),
        });
    }
    let mut arms: Vec<(&str, &str)> = Vec::new();
    for kind in ["topic", "hour"] {
        if let Some(arm) = data.get(kind).and_then(Value::as_str) {
            arms.push((kind, arm));
        }
    }
    for tag in data
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        // The same tag twice in one item counts once.
        if !arms.contains(&("tag", tag)) {
            arms.push(("tag", tag));
        }
    }
    for (kind, arm) in arms {
        effects.push(bandit::effect(redis, kind, arm, r).map_err(permanent)?);
    }
    Ok(Plan {
        scope: scope.to_string(),
        effects,
    })
}

/// The key family an effect's errors are counted under (`stats.daily`,
/// `bandit.topic.alpha`, …): the catalog's classification of its target.
pub fn effect_family(effect: &Effect, prefix: &xbot_core::keys::Prefix) -> &'static str {
    xbot_core::keys::classify_key(effect.target(), Some(prefix)).map_or("effects", |c| c.family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effect_errors_are_counted_under_the_targets_family() {
        let prefix = xbot_core::keys::Prefix::parse("prod:").unwrap();
        let stats = |key: &str| Effect::Stats {
            key: key.into(),
            ttl: 60,
            fields: vec![("likes".into(), 1)],
        };
        let arm = |kind: &str| Effect::Bandit {
            alpha: format!("prod:bandit:{kind}:{{x}}:alpha"),
            beta: format!("prod:bandit:{kind}:{{x}}:beta"),
            reward: 0.5,
            prior: (1.0, 1.0),
        };
        assert_eq!(
            effect_family(&stats("prod:stats:daily:2026-12-01"), &prefix),
            "stats.daily"
        );
        assert_eq!(
            effect_family(&stats("prod:stats:hourly:2026-12-01T18"), &prefix),
            "stats.hourly"
        );
        assert_eq!(effect_family(&arm("topic"), &prefix), "bandit.topic.alpha");
        assert_eq!(effect_family(&arm("tag"), &prefix), "bandit.tag.alpha");
        assert_eq!(effect_family(&stats("other:key"), &prefix), "effects");
    }
}
