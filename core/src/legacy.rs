//! The bot's legacy Redis layout (`shared/spec/legacy-keys.md`) as data, and
//! the pure half of the migration: which legacy family a key belongs to, how
//! a legacy queue member becomes one of our items, and the bot's own dedup
//! normalization ("variant A") for the cut-over.
//!
//! `xbot-redis migrate plan`, `migrate run` and `audit` read [`LEGACY`] and
//! nothing else, so the inventory and the run cannot disagree.

use crate::content::{is_js_whitespace, normalize, sha256_hex};
use crate::keys::Prefix;
use crate::time::{iso_string, parse_iso};
use serde::Serialize;
use serde_json::{Map, Value};

/// What `migrate run` does with a legacy family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LegacyAction {
    /// `queue:sync_to_supabase` → `sync_to_supabase` items.
    SyncQueue,
    /// `queue:candidates` → `pending_posts` items.
    CandidateQueue,
    /// `queue:audit_log` → `sync_to_supabase` items for table `audit_log`.
    AuditQueue,
    /// `cache:recent:tweet:<id>` → `cache.tweet`, with the remaining TTL.
    CacheTweet,
    /// `cache:config:<key>:<env>` → `cache.config` (this environment's only).
    CacheConfig,
    /// `rate_limit:hourly_tweets:<date>` → the current `rate_limit.posting` window.
    PostingCount,
    /// Variant A dedup markers: read by the dedup check while they live.
    DedupCompat,
    /// The legacy posting lock: blocks `posting_in_progress` while held.
    LockCompat,
    /// Counted and reported, never touched.
    ReportOnly,
}

impl LegacyAction {
    /// One line on what `migrate run` does with the family's keys.
    pub fn describe(self) -> &'static str {
        match self {
            Self::SyncQueue => "copied into queue sync_to_supabase (copies of one payload collapse into one item)",
            Self::CandidateQueue => "copied into queue pending_posts (priority rescaled to 0-100; expired candidates skipped)",
            Self::AuditQueue => "copied into queue sync_to_supabase as audit_log rows",
            Self::CacheTweet => "copied to cache.tweet with its remaining TTL",
            Self::CacheConfig => "copied to cache.config (this environment's entries) with its remaining TTL",
            Self::PostingCount => "today's count carried into the current rate_limit.posting window",
            Self::DedupCompat => "left in place: dedup checks read it until it expires",
            Self::LockCompat => "left in place: posting_in_progress waits while it is held",
            Self::ReportOnly => "reported only",
        }
    }
}

/// Where a legacy family's keys live relative to the legacy prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefixing {
    /// Written without a prefix.
    None,
    /// Written under `REDIS_PREFIX` (`prod:`, `app:` or the user's).
    Legacy,
    /// Seen both ways (modules differ).
    Either,
}

/// One legacy key family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyFamily {
    /// Stable name, e.g. `legacy.queue.sync`.
    pub name: &'static str,
    /// The pattern after the prefix: literal text and placeholders
    /// `<date>` (YYYY-MM-DD), `<hh>` (2 digits), `<hex64>`, `<hex32>`,
    /// `<n>` (digits), `<seg>` (one segment: no `:`), `<rest>` (the remainder).
    pub pattern: &'static str,
    pub prefixing: Prefixing,
    /// The Redis type the bot writes.
    pub redis_type: &'static str,
    /// What the bot stores there.
    pub value: &'static str,
    pub action: LegacyAction,
}

const fn fam(
    name: &'static str,
    pattern: &'static str,
    prefixing: Prefixing,
    redis_type: &'static str,
    value: &'static str,
    action: LegacyAction,
) -> LegacyFamily {
    LegacyFamily {
        name,
        pattern,
        prefixing,
        redis_type,
        value,
        action,
    }
}

use LegacyAction as A;
use Prefixing as P;

/// Every legacy family of the spec, most specific first.
pub static LEGACY: &[LegacyFamily] = &[
    fam(
        "legacy.queue.sync",
        "queue:sync_to_supabase",
        P::None,
        "zset",
        "JSON sync item, score = priority",
        A::SyncQueue,
    ),
    fam(
        "legacy.queue.candidates",
        "queue:candidates",
        P::None,
        "zset",
        "JSON content candidate, score = queue priority",
        A::CandidateQueue,
    ),
    fam(
        "legacy.queue.audit_log",
        "queue:audit_log",
        P::None,
        "zset",
        "JSON posting decision, score 50",
        A::AuditQueue,
    ),
    fam(
        "legacy.content_hash.created",
        "content_hash:<hex64>:created",
        P::None,
        "string",
        "ISO time a variant-A marker was set",
        A::DedupCompat,
    ),
    fam(
        "legacy.content_hash.sha256",
        "content_hash:<hex64>",
        P::None,
        "string",
        "tweet id (variant A SHA-256 marker)",
        A::DedupCompat,
    ),
    fam(
        "legacy.content_hash.md5",
        "content_hash:<hex32>",
        P::None,
        "string",
        "JSON array of tweet ids (variant D MD5 marker)",
        A::ReportOnly,
    ),
    fam(
        "legacy.rate_limit.hourly_tweets",
        "rate_limit:hourly_tweets:<date>",
        P::None,
        "string",
        "posts counter",
        A::PostingCount,
    ),
    fam(
        "legacy.rate_limit.daily_tweets",
        "rate_limit:daily_tweets:<date>",
        P::None,
        "string",
        "posts per day counter",
        A::ReportOnly,
    ),
    fam(
        "legacy.rate_limit.ai_budget",
        "rate_limit:ai_budget:<date>",
        P::None,
        "string",
        "AI budget counter",
        A::ReportOnly,
    ),
    fam(
        "legacy.cache.tweet",
        "cache:recent:tweet:<seg>",
        P::None,
        "string",
        "tweet JSON",
        A::CacheTweet,
    ),
    fam(
        "legacy.cache.config",
        "cache:config:<seg>:<seg>",
        P::None,
        "string",
        "config JSON",
        A::CacheConfig,
    ),
    fam(
        "legacy.lock.posting",
        "xbot:lock:posting",
        P::Legacy,
        "string",
        "JSON {owner, reason, corrId, acquiredAt, heartbeatAt}",
        A::LockCompat,
    ),
    fam(
        "legacy.state.last_health_check",
        "state:last_health_check",
        P::None,
        "string",
        "health JSON",
        A::ReportOnly,
    ),
    fam(
        "legacy.openai_cost.calls",
        "openai_cost:<date>:calls",
        P::Either,
        "string",
        "OpenAI calls per day",
        A::ReportOnly,
    ),
    fam(
        "legacy.openai_cost",
        "openai_cost:<date>",
        P::Either,
        "string",
        "OpenAI cost per day",
        A::ReportOnly,
    ),
    fam(
        "legacy.openai_blocked",
        "openai_blocked:<date>",
        P::Either,
        "string",
        "OpenAI blocked flag",
        A::ReportOnly,
    ),
    fam(
        "legacy.openai.cost",
        "openai:cost:<rest>",
        P::Either,
        "string",
        "OpenAI cost counters",
        A::ReportOnly,
    ),
    fam(
        "legacy.openai.requests",
        "openai:requests:<rest>",
        P::Either,
        "string",
        "OpenAI request counters",
        A::ReportOnly,
    ),
    fam(
        "legacy.generations",
        "generations:<date>-<hh>",
        P::Either,
        "string",
        "generations per hour",
        A::ReportOnly,
    ),
    fam(
        "legacy.budget.roi",
        "budget:roi:<seg>",
        P::Either,
        "string",
        "ROI per intent",
        A::ReportOnly,
    ),
    fam(
        "legacy.reply.quota",
        "reply:quota:<date>",
        P::Either,
        "string",
        "reply quota per day",
        A::ReportOnly,
    ),
    fam(
        "legacy.posting.inflight",
        "posting:inflight",
        P::Either,
        "string",
        "posting in-flight flag",
        A::ReportOnly,
    ),
    fam(
        "legacy.posting.last_post_time",
        "posting:last_post_time",
        P::Either,
        "string",
        "time of the last post",
        A::ReportOnly,
    ),
    fam(
        "legacy.thread.last",
        "thread:<n>:last",
        P::Either,
        "string",
        "last tweet of a thread",
        A::ReportOnly,
    ),
    fam(
        "legacy.circuit",
        "circuit:<rest>",
        P::Either,
        "string",
        "circuit breaker state",
        A::ReportOnly,
    ),
    fam(
        "legacy.post",
        "post:<seg>",
        P::Either,
        "string",
        "post JSON",
        A::ReportOnly,
    ),
    fam(
        "legacy.posts.window",
        "posts:<n>d",
        P::Either,
        "string",
        "posts of the last N days",
        A::ReportOnly,
    ),
    fam(
        "legacy.metrics",
        "metrics:<seg>:<seg>",
        P::Either,
        "string",
        "tweet metrics per hour",
        A::ReportOnly,
    ),
    fam(
        "legacy.follower.baseline",
        "follower:baseline:<seg>",
        P::Either,
        "string",
        "follower baseline",
        A::ReportOnly,
    ),
    fam(
        "legacy.velocity.tracked",
        "velocity:tracked:<seg>:24h",
        P::Either,
        "string",
        "velocity tracking flag",
        A::ReportOnly,
    ),
    fam(
        "legacy.predictor.latest",
        "predictor:v2:latest",
        P::Either,
        "string",
        "latest predictor",
        A::ReportOnly,
    ),
    fam(
        "legacy.predictor",
        "predictor:v2:<n>",
        P::Either,
        "string",
        "predictor snapshot",
        A::ReportOnly,
    ),
    fam(
        "legacy.learning.insights",
        "learning:insights",
        P::Either,
        "string",
        "learning insights",
        A::ReportOnly,
    ),
    fam(
        "legacy.recent_content_patterns",
        "recent_content_patterns",
        P::Either,
        "list",
        "recent content patterns",
        A::ReportOnly,
    ),
    fam(
        "legacy.timing_patterns",
        "timing_patterns",
        P::Either,
        "hash",
        "timing patterns",
        A::ReportOnly,
    ),
    fam(
        "legacy.topic_performance",
        "topic_performance:<rest>",
        P::Either,
        "any",
        "topic performance",
        A::ReportOnly,
    ),
    fam(
        "legacy.timing",
        "timing:<rest>",
        P::Either,
        "any",
        "timing data",
        A::ReportOnly,
    ),
    fam(
        "legacy.format_performance",
        "format_performance:<rest>",
        P::Either,
        "any",
        "format performance",
        A::ReportOnly,
    ),
    fam(
        "legacy.hook_performance",
        "hook_performance:<rest>",
        P::Either,
        "any",
        "hook performance",
        A::ReportOnly,
    ),
    fam(
        "legacy.patterns",
        "patterns:<rest>",
        P::Either,
        "any",
        "content patterns",
        A::ReportOnly,
    ),
    fam(
        "legacy.exploration",
        "exploration:<rest>",
        P::Either,
        "any",
        "exploration state",
        A::ReportOnly,
    ),
    fam(
        "legacy.content",
        "content:<seg>",
        P::Either,
        "string",
        "content by base64 key",
        A::ReportOnly,
    ),
    fam(
        "legacy.topic_selection",
        "topic_selection:<n>",
        P::Either,
        "string",
        "topic selection",
        A::ReportOnly,
    ),
    fam(
        "legacy.test",
        "test:<rest>",
        P::Either,
        "any",
        "test keys",
        A::ReportOnly,
    ),
];

/// A key recognized as legacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyKey {
    pub family: &'static LegacyFamily,
    /// The legacy prefix the key carries (`""` when unprefixed).
    pub prefix: String,
    /// The placeholders' values, in pattern order.
    pub params: Vec<String>,
}

/// Matches `key` against a pattern, collecting placeholder values.
fn match_pattern(pattern: &str, key: &str, out: &mut Vec<String>) -> bool {
    let Some(open) = pattern.find('<') else {
        return pattern == key;
    };
    let (lit, rest) = pattern.split_at(open);
    let Some(key) = key.strip_prefix(lit) else {
        return false;
    };
    let close = rest.find('>').expect("placeholders are closed");
    let (name, after) = (&rest[1..close], &rest[close + 1..]);
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let accepts = |v: &str| match name {
        "date" => is_date(v),
        "hh" => v.len() == 2 && digits(v),
        "hex64" => hex(v, 64),
        "hex32" => hex(v, 32),
        "n" => digits(v),
        "seg" => !v.is_empty() && !v.contains(':'),
        "rest" => !v.is_empty(),
        other => unreachable!("unknown placeholder <{other}>"),
    };
    // Try every split (keys are short; patterns have at most two placeholders).
    for end in (1..=key.len()).rev() {
        if !key.is_char_boundary(end) {
            continue;
        }
        let (v, tail) = key.split_at(end);
        if accepts(v) {
            out.push(v.to_string());
            if match_pattern(after, tail, out) {
                return true;
            }
            out.pop();
        }
    }
    false
}

fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// The legacy family of `key`, looking at the unprefixed space and under
/// each of `prefixes`. Keys of our own layout are not legacy: the caller
/// checks [`crate::keys::classify_key`] first.
pub fn classify_legacy(key: &str, prefixes: &[Prefix]) -> Option<LegacyKey> {
    let mut params = Vec::new();
    for family in LEGACY {
        if family.prefixing != Prefixing::Legacy && match_pattern(family.pattern, key, &mut params)
        {
            return Some(LegacyKey {
                family,
                prefix: String::new(),
                params,
            });
        }
        params.clear();
        if family.prefixing != Prefixing::None {
            for p in prefixes {
                if let Some(rest) = key.strip_prefix(p.as_str()) {
                    if match_pattern(family.pattern, rest, &mut params) {
                        return Some(LegacyKey {
                            family,
                            prefix: p.as_str().into(),
                            params,
                        });
                    }
                    params.clear();
                }
            }
        }
    }
    None
}

/// The legacy families a prefix list brings: `prod:` and `app:` (the bot's
/// two defaults) unless the user names others.
pub fn default_legacy_prefixes() -> Vec<Prefix> {
    ["prod:", "app:"]
        .iter()
        .map(|p| Prefix::parse(p).expect("valid prefixes"))
        .collect()
}

/// A pattern for a key no family claims, to group the rest of the keyspace:
/// each segment that looks like data (numbers, dates, hex, ids, long or
/// encoded text) becomes a placeholder. `thread:1732999:last` → `thread:<n>:last`.
pub fn generalize(key: &str) -> String {
    let mut out = String::with_capacity(key.len().min(64));
    for (i, seg) in key.split(':').enumerate() {
        if i > 0 {
            out.push(':');
        }
        if i >= 6 {
            out.push_str("<rest>");
            break;
        }
        out.push_str(&generalize_segment(seg));
    }
    out
}

fn generalize_segment(seg: &str) -> std::borrow::Cow<'_, str> {
    let b = seg.as_bytes();
    let all = |f: fn(&u8) -> bool| !b.is_empty() && b.iter().all(f);
    if all(u8::is_ascii_digit) {
        return "<n>".into();
    }
    if is_date(seg) {
        return "<date>".into();
    }
    if b.len() >= 13 && is_date(&seg[..10]) {
        return "<date>-<rest>".into();
    }
    if b.len() >= 16 && all(u8::is_ascii_hexdigit) {
        return "<hex>".into();
    }
    if let Some((ms, tail)) = seg.split_once('-') {
        if ms.len() >= 12 && ms.bytes().all(|c| c.is_ascii_digit()) && !tail.is_empty() {
            return "<id>".into();
        }
    }
    if b.len() > 24 || !b.iter().all(|c| c.is_ascii_graphic()) {
        return "<s>".into();
    }
    seg.into()
}

// ---------------------------------------------------------------------------
// Variant A: the bot's dedup normalization.

/// The bot's dedup normalization (variant A), exactly as its JavaScript:
/// `text.toLowerCase().replace(/[^\w\s]/g, '').replace(/\s+/g, ' ').trim()`.
/// `\w` without the `u` flag is ASCII `[A-Za-z0-9_]`: emoji, accents and
/// punctuation vanish.
pub fn legacy_normalize(text: &str) -> String {
    // Our normalization lowercases exactly as JS does and turns whitespace
    // runs into one space; deleting what is not `\w` may then bring spaces
    // together again, so they are collapsed once more.
    let lowered = normalize(text);
    let mut out = String::with_capacity(lowered.len());
    for c in lowered.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if (c == ' ' || is_js_whitespace(c)) && !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// SHA-256 hex of [`legacy_normalize`]: the `<hex64>` of the bot's markers.
pub fn legacy_content_hash(text: &str) -> String {
    sha256_hex(&legacy_normalize(text))
}

/// The legacy marker key of `text` (unprefixed, as the bot writes it).
pub fn legacy_dedup_key(text: &str) -> String {
    format!("content_hash:{}", legacy_content_hash(text))
}

/// The legacy posting lock under `prefix`.
pub fn legacy_lock_key(prefix: &Prefix) -> String {
    format!("{}xbot:lock:posting", prefix.as_str())
}

/// The cut-over compatibility setting (`XBOT_LEGACY_COMPAT` in the runner,
/// `legacy` in the TS client): `None`/empty is on with the default prefixes
/// (`prod:`, `app:`), `off` (or `0`, `false`) is off, else a comma-separated
/// list of the prefixes the bot's posting lock may live under. On, a dedup
/// check also reads the bot's variant-A marker and `posting_in_progress`
/// waits for the bot's posting lock.
pub fn parse_compat(value: Option<&str>) -> crate::Result<Option<Vec<Prefix>>> {
    let v = value.map(str::trim).unwrap_or("");
    if v.is_empty() {
        return Ok(Some(default_legacy_prefixes()));
    }
    if matches!(v, "off" | "0" | "false") {
        return Ok(None);
    }
    v.split(',')
        .map(|p| Prefix::parse(p.trim()))
        .collect::<crate::Result<Vec<_>>>()
        .map(Some)
}

// ---------------------------------------------------------------------------
// Queue members.

/// Why a legacy member is not migrated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Skip {
    /// Not JSON, or not a JSON object.
    Undecodable { reason: String },
    /// A field the conversion needs is missing or of the wrong shape.
    BadField { field: &'static str, reason: String },
    /// A candidate past its `expiresAt`.
    Expired { expires_at: String },
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Undecodable { reason } => write!(f, "undecodable: {reason}"),
            Skip::BadField { field, reason } => write!(f, "field {field}: {reason}"),
            Skip::Expired { expires_at } => write!(f, "expired at {expires_at}"),
        }
    }
}

/// A decoded member: the JSON object, and whether it was stored
/// double-encoded (a JSON string holding the JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub value: Map<String, Value>,
    pub double_encoded: bool,
}

/// Decodes a legacy member (JSON, or a JSON string containing JSON).
pub fn decode_member(member: &str) -> Result<Decoded, Skip> {
    let undecodable = |reason: String| Skip::Undecodable { reason };
    let v: Value = serde_json::from_str(member).map_err(|e| undecodable(e.to_string()))?;
    let (v, double_encoded) = match v {
        Value::String(inner) => (
            serde_json::from_str(&inner)
                .map_err(|e| undecodable(format!("a JSON string that is not JSON inside: {e}")))?,
            true,
        ),
        v => (v, false),
    };
    match v {
        Value::Object(value) => Ok(Decoded {
            value,
            double_encoded,
        }),
        other => Err(undecodable(format!(
            "expected a JSON object, got {}",
            kind_of(&other)
        ))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One legacy member as an item of ours.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigratedItem {
    /// Our item id: the legacy id when it is a valid id, else derived from the content.
    pub id: String,
    pub kind: String,
    pub data: Value,
    pub priority: u8,
    /// When the bot created it (epoch ms): the item's `createdAt` and its
    /// place in FIFO order.
    pub created_ms: i64,
    /// What identifies it across copies and runs: the ledger's field.
    pub identity: String,
}

impl MigratedItem {
    /// The item JSON as stored: `{id, type, data, priority, createdAt,
    /// retryCount: 0}`, created at the legacy time. Built only when it is
    /// written (a first pass over a queue needs only the identity).
    pub fn item_json(&self) -> Result<String, Skip> {
        envelope(
            &self.id,
            &self.kind,
            &self.data,
            self.priority,
            self.created_ms,
        )
    }
}

/// The priority of a migrated sync or audit item: legacy priority 0-10 (the
/// bot uses 2, 3, 5, 10; its audit log uses 50) becomes 90-100, so the
/// migrated backlog — older than anything the new code pushes — drains first
/// and keeps its order.
pub fn sync_priority(legacy: f64) -> u8 {
    90 + legacy.round().clamp(0.0, 10.0) as u8
}

/// A candidate's legacy "queue priority" (≥ 0, unbounded: base priority +
/// recency·50 + bonuses) rescaled into 0-100 by `100·s/(s+50)`: monotone, so
/// a better legacy score never gets a lower priority, and the same for every
/// run (a run does not depend on which candidates happen to be queued).
/// Scores 50 → 50, 100 → 67, 150 → 75; near-equal scores may share a
/// priority and are then served oldest first.
pub fn candidate_priority(legacy_score: f64) -> u8 {
    // NaN and scores ≤ 0 are the lowest priority.
    if legacy_score.is_nan() || legacy_score <= 0.0 {
        return 0;
    }
    if legacy_score.is_infinite() {
        return 100;
    }
    (100.0 * legacy_score / (legacy_score + 50.0)).round() as u8
}

fn str_field<'a>(m: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, Skip> {
    match m.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(Skip::BadField {
            field,
            reason: format!("expected a string, got {}", kind_of(other)),
        }),
        None => Err(Skip::BadField {
            field,
            reason: "missing".into(),
        }),
    }
}

/// The member's creation time: `createdAt`, else the `<ms>-` of its id.
fn created_ms(m: &Map<String, Value>) -> Result<i64, Skip> {
    if let Some(Value::String(s)) = m.get("createdAt") {
        return parse_iso(s).map_err(|e| Skip::BadField {
            field: "createdAt",
            reason: e.to_string(),
        });
    }
    if let Some(ms) = m
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.split_once('-'))
        .and_then(|(ms, _)| ms.parse::<i64>().ok())
    {
        return Ok(ms);
    }
    Err(Skip::BadField {
        field: "createdAt",
        reason: "missing (and the id carries no time)".into(),
    })
}

/// JSON with object keys sorted: the same text for the same content.
pub fn canonical_json(v: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    walk(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    walk(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    walk(v, &mut out);
    out
}

fn is_token(s: &str) -> bool {
    crate::queue::check_id_and_type(s, "x").is_ok()
}

/// The stored envelope, as `prepare_push` writes it but created at the legacy time.
fn envelope(
    id: &str,
    kind: &str,
    data: &Value,
    priority: u8,
    created_ms: i64,
) -> Result<String, Skip> {
    let created = iso_string(created_ms as f64).map_err(|e| Skip::BadField {
        field: "createdAt",
        reason: e.to_string(),
    })?;
    let item = format!(
        "{{\"id\":{},\"type\":{},\"data\":{},\"priority\":{priority},\"createdAt\":\"{created}\",\"retryCount\":0}}",
        Value::String(id.into()),
        Value::String(kind.into()),
        data
    );
    if item.len() > crate::queue::MAX_ITEM_BYTES {
        return Err(Skip::BadField {
            field: "data",
            reason: format!(
                "the item would be {} bytes (limit {})",
                item.len(),
                crate::queue::MAX_ITEM_BYTES
            ),
        });
    }
    Ok(item)
}

/// A sync row's item: id `legacy-<24 hex>` of its identity, so every copy of
/// the same payload (the old retry bug) is one item, in any run.
fn sync_row_item(
    table: &str,
    op: &str,
    mut row: Map<String, Value>,
    score: f64,
    created_ms: i64,
) -> Result<MigratedItem, Skip> {
    let identity = sha256_hex(&format!(
        "{table}\n{op}\n{}",
        canonical_json(&Value::Object(row.clone()))
    ));
    let id = format!("legacy-{}", &identity[..24]);
    // The sink writes rows by id; a legacy row without one gets the item's,
    // which is the same in every run.
    match row.get("id") {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(Value::Number(_)) => {}
        None => {
            row.insert("id".into(), Value::String(id.clone()));
        }
        Some(other) => {
            return Err(Skip::BadField {
                field: "data.data.id",
                reason: format!("expected a string or number, got {}", kind_of(other)),
            })
        }
    }
    let data = serde_json::json!({ "table": table, "op": op, "row": Value::Object(row) });
    let priority = sync_priority(score);
    Ok(MigratedItem {
        id,
        kind: "sync".into(),
        data,
        priority,
        created_ms,
        identity,
    })
}

/// [`sync_item`] of a member given as text, for the common shape only:
/// `createdAt` present and valid, known `data.type` and `data.operation`, a
/// row object, no escaped strings in the fields read. Reads the member
/// without building a JSON tree of it (a first pass over a large legacy queue
/// needs only identities). `None` means "take the general path", which gives
/// the same result or the error.
pub fn fast_sync_item(member: &str, score: f64) -> Option<MigratedItem> {
    #[derive(serde::Deserialize)]
    struct Member<'a> {
        #[serde(borrow)]
        data: Inner<'a>,
        #[serde(rename = "createdAt", borrow)]
        created_at: &'a str,
    }
    #[derive(serde::Deserialize)]
    struct Inner<'a> {
        #[serde(rename = "type", borrow)]
        kind: &'a str,
        #[serde(borrow)]
        operation: &'a str,
        #[serde(borrow)]
        data: &'a serde_json::value::RawValue,
    }
    let m: Member = serde_json::from_str(member).ok()?;
    let table = sync_table(m.data.kind).ok()?;
    let op = sync_op(m.data.operation).ok()?;
    let created = parse_iso(m.created_at).ok()?;
    let row: Map<String, Value> = serde_json::from_str(m.data.data.get()).ok()?;
    sync_row_item(table, op, row, score, created).ok()
}

fn sync_table(kind: &str) -> Result<&'static str, Skip> {
    match kind {
        "tweet" => Ok("tweets"),
        "audit" => Ok("audit_log"),
        "health" => Ok("system_health"),
        other => Err(Skip::BadField {
            field: "data.type",
            reason: format!("{other:?} is not tweet, audit or health"),
        }),
    }
}

fn sync_op(op: &str) -> Result<&'static str, Skip> {
    match op {
        "insert" | "create" => Ok("insert"),
        "upsert" | "update" => Ok("upsert"),
        other => Err(Skip::BadField {
            field: "data.operation",
            reason: format!("{other:?} is not insert, create, upsert or update"),
        }),
    }
}

/// A `queue:sync_to_supabase` member as a `sync_to_supabase` item.
pub fn sync_item(m: &Map<String, Value>, score: f64) -> Result<MigratedItem, Skip> {
    let Some(Value::Object(inner)) = m.get("data") else {
        return Err(Skip::BadField {
            field: "data",
            reason: "missing or not an object".into(),
        });
    };
    let table = sync_table(str_field(inner, "type").map_err(|e| rename(e, "data.type"))?)?;
    let op = sync_op(str_field(inner, "operation").map_err(|e| rename(e, "data.operation"))?)?;
    let row = match inner.get("data") {
        Some(Value::Object(row)) => row.clone(),
        Some(Value::String(s)) => match serde_json::from_str(s) {
            Ok(Value::Object(row)) => row,
            _ => {
                return Err(Skip::BadField {
                    field: "data.data",
                    reason: "a string that is not a JSON object".into(),
                })
            }
        },
        _ => {
            return Err(Skip::BadField {
                field: "data.data",
                reason: "missing or not an object".into(),
            })
        }
    };
    let created = created_ms(m).or_else(|_| created_ms(inner))?;
    sync_row_item(table, op, row, score, created)
}

/// A `queue:audit_log` member as a sync item for table `audit_log`: the row is
/// `{id, type, data, created_at}` (the decision as JSON).
pub fn audit_item(m: &Map<String, Value>, score: f64) -> Result<MigratedItem, Skip> {
    let kind = str_field(m, "type")?;
    let data = m.get("data").cloned().unwrap_or(Value::Null);
    // `createdAt`, else the decision's `timestamp`, else the id's time.
    let created = match (
        m.get("createdAt"),
        data.get("timestamp").and_then(Value::as_str),
    ) {
        (None, Some(t)) => parse_iso(t).map_err(|e| Skip::BadField {
            field: "data.timestamp",
            reason: e.to_string(),
        })?,
        _ => created_ms(m)?,
    };
    let mut row = Map::new();
    if let Some(id) = m.get("id").filter(|v| v.is_string() || v.is_number()) {
        row.insert("id".into(), id.clone());
    }
    row.insert("type".into(), Value::String(kind.into()));
    row.insert("data".into(), data);
    row.insert(
        "created_at".into(),
        Value::String(iso_string(created as f64).unwrap_or_default()),
    );
    sync_row_item("audit_log", "insert", row, score, created)
}

/// A `queue:candidates` member as a `pending_posts` item (data kept as the
/// bot wrote it). `now_ms` decides which candidates expired.
pub fn candidate_item(
    m: &Map<String, Value>,
    score: f64,
    now_ms: i64,
) -> Result<MigratedItem, Skip> {
    let Some(Value::Object(data)) = m.get("data") else {
        return Err(Skip::BadField {
            field: "data",
            reason: "missing or not an object".into(),
        });
    };
    if let Some(Value::String(exp)) = data.get("expiresAt") {
        let at = parse_iso(exp).map_err(|e| Skip::BadField {
            field: "data.expiresAt",
            reason: e.to_string(),
        })?;
        if at <= now_ms {
            return Err(Skip::Expired {
                expires_at: exp.clone(),
            });
        }
    }
    let created = created_ms(m)?;
    let data = Value::Object(data.clone());
    let identity = match m
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| is_token(id))
    {
        Some(id) => id.to_string(),
        None => format!("legacy-{}", &sha256_hex(&canonical_json(&data))[..24]),
    };
    let kind = m
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| is_token(t))
        .unwrap_or("post");
    let priority = candidate_priority(score);
    Ok(MigratedItem {
        id: identity.clone(),
        kind: kind.into(),
        data,
        priority,
        created_ms: created,
        identity,
    })
}

fn rename(e: Skip, field: &'static str) -> Skip {
    match e {
        Skip::BadField { reason, .. } => Skip::BadField { field, reason },
        other => other,
    }
}

/// The environment segment of `cache:config:<key>:<env>` that belongs to a
/// context: its name (`production`) or its short forms (`prod`).
pub fn config_env_matches(env_segment: &str, ctx: &crate::keys::KeyContext) -> bool {
    let name = ctx.env.name();
    env_segment == name
        || match name {
            "production" => env_segment == "prod",
            "staging" => env_segment == "stg",
            "development" => matches!(env_segment, "dev" | "development" | "local" | "test"),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prefixes() -> Vec<Prefix> {
        default_legacy_prefixes()
    }

    #[test]
    fn classifies_every_spec_shape() {
        let cases = [
            ("queue:sync_to_supabase", "legacy.queue.sync", ""),
            ("queue:candidates", "legacy.queue.candidates", ""),
            ("queue:audit_log", "legacy.queue.audit_log", ""),
            (
                &format!("content_hash:{}", "a".repeat(64)),
                "legacy.content_hash.sha256",
                "",
            ),
            (
                &format!("content_hash:{}:created", "0".repeat(64)),
                "legacy.content_hash.created",
                "",
            ),
            (
                &format!("content_hash:{}", "b".repeat(32)),
                "legacy.content_hash.md5",
                "",
            ),
            (
                "rate_limit:hourly_tweets:2026-12-01",
                "legacy.rate_limit.hourly_tweets",
                "",
            ),
            (
                "rate_limit:ai_budget:2026-12-01",
                "legacy.rate_limit.ai_budget",
                "",
            ),
            ("cache:recent:tweet:1789", "legacy.cache.tweet", ""),
            (
                "cache:config:posting_rules:production",
                "legacy.cache.config",
                "",
            ),
            ("prod:xbot:lock:posting", "legacy.lock.posting", "prod:"),
            ("app:xbot:lock:posting", "legacy.lock.posting", "app:"),
            (
                "state:last_health_check",
                "legacy.state.last_health_check",
                "",
            ),
            ("prod:openai_cost:2026-12-01", "legacy.openai_cost", "prod:"),
            (
                "openai_cost:2026-12-01:calls",
                "legacy.openai_cost.calls",
                "",
            ),
            ("generations:2026-12-01-07", "legacy.generations", ""),
            ("thread:1733000000000:last", "legacy.thread.last", ""),
            ("posts:7d", "legacy.posts.window", ""),
            ("velocity:tracked:17:24h", "legacy.velocity.tracked", ""),
            ("predictor:v2:latest", "legacy.predictor.latest", ""),
            ("predictor:v2:1733000000000", "legacy.predictor", ""),
            ("topic_performance:ai:week", "legacy.topic_performance", ""),
            (
                "recent_content_patterns",
                "legacy.recent_content_patterns",
                "",
            ),
        ];
        for (key, family, prefix) in cases {
            let c =
                classify_legacy(key, &prefixes()).unwrap_or_else(|| panic!("{key} unclassified"));
            assert_eq!(
                (c.family.name, c.prefix.as_str()),
                (family, prefix),
                "{key}"
            );
        }
        for key in [
            "xbot:lock:posting",
            "content_hash:ABC",
            "queue:other",
            "stg:xbot:lock:posting",
            "generations:2026-12-01-7",
        ] {
            assert_eq!(
                classify_legacy(key, &prefixes()).map(|c| c.family.name),
                None,
                "{key}"
            );
        }
        let c =
            classify_legacy("stg:xbot:lock:posting", &[Prefix::parse("stg:").unwrap()]).unwrap();
        assert_eq!(c.family.name, "legacy.lock.posting");
        let c = classify_legacy("cache:config:rules:production", &prefixes()).unwrap();
        assert_eq!(c.params, ["rules", "production"]);
    }

    #[test]
    fn every_pattern_is_well_formed_and_names_are_unique() {
        let mut names: Vec<_> = LEGACY.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), LEGACY.len());
        for f in LEGACY {
            assert_eq!(
                f.pattern.matches('<').count(),
                f.pattern.matches('>').count(),
                "{}",
                f.name
            );
        }
    }

    #[test]
    fn generalizes_unknown_keys() {
        assert_eq!(generalize("thing:1733000000000:last"), "thing:<n>:last");
        assert_eq!(generalize("daily:2026-12-01"), "daily:<date>");
        assert_eq!(generalize("job:1733000000000-k3j5h2l9x"), "job:<id>");
        assert_eq!(generalize(&format!("h:{}", "ab".repeat(16))), "h:<hex>");
        assert_eq!(generalize("plain"), "plain");
        assert_eq!(generalize("a:b:c:d:e:f:g:h"), "a:b:c:d:e:f:<rest>");
    }

    #[test]
    fn variant_a_deletes_what_ascii_w_does_not_match() {
        assert_eq!(
            legacy_normalize("  Hello,   WORLD!! 🚀 café  "),
            "hello world caf"
        );
        assert_eq!(legacy_normalize("a ! b"), "a b");
        assert_eq!(legacy_normalize("snake_case\u{00a0}x"), "snake_case x");
        assert_eq!(legacy_normalize("🚀🚀"), "");
        // U+212A KELVIN SIGN lowercases to ASCII k in JS.
        assert_eq!(legacy_normalize("\u{212A}ing"), "king");
        assert_eq!(legacy_content_hash("Hello"), sha256_hex("hello"));
    }

    #[test]
    fn decodes_double_encoded_members() {
        let inner = json!({"id": "1-a"}).to_string();
        let d = decode_member(&Value::String(inner).to_string()).unwrap();
        assert!(d.double_encoded);
        assert_eq!(d.value["id"], "1-a");
        assert!(matches!(
            decode_member("{nope"),
            Err(Skip::Undecodable { .. })
        ));
        assert!(matches!(
            decode_member("[1]"),
            Err(Skip::Undecodable { .. })
        ));
    }

    fn sync_member(id: &str, created: &str, retry: u32) -> Map<String, Value> {
        json!({"id": id, "type": "sync", "data": {"type": "tweet", "operation": "upsert",
            "data": {"id": "t1", "text": "hi", "likes": 3}, "retryCount": retry, "createdAt": created},
            "priority": 5, "createdAt": created, "retryCount": retry})
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn sync_copies_collapse_into_one_identity() {
        let a = sync_item(
            &sync_member("1733000000000-aaaaaaaaa", "2026-11-30T10:00:00.000Z", 0),
            5.0,
        )
        .unwrap();
        let b = sync_item(
            &sync_member("1733000000999-bbbbbbbbb", "2026-11-30T10:05:00.000Z", 1),
            5.0,
        )
        .unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(a.identity, b.identity);
        assert_eq!(
            a.data,
            json!({"table": "tweets", "op": "upsert", "row": {"id": "t1", "text": "hi", "likes": 3}})
        );
        assert_eq!(a.priority, 95);
        let stored = crate::queue::QueueItem::from_json(&a.item_json().unwrap()).unwrap();
        assert_eq!(stored.created_at, "2026-11-30T10:00:00.000Z");
        assert_eq!(stored.id, a.id);
        let mut bad = sync_member("1-a", "2026-11-30T10:00:00.000Z", 0);
        bad["data"]["type"] = json!("other");
        assert!(matches!(
            sync_item(&bad, 5.0),
            Err(Skip::BadField {
                field: "data.type",
                ..
            })
        ));
    }

    #[test]
    fn the_fast_path_gives_what_the_general_path_gives() {
        let mut members = vec![
            sync_member("1733000000000-aaaaaaaaa", "2026-11-30T10:00:00.000Z", 0),
            sync_member("1733000000001-bbbbbbbbb", "2026-11-30T10:05:00.5Z", 2),
        ];
        let mut health = sync_member("1733000000002-ccccccccc", "2026-11-30T10:06:00Z", 0);
        health["data"]["type"] = json!("health");
        health["data"]["operation"] = json!("insert");
        health["data"]["data"] = json!({"status": "ok", "nested": {"b": 1, "a": [1, "x"]}});
        members.push(health);
        for m in members {
            let text = Value::Object(m.clone()).to_string();
            let fast = fast_sync_item(&text, 5.0).expect("the common shape");
            assert_eq!(fast, sync_item(&m, 5.0).unwrap());
            assert_eq!(fast.item_json(), sync_item(&m, 5.0).unwrap().item_json());
        }
        // Anything unusual takes the general path.
        let mut odd = sync_member("1-a", "2026-11-30T10:00:00.000Z", 0);
        odd.remove("createdAt");
        assert_eq!(fast_sync_item(&Value::Object(odd).to_string(), 5.0), None);
        let mut other = sync_member("1-a", "2026-11-30T10:00:00.000Z", 0);
        other["data"]["type"] = json!("metrics");
        assert_eq!(fast_sync_item(&Value::Object(other).to_string(), 5.0), None);
        assert_eq!(fast_sync_item(r#""{\"id\":1}""#, 5.0), None);
    }

    #[test]
    fn candidates_keep_their_data_and_rescale_monotonically() {
        let m = json!({"id": "1733000000000-k3j5h2l9x", "type": "content_candidate",
            "data": {"text": "t", "expiresAt": "2026-12-03T00:00:00.000Z"}, "priority": 7,
            "createdAt": "2026-12-01T00:00:00.000Z", "retryCount": 0});
        let it = candidate_item(m.as_object().unwrap(), 120.5, 1_764_547_200_000).unwrap();
        assert_eq!(it.id, "1733000000000-k3j5h2l9x");
        assert_eq!(it.kind, "content_candidate");
        assert_eq!(it.priority, candidate_priority(120.5));
        let late = parse_iso("2026-12-04T00:00:00.000Z").unwrap();
        assert!(matches!(
            candidate_item(m.as_object().unwrap(), 1.0, late),
            Err(Skip::Expired { .. })
        ));
        let mut last = 0;
        for s in 0..2_000 {
            let p = candidate_priority(s as f64 / 4.0);
            assert!(p >= last && p <= 100);
            last = p;
        }
        assert_eq!(
            (
                candidate_priority(-3.0),
                candidate_priority(50.0),
                candidate_priority(f64::NAN)
            ),
            (0, 50, 0)
        );
    }

    #[test]
    fn audit_rows_carry_the_decision() {
        let m = json!({"id": "1733000000000-zzzzzzzzz", "type": "posting_decision",
            "data": {"timestamp": "2026-11-30T08:00:00.000Z", "shouldPost": true}, "priority": 50});
        let it = audit_item(m.as_object().unwrap(), 50.0).unwrap();
        assert_eq!(it.data["table"], "audit_log");
        assert_eq!(it.data["row"]["created_at"], "2026-11-30T08:00:00.000Z");
        assert_eq!(it.data["row"]["id"], "1733000000000-zzzzzzzzz");
        assert_eq!(it.priority, 100);
    }
}
