//! The cost of durable mode, for `bench/durable.mjs`: pushes N analytics
//! items through `Queue::push`, then lets the worker (the library, analytics
//! only, CONCURRENCY consumers) apply every item's effects — a plan and one
//! exactly-once script per stats hash and per arm — and drain. With WAIT > 0
//! every push, plan and effect waits for that many replicas (`WAIT`).
//!
//!   cargo run --release -p xbot-redis --example durable_bench -- URL N WAIT [CONCURRENCY]
//!
//! One JSON line: {"wait", "n", "pushPerSec", "applyPerSec"}. The Redis at
//! URL must be empty (a private server).

use serde_json::json;
use std::time::Instant;
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::{Endpoints, Redis};
use xbot_redis::worker::{self, config::WorkerConfig, sink::Sink};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, n, wait) = match &args[..] {
        [url, n, wait, ..] => (url.clone(), n.parse::<usize>()?, wait.parse::<u32>()?),
        _ => anyhow::bail!("usage: durable_bench URL N WAIT [CONCURRENCY]"),
    };
    let concurrency: usize = args.get(3).map_or(Ok(4), |c| c.parse())?;
    let mut ep = Endpoints::new(&url);
    ep.wait_replicas = wait;
    let redis = Redis::open(&ep, KeyContext::default()).await?;
    let q = Queue::new(&redis, QueueName::AnalyticsProcessing);

    let started = Instant::now();
    const TOPICS: [&str; 3] = ["ai", "rust", "redis"];
    for i in 0..n {
        let topic = TOPICS[i % 3];
        let data = json!({
            "tweetId": format!("t{i}"), "likes": i % 23, "retweets": i % 11, "replies": i % 5,
            "impressions": 200 + i % 900, "topic": topic,
            "hour": format!("{:02}", i % 24), "tags": ["thread"],
        });
        q.push(
            "metrics",
            data,
            Priority::new(25)?,
            Some(&format!("b-{i:07}")),
            None,
        )
        .await?;
    }
    let push_s = started.elapsed().as_secs_f64();

    let dir = std::env::temp_dir().join(format!("xbot-durable-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cfg = WorkerConfig {
        queues: vec![(QueueName::AnalyticsProcessing, concurrency)],
        lease_ms: 30_000,
        port: 0,
        database_url: None,
        sqlite_path: dir.join("sink.sqlite3"),
        allow_tables: vec![],
        shutdown_grace_ms: 1_000,
        pg_batch: 1,
        redis_label: xbot_redis::config::redact_url(&url),
    };
    let sink = Sink::open(&cfg).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let summary = worker::run(redis, cfg, sink, shutdown, true).await?;
    let apply_s = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let done = summary.processed.values().sum::<u64>();
    anyhow::ensure!(done == n as u64, "processed {done} of {n}");
    println!(
        "{}",
        json!({
            "wait": wait,
            "n": n,
            "pushPerSec": n as f64 / push_s,
            "applyPerSec": n as f64 / apply_s,
        })
    );
    Ok(())
}
