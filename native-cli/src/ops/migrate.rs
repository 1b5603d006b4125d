//! `xbot-redis migrate`: from the bot's legacy keys (`shared/spec/legacy-keys.md`)
//! to our layout.
//!
//! One walk serves `plan` and `run`: SCAN every node (bounded batches), name
//! each key by the legacy catalog (`xbot_core::legacy`), measure it (type,
//! TTL, sampled memory), then read the legacy queues member by member (ZSCAN).
//! `plan` only reads; `run` without `--execute` also only reads and says what
//! it would do; `run --execute` copies. Every copy is idempotent: queue items
//! go in with their ledger entry in one script call (`migrate_push`), caches
//! with `SET NX`, counters as a maximum — so a run killed anywhere and started
//! again ends exactly where one uninterrupted run would.

use crate::error::{OpError, OpResult};
use crate::ops::keyspace::{glob_escape, scan, spinner};
use crate::redis::{Node, Redis};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use xbot_core::keys::{build_key, classify_key, queue_keys, Params, Prefix};
use xbot_core::legacy::{
    self, classify_legacy, decode_member, generalize, LegacyAction, LegacyFamily, Skip,
};
use xbot_core::queue::{queue_score, QueueName, SCORE_EPOCH_MS};

fn redis_err(what: &str) -> impl FnOnce(redis::RedisError) -> OpError + '_ {
    move |source| OpError::Redis {
        what: what.to_string(),
        source,
    }
}

/// Keys per SCAN call (a hint) and per pipeline.
const BATCH: usize = 1_000;
/// Members per ZSCAN call (a hint) and per `migrate_push` call.
const MEMBERS_PER_CALL: usize = 1_000;
/// Keys per pattern whose memory is measured (`MEMORY USAGE` is O(size)).
const MEMORY_SAMPLES: u64 = 10;
/// Examples kept per row and per problem.
const EXAMPLES: usize = 5;
/// Distinct patterns kept for keys no family claims (the rest are summed).
const MAX_OTHER_PATTERNS: usize = 200;

/// What the walk does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `migrate plan`: inventory only.
    Plan,
    /// `migrate run` without `--execute`: says what it would copy.
    DryRun,
    /// `migrate run --execute`.
    Execute,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// Prefixes the bot wrote under (`REDIS_PREFIX` of its modules).
    pub legacy_prefixes: Vec<Prefix>,
    /// After a verified copy, remove the copied queue members and cache keys.
    pub delete_legacy: bool,
    pub now_ms: i64,
}

/// TTLs of a pattern's keys.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TtlSpread {
    pub none: u64,
    pub under_1h: u64,
    pub under_1d: u64,
    pub under_7d: u64,
    pub longer: u64,
}

impl TtlSpread {
    fn add(&mut self, pttl: i64) {
        match pttl {
            ..0 => self.none += 1,
            0..3_600_000 => self.under_1h += 1,
            3_600_000..86_400_000 => self.under_1d += 1,
            86_400_000..604_800_000 => self.under_7d += 1,
            _ => self.longer += 1,
        }
    }
}

/// One legacy family (or one pattern of unclaimed keys) and what happened to it.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Legacy family name (`legacy.queue.sync`), or `other` for unclaimed keys.
    pub family: String,
    /// The key pattern, with the prefix it was found under.
    pub pattern: String,
    pub action: String,
    pub keys: u64,
    /// Sampled average size × keys.
    pub bytes: u64,
    #[serde(skip)]
    sampled: u64,
    #[serde(skip)]
    sampled_bytes: u64,
    pub ttl: TtlSpread,
    /// Queue members (legacy queues).
    pub members: u64,
    /// Copied by this run (execute), or that a run would copy (plan, dry run).
    pub migrate: u64,
    /// Found in the ledger: copied by an earlier run.
    pub already_migrated: u64,
    /// Copies of one sync payload folded into its first item.
    pub collapsed: u64,
    /// Expired candidates, not copied.
    pub expired: u64,
    /// Members or keys that cannot be copied (see problems).
    pub skipped: u64,
    /// Refused because the target queue is at capacity (a later run adds them).
    pub full: u64,
    /// Legacy members/keys removed after a verified copy (`--delete-legacy`).
    pub deleted: u64,
    pub examples: Vec<String>,
}

/// Something the operator should know about.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub kind: &'static str,
    pub family: String,
    pub count: u64,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub mode: Mode,
    pub legacy_prefixes: Vec<String>,
    /// Every key the walk saw.
    pub scanned: u64,
    /// Keys of our own layout (any prefix): never touched.
    pub our_keys: u64,
    pub legacy_keys: u64,
    pub other_keys: u64,
    /// Legacy and unclaimed keys without a TTL (they live forever).
    pub without_ttl: u64,
    pub families: Vec<Row>,
    /// Unclaimed keys grouped by pattern, largest first.
    pub other: Vec<Row>,
    /// Unclaimed keys whose pattern did not fit in `other` (too many patterns).
    pub other_truncated: u64,
    pub problems: Vec<Problem>,
}

struct Walk<'a> {
    redis: &'a Redis,
    opts: &'a Options,
    families: BTreeMap<usize, Row>,
    other: HashMap<String, Row>,
    other_truncated: u64,
    problems: BTreeMap<(&'static str, String), Problem>,
    scanned: u64,
    our_keys: u64,
    /// Legacy queues found: (family, key).
    queues: Vec<(&'static LegacyFamily, String)>,
}

fn position(f: &LegacyFamily) -> usize {
    legacy::LEGACY
        .iter()
        .position(|x| std::ptr::eq(x, f))
        .expect("a catalog family")
}

impl<'a> Walk<'a> {
    fn new(redis: &'a Redis, opts: &'a Options) -> Walk<'a> {
        Walk {
            redis,
            opts,
            families: BTreeMap::new(),
            other: HashMap::new(),
            other_truncated: 0,
            problems: BTreeMap::new(),
            scanned: 0,
            our_keys: 0,
            queues: Vec::new(),
        }
    }

    /// Adds what another walk found (a queue's, the pattern walk's).
    fn merge(&mut self, other: Walk) {
        for (k, r) in other.families {
            match self.families.get_mut(&k) {
                Some(mine) => mine.absorb(r),
                None => {
                    self.families.insert(k, r);
                }
            }
        }
        for (k, r) in other.other {
            match self.other.get_mut(&k) {
                Some(mine) => mine.absorb(r),
                None => {
                    self.other.insert(k, r);
                }
            }
        }
        for (k, p) in other.problems {
            match self.problems.get_mut(&k) {
                Some(mine) => {
                    mine.count += p.count;
                    let room = EXAMPLES.saturating_sub(mine.examples.len());
                    mine.examples.extend(p.examples.into_iter().take(room));
                }
                None => {
                    self.problems.insert(k, p);
                }
            }
        }
        self.other_truncated += other.other_truncated;
        self.scanned += other.scanned;
        self.our_keys += other.our_keys;
        self.queues.extend(other.queues);
    }

    fn problem(&mut self, kind: &'static str, family: &str, example: impl FnOnce() -> String) {
        let p = self
            .problems
            .entry((kind, family.to_string()))
            .or_insert_with(|| Problem {
                kind,
                family: family.to_string(),
                count: 0,
                examples: Vec::new(),
            });
        p.count += 1;
        if p.examples.len() < EXAMPLES {
            p.examples.push(example());
        }
    }

    fn row(&mut self, f: &'static LegacyFamily, prefix: &str) -> &mut Row {
        self.families.entry(position(f)).or_insert_with(|| Row {
            family: f.name.into(),
            pattern: format!("{prefix}{}", f.pattern),
            action: f.action.describe().into(),
            ..Row::default()
        })
    }

    /// One SCAN batch of one node.
    async fn batch(&mut self, node: Option<&Node>, keys: Vec<String>) -> OpResult<()> {
        let prefixes = &self.opts.legacy_prefixes;
        let named: Vec<Option<legacy::LegacyKey>> =
            keys.iter().map(|k| classify_legacy(k, prefixes)).collect();
        // Our own layout, under any prefix: counted, never touched.
        let ours: Vec<bool> = keys
            .iter()
            .zip(&named)
            .map(|(k, n)| n.is_none() && classify_key(k, None).is_some())
            .collect();
        // TYPE and PTTL of every key, MEMORY USAGE of a few per pattern, and
        // the values that a copy or a problem needs: one round trip.
        let mut pipe = redis::pipe();
        let mut sample = Vec::with_capacity(keys.len());
        let mut fetch = Vec::with_capacity(keys.len());
        let mut pending: HashMap<String, u64> = HashMap::new();
        for ((k, n), ours) in keys.iter().zip(&named).zip(&ours) {
            pipe.cmd("TYPE").arg(k).cmd("PTTL").arg(k);
            if *ours {
                sample.push(false);
                fetch.push(false);
                continue;
            }
            let group = match n {
                Some(l) => l.family.name.to_string(),
                None => generalize(k),
            };
            let have = match n {
                Some(l) => self
                    .families
                    .get(&position(l.family))
                    .map_or(0, |r| r.sampled),
                None => self.other.get(&group).map_or(0, |r| r.sampled),
            };
            let want = pending.entry(group).or_default();
            *want += 1;
            let s = have + *want <= MEMORY_SAMPLES;
            if s {
                pipe.cmd("MEMORY").arg("USAGE").arg(k);
            }
            sample.push(s);
            let f = n.as_ref().is_some_and(|l| {
                matches!(
                    l.family.action,
                    LegacyAction::CacheTweet
                        | LegacyAction::CacheConfig
                        | LegacyAction::PostingCount
                        | LegacyAction::LockCompat
                )
            });
            if f {
                pipe.cmd("GET").arg(k);
            }
            fetch.push(f);
        }
        let replies = match node {
            Some(node) => self.redis.node_pipeline(node, &pipe).await?,
            // Keys named exactly: each command goes where its key lives.
            None => pipe
                .query_async(&mut self.redis.conn.clone())
                .await
                .map_err(|source| OpError::Redis {
                    what: "TYPE/PTTL batch".into(),
                    source,
                })?,
        };
        let mut replies = replies.into_iter();
        let mut copies = Vec::new();
        for (i, (key, n)) in keys.into_iter().zip(named).enumerate() {
            self.scanned += 1;
            let kind = match replies.next() {
                Some(redis::Value::SimpleString(s)) => s,
                _ => "none".into(),
            };
            let pttl = match replies.next() {
                Some(redis::Value::Int(n)) => n,
                _ => -2,
            };
            let bytes = match sample[i].then(|| replies.next()).flatten() {
                Some(redis::Value::Int(b)) => Some(b as u64),
                _ => None,
            };
            let value = match fetch[i].then(|| replies.next()).flatten() {
                Some(redis::Value::BulkString(b)) => Some(String::from_utf8_lossy(&b).into_owned()),
                _ => None,
            };
            if ours[i] {
                self.our_keys += 1;
                continue;
            }
            if kind == "none" {
                continue; // expired between SCAN and TYPE
            }
            let row = match &n {
                Some(l) => self.row(l.family, &l.prefix),
                None => {
                    let group = generalize(&key);
                    if !self.other.contains_key(&group) && self.other.len() >= MAX_OTHER_PATTERNS {
                        self.other_truncated += 1;
                        continue;
                    }
                    self.other.entry(group.clone()).or_insert_with(|| Row {
                        family: "other".into(),
                        pattern: group,
                        action: LegacyAction::ReportOnly.describe().into(),
                        ..Row::default()
                    })
                }
            };
            row.keys += 1;
            row.ttl.add(pttl);
            if let Some(b) = bytes {
                row.sampled += 1;
                row.sampled_bytes += b;
            }
            if row.examples.len() < EXAMPLES {
                row.examples.push(key.clone());
            }
            let Some(l) = n else { continue };
            let f = l.family;
            if f.redis_type != "any" && kind != f.redis_type {
                self.row(f, &l.prefix).skipped += 1;
                self.problem("wrongType", f.name, || {
                    format!("{key} is a {kind}, not a {}", f.redis_type)
                });
                continue;
            }
            match f.action {
                LegacyAction::SyncQueue
                | LegacyAction::CandidateQueue
                | LegacyAction::AuditQueue => {
                    self.queues.push((f, key));
                }
                LegacyAction::LockCompat => {
                    self.problem("heldLegacyLock", f.name, || {
                        let owner = value
                            .as_deref()
                            .and_then(|v| serde_json::from_str::<Value>(v).ok())
                            .and_then(|v| v.get("owner").and_then(Value::as_str).map(String::from))
                            .unwrap_or_else(|| "?".into());
                        format!("{key} held by {owner} for {pttl} ms more: posting_in_progress waits for it")
                    });
                }
                LegacyAction::CacheTweet
                | LegacyAction::CacheConfig
                | LegacyAction::PostingCount => {
                    if let Some(v) = value {
                        copies.push((l, key, v, pttl));
                    }
                }
                LegacyAction::DedupCompat | LegacyAction::ReportOnly => {}
            }
        }
        self.copy_keys(copies).await
    }

    /// Caches and the posting counter: what each legacy key becomes.
    async fn copy_keys(
        &mut self,
        copies: Vec<(legacy::LegacyKey, String, String, i64)>,
    ) -> OpResult<()> {
        if copies.is_empty() {
            return Ok(());
        }
        let ctx = &self.redis.ctx;
        let today =
            xbot_core::time::time_bucket(xbot_core::time::Bucket::Date, self.opts.now_ms as f64)?;
        let config_version = if copies
            .iter()
            .any(|c| c.0.family.action == LegacyAction::CacheConfig)
        {
            crate::ops::cache::config_version(self.redis).await?
        } else {
            0
        };
        let ledger = build_key("migrate.ledger", &Params::new(), ctx)?.key;
        let mut planned = Vec::new();
        for (l, key, raw, pttl) in copies {
            let f = l.family;
            let parsed = decode_member(&raw)
                .map(|d| Value::Object(d.value))
                .or_else(|_| serde_json::from_str::<Value>(&raw));
            let target = match f.action {
                LegacyAction::CacheTweet => {
                    let params: Params = [("tweetId".to_string(), l.params[0].clone())].into();
                    match (build_key("cache.tweet", &params, ctx), parsed) {
                        (Ok(k), Ok(v)) => {
                            Ok((k.key, Copy::Value(v.to_string(), pttl, k.ttl_seconds)))
                        }
                        (Err(e), _) => Err(e.to_string()),
                        (_, Err(e)) => Err(format!("not JSON: {e}")),
                    }
                }
                LegacyAction::CacheConfig => {
                    if !legacy::config_env_matches(&l.params[1], ctx) {
                        self.row(f, &l.prefix).skipped += 1;
                        self.problem("otherEnvironment", f.name, || {
                            format!(
                                "{key}: environment {:?} is not {}",
                                l.params[1],
                                ctx.env.name()
                            )
                        });
                        continue;
                    }
                    let params: Params = [("key".to_string(), l.params[0].clone())].into();
                    match (build_key("cache.config", &params, ctx), parsed) {
                        (Ok(k), Ok(v)) => {
                            let entry =
                                serde_json::json!({ "version": config_version, "value": v });
                            Ok((k.key, Copy::Value(entry.to_string(), pttl, k.ttl_seconds)))
                        }
                        (Err(e), _) => Err(e.to_string()),
                        (_, Err(e)) => Err(format!("not JSON: {e}")),
                    }
                }
                LegacyAction::PostingCount => {
                    if l.params[0] != today {
                        self.problem("pastWindow", f.name, || {
                            format!("{key}: not today ({today}), not carried")
                        });
                        continue;
                    }
                    match (
                        raw.trim().parse::<u64>(),
                        xbot_core::ratelimit::window(
                            xbot_core::ratelimit::Limiter::Posting,
                            self.opts.now_ms as f64,
                            ctx,
                        ),
                    ) {
                        (Ok(n), Ok((k, ends))) => Ok((k.key, Copy::Max(n, ends))),
                        (Err(e), _) => Err(format!("not a count: {e}")),
                        (_, Err(e)) => Err(e.to_string()),
                    }
                }
                _ => unreachable!("only copies reach here"),
            };
            match target {
                Ok((to, how)) => planned.push((f, l.prefix, key, to, how)),
                Err(reason) => {
                    self.row(f, &l.prefix).skipped += 1;
                    self.problem("badValue", f.name, || format!("{key}: {reason}"));
                }
            }
        }
        if planned.is_empty() {
            return Ok(());
        }
        // Which were copied before.
        let mut pipe = redis::pipe();
        for (_, _, key, ..) in &planned {
            pipe.cmd("HEXISTS").arg(&ledger).arg(key);
        }
        let seen: Vec<bool> = pipe
            .query_async(&mut self.redis.conn.clone())
            .await
            .map_err(redis_err(&ledger))?;
        for ((f, prefix, key, to, how), seen) in planned.into_iter().zip(seen) {
            let execute = self.opts.mode == Mode::Execute;
            if seen {
                self.row(f, &prefix).already_migrated += 1;
            } else if execute {
                match how {
                    Copy::Value(v, pttl, ttl) => {
                        // The remaining TTL, or the family's when the bot set none.
                        let px = if pttl > 0 {
                            pttl as u64
                        } else {
                            ttl.unwrap_or(3_600) * 1_000
                        };
                        let _: Option<String> = redis::cmd("SET")
                            .arg(&to)
                            .arg(v)
                            .arg("PX")
                            .arg(px)
                            .arg("NX")
                            .query_async(&mut self.redis.conn_for(&to))
                            .await
                            .map_err(redis_err(&to))?;
                    }
                    Copy::Max(n, ends) => {
                        let _: i64 = self
                            .redis
                            .script(
                                "migrate_counter",
                                std::slice::from_ref(&to),
                                &[n.to_string(), ends.to_string()],
                            )
                            .await
                            .map_err(redis_err(&to))?;
                    }
                }
                let _: i64 = redis::cmd("HSET")
                    .arg(&ledger)
                    .arg(&key)
                    .arg(&to)
                    .query_async(&mut self.redis.conn.clone())
                    .await
                    .map_err(redis_err(&ledger))?;
            }
            // A copy is verified once ours exists (this run's or an earlier
            // one's); only then may the legacy cache key go.
            if execute && self.opts.delete_legacy && f.action != LegacyAction::PostingCount {
                let exists: bool = redis::cmd("EXISTS")
                    .arg(&to)
                    .query_async(&mut self.redis.conn_for(&to))
                    .await
                    .map_err(redis_err(&to))?;
                if exists {
                    let n: u64 = redis::cmd("UNLINK")
                        .arg(&key)
                        .query_async(&mut self.redis.conn.clone())
                        .await
                        .map_err(redis_err(&key))?;
                    self.row(f, &prefix).deleted += n;
                }
            }
            if seen {
                continue;
            }
            self.row(f, &prefix).migrate += 1;
        }
        Ok(())
    }

    /// One legacy queue, member by member: members are read in chunks
    /// (ZSCAN), converted on a blocking thread while the next chunk is read
    /// and the previous batch written, then ordered, numbered and sent here,
    /// in scan order.
    async fn queue(&mut self, f: &'static LegacyFamily, key: &str) -> OpResult<()> {
        let target = match f.action {
            LegacyAction::CandidateQueue => QueueName::PendingPosts,
            _ => QueueName::SyncToSupabase,
        };
        let now = self.opts.now_ms;
        // Pass 1 (sync payloads only): copies of one payload become one item,
        // created when the first copy was and as urgent as the most urgent.
        // Only a run that writes needs them (and the item bodies).
        let execute = self.opts.mode == Mode::Execute;
        let mut firsts: HashMap<u128, (i64, f64)> = HashMap::new();
        if execute && f.action != LegacyAction::CandidateQueue {
            self.chunks(key, None, f, now, async |converted| {
                for c in converted {
                    if let Converted::Item { it, .. } = c {
                        let e = firsts
                            .entry(it.identity)
                            .or_insert((it.created_ms, it.score));
                        e.0 = e.0.min(it.created_ms);
                        e.1 = e.1.max(it.score);
                    }
                }
                Ok(())
            })
            .await?;
        }
        let firsts = std::sync::Arc::new(firsts);
        let target_keys = queue_keys(target, &self.redis.ctx);
        let ledger = build_key(
            "queue.migrated",
            &[("queue".to_string(), target.as_str().to_string())].into(),
            &self.redis.ctx,
        )?
        .key;
        let batch_ctx = BatchCtx {
            redis: self.redis.clone(),
            mode: self.opts.mode,
            delete_legacy: self.opts.delete_legacy,
            keys: target_keys.to_vec(),
            ledger,
            capacity: self.redis.ctx.profile().queue_capacity,
            legacy_key: key.to_string(),
        };
        let mut seen: HashSet<u128> = HashSet::new();
        let mut ties: HashMap<(u8, i64), u8> = HashMap::new();
        let mut row = std::mem::take(self.row(f, ""));
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        let mut expired_members: Vec<String> = Vec::new();
        let mut batches: Vec<Vec<Prepared>> = Vec::new();
        let mut batch: Vec<Prepared> = Vec::new();
        // Pass 2: order, number and batch the converted members; every full
        // batch is handed back to be written while the next chunks convert.
        let mut order = |converted: Vec<Converted>| {
            for c in converted {
                row.members += 1;
                let (it, member, double) = match c {
                    Converted::Bad { kind, message } => {
                        row.skipped += 1;
                        problems.push((kind, message));
                        continue;
                    }
                    Converted::Expired {
                        message,
                        member,
                        double,
                    } => {
                        if double {
                            problems.push(("doubleEncoded", clip(&member)));
                        }
                        row.expired += 1;
                        problems.push(("expiredCandidate", message));
                        expired_members.push(member);
                        continue;
                    }
                    Converted::Item { it, member, double } => (it, member, double),
                };
                if double {
                    problems.push(("doubleEncoded", clip(&member)));
                }
                if !seen.insert(it.identity) {
                    row.collapsed += 1;
                    if f.action == LegacyAction::SyncQueue {
                        problems.push((
                            "duplicateSyncPayload",
                            format!("{} is a copy of {}", member_id(&member), it.item.id),
                        ));
                    } else {
                        problems.push(("duplicateId", format!("{} appears twice", it.item.id)));
                    }
                    batch.push(Prepared::copy(it.item.id, member));
                } else {
                    let n = ties
                        .entry((it.item.priority, it.item.created_ms))
                        .or_default();
                    let seq = (*n).min(15);
                    *n = n.saturating_add(1);
                    // queue_push's score with the legacy creation time as the
                    // enqueue time (in [2024-01-01, now]) and the tie-break.
                    let at = it.item.created_ms.clamp(SCORE_EPOCH_MS as i64, now);
                    match (
                        it.json,
                        queue_score(f64::from(it.item.priority), at as f64, f64::from(seq)),
                    ) {
                        (Ok(json), Ok(score)) => batch.push(Prepared {
                            id: it.item.id,
                            item: Some(json),
                            priority: it.item.priority,
                            score: score as u64,
                            member,
                        }),
                        (Err(e), _) => {
                            row.skipped += 1;
                            problems.push(("badField", format!("{}: {e}", it.item.id)));
                        }
                        (_, Err(e)) => {
                            row.skipped += 1;
                            problems.push(("badField", format!("{}: {e}", it.item.id)));
                        }
                    }
                }
                if batch.len() >= MEMBERS_PER_CALL {
                    batches.push(std::mem::take(&mut batch));
                }
            }
            std::mem::take(&mut batches)
        };
        // One batch is written while the next is converted.
        let mut in_flight: Option<tokio::task::JoinHandle<OpResult<Counts>>> = None;
        let mut written = Counts::default();
        let ctx = batch_ctx.clone();
        let pass2 = execute.then_some(firsts);
        self.chunks(key, pass2, f, now, async |converted| {
            for full in order(converted) {
                if let Some(h) = in_flight.take() {
                    written.absorb(join(h).await?);
                }
                let ctx = ctx.clone();
                in_flight = Some(tokio::spawn(async move { ctx.flush(full).await }));
            }
            Ok(())
        })
        .await?;
        if let Some(h) = in_flight.take() {
            written.absorb(join(h).await?);
        }
        written.absorb(batch_ctx.flush(batch).await?);
        row.add(written);
        if self.opts.mode == Mode::Execute && self.opts.delete_legacy {
            // Expired candidates are done with: their copy is not needed.
            for chunk in expired_members.chunks(MEMBERS_PER_CALL) {
                row.deleted += batch_ctx.zrem(chunk).await?;
            }
        }
        *self.row(f, "") = row;
        for (kind, example) in problems {
            self.problem(kind, f.name, || example);
        }
        Ok(())
    }

    /// Reads `key` by ZSCAN and converts each chunk on a blocking thread
    /// while the next chunk is read (one at a time: on a small machine a
    /// second converter takes the core Redis needs); `f` gets the converted
    /// chunks in scan order.
    async fn chunks<F>(
        &self,
        key: &str,
        firsts: Option<std::sync::Arc<HashMap<u128, (i64, f64)>>>,
        family: &'static LegacyFamily,
        now: i64,
        mut f: F,
    ) -> OpResult<()>
    where
        F: AsyncFnMut(Vec<Converted>) -> OpResult<()>,
    {
        let mut conn = self.redis.conn.clone();
        let mut cursor: u64 = 0;
        let mut converting = std::collections::VecDeque::new();
        loop {
            let (next, flat): (u64, Vec<String>) = redis::cmd("ZSCAN")
                .arg(key)
                .arg(cursor)
                .arg("COUNT")
                .arg(MEMBERS_PER_CALL)
                .query_async(&mut conn)
                .await
                .map_err(|source| OpError::Redis {
                    what: format!("ZSCAN {key}"),
                    source,
                })?;
            let firsts = firsts.clone();
            converting.push_back(tokio::task::spawn_blocking(move || {
                convert_chunk(family, flat, firsts.as_deref(), now)
            }));
            while converting.len() > 1 || (next == 0 && !converting.is_empty()) {
                let chunk = converting
                    .pop_front()
                    .expect("not empty")
                    .await
                    .map_err(|e| OpError::Config(format!("converting members failed: {e}")))?;
                f(chunk).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}

/// A legacy member after conversion (on a blocking thread).
enum Converted {
    Item {
        it: Box<ConvertedItem>,
        member: String,
        double: bool,
    },
    Expired {
        message: String,
        member: String,
        double: bool,
    },
    Bad {
        kind: &'static str,
        message: String,
    },
}

/// An item with its body, restamped as its collapsed copies say.
struct ConvertedItem {
    item: legacy::MigratedItem,
    /// 128 bits of the identity (a hundred thousand identities take a few
    /// MB instead of tens).
    identity: u128,
    created_ms: i64,
    /// The legacy score (pass 1 keeps the best per identity).
    score: f64,
    json: Result<String, Skip>,
}

/// 128 bits of an identity: the first half of a SHA-256 hex identity (sync
/// items), or of the SHA-256 of another (a candidate's legacy id).
fn identity_key(identity: &str) -> u128 {
    let hex = if identity.len() == 64 && identity.bytes().all(|b| b.is_ascii_hexdigit()) {
        std::borrow::Cow::Borrowed(identity)
    } else {
        std::borrow::Cow::Owned(xbot_core::content::sha256_hex(identity))
    };
    u128::from_str_radix(&hex[..32], 16).expect("hex")
}

/// Converts one ZSCAN reply (`member, score, member, score, ...`). With
/// `firsts` (pass 2) each item is restamped with its identity's first
/// creation and best priority and its body is built; without (pass 1) only
/// identities are needed.
fn convert_chunk(
    family: &'static LegacyFamily,
    flat: Vec<String>,
    firsts: Option<&HashMap<u128, (i64, f64)>>,
    now: i64,
) -> Vec<Converted> {
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut flat = flat.into_iter();
    while let (Some(member), Some(score)) = (flat.next(), flat.next()) {
        let score: f64 = score.parse().unwrap_or(0.0);
        out.push(convert_member(family, member, score, firsts, now));
    }
    out
}

fn convert_member(
    family: &'static LegacyFamily,
    member: String,
    score: f64,
    firsts: Option<&HashMap<u128, (i64, f64)>>,
    now: i64,
) -> Converted {
    // The common shape of a sync member without a JSON tree; the general
    // path for the rest (and for every error).
    let fast = match family.action {
        LegacyAction::SyncQueue => legacy::fast_sync_item(&member, score),
        _ => None,
    };
    let (result, double) = match fast {
        Some(it) => (Ok(it), false),
        None => match decode_member(&member) {
            Err(e) => {
                return Converted::Bad {
                    kind: "undecodable",
                    message: format!("{} ({e})", clip(&member)),
                }
            }
            Ok(d) => {
                let r = match family.action {
                    LegacyAction::SyncQueue => legacy::sync_item(&d.value, score),
                    LegacyAction::AuditQueue => legacy::audit_item(&d.value, score),
                    _ => legacy::candidate_item(&d.value, score, now),
                };
                (r.map_err(|e| (e, id_of(&d.value))), d.double_encoded)
            }
        },
    };
    let mut it = match result {
        Ok(it) => it,
        Err((Skip::Expired { expires_at }, id)) => {
            return Converted::Expired {
                message: format!("{id} expired at {expires_at}"),
                member,
                double,
            }
        }
        Err((e, id)) => {
            return Converted::Bad {
                kind: "badField",
                message: format!("{id}: {e}"),
            }
        }
    };
    let identity = identity_key(&it.identity);
    let created_ms = it.created_ms;
    let json = match firsts {
        None => Ok(String::new()), // pass 1, plan, dry run: identities only
        Some(firsts) => {
            if let Some(&(created, best)) = firsts.get(&identity) {
                it.created_ms = created;
                it.priority = legacy::sync_priority(best);
            }
            it.item_json()
        }
    };
    Converted::Item {
        it: Box::new(ConvertedItem {
            item: it,
            identity,
            created_ms,
            score,
            json,
        }),
        member,
        double,
    }
}

enum Copy {
    /// SET NX with the remaining TTL (ms, ≤ 0: none) or the family's (s).
    Value(String, i64, Option<u64>),
    /// max(ours, n), expiring at the window's end.
    Max(u64, u64),
}

fn clip(s: &str) -> String {
    if s.len() <= 80 {
        return s.to_string();
    }
    let mut end = 77;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A member's legacy id, for a message (members read by the fast path have no tree).
fn member_id(member: &str) -> String {
    decode_member(member).map_or_else(|_| "(undecodable)".into(), |d| id_of(&d.value))
}

fn id_of(m: &serde_json::Map<String, Value>) -> String {
    m.get("id")
        .map_or_else(|| "(no id)".into(), |v| v.to_string())
}

/// One converted member, ready to send.
struct Prepared {
    id: String,
    /// The item JSON; `None` for a copy that collapses into an earlier item.
    item: Option<String>,
    priority: u8,
    /// The queue score: priority, then the legacy creation time (FIFO), then the tie-break.
    score: u64,
    /// The legacy member, removed after a verified copy (`--delete-legacy`).
    member: String,
}

impl Prepared {
    fn copy(id: String, member: String) -> Prepared {
        Prepared {
            id,
            item: None,
            priority: 0,
            score: 0,
            member,
        }
    }
}

/// What one batch did.
#[derive(Debug, Default)]
struct Counts {
    migrate: u64,
    already: u64,
    full: u64,
    deleted: u64,
}

impl Counts {
    fn absorb(&mut self, o: Counts) {
        self.migrate += o.migrate;
        self.already += o.already;
        self.full += o.full;
        self.deleted += o.deleted;
    }
}

impl Row {
    /// Adds another row of the same family or pattern.
    fn absorb(&mut self, o: Row) {
        self.keys += o.keys;
        self.sampled += o.sampled;
        self.sampled_bytes += o.sampled_bytes;
        let t = &mut self.ttl;
        t.none += o.ttl.none;
        t.under_1h += o.ttl.under_1h;
        t.under_1d += o.ttl.under_1d;
        t.under_7d += o.ttl.under_7d;
        t.longer += o.ttl.longer;
        self.members += o.members;
        self.migrate += o.migrate;
        self.already_migrated += o.already_migrated;
        self.collapsed += o.collapsed;
        self.expired += o.expired;
        self.skipped += o.skipped;
        self.full += o.full;
        self.deleted += o.deleted;
        let room = EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(o.examples.into_iter().take(room));
    }

    fn add(&mut self, c: Counts) {
        self.migrate += c.migrate;
        self.already_migrated += c.already;
        self.full += c.full;
        self.deleted += c.deleted;
    }
}

async fn join(h: tokio::task::JoinHandle<OpResult<Counts>>) -> OpResult<Counts> {
    h.await
        .map_err(|e| OpError::Config(format!("a migration batch failed: {e}")))?
}

/// Where a queue's batches go (owned, so a batch can be sent by a task of its own).
#[derive(Clone)]
struct BatchCtx {
    redis: Redis,
    mode: Mode,
    delete_legacy: bool,
    /// The target queue's seven keys.
    keys: Vec<String>,
    ledger: String,
    capacity: u64,
    legacy_key: String,
}

impl BatchCtx {
    /// Sends one batch: with `--execute` through `migrate_push` (item and
    /// ledger entry in one call), else a ledger lookup. Collapsed copies only
    /// count, and are deleted once their identity is in the ledger.
    async fn flush(&self, batch: Vec<Prepared>) -> OpResult<Counts> {
        let mut c = Counts::default();
        if batch.is_empty() {
            return Ok(c);
        }
        let (mut items, copies): (Vec<_>, Vec<_>) =
            batch.into_iter().partition(|p| p.item.is_some());
        let mut verified: Vec<String> = Vec::new();
        if self.mode == Mode::Execute && !items.is_empty() {
            let mut args = Vec::with_capacity(1 + 4 * items.len());
            args.push(self.capacity.to_string());
            for p in &mut items {
                args.extend([
                    p.id.clone(),
                    p.item.take().unwrap_or_default(),
                    p.priority.to_string(),
                    p.score.to_string(),
                ]);
            }
            let mut keys = self.keys.clone();
            keys.push(self.ledger.clone());
            let replies: Vec<i64> = self
                .redis
                .script_durable("migrate_push", &keys, &args)
                .await?;
            if replies.len() != items.len() {
                return Err(OpError::Protocol {
                    script: "migrate_push",
                    detail: format!("{} replies for {} items", replies.len(), items.len()),
                });
            }
            for (p, r) in items.into_iter().zip(replies) {
                match r {
                    1 => c.migrate += 1,
                    0 | 2 => c.already += 1,
                    _ => {
                        c.full += 1;
                        continue;
                    }
                }
                verified.push(p.member);
            }
        } else if !items.is_empty() {
            for seen in self.in_ledger(&items).await? {
                if seen {
                    c.already += 1;
                } else {
                    c.migrate += 1;
                }
            }
        }
        if self.delete_legacy && self.mode == Mode::Execute {
            // A copy is verified once its identity is in the ledger (its
            // first copy may have been in another batch).
            if !copies.is_empty() {
                let seen = self.in_ledger(&copies).await?;
                verified.extend(
                    copies
                        .into_iter()
                        .zip(seen)
                        .filter(|(_, s)| *s)
                        .map(|(p, _)| p.member),
                );
            }
            for chunk in verified.chunks(MEMBERS_PER_CALL) {
                c.deleted += self.zrem(chunk).await?;
            }
        }
        Ok(c)
    }

    /// Which of `items` the ledger holds.
    async fn in_ledger(&self, items: &[Prepared]) -> OpResult<Vec<bool>> {
        let mut pipe = redis::pipe();
        for p in items {
            pipe.cmd("HEXISTS").arg(&self.ledger).arg(&p.id);
        }
        pipe.query_async(&mut self.redis.conn.clone())
            .await
            .map_err(redis_err(&self.ledger))
    }

    /// Removes verified members from the legacy queue (ZREM: members the old
    /// bot adds meanwhile stay).
    async fn zrem(&self, members: &[String]) -> OpResult<u64> {
        if members.is_empty() {
            return Ok(0);
        }
        redis::cmd("ZREM")
            .arg(&self.legacy_key)
            .arg(members)
            .query_async(&mut self.redis.conn.clone())
            .await
            .map_err(|source| OpError::Redis {
                what: format!("ZREM {}", self.legacy_key),
                source,
            })
    }
}

/// Why a migration is refused before it touches anything.
pub fn check(
    opts: &Options,
    ctx: &xbot_core::keys::KeyContext,
    allow_production: bool,
) -> Result<(), OpError> {
    if opts.delete_legacy && opts.mode != Mode::Execute {
        return Err(OpError::Config(
            "--delete-legacy removes legacy keys after a verified copy, so it needs --execute"
                .into(),
        ));
    }
    if opts.mode == Mode::Execute && ctx.prefix.as_str() == "prod:" && !allow_production {
        return Err(OpError::Config(
            "refusing to write prod: keys without --i-know-this-is-production (run without --execute first to see what would change)".into(),
        ));
    }
    Ok(())
}

/// Where a run looks: keys the catalog names exactly (the queues, the lock,
/// today's posting counter — only today's window is carried), and SCAN MATCH
/// patterns for the other families it copies, one per first key segment
/// (`cache:*` for both caches: every pattern is one more walk of the whole
/// keyspace on the server). All from [`legacy::LEGACY`].
fn run_targets(prefixes: &[Prefix], today: &str) -> (Vec<String>, Vec<String>) {
    let mut exact = Vec::new();
    let mut heads: Vec<String> = Vec::new();
    for f in legacy::LEGACY {
        if matches!(
            f.action,
            LegacyAction::ReportOnly | LegacyAction::DedupCompat
        ) {
            continue;
        }
        let under: Vec<&str> = match f.prefixing {
            legacy::Prefixing::None => vec![""],
            legacy::Prefixing::Legacy => prefixes.iter().map(Prefix::as_str).collect(),
            legacy::Prefixing::Either => std::iter::once("")
                .chain(prefixes.iter().map(Prefix::as_str))
                .collect(),
        };
        let pattern = match f.action {
            LegacyAction::PostingCount => f.pattern.replace("<date>", today),
            _ => f.pattern.to_string(),
        };
        for p in under {
            match pattern.find('<') {
                None => exact.push(format!("{p}{pattern}")),
                Some(i) => heads.push(format!("{p}{}", &pattern[..i])),
            }
        }
    }
    let mut patterns: Vec<String> = Vec::new();
    for h in &heads {
        let first = h.split(':').next().unwrap_or(h);
        let shared = heads
            .iter()
            .filter(|o| o.split(':').next() == Some(first))
            .count()
            > 1;
        let glob = if shared {
            format!("{}:*", glob_escape(first))
        } else {
            format!("{}*", glob_escape(h))
        };
        if !patterns.contains(&glob) {
            patterns.push(glob);
        }
    }
    (exact, patterns)
}

/// `migrate plan` and `migrate run`.
pub async fn migrate(redis: &Redis, opts: &Options) -> OpResult<Report> {
    let mut walk = Walk::new(redis, opts);
    let bar = spinner(match opts.mode {
        Mode::Plan => "inventory",
        Mode::DryRun => "migration (dry run)",
        Mode::Execute => "migrating",
    });
    let mut side = Walk::new(redis, opts);
    let mut patterns = Vec::new();
    if opts.mode == Mode::Plan {
        // The inventory walks everything.
        scan(redis, "*", BATCH, async |node: &Node, keys: Vec<String>| {
            let n = keys.len() as u64;
            walk.batch(Some(node), keys).await?;
            bar.inc(n);
            Ok(())
        })
        .await?;
    } else {
        // A run looks only where the catalog says something is to be copied:
        // the queues and the lock by name, the rest by pattern (SCAN MATCH
        // filters on the server, so a run over a large keyspace stays light).
        let today =
            xbot_core::time::time_bucket(xbot_core::time::Bucket::Date, opts.now_ms as f64)?;
        let exact;
        (exact, patterns) = run_targets(&opts.legacy_prefixes, &today);
        // One key per pipeline: on a Cluster they live in different slots.
        for key in exact {
            walk.batch(None, vec![key]).await?;
        }
    }
    // The queues, and a run's pattern walk, side by side: Redis works on one
    // while this process converts another's members.
    bar.set_message("queues");
    let queues = std::mem::take(&mut walk.queues);
    let jobs = queues.into_iter().map(|(f, key)| async move {
        let mut w = Walk::new(redis, opts);
        w.queue(f, &key).await?;
        Ok::<_, OpError>(w)
    });
    let bar_ref = &bar;
    let walk_patterns = async {
        for pattern in patterns {
            scan(
                redis,
                &pattern,
                BATCH,
                async |node: &Node, keys: Vec<String>| {
                    let n = keys.len() as u64;
                    side.batch(Some(node), keys).await?;
                    bar_ref.inc(n);
                    Ok(())
                },
            )
            .await?;
        }
        Ok::<_, OpError>(())
    };
    let (done, walked) = tokio::join!(futures_util::future::try_join_all(jobs), walk_patterns);
    walked?;
    for w in done? {
        walk.merge(w);
    }
    walk.merge(side);
    bar.finish_and_clear();
    let mut families: Vec<Row> = walk.families.into_values().collect();
    let mut other: Vec<Row> = walk.other.into_values().collect();
    for r in families.iter_mut().chain(other.iter_mut()) {
        r.bytes = r
            .sampled_bytes
            .checked_div(r.sampled)
            .map_or(0, |avg| avg * r.keys);
    }
    other.sort_by(|a, b| b.keys.cmp(&a.keys).then_with(|| a.pattern.cmp(&b.pattern)));
    let legacy_keys = families.iter().map(|r| r.keys).sum();
    let other_keys = other.iter().map(|r| r.keys).sum::<u64>() + walk.other_truncated;
    Ok(Report {
        mode: opts.mode,
        legacy_prefixes: opts
            .legacy_prefixes
            .iter()
            .map(|p| p.as_str().to_string())
            .collect(),
        scanned: walk.scanned,
        our_keys: walk.our_keys,
        legacy_keys,
        other_keys,
        without_ttl: families.iter().chain(&other).map(|r| r.ttl.none).sum(),
        families,
        other,
        other_truncated: walk.other_truncated,
        problems: walk.problems.into_values().collect(),
    })
}

/// The report as a table for a terminal.
pub fn render(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let verb = match r.mode {
        Mode::Plan => "plan",
        Mode::DryRun => "dry run (nothing written; add --execute)",
        Mode::Execute => "executed",
    };
    let _ = writeln!(
        s,
        "migrate {verb}: {} keys scanned — {} legacy, {} other, {} ours (untouched); {} legacy/other keys without TTL",
        r.scanned, r.legacy_keys, r.other_keys, r.our_keys, r.without_ttl
    );
    let _ = writeln!(s, "legacy prefixes: {}\n", r.legacy_prefixes.join(" "));
    let migrating = r.mode != Mode::Plan;
    let _ = writeln!(
        s,
        "{:<44} {:>8} {:>10} {:>7} {:>8} {:>8} {:>8} {:>8}  what run does",
        "legacy pattern",
        "keys",
        "memory",
        "no TTL",
        "members",
        if migrating && r.mode == Mode::Execute {
            "copied"
        } else {
            "to copy"
        },
        "done",
        "skipped"
    );
    for row in &r.families {
        let _ = writeln!(
            s,
            "{:<44} {:>8} {:>10} {:>7} {:>8} {:>8} {:>8} {:>8}  {}",
            row.pattern,
            row.keys,
            human_bytes(row.bytes),
            row.ttl.none,
            row.members,
            row.migrate,
            row.already_migrated,
            row.skipped + row.expired + row.collapsed + row.full,
            row.action
        );
    }
    if !r.other.is_empty() {
        let _ = writeln!(s, "\nother keys (reported only), largest patterns first:");
        for row in r.other.iter().take(25) {
            let _ = writeln!(
                s,
                "{:<44} {:>8} {:>10} {:>7}",
                row.pattern,
                row.keys,
                human_bytes(row.bytes),
                row.ttl.none
            );
        }
        if r.other.len() > 25 || r.other_truncated > 0 {
            let _ = writeln!(
                s,
                "... {} more patterns (see --json)",
                r.other.len().saturating_sub(25)
            );
        }
    }
    if !r.problems.is_empty() {
        let _ = writeln!(s, "\nproblems:");
        for p in &r.problems {
            let _ = writeln!(s, "  {} × {} ({})", p.count, p.kind, p.family);
            for e in &p.examples {
                let _ = writeln!(s, "      {e}");
            }
        }
    }
    s
}

fn human_bytes(b: u64) -> String {
    match b {
        0 => "-".into(),
        1..1_024 => format!("{b} B"),
        1_024..1_048_576 => format!("{:.1} KiB", b as f64 / 1_024.0),
        _ => format!("{:.1} MiB", b as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_looks_only_where_something_is_copied() {
        let (exact, patterns) = run_targets(&legacy::default_legacy_prefixes(), "2026-12-01");
        assert_eq!(
            exact,
            [
                "queue:sync_to_supabase",
                "queue:candidates",
                "queue:audit_log",
                "rate_limit:hourly_tweets:2026-12-01",
                "prod:xbot:lock:posting",
                "app:xbot:lock:posting"
            ]
        );
        assert_eq!(patterns, ["cache:*"]);
    }
}
