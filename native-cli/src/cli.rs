//! Command-line grammar (clap). Names are fixed by CONTRACT.md.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "xbot-redis",
    version,
    about = "Redis layer of the xBOT posting bot: keys, hashing, queues, workers."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Redis URL (password is never printed).
    #[arg(
        long,
        global = true,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,
    /// Separate Redis for the cache families (may evict; e.g. `allkeys-lru`).
    #[arg(long, global = true, env = "REDIS_CACHE_URL")]
    pub cache_url: Option<String>,
    /// PEM file of the CA that signs the `rediss://` server certificates
    /// (default: the public web roots).
    #[arg(long, global = true, env = "REDIS_CA_CERT")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Durable mode: pushes, effect plans and effects return only once this
    /// many replicas confirmed them (Redis WAIT), so a failover cannot lose
    /// them. 0 = off.
    #[arg(
        long,
        global = true,
        env = "XBOT_REDIS_WAIT_REPLICAS",
        default_value_t = 0
    )]
    pub wait_replicas: u32,
    /// Key prefix, one segment plus ':' (e.g. `stg:`). Default: from --env, else `app:`.
    #[arg(long, global = true, env = "REDIS_PREFIX")]
    pub prefix: Option<String>,
    /// Environment: production|prod, staging|stg, development|dev|test|local.
    #[arg(long = "env", global = true, env = "APP_ENV")]
    pub app_env: Option<String>,
    /// Machine output: one JSON document (or one JSON object per line for streams).
    #[arg(long, global = true)]
    pub json: bool,
}

impl Global {
    /// The Redis endpoints these flags name.
    pub fn endpoints(&self) -> xbot_redis::redis::Endpoints {
        xbot_redis::redis::Endpoints {
            url: self.redis_url.clone(),
            cache_url: self.cache_url.clone().filter(|u| !u.trim().is_empty()),
            ca_cert: self.ca_cert.clone(),
            wait_replicas: self.wait_replicas,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Normalize and hash TEXT; without TEXT, read JSON Lines (one JSON string per line) from stdin.
    Hash {
        /// The text to hash.
        text: Option<String>,
    },
    /// Build the key of a catalog FAMILY from NAME=VALUE parameters.
    Key {
        /// Dotted family name, e.g. `cache.tweet`.
        family: String,
        /// Parameters as NAME=VALUE, e.g. `tweetId=42`.
        params: Vec<String>,
    },
    /// Tell which family a KEY belongs to (exit 1 when none).
    Classify { key: String },
    /// List every key family.
    Catalog {
        /// Print docs/KEYS.md instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Compute (or decode) a queue score.
    Score(ScoreArgs),
    /// Thompson-sampling and Beta draws.
    Bandit {
        #[command(subcommand)]
        command: BanditCommand,
    },
    /// Check Redis: PING latency, a write/read/TTL probe, memory and eviction policy.
    Health {
        /// Exit 1 when the eviction policy can drop queues, locks or dedup markers.
        #[arg(long)]
        strict: bool,
        /// Name of this instance's probe key (default: hostname-pid).
        #[arg(long, env = "XBOT_INSTANCE")]
        instance: Option<String>,
        /// Memory budget in bytes (warns above it).
        #[arg(long, env = "REDIS_MAX_MEMORY")]
        max_memory: Option<u64>,
    },
    /// Queue operations (QUEUE: sync_to_supabase, analytics_processing, pending_posts).
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Locks with owner tokens and fencing numbers (NAME: posting_in_progress, sync_in_progress).
    Lock {
        #[command(subcommand)]
        command: LockCommand,
    },
    /// One attempt against a fixed-window rate limit (LIMITER: posting, api).
    Ratelimit {
        #[command(subcommand)]
        command: RatelimitCommand,
    },
    /// Duplicate-content markers.
    Dedup {
        #[command(subcommand)]
        command: DedupCommand,
    },
    /// Move the bot's legacy keys (shared/spec/legacy-keys.md) into this layout: `plan`, then `run`.
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// SCAN every key under the prefix: counts and memory per family, unknown keys, missing TTLs, wrong types.
    Audit {
        /// Exit 1 when anything needs attention.
        #[arg(long)]
        strict: bool,
    },
    /// Delete keys matching PATTERN (SCAN + UNLINK). Dry run unless --execute.
    Cleanup {
        /// A glob starting with a literal prefix, e.g. `stg:temp:*`.
        pattern: String,
        /// Really delete (default: only count and show examples).
        #[arg(long)]
        execute: bool,
        /// Required for patterns under prod:.
        #[arg(long = "i-know-this-is-production")]
        production: bool,
    },
    /// Daily and hourly counters (TTL set when created).
    Stats {
        #[command(subcommand)]
        command: StatsCommand,
    },
    /// Caches: tweets, configuration (version-busted), recent tweets.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Run the queue consumers until SIGTERM/SIGINT, then drain (see README: Worker).
    Worker {
        /// Exit once the consumed queues are empty (end-to-end runs, batch jobs).
        #[arg(long)]
        drain: bool,
    },
    /// Serve the operator's dashboard (`/`, its JSON API under `/api/`) without
    /// consuming any queue. Changes need XBOT_DASHBOARD_TOKEN (else read-only);
    /// with XBOT_DASHBOARD_READ_TOKEN set, reading needs a token too.
    Dashboard {
        /// Port to listen on (0 = any free port).
        #[arg(long, env = "PORT", default_value_t = 8080)]
        port: u16,
        /// Address to listen on (0.0.0.0 to serve other machines: set the tokens first).
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
    },
    /// Rows the worker synced into the local SQLite sink (XBOT_SQLITE_PATH).
    Synced {
        /// Table, e.g. `tweets`.
        table: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Backoff before retry ATTEMPT (1-based) of QUEUE; null = dead-letter.
    Retry {
        queue: String,
        #[arg(allow_negative_numbers = true)]
        attempt: f64,
        /// Item id: jitters the delay deterministically.
        #[arg(long)]
        item_id: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["priority", "decode"])))]
pub struct ScoreArgs {
    /// Priority, an integer 0-100 (higher is served first).
    #[arg(long, requires = "enqueued_at_ms", allow_negative_numbers = true)]
    pub priority: Option<f64>,
    /// Enqueue time in epoch milliseconds.
    #[arg(long, allow_negative_numbers = true)]
    pub enqueued_at_ms: Option<f64>,
    /// Tie-break sequence 0-15 within one millisecond (lower is served first).
    #[arg(long, default_value_t = 0.0)]
    pub seq: f64,
    /// Decode SCORE back into priority, enqueue time and sequence.
    #[arg(long, conflicts_with_all = ["priority", "enqueued_at_ms"], allow_negative_numbers = true)]
    pub decode: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Read-only inventory of the legacy keys: per pattern the keys, memory, TTLs, what `run` does, and problems.
    Plan {
        #[command(flatten)]
        legacy: LegacyPrefixes,
    },
    /// Copy legacy queues, caches and the posting count (dry run unless --execute); idempotent and resumable.
    Run {
        #[command(flatten)]
        legacy: LegacyPrefixes,
        /// Really write (default: count what would be copied).
        #[arg(long)]
        execute: bool,
        /// With --execute: remove legacy queue members and cache keys whose copy is verified.
        #[arg(long)]
        delete_legacy: bool,
        /// Required to write under prod:.
        #[arg(long = "i-know-this-is-production")]
        production: bool,
    },
}

#[derive(Debug, Args)]
pub struct LegacyPrefixes {
    /// A prefix the bot's modules wrote under (REDIS_PREFIX); repeatable. Default: prod: and app:.
    #[arg(long = "legacy-prefix")]
    pub legacy_prefix: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum BanditCommand {
    /// One Thompson-sampling choice among ARMS (same result as `thompsonSelect`).
    Sample {
        /// Seed, an integer 0..2^53-1.
        #[arg(long, allow_negative_numbers = true)]
        seed: f64,
        /// JSON array of arms: `[{"id":"ai","alpha":3,"beta":1}, ...]`.
        #[arg(long)]
        arms: String,
    },
    /// Set posteriors from JSON Lines `{"kind","arm","alpha","beta"}` (a file or - for stdin); every line is checked first.
    Import {
        /// JSON Lines file, or - for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Apply a reward in [0, 1] to an arm's stored posterior (Redis): α += r, β += 1 − r.
    Update {
        /// topic, hour or tag.
        kind: String,
        arm: String,
        #[arg(long, allow_negative_numbers = true)]
        reward: f64,
        /// Idempotency id: the update is applied at most once per id (a retry
        /// of a call whose reply was lost changes nothing). Output gains `applied`.
        #[arg(long)]
        id: Option<String>,
    },
    /// Thompson-sample among ARMS with their stored posteriors (Redis).
    Select {
        /// topic, hour or tag.
        kind: String,
        #[arg(required = true)]
        arms: Vec<String>,
        /// Seed (default: random).
        #[arg(long)]
        seed: Option<f64>,
    },
    /// COUNT seeded draws from Beta(ALPHA, BETA) (same result as `sampleBeta`).
    Beta {
        #[arg(long, allow_negative_numbers = true)]
        alpha: f64,
        #[arg(long, allow_negative_numbers = true)]
        beta: f64,
        #[arg(long, allow_negative_numbers = true)]
        seed: f64,
        #[arg(long, default_value_t = 1)]
        count: u64,
    },
}

impl Command {
    /// True for the subcommands that talk to Redis (the rest are pure).
    pub fn needs_redis(&self) -> bool {
        !matches!(
            self,
            Command::Hash { .. }
                | Command::Key { .. }
                | Command::Classify { .. }
                | Command::Catalog { .. }
                | Command::Score(_)
                | Command::Retry { .. }
                | Command::Bandit {
                    command: BanditCommand::Sample { .. } | BanditCommand::Beta { .. }
                }
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Add an item → {"id", "status", "score"}; the same --id twice is a no-op.
    Push {
        queue: String,
        /// Item type, e.g. `tweet_upsert` (with --jsonl: the default of the lines; else the queue's).
        #[arg(long = "type", required_unless_present = "jsonl")]
        kind: Option<String>,
        /// Priority 0-100 (default: the queue's; with --jsonl: the default of the lines).
        #[arg(long, allow_negative_numbers = true)]
        priority: Option<f64>,
        /// Payload, JSON.
        #[arg(long, required_unless_present = "jsonl", conflicts_with = "jsonl")]
        data: Option<String>,
        /// Push many: JSON Lines from a file (or - for stdin), one item per line,
        /// `{"data", "type"?, "priority"?, "id"?, "notBeforeMs"?}`, 100 per script
        /// call. Every line is checked first: one bad line pushes nothing.
        #[arg(long, value_name = "FILE|-", conflicts_with_all = ["id", "not_before_ms"])]
        jsonl: Option<String>,
        /// Item id (default: generated, time-ordered).
        #[arg(long)]
        id: Option<String>,
        /// Not before this time (epoch ms): the item waits in the delayed set.
        #[arg(long)]
        not_before_ms: Option<u64>,
    },
    /// Lease the best ready item → the item plus `token`, or null when empty.
    Reserve {
        queue: String,
        #[arg(long, default_value_t = xbot_redis::ops::queue::DEFAULT_LEASE_MS)]
        lease_ms: u64,
    },
    /// Complete a reserved item.
    Ack {
        queue: String,
        id: String,
        #[arg(long)]
        token: String,
    },
    /// Record a failed attempt → {"outcome": "retry"|"dead", "retryAt"?}.
    Fail {
        queue: String,
        id: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        error: String,
    },
    /// Extend a lease → {"leaseDeadlineMs"}.
    Extend {
        queue: String,
        id: String,
        #[arg(long)]
        token: String,
        #[arg(long, default_value_t = xbot_redis::ops::queue::DEFAULT_LEASE_MS)]
        lease_ms: u64,
    },
    /// Depth, in-flight, delayed, dead and oldest age (all queues without QUEUE).
    Stats { queue: Option<String> },
    /// List dead-lettered items with their last error.
    Dead {
        queue: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Move dead-lettered items back to ready (ID, or the oldest --limit with --all).
    /// Move dead items back to ready: ID, or every dead item with --all.
    Requeue {
        queue: String,
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        /// Every dead item, oldest first, in batches of --limit (each batch one script call).
        #[arg(long, conflicts_with = "id")]
        all: bool,
        /// Items per script call with --all (bounded work per call).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Hand expired leases back (retry with backoff, or dead-letter).
    Reap {
        queue: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Take NAME if free → {"acquired", "token", "fence"}; exit 1 while held elsewhere.
    Acquire {
        name: String,
        /// Lease in ms (default: the lock's TTL).
        #[arg(long)]
        lease_ms: Option<u64>,
    },
    /// Release NAME if TOKEN owns it.
    Release {
        name: String,
        #[arg(long)]
        token: String,
    },
    /// Extend NAME's lease if TOKEN owns it.
    Extend {
        name: String,
        #[arg(long)]
        token: String,
        #[arg(long)]
        lease_ms: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RatelimitCommand {
    /// Count one attempt → {"allowed", "count", "limit", "remaining", "resetAtMs"}; exit 1 when denied.
    Hit { limiter: String },
}

#[derive(Debug, Subcommand)]
pub enum DedupCommand {
    /// Check and mark TEXT in one step → {"new", "holder"}; exit 1 when it is a duplicate.
    Mark {
        text: String,
        /// Who holds the content (e.g. the tweet id).
        #[arg(long, default_value = "pending")]
        holder: String,
        /// content_hash.sha256 (7 days) or dedup.tweet (24 hours).
        #[arg(long, default_value = "dedup.tweet")]
        family: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Add BY (default 1) to FIELD of the current daily or hourly hash.
    Incr {
        /// daily or hourly.
        period: String,
        field: String,
        #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
        by: i64,
        /// Idempotency id: the increment is applied at most once per id (a
        /// retry of a call whose reply was lost changes nothing). Output gains
        /// `applied`. Retries must pass the same --at-ms to hit the same bucket.
        #[arg(long)]
        id: Option<String>,
        /// The time whose daily/hourly bucket is counted (default: now).
        #[arg(long)]
        at_ms: Option<u64>,
    },
    /// Every counter of the daily or hourly hash containing --at-ms (default: now).
    Show {
        period: String,
        #[arg(long)]
        at_ms: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// A cached tweet (null on a miss).
    GetTweet { tweet_id: String },
    /// Cache a tweet (JSON) for 24 hours.
    SetTweet {
        tweet_id: String,
        /// The tweet, JSON.
        #[arg(long)]
        value: String,
    },
    /// Invalidate every cached configuration entry (bumps cache:config:schema_version).
    BumpConfig,
    /// The newest N entries of tweets:recent.
    Recent {
        #[arg(long, default_value_t = 10)]
        n: usize,
    },
    /// Push a tweet (JSON) onto tweets:recent (capped at 100, TTL 30 min).
    PushRecent {
        /// The tweet, JSON.
        #[arg(long)]
        value: String,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_grammar_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
