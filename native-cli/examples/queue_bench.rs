//! Queue throughput of the runner's Rust client, for `bench/queue.mjs`:
//! pushes N items (each with a PAYLOAD-byte string), then consumers with C
//! handlers lease and ack them until all are done. With PREFILL, that many
//! lower-priority items are queued first and stay queued, so the measured
//! items move through a large ready set.
//!
//! BATCH picks the protocol:
//! - `auto` (default), as the worker: pushes through `queue_push_many` (100 per
//!   call); the C handlers split into lanes (`xbot_core::client::lanes`), each
//!   lane's `queue_reserve_many` calls settling its finished items and leasing
//!   as many as its handlers plus the prefetch (`xbot_core::client::prefetch`,
//!   here with instant handlers) hold;
//! - a number B: the same with B items per push call and per lease call;
//! - `single`: one script call per item, as before batching (`queue_push`
//!   per item; C consumers, each ack reserving the next item).
//!
//!   cargo run --release -p xbot-redis --example queue_bench -- URL N C [PREFILL] [PAYLOAD] [RUNS] [BATCH]
//!   cargo run --release -p xbot-redis --example queue_bench -- URL latency RATE COUNT BATCH
//!
//! The second form measures a single item's latency on an idle queue: COUNT
//! items pushed one at a time at RATE per second while one consumer (C = 1)
//! waits; prints {"p50Ms", "p99Ms"} from push to the handler's start.
//!
//! Prefills once, then measures RUNS times; one JSON line per run:
//! {"pushPerSec", "processPerSec", "e2ePerSec", ...}.
//! Loopback only; bounded by N and a 120 s deadline. The client runs on one
//! thread, like BullMQ's Node client it is compared with: on a 2-core machine
//! that shares its cores with redis-server, a second client thread takes CPU
//! from the server and adds cross-thread wake-ups to every round trip
//! (measured: push 66k -> 51k items/s, concurrency-1 processing 9.7k -> 7.9k).

use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueItem, QueueName};
use xbot_redis::ops::queue::{Finished, Outcome, Queue};
use xbot_redis::redis::Redis;

/// The bench's protocol (see the header).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Auto,
    Fixed(usize),
    Single,
}

impl Mode {
    fn parse(s: Option<&String>) -> anyhow::Result<Mode> {
        Ok(match s.map(String::as_str) {
            None | Some("auto") => Mode::Auto,
            Some("single") => Mode::Single,
            Some(n) => Mode::Fixed(n.parse()?),
        })
    }
}

fn item_json(id: &str, body: &str, priority: u64) -> anyhow::Result<String> {
    let now = xbot_redis::ops::now_ms();
    let item = QueueItem::new(
        id,
        "bench",
        json!({ "p": body }),
        Priority::new(priority)?,
        now as f64,
    )?;
    Ok(item.to_json()?)
}

/// `queue_push_many` with room for a million items (the environment
/// profiles cap a queue at 10k-100k).
async fn push_many(
    redis: &Redis,
    keys: &[String],
    ids: &[String],
    body: &str,
    priority: u64,
) -> anyhow::Result<()> {
    let mut args = vec!["2000000".to_string()];
    for id in ids {
        args.extend([
            id.clone(),
            item_json(id, body, priority)?,
            priority.to_string(),
            "0".into(),
        ]);
    }
    let reply: Vec<Vec<redis::Value>> = redis.script("queue_push_many", keys, &args).await?;
    anyhow::ensure!(
        reply
            .iter()
            .all(|r| matches!(r.first(), Some(redis::Value::Int(1)))),
        "push_many: {reply:?}"
    );
    Ok(())
}

/// Pushes `ids`: per item, or B (100 for auto) per call, 1,000 items in flight.
async fn push_all(
    redis: &Redis,
    keys: &[String],
    ids: &[String],
    body: &str,
    priority: u64,
    mode: Mode,
) -> anyhow::Result<()> {
    let per_call = match mode {
        Mode::Single => 1,
        Mode::Auto => xbot_core::client::PUSH_MANY_PER_CALL,
        Mode::Fixed(b) => b.clamp(1, xbot_core::client::PUSH_MANY_PER_CALL),
    };
    for window in ids.chunks(1_000.max(per_call)) {
        let calls = window.chunks(per_call).map(|c| async move {
            if per_call == 1 {
                push(redis, keys, &c[0], body, priority).await
            } else {
                push_many(redis, keys, c, body, priority).await
            }
        });
        for r in futures_util::future::join_all(calls).await {
            r?;
        }
    }
    Ok(())
}

/// One `queue_push` (the script `Queue::push` runs), with room for a million
/// items (the environment profiles cap a queue at 10k-100k).
async fn push(
    redis: &Redis,
    keys: &[String],
    id: &str,
    body: &str,
    priority: u64,
) -> anyhow::Result<()> {
    let args = [
        id.to_string(),
        item_json(id, body, priority)?,
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

/// The batched consumer, as the worker runs it with instant handlers: each
/// call settles the previous batch and leases the next (C handlers plus the
/// prefetch, or B). Returns the items it processed.
async fn consume_batched(
    q: &Queue<'_>,
    concurrency: usize,
    mode: Mode,
    claimed: &AtomicUsize,
    n: usize,
    deadline: Instant,
) -> anyhow::Result<usize> {
    // Instant handlers: the prefetch the worker converges to.
    let hold = match mode {
        Mode::Fixed(b) => b,
        _ => concurrency + xbot_core::client::prefetch(concurrency as u32, Some(0.0)) as usize,
    };
    let mut finished: Vec<Finished> = Vec::new();
    let mut done = 0;
    loop {
        // Claim up to `hold` of the N measured items before leasing them.
        let want = (0..hold)
            .take_while(|_| claimed.fetch_add(1, Ordering::Relaxed) < n)
            .count();
        let batch = q.reserve_many(30_000, want, &finished).await?;
        anyhow::ensure!(
            batch.settled.iter().all(|s| s.is_ok()),
            "an ack was refused"
        );
        anyhow::ensure!(
            batch.leased.len() == want,
            "leased {} of {want}",
            batch.leased.len()
        );
        if want == 0 {
            return Ok(done);
        }
        for r in &batch.leased {
            anyhow::ensure!(r.item.id.starts_with("it-"), "reserved a background item");
        }
        done += batch.leased.len();
        finished = batch
            .leased
            .iter()
            .map(|r| Finished::new(r, Outcome::Ack))
            .collect();
        anyhow::ensure!(Instant::now() < deadline, "processing took too long");
    }
}

/// One consumer per handler, one script call per item (each ack reserves the next).
async fn consume_single(
    q: &Queue<'_>,
    claimed: &AtomicUsize,
    n: usize,
    deadline: Instant,
) -> anyhow::Result<usize> {
    let claim = || claimed.fetch_add(1, Ordering::Relaxed) < n;
    let mut current = if claim() {
        q.reserve(30_000).await?
    } else {
        None
    };
    let mut done = 0;
    while let Some(r) = current {
        anyhow::ensure!(r.item.id.starts_with("it-"), "reserved a background item");
        current = if claim() {
            q.ack_and_reserve(&r.item.id, &r.token, 30_000).await?
        } else {
            q.ack(&r.item.id, &r.token).await?;
            None
        };
        done += 1;
        anyhow::ensure!(Instant::now() < deadline, "processing took too long");
    }
    Ok(done)
}

/// Push -> handler start on an idle queue, one consumer polling as the
/// worker does (10 ms, doubling to 250 ms while idle), items pushed at `rate`/s.
async fn latency(redis: &Redis, rate: f64, count: usize, mode: Mode) -> anyhow::Result<()> {
    let q = Queue::new(redis, QueueName::AnalyticsProcessing);
    let keys = xbot_core::keys::queue_keys(QueueName::AnalyticsProcessing, &redis.ctx).to_vec();
    let pushed_at = std::sync::Mutex::new(std::collections::HashMap::<String, Instant>::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut waits = Vec::with_capacity(count);
    let producer = async {
        let t0 = Instant::now();
        for i in 0..count {
            let due = t0 + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
            let id = format!("lat-{i}");
            pushed_at.lock().unwrap().insert(id.clone(), Instant::now());
            if mode == Mode::Single {
                push(redis, &keys, &id, "x", 50).await?;
            } else {
                push_many(redis, &keys, &[id], "x", 50).await?;
            }
        }
        anyhow::Ok(())
    };
    let consumer = async {
        let mut idle = Duration::from_millis(10);
        let mut finished: Vec<Finished> = Vec::new();
        while waits.len() < count {
            let leased = if mode == Mode::Single {
                q.reserve(30_000).await?.into_iter().collect::<Vec<_>>()
            } else {
                q.reserve_many(
                    30_000,
                    1 + xbot_core::client::prefetch(1, Some(0.0)) as usize,
                    &finished,
                )
                .await?
                .leased
            };
            finished.clear();
            if leased.is_empty() {
                tokio::time::sleep(idle).await;
                idle = (idle * 2).min(Duration::from_millis(250));
                continue;
            }
            idle = Duration::from_millis(10);
            for r in leased {
                let at = pushed_at.lock().unwrap()[&r.item.id];
                waits.push(at.elapsed().as_secs_f64() * 1000.0);
                if mode == Mode::Single {
                    q.ack(&r.item.id, &r.token).await?;
                } else {
                    finished.push(Finished::new(&r, Outcome::Ack));
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        anyhow::Ok(())
    };
    let (a, b) = tokio::join!(producer, consumer);
    a?;
    b?;
    waits.sort_by(f64::total_cmp);
    let pct = |p: f64| waits[((waits.len() as f64 * p) as usize).min(waits.len() - 1)];
    println!(
        "{}",
        json!({ "count": count, "rate": rate, "p50Ms": pct(0.5), "p99Ms": pct(0.99) })
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .map_or("redis://127.0.0.1:6379", String::as_str);
    let redis = Redis::connect(url, KeyContext::default()).await?;
    if args.get(1).map(String::as_str) == Some("latency") {
        let rate: f64 = args.get(2).map_or(Ok(100.0), |s| s.parse())?;
        let count: usize = args.get(3).map_or(Ok(500), |s| s.parse())?;
        return latency(&redis, rate, count, Mode::parse(args.get(4))?).await;
    }
    let arg = |i: usize, default: usize| args.get(i).map_or(Ok(default), |s| s.parse());
    let (n, concurrency, prefill, payload) =
        (arg(1, 10_000)?, arg(2, 1)?, arg(3, 0)?, arg(4, 200)?);
    let runs = arg(5, 1)?;
    let mode = Mode::parse(args.get(6))?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let q = Queue::new(&redis, QueueName::AnalyticsProcessing);
    let body = "x".repeat(payload);
    let keys = xbot_core::keys::queue_keys(QueueName::AnalyticsProcessing, &redis.ctx).to_vec();

    // Background items: queued first, lower priority, never consumed here.
    let bg: Vec<String> = (0..prefill).map(|i| format!("bg-{i}")).collect();
    push_all(&redis, &keys, &bg, &body, 0, Mode::Auto).await?;
    anyhow::ensure!(Instant::now() < deadline, "prefill took too long");

    for run in 0..runs {
        let t0 = Instant::now();
        let ids: Vec<String> = (0..n).map(|i| format!("it-{run}-{i}")).collect();
        push_all(&redis, &keys, &ids, &body, 50, mode).await?;
        let push_s = t0.elapsed().as_secs_f64();

        // Process until N are acked.
        let claimed = AtomicUsize::new(0);
        let deadline = Instant::now() + Duration::from_secs(120);
        let t1 = Instant::now();
        let processed: usize = if mode == Mode::Single {
            let consumers = (0..concurrency).map(|_| consume_single(&q, &claimed, n, deadline));
            futures_util::future::join_all(consumers)
                .await
                .into_iter()
                .sum::<anyhow::Result<usize>>()?
        } else {
            // As the worker: auto splits the handlers into lanes; a fixed B is one lane.
            let c = concurrency as u32;
            let lanes = if mode == Mode::Auto {
                xbot_core::client::lanes(c)
            } else {
                1
            };
            let all = (0..lanes).map(|l| {
                let per = if mode == Mode::Auto {
                    xbot_core::client::lane_concurrency(c, l) as usize
                } else {
                    concurrency
                };
                consume_batched(&q, per, mode, &claimed, n, deadline)
            });
            futures_util::future::join_all(all)
                .await
                .into_iter()
                .sum::<anyhow::Result<usize>>()?
        };
        let process_s = t1.elapsed().as_secs_f64();
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
