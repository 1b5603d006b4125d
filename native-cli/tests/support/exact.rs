//! A known workload and the exact end state it must produce: sync items into
//! PostgreSQL (`audit_log` without a unique constraint, so a second
//! application is a second row) and analytics items whose metrics feed the
//! stats counters and the bandit posteriors. Crash and fault tests seed it,
//! break things, and then require every total to be exact.

use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use xbot_core::bandit::{reward, Engagement};
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;

pub const TOPICS: [&str; 3] = ["ai", "rust", "redis"];
/// The engagement-rate baseline stored before the run (rewards depend on it).
pub const BASELINE: f64 = 0.025;

pub struct Workload {
    /// Sync items that must land exactly once.
    pub good: BTreeSet<String>,
    /// Sync items built to fail (unknown table, a row that is not an object).
    pub bad: BTreeSet<String>,
    pub metrics: usize,
}

/// The metrics of analytics item `i` (deterministic, varied).
pub fn metrics(i: usize) -> Engagement {
    Engagement {
        likes: (i * 7 % 23) as f64,
        retweets: (i * 3 % 11) as f64,
        replies: (i % 5) as f64,
        impressions: 200.0 + (i * 37 % 900) as f64,
    }
}

/// Creates the sink table (no unique constraint on purpose).
pub async fn create_table(pg: &tokio_postgres::Client) {
    pg.batch_execute("CREATE TABLE audit_log (id text NOT NULL, n integer NOT NULL, note text)")
        .await
        .unwrap();
}

/// Pushes `sync` sync items (one in 50 built to fail) and `metrics` analytics
/// items over three topics, eight posting hours and two tags.
pub async fn seed(redis: &Redis, sync: usize, metrics_n: usize) -> Workload {
    let w = Workload::new(sync, metrics_n);
    w.push(redis, 0..sync, 0..metrics_n).await;
    w
}

fn sync_id(i: usize) -> String {
    format!("item-{i:05}")
}

impl Workload {
    /// The workload's expectations, nothing pushed yet.
    pub fn new(sync: usize, metrics_n: usize) -> Workload {
        let (mut good, mut bad) = (BTreeSet::new(), BTreeSet::new());
        for i in 0..sync {
            if i % 50 == 7 {
                bad.insert(sync_id(i));
            } else {
                good.insert(sync_id(i));
            }
        }
        Workload {
            good,
            bad,
            metrics: metrics_n,
        }
    }

    /// Pushes the sync items `sync` and the analytics items `metrics` (and
    /// stores the baseline the rewards are computed against).
    pub async fn push(
        &self,
        redis: &Redis,
        sync: std::ops::Range<usize>,
        metrics_range: std::ops::Range<usize>,
    ) {
        assert!(
            self.try_push(redis, sync, metrics_range).await,
            "a push failed"
        );
    }

    /// As `push`; false at the first push that failed (pushing the same
    /// items again is harmless: a known id is left as it is).
    pub async fn try_push(
        &self,
        redis: &Redis,
        sync: std::ops::Range<usize>,
        metrics_range: std::ops::Range<usize>,
    ) -> bool {
        let q = Queue::new(redis, QueueName::SyncToSupabase);
        for i in sync {
            let id = sync_id(i);
            let data = if i % 50 == 7 {
                if i % 100 == 7 {
                    json!({ "table": "no_such_table", "op": "insert", "row": { "id": id } })
                } else {
                    json!({ "table": "audit_log", "op": "insert", "row": "not an object" })
                }
            } else {
                json!({ "table": "audit_log", "op": "insert", "row": { "id": id, "n": i, "note": "exact" } })
            };
            let pushed = q
                .push("audit", data, Priority::new(50).unwrap(), Some(&id), None)
                .await;
            if let Err(e) = pushed {
                eprintln!("push {id}: {e}");
                return false;
            }
        }
        if metrics_range.is_empty() {
            return true;
        }
        let key = format!("{}learn:performance_baseline", redis.ctx.prefix.as_str());
        let set: Result<(), _> = redis::cmd("SET")
            .arg(key)
            .arg(format!("{{\"engagementRate\": {BASELINE}}}"))
            .query_async(&mut redis.conn.clone())
            .await;
        if set.is_err() {
            return false;
        }
        let aq = Queue::new(redis, QueueName::AnalyticsProcessing);
        for i in metrics_range {
            let m = metrics(i);
            let data = json!({
                "tweetId": format!("t{i}"),
                "likes": m.likes, "retweets": m.retweets, "replies": m.replies, "impressions": m.impressions,
                "topic": TOPICS[i % 3],
                "hour": format!("{:02}", i % 8),
                "tags": if i % 4 == 0 { json!(["launch", "thread"]) } else { json!(["thread"]) },
            });
            let pushed = aq
                .push(
                    "metrics",
                    data,
                    Priority::new(25).unwrap(),
                    Some(&format!("m-{i:05}")),
                    None,
                )
                .await;
            if pushed.is_err() {
                return false;
            }
        }
        true
    }
}

/// Items not finished yet on both queues (ready, delayed or in flight), or
/// `None` when Redis did not answer.
pub async fn left(redis: &Redis) -> Option<u64> {
    let mut n = 0;
    for q in [QueueName::SyncToSupabase, QueueName::AnalyticsProcessing] {
        let s = Queue::new(redis, q).stats().await.ok()?;
        n += s.ready + s.delayed + s.in_flight;
    }
    Some(n)
}

/// Waits until both queues are empty, then stops the workers with SIGTERM
/// and requires a graceful exit (0) from each.
pub async fn drain_and_stop(
    redis: &Redis,
    pg: &tokio_postgres::Client,
    workers: &mut [super::Proc],
    limit: std::time::Duration,
) {
    let deadline = std::time::Instant::now() + limit;
    while left(redis).await != Some(0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the queues did not drain: {} rows, {:?} left",
            rows(pg).await,
            left(redis).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    workers.iter().for_each(super::Proc::terminate);
    for w in workers.iter_mut() {
        assert_eq!(w.wait_code(), Some(0), "graceful exit");
    }
}

/// Rows in the sink table (-1 when the database did not answer).
pub async fn rows(pg: &tokio_postgres::Client) -> i64 {
    pg.query_one("SELECT COUNT(*) FROM audit_log", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1)
}

/// Sum of `field` over the `period` stats hashes of the last two hours (the
/// buckets of the items' `createdAt`; by key, so it works on a Cluster too).
async fn sum_field(redis: &Redis, period: &str, field: &str) -> i64 {
    let now = xbot_redis::ops::now_ms();
    let mut keys: Vec<String> = (0..=2)
        .map(|h| {
            xbot_redis::ops::stats::key(redis, period, now - h * 3_600_000)
                .unwrap()
                .key
        })
        .collect();
    keys.dedup();
    let mut sum = 0;
    for k in keys {
        let v: Option<i64> = redis::cmd("HGET")
            .arg(&k)
            .arg(field)
            .query_async(&mut redis.conn.clone())
            .await
            .unwrap();
        sum += v.unwrap_or(0);
    }
    sum
}

/// How far a run's end state is from the exact one: what was applied twice
/// (must always be zero) and what is missing (zero unless writes were lost).
#[derive(Debug, Default, PartialEq)]
pub struct Tally {
    /// Sync rows beyond one per good id.
    pub duplicate_rows: usize,
    /// Good ids without a row.
    pub missing_rows: usize,
    /// The first few of them, with where they are now (for the report).
    pub missing_sample: Vec<String>,
    /// Good sync items and analytics items in a dead-letter set.
    pub dead_good: usize,
    /// Per "period field": got - want, when positive (applied twice).
    pub counter_excess: BTreeMap<String, i64>,
    /// Per "period field": want - got, when positive (lost).
    pub counter_deficit: BTreeMap<String, i64>,
    /// Per "kind arm": updates applied beyond one per item.
    pub arm_excess: BTreeMap<String, f64>,
    /// Per "kind arm": updates missing.
    pub arm_deficit: BTreeMap<String, f64>,
    /// Per "kind arm": |alpha - 1 - sum of rewards| (0 when exact).
    pub alpha_error: BTreeMap<String, f64>,
}

impl Tally {
    /// Nothing was applied twice.
    pub fn no_doubles(&self) -> bool {
        self.duplicate_rows == 0 && self.counter_excess.is_empty() && self.arm_excess.is_empty()
    }

    /// Nothing applied twice and nothing missing.
    pub fn exact(&self) -> bool {
        self.no_doubles()
            && self.missing_rows == 0
            && self.dead_good == 0
            && self.counter_deficit.is_empty()
            && self.arm_deficit.is_empty()
            && self.alpha_error.is_empty()
    }
}

impl Workload {
    /// Compares the end state with the workload's exact totals.
    pub async fn tally(&self, redis: &Redis, pg: &tokio_postgres::Client) -> Tally {
        let mut t = Tally::default();
        let rows = pg.query("SELECT id FROM audit_log", &[]).await.unwrap();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for r in &rows {
            *seen.entry(r.get::<_, String>(0)).or_default() += 1;
        }
        for (id, n) in &seen {
            assert!(
                self.good.contains(id),
                "a row for {id}, which is not a good item"
            );
            t.duplicate_rows += n - 1;
        }
        t.missing_rows = self
            .good
            .iter()
            .filter(|id| !seen.contains_key(*id))
            .count();

        let ms: Vec<Engagement> = (0..self.metrics).map(metrics).collect();
        for (field, want) in [
            ("likes", ms.iter().map(|m| m.likes as i64).sum::<i64>()),
            ("retweets", ms.iter().map(|m| m.retweets as i64).sum()),
            ("replies", ms.iter().map(|m| m.replies as i64).sum()),
            ("impressions", ms.iter().map(|m| m.impressions as i64).sum()),
            ("tweets_measured", self.metrics as i64),
        ] {
            for period in ["daily", "hourly"] {
                let got = sum_field(redis, period, field).await;
                let name = format!("{period} {field}");
                if got > want {
                    t.counter_excess.insert(name, got - want);
                } else if got < want {
                    t.counter_deficit.insert(name, want - got);
                }
            }
        }
        let mut arms: BTreeMap<(String, String), (f64, u64)> = BTreeMap::new();
        for (i, m) in ms.iter().enumerate() {
            let r = reward(m, BASELINE).unwrap();
            let mut add = |kind: &str, arm: String| {
                let e = arms.entry((kind.into(), arm)).or_insert((0.0, 0));
                e.0 += r;
                e.1 += 1;
            };
            add("topic", TOPICS[i % 3].into());
            add("hour", format!("{:02}", i % 8));
            add("tag", "thread".into());
            if i % 4 == 0 {
                add("tag", "launch".into());
            }
        }
        let p = redis.ctx.prefix.as_str().to_string();
        let mut conn = redis.conn.clone();
        for ((kind, arm), (rewards, n)) in &arms {
            let mut side = Vec::new();
            for s in ["alpha", "beta"] {
                let v: Option<String> = redis::cmd("GET")
                    .arg(format!("{p}bandit:{kind}:{{{arm}}}:{s}"))
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                side.push(v.map_or(1.0, |v| v.parse::<f64>().unwrap()));
            }
            let (alpha, beta) = (side[0], side[1]);
            let name = format!("{kind} {arm}");
            // One extra or missing application moves alpha + beta by exactly 1.
            let updates = alpha + beta - 2.0 - *n as f64;
            if updates > 1e-6 {
                t.arm_excess.insert(name.clone(), updates);
            } else if updates < -1e-6 {
                t.arm_deficit.insert(name.clone(), -updates);
            }
            let err = (alpha - 1.0 - rewards).abs();
            if err > 1e-6 {
                t.alpha_error.insert(name, err);
            }
        }
        t
    }

    /// Every promise of the run, exactly: the applied sync ids, the
    /// dead-letter set, nothing waiting, every stats counter (daily and
    /// hourly) and every arm's alpha and beta.
    pub async fn check(&self, redis: &Redis, pg: &tokio_postgres::Client) {
        assert_eq!(
            left(redis).await,
            Some(0),
            "nothing ready, delayed or in flight"
        );
        let q = Queue::new(redis, QueueName::SyncToSupabase);
        let dead: BTreeSet<String> = q
            .dead(10_000)
            .await
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(dead, self.bad, "dead-letter set");
        let aq = Queue::new(redis, QueueName::AnalyticsProcessing);
        assert_eq!(
            aq.stats().await.unwrap().dead,
            0,
            "no analytics item died: {:?}",
            aq.dead(10).await.unwrap()
        );
        let t = self.tally(redis, pg).await;
        assert!(t.exact(), "the end state is not exact: {t:#?}");
    }
}
