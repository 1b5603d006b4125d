//! Batched leasing (`queue_reserve_many`) against real redis-server
//! processes: order across batches, partial batches, mixed ack / fail /
//! release in one call, a lost lease inside a batch, a consumer that dies
//! holding a batch, concurrent batch reservers.

mod support;

use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use support::RedisServer;
use xbot_core::keys::{queue_keys, KeyContext};
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::error::OpError;
use xbot_redis::ops::queue::{Finished, Outcome, Queue, Reserved};
use xbot_redis::redis::Redis;

async fn connect(server: &RedisServer) -> Redis {
    Redis::connect(&server.url(), KeyContext::default())
        .await
        .unwrap()
}

fn p(n: u64) -> Priority {
    Priority::new(n).unwrap()
}

fn acks(batch: &[Reserved]) -> Vec<Finished> {
    batch
        .iter()
        .map(|r| Finished::new(r, Outcome::Ack))
        .collect()
}

#[tokio::test]
async fn batches_come_out_by_priority_then_fifo_across_batch_boundaries() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::AnalyticsProcessing);
    let ready = &queue_keys(QueueName::AnalyticsProcessing, &KeyContext::default())[0];
    let mut expected = Vec::new();
    for i in 0..2_000u64 {
        let prio = (i * 7919) % 100; // priorities 0-99, interleaved
        let r = q
            .push("metrics", json!({ "i": i }), p(prio), None, None)
            .await
            .unwrap();
        expected.push((prio, i, r.id));
    }
    expected.sort_by_key(|(prio, i, _)| (std::cmp::Reverse(*prio), *i));
    let mut expected: Vec<String> = expected.into_iter().map(|(_, _, id)| id).collect();
    // Six items sharing one score at priority 100 (more than 16 pushes in a
    // millisecond do): smallest id first, even when a batch cuts the run.
    let tied = ["m-05", "m-02", "m-06", "m-01", "m-04", "m-03"];
    for id in tied {
        q.push("metrics", json!({}), p(100), Some(id), None)
            .await
            .unwrap();
        let _: () = redis::cmd("ZADD")
            .arg(ready)
            .arg("XX")
            .arg(100u64 << 46)
            .arg(id)
            .query(&mut server.conn())
            .unwrap();
    }
    let mut sorted: Vec<String> = tied.iter().map(|s| s.to_string()).collect();
    sorted.sort();
    expected.splice(0..0, sorted);

    let mut got = Vec::new();
    let mut finished = Vec::new();
    for size in [4usize, 1, 7, 64, 3].iter().cycle() {
        let batch = q.reserve_many(60_000, *size, &finished).await.unwrap();
        assert!(batch.settled.iter().all(|s| matches!(s, Ok(None))));
        assert!(batch.leased.len() <= *size);
        if batch.leased.is_empty() {
            break;
        }
        let tokens: HashSet<_> = batch.leased.iter().map(|r| r.token.clone()).collect();
        assert_eq!(tokens.len(), batch.leased.len(), "one token per item");
        got.extend(batch.leased.iter().map(|r| r.item.id.clone()));
        finished = acks(&batch.leased);
    }
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
    let s = q.stats().await.unwrap();
    assert_eq!(
        (s.ready, s.in_flight),
        (0, 0),
        "the last batch's acks went with the empty call"
    );
}

#[tokio::test]
async fn eight_batch_reservers_never_share_an_item() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    for i in 0..4_000 {
        q.push("row", json!(i), p(50), None, None).await.unwrap();
    }
    let mut tasks = Vec::new();
    for t in 0..8usize {
        let redis = connect(&server).await;
        tasks.push(tokio::spawn(async move {
            let q = Queue::new(&redis, QueueName::SyncToSupabase);
            let mut got = Vec::new();
            let mut finished = Vec::new();
            loop {
                let batch = q.reserve_many(60_000, 1 + t * 5, &finished).await.unwrap();
                assert!(batch.settled.iter().all(|s| matches!(s, Ok(None))));
                if batch.leased.is_empty() {
                    return got;
                }
                got.extend(batch.leased.iter().map(|r| r.item.id.clone()));
                finished = acks(&batch.leased);
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (4_000, 4_000));
    let s = q.stats().await.unwrap();
    assert_eq!((s.ready, s.in_flight, s.delayed, s.dead), (0, 0, 0, 0));
}

#[tokio::test]
async fn one_call_settles_acks_fails_releases_and_refuses_only_the_lost_leases() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    let keys = queue_keys(QueueName::SyncToSupabase, &KeyContext::default());
    for id in ["a", "b", "c", "d", "e", "f"] {
        q.push("row", json!({}), p(50), Some(id), None)
            .await
            .unwrap();
    }
    let batch = q.reserve_many(60_000, 6, &[]).await.unwrap().leased;
    let ids: Vec<_> = batch.iter().map(|r| r.item.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e", "f"]);
    let mut c = server.conn();
    // d's lease ran out and was reaped; e was reaped and leased by another consumer.
    let _: () = redis::cmd("ZADD")
        .arg(&keys[3])
        .arg("XX")
        .arg(0)
        .arg("d")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(&keys[3])
        .arg("XX")
        .arg(0)
        .arg("e")
        .query(&mut c)
        .unwrap();
    assert_eq!(q.reap(100).await.unwrap(), (2, 0));
    let _: () = redis::cmd("ZREM")
        .arg(&keys[4])
        .arg("e")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(&keys[2])
        .arg("e:t")
        .arg("someone-else")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(&keys[3])
        .arg(i64::MAX >> 12)
        .arg("e")
        .query(&mut c)
        .unwrap();

    let by = |id: &str| batch.iter().find(|r| r.item.id == id).unwrap();
    let finished = [
        Finished::new(by("a"), Outcome::Ack),
        Finished::new(by("b"), Outcome::Fail("boom".into())),
        Finished::new(by("c"), Outcome::Release),
        Finished::new(by("d"), Outcome::Ack),
        Finished::new(by("e"), Outcome::Ack),
        Finished::new(by("a"), Outcome::Ack),
        Finished::new(by("f"), Outcome::Bury("never works".into())),
    ];
    let out = q.reserve_many(60_000, 0, &finished).await.unwrap();
    assert!(out.leased.is_empty(), "N = 0 leases nothing");
    assert!(matches!(out.settled[0], Ok(None)));
    let Ok(Some(failed)) = &out.settled[1] else {
        panic!("{:?}", out.settled[1])
    };
    assert_eq!((failed.outcome, failed.attempts), ("retry", 1));
    assert!(matches!(out.settled[2], Ok(None)));
    assert!(matches!(out.settled[3], Err(OpError::NotInFlight { .. })));
    assert!(matches!(out.settled[4], Err(OpError::NotOwner { .. })));
    assert!(
        matches!(out.settled[5], Err(OpError::NotInFlight { .. })),
        "one ack per lease"
    );
    let Ok(Some(dead)) = &out.settled[6] else {
        panic!("{:?}", out.settled[6])
    };
    assert_eq!((dead.outcome, dead.attempts), ("dead", 1));

    let s = q.stats().await.unwrap();
    // c ready again; b and d delayed; e still in flight (its new owner's); f dead; a gone.
    assert_eq!((s.ready, s.delayed, s.in_flight, s.dead), (1, 2, 1, 1));
    let fields: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(&keys[2])
        .arg(&["b:e", "b:r", "c:r", "c:t", "a:p", "f:e"])
        .query(&mut c)
        .unwrap();
    assert_eq!(
        fields,
        [
            Some("boom".into()),
            Some("1".into()),
            None,
            None,
            None,
            Some("never works".into())
        ]
    );
    let a: Option<String> = redis::cmd("HGET")
        .arg(&keys[1])
        .arg("a")
        .query(&mut c)
        .unwrap();
    assert_eq!(a, None, "the acked item is removed");
    let again = q.reserve_many(60_000, 5, &[]).await.unwrap().leased;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].item.id.as_str(), again[0].item.retry_count),
        ("c", 0),
        "a release is not an attempt"
    );
}

#[tokio::test]
async fn a_consumer_that_dies_holding_a_batch_loses_and_repeats_nothing() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    for i in 0..30 {
        q.push("row", json!(i), p(50), Some(&format!("it-{i:02}")), None)
            .await
            .unwrap();
    }
    // Leases 10 for 100 ms and is never heard from again.
    let held = q.reserve_many(100, 10, &[]).await.unwrap().leased;
    assert_eq!(held.len(), 10);
    // Another consumer meanwhile takes the rest and acks it.
    let rest = q.reserve_many(60_000, 100, &[]).await.unwrap().leased;
    assert_eq!(rest.len(), 20);
    q.reserve_many(60_000, 0, &acks(&rest)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        q.reap(100).await.unwrap(),
        (10, 0),
        "each held item stalled once"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await; // the stall backoff: 1 s
    let back = q.reserve_many(60_000, 100, &[]).await.unwrap().leased;
    let mut ids: Vec<_> = back.iter().map(|r| r.item.id.clone()).collect();
    ids.sort();
    let mut want: Vec<_> = held.iter().map(|r| r.item.id.clone()).collect();
    want.sort();
    assert_eq!(ids, want, "exactly the held items come back, once");
    assert!(
        back.iter().all(|r| r.item.retry_count == 0),
        "a stall is not a failed attempt"
    );
    // The dead consumer's tokens are refused; the new ones settle.
    let stale = q.reserve_many(60_000, 0, &acks(&held)).await.unwrap();
    assert!(stale
        .settled
        .iter()
        .all(|s| matches!(s, Err(OpError::NotOwner { .. }))));
    let done = q.reserve_many(60_000, 0, &acks(&back)).await.unwrap();
    assert!(done.settled.iter().all(|s| matches!(s, Ok(None))));
    let s = q.stats().await.unwrap();
    assert_eq!((s.ready, s.in_flight, s.delayed, s.dead), (0, 0, 0, 0));
}

#[tokio::test]
async fn bad_batches_are_refused_before_any_write() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    q.push("row", json!({}), p(50), Some("x"), None)
        .await
        .unwrap();
    let e = q.reserve_many(60_000, 1_001, &[]).await.unwrap_err();
    assert_eq!(e.code(), "INVALID_PARAM", "{e}");
    assert!(e.to_string().contains("from 0 to 1000"), "{e}");
    // The script checks its own arguments (the TS client calls it too).
    let keys = queue_keys(QueueName::SyncToSupabase, &KeyContext::default());
    let source = xbot_core::scripts::get("queue_reserve_many")
        .unwrap()
        .source;
    let mut c = server.conn();
    for (args, fragment) in [
        (
            vec!["60000", "tok", "100", "1", "x", "t", "maybe", ""],
            "outcome must be",
        ),
        (
            vec!["60000", "tok", "100", "1", "x", "t", "2.5", ""],
            "outcome must be",
        ),
        (
            vec!["60000", "tok", "100", "1", "", "t", "ack", ""],
            "id and token",
        ),
        (
            vec!["60000", "tok", "100", "1", "x", "t", "ack"],
            "groups of",
        ),
        (vec!["60000", "tok", "100", "-1"], "N must be"),
        (vec!["0", "tok", "100", "1"], "lease"),
    ] {
        let e = redis::cmd("EVAL")
            .arg(source)
            .arg(7)
            .arg(keys.as_slice())
            .arg(&args)
            .query::<redis::Value>(&mut c)
            .unwrap_err();
        assert!(e.to_string().contains(fragment), "{args:?}: {e}");
    }
    let s = q.stats().await.unwrap();
    assert_eq!((s.ready, s.in_flight), (1, 0), "nothing moved");
}
