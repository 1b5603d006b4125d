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
use crate::ops::now_ms;
use crate::ops::queue::{Queue, Reserved};
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
    let work = process(shared, q.name, &r);
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
                if let Err(e) = q.extend(&id, &token, shared.cfg.lease_ms).await {
                    shared.metrics.error(q.name.family());
                    warn!(queue = name, id = %id, error = %e, "lease lost while processing");
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

async fn process(shared: &Shared, queue: QueueName, r: &Reserved) -> Result<(), SinkError> {
    match queue {
        QueueName::SyncToSupabase => {
            let op = SyncOp::parse(&r.item.data)?;
            shared.sink.apply(&r.item.id, op).await.map(drop)
        }
        QueueName::AnalyticsProcessing => {
            // Counters are not idempotent: a mark in the queue's meta hash lets a
            // redelivered item (crash after applying, before the ack) skip them.
            let q = Queue::new(&shared.redis, queue);
            let transient = |e: OpError| {
                shared.metrics.error(queue.family());
                SinkError::Transient(e.to_string())
            };
            if q.was_applied(&r.item.id).await.map_err(transient)? {
                return Ok(());
            }
            analytics::apply(&shared.redis, &r.item.data, &shared.metrics).await?;
            q.mark_applied(&r.item.id).await.map_err(transient)
        }
        QueueName::PendingPosts => Err(SinkError::Permanent(
            "pending_posts are posted by the bot, not the worker".into(),
        )),
    }
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
