//! The key catalog: one row per key family. Docs (`docs/KEYS.md`), the
//! `catalog()` export, key building, classification and the audit all read
//! this table and nothing else.
//!
//! Pattern syntax (format-string style): `{name}` is a parameter, `{{` and
//! `}}` are literal braces. Literal braces are Redis Cluster hash tags: every
//! key one queue, lock or bandit operation touches shares one tag, hence one
//! hash slot, so a single Lua script may touch them all.

use crate::time::Bucket;
use serde::Serialize;

/// The Redis data type stored under a family's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisType {
    String,
    Hash,
    List,
    Zset,
}

impl RedisType {
    pub fn as_str(self) -> &'static str {
        match self {
            RedisType::String => "string",
            RedisType::Hash => "hash",
            RedisType::List => "list",
            RedisType::Zset => "zset",
        }
    }
}

/// How long keys of a family live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// Persistent state: never expires.
    None,
    /// The same in every environment.
    Fixed(u64),
    /// A cache TTL: multiplied by the environment's `cache_ttl_factor`.
    Cache(u64),
}

/// The document's TTL classes: short < 1h, medium 1-24h, long 1-7d, none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TtlClass {
    Short,
    Medium,
    Long,
    None,
}

impl TtlClass {
    pub fn of(seconds: Option<u64>) -> TtlClass {
        match seconds {
            None => TtlClass::None,
            Some(s) if s < 3_600 => TtlClass::Short,
            Some(s) if s <= 86_400 => TtlClass::Medium,
            Some(_) => TtlClass::Long,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TtlClass::Short => "short",
            TtlClass::Medium => "medium",
            TtlClass::Long => "long",
            TtlClass::None => "none",
        }
    }
}

/// What values a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// 1-128 characters; no whitespace, control characters, `:`, `{`, `}` or glob characters `*?[]\`.
    Id,
    /// A UTC time bucket.
    Time(Bucket),
    /// Hour of day, `00`-`23`.
    HourOfDay,
    /// 64 lowercase hex digits.
    Sha256,
    /// A queue short name.
    Queue,
    /// A lock short name.
    Lock,
    /// A Redis Cluster hash tag: a target key's tag or the whole key
    /// (1-512 characters; `:` allowed; no braces, whitespace, control or glob characters).
    Slot,
}

impl ParamKind {
    pub fn describe(self) -> &'static str {
        match self {
            ParamKind::Id => "id: 1-128 chars, no whitespace, control chars, ':', '{', '}', '*', '?', '[', ']', '\\'",
            ParamKind::Time(Bucket::Date) => "UTC date YYYY-MM-DD",
            ParamKind::Time(Bucket::Hour) => "UTC hour YYYY-MM-DDTHH",
            ParamKind::Time(Bucket::Minute) => "UTC minute YYYY-MM-DDTHHMM",
            ParamKind::HourOfDay => "hour of day 00-23 (UTC)",
            ParamKind::Sha256 => "64 lowercase hex digits",
            ParamKind::Queue => "sync_to_supabase | analytics_processing | pending_posts",
            ParamKind::Lock => "posting_in_progress | sync_in_progress",
            ParamKind::Slot => "hash tag: 1-512 chars, ':' allowed; no whitespace, control chars, '{', '}', '*', '?', '[', ']', '\\'",
        }
    }
}

/// One parameter of a family pattern.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    /// A valid value, used in docs and tests.
    pub example: &'static str,
}

/// One key family.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// Dotted name, e.g. `cache.tweet`.
    pub name: &'static str,
    /// Pattern after the prefix, e.g. `cache:tweet:{tweetId}`.
    pub pattern: &'static str,
    pub params: &'static [ParamSpec],
    pub redis_type: RedisType,
    pub ttl: Ttl,
    pub purpose: &'static str,
}

impl Family {
    /// True for cache families: losing one of their keys costs a cache miss,
    /// nothing more. `REDIS_CACHE_URL` routes exactly these to a separate
    /// (evicting) Redis, so the state families can live on a `noeviction` one.
    pub fn is_cache(&self) -> bool {
        matches!(self.ttl, Ttl::Cache(_)) || self.name == "stats.cache"
    }
}

const fn p(name: &'static str, kind: ParamKind, example: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        example,
    }
}

const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const QUEUE: &[ParamSpec] = &[p("queue", ParamKind::Queue, "sync_to_supabase")];

macro_rules! family {
    ($name:literal, $pattern:literal, [$($param:expr),*], $ty:ident, $ttl:expr, $purpose:literal) => {
        Family {
            name: $name,
            pattern: $pattern,
            params: &[$($param),*],
            redis_type: RedisType::$ty,
            ttl: $ttl,
            purpose: $purpose,
        }
    };
}

use ParamKind::*;
use Ttl::{Cache, Fixed};

/// Every key family, in document order, companions after their family.
pub static FAMILIES: &[Family] = &[
    family!(
        "health.check",
        "health:check",
        [],
        String,
        Fixed(60),
        "Health verification: SET, GET, EXPIRE probe"
    ),
    family!(
        "health.instance",
        "health:check:{instance}",
        [p("instance", Id, "web-1")],
        String,
        Fixed(60),
        "Per-instance health probe, so two instances never race on one key"
    ),
    family!(
        "health.legacy",
        "health",
        [],
        String,
        Ttl::None,
        "Legacy health key (read-only; reported by audit)"
    ),
    family!(
        "worker.heartbeat",
        "worker:{instance}",
        [p("instance", Id, "web-1-4242")],
        String,
        Fixed(30),
        "A running worker's heartbeat, rewritten every 5 s: JSON {instance, startedAtMs, seenAtMs, queues: {processed, failed, dead, latency histogram}} (the dashboard's throughput and latency)"
    ),
    family!(
        "worker.registry",
        "workers",
        [],
        Zset,
        Ttl::None,
        "Workers seen lately: instance -> last heartbeat (epoch ms); entries older than a minute are dropped by each heartbeat"
    ),
    family!(
        "rate_limit.posting",
        "rate_limit:posting:{hour}",
        [p("hour", Time(Bucket::Hour), "2026-11-27T18")],
        String,
        Fixed(3_600),
        "Posts per hour counter (fixed window)"
    ),
    family!(
        "rate_limit.api",
        "rate_limit:api:{minute}",
        [p("minute", Time(Bucket::Minute), "2026-11-27T1836")],
        String,
        Fixed(60),
        "API calls per minute counter (fixed window)"
    ),
    family!(
        "cache.tweet",
        "cache:tweet:{tweetId}",
        [p("tweetId", Id, "1861500000000000042")],
        String,
        Cache(86_400),
        "Tweet data cache (JSON)"
    ),
    family!(
        "cache.config",
        "cache:config:{key}",
        [p("key", Id, "feature_flags")],
        String,
        Cache(3_600),
        "Configuration cache from Supabase bot_config; busted by cache:config:schema_version"
    ),
    family!(
        "tweets.recent",
        "tweets:recent",
        [],
        List,
        Cache(1_800),
        "Recent tweets list (capped)"
    ),
    family!(
        "queue.sync_to_supabase",
        "queue:{{sync_to_supabase}}",
        [],
        Zset,
        Ttl::None,
        "Redis -> Supabase sync queue: ready items by score"
    ),
    family!(
        "queue.analytics_processing",
        "queue:{{analytics_processing}}",
        [],
        Zset,
        Ttl::None,
        "Analytics processing queue: ready items by score"
    ),
    family!(
        "queue.pending_posts",
        "queue:{{pending_posts}}",
        [],
        Zset,
        Ttl::None,
        "Scheduled posts queue: ready items by score"
    ),
    family!(
        "queue.items",
        "queue:{{{queue}}}:items",
        [QUEUE[0]],
        Hash,
        Ttl::None,
        "Queue item bodies: id -> item JSON"
    ),
    family!(
        "queue.inflight",
        "queue:{{{queue}}}:inflight",
        [QUEUE[0]],
        Zset,
        Ttl::None,
        "Reserved items: id -> lease deadline (epoch ms)"
    ),
    family!(
        "queue.meta",
        "queue:{{{queue}}}:meta",
        [QUEUE[0]],
        Hash,
        Ttl::None,
        "Per-item state: <id>:p priority, <id>:r failed attempts, <id>:s stalls (leases that expired), <id>:e last error (the dead-letter reason), <id>:t lease token (exists exactly while in flight), <id>:x the side-effect plan fixed by the first lease holder (deleted by the ack)"
    ),
    family!(
        "queue.delayed",
        "queue:{{{queue}}}:delayed",
        [QUEUE[0]],
        Zset,
        Ttl::None,
        "Items waiting for a retry or a not-before time: id -> due (epoch ms)"
    ),
    family!(
        "queue.dead",
        "queue:{{{queue}}}:dead",
        [QUEUE[0]],
        Zset,
        Ttl::None,
        "Dead-letter set: id -> time of death (epoch ms); the reason is <id>:e in the meta hash (the stored item is never rewritten)"
    ),
    family!(
        "queue.seq",
        "queue:{{{queue}}}:seq",
        [QUEUE[0]],
        String,
        Ttl::None,
        "Tie-break sequence for items enqueued in the same millisecond"
    ),
    family!(
        "queue.trash",
        "queue:{{{queue}}}:trash",
        [QUEUE[0]],
        Hash,
        Ttl::None,
        "Dead items deleted from the dashboard, restorable for 24 h: id -> JSON of the item, its meta fields and time of death (queue_trash / queue_restore)"
    ),
    family!(
        "queue.trash_index",
        "queue:{{{queue}}}:trash:at",
        [QUEUE[0]],
        Zset,
        Ttl::None,
        "When each trash entry's retention ends: id -> epoch ms (expired entries are dropped 100 per trash call)"
    ),
    family!(
        "queue.migrated",
        "queue:{{{queue}}}:migrated",
        [QUEUE[0]],
        Hash,
        Ttl::None,
        "Migration ledger of a queue: identity of each legacy member copied in -> item id (xbot-redis migrate)"
    ),
    family!(
        "dashboard.audit",
        "dashboard:audit",
        [],
        List,
        Ttl::None,
        "Every change made from the dashboard, newest first, capped at 1,000: JSON {atMs, who (token label), action, queue, id, count}"
    ),
    family!(
        "migrate.ledger",
        "migrate:ledger",
        [],
        Hash,
        Ttl::None,
        "Migration ledger of copied legacy keys (caches, counters): legacy key -> our key"
    ),
    family!(
        "lock.posting_in_progress",
        "lock:{{posting_in_progress}}",
        [],
        String,
        Fixed(300),
        "Prevents concurrent posting; value = owner token"
    ),
    family!(
        "lock.sync_in_progress",
        "lock:{{sync_in_progress}}",
        [],
        String,
        Fixed(600),
        "Prevents concurrent sync; value = owner token"
    ),
    family!(
        "lock.fence",
        "lock:{{{lock}}}:fence",
        [p("lock", Lock, "posting_in_progress")],
        String,
        Ttl::None,
        "Fencing counter of a lock: grows by one on every acquisition"
    ),
    family!(
        "stats.daily",
        "stats:daily:{date}",
        [p("date", Time(Bucket::Date), "2026-11-27")],
        Hash,
        Fixed(604_800),
        "Daily performance metrics"
    ),
    family!(
        "stats.hourly",
        "stats:hourly:{hour}",
        [p("hour", Time(Bucket::Hour), "2026-11-27T18")],
        Hash,
        Fixed(172_800),
        "Hourly performance metrics"
    ),
    family!(
        "stats.cache",
        "stats:cache",
        [],
        Hash,
        Ttl::None,
        "Cache hits and misses: fields <family>:hit and <family>:miss"
    ),
    family!(
        "temp.draft",
        "temp:draft:{id}:1h",
        [p("id", Id, "draft-7")],
        String,
        Fixed(3_600),
        "Draft tweet storage"
    ),
    family!(
        "temp.session",
        "temp:session:{sessionId}:24h",
        [p("sessionId", Id, "sess-42")],
        String,
        Fixed(86_400),
        "Session storage"
    ),
    family!(
        "content_hash.sha256",
        "content_hash:sha256:{hash}",
        [p("hash", Sha256, HASH)],
        String,
        Fixed(604_800),
        "Duplicate-content marker; value = id of the tweet holding the content"
    ),
    family!(
        "dedup.tweet",
        "dedup:tweet:{hash}",
        [p("hash", Sha256, HASH)],
        String,
        Fixed(86_400),
        "Tweet deduplication marker"
    ),
    family!(
        "bandit.topic.alpha",
        "bandit:topic:{{{topic}}}:alpha",
        [p("topic", Id, "ai")],
        String,
        Ttl::None,
        "Thompson sampling: topic successes (Beta alpha)"
    ),
    family!(
        "bandit.topic.beta",
        "bandit:topic:{{{topic}}}:beta",
        [p("topic", Id, "ai")],
        String,
        Ttl::None,
        "Thompson sampling: topic failures (Beta beta)"
    ),
    family!(
        "bandit.hour.alpha",
        "bandit:hour:{{{hour}}}:alpha",
        [p("hour", HourOfDay, "09")],
        String,
        Ttl::None,
        "Thompson sampling: posting-hour successes (Beta alpha)"
    ),
    family!(
        "bandit.hour.beta",
        "bandit:hour:{{{hour}}}:beta",
        [p("hour", HourOfDay, "09")],
        String,
        Ttl::None,
        "Thompson sampling: posting-hour failures (Beta beta)"
    ),
    family!(
        "bandit.tag.alpha",
        "bandit:tag:{{{tag}}}:alpha",
        [p("tag", Id, "rust")],
        String,
        Ttl::None,
        "Thompson sampling: tag successes (Beta alpha)"
    ),
    family!(
        "bandit.tag.beta",
        "bandit:tag:{{{tag}}}:beta",
        [p("tag", Id, "rust")],
        String,
        Ttl::None,
        "Thompson sampling: tag failures (Beta beta)"
    ),
    family!(
        "model.weights",
        "model:weights:v1",
        [],
        String,
        Ttl::None,
        "Logistic model coefficients (JSON)"
    ),
    family!(
        "model.performance.accuracy",
        "model:performance:accuracy",
        [],
        String,
        Ttl::None,
        "Model accuracy metrics"
    ),
    family!(
        "model.training.last_update",
        "model:training:last_update",
        [],
        String,
        Ttl::None,
        "Last training timestamp (ISO-8601)"
    ),
    family!(
        "learn.last_ingest",
        "learn:last_ingest",
        [],
        String,
        Ttl::None,
        "Last metrics collection (ISO-8601)"
    ),
    family!(
        "learn.processing_lock",
        "learn:processing_lock",
        [],
        String,
        Fixed(900),
        "Prevents concurrent learning; value = owner token"
    ),
    family!(
        "learn.performance_baseline",
        "learn:performance_baseline",
        [],
        String,
        Ttl::None,
        "Historical performance baseline (JSON)"
    ),
    family!(
        "effects.marks",
        "fx:{{{slot}}}",
        [p("slot", Slot, "prod:stats:daily:2026-11-27")],
        Zset,
        Fixed(604_800),
        "Effect ids already applied to the keys of one hash slot (exactly-once side effects); members expire one by one, the set with its newest member"
    ),
    family!(
        "durable.fence",
        "durable:{{{slot}}}",
        [p("slot", Slot, "sync_to_supabase")],
        String,
        Fixed(86_400),
        "Durable mode: a counter bumped with every durable write of its hash slot, so WAIT covers that write"
    ),
];

impl Family {
    /// Looks a family up by its dotted name.
    pub fn get(name: &str) -> Option<&'static Family> {
        FAMILIES.iter().find(|f| f.name == name)
    }

    /// TTL in seconds for an environment profile; `None` = no expiry.
    pub fn ttl_seconds(&self, profile: &crate::keys::Profile) -> Option<u64> {
        match self.ttl {
            Ttl::None => None,
            Ttl::Fixed(s) => Some(s),
            Ttl::Cache(s) => Some(s * profile.cache_ttl_factor),
        }
    }

    /// TTL class, from the document's (development/production) TTL.
    pub fn ttl_class(&self) -> TtlClass {
        TtlClass::of(match self.ttl {
            Ttl::None => None,
            Ttl::Fixed(s) | Ttl::Cache(s) => Some(s),
        })
    }

    /// True when the pattern carries a Redis Cluster hash tag.
    pub fn has_hash_tag(&self) -> bool {
        self.pattern.contains("{{")
    }

    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }
}
