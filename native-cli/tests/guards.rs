//! Locks, rate limits and dedup markers against real redis-server processes.

mod support;

use std::time::Duration;
use support::RedisServer;
use xbot_core::keys::KeyContext;
use xbot_core::ratelimit::{Limiter, RateLimits};
use xbot_redis::ops::{dedup, lock, ratelimit};
use xbot_redis::redis::Redis;

async fn connect(server: &RedisServer) -> Redis {
    Redis::connect(&server.url(), KeyContext::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hundred_concurrent_marks_make_exactly_one_new() {
    let server = RedisServer::start();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let redis = connect(&server).await;
        tasks.push(tokio::spawn(async move {
            dedup::mark(
                &redis,
                "  Same   TWEET text ",
                &format!("tweet-{i}"),
                "dedup.tweet",
            )
            .await
            .unwrap()
        }));
    }
    let mut marks = Vec::new();
    for t in tasks {
        marks.push(t.await.unwrap());
    }
    let winners: Vec<_> = marks.iter().filter(|m| m.new).collect();
    assert_eq!(winners.len(), 1);
    let holder = format!("tweet-{}", (0..100).find(|i| marks[*i].new).unwrap());
    assert!(marks
        .iter()
        .filter(|m| !m.new)
        .all(|m| m.holder.as_deref() == Some(holder.as_str())));
    let ttl: i64 = redis::cmd("TTL")
        .arg(&marks[0].key)
        .query(&mut server.conn())
        .unwrap();
    assert!(
        (86_000..=86_400).contains(&ttl),
        "dedup.tweet lives 24h: {ttl}"
    );
}

#[tokio::test]
async fn dedup_fails_closed_when_redis_is_down() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    drop(server); // killed
    let r = dedup::mark(&redis, "text", "t1", "content_hash.sha256").await;
    assert!(
        r.is_err(),
        "an unreachable Redis is an error, never \"not a duplicate\": {r:?}"
    );
}

#[tokio::test]
async fn locks_are_exclusive_owned_and_fenced() {
    let server = RedisServer::start();
    let a = connect(&server).await;
    let b = connect(&server).await;
    let first = lock::acquire(&a, "sync_in_progress", Some(200))
        .await
        .unwrap()
        .expect("free");
    assert!(
        lock::acquire(&b, "sync_in_progress", None)
            .await
            .unwrap()
            .is_none(),
        "held"
    );
    assert!(!lock::release(&b, "sync_in_progress", "not-the-owner")
        .await
        .unwrap());
    assert!(!lock::extend(&b, "sync_in_progress", "not-the-owner", None)
        .await
        .unwrap());
    assert!(
        lock::extend(&a, "sync_in_progress", &first.token, Some(200))
            .await
            .unwrap()
    );
    // The lease runs out: another owner gets it with a larger fence, and the
    // old owner can no longer release it.
    tokio::time::sleep(Duration::from_millis(260)).await;
    let second = lock::acquire(&b, "sync_in_progress", None)
        .await
        .unwrap()
        .expect("expired");
    assert!(second.fence > first.fence);
    assert_eq!(
        second.lease_ms, 600_000,
        "sync lock default lease = its 10 min TTL"
    );
    assert!(!lock::release(&a, "sync_in_progress", &first.token)
        .await
        .unwrap());
    assert!(lock::release(&b, "sync_in_progress", &second.token)
        .await
        .unwrap());
    let third = lock::acquire(&a, "sync_in_progress", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.fence, second.fence + 1);
    // Locks are independent.
    assert!(lock::acquire(&a, "posting_in_progress", None)
        .await
        .unwrap()
        .is_some());
    assert!(lock::acquire(&a, "nope", None).await.is_err());
}

#[tokio::test]
async fn rate_limits_count_only_allowed_attempts_and_always_expire() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let mut c = server.conn();
    let _: () = redis::cmd("SET")
        .arg("app:cache:config:rate_limits")
        .arg(r#"{"apiPerMinute": 5}"#)
        .query(&mut c)
        .unwrap();
    let limits = ratelimit::limits(&redis).await.unwrap();
    assert_eq!(
        limits,
        RateLimits {
            posting_per_hour: 12,
            api_per_minute: 5
        }
    );
    // All eight hits in one window: a run that would start in the last
    // second of a minute waits for the next one first.
    let into_minute = xbot_redis::ops::now_ms() % 60_000;
    if into_minute > 59_000 {
        tokio::time::sleep(std::time::Duration::from_millis(60_000 - into_minute + 20)).await;
    }
    let mut decisions = Vec::new();
    for _ in 0..8 {
        decisions.push(ratelimit::hit(&redis, Limiter::Api, &limits).await.unwrap());
    }
    assert!(
        decisions.iter().all(|d| d.key == decisions[0].key),
        "one window"
    );
    let allowed: Vec<bool> = decisions.iter().map(|d| d.allowed).collect();
    assert_eq!(allowed, [true, true, true, true, true, false, false, false]);
    assert_eq!(decisions[7].count, 5, "denied attempts are not counted");
    assert_eq!(decisions[4].remaining, 0);
    let stored: u64 = redis::cmd("GET")
        .arg(&decisions[0].key)
        .query(&mut c)
        .unwrap();
    assert_eq!(stored, 5);
    let d = &decisions[0];
    assert!(d.key.starts_with("app:rate_limit:api:") && d.reset_at_ms % 60_000 == 0);
    let ttl: i64 = redis::cmd("TTL").arg(&d.key).query(&mut c).unwrap();
    assert!((1..=60).contains(&ttl), "the counter has a TTL: {ttl}");
    // A counter left without a TTL (by the old bot) gets one on the next hit.
    let posting = ratelimit::hit(&redis, Limiter::Posting, &limits)
        .await
        .unwrap();
    let _: () = redis::cmd("PERSIST")
        .arg(&posting.key)
        .query(&mut c)
        .unwrap();
    ratelimit::hit(&redis, Limiter::Posting, &limits)
        .await
        .unwrap();
    let ttl: i64 = redis::cmd("TTL").arg(&posting.key).query(&mut c).unwrap();
    assert!((1..=3_600).contains(&ttl), "healed TTL: {ttl}");
    // Bad configuration is an error naming the key, not silently ignored.
    let _: () = redis::cmd("SET")
        .arg("app:cache:config:rate_limits")
        .arg("{oops")
        .query(&mut c)
        .unwrap();
    let e = ratelimit::limits(&redis).await.unwrap_err();
    assert!(e.to_string().contains("cache:config:rate_limits"), "{e}");
}
