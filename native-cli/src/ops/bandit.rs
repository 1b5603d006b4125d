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
