//! Crash safety, bounded (well under 2 minutes): 5,000 sync items, three
//! worker processes syncing into PostgreSQL, one of them SIGKILLed and
//! restarted every 0.5-1 s, and the redis-server (AOF everysec) killed and
//! restarted once mid-run. At the end every good item is applied exactly once
//! (rows counted and ids compared), nothing is left waiting or in flight, and
//! the dead-letter set holds exactly the items built to fail.

mod support;

use serde_json::json;
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::pg::TestDb;
use support::RedisServer;
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;

const GOOD: usize = 4_900;
const BAD: usize = 100;

fn spawn_worker(redis_url: &str, db_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_xbot-redis"))
        .args(["--redis-url", redis_url, "worker"])
        .env("DATABASE_URL", db_url)
        .env("PORT", "0")
        .env("XBOT_QUEUES", "sync_to_supabase:4")
        .env("XBOT_SYNC_TABLES", "audit_log")
        .env("XBOT_LEASE_MS", "1000")
        .env_remove("REDIS_PREFIX")
        .env_remove("APP_ENV")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A small deterministic generator for kill timing and victims.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

async fn applied(db: &tokio_postgres::Client) -> i64 {
    db.query_one("SELECT COUNT(*) FROM audit_log", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_is_applied_exactly_once_through_kills_and_a_redis_crash() {
    let started = Instant::now();
    let db = TestDb::create().await;
    let pg = db.client().await;
    // No unique constraint: a second application would show as a second row.
    pg.batch_execute("CREATE TABLE audit_log (id text NOT NULL, n integer NOT NULL, note text)")
        .await
        .unwrap();

    let dir = std::env::temp_dir().join(format!("xbot-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let aof = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--dir",
        dir.to_str().unwrap(),
    ];
    let mut server = Some(RedisServer::start_with(&aof));
    let port = server.as_ref().unwrap().port;
    let url = server.as_ref().unwrap().url();

    // 4,900 good inserts and 100 built to fail, interleaved.
    let redis = Redis::connect(&url, KeyContext::default()).await.unwrap();
    let q = Queue::new(&redis, QueueName::SyncToSupabase);
    let mut bad_ids = BTreeSet::new();
    for i in 0..GOOD + BAD {
        let id = format!("item-{i:05}");
        let data = if i % 50 == 7 {
            bad_ids.insert(id.clone());
            if i % 100 == 7 {
                json!({ "table": "no_such_table", "op": "insert", "row": { "id": id } })
            } else {
                json!({ "table": "audit_log", "op": "insert", "row": "not an object" })
            }
        } else {
            json!({ "table": "audit_log", "op": "insert", "row": { "id": id, "n": i, "note": "soak" } })
        };
        q.push("audit", data, Priority::new(50).unwrap(), Some(&id), None)
            .await
            .unwrap();
    }
    assert_eq!(bad_ids.len(), BAD);
    // Let everysec flush the pushes before anything crashes.
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    let mut workers: Vec<Child> = (0..3).map(|_| spawn_worker(&url, &db.url)).collect();
    let mut rng = Lcg(0x5eed);
    let (mut kills, mut redis_restarted_at) = (0u32, None);
    let kill_until = Instant::now() + Duration::from_secs(45);
    // Kill a worker every 0.5-1 s while work remains (bounded by kill_until).
    while Instant::now() < kill_until {
        tokio::time::sleep(Duration::from_millis(500 + rng.next() % 500)).await;
        let done = applied(&pg).await;
        if done >= GOOD as i64 {
            break;
        }
        let victim = (rng.next() % 3) as usize;
        let _ = workers[victim].kill(); // SIGKILL
        let _ = workers[victim].wait();
        workers[victim] = spawn_worker(&url, &db.url);
        kills += 1;
        // Once, a third of the way through: Redis crashes (SIGKILL) and comes back from its AOF.
        if redis_restarted_at.is_none() && done >= (GOOD / 3) as i64 {
            drop(server.take()); // kill -9
            tokio::time::sleep(Duration::from_millis(300)).await;
            server = Some(RedisServer::start_on_with(port, &aof));
            redis_restarted_at = Some(done);
        }
    }

    // No more kills: the survivors finish, then drain on SIGTERM.
    let deadline = Instant::now() + Duration::from_secs(40);
    let stats = loop {
        let s = q.stats().await;
        match s {
            Ok(s) if s.ready + s.delayed + s.in_flight == 0 => break s,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the queue did not drain: {} rows",
            applied(&pg).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for w in &workers {
        let _ = Command::new("kill")
            .args(["-TERM", &w.id().to_string()])
            .status();
    }
    for mut w in workers {
        assert_eq!(w.wait().unwrap().code(), Some(0), "graceful exit");
    }

    // The run meant something: workers died mid-run and Redis crashed mid-run.
    assert!(kills >= 3, "only {kills} kills");
    let at = redis_restarted_at.expect("Redis was restarted");
    assert!(at < GOOD as i64, "Redis crashed after the work was done");

    // Exactly once: 4,900 rows, 4,900 distinct ids, the expected ones.
    let rows = pg
        .query("SELECT id FROM audit_log ORDER BY id", &[])
        .await
        .unwrap();
    let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let distinct: BTreeSet<String> = ids.iter().cloned().collect();
    let expected: BTreeSet<String> = (0..GOOD + BAD)
        .map(|i| format!("item-{i:05}"))
        .filter(|id| !bad_ids.contains(id))
        .collect();
    assert_eq!(ids.len(), GOOD, "rows applied (duplicates or losses)");
    assert_eq!(distinct, expected, "the applied ids");

    // Nothing waiting or in flight; dead = exactly the items built to fail.
    assert_eq!((stats.ready, stats.delayed, stats.in_flight), (0, 0, 0));
    let dead: BTreeSet<String> = q
        .dead(1_000)
        .await
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(dead, bad_ids, "dead-letter set");
    eprintln!(
        "soak: {GOOD} applied once, {BAD} dead, {kills} worker kills, Redis crashed at {at} rows, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
