//! `rediss://` with an ACL user: a private redis-server that only speaks TLS
//! (certificate from a CA generated here with openssl) and only lets the user
//! `xbot` in. The CLI and the worker connect through REDIS_CA_CERT; a wrong
//! password, an untrusted certificate and plain TCP are refused with clear
//! errors, and the password is never printed.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{free_port, tls};

const PASSWORD: &str = "s3cret-Pa55word";

/// A CA and a server certificate for 127.0.0.1/localhost, in a fresh directory.
fn certificates() -> PathBuf {
    let dir = tls::cert_dir("tls");
    tls::certificate_authority(&dir, "xbot test CA");
    tls::openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    tls::openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
    dir
}

/// redis-server with TLS only (no plain port), `default` user off, `xbot` on.
struct TlsRedis {
    child: Child,
    port: u16,
    certs: PathBuf,
}

impl TlsRedis {
    fn start() -> TlsRedis {
        let certs = certificates();
        let port = free_port();
        let file = |n: &str| certs.join(n).to_str().unwrap().to_string();
        let child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--tls-cert-file",
                &file("server.crt"),
                "--tls-key-file",
                &file("server.key"),
            ])
            .args([
                "--tls-ca-cert-file",
                &file("ca.crt"),
                "--tls-auth-clients",
                "no",
            ])
            .args(["--save", "", "--appendonly", "no", "--logfile", ""])
            // Config-line arguments: each word is its own argv entry.
            .args(["--user", "default", "off"])
            .args([
                "--user",
                "xbot",
                "on",
                &format!(">{PASSWORD}"),
                "~*",
                "&*",
                "+@all",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "TLS redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsRedis { child, port, certs }
    }

    fn url(&self, password: &str) -> String {
        format!("rediss://xbot:{password}@127.0.0.1:{}", self.port)
    }

    fn ca(&self) -> PathBuf {
        self.certs.join("ca.crt")
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.certs);
    }
}

fn cli(url: &str, ca: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xbot-redis"));
    cmd.args(["--json", "--redis-url", url])
        .args(args)
        .env_remove("REDIS_PREFIX")
        .env_remove("APP_ENV")
        .env_remove("REDIS_CA_CERT");
    if let Some(ca) = ca {
        cmd.env("REDIS_CA_CERT", ca);
    }
    cmd.output().unwrap()
}

/// `xbot-redis queue push sync_to_supabase` of one sync item (JSON).
fn push(url: &str, ca: &Path, data: &str) -> Output {
    cli(
        url,
        Some(ca),
        &[
            "queue",
            "push",
            "sync_to_supabase",
            "--type",
            "tweet_upsert",
            "--data",
            data,
        ],
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn rediss_with_an_acl_user_works_and_never_prints_the_password() {
    let server = TlsRedis::start();
    let url = server.url(PASSWORD);

    let out = cli(&url, Some(&server.ca()), &["health"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let health: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(health["ok"], true);
    assert_eq!(
        health["url"],
        format!("rediss://xbot:***@127.0.0.1:{}", server.port)
    );
    assert!(!all.contains(PASSWORD), "password printed: {all}");

    // The queue protocol over TLS, as the ACL user.
    let push = push(
        &url,
        &server.ca(),
        r#"{"table":"tweets","op":"upsert","row":{"id":"1"}}"#,
    );
    assert!(push.status.success(), "{}", text(&push));
    let stats = cli(
        &url,
        Some(&server.ca()),
        &["queue", "stats", "sync_to_supabase"],
    );
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["ready"], 1);
}

#[test]
fn bad_credentials_untrusted_certificates_and_plain_tcp_are_refused() {
    let server = TlsRedis::start();

    let wrong = cli(
        &server.url("wrong-password"),
        Some(&server.ca()),
        &["health"],
    );
    let all = text(&wrong);
    assert_eq!(wrong.status.code(), Some(1), "{all}");
    assert!(all.contains("REDIS_UNREACHABLE"), "{all}");
    assert!(
        all.to_lowercase().contains("wrongpass") || all.to_lowercase().contains("auth"),
        "the error must say authentication failed: {all}"
    );
    assert!(!all.contains("wrong-password"), "password printed: {all}");

    // Without REDIS_CA_CERT only the public web roots are trusted.
    let untrusted = cli(&server.url(PASSWORD), None, &["health"]);
    let all = text(&untrusted);
    assert_eq!(untrusted.status.code(), Some(1), "{all}");
    assert!(all.to_lowercase().contains("certificate"), "{all}");
    assert!(!all.contains(PASSWORD), "password printed: {all}");

    // Plain TCP to the TLS port does not get through.
    let plain = cli(
        &format!("redis://xbot:{PASSWORD}@127.0.0.1:{}", server.port),
        None,
        &["health"],
    );
    assert_eq!(plain.status.code(), Some(1), "{}", text(&plain));
    assert!(!text(&plain).contains(PASSWORD));

    // A CA file that does not exist is a configuration error naming the file.
    let missing = cli(
        &server.url(PASSWORD),
        Some(Path::new("/nonexistent/ca.pem")),
        &["health"],
    );
    let all = text(&missing);
    assert_ne!(missing.status.code(), Some(0), "{all}");
    assert!(all.contains("/nonexistent/ca.pem"), "{all}");
}

#[test]
fn the_worker_syncs_over_tls() {
    let server = TlsRedis::start();
    let url = server.url(PASSWORD);
    for i in 0..20 {
        let row = format!(
            r#"{{"table":"tweets","op":"upsert","row":{{"id":"t{i}","content":"tls {i}"}}}}"#
        );
        let out = push(&url, &server.ca(), &row);
        assert!(out.status.success(), "{}", text(&out));
    }
    let sqlite = std::env::temp_dir().join(format!("xbot-tls-sink-{}.sqlite3", std::process::id()));
    let _ = std::fs::remove_file(&sqlite);
    let out = Command::new(env!("CARGO_BIN_EXE_xbot-redis"))
        .args(["--json", "worker", "--drain"])
        .env("REDIS_URL", &url)
        .env("REDIS_CA_CERT", server.ca())
        .env("PORT", "0")
        .env("XBOT_SQLITE_PATH", &sqlite)
        .env_remove("REDIS_PREFIX")
        .env_remove("APP_ENV")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains(PASSWORD), "password logged: {all}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["processed"]["sync_to_supabase"], 20, "{summary}");
    assert_eq!(summary["rows"]["tweets"], 20, "{summary}");
    let _ = std::fs::remove_file(&sqlite);
}
