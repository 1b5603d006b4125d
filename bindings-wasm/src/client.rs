//! What the TypeScript client asks of the core before each Redis call
//! (`xbot_core::client`), for the package's WebAssembly core: the napi
//! package's `client` exports with the same names, shapes, results and error
//! codes, so `require('xbot-redis')` works the same with either core.

use crate::convert::{self, err, Js, Obj};
use wasm_bindgen::prelude::*;
use xbot_core::{args, client, queue, ratelimit};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
export interface QueuePolicy {
  queue: string; maxAttempts: number; baseMs: number; capMs: number; maxStalls: number;
  defaultPriority: number; defaultType: string; defaultLeaseMs: number; capacity: number
}
export interface PrepareItemOptions { id?: string; type?: string; priority?: number; notBeforeMs?: number }
export interface LockKeys { key: string; fenceKey: string; defaultLeaseMs: number }
export interface BanditKeys { alpha: string; beta: string }
export interface Posterior { alpha: number; beta: number }
export interface RateLimitWindow { key: string; ttlSeconds: number; resetAtMs: number }
export interface RateLimits { postingPerHour: number; apiPerMinute: number }
export interface DedupMarker { key: string; sha256: string; ttlSeconds: number }
export interface ProtocolLimits {
  minLeaseMs: number; maxLeaseMs: number; defaultLeaseMs: number; promotePerCall: number;
  pushManyPerCall: number; reapPerCall: number; recentMax: number; maxItemBytes: number;
  reserveManyPerCall: number; maxPrefetch: number; settleWithinMs: number
}
export interface LuaScript { name: string; numberOfKeys: number; readOnly: boolean; source: string }
"#;

fn context(options: Option<JsValue>) -> Result<xbot_core::keys::KeyContext, JsValue> {
    convert::key_options(options)?
        .unwrap_or_default()
        .context()
        .map_err(err)
}

fn queue_name(queue: &str) -> Result<queue::QueueName, JsValue> {
    queue::QueueName::parse(queue).map_err(err)
}

/// The policy of `queue` (`sync_to_supabase`, `analytics_processing`,
/// `pending_posts`) in the environment of `options`.
#[wasm_bindgen(js_name = queuePolicy, unchecked_return_type = "QueuePolicy")]
pub fn queue_policy(
    queue: &str,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let p = client::queue_policy(queue_name(queue)?, &context(options)?);
    Ok(Obj::new()
        .set("queue", p.queue)
        .set("maxAttempts", p.max_attempts)
        .set("baseMs", p.base_ms as f64)
        .set("capMs", p.cap_ms as f64)
        .set("maxStalls", p.max_stalls)
        .set("defaultPriority", u32::from(p.default_priority))
        .set("defaultType", p.default_type)
        .set("defaultLeaseMs", p.default_lease_ms as f64)
        .set("capacity", p.capacity as f64)
        .into())
}

/// Builds and validates the item JSON a push stores (see the napi package's
/// `prepareQueueItem`).
#[wasm_bindgen(js_name = prepareQueueItem)]
pub fn prepare_queue_item(
    queue: &str,
    data_json: Option<String>,
    #[wasm_bindgen(unchecked_param_type = "PrepareItemOptions | null")] options: Option<JsValue>,
    default_id: &str,
    now_ms: f64,
) -> Result<String, JsValue> {
    let q = queue_name(queue)?;
    let o = args::push_options(convert::opt(options)).map_err(err)?;
    let req = client::PushRequest {
        id: o.id.as_deref().unwrap_or(default_id),
        kind: o.kind.as_deref(),
        priority: o.priority,
        not_before_ms: o.not_before_ms,
    };
    client::prepare_push_json(q, data_json.as_deref(), &req, now_ms)
        .map(|p| p.item)
        .map_err(err)
}

/// Checks a lease length (an integer from 10 ms to one day) and returns it.
#[wasm_bindgen(js_name = leaseMs)]
pub fn lease_ms(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: JsValue,
) -> Result<f64, JsValue> {
    let v = args::JsArg::number(&Js(value)).unwrap_or(f64::NAN);
    client::lease_ms(v).map(|v| v as f64).map_err(err)
}

/// The keys of lock `name` (`posting_in_progress`, `sync_in_progress`).
#[wasm_bindgen(js_name = lockKeys, unchecked_return_type = "LockKeys")]
pub fn lock_keys(
    name: &str,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let k = client::lock_keys(name, &context(options)?).map_err(err)?;
    Ok(Obj::new()
        .set("key", k.key)
        .set("fenceKey", k.fence_key)
        .set("defaultLeaseMs", k.default_lease_ms as f64)
        .into())
}

/// The stats hash of the `daily` or `hourly` UTC bucket containing `atMs`.
#[wasm_bindgen(js_name = statsKey, unchecked_return_type = "BuiltKey")]
pub fn stats_key(
    period: &str,
    at_ms: f64,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    client::stats_key(period, at_ms, &context(options)?)
        .map(convert::built_key)
        .map_err(err)
}

/// The keys of arm `arm` of bandit `kind` (`topic`, `hour`, `tag`).
#[wasm_bindgen(js_name = banditKeys, unchecked_return_type = "BanditKeys")]
pub fn bandit_keys(
    kind: &str,
    arm: &str,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let (alpha, beta) = client::bandit_keys(kind, arm, &context(options)?).map_err(err)?;
    Ok(Obj::new().set("alpha", alpha).set("beta", beta).into())
}

fn posterior((alpha, beta): (f64, f64)) -> JsValue {
    Obj::new().set("alpha", alpha).set("beta", beta).into()
}

/// One observed reward `r` in [0, 1]: alpha + r, beta + 1 − r.
#[wasm_bindgen(js_name = updatePosterior, unchecked_return_type = "Posterior")]
pub fn update_posterior(alpha: f64, beta: f64, reward: f64) -> Result<JsValue, JsValue> {
    xbot_core::bandit::update_posterior(alpha, beta, reward)
        .map(posterior)
        .map_err(err)
}

/// The prior every arm starts from.
#[wasm_bindgen(js_name = banditPrior, unchecked_return_type = "Posterior")]
pub fn bandit_prior() -> JsValue {
    posterior(xbot_core::bandit::PRIOR)
}

/// The window of limiter `posting` (per UTC hour) or `api` (per UTC minute) containing `nowMs`.
#[wasm_bindgen(js_name = rateLimitWindow, unchecked_return_type = "RateLimitWindow")]
pub fn rate_limit_window(
    limiter: &str,
    now_ms: f64,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let w = client::rate_limit_window(limiter, now_ms, &context(options)?).map_err(err)?;
    Ok(Obj::new()
        .set("key", w.key)
        .set("ttlSeconds", w.ttl_seconds as f64)
        .set("resetAtMs", w.reset_at_ms as f64)
        .into())
}

/// The limits stored as JSON in `cache:config:rate_limits` (`null`: the defaults).
#[wasm_bindgen(js_name = rateLimits, unchecked_return_type = "RateLimits")]
pub fn rate_limits(json: Option<String>) -> Result<JsValue, JsValue> {
    let l = match json {
        Some(j) => ratelimit::RateLimits::from_json(&j).map_err(err)?,
        None => ratelimit::RateLimits::default(),
    };
    Ok(Obj::new()
        .set("postingPerHour", l.posting_per_hour)
        .set("apiPerMinute", l.api_per_minute)
        .into())
}

/// The marker of `text` held by `holder` in `family` (default `dedup.tweet`).
#[wasm_bindgen(js_name = dedupMarker, unchecked_return_type = "DedupMarker")]
pub fn dedup_marker(
    text: &str,
    holder: &str,
    family: Option<String>,
    #[wasm_bindgen(unchecked_param_type = "KeyOptions | null")] options: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let family = family.as_deref().unwrap_or("dedup.tweet");
    let m = client::dedup_marker(text, holder, family, &context(options)?).map_err(err)?;
    Ok(Obj::new()
        .set("key", m.key)
        .set("sha256", m.sha256)
        .set("ttlSeconds", m.ttl_seconds as f64)
        .into())
}

/// The protocol's bounds: leases, items per script call, recent list length, item size.
#[wasm_bindgen(js_name = protocolLimits, unchecked_return_type = "ProtocolLimits")]
pub fn protocol_limits() -> JsValue {
    Obj::new()
        .set("minLeaseMs", client::MIN_LEASE_MS as f64)
        .set("maxLeaseMs", client::MAX_LEASE_MS as f64)
        .set("defaultLeaseMs", client::DEFAULT_LEASE_MS as f64)
        .set("promotePerCall", client::PROMOTE_PER_CALL)
        .set("pushManyPerCall", client::PUSH_MANY_PER_CALL as u32)
        .set("reapPerCall", client::REAP_PER_CALL)
        .set("recentMax", client::RECENT_MAX as u32)
        .set("maxItemBytes", queue::MAX_ITEM_BYTES as u32)
        .set("reserveManyPerCall", client::RESERVE_MANY_PER_CALL as u32)
        .set("maxPrefetch", client::MAX_PREFETCH)
        .set("settleWithinMs", client::SETTLE_WITHIN_MS as u32)
        .into()
}

/// Items a lane asks for in its next batch call (see the napi package's `leaseWanted`).
#[wasm_bindgen(js_name = leaseWanted)]
pub fn lease_wanted(
    concurrency: u32,
    mean_handler_ms: Option<f64>,
    running: u32,
    waiting: u32,
) -> u32 {
    client::lease_wanted(concurrency, mean_handler_ms, running, waiting)
}

/// The handlers' mean duration once one more took `ms`.
#[wasm_bindgen(js_name = handlerPace)]
pub fn handler_pace(mean_ms: Option<f64>, ms: f64) -> f64 {
    client::handler_pace(mean_ms, ms)
}

/// Lanes a consumer with `concurrency` handlers splits into.
#[wasm_bindgen]
pub fn lanes(concurrency: u32) -> u32 {
    client::lanes(concurrency)
}

/// Handlers of lane `lane` (0-based) of a consumer with `concurrency` handlers.
#[wasm_bindgen(js_name = laneConcurrency)]
pub fn lane_concurrency(concurrency: u32, lane: u32) -> u32 {
    client::lane_concurrency(concurrency, lane)
}

/// Checks a batched lease's sizes; returns `max`.
#[wasm_bindgen(js_name = reserveManySize)]
pub fn reserve_many_size(max: f64, settle: u32) -> Result<u32, JsValue> {
    client::reserve_many_size(max, settle as usize)
        .map(|n| n as u32)
        .map_err(err)
}

/// Items a consumer with `concurrency` handlers leases beyond the running ones.
#[wasm_bindgen]
pub fn prefetch(concurrency: u32, mean_handler_ms: Option<f64>) -> u32 {
    client::prefetch(concurrency, mean_handler_ms)
}

/// The old bot's dedup marker of `text` during the cut-over.
#[wasm_bindgen(js_name = legacyDedupKey)]
pub fn legacy_dedup_key(text: &str) -> String {
    xbot_core::legacy::legacy_dedup_key(text)
}

/// The keys of the old bot's posting lock under each legacy prefix (default `prod:` and `app:`).
#[wasm_bindgen(js_name = legacyLockKeys)]
pub fn legacy_lock_keys(
    #[wasm_bindgen(unchecked_param_type = "readonly string[] | null")] prefixes: Option<JsValue>,
) -> Result<Vec<String>, JsValue> {
    let list = match prefixes.filter(|p| !p.is_undefined() && !p.is_null()) {
        Some(p) => args::strings_arg("prefixes", &Js(p))
            .map_err(err)?
            .iter()
            .map(|p| xbot_core::keys::Prefix::parse(p))
            .collect::<xbot_core::Result<Vec<_>>>()
            .map_err(err)?,
        None => xbot_core::legacy::default_legacy_prefixes(),
    };
    Ok(list
        .iter()
        .map(xbot_core::legacy::legacy_lock_key)
        .collect())
}

/// The Lua scripts of the Redis protocol, ready for ioredis `defineCommand`.
#[wasm_bindgen(unchecked_return_type = "LuaScript[]")]
pub fn scripts() -> JsValue {
    convert::array(xbot_core::api::scripts(), |s| {
        Obj::new()
            .set("name", s.name)
            .set("numberOfKeys", s.number_of_keys as u32)
            .set("readOnly", s.read_only)
            .set("source", s.source)
            .into()
    })
}
