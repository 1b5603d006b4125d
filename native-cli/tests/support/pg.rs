//! A private PostgreSQL database per test, dropped when the test ends.

#![allow(dead_code)]

use std::process::Command;
use tokio_postgres::NoTls;

pub struct TestDb {
    pub admin: String,
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let admin = std::env::var("XBOT_TEST_PG")
            .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/postgres".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("xbot_test_{}_{nanos}", std::process::id());
        let (client, conn) = tokio_postgres::connect(&admin, NoTls)
            .await
            .expect("PostgreSQL must run on 127.0.0.1:5432");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let url = admin
            .rsplit_once('/')
            .map(|(base, _)| format!("{base}/{name}"))
            .unwrap();
        let (db, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(conn);
        db.batch_execute(
            "CREATE TABLE tweets (id text PRIMARY KEY, text text NOT NULL, likes integer DEFAULT 0, posted_at bigint);
             CREATE TABLE bot_config (id text PRIMARY KEY, value jsonb NOT NULL);",
        )
        .await
        .unwrap();
        TestDb { admin, name, url }
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (c, conn) = tokio_postgres::connect(&self.url, NoTls).await.unwrap();
        tokio::spawn(conn);
        c
    }

    /// Cuts every connection to the test database (as a Postgres restart would).
    pub async fn cut_connections(&self) {
        let (c, conn) = tokio_postgres::connect(&self.admin, NoTls).await.unwrap();
        tokio::spawn(conn);
        c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", &[&self.name])
            .await
            .unwrap();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &self.admin,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// `host:port` of a postgres:// URL (`user@host:port/db`) and its address.
pub fn addr(url: &str) -> (String, std::net::SocketAddr) {
    let rest = url.split_once('@').unwrap().1;
    let (hostport, _) = rest.split_once('/').unwrap();
    (hostport.to_string(), hostport.parse().unwrap())
}
