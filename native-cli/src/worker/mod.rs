//! `xbot-redis worker`: consumes the sync and analytics queues, keeps leases
//! alive while it works, reaps expired leases, promotes scheduled posts,
//! serves /healthz, /readyz and /metrics, and drains on SIGTERM/SIGINT.

pub mod analytics;
pub mod config;
mod http;
pub mod metrics;
pub mod postgres;
pub mod sink;

use crate::error::OpError;
use crate::ops::queue::{Queue, Reserved};
use crate::ops::{effects, now_ms};
use crate::redis::Redis;
use config::WorkerConfig;
use metrics::Metrics;
use serde::Serialize;
use sink::{Sink, SinkError, SyncOp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{error, info, warn};
use xbot_core::queue::QueueName;

/// State shared by the consumers, the background jobs and the HTTP server.
pub struct Shared {
    pub redis: Redis,
    pub cfg: WorkerConfig,
    pub sink: Sink,
    pub metrics: Metrics,
    pub ready: AtomicBool,
    shutdown: watch::Receiver<bool>,
    /// Exit once every consumed queue is empty (the end-to-end run).
    drain: bool,
}

impl Shared {
    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// What the worker did, printed when it exits.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Items acked per queue.
    pub processed: std::collections::BTreeMap<String, u64>,
    /// Rows per table in the sink.
    pub rows: std::collections::BTreeMap<String, u64>,
}

/// Sleeps `d`, or less if shutdown starts.
async fn pause(shutdown: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shutdown.changed() => {}
    }
}

/// Runs until `shutdown` turns true (or, with `drain`, until the queues are empty).
pub async fn run(
    redis: Redis,
    cfg: WorkerConfig,
    sink: Sink,
    shutdown: watch::Receiver<bool>,
    drain: bool,
) -> Result<Summary, OpError> {
    let shared = Arc::new(Shared {
        redis,
        cfg,
        sink,
        metrics: Metrics::default(),
        ready: AtomicBool::new(false),
        shutdown,
        drain,
    });
    let http = http::serve(shared.clone()).await?;
    let mut tasks = Vec::new();
    for (queue, concurrency) in shared.cfg.queues.clone() {
        for _ in 0..concurrency {
            tasks.push(tokio::spawn(consume(shared.clone(), queue)));
        }
    }
    let housekeeping = tokio::spawn(housekeeping(shared.clone()));
    shared.ready.store(true, Ordering::SeqCst);
    info!(queues = ?shared.cfg.queues, port = http.port(), "worker started");
    for t in tasks {
        let _ = t.await;
    }
    shared.ready.store(false, Ordering::SeqCst);
    housekeeping.abort();
    http.stop();
    let processed = shared
        .cfg
        .queues
        .iter()
        .map(|(q, _)| (q.as_str().to_string(), shared.metrics.processed(q.as_str())))
        .collect();
    let rows = shared
        .sink
        .counts()
        .await
        .unwrap_or_default()
        .into_iter()
        .collect();
    info!("worker stopped");
    Ok(Summary { processed, rows })
}

/// One consumer: reserve, process under a kept-alive lease, ack or fail.
async fn consume(shared: Arc<Shared>, queue: QueueName) {
    let q = Queue::new(&shared.redis, queue);
    let mut shutdown = shared.shutdown.clone();
    let mut idle = Duration::from_millis(10);
    // An item reserved by the previous ack (one round trip per busy item).
    let mut next: Option<Reserved> = None;
    while !shared.stopping() {
        let reserved = match next.take() {
            Some(r) => Ok(Some(r)),
            None => q.reserve(shared.cfg.lease_ms).await,
        };
        match reserved {
            Ok(Some(r)) => {
                idle = Duration::from_millis(10);
                if let Some(done) = handle(&shared, &q, r).await {
                    next = complete(&shared, &q, done).await;
                }
            }
            Ok(None) => {
                if shared.drain && drained(&shared).await {
                    break;
                }
                pause(&mut shutdown, idle).await;
                idle = (idle * 2).min(Duration::from_millis(250));
            }
            Err(e) => {
                shared.metrics.error(queue.family());
                warn!(queue = queue.as_str(), error = %e, "reserve failed; retrying");
                pause(&mut shutdown, Duration::from_secs(1)).await;
            }
        }
    }
    // Shutdown came between an ack and the work on the item it reserved.
    if let Some(r) = next {
        hand_back(&shared, &q, &r.item.id, &r.token).await;
    }
}

/// Releases an unprocessed item at shutdown: ready again, no attempt counted.
async fn hand_back(shared: &Shared, q: &Queue<'_>, id: &str, token: &str) {
    let name = q.name.as_str();
    match q.release(id, token).await {
        Ok(()) => info!(queue = name, id = %id, "handed back at shutdown"),
        Err(e) => {
            shared.metrics.error(q.name.family());
            warn!(queue = name, id = %id, error = %e, "could not hand back; its lease will expire")
        }
    }
}

/// A processed item, waiting for its ack.
struct Processed {
    id: String,
    token: String,
    created_at: String,
}

/// Acks a processed item and, unless shutting down, reserves the next one in
/// the same round trip.
async fn complete(shared: &Shared, q: &Queue<'_>, done: Processed) -> Option<Reserved> {
    let name = q.name.as_str();
    let result = if shared.stopping() {
        q.ack(&done.id, &done.token).await.map(|()| None)
    } else {
        q.ack_and_reserve(&done.id, &done.token, shared.cfg.lease_ms)
            .await
    };
    match result {
        Ok(next) => {
            shared.metrics.count(name, "processed");
            if let Ok(created) = xbot_core::time::parse_iso(&done.created_at) {
                shared
                    .metrics
                    .observe_latency(name, (now_ms() as i64 - created).max(0) as f64 / 1000.0);
            }
            next
        }
        Err(e) => {
            if !matches!(e, OpError::NotInFlight { .. } | OpError::NotOwner { .. }) {
                shared.metrics.error(q.name.family());
            }
            warn!(queue = name, id = %done.id, error = %e, "processed but the ack was refused or failed; a redelivery is skipped by the ledger");
            None
        }
    }
}

/// True when no consumed queue has anything ready, delayed or in flight.
async fn drained(shared: &Shared) -> bool {
    for (queue, _) in &shared.cfg.queues {
        match Queue::new(&shared.redis, *queue).stats().await {
            Ok(s) if s.ready + s.delayed + s.in_flight == 0 => {}
            _ => return false,
        }
    }
    true
}

/// Processes one reserved item; the lease is extended every third of its
/// length. A processed item is returned for its ack; failures are recorded here.
async fn handle(shared: &Shared, q: &Queue<'_>, r: Reserved) -> Option<Processed> {
    let name = q.name.as_str();
    let (id, token) = (r.item.id.clone(), r.token.clone());
    // Set when the keep-alive learns the lease was lost: effects not yet
    // applied are left to the item's next owner.
    let lost = AtomicBool::new(false);
    let work = process(shared, q.name, &r, &lost);
    tokio::pin!(work);
    let mut keepalive = tokio::time::interval(Duration::from_millis(shared.cfg.lease_ms / 3));
    keepalive.tick().await;
    let mut shutdown = shared.shutdown.clone();
    let grace = Duration::from_millis(shared.cfg.shutdown_grace_ms);
    let mut deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    let result = loop {
        tokio::select! {
            res = &mut work => break Some(res),
            _ = keepalive.tick() => {
                match q.extend(&id, &token, shared.cfg.lease_ms).await {
                    Ok(_) => {}
                    Err(e @ (OpError::NotInFlight { .. } | OpError::NotOwner { .. })) => {
                        lost.store(true, Ordering::SeqCst);
                        warn!(queue = name, id = %id, error = %e, "lease lost while processing");
                    }
                    Err(e) => {
                        // Outcome unknown (timeout, reconnect): the next tick tries again.
                        shared.metrics.error(q.name.family());
                        warn!(queue = name, id = %id, error = %e, "could not extend the lease");
                    }
                }
            }
            _ = shutdown.changed(), if deadline.is_none() => {
                deadline = Some(Box::pin(tokio::time::sleep(grace)));
            }
            _ = async { deadline.as_mut().expect("guarded").await }, if deadline.is_some() => break None,
        }
    };
    match result {
        None => {
            // Shutdown grace ran out: hand the item back untouched.
            hand_back(shared, q, &id, &token).await;
        }
        Some(Ok(())) => {
            return Some(Processed {
                id,
                token,
                created_at: r.item.created_at.clone(),
            })
        }
        Some(Err(SinkError::Transient(msg))) if lost.load(Ordering::SeqCst) => {
            // Not ours any more: its new owner (or the reaper) decides.
            warn!(queue = name, id = %id, error = %msg, "stopped: the lease was lost");
        }
        Some(Err(SinkError::Transient(msg))) => match q.fail(&id, &token, &msg).await {
            Ok(f) => {
                shared.metrics.count(
                    name,
                    if f.outcome == "dead" {
                        "dead"
                    } else {
                        "retried"
                    },
                );
                warn!(queue = name, id = %id, error = %msg, outcome = f.outcome, "item failed");
            }
            Err(e) => {
                shared.metrics.error(q.name.family());
                error!(queue = name, id = %id, error = %e, "could not record a failure")
            }
        },
        Some(Err(SinkError::Permanent(msg))) => match q.bury(&id, &token, &msg).await {
            Ok(()) => {
                shared.metrics.count(name, "dead");
                warn!(queue = name, id = %id, reason = %msg, "dead-lettered");
            }
            Err(e) => {
                shared.metrics.error(q.name.family());
                error!(queue = name, id = %id, error = %e, "could not dead-letter")
            }
        },
    }
    None
}

async fn process(
    shared: &Shared,
    queue: QueueName,
    r: &Reserved,
    lost: &AtomicBool,
) -> Result<(), SinkError> {
    match queue {
        QueueName::SyncToSupabase => {
            let op = SyncOp::parse(&r.item.data)?;
            shared.sink.apply(&r.item.id, op).await.map(drop)
        }
        QueueName::AnalyticsProcessing => apply_effects(shared, queue, r, lost).await,
        QueueName::PendingPosts => Err(SinkError::Permanent(
            "pending_posts are posted by the bot, not the worker".into(),
        )),
    }
}

/// Tries of one Redis step before the item is failed (and retried later).
const EFFECT_TRIES: u32 = 6;

/// Runs `step` until it succeeds, a usage error, `EFFECT_TRIES` tries or a
/// lost lease. Every step here is safe to repeat: a plan is stored once, an
/// effect applies once per effect id, so a timeout ("outcome unknown") is
/// simply tried again.
async fn retrying<T, F, Fut>(
    shared: &Shared,
    family: &'static str,
    lost: &AtomicBool,
    mut step: F,
) -> Result<T, SinkError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, OpError>>,
{
    let mut wait = Duration::from_millis(50);
    let mut tries = 0;
    loop {
        match step().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_usage() => return Err(SinkError::Permanent(e.to_string())),
            Err(e @ (OpError::NotInFlight { .. } | OpError::NotOwner { .. })) => {
                lost.store(true, Ordering::SeqCst);
                return Err(SinkError::Transient(e.to_string()));
            }
            Err(e) => {
                shared.metrics.error(family);
                tries += 1;
                if tries >= EFFECT_TRIES || lost.load(Ordering::SeqCst) || shared.stopping() {
                    return Err(SinkError::Transient(e.to_string()));
                }
                warn!(family, error = %e, tries, "Redis step failed; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// An analytics item: fix its effects (the stored plan of an earlier delivery
/// wins), then apply each at most once. A crash anywhere leaves applied
/// effects marked; the redelivery applies only the rest, then acks.
async fn apply_effects(
    shared: &Shared,
    queue: QueueName,
    r: &Reserved,
    lost: &AtomicBool,
) -> Result<(), SinkError> {
    let q = Queue::new(&shared.redis, queue);
    // The scope (hence every effect id) is a function of the item alone, so
    // even a plan lost with a failed-over master cannot make a second set of
    // effect ids; a new item under a reused id has a new `createdAt`.
    let scope = format!("{}:{}@{}", queue.as_str(), r.item.id, r.item.created_at);
    let at_ms = xbot_core::time::parse_iso(&r.item.created_at)
        .map_or_else(|_| now_ms(), |ms| ms.max(0) as u64);
    let fresh =
        analytics::plan(&shared.redis, &r.item.data, &scope, at_ms, &shared.metrics).await?;
    let plan = retrying(shared, queue.family(), lost, || {
        q.plan(&r.item.id, &r.token, &fresh)
    })
    .await?;
    for effect in &plan.effects {
        if lost.load(Ordering::SeqCst) {
            return Err(SinkError::Transient(
                "lease lost; the item's next owner applies the remaining effects".into(),
            ));
        }
        retrying(
            shared,
            analytics::effect_family(effect, &shared.redis.ctx.prefix),
            lost,
            || effects::apply_once(&shared.redis, &plan.scope, effect),
        )
        .await?;
    }
    Ok(())
}

/// Every few seconds: hand expired leases back and promote scheduled posts.
async fn housekeeping(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        for q in QueueName::ALL {
            let queue = Queue::new(&shared.redis, q);
            match queue.reap(1_000).await {
                Ok((0, 0)) => {}
                Ok((retried, dead)) => {
                    info!(queue = q.as_str(), retried, dead, "reaped expired leases")
                }
                Err(e) => {
                    shared.metrics.error(q.family());
                    warn!(queue = q.as_str(), error = %e, "reap failed")
                }
            }
            if q == QueueName::PendingPosts {
                if let Err(e) = queue.promote(1_000).await {
                    shared.metrics.error(q.family());
                    warn!(error = %e, "promoting scheduled posts failed");
                }
            }
        }
    }
}
