//! Queue throughput of the runner's Rust client, for `bench/queue.mjs`:
//! pushes N items (each with a PAYLOAD-byte string), then C consumers
//! reserve (with a lease) and ack them until all are done, as the worker
//! does (each ack reserves the next item in the same round trip). With PREFILL,
//! that many lower-priority items are queued first and stay queued, so the
//! measured items move through a large ready set.
//!
//!   cargo run --release -p xbot-redis --example queue_bench -- URL N C [PREFILL] [PAYLOAD] [RUNS]
//!
//! Prefills once, then measures RUNS times; one JSON line per run:
//! {"pushPerSec", "processPerSec", "e2ePerSec", ...}.
//! Loopback only; bounded by N and a 120 s deadline. The client runs on one
//! thread, like BullMQ's Node client it is compared with: on a 2-core machine
//! that shares its cores with redis-server, a second client thread takes CPU
//! from the server and adds cross-thread wake-ups to every round trip
//! (measured: push 66k -> 51k items/s, concurrency-1 processing 9.7k -> 7.9k).

use serde_json::json;
use std::time::{Duration, Instant};
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueItem, QueueName};
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;

/// One `queue_push` (the script `Queue::push` runs), with room for a million
/// items (the environment profiles cap a queue at 10k-100k).
async fn push(
    redis: &Redis,
    keys: &[String],
    id: &str,
    body: &str,
    priority: u64,
) -> anyhow::Result<()> {
    let now = xbot_redis::ops::now_ms();
    let item = QueueItem::new(
        id,
        "bench",
        json!({ "p": body }),
        Priority::new(priority)?,
        now as f64,
    )?;
    let args = [
        id.to_string(),
        item.to_json()?,
        priority.to_string(),
        "2000000".into(),
        "0".into(),
    ];
    let reply: Vec<redis::Value> = redis.script("queue_push", keys, &args).await?;
    anyhow::ensure!(
        matches!(reply.first(), Some(redis::Value::Int(1))),
        "push {id}: {reply:?}"
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .map_or("redis://127.0.0.1:6379", String::as_str);
    let arg = |i: usize, default: usize| args.get(i).map_or(Ok(default), |s| s.parse());
    let (n, concurrency, prefill, payload) =
        (arg(1, 10_000)?, arg(2, 1)?, arg(3, 0)?, arg(4, 200)?);
    let runs = arg(5, 1)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let redis = Redis::connect(url, KeyContext::default()).await?;
    let q = Queue::new(&redis, QueueName::AnalyticsProcessing);
    let body = "x".repeat(payload);
    let keys = xbot_core::keys::queue_keys(QueueName::AnalyticsProcessing, &redis.ctx).to_vec();

    // Background items: queued first, lower priority, never consumed here.
    for chunk in (0..prefill).collect::<Vec<_>>().chunks(1_000) {
        let ids: Vec<String> = chunk.iter().map(|i| format!("bg-{i}")).collect();
        let pushes = ids.iter().map(|id| push(&redis, &keys, id, &body, 0));
        for r in futures_util::future::join_all(pushes).await {
            r?;
        }
        anyhow::ensure!(Instant::now() < deadline, "prefill took too long");
    }

    for run in 0..runs {
        // Push: 1,000 calls in flight at a time (the multiplexed connection pipelines them).
        let t0 = Instant::now();
        for chunk in (0..n).collect::<Vec<_>>().chunks(1_000) {
            let ids: Vec<String> = chunk.iter().map(|i| format!("it-{run}-{i}")).collect();
            let pushes = ids.iter().map(|id| push(&redis, &keys, id, &body, 50));
            for r in futures_util::future::join_all(pushes).await {
                r?;
            }
        }
        let push_s = t0.elapsed().as_secs_f64();

        // Process: C consumers, each reserve -> ack, until N are acked.
        let done = std::sync::atomic::AtomicUsize::new(0);
        let claimed = std::sync::atomic::AtomicUsize::new(0);
        let t1 = Instant::now();
        // C consumers as the worker runs them: reserve once, then each ack
        // reserves the next item in the same round trip. A consumer claims
        // one of the N measured items before each reservation.
        let claim = || claimed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n;
        let consumers = (0..concurrency).map(|_| async {
            let mut current = if claim() {
                q.reserve(30_000).await?
            } else {
                None
            };
            while let Some(r) = current {
                anyhow::ensure!(r.item.id.starts_with("it-"), "reserved a background item");
                current = if claim() {
                    q.ack_and_reserve(&r.item.id, &r.token, 30_000).await?
                } else {
                    q.ack(&r.item.id, &r.token).await?;
                    None
                };
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                anyhow::ensure!(Instant::now() < deadline, "processing took too long");
            }
            Ok(())
        });
        for r in futures_util::future::join_all(consumers).await {
            r?;
        }
        let process_s = t1.elapsed().as_secs_f64();
        let processed = done.into_inner();
        anyhow::ensure!(processed == n, "processed {processed} of {n}");
        println!(
            "{}",
            json!({
                "n": n, "concurrency": concurrency, "prefill": prefill, "payload": payload,
                "pushPerSec": n as f64 / push_s,
                "processPerSec": n as f64 / process_s,
                "e2ePerSec": n as f64 / (push_s + process_s),
            })
        );
    }
    Ok(())
}
