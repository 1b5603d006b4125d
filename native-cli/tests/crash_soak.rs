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

use std::time::{Duration, Instant};
use support::pg::TestDb;
use support::{exact, Proc, RedisServer};
use xbot_core::keys::KeyContext;
use xbot_redis::redis::Redis;

const SYNC: usize = 5_000;
const METRICS: usize = 1_500;

fn spawn_worker(redis_url: &str, db_url: &str) -> Proc {
    support::worker_command(redis_url)
        .env("DATABASE_URL", db_url)
        .env("XBOT_QUEUES", "sync_to_supabase:4,analytics_processing:4")
        .env("XBOT_SYNC_TABLES", "audit_log")
        .env("XBOT_LEASE_MS", "1000")
        .spawn()
        .map(Proc)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_is_applied_exactly_once_through_kills_and_a_redis_crash() {
    let started = Instant::now();
    let db = TestDb::create().await;
    let pg = db.client().await;
    exact::create_table(&pg).await;

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

    let redis = Redis::connect(&url, KeyContext::default()).await.unwrap();
    let work = exact::seed(&redis, SYNC, METRICS).await;
    let good = work.good.len() as i64;
    // Let everysec flush the pushes before anything crashes.
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    let mut workers: Vec<Proc> = (0..3).map(|_| spawn_worker(&url, &db.url)).collect();
    let mut rng = Lcg(0x5eed);
    let (mut kills, mut redis_restarted_at) = (0u32, None);
    let kill_until = Instant::now() + Duration::from_secs(45);
    // Kill a worker every 0.3-0.8 s while work remains (bounded by kill_until).
    while Instant::now() < kill_until {
        tokio::time::sleep(Duration::from_millis(300 + rng.next() % 500)).await;
        let done = exact::rows(&pg).await;
        if done >= good && exact::left(&redis).await == Some(0) {
            break;
        }
        let victim = (rng.next() % 3) as usize;
        workers[victim].0.kill().unwrap(); // SIGKILL
        workers[victim].0.wait().unwrap();
        workers[victim] = spawn_worker(&url, &db.url);
        kills += 1;
        // Once, a third of the way through: Redis crashes (SIGKILL) and comes back from its AOF.
        if redis_restarted_at.is_none() && done >= good / 3 {
            drop(server.take()); // kill -9
            tokio::time::sleep(Duration::from_millis(300)).await;
            server = Some(RedisServer::start_on_with(port, &aof));
            redis_restarted_at = Some(done);
        }
    }

    // No more kills: the survivors finish, then drain on SIGTERM.
    exact::drain_and_stop(&redis, &pg, &mut workers, Duration::from_secs(40)).await;

    // The run meant something: workers died mid-run and Redis crashed mid-run.
    assert!(kills >= 3, "only {kills} kills");
    let at = redis_restarted_at.expect("Redis was restarted");
    assert!(at < good, "Redis crashed after the work was done");

    work.check(&redis, &pg).await;
    eprintln!(
        "soak: {good} rows and {METRICS} metrics applied once, {} dead, {kills} worker kills, Redis crashed at {at} rows, {:.1} s",
        work.bad.len(),
        started.elapsed().as_secs_f64()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
