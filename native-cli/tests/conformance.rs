//! The conformance scenarios (`tests/conformance/*.json`, format in its
//! README) run by the Rust runner's ops against a real redis-server and a
//! real 3-master Cluster. The TypeScript client runs the same files
//! (`tests/node/conformance.test.mjs`): a difference between them is a bug.

mod support;

use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use support::{RedisCluster, RedisServer};
use xbot_core::keys::KeyContext;
use xbot_redis::error::OpError;
use xbot_redis::ops::queue::{Finished, Outcome, PushEntry, Queue};
use xbot_redis::ops::{bandit, cache, dedup, lock, now_ms, ratelimit, stats};
use xbot_redis::redis::Redis;

fn scenarios() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "json").then(|| {
                let text = std::fs::read_to_string(&p).unwrap();
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    serde_json::from_str(&text).unwrap(),
                )
            })
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 5, "scenarios found in {}", dir.display());
    out
}

/// Replaces `$name`, `$prefix…`, `{$nowPlusMs}` and `{$thompson}`.
fn resolve(v: &Value, vars: &HashMap<String, Value>, prefix: &str) -> Value {
    match v {
        Value::String(s) if s.starts_with("$prefix") => {
            json!(format!("{prefix}{}", &s["$prefix".len()..]))
        }
        Value::String(s) if s.starts_with('$') => {
            vars.get(&s[1..]).cloned().unwrap_or_else(|| v.clone())
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, vars, prefix)).collect()),
        Value::Object(o) if o.contains_key("$nowPlusMs") => {
            json!(now_ms() + o["$nowPlusMs"].as_u64().unwrap())
        }
        Value::Object(o) if o.contains_key("$thompson") => {
            let t = &o["$thompson"];
            let arms: Vec<xbot_core::bandit::Arm> = t["arms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| xbot_core::bandit::Arm {
                    id: a[0].as_str().unwrap().into(),
                    alpha: a[1].as_f64().unwrap(),
                    beta: a[2].as_f64().unwrap(),
                })
                .collect();
            let s = xbot_core::bandit::thompson_select(&arms, t["seed"].as_u64().unwrap()).unwrap();
            json!({"id": s.id, "samples": s.samples})
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), resolve(x, vars, prefix)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Objects match on the listed keys (absent = null); arrays and scalars exactly.
fn matches(actual: &Value, expected: &Value, path: &str) {
    match expected {
        Value::Null => assert!(actual.is_null(), "{path}: expected null, got {actual}"),
        Value::Array(e) => {
            let a = actual
                .as_array()
                .unwrap_or_else(|| panic!("{path}: expected an array, got {actual}"));
            assert_eq!(a.len(), e.len(), "{path}: length of {actual}");
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                matches(x, y, &format!("{path}[{i}]"));
            }
        }
        Value::Object(e) => {
            assert!(
                actual.is_object(),
                "{path}: expected an object, got {actual}"
            );
            for (k, y) in e {
                matches(&actual[k], y, &format!("{path}.{k}"));
            }
        }
        Value::Number(n) => assert_eq!(
            actual.as_f64(),
            n.as_f64(),
            "{path}: {actual} != {expected}"
        ),
        _ => assert_eq!(actual, expected, "{path}"),
    }
}

fn s<'a>(step: &'a Value, k: &str) -> &'a str {
    step[k]
        .as_str()
        .unwrap_or_else(|| panic!("step needs `{k}`: {step}"))
}

fn queue<'a>(redis: &'a Redis, step: &Value) -> Result<Queue<'a>, OpError> {
    Ok(Queue::new(
        redis,
        xbot_core::queue::QueueName::parse(s(step, "queue"))?,
    ))
}

/// One step through the runner's ops: the result in the scenario's shape.
async fn run(redis: &Redis, step: &Value) -> Result<Value, OpError> {
    let lease = || step["leaseMs"].as_u64().unwrap_or(30_000);
    Ok(match s(step, "op") {
        "queue.push" => {
            let o = &step["options"];
            let priority = match o["priority"].as_f64() {
                Some(p) => xbot_core::queue::Priority::from_f64(p)?,
                None => xbot_core::queue::QueueName::parse(s(step, "queue"))?.default_priority(),
            };
            let not_before = match o["notBeforeMs"].as_f64() {
                Some(v) if v < 0.0 => {
                    return Err(xbot_core::Error::InvalidTimestamp {
                        value: v.to_string(),
                        reason: "negative".into(),
                    }
                    .into())
                }
                v => v.map(|v| v as u64),
            };
            let q = queue(redis, step)?;
            let kind = o["type"]
                .as_str()
                .unwrap_or(xbot_core::client::default_type(q.name));
            let p = q
                .push(
                    kind,
                    step["data"].clone(),
                    priority,
                    o["id"].as_str(),
                    not_before,
                )
                .await?;
            serde_json::to_value(p).unwrap()
        }
        "queue.pushMany" => {
            let q = queue(redis, step)?;
            let generated: Vec<Value> = (0..step["generate"].as_u64().unwrap_or(0))
                .map(|i| json!({"data": {"n": i}}))
                .collect();
            let entries = step["entries"].as_array().unwrap_or(&generated);
            let mut batch = Vec::new();
            for e in entries {
                let priority = match e["priority"].as_f64() {
                    Some(p) => xbot_core::queue::Priority::from_f64(p)?,
                    None => q.name.default_priority(),
                };
                batch.push(PushEntry {
                    kind: e["type"]
                        .as_str()
                        .unwrap_or(xbot_core::client::default_type(q.name))
                        .into(),
                    data: e["data"].clone(),
                    priority,
                    id: e["id"].as_str().map(String::from),
                    not_before_ms: e["notBeforeMs"].as_u64(),
                });
            }
            let mut results = Vec::new();
            for r in q.push_many(batch).await? {
                results.push(serde_json::to_value(r?).unwrap());
            }
            let mut counts = Map::new();
            for r in &results {
                let n = counts
                    .entry(r["status"].as_str().unwrap())
                    .or_insert(json!(0));
                *n = json!(n.as_u64().unwrap() + 1);
            }
            if step.get("expectCount").is_some() {
                json!({"results": results, "counts": counts})
            } else {
                Value::Array(results)
            }
        }
        "queue.reserve" => match queue(redis, step)?.reserve(lease()).await? {
            None => Value::Null,
            Some(r) => json!({"item": r.item, "token": r.token, "attempt": r.item.retry_count + 1}),
        },
        "queue.reserveMany" => {
            let q = queue(redis, step)?;
            let mut settle = Vec::new();
            for e in step["settle"].as_array().unwrap_or(&Vec::new()) {
                let outcome = match s(e, "outcome") {
                    "ack" => Outcome::Ack,
                    "release" => Outcome::Release,
                    "fail" => Outcome::Fail(s(e, "error").into()),
                    "dead" => Outcome::Bury(s(e, "error").into()),
                    other => panic!("unknown outcome {other}"),
                };
                settle.push(Finished {
                    id: s(e, "id").into(),
                    token: s(e, "token").into(),
                    attempts: e["attempt"].as_u64().unwrap() as u32 - 1,
                    outcome,
                });
            }
            let max = step["max"].as_f64().unwrap_or(1.0);
            let max = xbot_core::client::reserve_many_size(max, settle.len())?;
            let batch = q.reserve_many(lease(), max, &settle).await?;
            let settled: Vec<Value> = batch
                .settled
                .into_iter()
                .map(|r| match r {
                    Ok(None) => json!({"outcome": "done"}),
                    Ok(Some(f)) => serde_json::to_value(f).unwrap(),
                    Err(e) => {
                        json!({"outcome": "refused", "code": e.code(), "message": e.to_string()})
                    }
                })
                .collect();
            let leased: Vec<Value> = batch
                .leased
                .iter()
                .map(|r| json!({"item": r.item, "token": r.token, "attempt": r.item.retry_count + 1}))
                .collect();
            json!({"settled": settled, "leased": leased})
        }
        "queue.ack" => queue(redis, step)?
            .ack(s(step, "id"), s(step, "token"))
            .await
            .map(|()| Value::Null)?,
        "queue.release" => queue(redis, step)?
            .release(s(step, "id"), s(step, "token"))
            .await
            .map(|()| Value::Null)?,
        "queue.fail" => serde_json::to_value(
            queue(redis, step)?
                .fail(s(step, "id"), s(step, "token"), s(step, "message"))
                .await?,
        )
        .unwrap(),
        "queue.stats" => serde_json::to_value(queue(redis, step)?.stats().await?).unwrap(),
        "queue.dead" => json!(
            queue(redis, step)?
                .dead(step["limit"].as_u64().unwrap_or(50) as u32)
                .await?
        ),
        "queue.requeue" => json!(
            queue(redis, step)?
                .requeue(Some(s(step, "id")), 1_000)
                .await?
        ),
        "lock.acquire" => {
            match lock::acquire(redis, s(step, "name"), step["leaseMs"].as_u64()).await? {
                Some(l) => json!({"acquired": true, "token": l.token, "fence": l.fence}),
                None => json!({"acquired": false, "token": null, "fence": null}),
            }
        }
        "lock.release" => json!(lock::release(redis, s(step, "name"), s(step, "token")).await?),
        "lock.extend" => json!(
            lock::extend(
                redis,
                s(step, "name"),
                s(step, "token"),
                step["leaseMs"].as_u64()
            )
            .await?
        ),
        "dedup.mark" => serde_json::to_value(
            dedup::mark(redis, s(step, "text"), s(step, "holder"), "dedup.tweet").await?,
        )
        .unwrap(),
        "ratelimit.hit" => {
            let limiter = xbot_core::ratelimit::Limiter::parse(s(step, "limiter"))?;
            let limits = ratelimit::limits(redis).await?;
            serde_json::to_value(ratelimit::hit(redis, limiter, &limits).await?).unwrap()
        }
        "stats.incr" => json!(
            stats::incr(
                redis,
                s(step, "period"),
                s(step, "field"),
                step["by"].as_i64().unwrap(),
                now_ms()
            )
            .await?
        ),
        "bandit.update" => {
            let (alpha, beta) = bandit::update(
                redis,
                s(step, "kind"),
                s(step, "arm"),
                step["reward"].as_f64().unwrap(),
            )
            .await?;
            json!({"alpha": alpha, "beta": beta})
        }
        "bandit.select" => {
            let seed = xbot_core::bandit::seed_from_f64(step["seed"].as_f64().unwrap())?;
            let arms: Vec<String> = step["arms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            let (sel, _) = bandit::select(redis, s(step, "kind"), &arms, seed).await?;
            json!({"id": sel.id, "samples": sel.samples})
        }
        "recent.push" => json!(cache::recent_push(redis, &step["value"]).await?),
        "recent.list" => json!(cache::recent(redis, cache::RECENT_MAX).await?),
        "cache.tweet.set" => cache::tweet_set(redis, s(step, "tweetId"), &step["value"])
            .await
            .map(|()| Value::Null)?,
        "cache.tweet.get" => cache::tweet_get(redis, s(step, "tweetId"))
            .await?
            .unwrap_or(Value::Null),
        "raw.set" => {
            let params: xbot_core::keys::Params = step["params"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let key = xbot_core::keys::build_key(s(step, "family"), &params, &redis.ctx)?.key;
            redis.set(&key, s(step, "value"), None).await?;
            Value::Null
        }
        "sleep" => {
            tokio::time::sleep(std::time::Duration::from_millis(
                step["ms"].as_u64().unwrap(),
            ))
            .await;
            Value::Null
        }
        other => panic!("unknown op {other}"),
    })
}

async fn run_scenario(url: &str, file: &str, scenario: &Value) {
    let prefix = format!("c{}:", &xbot_redis::ops::random_hex()[..8]);
    let ctx = KeyContext::resolve(Some(&prefix), None).unwrap();
    let redis = Redis::connect(url, ctx).await.unwrap();
    let mut vars: HashMap<String, Value> = HashMap::new();
    for (i, raw) in scenario["steps"].as_array().unwrap().iter().enumerate() {
        let step = resolve(raw, &vars, &prefix);
        let wher = format!("{file} step {} ({})", i + 1, s(raw, "op"));
        match (
            run(&redis, &step).await,
            step.get("error").and_then(Value::as_str),
        ) {
            (Err(e), Some(code)) => assert_eq!(e.code(), code, "{wher}: {e}"),
            (Err(e), None) => panic!("{wher} failed: {} {e}", e.code()),
            (Ok(v), Some(code)) => panic!("{wher}: expected error {code}, got {v}"),
            (Ok(result), None) => {
                if let Some(expected) = step.get("expect") {
                    matches(&result, expected, &wher);
                }
                if let Some(expected) = step.get("expectCount") {
                    assert_eq!(&result["counts"], expected, "{wher}");
                }
                for (name, field) in step
                    .get("save")
                    .and_then(Value::as_object)
                    .unwrap_or(&Map::new())
                {
                    // A saved field may be a dotted path (`leased.0.token`).
                    let pointer = format!("/{}", field.as_str().unwrap().replace('.', "/"));
                    vars.insert(
                        name.clone(),
                        result.pointer(&pointer).cloned().unwrap_or(Value::Null),
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn every_scenario_on_a_redis_server() {
    let server = RedisServer::start();
    // Independent scenarios (own prefixes) run at once: the sleeps overlap.
    let url = server.url();
    let all = scenarios();
    let runs = all.iter().map(|(file, sc)| run_scenario(&url, file, sc));
    futures_util::future::join_all(runs).await;
}

#[tokio::test]
async fn every_scenario_on_a_cluster() {
    let cluster = RedisCluster::start();
    let url = cluster.url();
    let all = scenarios();
    let runs = all.iter().map(|(file, sc)| run_scenario(&url, file, sc));
    futures_util::future::join_all(runs).await;
}
