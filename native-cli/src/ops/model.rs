//! Model and learning-loop state: logistic weights (validated JSON), accuracy,
//! training and ingest timestamps, the performance baseline.

use super::now_ms;
use crate::error::OpResult;
use crate::redis::Redis;
use xbot_core::keys::{build_key, Params};
use xbot_core::model::LogisticModel;

fn key(redis: &Redis, family: &str) -> OpResult<String> {
    Ok(build_key(family, &Params::new(), &redis.ctx)?.key)
}

/// The stored weights (`model:weights:v1`), or `None` before the first training.
pub async fn weights(redis: &Redis) -> OpResult<Option<LogisticModel>> {
    let k = key(redis, "model.weights")?;
    match redis.get::<String>(&k).await? {
        None => Ok(None),
        Some(raw) => {
            let m: LogisticModel =
                serde_json::from_str(&raw).map_err(|e| xbot_core::Error::InvalidJson {
                    what: "model:weights:v1",
                    reason: e.to_string(),
                })?;
            m.validate()?;
            Ok(Some(m))
        }
    }
}

/// Stores validated weights and stamps `model:training:last_update`.
pub async fn save_weights(redis: &Redis, model: &LogisticModel) -> OpResult<()> {
    model.validate()?;
    redis
        .set(
            &key(redis, "model.weights")?,
            &serde_json::to_string(model).expect("models serialize"),
            None,
        )
        .await?;
    let stamp = xbot_core::time::iso_string(now_ms() as f64)?;
    redis
        .set(&key(redis, "model.training.last_update")?, &stamp, None)
        .await
}

/// Records the model's accuracy (a fraction in [0, 1]).
pub async fn save_accuracy(redis: &Redis, accuracy: f64) -> OpResult<()> {
    if !(0.0..=1.0).contains(&accuracy) {
        return Err(xbot_core::Error::InvalidReward {
            value: accuracy.to_string(),
        }
        .into());
    }
    redis
        .set(
            &key(redis, "model.performance.accuracy")?,
            &accuracy.to_string(),
            None,
        )
        .await
}

/// Stamps `learn:last_ingest` with the current time; returns the ISO stamp.
pub async fn mark_ingest(redis: &Redis) -> OpResult<String> {
    let stamp = xbot_core::time::iso_string(now_ms() as f64)?;
    redis
        .set(&key(redis, "learn.last_ingest")?, &stamp, None)
        .await?;
    Ok(stamp)
}

/// Stores the performance baseline (JSON).
pub async fn save_baseline(redis: &Redis, baseline: &serde_json::Value) -> OpResult<()> {
    redis
        .set(
            &key(redis, "learn.performance_baseline")?,
            &baseline.to_string(),
            None,
        )
        .await
}
