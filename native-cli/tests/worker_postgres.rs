//! The worker with its Postgres sink behind a fault proxy: /healthz says 503
//! (and does not hang) while the database does not answer, /readyz is 503
//! while a shutdown drains, a table without a primary key `id` dead-letters
//! its items with the reason, and group commit really writes groups (counted
//! in round trips through the proxy).

mod support;

use serde_json::{json, Value};
use std::process::Command;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use support::pg::TestDb;
use support::proxy::{Fault, FaultProxy};
use support::{free_port, wait_for, Proc, RedisServer};
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;

fn worker(url: &str, db_url: &str, port: u16, env: &[(&str, &str)]) -> Proc {
    let mut cmd = support::worker_command(url);
    cmd.env("PORT", port.to_string())
        .env("DATABASE_URL", db_url)
        .env("XBOT_SYNC_TABLES", "tweets,nopk");
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc(cmd.spawn().unwrap())
}

/// GET /path: (status, JSON body), or None when it hangs (5 s).
fn get(port: u16, path: &str) -> Option<(u16, Value)> {
    let (status, body) = support::http_get(port, path)?;
    Some((status, serde_json::from_str(&body).ok()?))
}

async fn push(redis: &Redis, table: &str, from: usize, n: usize) {
    let q = Queue::new(redis, QueueName::SyncToSupabase);
    for i in from..from + n {
        let data =
            json!({ "table": table, "op": "upsert", "row": { "id": format!("{i}"), "text": "x" } });
        q.push(
            "row",
            data,
            Priority::new(50).unwrap(),
            Some(&format!("{table}-{i}")),
            None,
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_follow_the_database_and_the_shutdown() {
    let db = TestDb::create().await;
    let pg = db.client().await;
    pg.batch_execute("CREATE TABLE nopk (id text, text text)")
        .await
        .unwrap();
    let server = RedisServer::start();
    let redis = Redis::connect(&server.url(), KeyContext::default())
        .await
        .unwrap();
    let (hostport, addr) = support::pg::addr(&db.url);
    let proxy = FaultProxy::start(addr).await;
    let via = db
        .url
        .replace(&hostport, &format!("127.0.0.1:{}", proxy.port));
    let port = free_port();
    let mut w = worker(
        &server.url(),
        &via,
        port,
        &[("XBOT_SHUTDOWN_GRACE_MS", "20000")],
    );
    let healthy = || matches!(get(port, "/healthz"), Some((200, b)) if b["sink"] == "ok");
    tokio::task::block_in_place(|| wait_for("healthy", Duration::from_secs(20), healthy));

    // The database stops answering (no RST): /healthz answers 503, in time.
    proxy.set(Fault::Blackhole);
    let started = Instant::now();
    let (status, body) = tokio::task::block_in_place(|| get(port, "/healthz"))
        .expect("/healthz answers while the database hangs");
    assert_eq!(status, 503, "{body}");
    assert!(body["reason"].as_str().unwrap().contains("sink"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));
    proxy.set(Fault::Pass);
    tokio::task::block_in_place(|| wait_for("healthy again", Duration::from_secs(20), healthy));

    // A table without a primary key `id`: dead-lettered with the reason.
    push(&redis, "nopk", 0, 1).await;
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = q.dead(10).await.unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        dead.len(),
        1,
        "the item on a table without a primary key died"
    );
    let reason = dead[0]["error"].as_str().unwrap().to_lowercase();
    assert!(
        reason.contains("primary key") || reason.contains("on conflict"),
        "{reason}"
    );

    // An item held up by a slow database while SIGTERM arrives: not ready,
    // still healthy, and the item lands before the exit.
    proxy.set(Fault::Delay(Duration::from_millis(150)));
    push(&redis, "tweets", 0, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.terminate();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, body) =
        tokio::task::block_in_place(|| get(port, "/readyz")).expect("serving while draining");
    assert_eq!(status, 503, "not ready while draining: {body}");
    assert_eq!(w.wait_code(), Some(0));
    let n: i64 = pg
        .query_one("SELECT COUNT(*) FROM tweets WHERE id = '0'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "the item in flight was finished, not dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_writes_groups() {
    // The same 400 items drained twice into fresh databases, unbatched
    // (XBOT_PG_BATCH=1) and batched: the batched run needs far fewer round
    // trips to the database.
    let mut round_trips = Vec::new();
    for batch in ["1", "64"] {
        let db = TestDb::create().await;
        let server = RedisServer::start();
        let redis = Redis::connect(&server.url(), KeyContext::default())
            .await
            .unwrap();
        push(&redis, "tweets", 0, 400).await;
        let (hostport, addr) = support::pg::addr(&db.url);
        let proxy = FaultProxy::start(addr).await;
        let via = db
            .url
            .replace(&hostport, &format!("127.0.0.1:{}", proxy.port));
        let out = Command::new(env!("CARGO_BIN_EXE_xbot-redis"))
            .args(["--json", "--redis-url", &server.url(), "worker", "--drain"])
            .env("DATABASE_URL", &via)
            .env("PORT", "0")
            .env("XBOT_QUEUES", "sync_to_supabase:32")
            .env("XBOT_PG_BATCH", batch)
            .env_remove("REDIS_PREFIX")
            .env_remove("APP_ENV")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n: i64 = db
            .client()
            .await
            .query_one("SELECT COUNT(*) FROM tweets", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 400);
        round_trips.push(proxy.counts.chunks_up.load(Relaxed));
    }
    let (unbatched, batched) = (round_trips[0], round_trips[1]);
    assert!(unbatched >= 400, "one write per item at least: {unbatched}");
    assert!(
        batched * 3 < unbatched,
        "group commit: {batched} round trips batched vs {unbatched} unbatched"
    );
    eprintln!("round trips to Postgres for 400 items: {unbatched} unbatched, {batched} batched");
}
