//! Worker configuration from the environment, validated at start.

use std::path::PathBuf;
use xbot_core::queue::QueueName;

/// Everything the worker reads from its environment.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Queues to consume and how many items of each to process at once
    /// (`XBOT_QUEUES=sync_to_supabase:16,analytics_processing:2`).
    pub queues: Vec<(QueueName, usize)>,
    /// Lease of a reserved item; extended while it is processed (`XBOT_LEASE_MS`).
    pub lease_ms: u64,
    /// HTTP port for /healthz, /readyz, /metrics (`PORT`; 0 = any free port).
    pub port: u16,
    /// Postgres/Supabase sink (`DATABASE_URL=postgres://…`); unset = the SQLite sink.
    pub database_url: Option<String>,
    /// SQLite file of the local sink when `DATABASE_URL` is unset (`XBOT_SQLITE_PATH`).
    pub sqlite_path: PathBuf,
    /// Tables sync items may write (`XBOT_SYNC_TABLES`).
    pub allow_tables: Vec<String>,
    /// How long a graceful shutdown waits for items in flight (`XBOT_SHUTDOWN_GRACE_MS`).
    pub shutdown_grace_ms: u64,
    /// Largest group of sync items written in one Postgres transaction
    /// (`XBOT_PG_BATCH`, 1-1000; 1 = one transaction per item).
    pub pg_batch: usize,
    /// Where the state Redis is, credentials removed (the dashboard shows it).
    pub redis_label: String,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(var: &'static str, default: T) -> Result<T, ConfigError> {
    match env(var) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError {
            var,
            value: v,
            reason: "expected a whole number".into(),
        }),
    }
}

impl WorkerConfig {
    pub fn from_env() -> Result<WorkerConfig, ConfigError> {
        let queues = match env("XBOT_QUEUES") {
            None => vec![(QueueName::SyncToSupabase, 16), (QueueName::AnalyticsProcessing, 2)],
            Some(spec) => spec
                .split(',')
                .map(|part| {
                    let bad = |reason: String| ConfigError { var: "XBOT_QUEUES", value: spec.clone(), reason };
                    let (name, n) = part.trim().split_once(':').unwrap_or((part.trim(), "1"));
                    let q = QueueName::parse(name).map_err(|e| bad(e.to_string()))?;
                    if q == QueueName::PendingPosts {
                        return Err(bad("pending_posts is posted by the bot itself; the worker only promotes it".into()));
                    }
                    let n: usize = n.parse().ok().filter(|n| (1..=64).contains(n)).ok_or_else(|| bad(format!("concurrency of {name} must be 1-64")))?;
                    Ok((q, n))
                })
                .collect::<Result<_, _>>()?,
        };
        let allow_tables: Vec<String> = env("XBOT_SYNC_TABLES")
            .unwrap_or_else(|| "tweets,bot_config,system_health,audit_log".into())
            .split(',')
            .map(|t| t.trim().to_string())
            .collect();
        if let Some(t) = allow_tables.iter().find(|t| !is_identifier(t)) {
            return Err(ConfigError {
                var: "XBOT_SYNC_TABLES",
                value: t.clone(),
                reason: "table names are [a-z_][a-z0-9_]*".into(),
            });
        }
        let lease_ms = number("XBOT_LEASE_MS", 30_000u64)?;
        if lease_ms < 1_000 {
            return Err(ConfigError {
                var: "XBOT_LEASE_MS",
                value: lease_ms.to_string(),
                reason: "at least 1000".into(),
            });
        }
        let pg_batch = number("XBOT_PG_BATCH", super::postgres::DEFAULT_BATCH)?;
        if !(1..=1_000).contains(&pg_batch) {
            return Err(ConfigError {
                var: "XBOT_PG_BATCH",
                value: pg_batch.to_string(),
                reason: "1-1000".into(),
            });
        }
        Ok(WorkerConfig {
            pg_batch,
            queues,
            lease_ms,
            port: number("PORT", 8080u16)?,
            redis_label: crate::config::redact_url(
                &env("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            ),
            database_url: match env("DATABASE_URL") {
                Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                    Some(u)
                }
                Some(u) => {
                    return Err(ConfigError {
                        var: "DATABASE_URL",
                        value: crate::config::redact_url(&u),
                        reason: "expected postgres://user:password@host:5432/db".into(),
                    })
                }
                None => None,
            },
            sqlite_path: env("XBOT_SQLITE_PATH")
                .map_or_else(|| PathBuf::from("xbot-sync.sqlite3"), PathBuf::from),
            allow_tables,
            shutdown_grace_ms: number("XBOT_SHUTDOWN_GRACE_MS", 10_000u64)?,
        })
    }
}

/// A plain SQL identifier: lowercase letters, digits, underscores.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && s.len() <= 63
}
