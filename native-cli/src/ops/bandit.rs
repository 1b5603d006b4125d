//! Bandit posteriors in Redis: atomic updates, Thompson selection.

use super::effects;
use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use xbot_core::bandit::{self, Arm, Selection, PRIOR};
use xbot_core::effects::Effect;

/// What an arm is: a topic, a posting hour (00-23) or a tag.
fn keys(redis: &Redis, kind: &str, arm: &str) -> OpResult<(String, String)> {
    Ok(xbot_core::client::bandit_keys(kind, arm, &redis.ctx)?)
}

/// Applies `reward` in [0, 1]: α += r, β += 1 − r (from the Beta(1, 1) prior).
pub async fn update(redis: &Redis, kind: &str, arm: &str, reward: f64) -> OpResult<(f64, f64)> {
    bandit::update_posterior(PRIOR.0, PRIOR.1, reward)?; // validates the reward
    let (a, b) = keys(redis, kind, arm)?;
    let args = [reward.to_string(), PRIOR.0.to_string(), PRIOR.1.to_string()];
    let (alpha, beta): (f64, f64) = redis
        .script("bandit_update", &[a.clone(), b], &args)
        .await
        .map_err(|source| OpError::Redis { what: a, source })?;
    Ok((alpha, beta))
}

/// The same update as an exactly-once effect (see `ops::effects`).
pub fn effect(redis: &Redis, kind: &str, arm: &str, reward: f64) -> OpResult<Effect> {
    bandit::update_posterior(PRIOR.0, PRIOR.1, reward)?; // validates the reward
    let (alpha, beta) = keys(redis, kind, arm)?;
    Ok(Effect::Bandit {
        alpha,
        beta,
        reward,
        prior: PRIOR,
    })
}

/// Applies `reward` at most once per idempotency `id` (a retried call with the
/// same id changes nothing); returns the posterior after it and whether this
/// call applied it.
pub async fn update_once(
    redis: &Redis,
    kind: &str,
    arm: &str,
    reward: f64,
    id: &str,
) -> OpResult<(f64, f64, bool)> {
    let effect = effect(redis, kind, arm, reward)?;
    let applied = matches!(
        effects::apply_once(redis, &effects::caller_scope(id)?, &effect).await?,
        effects::Outcome::Applied(_)
    );
    let posterior = posteriors(redis, kind, &[arm.to_string()]).await?;
    Ok((posterior[0].alpha, posterior[0].beta, applied))
}

/// The posteriors of `arms` (the prior for arms never updated).
pub async fn posteriors(redis: &Redis, kind: &str, arms: &[String]) -> OpResult<Vec<Arm>> {
    let mut out = Vec::with_capacity(arms.len());
    let mut conn = redis.conn.clone();
    for arm in arms {
        let (a, b) = keys(redis, kind, arm)?;
        let (alpha, beta): (Option<f64>, Option<f64>) = redis::pipe()
            .get(&a)
            .get(&b)
            .query_async(&mut conn)
            .await
            .map_err(|source| OpError::Redis {
                what: a.clone(),
                source,
            })?;
        out.push(Arm {
            id: arm.clone(),
            alpha: alpha.unwrap_or(PRIOR.0),
            beta: beta.unwrap_or(PRIOR.1),
        });
    }
    Ok(out)
}

/// One Thompson-sampling choice among `arms` with their stored posteriors.
pub async fn select(
    redis: &Redis,
    kind: &str,
    arms: &[String],
    seed: u64,
) -> OpResult<(Selection, Vec<Arm>)> {
    let posteriors = posteriors(redis, kind, arms).await?;
    Ok((bandit::thompson_select(&posteriors, seed)?, posteriors))
}

/// One arm's posterior as `bandit import` reads it (a JSON Lines row).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Posterior {
    pub kind: String,
    pub arm: String,
    pub alpha: f64,
    pub beta: f64,
}

/// Parses posteriors as JSON Lines (blank lines skipped). Every line is
/// checked before anything is written: a bad line names its number and
/// nothing is imported.
pub fn parse_posteriors(
    text: &str,
    redis_ctx: &xbot_core::keys::KeyContext,
) -> OpResult<Vec<Posterior>> {
    let mut out: Vec<Posterior> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| {
            OpError::Input {
            what: format!("line {}", i + 1),
            reason: format!(
                "{reason} (expected {{\"kind\": \"topic|hour|tag\", \"arm\": \"...\", \"alpha\": >0, \"beta\": >0}}); nothing was imported"
            ),
        }
        };
        let p: Posterior = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        xbot_core::client::bandit_keys(&p.kind, &p.arm, redis_ctx)
            .map_err(|e| bad(e.to_string()))?;
        for (name, v) in [("alpha", p.alpha), ("beta", p.beta)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(format!("{name} must be a finite number > 0 (got {v})")));
            }
        }
        if out.iter().any(|q| q.kind == p.kind && q.arm == p.arm) {
            return Err(bad(format!("{} arm {:?} appears twice", p.kind, p.arm)));
        }
        out.push(p);
    }
    Ok(out)
}

/// Sets each arm's α and β together (one MULTI per arm: its two keys share a
/// hash tag), replacing what was stored.
pub async fn import(redis: &Redis, posteriors: &[Posterior]) -> OpResult<usize> {
    let mut conn = redis.conn.clone();
    for p in posteriors {
        let (a, b) = keys(redis, &p.kind, &p.arm)?;
        let () = redis::pipe()
            .atomic()
            .set(&a, p.alpha.to_string())
            .ignore()
            .set(&b, p.beta.to_string())
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|source| OpError::Redis {
                what: a.clone(),
                source,
            })?;
    }
    Ok(posteriors.len())
}
