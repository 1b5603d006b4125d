//! A private redis-server per test: started on a free loopback port, killed
//! by PID when dropped. Nothing is saved to disk.

#![allow(dead_code)]

pub mod exact;
pub mod pg;
pub mod proxy;
pub mod tls;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port nothing listens on (right now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> RedisServer {
        Self::spawn(free_port(), extra)
    }

    /// A fresh server on a given port (to simulate a restart).
    pub fn start_on(port: u16) -> RedisServer {
        Self::spawn(port, &[])
    }

    /// A server on a given port with extra arguments (a restart on the same data dir).
    pub fn start_on_with(port: u16, extra: &[&str]) -> RedisServer {
        Self::spawn(port, extra)
    }

    /// The process id, to kill it from a test.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn spawn(port: u16, extra: &[&str]) -> RedisServer {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                // A replica writes the RDB it receives to its dir: never the
                // checkout (extra arguments, given later, may name another).
                "--dir",
                std::env::temp_dir().to_str().unwrap(),
            ])
            .args(["--daemonize", "no", "--logfile", ""])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (scripts/setup.sh installs it)");
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = redis::Client::open(server.url()).unwrap();
        while Instant::now() < deadline {
            if let Ok(mut c) = client.get_connection() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return server;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {port} did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A plain synchronous connection for setting up and inspecting state.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 3-master Redis Cluster on loopback ports, torn down when dropped.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
    dir: std::path::PathBuf,
}

impl RedisCluster {
    /// Three masters, no replicas.
    pub fn start() -> RedisCluster {
        Self::start_shards(3, 0, 2_000)
    }

    /// `masters` masters with `replicas` replicas each; a master is declared
    /// failed after `node_timeout_ms` without an answer.
    pub fn start_shards(masters: usize, replicas: usize, node_timeout_ms: u64) -> RedisCluster {
        let dir = std::env::temp_dir().join(format!(
            "xbot-cluster-{}-{}",
            std::process::id(),
            fastrand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let nodes: Vec<RedisServer> = (0..masters * (1 + replicas))
            .map(|_| {
                let port = free_port();
                let args = Self::node_args(&dir, port, node_timeout_ms);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                RedisServer::start_on_with(port, &args)
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli must be installed");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = RedisCluster { nodes, dir };
        cluster.wait_ok(Duration::from_secs(20));
        cluster.wait_replicas_synced(Duration::from_secs(20));
        cluster
    }

    /// Waits until every replica's link to its master is up (synced).
    pub fn wait_replicas_synced(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        'wait: while Instant::now() < deadline {
            for n in &self.nodes {
                let Ok(mut c) = redis::Client::open(n.url()).unwrap().get_connection() else {
                    continue;
                };
                let info: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(&mut c)
                    .unwrap_or_default();
                if info.contains("role:slave") && !info.contains("master_link_status:up") {
                    std::thread::sleep(Duration::from_millis(50));
                    continue 'wait;
                }
            }
            return;
        }
        panic!("the replicas did not sync");
    }

    /// The arguments of a cluster node (its config file is named by port, so
    /// a restart on the same port finds its identity again).
    fn node_args(dir: &std::path::Path, port: u16, node_timeout_ms: u64) -> Vec<String> {
        let conf = dir.join(format!("nodes-{port}.conf"));
        [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            conf.to_str().unwrap(),
            "--cluster-node-timeout",
            &node_timeout_ms.to_string(),
            "--dir",
            dir.to_str().unwrap(),
            "--appendonly",
            "yes",
            "--appendfilename",
            &format!("aof-{port}.aof"),
            "--appenddirname",
            &format!("aof-{port}"),
            // Replicas sync at once (the default waits 5 s for more replicas).
            "--repl-diskless-sync-delay",
            "0",
            // DEBUG SLEEP from loopback: a test stalls a replica with it.
            "--enable-debug-command",
            "local",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Waits until every running node reports `cluster_state:ok` and agrees
    /// on the slot coverage.
    pub fn wait_ok(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        'wait: while Instant::now() < deadline {
            for n in &self.nodes {
                let Ok(mut c) = redis::Client::open(n.url()).unwrap().get_connection() else {
                    continue; // a killed node
                };
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut c)
                    .unwrap_or_default();
                if !info.contains("cluster_state:ok") {
                    std::thread::sleep(Duration::from_millis(50));
                    continue 'wait;
                }
            }
            return;
        }
        panic!("the cluster did not become ready");
    }

    /// The index of the node that is master of `key`'s slot now.
    pub fn master_of(&self, key: &str) -> usize {
        self.try_master_of(key)
            .unwrap_or_else(|| panic!("no live master owns the slot of {key}"))
    }

    /// Waits until a live node other than `old` is master of `key`'s slot (a
    /// replica was promoted), then for the cluster to be ok.
    pub fn wait_promoted(&self, key: &str, old: usize, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            match self.try_master_of(key) {
                Some(m) if m != old => {
                    self.wait_ok(limit);
                    return m;
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        panic!("no replica was promoted for {key}");
    }

    fn try_master_of(&self, key: &str) -> Option<usize> {
        let slot = xbot_core::effects::key_slot(key);
        for (i, n) in self.nodes.iter().enumerate() {
            let Ok(mut c) = redis::Client::open(n.url()).unwrap().get_connection() else {
                continue;
            };
            let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut c).unwrap();
            if !matches!(role.first(), Some(redis::Value::BulkString(b)) if b == b"master") {
                continue;
            }
            let shards: Vec<Vec<redis::Value>> =
                redis::cmd("CLUSTER").arg("SLOTS").query(&mut c).unwrap();
            let me = n.port as i64;
            for s in shards {
                let (lo, hi) = (
                    redis::from_redis_value::<i64>(s[0].clone()).unwrap(),
                    redis::from_redis_value::<i64>(s[1].clone()).unwrap(),
                );
                let port = match &s[2] {
                    redis::Value::Array(a) => redis::from_redis_value::<i64>(a[1].clone()).unwrap(),
                    _ => -1,
                };
                if (lo..=hi).contains(&(slot as i64)) && port == me {
                    return Some(i);
                }
            }
        }
        None
    }

    /// The index of the replica of master `m`.
    pub fn replica_of(&self, m: usize) -> usize {
        let port = self.nodes[m].port;
        self.nodes
            .iter()
            .position(|n| {
                let info: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(&mut n.conn())
                    .unwrap_or_default();
                info.contains("role:slave") && info.contains(&format!("master_port:{port}\r"))
            })
            .unwrap_or_else(|| panic!("no replica of node {m}"))
    }

    /// Makes node `i` unresponsive for `seconds` (DEBUG SLEEP, from a thread):
    /// a replica stops taking its master's writes meanwhile.
    pub fn stall(&self, i: usize, seconds: f64) -> std::thread::JoinHandle<()> {
        let url = self.nodes[i].url();
        std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let _: redis::RedisResult<()> =
                redis::cmd("DEBUG").arg("SLEEP").arg(seconds).query(&mut c);
        })
    }

    /// SIGKILLs node `i` (its process only; its files stay for a restart).
    pub fn kill(&mut self, i: usize) {
        let _ = self.nodes[i].child.kill();
        let _ = self.nodes[i].child.wait();
    }

    /// Restarts node `i` on its port with its config: it rejoins, as a
    /// replica when its slots were failed over meanwhile.
    pub fn restart(&mut self, i: usize, node_timeout_ms: u64) {
        let port = self.nodes[i].port;
        let args = Self::node_args(&self.dir, port, node_timeout_ms);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.nodes[i] = RedisServer::start_on_with(port, &args);
    }

    /// The node URLs, comma-separated: how xbot-redis is pointed at a cluster.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(RedisServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
}

/// A child process (a worker under test) that is killed when dropped, so a
/// failing test never leaves it running.
pub struct Proc(pub Child);

impl Proc {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// SIGTERM, failing the test if the signal could not be sent (a lost
    /// signal would otherwise hang the wait instead of failing).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM to process {}", self.0.id());
    }

    /// Waits for the exit; the exit code.
    pub fn wait_code(&mut self) -> Option<i32> {
        self.0.wait().unwrap().code()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Already reaped: std knows its status and sends nothing.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `xbot-redis --redis-url URL worker`, ready to spawn: the binary under test
/// (`XBOT_SOAK_BIN` points the crash and fault tests at another build), no
/// prefix or environment inherited, output discarded. Callers add env.
pub fn worker_command(redis_url: &str) -> Command {
    let bin = std::env::var("XBOT_SOAK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_xbot-redis").to_string());
    let mut cmd = Command::new(bin);
    cmd.args(["--redis-url", redis_url, "worker"])
        .env("PORT", "0")
        .env_remove("REDIS_PREFIX")
        .env_remove("APP_ENV")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// A minimal HTTP GET on loopback with a 5 s read timeout: (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split(' ').nth(1)?.parse().ok()?;
    Some((status, raw.split_once("\r\n\r\n")?.1.to_string()))
}

/// Polls `ok` every 25 ms; fails the test naming `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} did not happen within {limit:?}");
}
