//! The Postgres (Supabase) sink. Each item is one statement that records the
//! item in the `xbot_applied` ledger and writes its row only when the ledger
//! did not know it yet, so a redelivered item is never applied twice. Rows are
//! bound as one JSON parameter and expanded by `json_populate_record`; column
//! names come from the table's own catalog (`information_schema.columns`),
//! never from item text, and are quoted.
//!
//! Group commit: one writer task owns the connection. Items that arrive while
//! it is busy are written together, pipelined in one transaction (one round
//! trip and one commit for the group). If any of them fails, the group is
//! rolled back and each item is written alone, so one bad row only fails
//! itself. A connection error drops the connection; the next item reconnects.

use super::sink::{SinkError, SyncOp};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls, Statement};

/// Default largest group written in one transaction (`XBOT_PG_BATCH`).
pub const DEFAULT_BATCH: usize = 64;

#[derive(Clone)]
pub struct PgSink {
    url: Arc<str>,
    allow: Arc<HashSet<String>>,
    writer: mpsc::Sender<Msg>,
}

/// Where the writer sends an item's outcome.
type Reply = oneshot::Sender<Result<bool, SinkError>>;

enum Msg {
    Apply {
        item_id: String,
        op: SyncOp,
        reply: Reply,
    },
    Ping(oneshot::Sender<bool>),
}

/// The server's message and SQLSTATE when there is one (tokio-postgres only says "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("postgres: {} (SQLSTATE {})", d.message(), d.code().code()),
        None => {
            // The cause matters here ("error performing TLS handshake" alone
            // does not say that the certificate is for another host name).
            let mut text = format!("postgres: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    }
}

fn transient(e: tokio_postgres::Error) -> SinkError {
    SinkError::Transient(describe(&e))
}

/// Constraint, data and undefined-object errors never heal by retrying.
fn classify(e: tokio_postgres::Error) -> SinkError {
    match e.code().map(|c| c.code()) {
        Some(code)
            if code.starts_with("22") || code.starts_with("23") || code.starts_with("42") =>
        {
            SinkError::Permanent(describe(&e))
        }
        _ => transient(e),
    }
}

impl PgSink {
    pub async fn connect(url: &str, allow: &[String]) -> Result<PgSink, SinkError> {
        PgSink::connect_with(url, allow, DEFAULT_BATCH).await
    }

    /// Connects, creates the ledger table, and starts the writer; groups hold
    /// at most `max_batch` items (1 = every item in its own transaction).
    pub async fn connect_with(
        url: &str,
        allow: &[String],
        max_batch: usize,
    ) -> Result<PgSink, SinkError> {
        let client = open(url).await?;
        // Workers starting together would race inside CREATE TABLE IF NOT
        // EXISTS (a unique violation on the catalog): one transaction-scoped
        // advisory lock lets them create the ledger one after another.
        client
            .batch_execute(
                "BEGIN; SELECT pg_advisory_xact_lock(7853012694417353); \
                 CREATE TABLE IF NOT EXISTS xbot_applied (item_id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now()); \
                 COMMIT",
            )
            .await
            .map_err(transient)?;
        let (tx, rx) = mpsc::channel(1_024);
        let writer = Writer {
            url: url.into(),
            client: Some(client),
            statements: HashMap::new(),
            columns: HashMap::new(),
            unique_id: HashMap::new(),
            max_batch: max_batch.max(1),
        };
        tokio::spawn(writer.run(rx));
        Ok(PgSink {
            url: url.into(),
            allow: Arc::new(allow.iter().cloned().collect()),
            writer: tx,
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
        let (reply, answer) = oneshot::channel();
        let gone = || SinkError::Transient("the postgres writer stopped".into());
        self.writer
            .send(Msg::Apply {
                item_id: item_id.to_string(),
                op,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    pub async fn ping(&self) -> bool {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Msg::Ping(reply)).await.is_ok() && answer.await.unwrap_or(false)
    }

    async fn open(&self) -> Result<Client, SinkError> {
        open(&self.url).await
    }

    /// Rows per allowed table that exists.
    pub async fn counts(&self) -> Result<Vec<(String, u64)>, SinkError> {
        let client = self.open().await?;
        let mut out = Vec::new();
        let mut tables: Vec<&String> = self.allow.iter().collect();
        tables.sort();
        for t in tables {
            if let Ok(row) = client
                .query_one(&format!("SELECT COUNT(*) FROM \"{t}\""), &[])
                .await
            {
                out.push((t.clone(), row.get::<_, i64>(0) as u64));
            }
        }
        Ok(out)
    }

    pub async fn rows(&self, table: &str, limit: u32) -> Result<Vec<(String, Value)>, SinkError> {
        if !self.allow.contains(table) {
            return Err(SinkError::Permanent(format!(
                "table {table:?} is not in XBOT_SYNC_TABLES"
            )));
        }
        let client = self.open().await?;
        let rows = client
            .query(
                &format!("SELECT id::text, row_to_json(t) FROM \"{table}\" t ORDER BY id LIMIT $1"),
                &[&i64::from(limit)],
            )
            .await
            .map_err(transient)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// The connection owner: writes groups of items, one transaction per group.
struct Writer {
    url: String,
    client: Option<Client>,
    /// Prepared statements of the current connection, by SQL text.
    statements: HashMap<String, Statement>,
    columns: HashMap<String, Vec<String>>,
    /// Per table: whether `id` has a primary key or unique index (upserts need one).
    unique_id: HashMap<String, bool>,
    max_batch: usize,
}

/// One item ready to write: its prepared statement and bound values.
struct Planned {
    item_id: String,
    row: Value,
    upsert: bool,
    statement: Statement,
    reply: Reply,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        while let Some(first) = rx.recv().await {
            // Everything already waiting joins this group (up to max_batch).
            let (mut items, mut pings) = (Vec::new(), Vec::new());
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Apply { item_id, op, reply } => items.push((item_id, op, reply)),
                    Msg::Ping(reply) => pings.push(reply),
                }
                if items.len() < self.max_batch {
                    next = rx.try_recv().ok();
                }
            }
            if !pings.is_empty() {
                let ok = self.ping().await;
                for p in pings {
                    let _ = p.send(ok);
                }
            }
            if !items.is_empty() {
                self.write(items).await;
            }
        }
    }

    async fn connection(&mut self) -> Result<&mut Client, SinkError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.statements.clear();
            self.client = Some(open(&self.url).await?);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    fn disconnect(&mut self) {
        self.client = None;
        self.statements.clear();
    }

    async fn ping(&mut self) -> bool {
        match self.connection().await {
            Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }

    /// Writes a group: pipelined in one transaction; on any error, item by item.
    async fn write(&mut self, items: Vec<(String, SyncOp, Reply)>) {
        let mut planned = Vec::with_capacity(items.len());
        for (item_id, op, reply) in items {
            match self.plan(&op).await {
                Ok(statement) => planned.push(Planned {
                    item_id,
                    row: Value::Object(op.row),
                    upsert: op.upsert,
                    statement,
                    reply,
                }),
                Err(e) => {
                    if matches!(e, SinkError::Transient(_)) {
                        self.disconnect();
                    }
                    let _ = reply.send(Err(e));
                }
            }
        }
        if planned.len() > 1 {
            match self.write_group(&planned).await {
                Ok(fresh) => {
                    for (p, fresh) in planned.into_iter().zip(fresh) {
                        let _ = p.reply.send(Ok(fresh));
                    }
                    return;
                }
                Err(GroupError::Broken(e)) => {
                    // The connection broke: the whole group is retried later.
                    self.disconnect();
                    for p in planned {
                        let _ = p.reply.send(Err(e.clone()));
                    }
                    return;
                }
                Err(GroupError::Row) => {} // some row failed: find which, item by item
            }
        }
        for p in planned {
            let result = self.write_one(&p).await;
            if matches!(&result, Err(SinkError::Transient(_))) {
                self.disconnect();
            }
            let _ = p.reply.send(result);
        }
    }

    /// All items in one transaction, sent as one pipeline: BEGIN, the items'
    /// statements, COMMIT (one round trip, one commit). When a statement fails
    /// the server aborts the transaction and answers the COMMIT with a rollback.
    async fn write_group(&mut self, planned: &[Planned]) -> Result<Vec<bool>, GroupError> {
        let client = self.connection().await.map_err(GroupError::Broken)?;
        let params: Vec<[&(dyn tokio_postgres::types::ToSql + Sync); 2]> = planned
            .iter()
            .map(|p| [&p.row as _, &p.item_id as _])
            .collect();
        // A biased join polls in order, so the requests go out in this order.
        let (begin, results, commit) = tokio::join!(
            biased;
            client.batch_execute("BEGIN"),
            futures_util::future::join_all(
                planned
                    .iter()
                    .zip(&params)
                    .map(|(p, params)| client.query_one(&p.statement, params)),
            ),
            client.batch_execute("COMMIT"),
        );
        let broken = |e: tokio_postgres::Error| GroupError::Broken(transient(e));
        begin.map_err(broken)?;
        let mut fresh = Vec::with_capacity(results.len());
        let mut failed = None;
        for r in results {
            match r {
                Ok(row) => fresh.push(row.get::<_, bool>(0)),
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        commit.map_err(broken)?;
        match failed {
            None => Ok(fresh),
            Some(e) if e.code().is_none() => Err(broken(e)),
            Some(_) => Err(GroupError::Row), // rolled back by the COMMIT
        }
    }

    /// One item alone (one statement: atomic by itself).
    async fn write_one(&mut self, p: &Planned) -> Result<bool, SinkError> {
        let client = self.connection().await?;
        match client.query_one(&p.statement, &[&p.row, &p.item_id]).await {
            Ok(row) => Ok(row.get(0)),
            // A concurrent insert of the same row: retry, and the retry updates it.
            Err(e) if p.upsert && e.code().map(|c| c.code()) == Some("23505") => Err(transient(e)),
            Err(e) => Err(classify(e)),
        }
    }

    /// The prepared statement for `op` (cached per table, columns and kind).
    async fn plan(&mut self, op: &SyncOp) -> Result<Statement, SinkError> {
        let table_cols = self.table_columns(&op.table).await?;
        // Without a unique `id`, two upserts of one row racing in a group could
        // both insert it: refuse, naming the fix (insert-only tables are fine:
        // the ledger keeps each item to one row).
        if op.upsert && !self.has_unique_id(&op.table).await? {
            return Err(SinkError::Permanent(format!(
                "table {:?} has no primary key or unique index on \"id\"; upserts need one (ALTER TABLE {} ADD PRIMARY KEY (id))",
                op.table, op.table
            )));
        }
        if let Some(unknown) = op.row.keys().find(|k| !table_cols.contains(k)) {
            return Err(SinkError::Permanent(format!(
                "table {:?} has no column {unknown:?}",
                op.table
            )));
        }
        // Only the columns the row carries: an upsert never nulls the others.
        let cols: Vec<&str> = table_cols
            .iter()
            .filter(|c| op.row.contains_key(*c))
            .map(String::as_str)
            .collect();
        let sql = statement_sql(&op.table, &cols, op.upsert);
        if let Some(s) = self.statements.get(&sql) {
            return Ok(s.clone());
        }
        let client = self.connection().await?;
        let statement = client.prepare(&sql).await.map_err(classify)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Whether the table's `id` column carries a primary key or a unique
    /// single-column index, cached after the first look-up.
    async fn has_unique_id(&mut self, table: &str) -> Result<bool, SinkError> {
        if let Some(u) = self.unique_id.get(table) {
            return Ok(*u);
        }
        let client = self.connection().await?;
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a \
                   ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
                 WHERE i.indrelid = to_regclass(quote_ident($1)) AND i.indisunique \
                   AND i.indnkeyatts = 1 AND a.attname = 'id')",
                &[&table],
            )
            .await
            .map_err(transient)?;
        let unique: bool = row.get(0);
        self.unique_id.insert(table.to_string(), unique);
        Ok(unique)
    }

    /// The table's columns, cached after the first look-up.
    async fn table_columns(&mut self, table: &str) -> Result<Vec<String>, SinkError> {
        if let Some(c) = self.columns.get(table) {
            return Ok(c.clone());
        }
        let client = self.connection().await?;
        let rows = client
            .query("SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1", &[&table])
            .await
            .map_err(transient)?;
        let cols: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        if cols.is_empty() {
            return Err(SinkError::Permanent(format!(
                "table {table:?} does not exist in the database"
            )));
        }
        self.columns.insert(table.to_string(), cols.clone());
        Ok(cols)
    }
}

/// Why a group could not be written.
enum GroupError {
    /// The connection failed: every item of the group is retried.
    Broken(SinkError),
    /// A statement failed: the items are written one by one to find it.
    Row,
}

/// One statement per item: the ledger insert, and the row write only when
/// the ledger row is new. `$1` is the row (JSON), `$2` the item id; it returns
/// whether the item was new. An upsert updates the row with this id, else
/// inserts it (an `INSERT .. ON CONFLICT` would check NOT NULL columns the
/// partial row does not carry). Identifiers come from the table catalog.
fn statement_sql(table: &str, cols: &[&str], upsert: bool) -> String {
    let t = format!("\"{table}\"");
    let list = cols
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let led = "led AS (INSERT INTO xbot_applied (item_id) VALUES ($2) ON CONFLICT DO NOTHING RETURNING 1)";
    let rec = format!("r AS (SELECT * FROM json_populate_record(NULL::{t}, $1::json))");
    if !upsert {
        return format!(
            "WITH {led}, {rec}, ins AS (INSERT INTO {t} ({list}) SELECT {list} FROM r WHERE EXISTS (SELECT 1 FROM led) RETURNING 1) \
             SELECT EXISTS (SELECT 1 FROM led)"
        );
    }
    let sets: Vec<String> = cols
        .iter()
        .filter(|c| **c != "id")
        .map(|c| format!("\"{c}\" = r.\"{c}\""))
        .collect();
    let upd = if sets.is_empty() {
        format!("upd AS (SELECT 1 FROM {t}, r WHERE {t}.\"id\" = r.\"id\")")
    } else {
        format!(
            "upd AS (UPDATE {t} SET {} FROM r WHERE {t}.\"id\" = r.\"id\" AND EXISTS (SELECT 1 FROM led) RETURNING 1)",
            sets.join(", ")
        )
    };
    format!(
        "WITH {led}, {rec}, {upd}, ins AS (INSERT INTO {t} ({list}) SELECT {list} FROM r \
         WHERE EXISTS (SELECT 1 FROM led) AND NOT EXISTS (SELECT 1 FROM upd) RETURNING 1) \
         SELECT EXISTS (SELECT 1 FROM led)"
    )
}

/// Connects. `sslmode=disable` is plaintext; otherwise TLS (rustls) with
/// the certificate verified against the public web roots plus, when set,
/// the CA in `PGSSLROOTCERT` (Supabase publishes its own CA certificate).
/// `prefer` (the default) falls back to plaintext only when the server
/// has no TLS at all; `require` never does.
async fn open(url: &str) -> Result<Client, SinkError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| SinkError::Permanent(format!("DATABASE_URL: {e}")))?;
    let log_close = |r: Result<(), tokio_postgres::Error>| {
        if let Err(e) = r {
            tracing::warn!(error = %e, "postgres connection closed");
        }
    };
    if config.get_ssl_mode() == SslMode::Disable {
        let (client, connection) = config.connect(NoTls).await.map_err(transient)?;
        tokio::spawn(async move { log_close(connection.await) });
        return Ok(client);
    }
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config()?);
    let (client, connection) = config.connect(tls).await.map_err(transient)?;
    tokio::spawn(async move { log_close(connection.await) });
    Ok(client)
}

/// rustls client configuration, with libpq's semantics: `prefer`/`require`
/// encrypt without verifying the server certificate; with `PGSSLROOTCERT`
/// (PEM) set, the certificate must chain to that CA or a public web root and
/// be for the host name connected to (libpq's `verify-full`).
fn tls_config() -> Result<rustls::ClientConfig, SinkError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| SinkError::Permanent(format!("TLS: {e}")))?;
    let Some(path) = std::env::var_os("PGSSLROOTCERT") else {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth());
    };
    let bad =
        |e: String| SinkError::Permanent(format!("PGSSLROOTCERT {}: {e}", path.to_string_lossy()));
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in CertificateDer::pem_file_iter(&path).map_err(|e| bad(e.to_string()))? {
        roots
            .add(cert.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// `sslmode=require` without a root certificate: the channel is encrypted and
/// the handshake signatures are checked, but the certificate's issuer is not
/// (exactly what libpq does; set PGSSLROOTCERT to verify it).
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
