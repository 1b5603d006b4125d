//! TLS to Postgres (this machine's PostgreSQL has ssl=on with a self-signed
//! certificate): `require` encrypts, a configured root CA is enforced.
//! Its own test binary, because PGSSLROOTCERT is process-wide.

mod support;

use support::pg::TestDb;
use support::tls;
use xbot_redis::worker::postgres::PgSink;

#[tokio::test]
async fn require_encrypts_and_a_root_ca_is_enforced() {
    let db = TestDb::create().await;
    let allow = ["tweets".to_string()];
    let with_mode = |mode: &str| format!("{}?sslmode={mode}", db.url);
    // require: encrypted (libpq semantics: the issuer is not checked without a root CA).
    let sink = PgSink::connect(&with_mode("require"), &allow)
        .await
        .unwrap();
    assert!(sink.ping().await);
    let c = db.client().await;
    let encrypted: i64 = c.query_one("SELECT COUNT(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE datname = $1 AND ssl", &[&db.name]).await.unwrap().get(0);
    assert!(encrypted >= 1, "the sink's connection uses TLS");
    assert!(PgSink::connect(&with_mode("disable"), &allow).await.is_ok());

    // With PGSSLROOTCERT naming a CA that did not sign the server's certificate, the connection is refused.
    let dir = tls::cert_dir("pg-ca");
    let cert = tls::certificate_authority(&dir, "not-the-server-ca");
    std::env::set_var("PGSSLROOTCERT", &cert);
    let refused = PgSink::connect(&with_mode("require"), &allow).await;
    std::env::remove_var("PGSSLROOTCERT");
    let _ = std::fs::remove_dir_all(&dir);
    let e = refused
        .err()
        .expect("an untrusted server certificate is refused");
    assert!(
        e.to_string().to_lowercase().contains("certificate")
            || e.to_string().contains("tls")
            || e.to_string().contains("TLS"),
        "{e}"
    );

    // The right CA (the server's own self-signed certificate, for
    // `localhost`): accepted when the host matches the certificate, refused
    // for another name (the host name is verified too: libpq's verify-full).
    let server_cert: String = c.query_one("SHOW ssl_cert_file", &[]).await.unwrap().get(0);
    std::env::set_var("PGSSLROOTCERT", &server_cert);
    let by_name = with_mode("require").replacen("@127.0.0.1:", "@localhost:", 1);
    let trusted = PgSink::connect(&by_name, &allow).await;
    let wrong_name = PgSink::connect(&with_mode("require"), &allow).await;
    std::env::remove_var("PGSSLROOTCERT");
    let trusted = trusted.expect("the right CA and host name are accepted");
    assert!(trusted.ping().await);
    let e = wrong_name
        .err()
        .expect("a certificate for another host name is refused");
    assert!(
        e.to_string().to_lowercase().contains("name") || e.to_string().contains("certificate"),
        "{e}"
    );

    // prefer (libpq's default): encrypted when the server offers TLS.
    let before: i64 = c.query_one("SELECT COUNT(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE datname = $1 AND ssl", &[&db.name]).await.unwrap().get(0);
    let preferring = PgSink::connect(&with_mode("prefer"), &allow).await.unwrap();
    assert!(preferring.ping().await);
    let after: i64 = c.query_one("SELECT COUNT(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE datname = $1 AND ssl", &[&db.name]).await.unwrap().get(0);
    assert!(
        after > before,
        "prefer encrypted its connection ({before} -> {after})"
    );
}
