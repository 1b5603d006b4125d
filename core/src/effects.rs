//! Side effects applied exactly once.
//!
//! A queue item's side effects (stats counters, bandit posteriors, and any
//! future handler's) live in other keys than the queue, and on a Cluster in
//! other hash slots, so no single script can apply them together with the
//! ack. Instead:
//!
//! 1. The effects are computed once, every key and value resolved (the time
//!    bucket of a counter, the reward of a metric), into a [`Plan`] whose
//!    effect ids derive from the item alone. The first lease holder stores it
//!    in the queue's meta hash (`queue_plan`, under the lease-token check);
//!    every later delivery reads that plan back instead of computing its own,
//!    so a redelivery applies the very same values even if the baseline
//!    changed meanwhile.
//! 2. Each effect runs as one `effect_*` script that touches its target and
//!    an *effect-marks* sorted set in the target's own hash slot
//!    ([`marks_key`]). The script applies the effect only when its effect id
//!    is not in the marks yet, and records it in the same atomic step. A
//!    crash between two effects leaves the done ones marked; the redelivery
//!    skips them and applies the rest.
//! 3. The item is acked only after every effect reported applied-or-skipped.
//!
//! A mark lives as long as its target (the stats hash's TTL) or
//! [`DEFAULT_MARK_RETENTION_S`] for targets that never expire (posteriors).
//! The same pieces serve one-off effects with a caller's idempotency id
//! (`xbot-redis stats incr --id`, `bandit update --id`).

use crate::error::{Error, Result};
use crate::keys::Prefix;
use serde::{Deserialize, Serialize};

/// How long an effect mark is kept when its target never expires: an item
/// redelivered later than this (a dead item requeued a week on) could apply
/// an effect a second time.
pub const DEFAULT_MARK_RETENTION_S: u64 = 7 * 86_400;

/// Longest accepted effect id (the lease token and the target key, or a
/// caller's idempotency id).
pub const MAX_EFFECT_ID_LEN: usize = 512;

/// One side effect, every key resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Effect {
    /// Add to counter fields of a stats hash (`stats:daily:<date>`,
    /// `stats:hourly:<hour>`) whose TTL is `ttl` seconds.
    Stats {
        key: String,
        ttl: u64,
        fields: Vec<(String, i64)>,
    },
    /// Apply a reward in [0, 1] to one arm's Beta posterior
    /// (alpha += r, beta += 1 - r, from `prior` when the arm is new).
    Bandit {
        alpha: String,
        beta: String,
        reward: f64,
        prior: (f64, f64),
    },
}

impl Effect {
    /// The script that applies this effect once.
    pub fn script(&self) -> &'static str {
        match self {
            Effect::Stats { .. } => "effect_stats",
            Effect::Bandit { .. } => "effect_bandit",
        }
    }

    /// The key the effect changes (the first of its keys).
    pub fn target(&self) -> &str {
        match self {
            Effect::Stats { key, .. } => key,
            Effect::Bandit { alpha, .. } => alpha,
        }
    }

    /// How long the mark of this effect must be kept, in seconds.
    pub fn mark_retention_s(&self) -> u64 {
        match self {
            Effect::Stats { ttl, .. } => (*ttl).max(1),
            Effect::Bandit { .. } => DEFAULT_MARK_RETENTION_S,
        }
    }

    /// Checks what the script would refuse, before any I/O.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, reason: String| Error::InvalidEffect {
            what: what.into(),
            reason,
        };
        let target = self.target();
        if hash_tag(target).is_none() && target.contains(['{', '}']) {
            return Err(bad(
                "target",
                format!(
                    "{target:?} has braces but no hash tag; its marks could not share its slot"
                ),
            ));
        }
        match self {
            Effect::Stats { key, ttl, fields } => {
                if key.is_empty() || *ttl == 0 {
                    return Err(bad("stats", "needs a key and a TTL of 1 s or more".into()));
                }
                if fields.is_empty() {
                    return Err(bad("stats", "no field to add to".into()));
                }
                if let Some((f, _)) = fields.iter().find(|(f, _)| f.is_empty()) {
                    return Err(bad("stats", format!("empty field name {f:?}")));
                }
                Ok(())
            }
            Effect::Bandit { reward, prior, .. } => {
                if !(0.0..=1.0).contains(reward) {
                    return Err(Error::InvalidReward {
                        value: crate::error::num(*reward),
                    });
                }
                if !(prior.0 > 0.0 && prior.1 > 0.0 && prior.0.is_finite() && prior.1.is_finite()) {
                    return Err(bad(
                        "bandit",
                        "the prior must be two positive numbers".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// KEYS for the effect's script: its targets, then the marks set.
    pub fn keys(&self, prefix: &Prefix) -> Vec<String> {
        let marks = marks_key(self.target(), prefix);
        match self {
            Effect::Stats { key, .. } => vec![key.clone(), marks],
            Effect::Bandit { alpha, beta, .. } => vec![alpha.clone(), beta.clone(), marks],
        }
    }

    /// ARGV for the effect's script: the effect id, the marks' retention in
    /// ms, then the effect's own arguments.
    pub fn args(&self, effect_id: &str) -> Vec<String> {
        let mut args = vec![
            effect_id.to_string(),
            (self.mark_retention_s() * 1000).to_string(),
        ];
        match self {
            Effect::Stats { ttl, fields, .. } => {
                args.push(ttl.to_string());
                for (f, by) in fields {
                    args.push(f.clone());
                    args.push(by.to_string());
                }
            }
            Effect::Bandit { reward, prior, .. } => {
                args.push(crate::error::num(*reward));
                args.push(crate::error::num(prior.0));
                args.push(crate::error::num(prior.1));
            }
        }
        args
    }
}

/// The effect-marks set of `target`: a sorted set in the same hash slot (a
/// Cluster must see one slot per script). A target with a hash tag lends its
/// tag (`bandit:topic:{ai}:alpha` → `fx:{ai}`); a target without one is
/// hashed whole, so the whole key becomes the tag
/// (`prod:stats:daily:2026-12-01` → `prod:fx:{prod:stats:daily:2026-12-01}`).
/// Members are effect ids (`<scope>|<target>`), scored by expiry time.
pub fn marks_key(target: &str, prefix: &Prefix) -> String {
    let tag = hash_tag(target).unwrap_or(target);
    format!("{}fx:{{{tag}}}", prefix.as_str())
}

/// Redis Cluster's hash tag rule: the text between the first `{` and the
/// first `}` after it, when that text is not empty.
pub fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')?;
    (close > 0).then(|| &key[open + 1..open + 1 + close])
}

/// Redis Cluster's slot of `key`: CRC16/XMODEM of its hash tag (or of the
/// whole key when it has none), mod 16384.
pub fn key_slot(key: &str) -> u16 {
    let bytes = hash_tag(key).unwrap_or(key).as_bytes();
    let mut crc: u16 = 0;
    for &b in bytes {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// The id of one effect of a plan: unique per (scope, target), so two
/// targets sharing a marks set (topic `ai` and tag `ai`) never collide.
pub fn effect_id(scope: &str, effect: &Effect) -> Result<String> {
    if scope.is_empty() || scope.contains('|') {
        return Err(Error::InvalidEffect {
            what: "effect id".into(),
            reason: format!("the scope {scope:?} must be non-empty and contain no '|'"),
        });
    }
    let id = format!("{scope}|{}", effect.target());
    if id.len() > MAX_EFFECT_ID_LEN {
        return Err(Error::InvalidEffect {
            what: "effect id".into(),
            reason: format!("longer than {MAX_EFFECT_ID_LEN} bytes"),
        });
    }
    Ok(id)
}

/// Every side effect of one item, fixed by its first lease holder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Makes the effect ids of this item unique and is a function of the
    /// item alone (the runner uses `<queue>:<id>@<createdAt>`): every
    /// delivery, even one that lost the stored plan in a failover, derives
    /// the same ids, while a new item under a reused id gets new ones.
    pub scope: String,
    pub effects: Vec<Effect>,
}

impl Plan {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plans serialize")
    }

    pub fn from_json(s: &str) -> Result<Plan> {
        let plan: Plan = serde_json::from_str(s).map_err(|e| Error::InvalidEffect {
            what: "stored plan".into(),
            reason: e.to_string(),
        })?;
        for e in &plan.effects {
            e.validate()?;
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix() -> Prefix {
        Prefix::parse("prod:").unwrap()
    }

    #[test]
    fn slot_function_matches_redis() {
        // Values from CLUSTER KEYSLOT on Redis 7.
        assert_eq!(key_slot("foo"), 12182);
        assert_eq!(
            key_slot("{user1000}.following"),
            key_slot("{user1000}.followers")
        );
        assert_eq!(key_slot("123456789"), 12739);
    }

    #[test]
    fn marks_share_the_target_key_slot() {
        for target in [
            "prod:stats:daily:2026-12-01",
            "prod:stats:hourly:2026-12-01T18",
            "prod:bandit:topic:{ai}:alpha",
            "prod:bandit:tag:{rust}:beta",
        ] {
            let m = marks_key(target, &prefix());
            assert_eq!(key_slot(&m), key_slot(target), "{target} -> {m}");
            assert!(m.starts_with("prod:fx:{"), "{m}");
        }
        assert_eq!(
            marks_key("prod:bandit:topic:{ai}:alpha", &prefix()),
            "prod:fx:{ai}"
        );
    }

    #[test]
    fn marks_keys_are_catalog_keys() {
        use crate::keys::{build_key, classify_key, KeyContext, Params};
        let ctx = KeyContext::resolve(Some("prod:"), None).unwrap();
        for target in ["prod:stats:daily:2026-12-01", "prod:bandit:hour:{09}:beta"] {
            let m = marks_key(target, &prefix());
            let c = classify_key(&m, Some(&prefix())).expect("classified");
            assert_eq!(c.family, "effects.marks", "{m}");
            let params: Params = c.params.clone();
            assert_eq!(build_key("effects.marks", &params, &ctx).unwrap().key, m);
        }
    }

    #[test]
    fn hash_tags_follow_the_cluster_rule() {
        assert_eq!(hash_tag("a{b}c"), Some("b"));
        assert_eq!(hash_tag("a{}c{d}"), None);
        assert_eq!(hash_tag("a{b"), None);
        assert_eq!(hash_tag("a}{b}"), Some("b"));
        assert_eq!(hash_tag("{{b}}"), Some("{b"));
    }

    #[test]
    fn plans_round_trip_and_validate() {
        let plan = Plan {
            scope: "tok".into(),
            effects: vec![
                Effect::Stats {
                    key: "prod:stats:daily:2026-12-01".into(),
                    ttl: 604_800,
                    fields: vec![("likes".into(), 3), ("tweets_measured".into(), 1)],
                },
                Effect::Bandit {
                    alpha: "prod:bandit:topic:{ai}:alpha".into(),
                    beta: "prod:bandit:topic:{ai}:beta".into(),
                    reward: 0.1 + 0.2,
                    prior: (1.0, 1.0),
                },
            ],
        };
        assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
        let bad = plan.to_json().replace("0.30000000000000004", "1.5");
        assert_eq!(Plan::from_json(&bad).unwrap_err().code(), "INVALID_REWARD");
        assert_eq!(Plan::from_json("{").unwrap_err().code(), "INVALID_EFFECT");
        let args = plan.effects[1].args("tok|k");
        assert_eq!(args[..3], ["tok|k", "604800000", "0.30000000000000004"]);
        assert_eq!(plan.effects[0].args("i")[1], "604800000");
        assert_eq!(
            effect_id("a|b", &plan.effects[0]).unwrap_err().code(),
            "INVALID_EFFECT"
        );
        let braces = Effect::Stats {
            key: "prod:x{}y".into(),
            ttl: 1,
            fields: vec![("a".into(), 1)],
        };
        assert_eq!(braces.validate().unwrap_err().code(), "INVALID_EFFECT");
    }
}
