//! The worker process as deployed: real binary, real redis-server, SQLite sink.

mod support;

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{free_port, RedisServer};
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;
use xbot_redis::worker::sink::{SinkError, SqliteSink, SyncOp};

fn worker(url: &str, port: u16, sqlite: &std::path::Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_xbot-redis"))
        .args(["--json", "--redis-url", url, "worker"])
        .args(args)
        .env("PORT", port.to_string())
        .env("XBOT_SQLITE_PATH", sqlite)
        .env_remove("REDIS_PREFIX")
        .env_remove("APP_ENV")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    support::http_get(port, path)
}

fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if matches!(get(port, "/readyz"), Some((200, _))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the worker never became ready");
}

async fn push_rows(url: &str, n: usize) {
    let redis = Redis::connect(url, KeyContext::default()).await.unwrap();
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    for i in 0..n {
        let data = json!({ "table": "tweets", "op": "upsert", "row": { "id": format!("t{i}"), "text": "x".repeat(200) } });
        q.push(
            "tweet_upsert",
            data,
            Priority::new(50).unwrap(),
            Some(&format!("item-{i}")),
            None,
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn sigterm_drains_without_losing_an_item() {
    let server = RedisServer::start();
    let dir = tempdir();
    push_rows(&server.url(), 3_000).await;
    let port = free_port();
    let mut child = worker(&server.url(), port, &dir.join("s.sqlite3"), &[]);
    wait_ready(port);
    // SIGTERM once the worker is visibly under way (100+ rows), not after a
    // guessed sleep: it stops reserving at once, so most items stay queued.
    let db = dir.join("s.sqlite3");
    let started = std::time::Instant::now();
    loop {
        // Read the file directly (a sink's async count needs a runtime turn
        // this poll cannot give it); a locked or missing table reads as 0.
        let n: i64 = rusqlite::Connection::open(&db)
            .ok()
            .and_then(|c| {
                c.query_row("SELECT COUNT(*) FROM xbot_applied", [], |r| r.get(0))
                    .ok()
            })
            .unwrap_or(0);
        if n >= 100 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the worker never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A signal that could not be sent fails here instead of hanging the wait.
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "SIGTERM sent");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0), "a graceful shutdown exits 0");
    let redis = Redis::connect(&server.url(), KeyContext::default())
        .await
        .unwrap();
    let s = Queue::new(&redis, QueueName::SyncToSupabase)
        .stats()
        .await
        .unwrap();
    let sink = SqliteSink::open(&dir.join("s.sqlite3"), &["tweets".to_string()]).unwrap();
    assert_eq!(s.in_flight, 0, "nothing left in flight");
    assert_eq!(s.dead, 0);
    // By id: every item is applied or waiting, never both, never neither.
    let applied: std::collections::BTreeSet<String> = sink
        .rows("tweets", 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut c = server.conn();
    let mut waiting = std::collections::BTreeSet::new();
    for set in [
        "app:queue:{sync_to_supabase}",
        "app:queue:{sync_to_supabase}:delayed",
    ] {
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(set)
            .arg(0)
            .arg(-1)
            .query(&mut c)
            .unwrap();
        waiting.extend(ids.into_iter().map(|id| id.replacen("item-", "t", 1)));
    }
    let all: std::collections::BTreeSet<String> = (0..3_000).map(|i| format!("t{i}")).collect();
    assert!(
        applied.is_disjoint(&waiting),
        "an item both applied and waiting"
    );
    let union: std::collections::BTreeSet<String> = applied.union(&waiting).cloned().collect();
    assert_eq!(union, all, "every item applied or waiting");
    assert!(
        (100..2_000).contains(&applied.len()),
        "the shutdown interrupted the run: {} applied",
        applied.len()
    );
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let server = RedisServer::start();
    let dir = tempdir();
    push_rows(&server.url(), 20).await;
    let port = free_port();
    let mut child = worker(&server.url(), port, &dir.join("m.sqlite3"), &[]);
    wait_ready(port);
    let (code, body) = get(port, "/healthz").unwrap();
    let h: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((code, h["status"].as_str()), (200, Some("ok")));
    // Let it finish the 20 items, then scrape.
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let (_, m) = get(port, "/metrics").unwrap();
        if m.contains("xbot_items_total{queue=\"sync_to_supabase\",outcome=\"processed\"} 20")
            || Instant::now() > deadline
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        metrics.contains("xbot_items_total{queue=\"sync_to_supabase\",outcome=\"processed\"} 20"),
        "{metrics}"
    );
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line}"));
        assert!(name.starts_with("xbot_"), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    assert!(metrics.contains("xbot_queue_items{queue=\"sync_to_supabase\",state=\"ready\"} 0"));
    assert!(metrics.contains("xbot_item_latency_seconds_count{queue=\"sync_to_supabase\"} 20"));
    assert!(metrics.contains("xbot_redis_up 1"));
    // The dashboard on the same port: its page and API (read-only without a token).
    let (code, page) = get(port, "/").unwrap();
    assert_eq!(code, 200);
    assert!(
        page.contains("<title>xbot-redis dashboard</title>"),
        "{page}"
    );
    let (code, session) = get(port, "/api/session").unwrap();
    let s: Value = serde_json::from_str(&session).unwrap();
    assert_eq!(
        (code, &s["role"], &s["readOnly"]),
        (200, &json!("none"), &json!(true))
    );
    let (code, overview) = get(port, "/api/overview").unwrap();
    let o: Value = serde_json::from_str(&overview).unwrap();
    assert_eq!(
        (code, &o["queues"][0]["queue"]),
        (200, &json!("sync_to_supabase"))
    );
    // Redis goes away: health says so with a reason.
    drop(server);
    let (code, body) = get(port, "/healthz").unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("redis"));
    // ... and the consumers' failed reserves are counted under their key family.
    let deadline = Instant::now() + Duration::from_secs(15);
    let metrics = loop {
        let (_, m) = get(port, "/metrics").unwrap();
        if m.contains("xbot_redis_errors_total{family=\"queue.sync_to_supabase\"}")
            || Instant::now() > deadline
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let errors: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("xbot_redis_errors_total{family=\"queue.sync_to_supabase\"} "))
        .unwrap_or_else(|| panic!("no error counter for the queue family: {metrics}"))
        .parse()
        .unwrap();
    assert!(errors >= 1.0);
    assert!(metrics.contains("xbot_redis_up 0"), "{metrics}");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn the_sink_applies_each_item_once_and_rejects_bad_rows() {
    let dir = tempdir();
    let sink = SqliteSink::open(&dir.join("l.sqlite3"), &["tweets".to_string()]).unwrap();
    let op = |row: Value| {
        SyncOp::parse(&json!({ "table": "tweets", "op": "upsert", "row": row })).unwrap()
    };
    assert!(sink
        .apply("item-1", op(json!({ "id": "1", "v": 1 })))
        .await
        .unwrap());
    assert!(
        !sink
            .apply("item-1", op(json!({ "id": "1", "v": 2 })))
            .await
            .unwrap(),
        "a redelivery is skipped"
    );
    assert!(
        sink.apply("item-2", op(json!({ "id": "1", "v": 3 })))
            .await
            .unwrap(),
        "an upsert of the same row"
    );
    assert_eq!(
        sink.rows("tweets", 10).await.unwrap(),
        [("1".to_string(), json!({ "id": "1", "v": 3 }))]
    );
    let insert =
        SyncOp::parse(&json!({ "table": "tweets", "op": "insert", "row": { "id": "1" } })).unwrap();
    assert!(
        matches!(
            sink.apply("item-3", insert).await,
            Err(SinkError::Permanent(_))
        ),
        "duplicate insert"
    );
    let other = SyncOp::parse(&json!({ "table": "users", "row": { "id": 1 } })).unwrap();
    assert!(
        matches!(sink.apply("item-4", other).await, Err(SinkError::Permanent(m)) if m.contains("XBOT_SYNC_TABLES"))
    );
    for bad in [
        json!({ "row": {} }),
        json!({ "table": "tweets", "row": { "text": "no id" } }),
        json!({ "table": "tweets", "op": "merge", "row": { "id": 1 } }),
    ] {
        assert!(
            matches!(SyncOp::parse(&bad), Err(SinkError::Permanent(_))),
            "{bad}"
        );
    }
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "xbot-worker-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() + rand_u32() as u128
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}
