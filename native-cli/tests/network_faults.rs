//! Network faults between the workers and their servers: a loopback proxy in
//! front of Redis and one in front of PostgreSQL add latency, blackhole the
//! path (bytes held, no RST) for longer than the Redis response timeout, reset
//! every open connection, and cut commands and replies in the middle. Replies
//! lost this way are "outcome unknown" for the worker; the run must still end
//! exact: every row once, every counter and posterior exact, nothing lost.

mod support;

use std::time::{Duration, Instant};
use support::pg::TestDb;
use support::proxy::{Fault, FaultProxy};
use support::{exact, Proc, RedisServer};
use xbot_core::keys::KeyContext;
use xbot_redis::redis::Redis;

fn spawn_worker(redis_url: &str, db_url: &str) -> Proc {
    support::worker_command(redis_url)
        .env("DATABASE_URL", db_url)
        .env("XBOT_QUEUES", "sync_to_supabase:4,analytics_processing:4")
        .env("XBOT_SYNC_TABLES", "audit_log")
        .env("XBOT_LEASE_MS", "1500")
        .spawn()
        .map(Proc)
        .unwrap()
}

/// A named fault phase: what to change on the proxies.
type Phase<'a> = (&'static str, Box<dyn Fn() + 'a>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_through_latency_blackholes_and_cut_connections_ends_exact() {
    let started = Instant::now();
    let db = TestDb::create().await;
    let pg = db.client().await;
    exact::create_table(&pg).await;
    let server = RedisServer::start();
    let redis = Redis::connect(&server.url(), KeyContext::default())
        .await
        .unwrap();
    // The bot keeps pushing while the faults happen (directly, not through
    // the proxy): one slice of the workload before each phase.
    const SYNC: usize = 2_400;
    const METRICS: usize = 720;
    const SLICES: usize = 12;
    let work = exact::Workload::new(SYNC, METRICS);

    let rproxy = FaultProxy::start(format!("127.0.0.1:{}", server.port).parse().unwrap()).await;
    let (hostport, addr) = support::pg::addr(&db.url);
    let pproxy = FaultProxy::start(addr).await;
    let via_redis = format!("redis://127.0.0.1:{}", rproxy.port);
    let via_pg = db
        .url
        .replace(&hostport, &format!("127.0.0.1:{}", pproxy.port));
    let mut workers: Vec<Proc> = (0..2).map(|_| spawn_worker(&via_redis, &via_pg)).collect();

    // The fault schedule: every phase while work remains.
    let pause = |ms| tokio::time::sleep(Duration::from_millis(ms));
    let phases: Vec<Phase> = vec![
        (
            "redis +40 ms",
            Box::new(|| rproxy.set(Fault::Delay(Duration::from_millis(40)))),
        ),
        (
            "redis cut mid-command (3%)",
            Box::new(|| {
                rproxy.set(Fault::Pass);
                rproxy.set_cut_chance(0.03);
            }),
        ),
        (
            "redis reset all",
            Box::new(|| {
                rproxy.set_cut_chance(0.0);
                rproxy.cut_all();
            }),
        ),
        (
            "redis blackhole 4 s, then resume",
            Box::new(|| rproxy.set(Fault::Blackhole)),
        ),
        ("redis pass", Box::new(|| rproxy.set(Fault::Pass))),
        (
            "postgres +30 ms",
            Box::new(|| pproxy.set(Fault::Delay(Duration::from_millis(30)))),
        ),
        (
            "postgres cut mid-statement (5%)",
            Box::new(|| {
                pproxy.set(Fault::Pass);
                pproxy.set_cut_chance(0.05);
            }),
        ),
        (
            "postgres reset all",
            Box::new(|| {
                pproxy.set_cut_chance(0.0);
                pproxy.cut_all();
            }),
        ),
        (
            "redis blackhole 4 s, then reset",
            Box::new(|| rproxy.set(Fault::Blackhole)),
        ),
        (
            "redis reset after the blackhole",
            Box::new(|| {
                rproxy.cut_all();
                rproxy.set(Fault::Pass);
            }),
        ),
        (
            "postgres blackhole 2 s",
            Box::new(|| pproxy.set(Fault::Blackhole)),
        ),
        ("postgres pass", Box::new(|| pproxy.set(Fault::Pass))),
    ];
    assert_eq!(phases.len(), SLICES);
    let mut injected = Vec::new();
    for (k, (name, apply)) in phases.iter().enumerate() {
        let slice = |n: usize| n * k / SLICES..n * (k + 1) / SLICES;
        work.push(&redis, slice(SYNC), slice(METRICS)).await;
        apply();
        injected.push(*name);
        pause(if name.contains("blackhole 4 s") {
            4_000
        } else if name.contains("blackhole 2 s") {
            2_000
        } else {
            700
        })
        .await;
    }
    rproxy.set(Fault::Pass);
    rproxy.set_cut_chance(0.0);
    pproxy.set(Fault::Pass);
    pproxy.set_cut_chance(0.0);

    exact::drain_and_stop(&redis, &pg, &mut workers, Duration::from_secs(60)).await;
    work.check(&redis, &pg).await;
    let c = |p: &FaultProxy| {
        use std::sync::atomic::Ordering::Relaxed;
        (
            p.counts.connections.load(Relaxed),
            p.counts.cut_mid_chunk.load(Relaxed),
            p.counts.cut_all.load(Relaxed),
        )
    };
    eprintln!(
        "faults: {} phases ({:?}); redis (connections, cut mid-command, reset-all) = {:?}, postgres = {:?}; {:.1} s",
        injected.len(),
        injected,
        c(&rproxy),
        c(&pproxy),
        started.elapsed().as_secs_f64()
    );
}
