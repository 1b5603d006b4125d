//! Looking into a queue without walking it: pages of one of its sets by
//! score (a cursor, never an offset into millions), one item by id in O(1)
//! with the reason it is not running, and the trash of deleted dead items
//! (`queue_trash` / `queue_restore`). The dashboard's reads and undoable
//! deletes; every call costs the same whatever the queue's length.

use crate::error::{OpError, OpResult};
use crate::redis::Redis;
use serde::Serialize;
use serde_json::{json, Value};
use xbot_core::keys::{build_key, queue_keys, Params};
use xbot_core::queue::{explain, ItemMeta, QueueName, Whereabouts};

/// How long a deleted dead item stays restorable.
pub const TRASH_RETENTION_MS: u64 = 24 * 3_600_000;
/// Most entries one page returns.
pub const MAX_PAGE: u32 = 200;

/// One of a queue's sets, in the order an operator reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Best first: the order items are served in.
    Ready,
    /// Soonest lease deadline first.
    InFlight,
    /// Soonest due first.
    Delayed,
    /// Most recently dead first.
    Dead,
    /// Deleted dead items, soonest to expire first.
    Trash,
}

impl Listing {
    pub fn parse(s: &str) -> Option<Listing> {
        Some(match s {
            "ready" => Listing::Ready,
            "inflight" => Listing::InFlight,
            "delayed" => Listing::Delayed,
            "dead" => Listing::Dead,
            "trash" => Listing::Trash,
            _ => return None,
        })
    }

    /// Highest score first?
    fn descending(self) -> bool {
        matches!(self, Listing::Ready | Listing::Dead)
    }
}

/// A cursor: the last entry of the previous page (its score and id).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub score: f64,
    pub id: String,
}

impl Cursor {
    /// `<score>:<id>` as pages hand it out.
    pub fn parse(s: &str) -> Option<Cursor> {
        let (score, id) = s.split_once(':')?;
        let score: f64 = score.parse().ok().filter(|x: &f64| x.is_finite())?;
        (!id.is_empty()).then(|| Cursor {
            score,
            id: id.to_string(),
        })
    }

    fn encode(score: f64, id: &str) -> String {
        format!("{score}:{id}")
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub items: Vec<Value>,
    /// Pass as `after` for the next page; `null` at the end.
    pub next: Option<String>,
}

/// The queue's keys plus its trash's two.
struct Keys {
    queue: [String; 7],
    trash: String,
    trash_index: String,
}

fn keys(redis: &Redis, q: QueueName) -> OpResult<Keys> {
    let mut p = Params::new();
    p.insert("queue".into(), q.as_str().into());
    let build = |family: &str| build_key(family, &p, &redis.ctx).map(|k| k.key);
    Ok(Keys {
        queue: queue_keys(q, &redis.ctx),
        trash: build("queue.trash")?,
        trash_index: build("queue.trash_index")?,
    })
}

fn redis_err(what: String) -> impl FnOnce(redis::RedisError) -> OpError {
    move |source| OpError::Redis { what, source }
}

/// The Redis server's clock in epoch ms (leases and due times are on it).
pub async fn server_ms(redis: &Redis) -> OpResult<u64> {
    let mut conn = redis.conn.clone();
    let (s, us): (u64, u64) = redis::cmd("TIME")
        .query_async(&mut conn)
        .await
        .map_err(redis_err("TIME".into()))?;
    Ok(s * 1000 + us / 1000)
}

fn text(b: Option<Vec<u8>>) -> Option<String> {
    b.map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn num(b: &Option<Vec<u8>>) -> u32 {
    b.as_deref()
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A page of `listing`, after `after` (exclusive), at most `limit` entries.
pub async fn page(
    redis: &Redis,
    q: QueueName,
    listing: Listing,
    after: Option<&Cursor>,
    limit: u32,
) -> OpResult<Page> {
    let k = keys(redis, q)?;
    let key = match listing {
        Listing::Ready => &k.queue[0],
        Listing::InFlight => &k.queue[3],
        Listing::Delayed => &k.queue[4],
        Listing::Dead => &k.queue[5],
        Listing::Trash => &k.trash_index,
    };
    let limit = limit.clamp(1, MAX_PAGE) as usize;
    let desc = listing.descending();
    let mut conn = redis.conn.clone();
    // From the cursor's score, inclusive; entries tied with the cursor at or
    // before it (Redis orders ties by member, reversed in REV) are skipped.
    // One extra read per 64 such ties: a page never walks the set.
    let mut entries: Vec<(String, f64)> = Vec::with_capacity(limit + 1);
    let mut offset = 0usize;
    loop {
        let (from, to) = match (after, desc) {
            (Some(c), true) => (format!("{}", c.score), "-inf".to_string()),
            (Some(c), false) => (format!("{}", c.score), "+inf".to_string()),
            (None, true) => ("+inf".into(), "-inf".into()),
            (None, false) => ("-inf".into(), "+inf".into()),
        };
        let want = limit + 1 + 64;
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(key).arg(&from).arg(&to).arg("BYSCORE");
        if desc {
            cmd.arg("REV");
        }
        let got: Vec<(String, f64)> = cmd
            .arg("LIMIT")
            .arg(offset)
            .arg(want)
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await
            .map_err(redis_err(format!("page of {key}")))?;
        let n = got.len();
        for (id, score) in got {
            let skip = after
                .is_some_and(|c| score == c.score && if desc { id >= c.id } else { id <= c.id });
            if !skip {
                entries.push((id, score));
            }
        }
        if entries.len() > limit || n < want {
            break;
        }
        offset += n;
    }
    let next = (entries.len() > limit).then(|| {
        let (id, score) = &entries[limit - 1];
        Cursor::encode(*score, id)
    });
    entries.truncate(limit);

    // Each entry's counters: one pipeline for the page (or the trash entries).
    let mut items = Vec::with_capacity(entries.len());
    if entries.is_empty() {
        return Ok(Page { items, next });
    }
    if listing == Listing::Trash {
        let mut pipe = redis::pipe();
        for (id, _) in &entries {
            pipe.hget(&k.trash, id);
        }
        let raw: Vec<Option<Vec<u8>>> = pipe
            .query_async(&mut conn)
            .await
            .map_err(redis_err(format!("trash of {}", q.as_str())))?;
        for ((id, expires), raw) in entries.iter().zip(raw) {
            let e: Value = text(raw)
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null);
            items.push(json!({
                "id": id, "score": expires, "expiresAtMs": expires,
                "deletedAtMs": e["deleted"], "diedAtMs": e["died"], "error": e["e"],
            }));
        }
    } else {
        let mut pipe = redis::pipe();
        for (id, _) in &entries {
            pipe.cmd("HMGET")
                .arg(&k.queue[2])
                .arg(format!("{id}:p"))
                .arg(format!("{id}:r"))
                .arg(format!("{id}:s"))
                .arg(format!("{id}:e"));
        }
        let metas: Vec<Vec<Option<Vec<u8>>>> = pipe
            .query_async(&mut conn)
            .await
            .map_err(redis_err(format!("meta of {}", q.as_str())))?;
        for ((id, score), m) in entries.iter().zip(metas) {
            let mut m = m.into_iter();
            let (p, r, s, e) = (
                m.next().flatten(),
                m.next().flatten(),
                m.next().flatten(),
                m.next().flatten(),
            );
            items.push(json!({
                "id": id, "score": score, "priority": num(&p), "attempts": num(&r),
                "stalls": num(&s), "error": text(e).map(|e| cut(&e, 300)),
            }));
        }
    }
    Ok(Page { items, next })
}

/// At most `n` bytes of `s`, cut on a character boundary, with `…` when cut.
fn cut(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// One item by id, in O(1) (plus O(log N) for its place in line): which set
/// holds it, its payload, counters, lease, and why it is not running now.
pub async fn lookup(redis: &Redis, q: QueueName, id: &str) -> OpResult<Value> {
    let k = keys(redis, q)?;
    let mut conn = redis.conn.clone();
    type Reply = (
        Option<Vec<u8>>,
        Vec<Option<Vec<u8>>>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<Vec<u8>>,
    );
    let (item, meta, ready, inflight, delayed, dead, trashed): Reply = redis::pipe()
        .hget(&k.queue[1], id)
        .cmd("HMGET")
        .arg(&k.queue[2])
        .arg(format!("{id}:p"))
        .arg(format!("{id}:r"))
        .arg(format!("{id}:s"))
        .arg(format!("{id}:e"))
        .arg(format!("{id}:t"))
        .zscore(&k.queue[0], id)
        .zscore(&k.queue[3], id)
        .zscore(&k.queue[4], id)
        .zscore(&k.queue[5], id)
        .hget(&k.trash, id)
        .query_async(&mut conn)
        .await
        .map_err(redis_err(format!("item {id} of {}", q.as_str())))?;
    let now = server_ms(redis).await?;
    let [p, r, s, e, t]: [Option<Vec<u8>>; 5] = meta.try_into().unwrap_or_default();
    let m = ItemMeta {
        attempts: num(&r),
        stalls: num(&s),
        last_error: text(e),
    };
    let w = if let Some(score) = ready {
        // Items served before it: the ready items with a higher score.
        let ahead: u64 = redis::cmd("ZCOUNT")
            .arg(&k.queue[0])
            .arg(format!("({score}"))
            .arg("+inf")
            .query_async(&mut conn)
            .await
            .map_err(redis_err(format!("place of {id} in {}", q.as_str())))?;
        Whereabouts::Ready { ahead }
    } else if let Some(deadline) = inflight {
        Whereabouts::InFlight {
            token: text(t),
            deadline_ms: deadline as u64,
        }
    } else if let Some(due) = delayed {
        Whereabouts::Delayed { due_ms: due as u64 }
    } else if let Some(since) = dead {
        Whereabouts::Dead {
            since_ms: since as u64,
        }
    } else {
        Whereabouts::Missing
    };
    let mut why = explain(&w, &m, &q.retry_policy(), now);
    let trash: Option<Value> = text(trashed).and_then(|t| serde_json::from_str(&t).ok());
    if w == Whereabouts::Missing && trash.is_some() {
        why = "deleted from the dead-letter set: in the trash, restorable until its retention ends"
            .into();
    }
    let payload = text(item).map(|b| serde_json::from_str(&b).unwrap_or(Value::String(b)));
    Ok(json!({
        "queue": q.as_str(),
        "id": id,
        "found": w != Whereabouts::Missing || trash.is_some(),
        "where": if trash.is_some() && w == Whereabouts::Missing { json!({"state": "trash"}) } else { json!(w) },
        "priority": p.as_ref().map(|_| num(&p)),
        "meta": m,
        "explain": why,
        "item": payload,
        "trash": trash.map(|t| json!({"deletedAtMs": t["deleted"], "diedAtMs": t["died"]})),
        "serverTimeMs": now,
    }))
}

/// What a delete or a restore did.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    pub done: bool,
    /// Why not, when not done: `not dead`, `not in trash`, `exists`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restorable_until_ms: Option<u64>,
}

fn moved(script: &'static str, v: Vec<redis::Value>) -> OpResult<Moved> {
    use redis::Value as V;
    let int = |v: Option<&V>| match v {
        Some(V::Int(n)) => Some(*n),
        _ => None,
    };
    let s = |v: Option<&V>| match v {
        Some(V::BulkString(b)) => Some(String::from_utf8_lossy(b).into_owned()),
        Some(V::SimpleString(s)) => Some(s.clone()),
        _ => None,
    };
    match int(v.first()) {
        Some(1) => Ok(Moved {
            done: true,
            reason: None,
            restorable_until_ms: int(v.get(1)).map(|n| n as u64),
        }),
        Some(0) => Ok(Moved {
            done: false,
            reason: s(v.get(1)),
            restorable_until_ms: None,
        }),
        _ => Err(OpError::Protocol {
            script,
            detail: format!("{v:?}"),
        }),
    }
}

async fn trash_script(
    redis: &Redis,
    q: QueueName,
    script: &'static str,
    args: &[String],
) -> OpResult<Moved> {
    let k = keys(redis, q)?;
    let mut all = k.queue.to_vec();
    all.push(k.trash);
    all.push(k.trash_index);
    let v: Vec<redis::Value> = redis
        .script(script, &all, args)
        .await
        .map_err(redis_err(format!("{script} on queue {}", q.as_str())))?;
    moved(script, v)
}

/// Deletes dead item `id`, restorably for [`TRASH_RETENTION_MS`].
pub async fn trash(redis: &Redis, q: QueueName, id: &str) -> OpResult<Moved> {
    trash_script(
        redis,
        q,
        "queue_trash",
        &[id.to_string(), TRASH_RETENTION_MS.to_string()],
    )
    .await
}

/// Puts a deleted dead item back, as it was.
pub async fn restore(redis: &Redis, q: QueueName, id: &str) -> OpResult<Moved> {
    trash_script(redis, q, "queue_restore", &[id.to_string()]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor::parse(&Cursor::encode(1.5e15, "a:b")).unwrap();
        assert_eq!(
            c,
            Cursor {
                score: 1.5e15,
                id: "a:b".into()
            }
        );
        for bad in ["", "12", ":id", "x:id", "inf:id", "NaN:id", "5:"] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("ééé", 3), "é…");
    }
}
