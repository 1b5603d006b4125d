//! Crash safety, bounded (well under 2 minutes): 5,000 sync items and 1,500
//! analytics items over three topics, three worker processes syncing into
//! PostgreSQL and applying metrics to stats and bandit posteriors, one of them
//! SIGKILLed and restarted every 0.3-0.8 s, and the redis-server (AOF
//! everysec) killed and restarted once mid-run. At the end every good item is
//! applied exactly once: rows counted and ids compared, every stats counter
//! (daily and hourly) equal to the exact sum of the items' metrics, every
//! arm's alpha and beta equal to the prior plus the exact sum of its rewards.
//! Nothing is left waiting or in flight, and the dead-letter set holds exactly
//! the items built to fail.

mod support;

use serde_json::json;
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::pg::TestDb;
use support::RedisServer;
use xbot_core::bandit::{reward, Engagement};
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;

const GOOD: usize = 4_900;
const BAD: usize = 100;
const METRICS: usize = 1_500;
const TOPICS: [&str; 3] = ["ai", "rust", "redis"];
const BASELINE: f64 = 0.025;

/// The runner under test; `XBOT_SOAK_BIN` points the soak at another build
/// (e.g. an older release, to show what it gets wrong).
fn spawn_worker(redis_url: &str, db_url: &str) -> Child {
    let bin = std::env::var("XBOT_SOAK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_xbot-redis").to_string());
    Command::new(bin)
        .args(["--redis-url", redis_url, "worker"])
        .env("DATABASE_URL", db_url)
        .env("PORT", "0")
        .env("XBOT_QUEUES", "sync_to_supabase:4,analytics_processing:4")
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

/// The metrics of analytics item `i` (deterministic, varied).
fn metrics(i: usize) -> Engagement {
    Engagement {
        likes: (i * 7 % 23) as f64,
        retweets: (i * 3 % 11) as f64,
        replies: (i % 5) as f64,
        impressions: 200.0 + (i * 37 % 900) as f64,
    }
}

/// Sum of `field` over every key matching `pattern` (a private server: SCAN is cheap).
fn sum_field(conn: &mut redis::Connection, pattern: &str, field: &str) -> i64 {
    let keys: Vec<String> = redis::cmd("SCAN")
        .cursor_arg(0)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(10_000)
        .clone()
        .iter(conn)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!keys.is_empty(), "no key matches {pattern}");
    keys.iter()
        .map(|k| {
            redis::cmd("HGET")
                .arg(k)
                .arg(field)
                .query::<Option<i64>>(conn)
                .unwrap()
                .unwrap_or(0)
        })
        .sum()
}

async fn analytics_left(q: &Queue<'_>) -> u64 {
    q.stats()
        .await
        .map(|s| s.ready + s.delayed + s.in_flight)
        .unwrap_or(u64::MAX)
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
    // 1,500 analytics items over three topics, eight posting hours and two tags.
    let aq = Queue::new(&redis, QueueName::AnalyticsProcessing);
    let _: () = redis::cmd("SET")
        .arg("app:learn:performance_baseline")
        .arg(format!("{{\"engagementRate\": {BASELINE}}}"))
        .query(&mut server.as_ref().unwrap().conn())
        .unwrap();
    for i in 0..METRICS {
        let m = metrics(i);
        let data = json!({
            "tweetId": format!("t{i}"),
            "likes": m.likes, "retweets": m.retweets, "replies": m.replies, "impressions": m.impressions,
            "topic": TOPICS[i % 3],
            "hour": format!("{:02}", i % 8),
            "tags": if i % 4 == 0 { json!(["launch", "thread"]) } else { json!(["thread"]) },
        });
        aq.push(
            "metrics",
            data,
            Priority::new(25).unwrap(),
            Some(&format!("m-{i:05}")),
            None,
        )
        .await
        .unwrap();
    }
    // Let everysec flush the pushes before anything crashes.
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    let mut workers: Vec<Child> = (0..3).map(|_| spawn_worker(&url, &db.url)).collect();
    let mut rng = Lcg(0x5eed);
    let (mut kills, mut redis_restarted_at) = (0u32, None);
    let kill_until = Instant::now() + Duration::from_secs(45);
    // Kill a worker every 0.3-0.8 s while work remains (bounded by kill_until).
    while Instant::now() < kill_until {
        tokio::time::sleep(Duration::from_millis(300 + rng.next() % 500)).await;
        let done = applied(&pg).await;
        if done >= GOOD as i64 && analytics_left(&aq).await == 0 {
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
            Ok(s) if s.ready + s.delayed + s.in_flight == 0 && analytics_left(&aq).await == 0 => {
                break s
            }
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

    // Analytics, exactly once: every counter is the exact sum of the items'
    // metrics (daily and hourly agree), every arm the prior plus its rewards.
    let astats = aq.stats().await.unwrap();
    assert_eq!(
        astats.dead,
        0,
        "no analytics item died: {:?}",
        aq.dead(10).await.unwrap()
    );
    let mut conn = server.as_ref().unwrap().conn();
    let ms: Vec<Engagement> = (0..METRICS).map(metrics).collect();
    for (field, want) in [
        ("likes", ms.iter().map(|m| m.likes as i64).sum::<i64>()),
        ("retweets", ms.iter().map(|m| m.retweets as i64).sum()),
        ("replies", ms.iter().map(|m| m.replies as i64).sum()),
        ("impressions", ms.iter().map(|m| m.impressions as i64).sum()),
        ("tweets_measured", METRICS as i64),
    ] {
        for period in ["daily", "hourly"] {
            let got = sum_field(&mut conn, &format!("app:stats:{period}:*"), field);
            assert_eq!(got, want, "stats:{period} {field}");
        }
    }
    let mut arms: std::collections::BTreeMap<(String, String), (f64, u64)> = Default::default();
    for (i, m) in ms.iter().enumerate() {
        let r = reward(m, BASELINE).unwrap();
        let mut add = |kind: &str, arm: String| {
            let e = arms.entry((kind.into(), arm)).or_insert((0.0, 0));
            e.0 += r;
            e.1 += 1;
        };
        add("topic", TOPICS[i % 3].into());
        add("hour", format!("{:02}", i % 8));
        add("tag", "thread".into());
        if i % 4 == 0 {
            add("tag", "launch".into());
        }
    }
    for ((kind, arm), (rewards, n)) in &arms {
        let mut get = |side: &str| -> f64 {
            redis::cmd("GET")
                .arg(format!("app:bandit:{kind}:{{{arm}}}:{side}"))
                .query::<String>(&mut conn)
                .unwrap()
                .parse()
                .unwrap()
        };
        let (alpha, beta) = (get("alpha"), get("beta"));
        // One extra or missing application moves alpha + beta by exactly 1.
        assert!(
            (alpha + beta - 2.0 - *n as f64).abs() < 1e-6,
            "{kind} {arm}: alpha + beta - 2 = {} for {n} items",
            alpha + beta - 2.0
        );
        assert!(
            (alpha - 1.0 - rewards).abs() < 1e-6,
            "{kind} {arm}: alpha - 1 = {} for rewards summing to {rewards}",
            alpha - 1.0
        );
    }
    eprintln!(
        "soak: {GOOD} rows and {METRICS} metrics applied once, {BAD} dead, {kills} worker kills, Redis crashed at {at} rows, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
