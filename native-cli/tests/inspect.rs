//! The dashboard's reads and undoable deletes against a real redis-server:
//! pages by cursor in the served order (ties included), lookup by id, and
//! queue_trash / queue_restore moving a dead item out and back exactly.

mod support;

use serde_json::json;
use support::RedisServer;
use xbot_core::keys::{queue_keys, KeyContext};
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::ops::inspect::{self, Cursor, Listing, Moved};
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;

const Q: QueueName = QueueName::SyncToSupabase;

async fn setup() -> (RedisServer, Redis) {
    let server = RedisServer::start();
    let redis = Redis::connect(&server.url(), KeyContext::default())
        .await
        .unwrap();
    (server, redis)
}

/// Pushes a sync item `id` (writing row `row`).
async fn push(redis: &Redis, id: &str, row: &str, priority: u64) {
    Queue::new(redis, Q)
        .push(
            "sync",
            json!({ "table": "t", "op": "upsert", "row": { "id": row } }),
            Priority::new(priority).unwrap(),
            Some(id),
            None,
        )
        .await
        .unwrap();
}

/// Pushes `id` and leaves it dead with `reason`.
async fn dead(redis: &Redis, id: &str, reason: &str) {
    push(redis, id, id, 60).await;
    let q = Queue::new(redis, Q);
    let r = q.reserve(30_000).await.unwrap().unwrap();
    assert_eq!(r.item.id, id);
    q.bury(id, &r.token, reason).await.unwrap();
}

/// Why a restore of `id` did nothing (`None` when it restored).
async fn restore_refusal(redis: &Redis, id: &str) -> Option<String> {
    inspect::restore(redis, Q, id).await.unwrap().reason
}

async fn all_ids(redis: &Redis, listing: Listing, limit: u32) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut after) = (Vec::new(), 0, None::<Cursor>);
    loop {
        let page = inspect::page(redis, Q, listing, after.as_ref(), limit)
            .await
            .unwrap();
        pages += 1;
        ids.extend(
            page.items
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string()),
        );
        match page.next {
            Some(c) => after = Some(Cursor::parse(&c).unwrap()),
            None => return (ids, pages),
        }
    }
}

#[tokio::test]
async fn pages_walk_a_set_in_served_order_even_across_long_ties() {
    let (_server, redis) = setup().await;
    let ready = &queue_keys(Q, &redis.ctx)[0];
    let mut conn = redis.conn.clone();
    // 150 members on one score (more than a page and the 64 read ahead), then others.
    let mut pipe = redis::pipe();
    for i in 0..150 {
        pipe.zadd(ready, format!("tie-{i:03}"), 5);
    }
    for i in 0..40 {
        pipe.zadd(ready, format!("s-{i:02}"), 10 + i);
    }
    pipe.query_async::<()>(&mut conn).await.unwrap();
    let want: Vec<String> = redis::cmd("ZRANGE")
        .arg(ready)
        .arg(0)
        .arg(-1)
        .arg("REV")
        .query_async(&mut conn)
        .await
        .unwrap();
    for limit in [1, 7, 50, 200] {
        let (got, pages) = all_ids(&redis, Listing::Ready, limit).await;
        assert_eq!(got, want, "limit {limit}");
        assert_eq!(pages, want.len().div_ceil(limit as usize), "limit {limit}");
    }
}

#[tokio::test]
async fn delete_then_restore_puts_a_dead_item_back_exactly() {
    let (_server, redis) = setup().await;
    dead(&redis, "a", "supabase 503").await;
    let k = queue_keys(Q, &redis.ctx);
    let conn = redis.conn.clone();
    let snapshot = |mut conn: xbot_redis::redis::Conn| {
        let k = k.clone();
        async move {
            let v: (Option<f64>, Option<String>, Vec<Option<String>>) = redis::pipe()
                .zscore(&k[5], "a")
                .hget(&k[1], "a")
                .cmd("HMGET")
                .arg(&k[2])
                .arg("a:p")
                .arg("a:r")
                .arg("a:s")
                .arg("a:e")
                .arg("a:t")
                .arg("a:x")
                .query_async(&mut conn)
                .await
                .unwrap();
            v
        }
    };
    let before = snapshot(conn.clone()).await;
    assert!(before.0.is_some() && before.1.is_some());

    // Only dead items can be deleted.
    push(&redis, "r", "r", 1).await;
    assert_eq!(
        inspect::trash(&redis, Q, "r").await.unwrap(),
        Moved {
            done: false,
            reason: Some("not dead".into()),
            restorable_until_ms: None
        }
    );

    let m = inspect::trash(&redis, Q, "a").await.unwrap();
    assert!(
        m.done
            && m.restorable_until_ms.unwrap()
                > inspect::server_ms(&redis).await.unwrap() + 86_000_000
    );
    let gone = snapshot(conn.clone()).await;
    assert_eq!(
        gone,
        (None, None, vec![None; 6]),
        "nothing of it left in the queue"
    );
    let found = inspect::lookup(&redis, Q, "a").await.unwrap();
    assert_eq!(found["where"]["state"], "trash");
    let (trash, _) = all_ids(&redis, Listing::Trash, 10).await;
    assert_eq!(trash, ["a"]);

    assert_eq!(
        inspect::restore(&redis, Q, "a").await.unwrap(),
        Moved {
            done: true,
            reason: None,
            restorable_until_ms: None
        }
    );
    assert_eq!(
        snapshot(conn.clone()).await,
        before,
        "back exactly as it was"
    );
    assert_eq!(
        restore_refusal(&redis, "a").await.as_deref(),
        Some("not in trash")
    );

    // An id pushed again since the delete: the restore refuses, the entry stays.
    inspect::trash(&redis, Q, "a").await.unwrap();
    push(&redis, "a", "a2", 1).await;
    assert_eq!(
        restore_refusal(&redis, "a").await.as_deref(),
        Some("exists")
    );
    let (trash, _) = all_ids(&redis, Listing::Trash, 10).await;
    assert_eq!(trash, ["a"]);
}

#[tokio::test]
async fn trash_entries_expire_when_their_retention_ends() {
    let (_server, redis) = setup().await;
    dead(&redis, "old", "x").await;
    dead(&redis, "new", "y").await;
    let k = queue_keys(Q, &redis.ctx);
    let keys = |t: &str| format!("{}:{t}", k[0]);
    let all: Vec<String> = [&k[..], &[keys("trash"), keys("trash:at")]].concat();
    // `old` kept 1 ms only (the script's retention argument), `new` the default.
    let v: Vec<redis::Value> = redis
        .script("queue_trash", &all, &["old".into(), "1".into()])
        .await
        .unwrap();
    assert_eq!(v[0], redis::Value::Int(1));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert!(inspect::trash(&redis, Q, "new").await.unwrap().done);
    // The second call dropped `old`'s expired entry on its way.
    assert_eq!(
        restore_refusal(&redis, "old").await.as_deref(),
        Some("not in trash")
    );
    let (trash, _) = all_ids(&redis, Listing::Trash, 10).await;
    assert_eq!(trash, ["new"]);
}

#[tokio::test]
async fn lookup_reads_one_item_in_constant_commands() {
    let (_server, redis) = setup().await;
    dead(&redis, "d", "handler exploded").await;
    let found = inspect::lookup(&redis, Q, "d").await.unwrap();
    assert_eq!(found["where"]["state"], "dead");
    assert_eq!(found["meta"]["lastError"], "handler exploded");
    assert!(found["explain"]
        .as_str()
        .unwrap()
        .ends_with(": handler exploded; requeue it to run it again"));
    assert_eq!(found["item"]["data"]["row"]["id"], "d");
    let missing = inspect::lookup(&redis, Q, "nope").await.unwrap();
    assert_eq!(
        (missing["found"].clone(), missing["where"]["state"].clone()),
        (json!(false), json!("missing"))
    );
}
