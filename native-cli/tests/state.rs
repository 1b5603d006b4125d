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

/// Moves an expired, reaped item from delayed straight back to ready (the
/// reaper's backoff would otherwise make the test wait).
fn make_ready_now(c: &mut redis::Connection, id: &str) {
    let _: () = redis::cmd("ZADD")
        .arg("app:queue:{analytics_processing}")
        .arg(1)
        .arg(id)
        .query(c)
        .unwrap();
    let _: () = redis::cmd("ZREM")
        .arg("app:queue:{analytics_processing}:delayed")
        .arg(id)
        .query(c)
        .unwrap();
}

#[tokio::test]
async fn a_plan_is_fixed_by_its_first_owner_and_each_effect_applies_once() {
    use xbot_core::effects::{Effect, Plan};
    use xbot_core::queue::{Priority, QueueName};
    use xbot_redis::error::OpError;
    use xbot_redis::ops::effects::{apply_once, apply_plan, Outcome};
    use xbot_redis::ops::queue::Queue;
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let mut c = server.conn();
    let q = Queue::new(&redis, QueueName::AnalyticsProcessing);
    let daily = "app:stats:daily:2026-12-01".to_string();
    let plan = |scope: &str, likes: i64| Plan {
        scope: scope.into(),
        effects: vec![
            Effect::Stats {
                key: daily.clone(),
                ttl: 3_600,
                fields: vec![("likes".into(), likes), ("tweets_measured".into(), 1)],
            },
            Effect::Bandit {
                alpha: "app:bandit:topic:{ai}:alpha".into(),
                beta: "app:bandit:topic:{ai}:beta".into(),
                reward: 0.25,
                prior: (1.0, 1.0),
            },
        ],
    };
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
    let p1 = q
        .plan("m1", &first.token, &plan(&first.token, 7))
        .await
        .unwrap();
    assert_eq!(p1, plan(&first.token, 7));
    // The first owner applies the first effect, then "crashes".
    assert!(matches!(
        apply_once(&redis, &p1.scope, &p1.effects[0]).await.unwrap(),
        Outcome::Applied(_)
    ));
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(q.reap(10).await.unwrap(), (1, 0), "a stall");
    make_ready_now(&mut c, "m1");
    let second = q.reserve(60_000).await.unwrap().unwrap();
    // The redelivery computed other values (the clock moved): the stored plan wins.
    let p2 = q
        .plan("m1", &second.token, &plan(&second.token, 99))
        .await
        .unwrap();
    assert_eq!(p2, p1, "the first owner's plan is kept");
    // The first owner lost its lease: it can neither read nor store a plan.
    assert!(matches!(
        q.plan("m1", &first.token, &plan(&first.token, 1)).await,
        Err(OpError::NotOwner { .. })
    ));
    assert_eq!(apply_plan(&redis, &p2, || true).await.unwrap(), (1, 1));
    // A late effect from the old owner (same plan) changes nothing.
    assert_eq!(
        apply_once(&redis, &p1.scope, &p1.effects[1]).await.unwrap(),
        Outcome::AlreadyApplied
    );
    let likes: i64 = redis::cmd("HGET")
        .arg(&daily)
        .arg("likes")
        .query(&mut c)
        .unwrap();
    let alpha: f64 = redis::cmd("GET")
        .arg("app:bandit:topic:{ai}:alpha")
        .query(&mut c)
        .unwrap();
    let beta: f64 = redis::cmd("GET")
        .arg("app:bandit:topic:{ai}:beta")
        .query(&mut c)
        .unwrap();
    assert_eq!((likes, alpha, beta), (7, 1.25, 1.75));
    // Marks live beside their target, with the target's TTL.
    let marks = format!("app:fx:{{{daily}}}");
    let ttl: i64 = redis::cmd("TTL").arg(&marks).query(&mut c).unwrap();
    assert!((3_590..=3_600).contains(&ttl), "marks TTL {ttl}");
    let ids: Vec<String> = redis::cmd("ZRANGE")
        .arg(&marks)
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(ids, [format!("{}|{daily}", first.token)]);
    // The ack deletes the plan; the same id pushed again is a new item with new effects.
    q.ack("m1", &second.token).await.unwrap();
    let left: bool = redis::cmd("HEXISTS")
        .arg("app:queue:{analytics_processing}:meta")
        .arg("m1:x")
        .query(&mut c)
        .unwrap();
    assert!(!left, "the ack clears the plan");
    q.push(
        "metrics",
        json!({}),
        Priority::new(25).unwrap(),
        Some("m1"),
        None,
    )
    .await
    .unwrap();
    let third = q.reserve(60_000).await.unwrap().unwrap();
    let p3 = q
        .plan("m1", &third.token, &plan(&third.token, 5))
        .await
        .unwrap();
    assert_eq!(apply_plan(&redis, &p3, || true).await.unwrap(), (2, 0));
    let likes: i64 = redis::cmd("HGET")
        .arg(&daily)
        .arg("likes")
        .query(&mut c)
        .unwrap();
    assert_eq!(likes, 12);
    // A plan is validated by the script too: the bot's own calls cannot store garbage.
    let bad: Result<redis::Value, _> = redis::cmd("EVAL")
        .arg(xbot_core::scripts::get("queue_plan").unwrap().source)
        .arg(7)
        .arg(xbot_core::keys::queue_keys(QueueName::AnalyticsProcessing, &redis.ctx).as_slice())
        .arg("m1")
        .arg(&third.token)
        .arg("not json")
        .query(&mut c);
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("must be a JSON object"));
}

#[tokio::test]
async fn idempotency_ids_make_cli_effects_apply_once() {
    use xbot_redis::ops::{bandit, stats};
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let at = 1_764_547_200_000; // 2025-12-01T00:00Z
    assert_eq!(
        stats::incr_once(&redis, "daily", "likes", 5, at, "req-1")
            .await
            .unwrap(),
        (5, true)
    );
    assert_eq!(
        stats::incr_once(&redis, "daily", "likes", 5, at, "req-1")
            .await
            .unwrap(),
        (5, false),
        "a retry with the same id"
    );
    assert_eq!(
        stats::incr_once(&redis, "daily", "likes", 2, at, "req-2")
            .await
            .unwrap(),
        (7, true)
    );
    assert_eq!(
        bandit::update_once(&redis, "topic", "ai", 0.5, "r1")
            .await
            .unwrap(),
        (1.5, 1.5, true)
    );
    assert_eq!(
        bandit::update_once(&redis, "topic", "ai", 0.5, "r1")
            .await
            .unwrap(),
        (1.5, 1.5, false)
    );
    // Same id, other target sharing the marks set ({ai}): its own effect.
    assert_eq!(
        bandit::update_once(&redis, "tag", "ai", 1.0, "r1")
            .await
            .unwrap(),
        (2.0, 1.0, true)
    );
    for bad in ["", "a|b"] {
        let e = stats::incr_once(&redis, "daily", "likes", 1, at, bad)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "INVALID_EFFECT", "{bad:?}");
    }
}
