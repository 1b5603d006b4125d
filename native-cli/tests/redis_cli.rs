//! The Redis subcommands as a user runs them: the real binary, a private server.

mod support;

use serde_json::Value;
use std::process::{Command, Output};
use support::RedisServer;

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xbot-redis"))
        .args(["--json", "--redis-url", url])
        .args(args)
        .env_remove("REDIS_PREFIX")
        .env_remove("APP_ENV")
        .env_remove("REDIS_MAX_MEMORY")
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn health_probes_and_warns_about_eviction() {
    let good = RedisServer::start_with(&["--maxmemory-policy", "noeviction"]);
    let out = run(&good.url(), &["health", "--strict", "--instance", "ci-1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h = json(&out);
    assert_eq!(
        (h["ok"].as_bool(), h["writeReadOk"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(h["probeKey"], "app:health:check:ci-1");
    let ping = h["pingMs"].as_f64().unwrap();
    assert!(
        ping > 0.0 && ping < 1_000.0,
        "a sub-millisecond ping is healthy, not down: {ping}"
    );
    assert!((1..=60).contains(&h["ttlSeconds"].as_i64().unwrap()));

    let lru = RedisServer::start_with(&["--maxmemory-policy", "allkeys-lru"]);
    let out = run(&lru.url(), &["health"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "without --strict an evicting policy is a warning"
    );
    let h = json(&out);
    assert!(
        h["warnings"][0].as_str().unwrap().contains("allkeys-lru"),
        "{h}"
    );
    let strict = run(&lru.url(), &["health", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert_eq!(
        json(&strict)["ok"],
        false,
        "with --strict a warning is a failure, and `ok` says so"
    );
}

#[test]
fn a_config_bump_keeps_a_ttl_so_audit_stays_clean() {
    let server = RedisServer::start();
    let url = server.url();
    let v = json(&run(&url, &["cache", "bump-config"]));
    assert_eq!(v["schemaVersion"], 1);
    let ttl: i64 = redis::cmd("TTL")
        .arg("app:cache:config:schema_version")
        .query(&mut server.conn())
        .unwrap();
    assert!((3_590..=3_600).contains(&ttl), "schema_version TTL {ttl}");
    assert_eq!(
        json(&run(&url, &["cache", "bump-config"]))["schemaVersion"],
        2
    );
    let audit = run(&url, &["audit", "--strict"]);
    assert_eq!(
        audit.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&audit.stdout)
    );
}

#[test]
fn an_unreachable_redis_fails_without_printing_the_password() {
    let out = run("redis://bot:hunter2@127.0.0.1:1", &["queue", "stats"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("REDIS_UNREACHABLE") && stderr.contains("bot:***@"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"));
    // Bad input is exit 2 before any connection is tried.
    assert_eq!(
        run("redis://127.0.0.1:1", &["queue", "stats", "nope"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn a_queue_round_trip_through_the_cli() {
    let server = RedisServer::start();
    let url = server.url();
    let pushed = json(&run(
        &url,
        &[
            "queue",
            "push",
            "pending_posts",
            "--type",
            "post",
            "--data",
            r#"{"text":"hi"}"#,
            "--id",
            "p1",
        ],
    ));
    assert_eq!(pushed["status"], "added");
    let again = json(&run(
        &url,
        &[
            "queue",
            "push",
            "pending_posts",
            "--type",
            "post",
            "--data",
            "{}",
            "--id",
            "p1",
        ],
    ));
    assert_eq!(again["status"], "exists");
    let r = json(&run(
        &url,
        &["queue", "reserve", "pending_posts", "--lease-ms", "60000"],
    ));
    assert_eq!(
        (
            r["id"].as_str(),
            r["data"]["text"].as_str(),
            r["retryCount"].as_u64()
        ),
        (Some("p1"), Some("hi"), Some(0))
    );
    let token = r["token"].as_str().unwrap();
    let wrong = run(
        &url,
        &["queue", "ack", "pending_posts", "p1", "--token", "nope"],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("NOT_OWNER"));
    let f = json(&run(
        &url,
        &[
            "queue",
            "fail",
            "pending_posts",
            "p1",
            "--token",
            token,
            "--error",
            "429 from X",
        ],
    ));
    assert_eq!(
        (f["outcome"].as_str(), f["attempts"].as_u64()),
        (Some("retry"), Some(1))
    );
    let s = json(&run(&url, &["queue", "stats", "pending_posts"]));
    assert_eq!(
        (s["delayed"].as_u64(), s["inFlight"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        run(&url, &["queue", "reserve", "pending_posts"]).stdout,
        b"null\n"
    );
}

#[test]
fn idempotency_ids_on_the_command_line() {
    let server = RedisServer::start();
    let url = server.url();
    let incr = |id: &str| {
        json(&run(
            &url,
            &[
                "stats",
                "incr",
                "daily",
                "likes",
                "--by",
                "3",
                "--id",
                id,
                "--at-ms",
                "1764547200000",
            ],
        ))
    };
    let first = incr("req-1");
    assert_eq!(
        (first["value"].as_i64(), first["applied"].as_bool()),
        (Some(3), Some(true))
    );
    let again = incr("req-1");
    assert_eq!(
        (again["value"].as_i64(), again["applied"].as_bool()),
        (Some(3), Some(false))
    );
    let other = incr("req-2");
    assert_eq!(
        (other["value"].as_i64(), other["applied"].as_bool()),
        (Some(6), Some(true))
    );
    let update = |id: &str| {
        json(&run(
            &url,
            &[
                "bandit", "update", "topic", "ai", "--reward", "0.5", "--id", id,
            ],
        ))
    };
    let u = update("b-1");
    assert_eq!(
        (u["alpha"].as_f64(), u["applied"].as_bool()),
        (Some(1.5), Some(true))
    );
    let u = update("b-1");
    assert_eq!(
        (u["alpha"].as_f64(), u["applied"].as_bool()),
        (Some(1.5), Some(false))
    );
    // A bad id is refused before any I/O (exit 2), naming what was wrong.
    let out = run(&url, &["stats", "incr", "daily", "likes", "--id", "a|b"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("idempotency id"));
}

#[test]
fn requeue_all_replays_every_dead_item_in_bounded_batches() {
    use xbot_core::queue::{Priority, QueueName};
    use xbot_redis::ops::queue::Queue;
    let server = RedisServer::start();
    let url = server.url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let redis = xbot_redis::redis::Redis::connect(&url, Default::default())
            .await
            .unwrap();
        let q = Queue::new(&redis, QueueName::SyncToSupabase);
        for i in 0..250 {
            let id = format!("d-{i:03}");
            q.push(
                "t",
                serde_json::json!({}),
                Priority::new(5).unwrap(),
                Some(&id),
                None,
            )
            .await
            .unwrap();
            let r = q.reserve(60_000).await.unwrap().unwrap();
            q.bury(&r.item.id, &r.token, "test").await.unwrap();
        }
    });
    let out = json(&run(
        &url,
        &[
            "queue",
            "requeue",
            "sync_to_supabase",
            "--all",
            "--limit",
            "100",
        ],
    ));
    assert_eq!(
        out["requeued"], 250,
        "every dead item, in 3 calls of at most 100"
    );
    let s = json(&run(&url, &["queue", "stats", "sync_to_supabase"]));
    assert_eq!(
        (s["ready"].as_u64(), s["dead"].as_u64()),
        (Some(250), Some(0)),
        "{s}"
    );
}

#[test]
fn bulk_push_from_json_lines_checks_every_line_first() {
    let server = RedisServer::start();
    let url = server.url();
    let dir = std::env::temp_dir().join(format!("xbot-jsonl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("items.jsonl");
    // 250 items (three script calls), one repeated id, one scheduled, a blank line.
    let mut lines: Vec<String> = (0..250)
        .map(|i| {
            format!(
                r#"{{"data":{{"n":{i}}},"id":"b{i}","priority":{}}}"#,
                i % 101
            )
        })
        .collect();
    lines.push(r#"{"data":{"again":true},"id":"b7"}"#.into());
    lines.push(String::new());
    lines.push(r#"{"data":{},"id":"later","notBeforeMs":9999999999999,"type":"row"}"#.into());
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = run(
        &url,
        &[
            "queue",
            "push",
            "sync_to_supabase",
            "--jsonl",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(
        v["counts"],
        serde_json::json!({"added": 250, "exists": 1, "scheduled": 1})
    );
    assert_eq!(v["results"].as_array().unwrap().len(), 252);
    assert_eq!(
        v["results"][250],
        serde_json::json!({"id": "b7", "status": "exists"})
    );
    let stats = json(&run(&url, &["queue", "stats", "sync_to_supabase"]));
    assert_eq!(
        (stats["ready"].as_u64(), stats["delayed"].as_u64()),
        (Some(250), Some(1))
    );

    // One bad line (line 3 here) pushes nothing and names the line.
    for (bad, fragment) in [
        (r#"{"dta":1}"#, "unknown field \"dta\""),
        (r#"{"data":1,"priority":"high"}"#, "priority"),
        (r#"[1]"#, "must be an object"),
        (r#"{"data":1,"id":"has space"}"#, "id"),
        ("not json", "not JSON"),
    ] {
        std::fs::write(
            &file,
            format!("{{\"data\":1,\"id\":\"x1\"}}\n{{\"data\":2,\"id\":\"x2\"}}\n{bad}\n"),
        )
        .unwrap();
        let out = run(
            &url,
            &[
                "queue",
                "push",
                "analytics_processing",
                "--jsonl",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        // With --json the error is a JSON object on stderr.
        let err: Value = serde_json::from_slice(&out.stderr).unwrap();
        let err = err["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(err.contains(fragment), "{bad}: {err}");
        assert!(err.contains("line 3"), "{bad}: {err}");
    }
    let stats = json(&run(&url, &["queue", "stats", "analytics_processing"]));
    assert_eq!(stats["ready"], 0, "nothing was pushed");
    std::fs::remove_dir_all(&dir).unwrap();
}
