//! The queue, lock, rate-limit, dedup and bandit protocols on a real
//! 3-master Redis Cluster: every script's keys share one hash slot.

mod support;

use serde_json::json;
use std::collections::HashSet;
use support::RedisCluster;
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueName};
use xbot_core::ratelimit::{Limiter, RateLimits};
use xbot_redis::ops::queue::Queue;
use xbot_redis::ops::{bandit, dedup, keyspace, lock, ratelimit};
use xbot_redis::redis::Redis;

#[tokio::test]
async fn every_protocol_runs_on_a_three_master_cluster() {
    let cluster = RedisCluster::start();
    let redis = Redis::connect(
        &cluster.url(),
        KeyContext::resolve(Some("prod:"), None).unwrap(),
    )
    .await
    .unwrap();
    assert!(redis.is_cluster());

    // Queues: three queues land on (up to) three different slots.
    for name in QueueName::ALL {
        let q = Queue::new(&redis, name);
        for i in 0..300 {
            q.push(
                "item",
                json!(i),
                Priority::new(i % 3 * 10).unwrap(),
                None,
                None,
            )
            .await
            .unwrap();
        }
        let s = q.stats().await.unwrap();
        assert_eq!(s.ready, 300);
    }
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let url = cluster.url();
        tasks.push(tokio::spawn(async move {
            let redis = Redis::connect(&url, KeyContext::resolve(Some("prod:"), None).unwrap())
                .await
                .unwrap();
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
    assert_eq!(
        (all.len(), all.iter().collect::<HashSet<_>>().len()),
        (300, 300)
    );
    let q = Queue::new(&redis, QueueName::AnalyticsProcessing);
    let r = q.reserve(60_000).await.unwrap().unwrap();
    let f = q.fail(&r.item.id, &r.token, "boom").await.unwrap();
    assert_eq!((f.outcome, f.attempts), ("retry", 1));
    assert_eq!(q.reap(10).await.unwrap(), (0, 0));

    // Locks, rate limits, dedup, bandit.
    let l = lock::acquire(&redis, "posting_in_progress", None)
        .await
        .unwrap()
        .unwrap();
    assert!(lock::acquire(&redis, "posting_in_progress", None)
        .await
        .unwrap()
        .is_none());
    assert!(lock::release(&redis, "posting_in_progress", &l.token)
        .await
        .unwrap());
    let limits = RateLimits {
        posting_per_hour: 2,
        api_per_minute: 60,
    };
    // Exactly two allowed, then denied, within one window: a run that would
    // start in the last 2 s of an hour waits for the next one first.
    let into_hour = xbot_redis::ops::now_ms() % 3_600_000;
    if into_hour > 3_598_000 {
        tokio::time::sleep(std::time::Duration::from_millis(3_600_000 - into_hour + 50)).await;
    }
    let mut hits = Vec::new();
    for _ in 0..3 {
        hits.push(
            ratelimit::hit(&redis, Limiter::Posting, &limits)
                .await
                .unwrap(),
        );
    }
    assert!(hits.iter().all(|h| h.reset_at_ms == hits[0].reset_at_ms));
    assert_eq!(
        hits.iter().map(|h| h.allowed).collect::<Vec<_>>(),
        [true, true, false]
    );
    assert!(
        dedup::mark(&redis, "cluster text", "t1", "content_hash.sha256")
            .await
            .unwrap()
            .new
    );
    assert!(
        !dedup::mark(&redis, "CLUSTER  text", "t2", "content_hash.sha256")
            .await
            .unwrap()
            .new
    );
    assert_eq!(
        bandit::update(&redis, "tag", "rust", 1.0).await.unwrap(),
        (2.0, 1.0)
    );

    // Keyspace walks visit every master.
    let audit = keyspace::audit(&redis).await.unwrap();
    assert_eq!(audit.families["bandit.tag.alpha"].keys, 1);
    assert!(audit.scanned >= 4, "{audit:?}");
}
