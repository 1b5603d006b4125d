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
use crate::error::OpResult;
use crate::ops::queue::{Failed, Finished, Outcome, Queue, Reserved};
use crate::ops::{effects, now_ms};
use crate::redis::Redis;
use config::WorkerConfig;
use metrics::Metrics;
use serde::Serialize;
use sink::{Sink, SinkError, SyncOp};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;
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
        // Lanes: several batch calls in flight per queue (xbot_core::client::lanes).
        let c = concurrency as u32;
        for lane in 0..xbot_core::client::lanes(c) {
            let handlers = xbot_core::client::lane_concurrency(c, lane) as usize;
            tasks.push(tokio::spawn(consume(shared.clone(), queue, handlers)));
        }
    }
    let housekeeping = tokio::spawn(housekeeping(shared.clone()));
    let heartbeat = tokio::spawn(heartbeat(shared.clone(), instance_name()));
    shared.ready.store(true, Ordering::SeqCst);
    info!(queues = ?shared.cfg.queues, port = http.port(), "worker started");
    for t in tasks {
        let _ = t.await;
    }
    shared.ready.store(false, Ordering::SeqCst);
    housekeeping.abort();
    heartbeat.abort();
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

/// A finished item is settled within this long (with the next batch call, or on its own).
const SETTLE_WITHIN: Duration = Duration::from_millis(xbot_core::client::SETTLE_WITHIN_MS);

/// A handler's result, settled by the consumer's next batch call.
struct Done {
    finished: Finished,
    created_at: String,
    /// How long the handler ran (paces the prefetch).
    ms: f64,
}

/// One lane of a queue's consumer: up to `concurrency` handlers at once, fed
/// by batched leases (a queue with more than four handlers has several
/// lanes, so one lane's round trip overlaps another's server time). Each
/// `queue_reserve_many` call settles what the handlers finished since the
/// previous call and leases as many items as there are free handlers, plus a
/// prefetch sized from the handlers' recent speed
/// (`xbot_core::client::prefetch`): one script call for many items when
/// handlers are fast, one item per free handler when they are slow.
async fn consume(shared: Arc<Shared>, queue: QueueName, concurrency: usize) {
    let q = Queue::new(&shared.redis, queue);
    let mut shutdown = shared.shutdown.clone();
    let mut running: JoinSet<Option<Done>> = JoinSet::new();
    // Leased, waiting for a free handler (best first).
    let mut waiting: VecDeque<Reserved> = VecDeque::new();
    let mut finished: Vec<Done> = Vec::new();
    // Mean handler time, exponentially weighted; None until one finished.
    let mut pace: Option<f64> = None;
    let mut idle = Duration::from_millis(10);
    // After a call that found nothing new, the next poll waits until then.
    let mut poll_at = Instant::now();
    // The oldest finished item is settled by then at the latest.
    let mut settle_by = Instant::now();
    loop {
        // Handlers that finished meanwhile go with the next call.
        while let Some(res) = running.try_join_next() {
            if finished.is_empty() {
                settle_by = Instant::now() + SETTLE_WITHIN;
            }
            record(res, &mut finished, &mut pace);
        }
        if shared.stopping() {
            break;
        }
        while running.len() < concurrency {
            let Some(r) = waiting.pop_front() else { break };
            running.spawn(handle(shared.clone(), queue, r));
        }
        // Refill once at most half the prefetch is left waiting (the core's
        // rule): one call for many items rather than one per finished
        // handler. What finished meanwhile settles with it (at once when the
        // lane has nothing else to do).
        let want = xbot_core::client::lease_wanted(
            concurrency as u32,
            pace,
            running.len() as u32,
            waiting.len() as u32,
        ) as usize;
        let idle_lane = running.is_empty() && waiting.is_empty();
        let room = want > 0;
        let now = Instant::now();
        let settle_due = !finished.is_empty() && (idle_lane || now >= settle_by);
        let refill = (room && now >= poll_at) || settle_due;
        if refill {
            let settle: Vec<Finished> = finished.iter().map(|d| d.finished.clone()).collect();
            match q.reserve_many(shared.cfg.lease_ms, want, &settle).await {
                Ok(batch) => {
                    settled(&shared, &q, std::mem::take(&mut finished), batch.settled);
                    if !batch.leased.is_empty() {
                        idle = Duration::from_millis(10);
                        poll_at = Instant::now();
                        waiting.extend(batch.leased);
                        continue;
                    }
                    // Nothing new: poll again after a pause that doubles while the queue stays empty.
                    poll_at = Instant::now() + idle;
                    idle = (idle * 2).min(Duration::from_millis(250));
                }
                Err(e) => {
                    // Outcome unknown: the same settles go again with the
                    // next call (one that already applied is refused then).
                    shared.metrics.error(queue.family());
                    warn!(queue = queue.as_str(), error = %e, "reserve failed; retrying");
                    pause(&mut shutdown, Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        if running.is_empty() && waiting.is_empty() {
            if !finished.is_empty() {
                continue;
            }
            if shared.drain && drained(&shared).await {
                break;
            }
            pause(
                &mut shutdown,
                poll_at.saturating_duration_since(Instant::now()),
            )
            .await;
        } else {
            // Wait for a handler to end, until the next poll when there is room
            // for more, or until finished items are due to be settled.
            let until = [
                room.then_some(poll_at),
                (!finished.is_empty()).then_some(settle_by),
            ]
            .into_iter()
            .flatten()
            .min();
            tokio::select! {
                Some(res) = running.join_next() => {
                    if finished.is_empty() {
                        settle_by = Instant::now() + SETTLE_WITHIN;
                    }
                    record(res, &mut finished, &mut pace);
                }
                _ = async { tokio::time::sleep_until(until.expect("guarded").into()).await }, if until.is_some() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
    // Shutdown: running handlers finish within their grace; what they did and
    // every item still waiting for a handler (handed back untouched, no
    // attempt counted) is settled in one last call.
    while let Some(res) = running.join_next().await {
        record(res, &mut finished, &mut pace);
    }
    finished.extend(waiting.iter().map(|r| Done {
        finished: Finished::new(r, Outcome::Release),
        created_at: r.item.created_at.clone(),
        ms: 0.0,
    }));
    while !finished.is_empty() {
        let n = finished.len().min(xbot_core::client::RESERVE_MANY_PER_CALL);
        let done: Vec<Done> = finished.drain(..n).collect();
        let settle: Vec<Finished> = done.iter().map(|d| d.finished.clone()).collect();
        match q.reserve_many(shared.cfg.lease_ms, 0, &settle).await {
            Ok(batch) => settled(&shared, &q, done, batch.settled),
            Err(e) => {
                shared.metrics.error(queue.family());
                warn!(queue = queue.as_str(), error = %e, items = n, "could not settle at shutdown; the leases will expire and the ledger skips what was done");
            }
        }
    }
}

/// Keeps a finished handler's result for the next call, and its duration for the pace.
fn record(
    res: Result<Option<Done>, tokio::task::JoinError>,
    finished: &mut Vec<Done>,
    pace: &mut Option<f64>,
) {
    match res {
        Ok(Some(done)) => {
            *pace = Some(xbot_core::client::handler_pace(*pace, done.ms));
            finished.push(done);
        }
        Ok(None) => {}
        // A handler that panicked: its lease expires and the reaper hands the item back.
        Err(e) => {
            error!(error = %e, "a handler stopped unexpectedly; its item comes back when its lease expires")
        }
    }
}

/// Metrics and logs for settled items.
fn settled(
    shared: &Shared,
    q: &Queue<'_>,
    done: Vec<Done>,
    results: Vec<OpResult<Option<Failed>>>,
) {
    let name = q.name.as_str();
    for (d, r) in done.into_iter().zip(results) {
        let id = &d.finished.id;
        match (&d.finished.outcome, r) {
            (Outcome::Ack, Ok(_)) => {
                shared.metrics.count(name, "processed");
                if let Ok(created) = xbot_core::time::parse_iso(&d.created_at) {
                    shared
                        .metrics
                        .observe_latency(name, (now_ms() as i64 - created).max(0) as f64 / 1000.0);
                }
            }
            (Outcome::Release, Ok(_)) => info!(queue = name, id = %id, "handed back at shutdown"),
            (Outcome::Fail(msg), Ok(Some(f))) => {
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
            (Outcome::Bury(reason), Ok(_)) => {
                shared.metrics.count(name, "dead");
                warn!(queue = name, id = %id, reason = %reason, "dead-lettered");
            }
            (_, Ok(_)) => {}
            (outcome, Err(e)) => {
                if !matches!(e, OpError::NotInFlight { .. } | OpError::NotOwner { .. }) {
                    shared.metrics.error(q.name.family());
                }
                if matches!(outcome, Outcome::Ack) {
                    warn!(queue = name, id = %id, error = %e, "processed but the ack was refused; a redelivery is skipped by the ledger");
                } else {
                    warn!(queue = name, id = %id, error = %e, "settling refused: the lease was lost");
                }
            }
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
/// length. Returns what to settle (ack, fail, bury, or hand back when the
/// shutdown grace ran out); `None` when the lease was lost meanwhile.
async fn handle(shared: Arc<Shared>, queue: QueueName, r: Reserved) -> Option<Done> {
    let shared = &*shared;
    let q = Queue::new(&shared.redis, queue);
    let name = queue.as_str();
    let (id, token) = (r.item.id.clone(), r.token.clone());
    let started = std::time::Instant::now();
    // An item that waited for a handler past a third of its lease gets a
    // fresh one first (or is skipped if it was lost meanwhile).
    if r.lease_deadline_ms < now_ms() + shared.cfg.lease_ms * 2 / 3 {
        if let Err(e @ (OpError::NotInFlight { .. } | OpError::NotOwner { .. })) =
            q.extend(&id, &token, shared.cfg.lease_ms).await
        {
            warn!(queue = name, id = %id, error = %e, "lease lost while waiting for a handler");
            return None;
        }
    }
    // Set when the keep-alive learns the lease was lost: effects not yet
    // applied are left to the item's next owner.
    let lost = AtomicBool::new(false);
    let work = process(shared, queue, &r, &lost);
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
                        shared.metrics.error(queue.family());
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
    let outcome = match result {
        // Shutdown grace ran out: hand the item back untouched.
        None => Outcome::Release,
        Some(Ok(())) => Outcome::Ack,
        Some(Err(SinkError::Transient(msg))) if lost.load(Ordering::SeqCst) => {
            // Not ours any more: its new owner (or the reaper) decides.
            warn!(queue = name, id = %id, error = %msg, "stopped: the lease was lost");
            return None;
        }
        Some(Err(SinkError::Transient(msg))) => Outcome::Fail(msg),
        Some(Err(SinkError::Permanent(msg))) => Outcome::Bury(msg),
    };
    Some(Done {
        finished: Finished::new(&r, outcome),
        created_at: r.item.created_at.clone(),
        ms: started.elapsed().as_secs_f64() * 1000.0,
    })
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
/// This process's name among workers: `<hostname>-<pid>`.
pub fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!(
        "{}-{}",
        if host.is_empty() { "host" } else { &host },
        std::process::id()
    )
}

/// How often a worker tells the dashboard it is alive, and what it did.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Every 5 s: this worker's counters and latency histogram under
/// `worker:<instance>` (expires after 30 s), and its name in the `workers`
/// registry (entries a minute old are dropped). A failed beat is logged and
/// retried at the next one: nothing depends on it but the dashboard.
async fn heartbeat(shared: Arc<Shared>, instance: String) {
    use xbot_core::keys::{build_key, Params};
    let ctx = &shared.redis.ctx;
    let mut p = Params::new();
    p.insert("instance".into(), instance.clone());
    let (Ok(key), Ok(registry)) = (
        build_key("worker.heartbeat", &p, ctx),
        build_key("worker.registry", &Params::new(), ctx),
    ) else {
        warn!(
            instance,
            "no heartbeat: the instance name is not a valid key part"
        );
        return;
    };
    let started = now_ms();
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tick.tick().await;
        let now = now_ms();
        let beat = serde_json::json!({
            "instance": instance, "startedAtMs": started, "seenAtMs": now,
            "queues": shared.metrics.snapshot(),
        });
        let mut conn = shared.redis.conn.clone();
        let res = redis::pipe()
            .cmd("SET")
            .arg(&key.key)
            .arg(beat.to_string())
            .arg("EX")
            .arg(30)
            .ignore()
            .zadd(&registry.key, &instance, now)
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&registry.key)
            .arg("-inf")
            .arg(now.saturating_sub(60_000))
            .ignore()
            .query_async::<()>(&mut conn)
            .await;
        if let Err(e) = res {
            warn!(error = %e, "heartbeat failed");
        }
    }
}

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
