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
