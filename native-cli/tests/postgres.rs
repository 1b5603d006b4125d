//! The Postgres (Supabase) sink against this machine's PostgreSQL: a private
//! database per test run, dropped at the end. `XBOT_TEST_PG` overrides the
//! admin URL (default postgres://root@127.0.0.1:5432/postgres).

mod support;

use serde_json::json;
use std::process::Command;
use std::time::Duration;
use support::pg::TestDb;
use support::RedisServer;
use xbot_redis::worker::postgres::PgSink;
use xbot_redis::worker::sink::{SinkError, SyncOp};

fn op(table: &str, kind: &str, row: serde_json::Value) -> SyncOp {
    SyncOp::parse(&json!({ "table": table, "op": kind, "row": row })).unwrap()
}

#[tokio::test]
async fn rows_land_once_with_bound_values_and_survive_a_cut_connection() {
    let db = TestDb::create().await;
    let allow = vec![
        "tweets".to_string(),
        "bot_config".to_string(),
        "audit_log".to_string(),
    ];
    let sink = PgSink::connect(&db.url, &allow).await.unwrap();
    let evil = "'); DROP TABLE tweets; --";
    assert!(sink
        .apply(
            "i1",
            op(
                "tweets",
                "upsert",
                json!({ "id": "1", "text": evil, "likes": 3 })
            )
        )
        .await
        .unwrap());
    assert!(
        !sink
            .apply(
                "i1",
                op(
                    "tweets",
                    "upsert",
                    json!({ "id": "1", "text": "again", "likes": 9 })
                )
            )
            .await
            .unwrap(),
        "redelivery skipped"
    );
    // An upsert touches only the columns it carries.
    assert!(sink
        .apply(
            "i2",
            op("tweets", "upsert", json!({ "id": "1", "likes": 5 }))
        )
        .await
        .unwrap());
    assert!(sink
        .apply(
            "i3",
            op(
                "bot_config",
                "insert",
                json!({ "id": "flags", "value": { "threads": true } })
            )
        )
        .await
        .unwrap());
    let c = db.client().await;
    let row = c
        .query_one("SELECT text, likes FROM tweets WHERE id = '1'", &[])
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i32>(1)),
        (evil.to_string(), 5)
    );
    let v: serde_json::Value = c
        .query_one("SELECT value FROM bot_config", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, json!({ "threads": true }));

    for (item, bad) in [
        (
            "i4",
            op(
                "bot_config",
                "insert",
                json!({ "id": "flags", "value": {} }),
            ),
        ), // duplicate key
        (
            "i5",
            op(
                "tweets",
                "upsert",
                json!({ "id": "2", "text": "x", "nope": 1 }),
            ),
        ), // unknown column
        (
            "i6",
            op("tweets", "upsert", json!({ "id": "3", "likes": "many" })),
        ), // bad value
        ("i7", op("audit_log", "insert", json!({ "id": "a" }))), // allowed but missing
        ("i8", op("users", "insert", json!({ "id": "u" }))),     // not allowed
    ] {
        let r = sink.apply(item, bad).await;
        assert!(matches!(r, Err(SinkError::Permanent(_))), "{item}: {r:?}");
    }
    let applied: i64 = c
        .query_one("SELECT COUNT(*) FROM xbot_applied", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        applied, 3,
        "failed items leave no ledger entry (their transaction rolled back)"
    );

    // The connection is cut (Postgres restarted): one transient error, then it reconnects.
    db.cut_connections().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match sink
            .apply(
                "i9",
                op(
                    "tweets",
                    "upsert",
                    json!({ "id": "9", "text": "after the cut" }),
                ),
            )
            .await
        {
            Ok(true) => break,
            Err(SinkError::Transient(_)) if attempts < 5 => continue,
            other => panic!("{other:?}"),
        }
    }
    assert!(
        attempts <= 2,
        "reconnected on the retry ({attempts} attempts)"
    );
}

#[tokio::test]
async fn the_worker_syncs_cli_pushed_items_into_postgres_once() {
    let db = TestDb::create().await;
    let server = RedisServer::start();
    let bin = env!("CARGO_BIN_EXE_xbot-redis");
    for i in 0..50 {
        let data = json!({ "table": "tweets", "op": "upsert", "row": { "id": format!("{i}"), "text": format!("tweet {i}"), "likes": i } });
        let out = Command::new(bin)
            .args([
                "--json",
                "--redis-url",
                &server.url(),
                "queue",
                "push",
                "sync_to_supabase",
                "--type",
                "tweet_upsert",
                "--id",
                &format!("item-{i}"),
                "--data",
                &data.to_string(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let out = Command::new(bin)
        .args(["--json", "--redis-url", &server.url(), "worker", "--drain"])
        .env("DATABASE_URL", &db.url)
        .env("PORT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["processed"]["sync_to_supabase"], 50);
    let c = db.client().await;
    // Exactly the pushed rows, each with its own values.
    let rows: Vec<(String, String, i32)> = c
        .query("SELECT id, text, likes FROM tweets ORDER BY likes", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let want: Vec<(String, String, i32)> = (0..50)
        .map(|i| (format!("{i}"), format!("tweet {i}"), i))
        .collect();
    assert_eq!(rows, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_commit_fails_only_its_bad_rows() {
    let db = TestDb::create().await;
    let allow = vec!["tweets".to_string()];
    let sink = PgSink::connect_with(&db.url, &allow, 64).await.unwrap();
    let apply_all = |items: Vec<(String, serde_json::Value)>| {
        let sink = sink.clone();
        futures_util::future::join_all(items.into_iter().map(move |(item, row)| {
            let sink = sink.clone();
            async move { sink.apply(&item, op("tweets", "upsert", row)).await }
        }))
    };
    // 290 items at once, so they are written in groups: every 25th is bad
    // (text is NOT NULL), and every item ending in 5 reuses the item id of
    // the one ending in 0 (a redelivery: only one of the two may apply).
    let items: Vec<(String, serde_json::Value)> = (0..290u32)
        .map(|i| {
            let item = if i % 10 == 5 { i - 5 } else { i };
            let text = if i % 25 == 24 {
                json!(null)
            } else {
                json!(format!("t{i}"))
            };
            (
                format!("item-{item}"),
                json!({ "id": format!("{i}"), "text": text }),
            )
        })
        .collect();
    let results = apply_all(items).await;
    let (mut applied, mut skipped, mut bad) = (0i64, 0i64, 0i64);
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(true) => applied += 1,
            Ok(false) => {
                assert!(i % 5 == 0, "item {i} skipped");
                skipped += 1;
            }
            Err(SinkError::Permanent(m)) => {
                assert_eq!(i % 25, 24, "item {i}: {m}");
                assert!(m.contains("SQLSTATE 23502"), "{m}");
                bad += 1;
            }
            Err(e) => panic!("item {i}: {e}"),
        }
    }
    assert_eq!((bad, skipped, applied), (11, 29, 290 - 11 - 29));
    // Then upserts of existing rows by new items update them.
    let again: Vec<(String, serde_json::Value)> = (0..10)
        .map(|i| {
            (
                format!("again-{i}"),
                json!({ "id": format!("{}", i * 10 + 1), "likes": 7 }),
            )
        })
        .collect();
    assert!(apply_all(again).await.iter().all(|r| matches!(r, Ok(true))));

    // By id: exactly the rows whose item applied, with the values of the
    // item that applied (the ones ending in 0 won over their redelivery 5),
    // the bad ones absent, the upserted ones updated.
    let c = db.client().await;
    let rows: std::collections::BTreeMap<String, (String, Option<i32>)> = c
        .query("SELECT id, text, likes FROM tweets", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let mut want = std::collections::BTreeMap::new();
    for (i, r) in results.iter().enumerate() {
        if matches!(r, Ok(true)) {
            let likes = (i % 10 == 1 && i < 100).then_some(7).or(Some(0));
            want.insert(format!("{i}"), (format!("t{i}"), likes));
        }
    }
    assert_eq!(rows.len() as i64, applied);
    assert_eq!(rows, want);
    let ledger: std::collections::BTreeSet<String> = c
        .query("SELECT item_id FROM xbot_applied", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut want_ledger: std::collections::BTreeSet<String> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Ok(true) | Ok(false)))
        .map(|(i, _)| format!("item-{}", if i % 10 == 5 { i - 5 } else { i }))
        .collect();
    want_ledger.extend((0..10).map(|i| format!("again-{i}")));
    assert_eq!(ledger, want_ledger, "one ledger row per applied item");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_starting_together_create_the_ledger_without_a_race() {
    // Each round is a fresh database, so every connect races to create the ledger.
    for round in 0..5 {
        let db = TestDb::create().await;
        let allow = vec!["audit_log".to_string()];
        let connects = (0..6).map(|_| {
            let (url, allow) = (db.url.clone(), allow.clone());
            tokio::spawn(async move { PgSink::connect(&url, &allow).await.map(drop) })
        });
        for c in futures_util::future::join_all(connects).await {
            if let Err(e) = c.unwrap() {
                panic!("round {round}: a concurrent start failed: {e}");
            }
        }
    }
}
