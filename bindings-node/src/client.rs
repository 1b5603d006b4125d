//! What the TypeScript client (`createXbot`) asks of the core before each
//! Redis call: `xbot_core::client` behind thin conversions. These exports are
//! public, but the client is their main user; they keep every script argument
//! computed by the same code as the runner's.

use crate::arg::Arg;
use crate::text::Text;
use crate::{err, key_options};
use napi::bindgen_prelude::Unknown;
use napi::Result;
use napi_derive::napi;
use xbot_core::{args, client, queue, ratelimit};

fn context(options: Option<Unknown>) -> Result<xbot_core::keys::KeyContext, &'static str> {
    key_options(options)?
        .unwrap_or_default()
        .context()
        .map_err(err)
}

/// How a queue behaves in an environment: retry policy, stall limit,
/// defaults and the environment's capacity.
#[napi(object)]
pub struct QueuePolicy {
    pub queue: String,
    /// Total attempts, the first included; after the last failure the item is dead.
    pub max_attempts: u32,
    /// Backoff before retry 1 (doubles per retry, jittered per item, capped at `capMs`).
    pub base_ms: f64,
    pub cap_ms: f64,
    /// Expired leases (a worker that died) an item survives before it is dead-lettered.
    pub max_stalls: u32,
    pub default_priority: u32,
    pub default_type: String,
    pub default_lease_ms: f64,
    /// Ready + delayed + in-flight items before a push is refused (`QUEUE_FULL`).
    pub capacity: f64,
}

/// The policy of `queue` (`sync_to_supabase`, `analytics_processing`,
/// `pending_posts`) in the environment of `options`.
#[napi(ts_args_type = "queue: string, options?: KeyOptions | undefined | null")]
pub fn queue_policy(queue: String, options: Option<Unknown>) -> Result<QueuePolicy, &'static str> {
    let q = queue::QueueName::parse(&queue).map_err(err)?;
    let p = client::queue_policy(q, &context(options)?);
    Ok(QueuePolicy {
        queue: p.queue.into(),
        max_attempts: p.max_attempts,
        base_ms: p.base_ms as f64,
        cap_ms: p.cap_ms as f64,
        max_stalls: p.max_stalls,
        default_priority: p.default_priority.into(),
        default_type: p.default_type.into(),
        default_lease_ms: p.default_lease_ms as f64,
        capacity: p.capacity as f64,
    })
}

/// The options of a push, as `prepareQueueItem` reads them (TypeScript shape
/// only; `xbot_core::args` reads the object).
#[napi(object, js_name = "PrepareItemOptions")]
pub struct PrepareItemOptions {
    /// The item's id (default: a new time-ordered id). Pushing an id that is queued is a no-op.
    pub id: Option<String>,
    /// The item's `type` (default per queue: `sync`, `metrics`, `post`).
    pub r#type: Option<String>,
    /// 0-100, higher first (default per queue).
    pub priority: Option<f64>,
    /// Not served before this epoch ms (scheduled; `pending_posts`).
    pub not_before_ms: Option<f64>,
}

/// Builds and validates the item JSON a push stores (`{id, type, data,
/// priority, createdAt, retryCount, notBefore?}`, the `queue_push` ARGV 2):
/// `dataJson` is `JSON.stringify(data)` (`undefined` when `data` cannot be
/// serialized), `defaultId` is used when `options.id` is absent, `nowMs`
/// becomes `createdAt`. Throws the core's code for any bad option.
#[napi(
    ts_args_type = "queue: string, dataJson: string | undefined, options: PrepareItemOptions | undefined | null, defaultId: string, nowMs: number"
)]
pub fn prepare_queue_item(
    queue: String,
    data_json: Option<Text>,
    options: Option<Unknown>,
    default_id: String,
    now_ms: f64,
) -> Result<String, &'static str> {
    let q = queue::QueueName::parse(&queue).map_err(err)?;
    let o = args::push_options(options.map(Arg::from)).map_err(err)?;
    let req = client::PushRequest {
        id: o.id.as_deref().unwrap_or(&default_id),
        kind: o.kind.as_deref(),
        priority: o.priority,
        not_before_ms: o.not_before_ms,
    };
    let data = data_json.as_ref().map(|t| t.0.as_str());
    client::prepare_push_json(q, data, &req, now_ms)
        .map(|p| p.item)
        .map_err(err)
}

/// Checks a lease length (an integer from 10 ms to one day) and returns it.
#[napi]
pub fn lease_ms(value: Unknown) -> Result<f64, &'static str> {
    let v = args::JsArg::number(&Arg::from(value)).unwrap_or(f64::NAN);
    client::lease_ms(v).map(|v| v as f64).map_err(err)
}

/// A lock's key, its fencing counter and its default lease.
#[napi(object)]
pub struct LockKeys {
    pub key: String,
    pub fence_key: String,
    pub default_lease_ms: f64,
}

/// The keys of lock `name` (`posting_in_progress`, `sync_in_progress`).
#[napi(ts_args_type = "name: string, options?: KeyOptions | undefined | null")]
pub fn lock_keys(name: String, options: Option<Unknown>) -> Result<LockKeys, &'static str> {
    let k = client::lock_keys(&name, &context(options)?).map_err(err)?;
    Ok(LockKeys {
        key: k.key,
        fence_key: k.fence_key,
        default_lease_ms: k.default_lease_ms as f64,
    })
}

/// The stats hash of the `daily` or `hourly` UTC bucket containing `atMs`.
#[napi(ts_args_type = "period: string, atMs: number, options?: KeyOptions | undefined | null")]
pub fn stats_key(
    period: String,
    at_ms: f64,
    options: Option<Unknown>,
) -> Result<crate::types::BuiltKey, &'static str> {
    client::stats_key(&period, at_ms, &context(options)?)
        .map(Into::into)
        .map_err(err)
}

/// The posterior keys of one bandit arm (one hash tag, so one Cluster slot).
#[napi(object)]
pub struct BanditKeys {
    pub alpha: String,
    pub beta: String,
}

/// The keys of arm `arm` of bandit `kind` (`topic`, `hour`, `tag`).
#[napi(ts_args_type = "kind: string, arm: string, options?: KeyOptions | undefined | null")]
pub fn bandit_keys(
    kind: String,
    arm: String,
    options: Option<Unknown>,
) -> Result<BanditKeys, &'static str> {
    let (alpha, beta) = client::bandit_keys(&kind, &arm, &context(options)?).map_err(err)?;
    Ok(BanditKeys { alpha, beta })
}

/// A Beta posterior.
#[napi(object)]
pub struct Posterior {
    pub alpha: f64,
    pub beta: f64,
}

/// One observed reward `r` in [0, 1]: alpha + r, beta + 1 − r.
#[napi]
pub fn update_posterior(alpha: f64, beta: f64, reward: f64) -> Result<Posterior, &'static str> {
    xbot_core::bandit::update_posterior(alpha, beta, reward)
        .map(|(alpha, beta)| Posterior { alpha, beta })
        .map_err(err)
}

/// The prior every arm starts from.
#[napi]
pub fn bandit_prior() -> Posterior {
    let (alpha, beta) = xbot_core::bandit::PRIOR;
    Posterior { alpha, beta }
}

/// The counter of one rate-limit window.
#[napi(object)]
pub struct RateLimitWindow {
    pub key: String,
    pub ttl_seconds: f64,
    pub reset_at_ms: f64,
}

/// The window of limiter `posting` (per UTC hour) or `api` (per UTC minute) containing `nowMs`.
#[napi(ts_args_type = "limiter: string, nowMs: number, options?: KeyOptions | undefined | null")]
pub fn rate_limit_window(
    limiter: String,
    now_ms: f64,
    options: Option<Unknown>,
) -> Result<RateLimitWindow, &'static str> {
    let w = client::rate_limit_window(&limiter, now_ms, &context(options)?).map_err(err)?;
    Ok(RateLimitWindow {
        key: w.key,
        ttl_seconds: w.ttl_seconds as f64,
        reset_at_ms: w.reset_at_ms as f64,
    })
}

/// Limits per window.
#[napi(object)]
pub struct RateLimits {
    pub posting_per_hour: u32,
    pub api_per_minute: u32,
}

/// The limits stored as JSON in `cache:config:rate_limits` (`null`: the
/// defaults, 12 posts per hour and 60 API calls per minute).
#[napi(ts_args_type = "json: string | null | undefined")]
pub fn rate_limits(json: Option<String>) -> Result<RateLimits, &'static str> {
    let l = match json {
        Some(j) => ratelimit::RateLimits::from_json(&j).map_err(err)?,
        None => ratelimit::RateLimits::default(),
    };
    Ok(RateLimits {
        posting_per_hour: l.posting_per_hour,
        api_per_minute: l.api_per_minute,
    })
}

/// The dedup marker of a text.
#[napi(object)]
pub struct DedupMarker {
    pub key: String,
    pub sha256: String,
    pub ttl_seconds: f64,
}

/// The marker of `text` held by `holder` in `family` (`dedup.tweet`, 24 h,
/// the default; or `content_hash.sha256`, 7 days). Blank texts and holders are refused.
#[napi(
    ts_args_type = "text: string, holder: string, family?: string | undefined | null, options?: KeyOptions | undefined | null"
)]
pub fn dedup_marker(
    text: Text,
    holder: String,
    family: Option<String>,
    options: Option<Unknown>,
) -> Result<DedupMarker, &'static str> {
    let family = family.as_deref().unwrap_or("dedup.tweet");
    let m = client::dedup_marker(&text.0, &holder, family, &context(options)?).map_err(err)?;
    Ok(DedupMarker {
        key: m.key,
        sha256: m.sha256,
        ttl_seconds: m.ttl_seconds as f64,
    })
}

/// Numbers of the protocol a client needs.
#[napi(object)]
pub struct ProtocolLimits {
    pub min_lease_ms: f64,
    pub max_lease_ms: f64,
    pub default_lease_ms: f64,
    pub promote_per_call: u32,
    /// Items per `queue_push_many` call.
    pub push_many_per_call: u32,
    pub reap_per_call: u32,
    pub recent_max: u32,
    pub max_item_bytes: u32,
    /// Items one `queue_reserve_many` call leases, and finished items it settles, at most.
    pub reserve_many_per_call: u32,
    /// Most items a consumer holds leased beyond its running handlers.
    pub max_prefetch: u32,
    /// A consumer settles a finished item within this many ms.
    pub settle_within_ms: u32,
}

/// The protocol's bounds: leases, items per script call, recent list length, item size.
#[napi]
pub fn protocol_limits() -> ProtocolLimits {
    ProtocolLimits {
        min_lease_ms: client::MIN_LEASE_MS as f64,
        max_lease_ms: client::MAX_LEASE_MS as f64,
        default_lease_ms: client::DEFAULT_LEASE_MS as f64,
        promote_per_call: client::PROMOTE_PER_CALL,
        push_many_per_call: client::PUSH_MANY_PER_CALL as u32,
        reap_per_call: client::REAP_PER_CALL,
        recent_max: client::RECENT_MAX as u32,
        max_item_bytes: queue::MAX_ITEM_BYTES as u32,
        reserve_many_per_call: client::RESERVE_MANY_PER_CALL as u32,
        max_prefetch: client::MAX_PREFETCH,
        settle_within_ms: client::SETTLE_WITHIN_MS as u32,
    }
}

/// Items a lane asks for in its next batch call, given its `running`
/// handlers and the items `waiting` for one: enough to hold `concurrency` +
/// `prefetch()`, but 0 while more than half the prefetch still waits.
#[napi(
    ts_args_type = "concurrency: number, meanHandlerMs: number | undefined | null, running: number, waiting: number"
)]
pub fn lease_wanted(
    concurrency: u32,
    mean_handler_ms: Option<f64>,
    running: u32,
    waiting: u32,
) -> u32 {
    client::lease_wanted(concurrency, mean_handler_ms, running, waiting)
}

/// The handlers' mean duration once one more took `ms` (exponentially
/// weighted, the newest counts 1/5; the first one as it is).
#[napi(ts_args_type = "meanMs: number | undefined | null, ms: number")]
pub fn handler_pace(mean_ms: Option<f64>, ms: f64) -> f64 {
    client::handler_pace(mean_ms, ms)
}

/// Lanes a consumer with `concurrency` handlers splits into (each its own
/// batch calls, handlers and prefetch): one per four handlers, at most four,
/// so one lane's round trip overlaps another's server time.
#[napi]
pub fn lanes(concurrency: u32) -> u32 {
    client::lanes(concurrency)
}

/// Handlers of lane `lane` (0-based) of a consumer with `concurrency` handlers.
#[napi]
pub fn lane_concurrency(concurrency: u32, lane: u32) -> u32 {
    client::lane_concurrency(concurrency, lane)
}

/// Checks a batched lease's sizes: `max` items to lease and `settle` finished
/// items, each an integer from 0 to `reserveManyPerCall` (`INVALID_PARAM`
/// otherwise); returns `max`.
#[napi(ts_args_type = "max: number, settle: number")]
pub fn reserve_many_size(max: f64, settle: u32) -> Result<u32, &'static str> {
    client::reserve_many_size(max, settle as usize)
        .map(|n| n as u32)
        .map_err(err)
}

/// Items a consumer with `concurrency` handlers leases beyond the running
/// ones (they wait, leased, for a free handler): as many as the handlers get
/// through in 50 ms at their recent mean duration `meanHandlerMs`, at most
/// `maxPrefetch`; 0 while no handler has finished yet. The worker and
/// `work()` size their batches with it.
#[napi(ts_args_type = "concurrency: number, meanHandlerMs?: number | undefined | null")]
pub fn prefetch(concurrency: u32, mean_handler_ms: Option<f64>) -> u32 {
    client::prefetch(concurrency, mean_handler_ms)
}

/// The old bot's dedup marker of `text` during the cut-over:
/// `content_hash:<SHA-256 of legacyNormalize(text)>` (unprefixed; read, never written).
#[napi(ts_args_type = "text: string")]
pub fn legacy_dedup_key(text: Text) -> String {
    xbot_core::legacy::legacy_dedup_key(&text.0)
}

/// The keys of the old bot's posting lock (`<prefix>xbot:lock:posting`)
/// under each legacy prefix (default `prod:` and `app:`): during the cut-over
/// `posting_in_progress` is not acquired while one of them is held.
#[napi(ts_args_type = "prefixes?: readonly string[] | undefined | null")]
pub fn legacy_lock_keys(prefixes: Option<Unknown>) -> Result<Vec<String>, &'static str> {
    let list = match prefixes.map(Arg::from) {
        Some(a)
            if !matches!(
                args::JsArg::kind(&a),
                args::JsKind::Undefined | args::JsKind::Null
            ) =>
        {
            args::strings_arg("prefixes", &a)
                .map_err(err)?
                .iter()
                .map(|p| xbot_core::keys::Prefix::parse(p))
                .collect::<xbot_core::Result<Vec<_>>>()
                .map_err(err)?
        }
        _ => xbot_core::legacy::default_legacy_prefixes(),
    };
    Ok(list
        .iter()
        .map(xbot_core::legacy::legacy_lock_key)
        .collect())
}
