//! /healthz (Redis and the sink answer), /readyz (consuming), /metrics
//! (Prometheus), and the dashboard (`/`, `/api/…`; see `crate::dashboard`).

use super::Shared;
use crate::error::OpError;
use crate::ops::queue::Queue;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use xbot_core::queue::QueueName;

pub struct Http {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Http {
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn stop(self) {
        self.task.abort();
    }
}

pub async fn serve(shared: Arc<Shared>) -> Result<Http, OpError> {
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", shared.cfg.port))
        .await
        .map_err(|e| OpError::Protocol {
            script: "http",
            detail: format!("cannot listen on port {}: {e}", shared.cfg.port),
        })?;
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(shared.cfg.port);
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(shared.clone())
        // The operator's dashboard: `/` and `/api/…` (read-only without XBOT_DASHBOARD_TOKEN).
        .merge(crate::dashboard::router(
            shared.redis.clone(),
            &shared.cfg.redis_label,
        )?);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Http { port, task })
}

/// Redis round trip in ms, or the error.
async fn ping(mut conn: crate::redis::Conn) -> Result<f64, String> {
    conn.ping_ms().await.map_err(|e| e.to_string())
}

/// How long /healthz waits for the sink before calling it down.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    // A server that hangs (a dead network path: no answer, no reset) must
    // turn into a 503 in time, not a health check that hangs with it.
    let redis = ping(shared.redis.conn.clone()).await;
    let sink = tokio::time::timeout(HEALTH_TIMEOUT, shared.sink.ping())
        .await
        .unwrap_or(false);
    // A cache Redis that is down only costs cache misses: reported, not fatal.
    let cache = match shared.redis.cache_conn() {
        None => json!(null),
        Some(conn) => match ping(conn).await {
            Ok(ms) => json!({ "status": "ok", "pingMs": ms }),
            Err(e) => json!({ "status": "down", "error": e }),
        },
    };
    match (&redis, sink) {
        (Ok(ms), true) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "redisPingMs": ms, "sink": "ok", "cacheRedis": cache })),
        )
            .into_response(),
        _ => {
            let reason = match (&redis, sink) {
                (Err(e), _) => format!("redis: {e}"),
                _ => format!(
                    "sink: the database does not answer (within {} s)",
                    HEALTH_TIMEOUT.as_secs()
                ),
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unhealthy", "reason": reason })),
            )
                .into_response()
        }
    }
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.ready.load(Ordering::SeqCst) && !shared.stopping() {
        (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready" })),
        )
            .into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let mut gauges = Vec::new();
    for q in QueueName::ALL {
        if let Ok(s) = Queue::new(&shared.redis, q).stats().await {
            let l = |state: &str| format!("{{queue=\"{}\",state=\"{state}\"}}", q.as_str());
            gauges.push((
                "xbot_queue_items",
                "Items per queue and state.",
                l("ready"),
                s.ready as f64,
            ));
            gauges.push((
                "xbot_queue_items",
                "Items per queue and state.",
                l("in_flight"),
                s.in_flight as f64,
            ));
            gauges.push((
                "xbot_queue_items",
                "Items per queue and state.",
                l("delayed"),
                s.delayed as f64,
            ));
            gauges.push((
                "xbot_queue_items",
                "Items per queue and state.",
                l("dead"),
                s.dead as f64,
            ));
        }
    }
    let cache: std::collections::BTreeMap<String, u64> =
        match xbot_core::keys::build_key("stats.cache", &Default::default(), &shared.redis.ctx) {
            Ok(k) => redis::cmd("HGETALL")
                .arg(&k.key)
                .query_async(&mut shared.redis.conn_for(&k.key))
                .await
                .unwrap_or_default(),
            Err(_) => Default::default(),
        };
    for (field, n) in cache {
        if let Some((family, outcome)) = field.rsplit_once(':') {
            gauges.push((
                "xbot_cache_requests",
                "Cache hits and misses per family (from stats:cache).",
                format!("{{family=\"{family}\",outcome=\"{outcome}\"}}"),
                n as f64,
            ));
        }
    }
    let rtt = ping(shared.redis.conn.clone()).await;
    gauges.push((
        "xbot_redis_up",
        "1 when Redis answers PING.",
        String::new(),
        if rtt.is_ok() { 1.0 } else { 0.0 },
    ));
    if let Ok(ms) = rtt {
        gauges.push((
            "xbot_redis_rtt_seconds",
            "Redis PING round trip.",
            String::new(),
            ms / 1000.0,
        ));
    }
    let body = shared.metrics.render(&gauges);
    ([("content-type", "text/plain; version=0.0.4")], body).into_response()
}
