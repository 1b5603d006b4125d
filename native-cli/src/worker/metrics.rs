//! Prometheus metrics: counters kept in memory, queue gauges and the Redis
//! round trip measured at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds (seconds) of the enqueue-to-completion latency histogram.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Counters per queue: processed, failed (retried), dead-lettered; latency.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    counters: BTreeMap<(&'static str, &'static str), u64>,
    /// Redis errors by the key family the failed command touched.
    errors: BTreeMap<&'static str, u64>,
    latency: BTreeMap<&'static str, Histogram>,
}

impl Metrics {
    pub fn count(&self, queue: &'static str, outcome: &'static str) {
        *self
            .inner
            .lock()
            .expect("metrics lock")
            .counters
            .entry((queue, outcome))
            .or_default() += 1;
    }

    /// Counts a Redis error on keys of `family` (a catalog family name).
    pub fn error(&self, family: &'static str) {
        *self
            .inner
            .lock()
            .expect("metrics lock")
            .errors
            .entry(family)
            .or_default() += 1;
    }

    pub fn observe_latency(&self, queue: &'static str, seconds: f64) {
        let mut inner = self.inner.lock().expect("metrics lock");
        let h = inner.latency.entry(queue).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    pub fn processed(&self, queue: &'static str) -> u64 {
        self.inner
            .lock()
            .expect("metrics lock")
            .counters
            .get(&(queue, "processed"))
            .copied()
            .unwrap_or(0)
    }

    /// Every queue's counters and cumulative latency histogram, as JSON (the
    /// heartbeat the dashboard reads): `{queue: {processed, failed, dead,
    /// latency: {le, counts, count, sum}}}`.
    pub fn snapshot(&self) -> serde_json::Value {
        let inner = self.inner.lock().expect("metrics lock");
        let mut out = serde_json::Map::new();
        for q in xbot_core::queue::QueueName::ALL {
            let name = q.as_str();
            let c = |o: &str| inner.counters.get(&(name, o)).copied().unwrap_or(0);
            let h = inner.latency.get(name);
            out.insert(
                name.into(),
                serde_json::json!({
                    "processed": c("processed"),
                    "failed": c("retried"),
                    "dead": c("dead"),
                    "latency": {
                        "le": BUCKETS,
                        "counts": h.map_or([0; BUCKETS.len()], |h| h.counts),
                        "count": h.map_or(0, |h| h.count),
                        "sum": h.map_or(0.0, |h| h.sum),
                    },
                }),
            );
        }
        serde_json::Value::Object(out)
    }

    /// Prometheus text format; `gauges` are (name, help, labels, value) measured now.
    pub fn render(&self, gauges: &[(&str, &str, String, f64)]) -> String {
        let inner = self.inner.lock().expect("metrics lock");
        let mut out = String::new();
        out.push_str("# HELP xbot_items_total Queue items handled by this worker, by outcome.\n# TYPE xbot_items_total counter\n");
        for ((queue, outcome), n) in &inner.counters {
            let _ = writeln!(
                out,
                "xbot_items_total{{queue=\"{queue}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP xbot_redis_errors_total Redis errors, by the key family the command touched.\n# TYPE xbot_redis_errors_total counter\n");
        for (family, n) in &inner.errors {
            let _ = writeln!(out, "xbot_redis_errors_total{{family=\"{family}\"}} {n}");
        }
        out.push_str("# HELP xbot_item_latency_seconds Time from enqueue to completion.\n# TYPE xbot_item_latency_seconds histogram\n");
        for (queue, h) in &inner.latency {
            for (b, c) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "xbot_item_latency_seconds_bucket{{queue=\"{queue}\",le=\"{b}\"}} {c}"
                );
            }
            let _ = writeln!(
                out,
                "xbot_item_latency_seconds_bucket{{queue=\"{queue}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "xbot_item_latency_seconds_sum{{queue=\"{queue}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "xbot_item_latency_seconds_count{{queue=\"{queue}\"}} {}",
                h.count
            );
        }
        let mut last = "";
        for (name, help, labels, value) in gauges {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
                last = name;
            }
            let _ = writeln!(out, "{name}{labels} {value}");
        }
        out
    }
}
