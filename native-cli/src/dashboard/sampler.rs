//! The overview's last hour: every 10 s, each queue's counts (`queue_stats`,
//! O(1)) and the live workers' heartbeats (`workers` registry + one MGET),
//! kept in a ring of 360 samples in this process's memory. Throughput and
//! latency come from the workers' counters: per-instance differences between
//! samples (a restarted worker starts again from zero), so several workers
//! and restarts add up right. Per sample: 3 script calls, 1 ZRANGE, 1 MGET.

use crate::ops::queue::Queue;
use crate::redis::Redis;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use xbot_core::keys::{build_key, Params};
use xbot_core::queue::QueueName;

pub const EVERY: Duration = Duration::from_secs(10);

/// The sampling interval: [`EVERY`], or `XBOT_DASHBOARD_SAMPLE_MS` (100 ms to
/// 10 min; tests use a short one).
pub fn every() -> Result<Duration, String> {
    match std::env::var("XBOT_DASHBOARD_SAMPLE_MS") {
        Err(_) => Ok(EVERY),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|ms| (100..=600_000).contains(ms))
            .map(Duration::from_millis)
            .ok_or_else(|| {
                format!(
                    "XBOT_DASHBOARD_SAMPLE_MS={v:?}: must be an integer from 100 to 600000 (ms)"
                )
            }),
    }
}
/// Samples kept: one hour at the default interval.
pub const KEEP: usize = 360;
/// A heartbeat older than this is a worker gone.
const ALIVE_MS: u64 = 30_000;
const BUCKETS: usize = 12;

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueSample {
    pub ready: u64,
    pub in_flight: u64,
    pub delayed: u64,
    pub dead: u64,
    /// Items the workers finished in the interval before this sample.
    pub processed: u64,
    /// Failed attempts (retried or dead-lettered) in that interval.
    pub failed: u64,
    #[serde(skip)]
    latency: [u64; BUCKETS],
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    pub at_ms: u64,
    pub queues: Vec<(String, QueueSample)>,
}

/// A worker's cumulative counters per queue, as its heartbeat had them.
type Totals = HashMap<String, (u64, u64, [u64; BUCKETS])>;

pub struct Sampler {
    every: Duration,
    ring: Mutex<VecDeque<Sample>>,
    /// Per worker instance: its counters at the last sample.
    last: Mutex<HashMap<String, Totals>>,
    workers: Mutex<Vec<Value>>,
    /// The bucket bounds (seconds) the workers report.
    le: Mutex<Vec<f64>>,
}

impl Sampler {
    pub fn new(every: Duration) -> Sampler {
        Sampler {
            every,
            ring: Mutex::default(),
            last: Mutex::default(),
            workers: Mutex::default(),
            le: Mutex::default(),
        }
    }

    pub fn every(&self) -> Duration {
        self.every
    }

    /// Samples forever (the process's lifetime), every `every`.
    pub async fn run(self: std::sync::Arc<Self>, redis: Redis) {
        let mut tick = tokio::time::interval(self.every);
        loop {
            tick.tick().await;
            if let Err(e) = self.sample(&redis).await {
                tracing::warn!(error = %e, "dashboard sample failed");
            }
        }
    }

    async fn sample(&self, redis: &Redis) -> Result<(), String> {
        let now = crate::ops::now_ms();
        let mut queues = Vec::new();
        for q in QueueName::ALL {
            let s = Queue::new(redis, q)
                .stats()
                .await
                .map_err(|e| e.to_string())?;
            queues.push((
                q.as_str().to_string(),
                QueueSample {
                    ready: s.ready,
                    in_flight: s.in_flight,
                    delayed: s.delayed,
                    dead: s.dead,
                    ..QueueSample::default()
                },
            ));
        }
        let beats = heartbeats(redis, now).await?;
        {
            let mut last = self.last.lock().expect("sampler lock");
            let mut seen = HashMap::new();
            for beat in &beats {
                let Some(instance) = beat["instance"].as_str() else {
                    continue;
                };
                let started = beat["startedAtMs"].as_u64().unwrap_or(0);
                let mut totals = Totals::new();
                for (name, sample) in queues.iter_mut() {
                    let b = &beat["queues"][name.as_str()];
                    let mut lat = [0u64; BUCKETS];
                    for (i, c) in b["latency"]["counts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .take(BUCKETS)
                        .enumerate()
                    {
                        lat[i] = c.as_u64().unwrap_or(0);
                    }
                    let processed = b["processed"].as_u64().unwrap_or(0);
                    let failed =
                        b["failed"].as_u64().unwrap_or(0) + b["dead"].as_u64().unwrap_or(0);
                    // Since the last sample: the difference; a worker first seen
                    // counts what it did since it started if that was within the
                    // last minute (else we cannot tell when it did it).
                    let prev = last
                        .get(instance)
                        .and_then(|t| t.get(name.as_str()))
                        .copied();
                    let fresh = started + 60_000 >= now;
                    let (dp, df, dl) = match prev {
                        Some((p, f, l)) if processed >= p => {
                            (processed - p, failed.saturating_sub(f), sub(&lat, &l))
                        }
                        None if !fresh => (0, 0, [0; BUCKETS]),
                        _ => (processed, failed, lat),
                    };
                    sample.processed += dp;
                    sample.failed += df;
                    for (acc, d) in sample.latency.iter_mut().zip(dl) {
                        *acc += d;
                    }
                    totals.insert(name.clone(), (processed, failed, lat));
                }
                if let Some(le) = beat["queues"]["sync_to_supabase"]["latency"]["le"].as_array() {
                    *self.le.lock().expect("sampler lock") =
                        le.iter().filter_map(Value::as_f64).collect();
                }
                seen.insert(instance.to_string(), totals);
            }
            *last = seen;
        }
        *self.workers.lock().expect("sampler lock") = beats
            .iter()
            .map(|b| serde_json::json!({ "instance": b["instance"], "startedAtMs": b["startedAtMs"], "seenAtMs": b["seenAtMs"] }))
            .collect();
        let mut ring = self.ring.lock().expect("sampler lock");
        ring.push_back(Sample { at_ms: now, queues });
        while ring.len() > KEEP {
            ring.pop_front();
        }
        Ok(())
    }

    /// The ring, oldest first.
    pub fn history(&self) -> Vec<Sample> {
        self.ring
            .lock()
            .expect("sampler lock")
            .iter()
            .cloned()
            .collect()
    }

    /// Workers whose heartbeat is fresh.
    pub fn workers(&self) -> Vec<Value> {
        self.workers.lock().expect("sampler lock").clone()
    }

    /// Per queue over the samples of the last `window_ms`: processed and
    /// failed per minute, and the enqueue → done latency's p50/p95 (the upper
    /// bound of the histogram bucket it falls in, ms; `null` without data).
    pub fn rates(&self, window_ms: u64) -> Value {
        let ring = self.ring.lock().expect("sampler lock");
        let le = self.le.lock().expect("sampler lock").clone();
        let newest = ring.back().map_or(0, |s| s.at_ms);
        let recent: Vec<&Sample> = ring
            .iter()
            .filter(|s| s.at_ms + window_ms > newest)
            .collect();
        // Each sample covers its own interval.
        let span_ms = (recent.len() as u64 * self.every.as_millis() as u64).max(1);
        let mut out = serde_json::Map::new();
        for q in QueueName::ALL {
            let (mut p, mut f, mut lat) = (0u64, 0u64, [0u64; BUCKETS]);
            for s in &recent {
                if let Some((_, qs)) = s.queues.iter().find(|(n, _)| n == q.as_str()) {
                    p += qs.processed;
                    f += qs.failed;
                    for (acc, d) in lat.iter_mut().zip(qs.latency) {
                        *acc += d;
                    }
                }
            }
            let per_min = |n: u64| n as f64 * 60_000.0 / span_ms as f64;
            out.insert(
                q.as_str().into(),
                serde_json::json!({
                    "processedPerMin": per_min(p), "failedPerMin": per_min(f),
                    "p50Ms": percentile(&lat, p, &le, 0.5), "p95Ms": percentile(&lat, p, &le, 0.95),
                }),
            );
        }
        Value::Object(out)
    }
}

fn sub(a: &[u64; BUCKETS], b: &[u64; BUCKETS]) -> [u64; BUCKETS] {
    std::array::from_fn(|i| a[i].saturating_sub(b[i]))
}

/// The bucket bound (ms) holding the `q` quantile of `count` observations;
/// `counts` are cumulative (observations ≤ each bound).
fn percentile(counts: &[u64; BUCKETS], count: u64, le: &[f64], q: f64) -> Option<f64> {
    if count == 0 || le.len() != BUCKETS {
        return None;
    }
    let want = (q * count as f64).ceil() as u64;
    counts
        .iter()
        .position(|&c| c >= want)
        .map(|i| le[i] * 1000.0)
        // Past the last bucket: at least its bound.
        .or(le.last().map(|l| l * 1000.0))
}

/// The heartbeats of the workers seen in the last 30 s.
async fn heartbeats(redis: &Redis, now: u64) -> Result<Vec<Value>, String> {
    let registry =
        build_key("worker.registry", &Params::new(), &redis.ctx).map_err(|e| e.to_string())?;
    let mut conn = redis.conn.clone();
    let names: Vec<String> = redis::cmd("ZRANGE")
        .arg(&registry.key)
        .arg(now.saturating_sub(ALIVE_MS))
        .arg("+inf")
        .arg("BYSCORE")
        .arg("LIMIT")
        .arg(0)
        .arg(100)
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    // One GET per worker: heartbeat keys live in different Cluster slots.
    for name in names {
        let mut p = Params::new();
        p.insert("instance".into(), name.clone());
        let Ok(key) = build_key("worker.heartbeat", &p, &redis.ctx) else {
            continue;
        };
        let raw: Option<String> = redis::cmd("GET")
            .arg(&key.key)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(v) = raw.and_then(|r| serde_json::from_str::<Value>(&r).ok()) {
            out.push(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_cumulative_buckets() {
        let le: Vec<f64> = vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
        ];
        // 100 observations: 40 ≤ 5 ms, 90 ≤ 50 ms, all ≤ 1 s.
        let counts = [40, 60, 80, 90, 95, 97, 99, 100, 100, 100, 100, 100];
        assert_eq!(percentile(&counts, 100, &le, 0.5), Some(10.0));
        assert_eq!(percentile(&counts, 100, &le, 0.95), Some(100.0));
        assert_eq!(percentile(&[0; 12], 0, &le, 0.5), None);
        // Past the last bucket: at least its bound.
        assert_eq!(percentile(&[0; 12], 3, &le, 0.5), Some(60_000.0));
    }
}
