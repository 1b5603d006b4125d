//! Where `sync_to_supabase` items land. Every item is applied in one
//! transaction together with an applied-items ledger keyed by item id, so a
//! redelivered item is never applied twice.
//!
//! The local sink is an embedded SQLite file (zero setup): each allowed table
//! is stored as `(id TEXT PRIMARY KEY, data TEXT /* the row as JSON */, updated_at)`.

use super::config::is_identifier;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Why an item could not be applied.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    /// Retry later (database unavailable, locked, ...).
    #[error("{0}")]
    Transient(String),
    /// Never retry (unknown table, malformed row, duplicate insert): dead-letter it.
    #[error("{0}")]
    Permanent(String),
}

/// What a sync item asks for: `{"table": "tweets", "op": "upsert"|"insert", "row": {...}}`.
#[derive(Debug, Clone)]
pub struct SyncOp {
    pub table: String,
    pub upsert: bool,
    pub id: String,
    pub row: Map<String, Value>,
}

impl SyncOp {
    pub fn parse(data: &Value) -> Result<SyncOp, SinkError> {
        let bad = |m: &str| SinkError::Permanent(format!("malformed sync item: {m}"));
        let table = data
            .get("table")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("`table` must be a string"))?;
        let upsert = match data.get("op").and_then(Value::as_str).unwrap_or("upsert") {
            "upsert" => true,
            "insert" => false,
            other => {
                return Err(bad(&format!(
                    "`op` must be upsert or insert, not {other:?}"
                )))
            }
        };
        let row = data
            .get("row")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("`row` must be an object"))?
            .clone();
        let id = match row.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(bad("`row.id` (string or number) is required")),
        };
        Ok(SyncOp {
            table: table.to_string(),
            upsert,
            id,
            row,
        })
    }
}

/// The embedded SQLite sink.
#[derive(Clone)]
pub struct SqliteSink {
    conn: Arc<Mutex<rusqlite::Connection>>,
    allow: Arc<HashSet<String>>,
}

fn transient(e: rusqlite::Error) -> SinkError {
    SinkError::Transient(format!("sqlite: {e}"))
}

impl SqliteSink {
    pub fn open(path: &Path, allow: &[String]) -> Result<SqliteSink, SinkError> {
        let conn = rusqlite::Connection::open(path).map_err(transient)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS xbot_applied (item_id TEXT PRIMARY KEY, applied_at TEXT NOT NULL);",
        )
        .map_err(transient)?;
        for t in allow {
            assert!(is_identifier(t), "validated by the configuration");
            conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS \"{t}\" (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at TEXT NOT NULL);"
            ))
            .map_err(transient)?;
        }
        Ok(SqliteSink {
            conn: Arc::new(Mutex::new(conn)),
            allow: Arc::new(allow.iter().cloned().collect()),
        })
    }

    /// Applies `op` for `item_id` once: `Ok(true)` applied now, `Ok(false)` applied before.
    pub async fn apply(&self, item_id: &str, op: SyncOp) -> Result<bool, SinkError> {
        if !self.allow.contains(&op.table) {
            return Err(SinkError::Permanent(format!(
                "table {:?} is not in XBOT_SYNC_TABLES",
                op.table
            )));
        }
        let (conn, item_id) = (self.conn.clone(), item_id.to_string());
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| SinkError::Transient("sqlite connection poisoned".into()))?;
            let tx = conn.transaction().map_err(transient)?;
            let now = xbot_core::time::iso_string(super::super::ops::now_ms() as f64).expect("now is a valid time");
            if tx.execute("INSERT OR IGNORE INTO xbot_applied (item_id, applied_at) VALUES (?1, ?2)", (&item_id, &now)).map_err(transient)? == 0 {
                return Ok(false); // redelivered: already applied
            }
            let data = Value::Object(op.row).to_string();
            // The table name is from the allow-list (validated identifier); values are bound.
            let sql = if op.upsert {
                format!("INSERT INTO \"{}\" (id, data, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at", op.table)
            } else {
                format!("INSERT INTO \"{}\" (id, data, updated_at) VALUES (?1, ?2, ?3)", op.table)
            };
            match tx.execute(&sql, (&op.id, &data, &now)) {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, msg)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                    return Err(SinkError::Permanent(format!("insert into {}: {}", op.table, msg.unwrap_or_else(|| "constraint violation".into()))));
                }
                Err(e) => return Err(transient(e)),
            }
            tx.commit().map_err(transient)?;
            Ok(true)
        })
        .await
        .map_err(|e| SinkError::Transient(format!("sink task: {e}")))?
    }

    /// Rows per allowed table, for summaries.
    pub async fn counts(&self) -> Result<Vec<(String, u64)>, SinkError> {
        let (conn, allow) = (self.conn.clone(), self.allow.clone());
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| SinkError::Transient("sqlite connection poisoned".into()))?;
            let mut tables: Vec<&String> = allow.iter().collect();
            tables.sort();
            tables
                .into_iter()
                .map(|t| {
                    let n: i64 = conn
                        .query_row(&format!("SELECT COUNT(*) FROM \"{t}\""), [], |r| r.get(0))
                        .map_err(transient)?;
                    Ok((t.clone(), n as u64))
                })
                .collect()
        })
        .await
        .map_err(|e| SinkError::Transient(format!("sink task: {e}")))?
    }

    /// The rows of one table (id, row JSON), for the end-to-end run.
    pub async fn rows(&self, table: &str, limit: u32) -> Result<Vec<(String, Value)>, SinkError> {
        if !self.allow.contains(table) {
            return Err(SinkError::Permanent(format!(
                "table {table:?} is not in XBOT_SYNC_TABLES"
            )));
        }
        let (conn, table) = (self.conn.clone(), table.to_string());
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| SinkError::Transient("sqlite connection poisoned".into()))?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT id, data FROM \"{table}\" ORDER BY updated_at, id LIMIT ?1"
                ))
                .map_err(transient)?;
            let rows = stmt
                .query_map([limit], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(transient)?
                .map(|r| {
                    r.map(|(id, d)| (id, serde_json::from_str(&d).unwrap_or(Value::String(d))))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(transient)?;
            Ok(rows)
        })
        .await
        .map_err(|e| SinkError::Transient(format!("sink task: {e}")))?
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            conn.lock()
                .map(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
    }
}

/// The configured sink: Postgres/Supabase when `DATABASE_URL` is set, else SQLite.
#[derive(Clone)]
pub enum Sink {
    Sqlite(SqliteSink),
    Postgres(super::postgres::PgSink),
}

impl Sink {
    /// Opens the sink the configuration asks for.
    pub async fn open(cfg: &super::config::WorkerConfig) -> Result<Sink, SinkError> {
        match &cfg.database_url {
            Some(url) => Ok(Sink::Postgres(
                super::postgres::PgSink::connect_with(url, &cfg.allow_tables, cfg.pg_batch).await?,
            )),
            None => Ok(Sink::Sqlite(SqliteSink::open(
                &cfg.sqlite_path,
                &cfg.allow_tables,
            )?)),
        }
    }
    pub async fn apply(&self, item_id: &str, op: SyncOp) -> Result<bool, SinkError> {
        match self {
            Sink::Sqlite(s) => s.apply(item_id, op).await,
            Sink::Postgres(s) => s.apply(item_id, op).await,
        }
    }
    pub async fn counts(&self) -> Result<Vec<(String, u64)>, SinkError> {
        match self {
            Sink::Sqlite(s) => s.counts().await,
            Sink::Postgres(s) => s.counts().await,
        }
    }
    pub async fn rows(&self, table: &str, limit: u32) -> Result<Vec<(String, Value)>, SinkError> {
        match self {
            Sink::Sqlite(s) => s.rows(table, limit).await,
            Sink::Postgres(s) => s.rows(table, limit).await,
        }
    }
    pub async fn ping(&self) -> bool {
        match self {
            Sink::Sqlite(s) => s.ping().await,
            Sink::Postgres(s) => s.ping().await,
        }
    }
}
