//! What a client decides before it talks to Redis, for every family: the
//! queue item it pushes (the runner's envelope, validated), lease rules, a
//! queue's policy in the caller's environment, the keys of locks, bandit arms,
//! stats buckets, rate-limit windows and dedup markers. Pure, so the runner
//! (`native-cli/src/ops`) and the bot's TypeScript client (through the napi
//! addon) compute every script argument from this one source.

use crate::content::{dedup_keys, normalize, sha256_hex};
use crate::error::{exact_uint, num, Error, Result};
use crate::keys::{build_key, BuiltKey, KeyContext, Params};
use crate::queue::{check_id_and_type, Priority, QueueName, MAX_ITEM_BYTES, MAX_STALLS};
use crate::ratelimit::{window, Limiter};
use crate::time::{iso_string, time_bucket, Bucket};
use serde::Serialize;
use serde_json::Value;

/// Shortest lease a lock or a reserved item may have.
pub const MIN_LEASE_MS: u64 = 10;
/// Longest lease (one day): a holder that needs more extends its lease.
pub const MAX_LEASE_MS: u64 = 86_400_000;
/// Lease of a reserved queue item unless the consumer asks for another.
pub const DEFAULT_LEASE_MS: u64 = 30_000;
/// Delayed items promoted to ready per reserve or promote call (bounded scripts).
pub const PROMOTE_PER_CALL: u32 = 100;
/// Items per `queue_push_many` call (the script refuses more: bounded work per call).
pub const PUSH_MANY_PER_CALL: usize = 100;
/// Items one `queue_reserve_many` call may lease, and finished items it may
/// settle (the script refuses more).
pub const RESERVE_MANY_PER_CALL: usize = 1_000;
/// Most items a consumer holds leased but not yet started (its prefetch
/// beyond the running handlers), whatever the handlers' speed.
pub const MAX_PREFETCH: u32 = 64;
/// The work a consumer queues up locally, in handler time: prefetched items
/// start within about this long, so an urgent item pushed while a batch is
/// held waits at most this (plus the handlers already running).
pub const PREFETCH_BUDGET_MS: f64 = 50.0;

/// A consumer settles a finished item (ack, fail, hand-back) with its next
/// batch call, and at the latest this long after the handler ended. Until
/// then a crash of the consumer redelivers the item (at least once).
pub const SETTLE_WITHIN_MS: u64 = 10;

/// Items a lane asks for in its next `queue_reserve_many` call, given its
/// `running` handlers and the items `waiting` for one: enough to hold
/// `concurrency` + [`prefetch`], but only once at most half the prefetch is
/// left waiting (0 before that), so a lane refills with one call for many
/// items rather than one call per finished handler.
pub fn lease_wanted(
    concurrency: u32,
    mean_handler_ms: Option<f64>,
    running: u32,
    waiting: u32,
) -> u32 {
    let prefetch = prefetch(concurrency, mean_handler_ms);
    let want = (concurrency + prefetch).saturating_sub(running + waiting);
    if waiting <= prefetch / 2 {
        want
    } else {
        0
    }
}

/// The handlers' mean duration once one more took `ms`: exponentially
/// weighted (the newest counts 1/5), the first one as it is.
pub fn handler_pace(mean_ms: Option<f64>, ms: f64) -> f64 {
    mean_ms.map_or(ms, |m| 0.8 * m + 0.2 * ms)
}

/// Batch calls one consumer keeps in flight at most (see [`lanes`]).
pub const MAX_LANES: u32 = 4;

/// How many independent lanes (each its own batch calls, handlers and
/// prefetch) a consumer with `concurrency` handlers splits into: one per four
/// handlers, at most [`MAX_LANES`]. With one call in flight, a consumer
/// waits a round trip between batches while the server idles; with several,
/// one lane's round trip overlaps another's server time.
pub fn lanes(concurrency: u32) -> u32 {
    concurrency.div_ceil(4).clamp(1, MAX_LANES)
}

/// Handlers of lane `lane` (0-based) when `concurrency` handlers are split
/// over [`lanes`]`(concurrency)` lanes: as even as possible, the first lanes
/// taking the remainder.
pub fn lane_concurrency(concurrency: u32, lane: u32) -> u32 {
    let n = lanes(concurrency);
    concurrency / n + u32::from(lane < concurrency % n)
}

/// Checks a batched lease: `max` items to lease and `settle` finished items
/// to settle, each an integer from 0 to [`RESERVE_MANY_PER_CALL`].
pub fn reserve_many_size(max: f64, settle: usize) -> Result<usize> {
    let bad = |param: &str, value: String| Error::InvalidParam {
        family: "queue_reserve_many".into(),
        param: param.into(),
        value,
        reason: format!("an integer from 0 to {RESERVE_MANY_PER_CALL}"),
    };
    if settle > RESERVE_MANY_PER_CALL {
        return Err(bad("settle", format!("{settle} items")));
    }
    exact_uint(max, 0, RESERVE_MANY_PER_CALL as u64)
        .map(|n| n as usize)
        .ok_or_else(|| bad("max", num(max)))
}

/// Items a consumer with `concurrency` handlers holds beyond the running ones
/// (leased, waiting for a free handler), from the handlers' recent mean
/// duration: as many as `concurrency` handlers get through in
/// [`PREFETCH_BUDGET_MS`], at most [`MAX_PREFETCH`]. Unknown or slow handlers
/// (a bot posting a few items an hour) prefetch nothing: each item is leased
/// when a handler is free, as with one-by-one reserves. Fast handlers (a
/// backlog of a million) lease whole batches, one script call for many items.
pub fn prefetch(concurrency: u32, mean_handler_ms: Option<f64>) -> u32 {
    match mean_handler_ms {
        Some(ms) if ms.is_finite() && ms >= 0.0 => {
            let n = PREFETCH_BUDGET_MS * f64::from(concurrency) / ms.max(0.001);
            n.min(f64::from(MAX_PREFETCH)).floor() as u32
        }
        _ => 0,
    }
}
/// Entries kept in the recent-tweets list (`tweets.recent`).
pub const RECENT_MAX: usize = 100;
/// Expired leases handed back per reap call.
pub const REAP_PER_CALL: u32 = 1_000;

const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// A lease length in ms: an integer from [`MIN_LEASE_MS`] to [`MAX_LEASE_MS`].
pub fn lease_ms(v: f64) -> Result<u64> {
    exact_uint(v, MIN_LEASE_MS, MAX_LEASE_MS).ok_or(Error::InvalidLease {
        value: num(v),
        min: MIN_LEASE_MS,
        max: MAX_LEASE_MS,
    })
}

/// The `type` an item gets when the caller names none.
pub fn default_type(q: QueueName) -> &'static str {
    match q {
        QueueName::SyncToSupabase => "sync",
        QueueName::AnalyticsProcessing => "metrics",
        QueueName::PendingPosts => "post",
    }
}

/// How a queue behaves in the caller's environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuePolicy {
    pub queue: &'static str,
    /// Total attempts, the first included; after the last failure the item is dead.
    pub max_attempts: u32,
    /// Backoff before retry 1 (doubles per retry, jittered by item id).
    pub base_ms: u64,
    /// Upper bound of any backoff.
    pub cap_ms: u64,
    /// Expired leases (a dead worker) an item survives before it is dead-lettered.
    pub max_stalls: u32,
    pub default_priority: u8,
    pub default_type: &'static str,
    pub default_lease_ms: u64,
    /// Ready + delayed + in-flight items before a push is refused (per environment).
    pub capacity: u64,
}

pub fn queue_policy(queue: QueueName, ctx: &KeyContext) -> QueuePolicy {
    let p = queue.retry_policy();
    QueuePolicy {
        queue: queue.as_str(),
        max_attempts: p.max_attempts,
        base_ms: p.base_ms,
        cap_ms: p.cap_ms,
        max_stalls: MAX_STALLS,
        default_priority: queue.default_priority().get(),
        default_type: default_type(queue),
        default_lease_ms: DEFAULT_LEASE_MS,
        capacity: ctx.profile().queue_capacity,
    }
}

/// A push's options, as the caller gave them.
#[derive(Debug, Clone, Default)]
pub struct PushRequest<'a> {
    pub id: &'a str,
    pub kind: Option<&'a str>,
    pub priority: Option<f64>,
    /// Not served before this epoch ms (0 or absent: now).
    pub not_before_ms: Option<f64>,
}

/// Everything `queue_push` needs: ARGV is `id, item, priority, capacity, notBeforeMs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedPush {
    pub id: String,
    /// The item as stored: `{id, type, data, priority, createdAt, retryCount, notBefore?}`.
    pub item: String,
    pub priority: u8,
    pub not_before_ms: u64,
}

/// `notBeforeMs`: absent is 0 (now); else epoch ms, a non-negative integer.
fn not_before(v: Option<f64>) -> Result<u64> {
    match v {
        None => Ok(0),
        Some(v) => exact_uint(v, 0, MAX_SAFE as u64).ok_or(Error::InvalidTimestamp {
            value: num(v),
            reason: "notBeforeMs must be epoch milliseconds (a non-negative integer)".into(),
        }),
    }
}

/// The validated item of a push, created now (`now_ms`): the runner's path.
pub fn prepare_push(
    queue: QueueName,
    data: Value,
    req: &PushRequest,
    now_ms: f64,
) -> Result<PreparedPush> {
    envelope(queue, &data.to_string(), req, now_ms)
}

/// As [`prepare_push`], with `data` given as JSON text (JavaScript's
/// `JSON.stringify(data)`): the text is checked for syntax and size and
/// stored as it is, without being parsed into a tree and written again (the
/// TypeScript client's path; the same envelope, validated by the same rules).
pub fn prepare_push_json(
    queue: QueueName,
    data_json: Option<&str>,
    req: &PushRequest,
    now_ms: f64,
) -> Result<PreparedPush> {
    let json = data_json.ok_or(Error::InvalidItem {
        field: "data",
        reason: "is missing or not serializable as JSON (undefined, a function or a symbol)".into(),
    })?;
    if json.len() > MAX_ITEM_BYTES {
        return Err(Error::PayloadTooLarge {
            size: json.len(),
            limit: MAX_ITEM_BYTES,
        });
    }
    serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(|e| Error::InvalidJson {
        what: "queue item data",
        reason: e.to_string(),
    })?;
    envelope(queue, json, req, now_ms)
}

/// The stored item around `data` (valid JSON text), every other field
/// validated. The envelope is `QueueItem::to_json`'s, field for field; the id
/// and type are tokens (letters, digits, `_-.:@`) and the times ISO-8601, so
/// none needs escaping (a unit test reads it back as a `QueueItem`).
fn envelope(queue: QueueName, data: &str, req: &PushRequest, now_ms: f64) -> Result<PreparedPush> {
    let priority = match req.priority {
        Some(p) => Priority::from_f64(p)?,
        None => queue.default_priority(),
    };
    let not_before_ms = not_before(req.not_before_ms)?;
    let kind = req.kind.unwrap_or(default_type(queue));
    check_id_and_type(req.id, kind)?;
    let created = iso_string(now_ms)?;
    let scheduled = match not_before_ms {
        0 => String::new(),
        ms => format!(",\"notBefore\":\"{}\"", iso_string(ms as f64)?),
    };
    let item = format!(
        "{{\"id\":\"{}\",\"type\":\"{kind}\",\"data\":{data},\"priority\":{},\"createdAt\":\"{created}\",\"retryCount\":0{scheduled}}}",
        req.id,
        priority.get()
    );
    if item.len() > MAX_ITEM_BYTES {
        return Err(Error::PayloadTooLarge {
            size: item.len(),
            limit: MAX_ITEM_BYTES,
        });
    }
    Ok(PreparedPush {
        id: req.id.to_string(),
        item,
        priority: priority.get(),
        not_before_ms,
    })
}

/// A lock's keys and its default lease (the catalog's TTL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockKeys {
    pub key: String,
    /// Counter of acquisitions (`lock:fence:{name}`): the fencing token.
    pub fence_key: String,
    pub default_lease_ms: u64,
}

pub fn lock_keys(name: &str, ctx: &KeyContext) -> Result<LockKeys> {
    if !matches!(name, "posting_in_progress" | "sync_in_progress") {
        return Err(Error::InvalidParam {
            family: "lock".into(),
            param: "name".into(),
            value: name.into(),
            reason: "the locks are posting_in_progress and sync_in_progress".into(),
        });
    }
    let lock = build_key(&format!("lock.{name}"), &Params::new(), ctx)?;
    let params: Params = [("lock".to_string(), name.to_string())].into();
    let fence = build_key("lock.fence", &params, ctx)?;
    Ok(LockKeys {
        key: lock.key,
        fence_key: fence.key,
        default_lease_ms: lock.ttl_seconds.unwrap_or(300) * 1000,
    })
}

/// The stats hash of the `daily` or `hourly` bucket containing `at_ms` (UTC).
pub fn stats_key(period: &str, at_ms: f64, ctx: &KeyContext) -> Result<BuiltKey> {
    let (family, param, bucket) = match period {
        "daily" => ("stats.daily", "date", Bucket::Date),
        "hourly" => ("stats.hourly", "hour", Bucket::Hour),
        _ => {
            return Err(Error::InvalidParam {
                family: "stats".into(),
                param: "period".into(),
                value: period.into(),
                reason: "use daily or hourly".into(),
            })
        }
    };
    let params: Params = [(param.to_string(), time_bucket(bucket, at_ms)?)].into();
    build_key(family, &params, ctx)
}

/// A bandit arm's posterior keys (alpha, beta), one hash tag.
pub fn bandit_keys(kind: &str, arm: &str, ctx: &KeyContext) -> Result<(String, String)> {
    if !matches!(kind, "topic" | "hour" | "tag") {
        return Err(Error::InvalidParam {
            family: "bandit".into(),
            param: "kind".into(),
            value: kind.into(),
            reason: "use topic, hour or tag".into(),
        });
    }
    let params: Params = [(kind.to_string(), arm.to_string())].into();
    let alpha = build_key(&format!("bandit.{kind}.alpha"), &params, ctx)?.key;
    let beta = build_key(&format!("bandit.{kind}.beta"), &params, ctx)?.key;
    Ok((alpha, beta))
}

/// The counter of a rate-limit window: its key, TTL and when it resets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub key: String,
    pub ttl_seconds: u64,
    pub reset_at_ms: u64,
}

pub fn rate_limit_window(limiter: &str, now_ms: f64, ctx: &KeyContext) -> Result<Window> {
    let (counter, reset_at_ms) = window(Limiter::parse(limiter)?, now_ms, ctx)?;
    Ok(Window {
        key: counter.key,
        ttl_seconds: counter.ttl_seconds.unwrap_or(60),
        reset_at_ms,
    })
}

/// A dedup marker for a text: its key and TTL, and the text's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DedupMarker {
    pub key: String,
    pub sha256: String,
    pub ttl_seconds: u64,
}

/// The marker of `text` in `family` (`content_hash.sha256`, 7 days, or
/// `dedup.tweet`, 24 h). A text that normalizes to nothing, or an empty
/// holder, is refused: it would mark every blank post as a duplicate.
pub fn dedup_marker(
    text: &str,
    holder: &str,
    family: &str,
    ctx: &KeyContext,
) -> Result<DedupMarker> {
    let bad = |param: &str, value: &str, reason: &str| Error::InvalidParam {
        family: "dedup".into(),
        param: param.into(),
        value: value.into(),
        reason: reason.into(),
    };
    if !matches!(family, "content_hash.sha256" | "dedup.tweet") {
        return Err(bad(
            "family",
            family,
            "dedup marks live in content_hash.sha256 (7 days) or dedup.tweet (24 h)",
        ));
    }
    let normalized = normalize(text);
    if normalized.is_empty() {
        return Err(bad(
            "text",
            text,
            "nothing is left after normalization (empty or only whitespace)",
        ));
    }
    if holder.is_empty() {
        return Err(bad("holder", holder, "must not be empty"));
    }
    let sha256 = sha256_hex(&normalized);
    let (content, tweet) = dedup_keys(&sha256, ctx)?;
    let key = if family == "dedup.tweet" {
        tweet
    } else {
        content
    };
    Ok(DedupMarker {
        ttl_seconds: key.ttl_seconds.unwrap_or(86_400),
        key: key.key,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::QueueItem;

    fn ctx() -> KeyContext {
        KeyContext::resolve(Some("prod:"), None).unwrap()
    }

    #[test]
    fn lanes_split_the_handlers() {
        assert_eq!(lanes(1), 1);
        assert_eq!(lanes(4), 1);
        assert_eq!(lanes(5), 2);
        assert_eq!(lanes(16), 4);
        assert_eq!(lanes(64), MAX_LANES);
        for c in [1u32, 2, 5, 7, 16, 17, 64] {
            let split: Vec<u32> = (0..lanes(c)).map(|l| lane_concurrency(c, l)).collect();
            assert_eq!(split.iter().sum::<u32>(), c, "{c}: {split:?}");
            assert!(split.iter().all(|&n| n >= 1));
        }
        assert_eq!(
            (0..4).map(|l| lane_concurrency(17, l)).collect::<Vec<_>>(),
            [5, 4, 4, 4]
        );
    }

    #[test]
    fn a_lane_refills_at_half_its_prefetch() {
        // Slow handlers: no prefetch, one item per free handler.
        assert_eq!(lease_wanted(4, None, 3, 0), 1);
        assert_eq!(lease_wanted(4, Some(5_000.0), 4, 0), 0);
        // Instant handlers: 1 + 64 held; nothing asked while more than 32 wait.
        assert_eq!(lease_wanted(1, Some(0.0), 0, 0), 65);
        assert_eq!(lease_wanted(1, Some(0.0), 1, 33), 0);
        assert_eq!(lease_wanted(1, Some(0.0), 1, 32), 32);
        assert_eq!(handler_pace(None, 8.0), 8.0);
        assert_eq!(handler_pace(Some(10.0), 0.0), 8.0);
    }

    #[test]
    fn batch_sizes() {
        assert_eq!(reserve_many_size(64.0, 10).unwrap(), 64);
        assert_eq!(reserve_many_size(0.0, 0).unwrap(), 0);
        for bad in [1_001.0, -1.0, 2.5, f64::NAN] {
            assert_eq!(
                reserve_many_size(bad, 0).unwrap_err().code(),
                "INVALID_PARAM",
                "{bad}"
            );
        }
        let e = reserve_many_size(1.0, 1_001).unwrap_err();
        assert!(e.to_string().contains("settle"), "{e}");
    }

    #[test]
    fn prefetch_follows_the_handlers_speed() {
        // Unknown or slow handlers: lease only for free handlers.
        assert_eq!(prefetch(1, None), 0);
        assert_eq!(prefetch(16, Some(2_000.0)), 0);
        assert_eq!(prefetch(1, Some(f64::NAN)), 0);
        // 10 ms handlers: 5 items per handler fit the 50 ms budget.
        assert_eq!(prefetch(1, Some(10.0)), 5);
        assert_eq!(prefetch(4, Some(10.0)), 20);
        // Instant handlers: capped.
        assert_eq!(prefetch(1, Some(0.0)), MAX_PREFETCH);
        assert_eq!(prefetch(16, Some(0.01)), MAX_PREFETCH);
    }

    #[test]
    fn leases() {
        assert_eq!(lease_ms(30_000.0).unwrap(), 30_000);
        for bad in [0.0, 9.0, 1.5, f64::NAN, -1.0, 86_400_001.0] {
            assert_eq!(lease_ms(bad).unwrap_err().code(), "INVALID_LEASE", "{bad}");
        }
    }

    #[test]
    fn push_builds_the_runners_envelope() {
        let req = PushRequest {
            id: "a-1",
            priority: Some(70.0),
            not_before_ms: Some(1_795_802_460_000.0),
            ..Default::default()
        };
        let data = serde_json::json!({"text": "hi"});
        let p = prepare_push(QueueName::PendingPosts, data, &req, 1_795_802_400_000.0).unwrap();
        assert_eq!(
            p.item,
            r#"{"id":"a-1","type":"post","data":{"text":"hi"},"priority":70,"createdAt":"2026-11-27T18:00:00.000Z","retryCount":0,"notBefore":"2026-11-27T18:01:00.000Z"}"#
        );
        assert_eq!((p.priority, p.not_before_ms), (70, 1_795_802_460_000));
        // The same bytes as the item type writes itself (the reader's model).
        let mut item = QueueItem::new(
            "a-1",
            "post",
            serde_json::json!({"text": "hi"}),
            Priority::new(70).unwrap(),
            1_795_802_400_000.0,
        )
        .unwrap();
        item.not_before = Some(iso_string(1_795_802_460_000.0).unwrap());
        assert_eq!(p.item, item.to_json().unwrap());
        let defaults = PushRequest {
            id: "b",
            ..Default::default()
        };
        let p = prepare_push(QueueName::AnalyticsProcessing, Value::Null, &defaults, 0.0).unwrap();
        assert_eq!((p.priority, p.not_before_ms), (25, 0));
        assert!(p.item.contains(r#""type":"metrics""#));
    }

    #[test]
    fn push_from_json_text_stores_the_text_in_the_same_envelope() {
        let req = PushRequest {
            id: "a-1",
            priority: Some(70.0),
            not_before_ms: Some(1_795_802_460_000.0),
            ..Default::default()
        };
        let text = r#"{"text":"hi \u00e9","n":1e21,"list":[1,2.5,null]}"#;
        let at = 1_795_802_400_000.0;
        let p = prepare_push_json(QueueName::PendingPosts, Some(text), &req, at).unwrap();
        let tree = prepare_push(
            QueueName::PendingPosts,
            serde_json::from_str(text).unwrap(),
            &req,
            at,
        )
        .unwrap();
        assert!(p.item.contains(text), "{}", p.item);
        // With data serde writes the same way, the two paths give the same bytes.
        let canonical = r#"{"text":"hi","n":1,"list":[1,2.5,null]}"#;
        let a = prepare_push_json(QueueName::PendingPosts, Some(canonical), &req, at).unwrap();
        let b = prepare_push(
            QueueName::PendingPosts,
            serde_json::from_str(canonical).unwrap(),
            &req,
            at,
        )
        .unwrap();
        assert_eq!(a, b);
        let plain = PushRequest {
            id: "z",
            ..Default::default()
        };
        let a = prepare_push_json(QueueName::SyncToSupabase, Some(canonical), &plain, at).unwrap();
        let b = prepare_push(
            QueueName::SyncToSupabase,
            serde_json::from_str(canonical).unwrap(),
            &plain,
            at,
        )
        .unwrap();
        assert_eq!(a, b);
        let (a, b): (Value, Value) = (
            serde_json::from_str(&p.item).unwrap(),
            serde_json::from_str(&tree.item).unwrap(),
        );
        assert_eq!(a, b);
        assert_eq!(
            QueueItem::from_json(&p.item).unwrap().data,
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert_eq!(
            (p.id, p.priority, p.not_before_ms),
            (tree.id, tree.priority, tree.not_before_ms)
        );
        let q = QueueName::SyncToSupabase;
        let ok = PushRequest {
            id: "a",
            ..Default::default()
        };
        assert_eq!(
            prepare_push_json(q, None, &ok, 0.0).unwrap_err().code(),
            "INVALID_ITEM"
        );
        assert_eq!(
            prepare_push_json(q, Some("{oops"), &ok, 0.0)
                .unwrap_err()
                .code(),
            "INVALID_JSON"
        );
        assert_eq!(
            prepare_push_json(q, Some("1 2"), &ok, 0.0)
                .unwrap_err()
                .code(),
            "INVALID_JSON"
        );
        let near = format!("\"{}\"", "x".repeat(MAX_ITEM_BYTES - 10));
        assert_eq!(
            prepare_push_json(q, Some(&near), &ok, 0.0)
                .unwrap_err()
                .code(),
            "PAYLOAD_TOO_LARGE"
        );
        let bad_id = PushRequest {
            id: "a\"b",
            ..Default::default()
        };
        assert_eq!(
            prepare_push_json(q, Some("{}"), &bad_id, 0.0)
                .unwrap_err()
                .code(),
            "INVALID_ITEM"
        );
    }

    #[test]
    fn push_refuses_bad_input() {
        let q = QueueName::SyncToSupabase;
        let with = |priority: Option<f64>, nb: Option<f64>, id: &'static str| PushRequest {
            id,
            priority,
            not_before_ms: nb,
            kind: None,
        };
        let code = |r: Result<PreparedPush>| r.unwrap_err().code();
        assert_eq!(
            code(prepare_push(
                q,
                Value::Null,
                &with(Some(101.0), None, "a"),
                0.0
            )),
            "INVALID_PRIORITY"
        );
        assert_eq!(
            code(prepare_push(
                q,
                Value::Null,
                &with(Some(f64::NAN), None, "a"),
                0.0
            )),
            "INVALID_PRIORITY"
        );
        assert_eq!(
            code(prepare_push(
                q,
                Value::Null,
                &with(None, Some(-5.0), "a"),
                0.0
            )),
            "INVALID_TIMESTAMP"
        );
        assert_eq!(
            code(prepare_push(q, Value::Null, &with(None, None, "a b"), 0.0)),
            "INVALID_ITEM"
        );
        // Data just under the limit still makes an item over it.
        let near = Value::String("x".repeat(MAX_ITEM_BYTES - 10));
        assert_eq!(
            code(prepare_push(q, near, &with(None, None, "a"), 0.0)),
            "PAYLOAD_TOO_LARGE"
        );
    }

    #[test]
    fn keys_of_each_family() {
        let c = ctx();
        let l = lock_keys("posting_in_progress", &c).unwrap();
        assert_eq!(l.key, "prod:lock:{posting_in_progress}");
        assert_eq!(l.fence_key, "prod:lock:{posting_in_progress}:fence");
        assert_eq!(l.default_lease_ms, 300_000);
        assert_eq!(lock_keys("other", &c).unwrap_err().code(), "INVALID_PARAM");
        assert_eq!(
            stats_key("hourly", 1_795_802_400_000.0, &c).unwrap().key,
            "prod:stats:hourly:2026-11-27T18"
        );
        assert_eq!(
            stats_key("weekly", 0.0, &c).unwrap_err().code(),
            "INVALID_PARAM"
        );
        let (a, b) = bandit_keys("topic", "ai", &c).unwrap();
        assert_eq!(
            (a.as_str(), b.as_str()),
            (
                "prod:bandit:topic:{ai}:alpha",
                "prod:bandit:topic:{ai}:beta"
            )
        );
        let w = rate_limit_window("posting", 1_795_802_460_000.0, &c).unwrap();
        assert_eq!(w.key, "prod:rate_limit:posting:2026-11-27T18");
        assert_eq!(w.reset_at_ms, 1_795_806_000_000);
        let d = dedup_marker("  Hello  World ", "bot", "content_hash.sha256", &c).unwrap();
        assert_eq!(d.sha256, sha256_hex("hello world"));
        assert_eq!(d.ttl_seconds, 604_800);
        assert_eq!(
            dedup_marker(" \n", "bot", "dedup.tweet", &c)
                .unwrap_err()
                .code(),
            "INVALID_PARAM"
        );
        assert_eq!(
            dedup_marker("x", "", "dedup.tweet", &c).unwrap_err().code(),
            "INVALID_PARAM"
        );
    }
}
