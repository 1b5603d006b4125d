//! Cluster failover: 3 masters + 3 replicas on loopback, two workers and the
//! bot pushing while the master that owns the analytics queue is SIGKILLed.
//! Its replica is promoted; workers, the pusher and the reaper follow the new
//! topology (MOVED, reconnect) and finish the run; the killed node restarts
//! and rejoins as a replica.
//!
//! Replication is asynchronous: a write the dead master acknowledged but had
//! not sent to its replica is lost — the test makes that window real by
//! cutting the replica off for the last second before the kill. So the default mode must never apply
//! anything twice and may lose such writes (the test counts them), and the
//! durable mode (`XBOT_REDIS_WAIT_REPLICAS=1`: pushes, plans and effects
//! return only once a replica has them) must end exact.

mod support;

use std::time::{Duration, Instant};
use support::pg::TestDb;
use support::{exact, Proc, RedisCluster};
use xbot_core::keys::KeyContext;
use xbot_redis::redis::{Endpoints, Redis};

const NODE_TIMEOUT_MS: u64 = 1_000;
const SYNC: usize = 1_200;
const METRICS: usize = 480;

fn spawn_worker(url: &str, db_url: &str, wait_replicas: u32) -> Proc {
    support::worker_command(url)
        .env("DATABASE_URL", db_url)
        .env("XBOT_QUEUES", "sync_to_supabase:4,analytics_processing:4")
        .env("XBOT_SYNC_TABLES", "audit_log")
        .env("XBOT_LEASE_MS", "1500")
        .env("XBOT_REDIS_WAIT_REPLICAS", wait_replicas.to_string())
        .spawn()
        .map(Proc)
        .unwrap()
}

/// The bot: pushes every item of the workload at a steady pace (sync and
/// analytics interleaved, ~7 s in all) so that work is in flight whenever the
/// failover strikes. A push that fails (the shard is failing over) is
/// retried; pushing the same id again is harmless.
async fn bot(redis: Redis, work: std::sync::Arc<exact::Workload>) {
    let per_metric = SYNC / METRICS;
    for i in 0..SYNC {
        retry(|| work.try_push(&redis, i..i + 1, 0..0)).await;
        if i % per_metric == 0 && i / per_metric < METRICS {
            let m = i / per_metric;
            retry(|| work.try_push(&redis, 0..0, m..m + 1)).await;
        }
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
}

async fn retry<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(Instant::now() < deadline, "a push kept failing for 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One run; returns what it measured.
async fn run(wait_replicas: u32) -> (exact::Tally, String) {
    let started = Instant::now();
    let db = TestDb::create().await;
    let pg = db.client().await;
    exact::create_table(&pg).await;
    let mut cluster = RedisCluster::start_shards(3, 1, NODE_TIMEOUT_MS);
    let url = cluster.url();
    let mut ep = Endpoints::new(&url);
    ep.wait_replicas = wait_replicas;
    let redis = Redis::open(&ep, KeyContext::default()).await.unwrap();
    let work = exact::Workload::new(SYNC, METRICS);
    let mut workers: Vec<Proc> = (0..2)
        .map(|_| spawn_worker(&url, &db.url, wait_replicas))
        .collect();

    let victim_key = "app:queue:{analytics_processing}";
    let work = std::sync::Arc::new(work);
    let pusher = tokio::spawn(bot(redis.clone(), work.clone()));
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    // SIGKILL the master of the analytics queue while the bot pushes and the
    // workers work. First its replica falls behind, as over a slow or broken
    // link: stalled (DEBUG SLEEP) and cut off (CLIENT KILL on the master), so
    // the master keeps acknowledging writes for a second without sending
    // them anywhere. Those are what a failover loses.
    let m = cluster.master_of(victim_key);
    let stalled = cluster.stall(cluster.replica_of(m), 2.0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut cluster.nodes[m].conn())
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    cluster.kill(m);
    let at = Instant::now();
    stalled.join().unwrap();
    cluster.wait_promoted(victim_key, m, Duration::from_secs(30));
    // The old master comes back (as a deploy platform restarts it) and
    // rejoins as the replica of the promoted one.
    cluster.restart(m, NODE_TIMEOUT_MS);
    pusher.await.unwrap();
    let new_master = cluster.master_of(victim_key);
    assert_ne!(new_master, m, "the replica was promoted");

    exact::drain_and_stop(&redis, &pg, &mut workers, Duration::from_secs(60)).await;
    let tally = work.tally(&redis, &pg).await;
    let report = format!(
        "failover (wait replicas = {wait_replicas}): master {m} killed {:.1} s into the run, node {new_master} promoted; {:.1} s; {tally:?}",
        at.duration_since(started).as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    (tally, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_follow_a_failover_and_never_apply_twice() {
    // `XBOT_FAILOVER_MODES=1` runs only durable mode (e.g. to repeat it).
    let modes = std::env::var("XBOT_FAILOVER_MODES").unwrap_or_else(|_| "0,1".into());
    if modes.split(',').any(|m| m.trim() == "0") {
        // Default mode: never twice; acknowledged-but-unreplicated writes may
        // be lost (printed: this is what the README reports).
        let (tally, report) = run(0).await;
        eprintln!("{report}");
        assert!(tally.no_doubles(), "applied twice: {tally:#?}");
    }
    if modes.split(',').any(|m| m.trim() == "1") {
        // Durable mode: exact.
        let (tally, report) = run(1).await;
        eprintln!("{report}");
        assert!(tally.exact(), "durable mode lost or doubled: {tally:#?}");
    }
}
