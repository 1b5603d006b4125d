//! Bandit posteriors, stats counters and caches on a real redis-server.

mod support;

use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::RedisServer;
use xbot_core::keys::KeyContext;
use xbot_redis::ops::{bandit, cache, stats};
use xbot_redis::redis::Redis;

async fn connect(server: &RedisServer) -> Redis {
    Redis::connect(&server.url(), KeyContext::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn bandit_updates_are_atomic_and_selection_uses_them() {
    let server = RedisServer::start();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let redis = connect(&server).await;
        tasks.push(tokio::spawn(async move {
            bandit::update(&redis, "topic", "ai", if i % 4 == 0 { 0.0 } else { 1.0 })
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let redis = connect(&server).await;
    let arms = ["ai".to_string(), "crypto".to_string()];
    let post = bandit::posteriors(&redis, "topic", &arms).await.unwrap();
    assert_eq!(
        (post[0].alpha, post[0].beta),
        (1.0 + 75.0, 1.0 + 25.0),
        "no lost update"
    );
    assert_eq!(
        (post[1].alpha, post[1].beta),
        (1.0, 1.0),
        "an unseen arm has the prior"
    );
    let (a, b) = bandit::update(&redis, "hour", "09", 0.25).await.unwrap();
    assert_eq!((a, b), (1.25, 1.75));
    let (sel, _) = bandit::select(&redis, "topic", &arms, 42).await.unwrap();
    let again = xbot_core::bandit::thompson_select(&post, 42).unwrap();
    assert_eq!(
        sel, again,
        "the same seed gives the same choice as the core"
    );
    assert!(bandit::update(&redis, "topic", "ai", 1.5).await.is_err());
    assert!(bandit::update(&redis, "hour", "24", 1.0).await.is_err());
}

#[tokio::test]
async fn stats_hashes_get_their_ttl_when_created() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let at = 1_795_802_400_000; // 2026-11-27T18
    assert_eq!(
        stats::incr(&redis, "daily", "posts", 1, at).await.unwrap(),
        1
    );
    assert_eq!(
        stats::incr(&redis, "daily", "posts", 2, at).await.unwrap(),
        3
    );
    stats::incr(&redis, "hourly", "likes", 40, at)
        .await
        .unwrap();
    let (key, all) = stats::show(&redis, "daily", at).await.unwrap();
    assert_eq!(key, "app:stats:daily:2026-11-27");
    assert_eq!(all["posts"], 3);
    let mut c = server.conn();
    let daily: i64 = redis::cmd("TTL")
        .arg("app:stats:daily:2026-11-27")
        .query(&mut c)
        .unwrap();
    let hourly: i64 = redis::cmd("TTL")
        .arg("app:stats:hourly:2026-11-27T18")
        .query(&mut c)
        .unwrap();
    assert!(
        (604_700..=604_800).contains(&daily) && (172_700..=172_800).contains(&hourly),
        "{daily} {hourly}"
    );
    assert!(stats::incr(&redis, "weekly", "x", 1, at).await.is_err());
}

#[tokio::test]
async fn caches_bust_by_version_cap_lists_and_count_hits() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let loads = AtomicUsize::new(0);
    let load = || async {
        loads.fetch_add(1, Ordering::SeqCst);
        Ok(json!({ "flags": ["threads"] }))
    };
    assert_eq!(
        cache::config_get(&redis, "feature_flags", load)
            .await
            .unwrap(),
        json!({ "flags": ["threads"] })
    );
    cache::config_get(&redis, "feature_flags", load)
        .await
        .unwrap();
    assert_eq!(loads.load(Ordering::SeqCst), 1, "the second read is a hit");
    assert_eq!(cache::config_bump(&redis).await.unwrap(), 1);
    cache::config_get(&redis, "feature_flags", load)
        .await
        .unwrap();
    assert_eq!(
        loads.load(Ordering::SeqCst),
        2,
        "a version bump invalidates the entry"
    );
    let failing = || async {
        Err(xbot_redis::error::OpError::Protocol {
            script: "loader",
            detail: "supabase down".into(),
        })
    };
    assert!(cache::config_get(&redis, "rate_limits", failing)
        .await
        .is_err());

    assert_eq!(cache::tweet_get(&redis, "42").await.unwrap(), None);
    cache::tweet_set(&redis, "42", &json!({ "text": "hi" }))
        .await
        .unwrap();
    assert_eq!(
        cache::tweet_get(&redis, "42").await.unwrap(),
        Some(json!({ "text": "hi" }))
    );

    for i in 0..150 {
        cache::recent_push(&redis, &json!({ "id": i }))
            .await
            .unwrap();
    }
    let recent = cache::recent(&redis, 3).await.unwrap();
    assert_eq!(
        recent,
        [
            json!({ "id": 149 }),
            json!({ "id": 148 }),
            json!({ "id": 147 })
        ]
    );
    let mut c = server.conn();
    let len: usize = redis::cmd("LLEN")
        .arg("app:tweets:recent")
        .query(&mut c)
        .unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg("app:tweets:recent")
        .query(&mut c)
        .unwrap();
    assert_eq!(len, cache::RECENT_MAX);
    assert!((1_700..=1_800).contains(&ttl));
    let counters: std::collections::BTreeMap<String, i64> = redis::cmd("HGETALL")
        .arg("app:stats:cache")
        .query(&mut c)
        .unwrap();
    assert_eq!(counters["cache.config:hit"], 1);
    assert_eq!(counters["cache.config:miss"], 3);
    assert_eq!(
        (counters["cache.tweet:hit"], counters["cache.tweet:miss"]),
        (1, 1)
    );
}

#[tokio::test]
async fn temp_data_always_expires_and_model_state_is_validated() {
    use xbot_core::model::LogisticModel;
    use xbot_redis::ops::{model, temp};
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let mut c = server.conn();
    let draft = temp::set(&redis, "draft", "d1", "my draft").await.unwrap();
    let session = temp::set(&redis, "session", "s1", "{}").await.unwrap();
    assert_eq!(
        (draft.as_str(), session.as_str()),
        ("app:temp:draft:d1:1h", "app:temp:session:s1:24h")
    );
    let ttl: i64 = redis::cmd("TTL").arg(&draft).query(&mut c).unwrap();
    let ttl2: i64 = redis::cmd("TTL").arg(&session).query(&mut c).unwrap();
    assert!((3_500..=3_600).contains(&ttl) && (86_300..=86_400).contains(&ttl2));
    assert_eq!(
        temp::get(&redis, "draft", "d1").await.unwrap().as_deref(),
        Some("my draft")
    );
    assert!(temp::set(&redis, "note", "x", "y").await.is_err());

    assert_eq!(model::weights(&redis).await.unwrap(), None);
    let m = LogisticModel {
        bias: -0.5,
        weights: [("hour_9".to_string(), 0.7)].into(),
    };
    model::save_weights(&redis, &m).await.unwrap();
    assert_eq!(model::weights(&redis).await.unwrap(), Some(m));
    let stamp: String = redis::cmd("GET")
        .arg("app:model:training:last_update")
        .query(&mut c)
        .unwrap();
    assert!(xbot_core::time::parse_iso(&stamp).is_ok());
    let bad = LogisticModel {
        bias: f64::NAN,
        weights: Default::default(),
    };
    assert!(model::save_weights(&redis, &bad).await.is_err());
    let _: () = redis::cmd("SET")
        .arg("app:model:weights:v1")
        .arg("{\"bias\":\"x\"}")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        model::weights(&redis).await.unwrap_err().code(),
        "INVALID_JSON"
    );
    model::save_accuracy(&redis, 0.81).await.unwrap();
    assert!(model::save_accuracy(&redis, 1.2).await.is_err());
    assert!(xbot_core::time::parse_iso(&model::mark_ingest(&redis).await.unwrap()).is_ok());
    model::save_baseline(&redis, &serde_json::json!({ "likes": 12.5 }))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_applied_mark_survives_redelivery_and_is_cleared_by_the_ack() {
    use xbot_core::queue::{Priority, QueueName};
    use xbot_redis::ops::queue::Queue;
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let q = Queue::new(&redis, QueueName::AnalyticsProcessing);
    q.push(
        "metrics",
        json!({}),
        Priority::new(25).unwrap(),
        Some("m1"),
        None,
    )
    .await
    .unwrap();
    let first = q.reserve(100).await.unwrap().unwrap();
    assert!(!q.was_applied("m1").await.unwrap());
    q.mark_applied("m1").await.unwrap(); // then the worker "crashes" before acking
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    q.reap(10).await.unwrap();
    let _ = first;
    let mut c = server.conn();
    let _: () = redis::cmd("ZADD")
        .arg("app:queue:{analytics_processing}")
        .arg(1)
        .arg("m1")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("ZREM")
        .arg("app:queue:{analytics_processing}:delayed")
        .arg("m1")
        .query(&mut c)
        .unwrap();
    let again = q.reserve(60_000).await.unwrap().unwrap();
    assert!(
        q.was_applied("m1").await.unwrap(),
        "the redelivery sees the mark"
    );
    q.ack("m1", &again.token).await.unwrap();
    let left: bool = redis::cmd("HEXISTS")
        .arg("app:queue:{analytics_processing}:meta")
        .arg("m1:a")
        .query(&mut c)
        .unwrap();
    assert!(!left, "the ack clears the mark");
}
