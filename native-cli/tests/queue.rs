//! The queue protocol against real redis-server processes.

mod support;

use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use support::RedisServer;
use xbot_core::keys::{queue_keys, KeyContext};
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::error::OpError;
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;

async fn connect(server: &RedisServer) -> Redis {
    Redis::connect(&server.url(), KeyContext::default())
        .await
        .unwrap()
}

fn p(n: u64) -> Priority {
    Priority::new(n).unwrap()
}

#[tokio::test]
async fn ten_thousand_items_come_out_by_priority_then_fifo() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::AnalyticsProcessing);
    let mut pushed = Vec::new();
    for i in 0..10_000u64 {
        let prio = (i * 7919) % 101; // all priorities, interleaved
        let r = q
            .push("metrics", json!({ "i": i }), p(prio), None, None)
            .await
            .unwrap();
        assert_eq!(r.status, "added");
        pushed.push((prio, i, r.id));
    }
    // Expected: priority descending, then push order.
    pushed.sort_by_key(|(prio, i, _)| (std::cmp::Reverse(*prio), *i));
    for (prio, i, id) in &pushed {
        let r = q.reserve(60_000).await.unwrap().expect("an item");
        assert_eq!(
            (&r.item.id, r.item.priority.get() as u64),
            (id, *prio),
            "item {i}"
        );
        assert_eq!(r.item.data["i"], json!(i));
    }
    assert!(q.reserve(60_000).await.unwrap().is_none());
    let s = q.stats().await.unwrap();
    assert_eq!((s.ready, s.in_flight), (0, 10_000));
}

#[tokio::test]
async fn eight_concurrent_reservers_never_share_an_item() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    for i in 0..2_000 {
        q.push("row", json!(i), p(50), None, None).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let redis = connect(&server).await;
        tasks.push(tokio::spawn(async move {
            let q = Queue::new(&redis, QueueName::SyncToSupabase);
            let mut got = Vec::new();
            while let Some(r) = q.reserve(60_000).await.unwrap() {
                q.ack(&r.item.id, &r.token).await.unwrap();
                got.push(r.item.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (2_000, 2_000));
}

#[tokio::test]
async fn an_expired_lease_comes_back_exactly_once() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    q.push("row", json!({}), p(50), Some("lost-1"), None)
        .await
        .unwrap();
    let first = q.reserve(100).await.unwrap().unwrap(); // the consumer "dies" holding it
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(q.reap(100).await.unwrap(), (1, 0));
    assert!(
        q.reserve(60_000).await.unwrap().is_none(),
        "waits out its backoff first"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await; // sync_to_supabase backoff: 1 s
    let again = q.reserve(60_000).await.unwrap().unwrap();
    assert_eq!(
        (again.item.id.as_str(), again.item.retry_count),
        ("lost-1", 0),
        "a lost worker is a stall, not a failed attempt"
    );
    assert!(q.reserve(60_000).await.unwrap().is_none(), "exactly once");
    // The dead consumer's token no longer works; the new owner's does.
    assert!(matches!(
        q.ack("lost-1", &first.token).await,
        Err(OpError::NotOwner { .. })
    ));
    q.ack("lost-1", &again.token).await.unwrap();
    assert!(matches!(
        q.ack("lost-1", &again.token).await,
        Err(OpError::NotInFlight { .. })
    ));
}

#[tokio::test]
async fn an_item_that_keeps_losing_its_worker_is_dead_after_max_stalls() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    q.push("row", json!({}), p(50), Some("poison"), None)
        .await
        .unwrap();
    let delayed = &queue_keys(QueueName::SyncToSupabase, &KeyContext::default())[4];
    for stall in 1..=xbot_core::queue::MAX_STALLS {
        let r = q.reserve(50).await.unwrap().expect("ready again");
        assert_eq!(r.item.retry_count, 0, "stalls are not failed attempts");
        tokio::time::sleep(Duration::from_millis(70)).await; // its worker "died"
        let expected = if stall < xbot_core::queue::MAX_STALLS {
            (1, 0)
        } else {
            (0, 1)
        };
        assert_eq!(q.reap(10).await.unwrap(), expected, "stall {stall}");
        // Skip the backoff: make it due now.
        let _: () = redis::cmd("ZADD")
            .arg(delayed)
            .arg("XX")
            .arg(0)
            .arg("poison")
            .query(&mut server.conn())
            .unwrap();
    }
    assert!(q.reserve(50).await.unwrap().is_none());
    let dead = q.dead(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["stalls"], 5);
    assert_eq!(dead[0]["attempts"], 0);
    assert!(
        dead[0]["error"].as_str().unwrap().contains("stall 5 of 5"),
        "{}",
        dead[0]
    );
}

#[tokio::test]
async fn sync_to_supabase_retries_twice_with_growing_delays_then_dies() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    q.push(
        "row",
        json!({ "table": "tweets" }),
        p(50),
        Some("bad-row"),
        None,
    )
    .await
    .unwrap();
    let mut delays = Vec::new();
    for attempt in 1..=3u64 {
        let r = loop {
            if let Some(r) = q.reserve(60_000).await.unwrap() {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(r.item.retry_count as u64, attempt - 1);
        let before = xbot_redis::ops::now_ms();
        let f = q
            .fail(
                &r.item.id,
                &r.token,
                &format!("constraint violation #{attempt}"),
            )
            .await
            .unwrap();
        let after = xbot_redis::ops::now_ms();
        assert_eq!(f.attempts, attempt);
        // The delay is the policy's, exactly: deterministic jitter by id.
        let want =
            xbot_core::queue::retry_delay_ms("sync_to_supabase", attempt as f64, Some("bad-row"))
                .unwrap();
        match (f.outcome, want) {
            ("retry", Some(d)) => {
                let at = f.retry_at.unwrap();
                // The server's clock (same machine) read during the call, plus d.
                assert!(
                    (before + d..=after + d).contains(&at),
                    "attempt {attempt}: retry at {at}, expected {d} ms after [{before}, {after}]"
                );
                delays.push(d);
            }
            ("dead", None) => assert_eq!(attempt, 3, "dead only after the third attempt"),
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    assert_eq!(delays.len(), 2);
    assert!(delays[0] < delays[1], "growing delays: {delays:?}");
    let dead = q.dead(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["error"], json!("constraint violation #3"));
    assert_eq!(dead[0]["attempts"], json!(3));
    assert_eq!(q.requeue(Some("bad-row"), 1).await.unwrap(), 1);
    let back = q.reserve(60_000).await.unwrap().unwrap();
    assert_eq!(
        (back.item.id.as_str(), back.item.retry_count),
        ("bad-row", 0)
    );
}

#[tokio::test]
async fn wrong_tokens_garbage_members_and_wrong_types_are_named() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::PendingPosts);
    let keys = queue_keys(QueueName::PendingPosts, &KeyContext::default());
    let mut c = server.conn();

    // A member with no stored item is dead-lettered with a reason, and the
    // valid item behind it is still served.
    q.push("post", json!({ "text": "hi" }), p(10), Some("good"), None)
        .await
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(&keys[0])
        .arg(9e15)
        .arg("ghost")
        .query(&mut c)
        .unwrap();
    // A stored item that is not valid JSON for an item is dead-lettered too.
    let _: () = redis::cmd("HSET")
        .arg(&keys[1])
        .arg("junk")
        .arg("{not json")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(&keys[0])
        .arg(8e15)
        .arg("junk")
        .query(&mut c)
        .unwrap();
    let r = q.reserve(60_000).await.unwrap().unwrap();
    assert_eq!(r.item.id, "good");
    assert!(matches!(
        q.ack("good", "not-the-token").await,
        Err(OpError::NotOwner { .. })
    ));
    let dead = q.dead(10).await.unwrap();
    let reasons: Vec<_> = dead
        .iter()
        .map(|d| (d["id"].as_str().unwrap(), d["error"].as_str().unwrap()))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|(id, e)| *id == "ghost" && e.contains("no item stored")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(id, e)| *id == "junk" && e.contains("invalid item")),
        "{reasons:?}"
    );

    // A key of the wrong type is reported by name.
    let _: () = redis::cmd("DEL").arg(&keys[1]).query(&mut c).unwrap();
    let _: () = redis::cmd("SET")
        .arg(&keys[1])
        .arg("oops")
        .query(&mut c)
        .unwrap();
    match q.push("post", json!({}), p(1), None, None).await {
        Err(OpError::WrongType { key, found, .. }) => {
            assert_eq!((key.as_str(), found.as_str()), (keys[1].as_str(), "string"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn pushes_are_idempotent_capped_and_schedulable() {
    let server = RedisServer::start();
    let redis = Redis::connect(
        &server.url(),
        KeyContext::resolve(Some("stg:"), None).unwrap(),
    )
    .await
    .unwrap();
    let q = Queue::new(&redis, QueueName::PendingPosts);
    let first = q
        .push("post", json!(1), p(5), Some("same"), None)
        .await
        .unwrap();
    let again = q
        .push("post", json!(2), p(9), Some("same"), None)
        .await
        .unwrap();
    assert_eq!((first.status, again.status), ("added", "exists"));
    // Staging capacity is 1,000 items.
    for i in 1..1_000 {
        q.push("post", json!(i), p(5), None, None).await.unwrap();
    }
    assert!(matches!(
        q.push("post", json!(0), p(5), Some("over"), None).await,
        Err(OpError::QueueFull {
            capacity: 1_000,
            ..
        })
    ));
    // The refused push left nothing behind: no item body, no metadata.
    let ctx = KeyContext::resolve(Some("stg:"), None).unwrap();
    let keys = queue_keys(QueueName::PendingPosts, &ctx);
    let mut conn = server.conn();
    let stored: bool = redis::cmd("HEXISTS")
        .arg(&keys[1])
        .arg("over")
        .query(&mut conn)
        .unwrap();
    let (items, meta): (usize, usize) = redis::pipe()
        .cmd("HLEN")
        .arg(&keys[1])
        .cmd("HLEN")
        .arg(&keys[2])
        .query(&mut conn)
        .unwrap();
    assert_eq!((stored, items, meta), (false, 1_000, 1_000));
    // A scheduled post waits in the delayed set until its time.
    let server2 = RedisServer::start();
    let redis2 = connect(&server2).await;
    let q2 = Queue::new(&redis2, QueueName::PendingPosts);
    let due = xbot_redis::ops::now_ms() + 300;
    let s = q2
        .push("post", json!({}), p(50), Some("later"), Some(due))
        .await
        .unwrap();
    assert_eq!((s.status, s.due_ms), ("scheduled", Some(due)));
    assert!(q2.reserve(60_000).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(q2.reserve(60_000).await.unwrap().unwrap().item.id, "later");
}

#[tokio::test]
async fn scripts_reload_after_a_flush_and_work_resumes_after_a_restart() {
    let server = RedisServer::start();
    let port = server.port;
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    q.push("row", json!(1), p(50), None, None).await.unwrap();
    // A SCRIPT FLUSH (or a failover to a fresh replica) empties the script
    // cache: EVALSHA answers NOSCRIPT and the runner loads the script again.
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut server.conn())
        .unwrap();
    q.push("row", json!(2), p(50), None, None).await.unwrap();
    assert_eq!(q.stats().await.unwrap().ready, 2);

    // Redis restarts (empty, on the same port): the connection comes back by itself.
    drop(server);
    let restarted = RedisServer::start_on(port);
    let mut ok = false;
    for _ in 0..50 {
        if q.push("row", json!(3), p(50), None, None).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the runner reconnected to the restarted server");
    assert_eq!(q.stats().await.unwrap().ready, 1);
    drop(restarted);
}

#[tokio::test]
async fn ack_and_reserve_is_one_round_trip_and_refuses_a_lost_lease_without_writing() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    for id in ["a", "b", "c"] {
        q.push("row", json!({}), p(50), Some(id), None)
            .await
            .unwrap();
    }
    let a = q.reserve(60_000).await.unwrap().unwrap();
    let b = q
        .ack_and_reserve("a", &a.token, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.item.id.as_str(), b.item.id.as_str()), ("a", "b"));
    // A wrong token or an acked id: refused, and nothing else moved.
    assert!(matches!(
        q.ack_and_reserve("b", "stolen", 60_000).await,
        Err(OpError::NotOwner { .. })
    ));
    assert!(matches!(
        q.ack_and_reserve("a", &a.token, 60_000).await,
        Err(OpError::NotInFlight { .. })
    ));
    let s = q.stats().await.unwrap();
    assert_eq!((s.ready, s.in_flight), (1, 1), "{s:?}");
    let c = q
        .ack_and_reserve("b", &b.token, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.item.id, "c");
    // The last ack finds nothing more to reserve.
    assert!(q
        .ack_and_reserve("c", &c.token, 60_000)
        .await
        .unwrap()
        .is_none());
    let s = q.stats().await.unwrap();
    assert_eq!((s.ready, s.in_flight, s.dead), (0, 0, 0));
    let meta: usize = redis::cmd("HLEN")
        .arg(&queue_keys(QueueName::SyncToSupabase, &KeyContext::default())[2])
        .query(&mut server.conn())
        .unwrap();
    assert_eq!(meta, 0, "acks clear the items' meta fields");
}

#[tokio::test]
async fn equal_scores_come_out_by_smallest_id() {
    // More than 16 pushes in one millisecond share a score; the smallest
    // (time-ordered) id goes first. Made here by giving items one score.
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    let ready = &queue_keys(QueueName::SyncToSupabase, &KeyContext::default())[0];
    let ids = ["m-03", "m-01", "m-04", "m-02"];
    for id in ids {
        q.push("row", json!({}), p(50), Some(id), None)
            .await
            .unwrap();
        let _: () = redis::cmd("ZADD")
            .arg(ready)
            .arg("XX")
            .arg(60u64 << 46) // priority 60, one timestamp
            .arg(id)
            .query(&mut server.conn())
            .unwrap();
    }
    q.push("row", json!({}), p(0), Some("z-low"), None)
        .await
        .unwrap();
    let mut order = Vec::new();
    while let Some(r) = q.reserve(60_000).await.unwrap() {
        order.push(r.item.id.clone());
    }
    assert_eq!(order, ["m-01", "m-02", "m-03", "m-04", "z-low"]);
}

#[test]
fn queue_push_validates_its_own_arguments_before_writing() {
    // The bot calls the script directly (ioredis defineCommand), so the
    // script itself must refuse what reserve would later dead-letter.
    let server = RedisServer::start();
    let mut c = server.conn();
    let keys = queue_keys(QueueName::SyncToSupabase, &KeyContext::default());
    let source = xbot_core::scripts::get("queue_push").unwrap().source;
    let push = |c: &mut redis::Connection, id: &str, body: &str, priority: &str| {
        redis::cmd("EVAL")
            .arg(source)
            .arg(7)
            .arg(keys.as_slice())
            .arg(id)
            .arg(body)
            .arg(priority)
            .arg(1_000)
            .arg(0)
            .query::<redis::Value>(c)
    };
    let good = r#"{"id":"a-1","type":"t","data":{},"priority":5,"createdAt":"2026-12-01T00:00:00.000Z","retryCount":0}"#;
    for (id, body, priority, fragment) in [
        ("a-1", "not json at all", "5", "JSON object"),
        ("a-1", "[1,2]", "5", "JSON object"),
        ("a-1", "\"a string\"", "5", "JSON object"),
        ("bad id with spaces", good, "5", "id must be"),
        ("a-2", good, "5", "must equal the id argument"),
        ("a-1", good, "101", "priority"),
        ("a-1", good, "-1", "priority"),
        ("a-1", good, "2.5", "priority"),
        ("", good, "5", "empty id"),
    ] {
        let e = push(&mut c, id, body, priority).unwrap_err();
        assert!(
            e.to_string().contains(fragment),
            "{id:?} {body:?} {priority:?}: {e}"
        );
    }
    let size: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(size, 0, "nothing was written");
    assert!(
        push(&mut c, "a-1", good, "5").is_ok(),
        "a valid push still works"
    );
}

#[test]
fn migrate_push_records_each_item_once_within_a_batch_and_across_calls() {
    // `xbot-redis migrate` moves legacy members through this script in
    // batches of up to 1,000: one read of the ledger and of the items per
    // batch, so repeats inside one batch must still count once.
    let server = RedisServer::start();
    let mut c = server.conn();
    let ctx = KeyContext::default();
    let mut keys = queue_keys(QueueName::SyncToSupabase, &ctx).to_vec();
    let ledger = xbot_core::keys::build_key(
        "queue.migrated",
        &[("queue".to_string(), "sync_to_supabase".to_string())].into(),
        &ctx,
    )
    .unwrap()
    .key;
    keys.push(ledger.clone());
    let source = xbot_core::scripts::get("migrate_push").unwrap().source;
    let body = |id: &str| format!(r#"{{"id":"{id}","type":"sync_to_supabase","data":{{}}}}"#);
    let base = 5u64 * 70_368_744_177_664;
    let push = |c: &mut redis::Connection, capacity: u64, ids: &[&str]| {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(source).arg(8).arg(keys.as_slice()).arg(capacity);
        for (i, id) in ids.iter().enumerate() {
            cmd.arg(*id).arg(body(id)).arg(5).arg(base + i as u64);
        }
        cmd.query::<Vec<i64>>(c)
    };
    // "c" is already queued by the bot (a plain queue_push): recorded, left alone.
    let queued = body("c");
    redis::cmd("EVAL")
        .arg(xbot_core::scripts::get("queue_push").unwrap().source)
        .arg(7)
        .arg(&keys[..7])
        .arg("c")
        .arg(&queued)
        .arg(5)
        .arg(1_000)
        .arg(0)
        .query::<redis::Value>(&mut c)
        .unwrap();
    // Capacity 3: "c" plus two more; "d" does not fit and is not recorded.
    let first = push(&mut c, 3, &["a", "b", "a", "c", "d"]).unwrap();
    assert_eq!(first, [1, 1, 0, 2, -1]);
    let recorded: Vec<String> = redis::cmd("HKEYS").arg(&ledger).query(&mut c).unwrap();
    let recorded: HashSet<String> = recorded.into_iter().collect();
    assert_eq!(recorded, ["a", "b", "c"].map(String::from).into());
    let ready: Vec<(String, u64)> = redis::cmd("ZRANGE")
        .arg(&keys[0])
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut c)
        .unwrap();
    assert_eq!(ready.len(), 3);
    assert!(ready.contains(&("a".to_string(), base)));
    assert!(ready.contains(&("b".to_string(), base + 1)));
    let item: String = redis::cmd("HGET")
        .arg(&keys[1])
        .arg("c")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        item, queued,
        "an item queued under the same id is not overwritten"
    );
    let p: String = redis::cmd("HGET")
        .arg(&keys[2])
        .arg("b:p")
        .query(&mut c)
        .unwrap();
    assert_eq!(p, "5");
    // The same batch again, with room now: only "d" is new.
    assert_eq!(
        push(&mut c, 10, &["a", "b", "a", "c", "d"]).unwrap(),
        [0, 0, 0, 0, 1]
    );
    // A bad item anywhere refuses the whole batch before any write.
    let before: i64 = redis::cmd("HLEN").arg(&ledger).query(&mut c).unwrap();
    let e = push(&mut c, 10, &["e", "bad id"]).unwrap_err();
    assert!(e.to_string().contains("item 2: id must be"), "{e}");
    let after: i64 = redis::cmd("HLEN").arg(&ledger).query(&mut c).unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn extend_moves_only_the_owners_deadline_and_calls_are_bounded() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    q.push("t", json!({}), p(5), Some("e1"), None)
        .await
        .unwrap();
    let r = q.reserve(200).await.unwrap().unwrap();
    let before = xbot_redis::ops::now_ms();
    let deadline = q.extend("e1", &r.token, 60_000).await.unwrap();
    let after = xbot_redis::ops::now_ms();
    assert!(
        (before + 60_000..=after + 60_000).contains(&deadline),
        "{deadline}"
    );
    assert!(matches!(
        q.extend("e1", "someone-else", 60_000).await,
        Err(OpError::NotOwner { .. })
    ));
    // Extended past its first 200 ms lease: not reaped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(q.reap(10).await.unwrap(), (0, 0));
    q.ack("e1", &r.token).await.unwrap();
    assert!(matches!(
        q.extend("e1", &r.token, 1_000).await,
        Err(OpError::NotInFlight { .. })
    ));

    // Per-call caps: promote moves at most its limit, reap at most its limit.
    let now = xbot_redis::ops::now_ms();
    for i in 0..150 {
        q.push(
            "t",
            json!({}),
            p(5),
            Some(&format!("s{i:03}")),
            Some(now + 50),
        )
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(q.promote(100).await.unwrap(), 100, "at most 100 per call");
    assert_eq!(q.promote(100).await.unwrap(), 50);
    let mut leased = 0;
    while q.reserve(50).await.unwrap().is_some() {
        leased += 1;
    }
    assert_eq!(leased, 150);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        q.reap(60).await.unwrap(),
        (60, 0),
        "at most the limit per call"
    );
    assert_eq!(q.reap(1_000).await.unwrap(), (90, 0));
}
