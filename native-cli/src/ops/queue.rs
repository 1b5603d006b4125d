//! Queue operations: push, reserve, ack, fail, extend, reap, requeue, stats,
//! dead-letter listing, effect plans. At-least-once delivery: a reserved item
//! is leased, and an expired lease hands the item back (counted as a stall,
//! not a failed attempt; dead after `MAX_STALLS` stalls).

use super::{lease_token, new_item_id, now_ms};
use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use redis::Value;
use serde::Serialize;
use serde_json::json;
use xbot_core::client::{prepare_push, PushRequest};
use xbot_core::effects::Plan;
use xbot_core::keys::queue_keys;
use xbot_core::queue::{retry_delay_ms, Priority, QueueItem, QueueName};

pub use xbot_core::client::DEFAULT_LEASE_MS;
use xbot_core::client::{PROMOTE_PER_CALL, PUSH_MANY_PER_CALL};

/// One queue's keys on one connection.
pub struct Queue<'a> {
    redis: &'a Redis,
    pub name: QueueName,
    keys: [String; 7],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pushed {
    pub id: String,
    /// `added`, `scheduled` (not before `dueMs`) or `exists` (same id already queued: nothing changed).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_ms: Option<u64>,
}

/// One item of [`Queue::push_many`].
#[derive(Debug, Clone)]
pub struct PushEntry {
    pub kind: String,
    pub data: serde_json::Value,
    pub priority: Priority,
    /// Default: a new time-ordered id.
    pub id: Option<String>,
    pub not_before_ms: Option<u64>,
}

/// A reserved item: the bot's item with the current `retryCount`, plus the lease.
#[derive(Debug)]
pub struct Reserved {
    pub item: QueueItem,
    pub token: String,
    pub lease_deadline_ms: u64,
}

impl Reserved {
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.item).expect("items serialize");
        v["token"] = json!(self.token);
        v["leaseDeadlineMs"] = json!(self.lease_deadline_ms);
        v
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failed {
    /// `retry` or `dead`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<u64>,
    pub attempts: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub queue: &'static str,
    pub ready: u64,
    pub in_flight: u64,
    pub delayed: u64,
    pub dead: u64,
    /// Age of the oldest ready item, or `null` when none is ready.
    pub oldest_age_ms: Option<u64>,
}

/// What a consumer did with a leased item; settled by its next
/// [`Queue::reserve_many`] call (one script call for many items).
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Done: the item is removed.
    Ack,
    /// Not processed (shutdown): ready again, no attempt counted.
    Release,
    /// A failed attempt: retried after the queue's backoff, or dead-lettered
    /// after its last attempt.
    Fail(String),
    /// Can never succeed: dead-lettered now with this reason.
    Bury(String),
}

/// A leased item the consumer is done with.
#[derive(Debug, Clone)]
pub struct Finished {
    pub id: String,
    pub token: String,
    /// Failed attempts before this one (the reserved item's `retryCount`):
    /// the retry delay is computed from it, no read needed.
    pub attempts: u32,
    pub outcome: Outcome,
}

impl Finished {
    pub fn new(r: &Reserved, outcome: Outcome) -> Finished {
        Finished {
            id: r.item.id.clone(),
            token: r.token.clone(),
            attempts: r.item.retry_count,
            outcome,
        }
    }
}

/// One [`Queue::reserve_many`] call's result.
#[derive(Debug, Default)]
pub struct Batch {
    /// One per finished item, in order: `Ok(None)` acked or released,
    /// `Ok(Some(failed))` retried or dead, `Err` refused (`NotInFlight` /
    /// `NotOwner`: the lease was lost; nothing changed for that item).
    pub settled: Vec<OpResult<Option<Failed>>>,
    /// The leased items, best first.
    pub leased: Vec<Reserved>,
}

/// What one `queue_reserve` call gave (short-lived, so its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Item(Reserved),
    Empty,
    /// An invalid item was dead-lettered; try again.
    Buried,
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

/// A failed attempt's reply (queue_fail's, or one settled by
/// queue_reserve_many): `{"retry", due ms, attempts}` or `{"dead", ms, attempts}`.
fn failed(parts: &[Value]) -> Option<Failed> {
    let (outcome, at, attempts) = (
        parts.first().and_then(text),
        parts.get(1).and_then(int)?,
        parts.get(2).and_then(int)? as u64,
    );
    match outcome.as_deref()? {
        "retry" => Some(Failed {
            outcome: "retry",
            retry_at: Some(at as u64),
            attempts,
        }),
        "dead" => Some(Failed {
            outcome: "dead",
            retry_at: None,
            attempts,
        }),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

impl<'a> Queue<'a> {
    pub fn new(redis: &'a Redis, name: QueueName) -> Self {
        Queue {
            redis,
            name,
            keys: queue_keys(name, &redis.ctx),
        }
    }

    /// Runs a queue script; a WRONGTYPE error is turned into one that names the key.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &'static str,
        args: &[String],
    ) -> OpResult<T> {
        let reply = self.redis.script(script, &self.keys, args).await;
        self.named(script, reply).await
    }

    /// As `run`, for a write that must survive a failover (durable mode:
    /// returns once the replicas have it; see `Redis::script_durable`).
    async fn run_durable<T: redis::FromRedisValue>(
        &self,
        script: &'static str,
        args: &[String],
    ) -> OpResult<T> {
        match self.redis.script_durable(script, &self.keys, args).await {
            Err(OpError::Redis { source, .. }) => self.named(script, Err(source)).await,
            other => other,
        }
    }

    /// Turns a script's error into one that names the queue (or the key of the wrong type).
    async fn named<T>(
        &self,
        script: &'static str,
        reply: Result<T, redis::RedisError>,
    ) -> OpResult<T> {
        match reply {
            Ok(v) => Ok(v),
            Err(e) if e.code() == Some("WRONGTYPE") => {
                Err(self.wrong_type().await.unwrap_or(OpError::Redis {
                    what: format!("{script} on queue {}", self.name.as_str()),
                    source: e,
                }))
            }
            Err(e) => Err(OpError::Redis {
                what: format!("{script} on queue {}", self.name.as_str()),
                source: e,
            }),
        }
    }

    /// Finds which of the queue's keys has the wrong type.
    async fn wrong_type(&self) -> Option<OpError> {
        let expected = ["zset", "hash", "hash", "zset", "zset", "zset", "string"];
        let mut conn = self.redis.conn.clone();
        for (key, want) in self.keys.iter().zip(expected) {
            let found: String = redis::cmd("TYPE")
                .arg(key)
                .query_async(&mut conn)
                .await
                .ok()?;
            if found != "none" && found != want {
                return Some(OpError::WrongType {
                    key: key.clone(),
                    found,
                    expected: want.into(),
                });
            }
        }
        None
    }

    /// Adds an item. Without `id`, a unique time-ordered id is generated; with
    /// one, pushing the same id again is a no-op (`status: "exists"`).
    pub async fn push(
        &self,
        kind: &str,
        data: serde_json::Value,
        priority: Priority,
        id: Option<&str>,
        not_before_ms: Option<u64>,
    ) -> OpResult<Pushed> {
        let entry = PushEntry {
            kind: kind.to_string(),
            data,
            priority,
            id: id.map(str::to_string),
            not_before_ms,
        };
        let [id, item, priority, not_before] = self.prepare(entry, now_ms())?;
        let capacity = self.redis.ctx.profile().queue_capacity;
        let args = [id.clone(), item, priority, capacity.to_string(), not_before];
        let reply: Vec<Value> = self.run_durable("queue_push", &args).await?;
        self.pushed(id, &reply, "queue_push")
    }

    /// Adds many items, up to 100 per script call (`queue_push_many`); one
    /// result per entry, in order. Every entry is validated before anything is
    /// sent. A full queue fails the entries past its capacity (`QueueFull`)
    /// after adding the ones before them.
    pub async fn push_many(&self, entries: Vec<PushEntry>) -> OpResult<Vec<OpResult<Pushed>>> {
        let now = now_ms();
        let prepared = entries
            .into_iter()
            .map(|e| self.prepare(e, now))
            .collect::<OpResult<Vec<_>>>()?;
        let capacity = self.redis.ctx.profile().queue_capacity.to_string();
        let mut out = Vec::with_capacity(prepared.len());
        for chunk in prepared.chunks(PUSH_MANY_PER_CALL) {
            let mut args = vec![capacity.clone()];
            for [id, item, priority, not_before] in chunk {
                args.extend([
                    id.clone(),
                    item.clone(),
                    priority.clone(),
                    not_before.clone(),
                ]);
            }
            let replies: Vec<Vec<Value>> = self.run_durable("queue_push_many", &args).await?;
            if replies.len() != chunk.len() {
                return Err(OpError::Protocol {
                    script: "queue_push_many",
                    detail: format!("{} replies for {} items", replies.len(), chunk.len()),
                });
            }
            for ([id, ..], reply) in chunk.iter().zip(replies) {
                out.push(self.pushed(id.clone(), &reply, "queue_push_many"));
            }
        }
        Ok(out)
    }

    /// A validated entry as the push scripts take it: id, item JSON, priority, not-before.
    fn prepare(&self, e: PushEntry, now: u64) -> OpResult<[String; 4]> {
        let id = e.id.unwrap_or_else(|| new_item_id(now));
        let req = PushRequest {
            id: &id,
            kind: Some(&e.kind),
            priority: Some(f64::from(e.priority.get())),
            not_before_ms: e.not_before_ms.map(|v| v as f64),
        };
        let p = prepare_push(self.name, e.data, &req, now as f64)?;
        Ok([
            p.id,
            p.item,
            p.priority.to_string(),
            p.not_before_ms.to_string(),
        ])
    }

    /// Reads one push reply: `{1, score}`, `{1, 0, due}`, `{0, "exists"}`, `{-1, "full"}`.
    fn pushed(&self, id: String, reply: &[Value], script: &'static str) -> OpResult<Pushed> {
        match (reply.first().and_then(int), reply.get(1), reply.get(2)) {
            (Some(1), Some(score), None) => Ok(Pushed {
                id,
                status: "added",
                score: int(score).map(|s| s as u64),
                due_ms: None,
            }),
            (Some(1), Some(_), Some(due)) => Ok(Pushed {
                id,
                status: "scheduled",
                score: None,
                due_ms: int(due).map(|d| d as u64),
            }),
            (Some(0), _, _) => Ok(Pushed {
                id,
                status: "exists",
                score: None,
                due_ms: None,
            }),
            (Some(-1), _, _) => Err(OpError::QueueFull {
                queue: self.name.as_str().into(),
                capacity: self.redis.ctx.profile().queue_capacity,
            }),
            _ => Err(OpError::Protocol {
                script,
                detail: format!("{reply:?}"),
            }),
        }
    }

    /// Leases the best ready item for `lease_ms`, or `None` when the queue is
    /// empty. An item that fails validation is dead-lettered with the reason
    /// and the next one is tried.
    pub async fn reserve(&self, lease_ms: u64) -> OpResult<Option<Reserved>> {
        self.reserve_inner(lease_ms, None).await
    }

    /// Acks `id` (leased under `token`) and reserves the next item, in one
    /// round trip. A refused ack (lease lost) is `NotInFlight`/`NotOwner`, and
    /// then nothing was reserved either.
    pub async fn ack_and_reserve(
        &self,
        id: &str,
        token: &str,
        lease_ms: u64,
    ) -> OpResult<Option<Reserved>> {
        self.reserve_inner(lease_ms, Some((id, token))).await
    }

    async fn reserve_inner(
        &self,
        lease_ms: u64,
        mut ack: Option<(&str, &str)>,
    ) -> OpResult<Option<Reserved>> {
        let lease_ms = xbot_core::client::lease_ms(lease_ms as f64)?;
        for _ in 0..16 {
            let token = lease_token();
            let mut args = vec![
                lease_ms.to_string(),
                token.clone(),
                PROMOTE_PER_CALL.to_string(),
            ];
            let acking = ack.take();
            if let Some((id, ack_token)) = acking {
                args.extend([id.to_string(), ack_token.to_string()]);
            }
            let reply = self.run("queue_reserve", &args).await;
            if let (Some((id, _)), Err(OpError::Redis { source, .. })) = (acking, &reply) {
                // The script refuses a lost lease before writing anything.
                let msg = source.to_string();
                if msg.contains("ack refused: not in flight") {
                    return Err(self.owner_error(id, 0));
                }
                if msg.contains("ack refused: owned by another token") {
                    return Err(self.owner_error(id, -1));
                }
            }
            match self.parse_reserved(reply?, token).await? {
                Parsed::Item(r) => return Ok(Some(r)),
                Parsed::Empty => return Ok(None),
                Parsed::Buried => continue,
            }
        }
        Ok(None)
    }

    /// Settles `finished` (ack, fail, release, bury: each on its own, a lost
    /// lease refuses only that item), then leases up to `max` of the best
    /// ready items, each under its own token and deadline, in one script call.
    /// At most [`RESERVE_MANY_PER_CALL`](xbot_core::client::RESERVE_MANY_PER_CALL) of each. An item that fails
    /// validation is dead-lettered with the reason and left out of the batch.
    pub async fn reserve_many(
        &self,
        lease_ms: u64,
        max: usize,
        finished: &[Finished],
    ) -> OpResult<Batch> {
        let lease_ms = xbot_core::client::lease_ms(lease_ms as f64)?;
        let max = xbot_core::client::reserve_many_size(max as f64, finished.len())?;
        let batch_token = lease_token();
        let mut args = Vec::with_capacity(4 + 4 * finished.len());
        args.extend([
            lease_ms.to_string(),
            batch_token,
            PROMOTE_PER_CALL.to_string(),
            max.to_string(),
        ]);
        for f in finished {
            let (outcome, message) = match &f.outcome {
                Outcome::Ack => ("ack".to_string(), String::new()),
                Outcome::Release => ("release".to_string(), String::new()),
                Outcome::Bury(reason) => ("-1".to_string(), reason.clone()),
                Outcome::Fail(error) => {
                    let attempt = f64::from(f.attempts) + 1.0;
                    let delay = retry_delay_ms(self.name.as_str(), attempt, Some(&f.id))?;
                    (delay.map_or(-1, |d| d as i64).to_string(), error.clone())
                }
            };
            args.extend([f.id.clone(), f.token.clone(), outcome, message]);
        }
        let reply: Vec<Value> = self.run("queue_reserve_many", &args).await?;
        let protocol = |detail: String| OpError::Protocol {
            script: "queue_reserve_many",
            detail,
        };
        let (Some(Value::Array(settled)), Some(Value::Array(leased))) =
            (reply.first(), reply.get(1))
        else {
            return Err(protocol(format!("{reply:?}")));
        };
        if settled.len() != finished.len() || leased.len() % 5 != 0 {
            return Err(protocol(format!(
                "{} replies for {} finished items, {} leased values",
                settled.len(),
                finished.len(),
                leased.len()
            )));
        }
        let mut out = Batch::default();
        for (f, r) in finished.iter().zip(settled) {
            let Value::Array(parts) = r else {
                return Err(protocol(format!("{r:?}")));
            };
            let settled = match parts.first() {
                Some(Value::Int(1)) => Ok(None),
                Some(Value::Int(code)) => Err(self.owner_error(&f.id, *code)),
                _ => Ok(Some(
                    failed(parts).ok_or_else(|| protocol(format!("{parts:?}")))?,
                )),
            };
            out.settled.push(settled);
        }
        for group in leased.chunks(5) {
            let token = group.get(2).and_then(text).unwrap_or_default();
            if let Parsed::Item(r) = self.parse_reserved(Some(group.to_vec()), token).await? {
                out.leased.push(r);
            }
        }
        Ok(out)
    }

    /// Reads a `queue_reserve` reply; an invalid item is dead-lettered.
    async fn parse_reserved(&self, reply: Option<Vec<Value>>, token: String) -> OpResult<Parsed> {
        let Some(reply) = reply else {
            return Ok(Parsed::Empty);
        };
        let (Some(id), Some(body), Some(deadline), Some(attempts)) = (
            reply.first().and_then(text),
            reply.get(1).and_then(text),
            reply.get(3).and_then(int),
            reply.get(4).and_then(int),
        ) else {
            return Err(OpError::Protocol {
                script: "queue_reserve",
                detail: format!("{reply:?}"),
            });
        };
        let reason = match QueueItem::from_json(&body) {
            Ok(mut item) if item.id == id => {
                item.retry_count = attempts as u32;
                return Ok(Parsed::Item(Reserved {
                    item,
                    token,
                    lease_deadline_ms: deadline as u64,
                }));
            }
            Ok(_) => "stored item's id differs from its queue member".to_string(),
            Err(e) => format!("invalid item: {e}"),
        };
        self.bury(&id, &token, &reason).await?;
        Ok(Parsed::Buried)
    }

    /// Fixes the side effects of an in-flight item: stores `plan` unless a
    /// plan was stored by an earlier delivery, and returns the stored one.
    /// Only the lease owner may (`NotInFlight`/`NotOwner` otherwise).
    pub async fn plan(&self, id: &str, token: &str, plan: &Plan) -> OpResult<Plan> {
        let reply: Value = self
            .run_durable(
                "queue_plan",
                &[id.to_string(), token.to_string(), plan.to_json()],
            )
            .await?;
        match &reply {
            Value::Int(code) => Err(self.owner_error(id, *code)),
            other => match text(other) {
                Some(stored) => Ok(Plan::from_json(&stored)?),
                None => Err(OpError::Protocol {
                    script: "queue_plan",
                    detail: format!("{reply:?}"),
                }),
            },
        }
    }

    /// Moves due delayed items to ready; returns how many.
    pub async fn promote(&self, limit: u32) -> OpResult<u64> {
        self.run("queue_promote", &[limit.to_string()]).await
    }

    /// Dead-letters a reserved item that can never be processed, with the
    /// reason (only the lease owner may: `NotInFlight`/`NotOwner` otherwise).
    pub async fn bury(&self, id: &str, token: &str, reason: &str) -> OpResult<()> {
        let args = [
            id.to_string(),
            token.to_string(),
            reason.to_string(),
            "-1".to_string(),
        ];
        match self.run::<Value>("queue_fail", &args).await? {
            Value::Int(code) => Err(self.owner_error(id, code)),
            _ => Ok(()),
        }
    }

    fn owner_error(&self, id: &str, code: i64) -> OpError {
        if code == 0 {
            OpError::NotInFlight {
                queue: self.name.as_str().into(),
                id: id.into(),
            }
        } else {
            OpError::NotOwner {
                queue: self.name.as_str().into(),
                id: id.into(),
            }
        }
    }

    /// Completes an item (only the lease owner may).
    pub async fn ack(&self, id: &str, token: &str) -> OpResult<()> {
        let code: i64 = self
            .run("queue_ack", &[id.to_string(), token.to_string()])
            .await?;
        if code == 1 {
            Ok(())
        } else {
            Err(self.owner_error(id, code))
        }
    }

    /// Records a failed attempt: retry after the policy's backoff, or dead-letter.
    pub async fn fail(&self, id: &str, token: &str, error: &str) -> OpResult<Failed> {
        let mut conn = self.redis.conn.clone();
        let done: Option<u64> = redis::cmd("HGET")
            .arg(&self.keys[2])
            .arg(format!("{id}:r"))
            .query_async(&mut conn)
            .await
            .map_err(|e| OpError::Redis {
                what: format!("attempts of {id}"),
                source: e,
            })?;
        let attempt = done.unwrap_or(0) + 1;
        let delay = retry_delay_ms(self.name.as_str(), attempt as f64, Some(id))?;
        let args = [
            id.to_string(),
            token.to_string(),
            error.to_string(),
            delay.map_or(-1, |d| d as i64).to_string(),
        ];
        let reply: Value = self.run("queue_fail", &args).await?;
        let parts = match &reply {
            Value::Array(parts) => parts,
            other => return Err(self.owner_error(id, int(other).unwrap_or(0))),
        };
        failed(parts).ok_or_else(|| OpError::Protocol {
            script: "queue_fail",
            detail: format!("{reply:?}"),
        })
    }

    /// Hands a reserved item back to ready without counting an attempt
    /// (graceful shutdown: the work was not done, nothing failed).
    pub async fn release(&self, id: &str, token: &str) -> OpResult<()> {
        let code: i64 = self
            .run("queue_release", &[id.to_string(), token.to_string()])
            .await?;
        if code == 1 {
            Ok(())
        } else {
            Err(self.owner_error(id, code))
        }
    }

    /// Extends a lease to `lease_ms` from now; returns the new deadline.
    pub async fn extend(&self, id: &str, token: &str, lease_ms: u64) -> OpResult<u64> {
        let lease_ms = xbot_core::client::lease_ms(lease_ms as f64)?;
        let deadline: i64 = self
            .run(
                "queue_extend",
                &[id.to_string(), token.to_string(), lease_ms.to_string()],
            )
            .await?;
        if deadline > 0 {
            Ok(deadline as u64)
        } else {
            Err(self.owner_error(id, deadline))
        }
    }

    /// Hands expired leases back (after a backoff by stall count, or dead
    /// after [`MAX_STALLS`](xbot_core::queue::MAX_STALLS)); returns (retried, dead).
    pub async fn reap(&self, limit: u32) -> OpResult<(u64, u64)> {
        let p = self.name.retry_policy();
        let args = [
            xbot_core::queue::MAX_STALLS.to_string(),
            p.base_ms.to_string(),
            p.cap_ms.to_string(),
            limit.to_string(),
        ];
        let (retried, dead): (u64, u64) = self.run("queue_reap", &args).await?;
        Ok((retried, dead))
    }

    /// Moves dead items back to ready (`id`, or the oldest `limit` with `None`).
    pub async fn requeue(&self, id: Option<&str>, limit: u32) -> OpResult<u64> {
        self.run(
            "queue_requeue",
            &[id.unwrap_or("*").to_string(), limit.to_string()],
        )
        .await
    }

    pub async fn stats(&self) -> OpResult<Stats> {
        let v: Vec<i64> = self.run("queue_stats", &[]).await?;
        let [ready, in_flight, delayed, dead, oldest, now] = v[..] else {
            return Err(OpError::Protocol {
                script: "queue_stats",
                detail: format!("{v:?}"),
            });
        };
        Ok(Stats {
            queue: self.name.as_str(),
            ready: ready as u64,
            in_flight: in_flight as u64,
            delayed: delayed as u64,
            dead: dead as u64,
            oldest_age_ms: (oldest >= 0).then(|| (now - oldest).max(0) as u64),
        })
    }

    /// The oldest `limit` dead-lettered items with their last error and attempts.
    pub async fn dead(&self, limit: u32) -> OpResult<Vec<serde_json::Value>> {
        let mut conn = self.redis.conn.clone();
        let redis_err = |e| OpError::Redis {
            what: format!("dead-letter set of {}", self.name.as_str()),
            source: e,
        };
        let ids: Vec<(String, u64)> = redis::cmd("ZRANGE")
            .arg(&self.keys[5])
            .arg(0)
            .arg(i64::from(limit) - 1)
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await
            .map_err(redis_err)?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, died_at) in ids {
            // Text fields as bytes, decoded lossily: no stored value (a foreign
            // writer's, or one cut by an older runner inside a character) may
            // break the listing of the whole queue.
            type Fields = (Option<Vec<u8>>, Option<Vec<u8>>, Option<u64>, Option<u64>);
            let (body, error, attempts, stalls): Fields = redis::pipe()
                .hget(&self.keys[1], &id)
                .hget(&self.keys[2], format!("{id}:e"))
                .hget(&self.keys[2], format!("{id}:r"))
                .hget(&self.keys[2], format!("{id}:s"))
                .query_async(&mut conn)
                .await
                .map_err(redis_err)?;
            let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
            let (body, error) = (body.map(text), error.map(text));
            let item =
                body.map(|b| serde_json::from_str(&b).unwrap_or(serde_json::Value::String(b)));
            out.push(json!({
                "id": id,
                "diedAtMs": died_at,
                "error": error,
                "attempts": attempts.unwrap_or(0),
                "stalls": stalls.unwrap_or(0),
                "item": item,
            }));
        }
        Ok(out)
    }
}
