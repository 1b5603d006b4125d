//! The dashboard's slower views, done in the background and cached in
//! memory: the bandits' arms (found by SCAN MATCH `bandit:*:alpha`, at most
//! once a minute) and the keyspace audit (run on request). A request never
//! waits for a walk of the keyspace; it gets what the last walk found.

use crate::error::OpResult;
use crate::ops::keyspace::{self, Audit};
use crate::redis::Redis;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use xbot_core::bandit::{self, Arm, PRIOR};
use xbot_core::keys::classify_key;

/// Arms per kind a summary shows at most (the best by posterior mean).
pub const MAX_ARMS: usize = 50;
/// Draws per arm behind P(best) and the intervals.
pub const DRAWS: usize = 4_000;
/// The background key audit's budget: a pause after every SCAN batch of
/// 500 keys, so a walk of a large keyspace yields Redis to the workers.
const AUDIT_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);
/// A new arm search at most this often.
const DISCOVER_EVERY_MS: u64 = 60_000;

#[derive(Default)]
pub struct Insight {
    /// Arm ids per kind, and when they were found.
    arms: Mutex<(u64, BTreeMap<String, Vec<String>>)>,
    audit: Mutex<AuditState>,
}

#[derive(Default)]
struct AuditState {
    running: bool,
    started_ms: Option<u64>,
    finished_ms: Option<u64>,
    result: Option<Result<Audit, String>>,
}

impl Insight {
    /// The arms' posteriors per kind with mean, 95% interval, P(best) and
    /// density; the arm search reruns when the last one is a minute old.
    pub async fn bandits(&self, redis: &Redis) -> OpResult<Value> {
        let now = crate::ops::now_ms();
        let stale = self.arms.lock().expect("insight lock").0 + DISCOVER_EVERY_MS <= now;
        if stale {
            let found = discover(redis).await?;
            *self.arms.lock().expect("insight lock") = (now, found);
        }
        let (found_at, arms) = self.arms.lock().expect("insight lock").clone();
        let mut kinds = serde_json::Map::new();
        for kind in ["topic", "hour", "tag"] {
            let ids = arms.get(kind).cloned().unwrap_or_default();
            let mut posteriors = crate::ops::bandit::posteriors(redis, kind, &ids).await?;
            posteriors.sort_by(|a, b| mean(b).total_cmp(&mean(a)).then_with(|| a.id.cmp(&b.id)));
            let total = posteriors.len();
            posteriors.truncate(MAX_ARMS);
            let summary = if posteriors.is_empty() {
                vec![]
            } else {
                bandit::summarize(&posteriors, DRAWS, 1)?
            };
            kinds.insert(kind.into(), json!({ "arms": summary, "total": total }));
        }
        let weights = crate::ops::model::weights(redis).await.ok().flatten();
        Ok(json!({
            "foundAtMs": found_at,
            "draws": DRAWS,
            "prior": { "alpha": PRIOR.0, "beta": PRIOR.1 },
            "kinds": kinds,
            "weights": weights,
        }))
    }

    /// Starts the keyspace audit in the background unless one is running;
    /// returns whether it started.
    pub fn start_audit(self: &std::sync::Arc<Self>, redis: Redis) -> bool {
        {
            let mut a = self.audit.lock().expect("insight lock");
            if a.running {
                return false;
            }
            *a = AuditState {
                running: true,
                started_ms: Some(crate::ops::now_ms()),
                ..AuditState::default()
            };
        }
        let me = self.clone();
        // Its own thread and runtime: the walk is long, and its future is
        // not `Send` (async closures), so it cannot run on the server's tasks.
        std::thread::spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|rt| {
                    rt.block_on(keyspace::audit_paced(&redis, AUDIT_PAUSE))
                        .map_err(|e| e.to_string())
                });
            let mut a = me.audit.lock().expect("insight lock");
            a.running = false;
            a.finished_ms = Some(crate::ops::now_ms());
            a.result = Some(result);
        });
        true
    }

    /// The audit's state: idle, running, or done with its report (or error).
    pub fn audit(&self) -> Value {
        let a = self.audit.lock().expect("insight lock");
        let status = match (&a.result, a.running) {
            (_, true) => "running",
            (None, false) => "idle",
            (Some(Ok(_)), false) => "done",
            (Some(Err(_)), false) => "failed",
        };
        json!({
            "status": status,
            "startedAtMs": a.started_ms,
            "finishedAtMs": a.finished_ms,
            "report": a.result.as_ref().and_then(|r| r.as_ref().ok()),
            "error": a.result.as_ref().and_then(|r| r.as_ref().err()),
        })
    }
}

fn mean(a: &Arm) -> f64 {
    a.alpha / (a.alpha + a.beta)
}

/// Every arm with a stored α, per kind: one SCAN of `<prefix>bandit:*:alpha`
/// on every node.
async fn discover(redis: &Redis) -> OpResult<BTreeMap<String, Vec<String>>> {
    let prefix = redis.ctx.prefix.clone();
    let pattern = format!("{}bandit:*:alpha", keyspace::glob_escape(prefix.as_str()));
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in redis.nodes().await? {
        let mut cursor = 0u64;
        loop {
            let (next, keys) = redis.node_scan(&node, cursor, &pattern, 1_000).await?;
            for k in keys {
                if let Some(c) = classify_key(&k, Some(&prefix)) {
                    // Family bandit.<kind>.alpha has the parameter <kind>.
                    let kind = c
                        .family
                        .trim_start_matches("bandit.")
                        .trim_end_matches(".alpha");
                    if let Some(arm) = c.params.get(kind) {
                        found.entry(kind.to_string()).or_default().push(arm.clone());
                    }
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    for arms in found.values_mut() {
        arms.sort();
        arms.dedup();
    }
    Ok(found)
}
