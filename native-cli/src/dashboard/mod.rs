//! The operator's dashboard: a page (`/`, assets compiled in) and its JSON
//! API (`/api/…`), served by `xbot-redis worker` on `$PORT` and by
//! `xbot-redis dashboard`. Reads never walk a set: pages go by score from a
//! cursor, an item is found by id in O(1). Changes (requeue, delete, restore,
//! bulk requeue in bounded batches) need the operate token, come by POST from
//! the page's own origin, and are appended to a capped audit log.

mod auth;
mod insight;
mod sampler;

use crate::error::OpError;
use crate::ops::inspect::{self, Cursor, Listing};
use crate::ops::queue::Queue;
use crate::redis::Redis;
use auth::{Role, Tokens};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use xbot_core::keys::{build_key, Params};
use xbot_core::queue::QueueName;

pub use auth::MIN_TOKEN_LEN;

/// Largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Items one bulk-requeue request moves at most (the page sends many).
pub const MAX_BULK: u32 = 1_000;
/// Entries the audit log keeps.
pub const AUDIT_KEEP: isize = 1_000;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
// The browser build of the core (empty when it was not built: see build.rs).
const WEB_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xbot_redis_bg.wasm"));
const WEB_GLUE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xbot_redis.js"));
const WEB_ENTRY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/index.js"));

/// Everything but our own files is refused: no inline script, no CDN, no framing.
const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct Dash {
    redis: Redis,
    /// The overview's last hour (samples every 10 s, in memory).
    sampler: Arc<sampler::Sampler>,
    /// Bandit arms and the keyspace audit, found in the background.
    insight: Arc<insight::Insight>,
    tokens: Tokens,
    /// Where the state Redis is, without credentials.
    redis_label: String,
    audit_key: String,
}

/// The dashboard's routes over `redis`; `redis_label` says where it is
/// (without credentials: `config::redact_url`). Tokens come from the
/// environment (see [`Tokens`]); a weak one is a configuration error.
pub fn router(redis: Redis, redis_label: &str) -> Result<Router, OpError> {
    let tokens = Tokens::from_env().map_err(OpError::Config)?;
    let audit_key = build_key("dashboard.audit", &Params::new(), &redis.ctx)?.key;
    let sampler = Arc::new(sampler::Sampler::new(
        sampler::every().map_err(OpError::Config)?,
    ));
    tokio::spawn(sampler.clone().run(redis.clone()));
    let dash = Arc::new(Dash {
        sampler,
        insight: Arc::default(),
        redis,
        tokens,
        redis_label: redis_label.to_string(),
        audit_key,
    });
    let api = Router::new()
        .route("/session", get(session))
        .route("/overview", get(overview))
        .route("/audit", get(audit))
        .route("/bandits", get(bandits))
        .route("/state", get(state))
        .route("/dedup/{sha256}", get(dedup))
        .route("/keys", get(keys_audit).post(start_keys_audit))
        .route("/queues/{queue}/list/{state}", get(list))
        .route("/queues/{queue}/items/{id}", get(item))
        .route("/queues/{queue}/items/{id}/{action}", post(act))
        .route("/queues/{queue}/dead/requeue", post(bulk_requeue))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such API route").into_response()
        })
        .method_not_allowed_fallback(|method: Method| async move {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("{method} is not allowed here"),
            )
            .into_response()
        })
        .layer(middleware::from_fn_with_state(dash.clone(), read_guard));
    // The page's files, compiled in.
    let mut app = Router::new();
    for (path, body, kind) in ASSETS {
        app = app.route(path, get(move || async move { asset(body, kind) }));
    }
    Ok(app
        .nest("/api", api)
        .layer(middleware::from_fn(security_headers))
        .with_state(dash))
}

const JS: &str = "text/javascript; charset=utf-8";
/// Path, bytes, content type.
const ASSETS: [(&str, &[u8], &str); 6] = [
    ("/", INDEX_HTML.as_bytes(), "text/html; charset=utf-8"),
    ("/dashboard/app.js", APP_JS.as_bytes(), JS),
    (
        "/dashboard/app.css",
        APP_CSS.as_bytes(),
        "text/css; charset=utf-8",
    ),
    ("/dashboard/web/index.js", WEB_ENTRY, JS),
    ("/dashboard/web/xbot_redis.js", WEB_GLUE, JS),
    (
        "/dashboard/web/xbot_redis_bg.wasm",
        WEB_WASM,
        "application/wasm",
    ),
];

/// One of the page's files; an empty one is the browser core this binary
/// was built without (404).
fn asset(body: &'static [u8], kind: &'static str) -> Response {
    if body.is_empty() {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_BUILT",
            "this binary was built without the browser core (npm run build first)",
        )
        .into_response();
    }
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// With a read token configured, every API call needs a token.
async fn read_guard(State(d): State<Arc<Dash>>, req: Request, next: Next) -> Response {
    // `/api/session` answers anyone, so the page can ask for a token (it
    // then tells nothing about the Redis behind it).
    let open = req.uri().path() == "/session";
    if !open && d.tokens.reads_need_token() && d.tokens.role(req.headers()).0 == Role::None {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "a read or operate token is required (Authorization: Bearer …)",
        )
        .into_response();
    }
    next.run(req).await
}

/// A JSON error: `{error: {code, message}}` with a 4xx/5xx status.
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> ApiError {
        let status = if e.is_usage() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

fn queue(name: &str) -> Result<QueueName, ApiError> {
    QueueName::parse(name).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "UNKNOWN_QUEUE",
            format!(
                "no queue {name:?}: one of {}",
                QueueName::ALL.map(QueueName::as_str).join(", ")
            ),
        )
    })
}

/// The caller may change things: the operate token, by POST, same origin.
fn operator(d: &Dash, method: &Method, headers: &HeaderMap) -> Result<String, ApiError> {
    if d.tokens.read_only() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "READ_ONLY",
            "the dashboard is read-only: set XBOT_DASHBOARD_TOKEN to allow changes",
        ));
    }
    auth::same_origin(method, headers)
        .map_err(|m| ApiError::new(StatusCode::FORBIDDEN, "CROSS_ORIGIN", m))?;
    match d.tokens.role(headers) {
        (Role::Operate, Some(label)) => Ok(label),
        (Role::Read, _) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "the read token cannot change anything",
        )),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "the operate token is required (Authorization: Bearer …)",
        )),
    }
}

/// Appends one change to the capped audit log (newest first).
async fn record(
    d: &Dash,
    who: &str,
    action: &str,
    q: QueueName,
    id: Option<&str>,
    count: u64,
) -> Result<(), ApiError> {
    let now = crate::ops::now_ms();
    let entry = json!({ "atMs": now, "who": who, "action": action, "queue": q.as_str(), "id": id, "count": count });
    let mut conn = d.redis.conn.clone();
    redis::pipe()
        .lpush(&d.audit_key, entry.to_string())
        .ltrim(&d.audit_key, 0, AUDIT_KEEP - 1)
        .query_async::<()>(&mut conn)
        .await
        .map_err(|source| {
            ApiError::from(OpError::Redis {
                what: "dashboard audit log".into(),
                source,
            })
        })
}

async fn session(State(d): State<Arc<Dash>>, headers: HeaderMap) -> ApiResult {
    let (role, label) = d.tokens.role(&headers);
    if role == Role::None && d.tokens.reads_need_token() {
        return Ok(Json(
            json!({ "role": "none", "readOnly": d.tokens.read_only(), "readsNeedToken": true }),
        ));
    }
    Ok(Json(json!({
        "role": role.as_str(),
        "label": label,
        "readOnly": d.tokens.read_only(),
        "readsNeedToken": d.tokens.reads_need_token(),
        "queues": QueueName::ALL.map(QueueName::as_str),
        "prefix": d.redis.ctx.prefix.as_str(),
        "redis": d.redis_label,
        "draftBox": !WEB_WASM.is_empty(),
        "limits": { "maxBulk": MAX_BULK, "maxPage": inspect::MAX_PAGE, "trashRetentionMs": inspect::TRASH_RETENTION_MS },
    })))
}

async fn overview(State(d): State<Arc<Dash>>) -> ApiResult {
    let mut queues = Vec::new();
    for q in QueueName::ALL {
        let s = Queue::new(&d.redis, q).stats().await?;
        queues.push(json!(s));
    }
    let h = crate::ops::health::check(&d.redis, "dashboard", None).await?;
    Ok(Json(json!({
        "serverTimeMs": inspect::server_ms(&d.redis).await?,
        "queues": queues,
        "redis": {
            "url": d.redis_label,
            "pingMs": h.ping_ms,
            "usedMemoryBytes": h.used_memory_bytes,
            "maxmemoryBytes": h.maxmemory_bytes,
            "maxmemoryPolicy": h.maxmemory_policy,
            "warnings": h.warnings,
            "cache": h.cache,
        },
        "workers": d.sampler.workers(),
        // Processed and failed per minute, latency p50/p95, over the last minute.
        "rates": d.sampler.rates(60_000),
        "history": { "everyMs": d.sampler.every().as_millis() as u64, "samples": d.sampler.history() },
    })))
}

async fn list(
    State(d): State<Arc<Dash>>,
    Path((q, state)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    let q = queue(&q)?;
    let listing = Listing::parse(&state).ok_or_else(|| {
        ApiError::bad(format!(
            "no list {state:?}: one of ready, inflight, delayed, dead, trash"
        ))
    })?;
    let after = match params.get("after").filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(Cursor::parse(c).ok_or_else(|| {
            ApiError::bad(format!(
                "bad cursor {c:?}: pass the `next` of the previous page"
            ))
        })?),
    };
    let limit = match params.get("limit") {
        None => 50,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=inspect::MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::bad(format!("limit must be 1-{}, got {l:?}", inspect::MAX_PAGE))
            })?,
    };
    let page = inspect::page(&d.redis, q, listing, after.as_ref(), limit).await?;
    Ok(Json(json!(page)))
}

async fn item(State(d): State<Arc<Dash>>, Path((q, id)): Path<(String, String)>) -> ApiResult {
    let q = queue(&q)?;
    if id.trim().is_empty() || id.len() > 512 {
        return Err(ApiError::bad("item id must be 1-512 bytes"));
    }
    Ok(Json(inspect::lookup(&d.redis, q, &id).await?))
}

async fn act(
    State(d): State<Arc<Dash>>,
    method: Method,
    headers: HeaderMap,
    Path((q, id, action)): Path<(String, String, String)>,
) -> ApiResult {
    let q = queue(&q)?;
    let who = operator(&d, &method, &headers)?;
    let result = match action.as_str() {
        "requeue" => {
            let n = Queue::new(&d.redis, q).requeue(Some(&id), 1).await?;
            json!({ "done": n == 1, "reason": (n == 0).then_some("not dead") })
        }
        "delete" => json!(inspect::trash(&d.redis, q, &id).await?),
        "restore" => json!(inspect::restore(&d.redis, q, &id).await?),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("no action {other:?}: one of requeue, delete, restore"),
            ))
        }
    };
    if result["done"] == json!(true) {
        record(&d, &who, &action, q, Some(&id), 1).await?;
    }
    Ok(Json(result))
}

/// Requeues the oldest dead items, at most `limit` (≤ 1,000) per request —
/// the page repeats it and shows the progress — or with `dryRun` only counts.
async fn bulk_requeue(
    State(d): State<Arc<Dash>>,
    method: Method,
    headers: HeaderMap,
    Path(q): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let q = queue(&q)?;
    let who = operator(&d, &method, &headers)?;
    let body = body.map_err(|e| ApiError::bad(format!("unreadable body: {e}")))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "request body is {} bytes; at most {MAX_BODY_BYTES}",
                body.len()
            ),
        ));
    }
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(format!(
            "body must be JSON {{\"limit\": n}} or {{\"dryRun\": true}}: {e}"
        ))
    })?;
    let dead_count = || async {
        let mut conn = d.redis.conn.clone();
        let key = &xbot_core::keys::queue_keys(q, &d.redis.ctx)[5];
        redis::cmd("ZCARD")
            .arg(key)
            .query_async::<u64>(&mut conn)
            .await
            .map_err(|source| {
                ApiError::from(OpError::Redis {
                    what: format!("dead-letter set of {}", q.as_str()),
                    source,
                })
            })
    };
    if v["dryRun"] == json!(true) {
        return Ok(Json(json!({ "dryRun": true, "dead": dead_count().await? })));
    }
    let limit = v["limit"]
        .as_u64()
        .filter(|n| (1..=u64::from(MAX_BULK)).contains(n))
        .ok_or_else(|| ApiError::bad(format!("limit must be an integer 1-{MAX_BULK}")))?
        as u32;
    let n = Queue::new(&d.redis, q).requeue(None, limit).await?;
    if n > 0 {
        record(&d, &who, "requeue-batch", q, None, n).await?;
    }
    Ok(Json(
        json!({ "requeued": n, "remaining": dead_count().await? }),
    ))
}

fn redis_api_err(what: String) -> impl FnOnce(redis::RedisError) -> ApiError {
    move |source| ApiError::from(OpError::Redis { what, source })
}

/// Locks (holder token, fence, time left) and rate-limit windows (count vs
/// limit, reset): a handful of GET / PTTL, whatever the data size.
async fn state(State(d): State<Arc<Dash>>) -> ApiResult {
    let mut conn = d.redis.conn.clone();
    let mut locks = Vec::new();
    for name in ["posting_in_progress", "sync_in_progress"] {
        let k = xbot_core::client::lock_keys(name, &d.redis.ctx).map_err(OpError::from)?;
        // One key each (a lock and its fence live in one slot: `{name}`).
        let (holder, pttl, fence): (Option<String>, i64, Option<u64>) = redis::pipe()
            .get(&k.key)
            .pttl(&k.key)
            .get(&k.fence_key)
            .query_async(&mut conn)
            .await
            .map_err(redis_api_err(format!("lock {name}")))?;
        locks.push(json!({
            "name": name, "key": k.key, "held": holder.is_some(),
            // The token proves ownership: only its first 8 characters are shown.
            "holder": holder.map(|h| format!("{}…", h.chars().take(8).collect::<String>())),
            "remainingMs": (pttl >= 0).then_some(pttl), "fence": fence.unwrap_or(0),
            "defaultLeaseMs": k.default_lease_ms,
        }));
    }
    let limits = crate::ops::ratelimit::limits(&d.redis).await?;
    let now = inspect::server_ms(&d.redis).await?;
    let mut windows = Vec::new();
    for limiter in ["posting", "api"] {
        let w = xbot_core::client::rate_limit_window(limiter, now as f64, &d.redis.ctx)
            .map_err(OpError::from)?;
        let count: Option<u64> = redis::cmd("GET")
            .arg(&w.key)
            .query_async(&mut conn)
            .await
            .map_err(redis_api_err(format!("rate limit {limiter}")))?;
        let limit = match limiter {
            "posting" => limits.posting_per_hour,
            _ => limits.api_per_minute,
        };
        windows.push(json!({
            "limiter": limiter, "key": w.key, "count": count.unwrap_or(0), "limit": limit,
            "resetAtMs": w.reset_at_ms,
        }));
    }
    Ok(Json(
        json!({ "serverTimeMs": now, "locks": locks, "rateLimits": windows }),
    ))
}

/// Whether a content hash (computed by the page's own WebAssembly core) is
/// marked: both dedup families, their holder and time left.
async fn dedup(State(d): State<Arc<Dash>>, Path(sha256): Path<String>) -> ApiResult {
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ApiError::bad(
            "the hash must be 64 lowercase hex digits (SHA-256)",
        ));
    }
    let (content, tweet) =
        xbot_core::content::dedup_keys(&sha256, &d.redis.ctx).map_err(OpError::from)?;
    let mut conn = d.redis.conn.clone();
    let mut out = Vec::new();
    for k in [content, tweet] {
        // Separate calls: the two keys may live in different Cluster slots.
        let (holder, ttl): (Option<String>, i64) = redis::pipe()
            .get(&k.key)
            .ttl(&k.key)
            .query_async(&mut conn)
            .await
            .map_err(redis_api_err(format!("dedup {}", k.family)))?;
        out.push(json!({ "family": k.family, "key": k.key, "marked": holder.is_some(), "holder": holder, "ttlSeconds": (ttl >= 0).then_some(ttl) }));
    }
    Ok(Json(json!({ "sha256": sha256, "markers": out })))
}

async fn bandits(State(d): State<Arc<Dash>>) -> ApiResult {
    Ok(Json(d.insight.bandits(&d.redis).await?))
}

async fn keys_audit(State(d): State<Arc<Dash>>) -> ApiResult {
    Ok(Json(d.insight.audit()))
}

/// Starts the keyspace audit (SCAN of the prefix, in the background): it
/// changes nothing, so a read token may start it, but only by POST from the
/// page (it costs a walk of the keyspace).
async fn start_keys_audit(
    State(d): State<Arc<Dash>>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult {
    auth::same_origin(&method, &headers)
        .map_err(|m| ApiError::new(StatusCode::FORBIDDEN, "CROSS_ORIGIN", m))?;
    let started = d.insight.start_audit(d.redis.clone());
    Ok(Json(
        json!({ "started": started, "audit": d.insight.audit() }),
    ))
}

async fn audit(
    State(d): State<Arc<Dash>>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<isize>().ok())
        .unwrap_or(50)
        .clamp(1, AUDIT_KEEP);
    let mut conn = d.redis.conn.clone();
    let raw: Vec<String> = redis::cmd("LRANGE")
        .arg(&d.audit_key)
        .arg(0)
        .arg(limit - 1)
        .query_async(&mut conn)
        .await
        .map_err(|source| {
            ApiError::from(OpError::Redis {
                what: "dashboard audit log".into(),
                source,
            })
        })?;
    let entries: Vec<Value> = raw
        .iter()
        .filter_map(|r| serde_json::from_str(r).ok())
        .collect();
    Ok(Json(json!({ "entries": entries })))
}
