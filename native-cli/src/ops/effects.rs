//! Exactly-once side effects (see `xbot_core::effects` for the design): one
//! effect = one `effect_*` script on the target's hash slot that applies only
//! when its effect id is new. Queue handlers fix their effects in a plan
//! first (`Queue::plan`); the CLI passes a caller's idempotency id.

use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use redis::Value;
use xbot_core::effects::{effect_id, Effect, Plan};

/// What one effect call did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Applied now; the script's result (new counter values, `[alpha, beta]`).
    Applied(Value),
    /// This effect id had been applied before: nothing changed.
    AlreadyApplied,
}

/// Applies `effect` unless `scope` already applied it (at most once per
/// scope and target, atomically with its mark). Safe to retry after any
/// error, including a timeout whose outcome is unknown.
pub async fn apply_once(redis: &Redis, scope: &str, effect: &Effect) -> OpResult<Outcome> {
    effect.validate()?;
    let id = effect_id(scope, effect)?;
    let keys = effect.keys(&redis.ctx.prefix);
    let reply: Value = redis
        .script_durable(effect.script(), &keys, &effect.args(&id))
        .await?;
    let outcome = match &reply {
        Value::Array(parts) => match parts.first() {
            Some(Value::Int(1)) => Outcome::Applied(parts.get(1).cloned().unwrap_or(Value::Nil)),
            Some(Value::Int(0)) => Outcome::AlreadyApplied,
            _ => return Err(protocol(effect, &reply)),
        },
        _ => return Err(protocol(effect, &reply)),
    };
    Ok(outcome)
}

fn protocol(effect: &Effect, reply: &Value) -> OpError {
    OpError::Protocol {
        script: effect.script(),
        detail: format!("{reply:?}"),
    }
}

/// Applies every effect of `plan` in order, each at most once. Stops at the
/// first error (the caller retries; the done ones are skipped next time);
/// `keep_going` is asked before each effect, so a worker that learns its
/// lease is lost stops early. Returns how many were applied now and how many
/// had been applied before.
pub async fn apply_plan(
    redis: &Redis,
    plan: &Plan,
    keep_going: impl Fn() -> bool,
) -> OpResult<(usize, usize)> {
    let (mut applied, mut skipped) = (0, 0);
    for effect in &plan.effects {
        if !keep_going() {
            break;
        }
        match apply_once(redis, &plan.scope, effect).await? {
            Outcome::Applied(_) => applied += 1,
            Outcome::AlreadyApplied => skipped += 1,
        }
    }
    Ok((applied, skipped))
}

/// The scope of a caller's idempotency id (`--id` of `stats incr` and
/// `bandit update`): 1-200 characters, no `|`, no whitespace or control
/// characters. Checked before any I/O.
pub fn caller_scope(id: &str) -> OpResult<String> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && !id.contains('|')
        && !id.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(xbot_core::Error::InvalidEffect {
            what: "idempotency id".into(),
            reason: format!(
                "{id:?} must be 1-200 characters without '|', whitespace or control characters"
            ),
        }
        .into());
    }
    Ok(format!("cli:{id}"))
}
