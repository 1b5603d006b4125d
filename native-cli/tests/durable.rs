//! Durable mode (`XBOT_REDIS_WAIT_REPLICAS`) on a master with one replica:
//! a durable write returns only once the replica has it, and an unconfirmed
//! one is an error — also when the write is a retry that finds its item
//! already stored by an earlier call on another connection (the case a bare
//! `WAIT` gets wrong: it only covers the writes of its own connection).

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::RedisServer;
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::error::OpError;
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::{Endpoints, Redis};

async fn durable(url: &str) -> Redis {
    let mut ep = Endpoints::new(url);
    ep.wait_replicas = 1;
    Redis::open(&ep, KeyContext::default()).await.unwrap()
}

fn synced(replica: &RedisServer) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut replica.conn())
            .unwrap();
        if info.contains("master_link_status:up") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the replica did not sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_writes_return_once_a_replica_has_them() {
    let master = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
    let port = master.port.to_string();
    let replica = RedisServer::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--enable-debug-command",
        "local",
    ]);
    synced(&replica);
    let first = durable(&master.url()).await;
    let q = Queue::new(&first, QueueName::SyncToSupabase);
    let item = |n: u32| json!({ "table": "audit_log", "op": "insert", "row": { "id": n } });
    let p50 = Priority::new(50).unwrap();

    // A replica that answers: the push returns, and the replica has the item.
    assert_eq!(
        q.push("a", item(1), p50, Some("x1"), None)
            .await
            .unwrap()
            .status,
        "added"
    );
    let on_replica: bool = redis::cmd("HEXISTS")
        .arg("app:queue:{sync_to_supabase}:items")
        .arg("x1")
        .query(&mut replica.conn())
        .unwrap();
    assert!(
        on_replica,
        "a durable push is on the replica when it returns"
    );

    // The replica stalls (3.5 s): the push is stored on the master but not
    // confirmed, so it is an error (outcome: not durable yet).
    let url = replica.url();
    let stall = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        let _: redis::RedisResult<()> = redis::cmd("DEBUG").arg("SLEEP").arg(3.5).query(&mut c);
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let e = q
        .push("a", item(2), p50, Some("x2"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            OpError::NotReplicated {
                acked: 0,
                wanted: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "WAIT waited its second"
    );
    assert_eq!(e.code(), "NOT_REPLICATED");

    // The bot retries on a new connection while the replica still stalls: the
    // item is already stored, the script writes nothing, yet the retry must
    // not be confirmed (a bare WAIT on a fresh connection would say 1).
    let second = durable(&master.url()).await;
    eprintln!("retry at {:?}", started.elapsed());
    let retry = Queue::new(&second, QueueName::SyncToSupabase)
        .push("a", item(2), p50, Some("x2"), None)
        .await;
    eprintln!("retry done at {:?}: {retry:?}", started.elapsed());
    assert!(
        matches!(retry, Err(OpError::NotReplicated { .. })),
        "a retry that finds its item stored is confirmed only by the replica: {retry:?}"
    );
    stall.join().unwrap();
    synced(&replica);

    // Once the replica is back, the same retry is confirmed.
    let retry = Queue::new(&second, QueueName::SyncToSupabase)
        .push("a", item(2), p50, Some("x2"), None)
        .await
        .unwrap();
    assert_eq!(retry.status, "exists");
    let fence: i64 = redis::cmd("GET")
        .arg("app:durable:{sync_to_supabase}")
        .query(&mut replica.conn())
        .unwrap();
    assert!(
        fence >= 4,
        "every durable write bumps the slot's fence: {fence}"
    );
}
