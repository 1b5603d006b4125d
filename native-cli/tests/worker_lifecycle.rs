//! The worker's documented lifecycle promises, each on the real binary:
//! SIGINT drains like SIGTERM, a bad variable is `error[CONFIG]` naming it,
//! logs are JSON off a terminal, Redis down at start is retried until it
//! answers, scheduled `pending_posts` are promoted by the worker's
//! housekeeping, and /metrics carries the RTT and cache metrics.

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{free_port, wait_for, Proc, RedisServer};
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;

fn worker(url: &str, port: u16, env: &[(&str, &str)]) -> Proc {
    let dir = std::env::temp_dir().join(format!("xbot-life-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = support::worker_command(url);
    cmd.env("PORT", port.to_string())
        .env("XBOT_SQLITE_PATH", dir.join("s.sqlite3"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc(cmd.spawn().unwrap())
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    support::http_get(port, path)
}

#[test]
fn sigint_drains_and_exits_0_with_json_logs() {
    let server = RedisServer::start();
    let port = free_port();
    let mut w = worker(&server.url(), port, &[]);
    wait_for("ready", Duration::from_secs(20), || {
        matches!(get(port, "/readyz"), Some((200, _)))
    });
    let sent = Command::new("kill")
        .args(["-INT", &w.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(w.wait_code(), Some(0), "SIGINT is a graceful shutdown");
    let mut stderr = String::new();
    w.0.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    // stderr is a pipe, not a terminal: one JSON object per line.
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let messages: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert!(messages.contains(&"worker started"), "{messages:?}");
    assert!(
        messages.iter().any(|m| m.starts_with("shutdown requested")),
        "{messages:?}"
    );
}

#[test]
fn a_bad_variable_is_a_config_error_naming_it() {
    let port = free_port();
    let mut w = worker("redis://127.0.0.1:1", port, &[("XBOT_LEASE_MS", "soon")]);
    let code = w.wait_code();
    let mut stderr = String::new();
    w.0.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(code, Some(2), "bad configuration is bad input: {stderr}");
    assert!(
        stderr.contains("error[CONFIG]")
            && stderr.contains("XBOT_LEASE_MS")
            && stderr.contains("soon"),
        "{stderr}"
    );
}

#[test]
fn redis_down_at_start_is_retried_until_it_answers() {
    let redis_port = free_port();
    let port = free_port();
    let url = format!("redis://127.0.0.1:{redis_port}");
    let mut w = worker(&url, port, &[]);
    // Nothing listens yet: the worker keeps trying (and says so), not ready.
    let stderr = w.0.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.contains("retrying") || first.contains("Redis"),
        "{first}"
    );
    assert!(w.0.try_wait().unwrap().is_none(), "still running");
    assert!(
        get(port, "/readyz").is_none(),
        "not serving before Redis answers"
    );
    // Redis comes up: the worker becomes ready.
    let _server = RedisServer::start_on(redis_port);
    wait_for("ready after Redis came up", Duration::from_secs(30), || {
        matches!(get(port, "/readyz"), Some((200, _)))
    });
    w.terminate();
    assert_eq!(w.wait_code(), Some(0));
}

#[test]
fn scheduled_posts_are_promoted_and_metrics_carry_rtt_and_cache_counts() {
    let server = RedisServer::start();
    let port = free_port();
    let url = server.url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let redis = rt
        .block_on(Redis::connect(&url, KeyContext::default()))
        .unwrap();
    let q = Queue::new(&redis, QueueName::PendingPosts);
    let due = xbot_redis::ops::now_ms() + 300;
    let pushed = rt
        .block_on(q.push(
            "post",
            json!({ "text": "later" }),
            Priority::new(50).unwrap(),
            Some("post-1"),
            Some(due),
        ))
        .unwrap();
    assert_eq!(pushed.status, "scheduled");
    // The worker does not consume pending_posts; its housekeeping (every 2 s)
    // promotes them once due.
    let mut w = worker(&url, port, &[("XBOT_QUEUES", "sync_to_supabase:1")]);
    wait_for("the post promoted", Duration::from_secs(6), || {
        rt.block_on(q.stats())
            .is_ok_and(|s| s.ready == 1 && s.delayed == 0)
    });
    // Cache traffic from the bot: one miss, then a hit.
    use xbot_redis::ops::cache;
    assert!(rt
        .block_on(cache::tweet_get(&redis, "42"))
        .unwrap()
        .is_none());
    rt.block_on(cache::tweet_set(&redis, "42", &json!({ "text": "hi" })))
        .unwrap();
    assert!(rt
        .block_on(cache::tweet_get(&redis, "42"))
        .unwrap()
        .is_some());
    let (status, metrics) = get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    let value = |name: &str| -> Option<f64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    };
    let rtt = value("xbot_redis_rtt_seconds").expect("an RTT sample");
    assert!(rtt > 0.0 && rtt < 1.0, "{rtt}");
    for outcome in ["hit", "miss"] {
        let line = format!("xbot_cache_requests{{family=\"cache.tweet\",outcome=\"{outcome}\"}}");
        assert_eq!(value(&line), Some(1.0), "{line} in {metrics}");
    }
    w.terminate();
    assert_eq!(w.wait_code(), Some(0));
}

#[test]
fn a_cache_redis_outage_is_reported_and_the_work_goes_on() {
    let state = RedisServer::start();
    let cache = RedisServer::start();
    let port = free_port();
    let url = state.url();
    let mut w = worker(
        &url,
        port,
        &[
            ("REDIS_CACHE_URL", &cache.url()),
            ("XBOT_QUEUES", "sync_to_supabase:2"),
        ],
    );
    wait_for("ready", Duration::from_secs(20), || {
        matches!(get(port, "/readyz"), Some((200, _)))
    });
    let health = || -> Value { serde_json::from_str(&get(port, "/healthz").unwrap().1).unwrap() };
    assert_eq!(health()["cacheRedis"]["status"], "ok");
    drop(cache); // the cache Redis dies (SIGKILL)
    wait_for("the outage reported", Duration::from_secs(10), || {
        let (status, body) = get(port, "/healthz").unwrap();
        status == 200 && body.contains("\"down\"")
    });
    // Sync items are state, not cache: they are still applied.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let redis = rt
        .block_on(Redis::connect(&url, KeyContext::default()))
        .unwrap();
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    rt.block_on(q.push(
        "row",
        json!({ "table": "tweets", "op": "upsert", "row": { "id": "1", "text": "x" } }),
        Priority::new(50).unwrap(),
        Some("c-1"),
        None,
    ))
    .unwrap();
    wait_for("the item applied", Duration::from_secs(10), || {
        rt.block_on(q.stats())
            .is_ok_and(|s| s.ready + s.in_flight + s.delayed == 0 && s.dead == 0)
    });
    w.terminate();
    assert_eq!(w.wait_code(), Some(0));
}
