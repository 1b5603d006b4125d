//! The Postgres (Supabase) sink: each item in one transaction with the
//! `xbot_applied` ledger. Rows are bound as one JSON parameter and expanded by
//! `json_populate_record`; column names come from the table's own catalog
//! (`information_schema.columns`), never from item text, and are quoted.
//! Tables need a primary key `id`. A connection error drops the client; the
//! next item reconnects.

use super::sink::{SinkError, SyncOp};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::Mutex;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};

#[derive(Clone)]
pub struct PgSink {
    url: String,
    allow: Arc<HashSet<String>>,
    client: Arc<Mutex<Option<Client>>>,
    columns: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

/// The server's message and SQLSTATE when there is one (tokio-postgres only says "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("postgres: {} (SQLSTATE {})", d.message(), d.code().code()),
        None => format!("postgres: {e}"),
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
        let sink = PgSink {
            url: url.to_string(),
            allow: Arc::new(allow.iter().cloned().collect()),
            client: Arc::new(Mutex::new(None)),
            columns: Arc::new(Mutex::new(HashMap::new())),
        };
        let mut guard = sink.client.lock().await;
        let client = sink.open().await?;
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS xbot_applied (item_id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            .await
            .map_err(transient)?;
        *guard = Some(client);
        drop(guard);
        Ok(sink)
    }

    /// Connects. `sslmode=disable` is plaintext; otherwise TLS (rustls) with
    /// the certificate verified against the public web roots plus, when set,
    /// the CA in `PGSSLROOTCERT` (Supabase publishes its own CA certificate).
    /// `prefer` (the default) falls back to plaintext only when the server
    /// has no TLS at all; `require` never does.
    async fn open(&self) -> Result<Client, SinkError> {
        let config: tokio_postgres::Config = self
            .url
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

    /// The table's columns, cached after the first look-up.
    async fn table_columns(&self, client: &Client, table: &str) -> Result<Vec<String>, SinkError> {
        if let Some(c) = self.columns.lock().await.get(table) {
            return Ok(c.clone());
        }
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
        self.columns
            .lock()
            .await
            .insert(table.to_string(), cols.clone());
        Ok(cols)
    }

    /// Applies `op` for `item_id` once: `Ok(true)` applied now, `Ok(false)` applied before.
    pub async fn apply(&self, item_id: &str, op: SyncOp) -> Result<bool, SinkError> {
        if !self.allow.contains(&op.table) {
            return Err(SinkError::Permanent(format!(
                "table {:?} is not in XBOT_SYNC_TABLES",
                op.table
            )));
        }
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(self.open().await?);
        }
        let client = guard.as_mut().expect("connected above");
        let result = self.apply_with(client, item_id, &op).await;
        if matches!(&result, Err(SinkError::Transient(_))) {
            *guard = None; // reconnect on the next item
        }
        result
    }

    async fn apply_with(
        &self,
        client: &mut Client,
        item_id: &str,
        op: &SyncOp,
    ) -> Result<bool, SinkError> {
        let table_cols = self.table_columns(client, &op.table).await?;
        if let Some(unknown) = op.row.keys().find(|k| !table_cols.contains(k)) {
            return Err(SinkError::Permanent(format!(
                "table {:?} has no column {unknown:?}",
                op.table
            )));
        }
        // Only the columns the row carries: an upsert never nulls the others.
        let cols: Vec<String> = table_cols
            .iter()
            .filter(|c| op.row.contains_key(*c))
            .map(|c| format!("\"{c}\""))
            .collect();
        let list = cols.join(", ");
        let t = &op.table;
        let insert = format!("INSERT INTO \"{t}\" ({list}) SELECT {list} FROM json_populate_record(NULL::\"{t}\", $1::json)");
        let sets: Vec<String> = cols
            .iter()
            .filter(|c| *c != "\"id\"")
            .map(|c| format!("{c} = r.{c}"))
            .collect();
        let update = format!(
            "UPDATE \"{t}\" SET {} FROM json_populate_record(NULL::\"{t}\", $1::json) r WHERE \"{t}\".\"id\" = r.\"id\"",
            sets.join(", ")
        );
        let tx = client.transaction().await.map_err(transient)?;
        let fresh = tx
            .execute(
                "INSERT INTO xbot_applied (item_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&item_id],
            )
            .await
            .map_err(transient)?;
        if fresh == 0 {
            tx.commit().await.map_err(transient)?;
            return Ok(false); // redelivered: already applied
        }
        let row = Value::Object(op.row.clone());
        // Upsert = update the existing row, else insert it (an INSERT .. ON CONFLICT
        // would check NOT NULL columns the partial row does not carry).
        let updated = if op.upsert && !sets.is_empty() {
            tx.execute(&update, &[&row]).await.map_err(classify)?
        } else {
            0
        };
        if updated == 0 {
            match tx.execute(&insert, &[&row]).await {
                Ok(_) => {}
                // A concurrent insert of the same row: retry, and the retry updates it.
                Err(e) if op.upsert && e.code().map(|c| c.code()) == Some("23505") => {
                    return Err(transient(e))
                }
                Err(e) => return Err(classify(e)),
            }
        }
        tx.commit().await.map_err(transient)?;
        Ok(true)
    }

    pub async fn ping(&self) -> bool {
        let guard = self.client.lock().await;
        if let Some(c) = guard.as_ref().filter(|c| !c.is_closed()) {
            return c.simple_query("SELECT 1").await.is_ok();
        }
        drop(guard);
        self.open().await.is_ok()
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

/// rustls client configuration, with libpq's semantics: `prefer`/`require`
/// encrypt without verifying the server certificate; with `PGSSLROOTCERT`
/// (PEM) set, the certificate must chain to that CA or a public web root
/// (libpq's `verify-ca` when `sslrootcert` is given).
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
