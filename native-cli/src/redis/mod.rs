//! Redis connections and the script runner.
//!
//! Two rules from the field: every normal command has an explicit response
//! timeout (a hung server must not hang a worker), and a timed-out write is
//! "outcome unknown" — the scripts are written so a retry is safe.

use crate::config::redact_url;
use crate::error::{OpError, OpResult};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use std::collections::HashMap;
use std::time::Duration;
use xbot_core::keys::KeyContext;
use xbot_core::scripts::SCRIPTS;

/// One Redis, or a Redis Cluster (every script's keys share one hash slot, so
/// each script runs on the node that owns it).
#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }
    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }
    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl Conn {
    /// PING round trip in milliseconds (fractional).
    pub async fn ping_ms(&mut self) -> Result<f64, redis::RedisError> {
        let started = std::time::Instant::now();
        let _: String = redis::cmd("PING").query_async(self).await?;
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    }
}

/// Response timeout for normal commands.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

/// On a Cluster, the time one request may take with its retries (a failover
/// moves its slots meanwhile).
pub const CLUSTER_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to connect: the state Redis, an optional cache Redis, and the CA
/// that signs their TLS certificates.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// `redis://` or `rediss://` (TLS) URL, with `user:password@` for ACL users;
    /// a comma-separated list of node URLs means a Redis Cluster.
    pub url: String,
    /// `REDIS_CACHE_URL`: cache families (see `Family::is_cache`) go here.
    pub cache_url: Option<String>,
    /// `REDIS_CA_CERT`: PEM file of the CA to trust for `rediss://` instead
    /// of the public web roots (a private or self-signed CA).
    pub ca_cert: Option<std::path::PathBuf>,
    /// `XBOT_REDIS_WAIT_REPLICAS`: durable mode (0 = off).
    pub wait_replicas: u32,
}

/// Durable mode: writes that must survive a failover (pushes, effect plans,
/// effects) return only once `replicas` replicas have them (`WAIT`); a write
/// not replicated within `timeout` is an error, so the caller retries it
/// (every such write is idempotent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Durable {
    pub replicas: u32,
    pub timeout: Duration,
}

/// How long durable mode waits for replicas before reporting an error.
pub const WAIT_TIMEOUT: Duration = Duration::from_millis(1_000);

impl Endpoints {
    pub fn new(url: &str) -> Endpoints {
        Endpoints {
            url: url.to_string(),
            ..Endpoints::default()
        }
    }
}

/// A node that holds keys: the one Redis, or a Cluster master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Single,
    Master { host: String, port: u16 },
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Single => f.write_str("redis"),
            Node::Master { host, port } => write!(f, "master {host}:{port}"),
        }
    }
}

/// The masters of `CLUSTER NODES` output, in address order.
fn parse_masters(text: &str) -> OpResult<Vec<Node>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(addr), Some(flags)) = (fields.get(1), fields.get(2)) else {
            continue;
        };
        let flags: Vec<&str> = flags.split(',').collect();
        if !flags.contains(&"master") {
            continue;
        }
        // `ip:port@cport[,hostname]`
        let hostport = addr.split(['@', ',']).next().unwrap_or("");
        let Some((host, port)) = hostport.rsplit_once(':') else {
            continue;
        };
        if flags
            .iter()
            .any(|f| matches!(*f, "fail" | "fail?" | "noaddr" | "handshake"))
        {
            return Err(OpError::Config(format!(
                "cluster master {hostport} is {}: a walk of the keyspace would miss its keys; retry once the cluster is healthy",
                flags.join(",")
            )));
        }
        // A master that owns no slots (all fields past the 8th are slot ranges) holds no keys.
        if fields.len() <= 8 {
            continue;
        }
        let port = port
            .parse()
            .map_err(|_| OpError::Config(format!("CLUSTER NODES: bad address {hostport}")))?;
        out.push(Node::Master {
            host: host.to_string(),
            port,
        });
    }
    out.sort_by_key(|a| a.to_string());
    if out.is_empty() {
        return Err(OpError::Config(
            "CLUSTER NODES lists no master with slots".into(),
        ));
    }
    Ok(out)
}

/// Connections (reconnecting in the background) plus the loaded scripts.
#[derive(Clone)]
pub struct Redis {
    /// The state Redis: queues, locks, dedup, counters, bandits.
    pub conn: Conn,
    /// The cache Redis when `REDIS_CACHE_URL` is set.
    cache: Option<Conn>,
    pub ctx: KeyContext,
    scripts: std::sync::Arc<HashMap<&'static str, redis::Script>>,
    /// Durable mode, when on.
    pub durable: Option<Durable>,
    /// Durable mode's own connections (round robin): a `WAIT` blocks its
    /// connection until the replicas answer, which must not hold up the
    /// lease extensions, acks and reservations on `conn`.
    durable_conns: std::sync::Arc<[Conn]>,
    durable_next: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Cut-over compatibility with the bot's legacy keys (`XBOT_LEGACY_COMPAT`):
    /// the prefixes of its posting lock, or `None` when off.
    pub legacy: Option<std::sync::Arc<[xbot_core::keys::Prefix]>>,
}

/// Connections durable writes are spread over.
const DURABLE_CONNECTIONS: usize = 4;

impl Redis {
    /// Connects to `url`; a comma-separated list of node URLs means a Redis Cluster.
    pub async fn connect(url: &str, ctx: KeyContext) -> OpResult<Redis> {
        Redis::open(&Endpoints::new(url), ctx).await
    }

    /// Connects to the state Redis and, when configured, the cache Redis.
    pub async fn open(ep: &Endpoints, ctx: KeyContext) -> OpResult<Redis> {
        let tls = match &ep.ca_cert {
            None => None,
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                OpError::Config(format!("cannot read REDIS_CA_CERT {}: {e}", path.display()))
            })?),
        };
        let legacy =
            xbot_core::legacy::parse_compat(std::env::var("XBOT_LEGACY_COMPAT").ok().as_deref())
                .map_err(|e| OpError::Config(format!("XBOT_LEGACY_COMPAT: {e}")))?;
        let conn = open_conn(&ep.url, tls.as_deref()).await?;
        let cache = match &ep.cache_url {
            Some(url) => Some(open_conn(url, tls.as_deref()).await?),
            None => None,
        };
        let scripts = std::sync::Arc::new(
            SCRIPTS
                .iter()
                .map(|s| (s.name, redis::Script::new(s.source)))
                .collect(),
        );
        let mut durable_conns = Vec::new();
        if ep.wait_replicas > 0 {
            for _ in 0..DURABLE_CONNECTIONS {
                durable_conns.push(open_conn(&ep.url, tls.as_deref()).await?);
            }
        }
        Ok(Redis {
            conn,
            cache,
            ctx,
            scripts,
            durable: (ep.wait_replicas > 0).then_some(Durable {
                replicas: ep.wait_replicas,
                timeout: WAIT_TIMEOUT,
            }),
            durable_conns: durable_conns.into(),
            durable_next: Default::default(),
            legacy: legacy.map(Into::into),
        })
    }

    /// The connection that holds `key`: the cache Redis for cache families
    /// when one is configured, the state Redis otherwise.
    pub fn conn_for(&self, key: &str) -> Conn {
        match &self.cache {
            Some(cache) if xbot_core::keys::is_cache_key(key, &self.ctx.prefix) => cache.clone(),
            _ => self.conn.clone(),
        }
    }

    /// The cache Redis, when `REDIS_CACHE_URL` configured one.
    pub fn cache_conn(&self) -> Option<Conn> {
        self.cache.clone()
    }

    /// True when connected to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }

    /// GET `key`, errors naming the key.
    pub async fn get<T: redis::FromRedisValue>(&self, key: &str) -> OpResult<Option<T>> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.conn_for(key))
            .await
            .map_err(|source| OpError::Redis {
                what: key.to_string(),
                source,
            })
    }

    /// SET `key` to `value`, with `EX ttl_seconds` when given; errors naming the key.
    pub async fn set(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> OpResult<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value);
        if let Some(ttl) = ttl_seconds {
            cmd.arg("EX").arg(ttl);
        }
        cmd.query_async(&mut self.conn_for(key))
            .await
            .map_err(|source| OpError::Redis {
                what: key.to_string(),
                source,
            })
    }

    /// Runs a protocol script whose write must survive a failover. Without
    /// durable mode, as [`script`](Self::script). In durable mode, one
    /// pipeline on the connection to the node that holds the keys: the
    /// script, a bump of the slot's fence (`durable:{<tag>}`, a write that
    /// always replicates), then `WAIT`. `WAIT` covers every write this
    /// connection made, so the fence makes it cover the script's effect even
    /// when the script changed nothing (a retried push that finds its item
    /// already stored by an earlier call, on another connection): the replica
    /// has the node's whole history up to the fence. Too few replicas in
    /// time is `NotReplicated`; the caller retries (these scripts are
    /// idempotent).
    pub async fn script_durable<T: redis::FromRedisValue>(
        &self,
        name: &'static str,
        keys: &[String],
        args: &[String],
    ) -> OpResult<T> {
        let first = keys.first().map(String::as_str).unwrap_or("");
        let redis_err = |source| OpError::Redis {
            what: format!("{name} on {first}"),
            source,
        };
        let Some(d) = self.durable else {
            return self.script(name, keys, args).await.map_err(redis_err);
        };
        let tag = xbot_core::effects::hash_tag(first).unwrap_or(first);
        let fence = format!("{}durable:{{{tag}}}", self.ctx.prefix.as_str());
        let mut pipe = redis::pipe();
        pipe.cmd("EVAL")
            .arg(
                xbot_core::scripts::get(name)
                    .expect("a protocol script")
                    .source,
            )
            .arg(keys.len())
            .arg(keys)
            .arg(args);
        pipe.cmd("INCR").arg(&fence);
        pipe.cmd("EXPIRE").arg(&fence).arg(86_400);
        pipe.cmd("WAIT")
            .arg(d.replicas)
            .arg(d.timeout.as_millis() as u64);
        // Durable writes are state (queues, plans, effects): never the cache Redis.
        let n = self
            .durable_next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let conn = self.durable_conns[n % self.durable_conns.len()].clone();
        let replies = match conn {
            Conn::Single(mut c) => c.req_packed_commands(&pipe, 0, 4).await,
            Conn::Cluster(mut c) => {
                use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
                let route = SingleNodeRoutingInfo::SpecificNode(Route::new(
                    xbot_core::effects::key_slot(first),
                    SlotAddr::Master,
                ));
                c.route_pipeline(pipe, 0, 4, route).await
            }
        }
        .map_err(redis_err)?;
        let mut replies = replies.into_iter();
        let (Some(result), Some(acked)) = (replies.next(), replies.nth(2)) else {
            return Err(OpError::Protocol {
                script: name,
                detail: "durable pipeline: missing replies".into(),
            });
        };
        let result = result.extract_error().map_err(redis_err)?;
        let acked = match acked.extract_error().map_err(redis_err)? {
            Value::Int(n) => n,
            other => {
                return Err(OpError::Protocol {
                    script: "WAIT",
                    detail: format!("{other:?}"),
                })
            }
        };
        if acked < i64::from(d.replicas) {
            return Err(OpError::NotReplicated {
                key: first.to_string(),
                acked: acked.max(0) as u32,
                wanted: d.replicas,
            });
        }
        T::from_redis_value(result).map_err(|e| redis_err(e.into()))
    }

    /// The nodes that hold keys: the one Redis, or every master of a
    /// Cluster (from `CLUSTER NODES`; a master marked failed is an error —
    /// walking the others would leave a silent gap).
    pub async fn nodes(&self) -> OpResult<Vec<Node>> {
        let Conn::Cluster(mut c) = self.conn.clone() else {
            return Ok(vec![Node::Single]);
        };
        let text: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(&mut c)
            .await
            .map_err(|source| OpError::Redis {
                what: "CLUSTER NODES".into(),
                source,
            })?;
        parse_masters(&text)
    }

    /// Sends `pipe` to `node` (on a Cluster, to that master by address).
    pub async fn node_pipeline(&self, node: &Node, pipe: &Pipeline) -> OpResult<Vec<Value>> {
        let n = pipe.len();
        let replies = match (node, self.conn.clone()) {
            (Node::Single, mut c) => c.req_packed_commands(pipe, 0, n).await,
            (Node::Master { host, port }, Conn::Cluster(mut c)) => {
                use redis::cluster_routing::SingleNodeRoutingInfo;
                let route = SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                };
                c.route_pipeline(pipe.clone(), 0, n, route).await
            }
            (Node::Master { .. }, Conn::Single(_)) => unreachable!("masters come from a Cluster"),
        };
        replies.map_err(|source| OpError::Redis {
            what: format!("pipeline on {node}"),
            source,
        })
    }

    /// One SCAN step on `node`: the next cursor and a batch of keys.
    pub async fn node_scan(
        &self,
        node: &Node,
        cursor: u64,
        pattern: &str,
        count: usize,
    ) -> OpResult<(u64, Vec<String>)> {
        let mut pipe = redis::pipe();
        pipe.cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count);
        let reply = self.node_pipeline(node, &pipe).await?.pop();
        let reply = reply.unwrap_or(Value::Nil);
        let reply = reply.extract_error().map_err(|source| OpError::Redis {
            what: format!("SCAN on {node}"),
            source,
        })?;
        redis::from_redis_value(reply).map_err(|e| OpError::Redis {
            what: format!("SCAN on {node}"),
            source: e.into(),
        })
    }

    /// Runs a protocol script by name (EVALSHA, loading it on NOSCRIPT).
    pub async fn script<T: redis::FromRedisValue>(
        &self,
        name: &'static str,
        keys: &[String],
        args: &[String],
    ) -> Result<T, redis::RedisError> {
        let script = &self.scripts[name];
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(k);
        }
        for a in args {
            inv.arg(a);
        }
        // All keys of a script share a family group, so the first one routes it.
        let mut conn = keys
            .first()
            .map_or_else(|| self.conn.clone(), |k| self.conn_for(k));
        inv.invoke_async(&mut conn).await
    }
}

/// One connection: a Cluster for a comma-separated list, else a single Redis;
/// `rediss://` uses TLS, trusting `ca_pem` when given.
async fn open_conn(url: &str, ca_pem: Option<&[u8]>) -> OpResult<Conn> {
    // A URL that does not parse is bad input (exit 2), not an unreachable server.
    let connect_err = |source: redis::RedisError| {
        if source.kind() == redis::ErrorKind::InvalidClientConfig {
            return OpError::Config(format!(
                "invalid Redis URL {} (REDIS_URL / --redis-url): {source}; expected \
                 redis://[user:password@]host:port[/db], rediss://… for TLS, or node URLs \
                 separated by commas for a Cluster",
                redact_url(url)
            ));
        }
        OpError::Connect {
            url: redact_url(url),
            source,
        }
    };
    let certs = || redis::TlsCertificates {
        client_tls: None,
        root_cert: ca_pem.map(<[u8]>::to_vec),
    };
    if url.contains(',') {
        let nodes: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        // A failover takes the cluster a few seconds (node timeout + election):
        // a request retries quickly (50 ms doubling to 1 s, refreshing the
        // slot map from the surviving nodes) for up to 10 s overall, while
        // each attempt keeps the normal response timeout.
        let mut builder = redis::cluster::ClusterClientBuilder::new(nodes)
            .response_timeout(RESPONSE_TIMEOUT)
            .overall_response_timeout(Some(CLUSTER_REQUEST_TIMEOUT))
            .retries(16)
            .min_retry_wait(50)
            .max_retry_wait(1_000)
            .retry_wait_formula(50, 2)
            .connection_timeout(Duration::from_secs(3));
        if ca_pem.is_some() {
            builder = builder.certs(certs());
        }
        let client = builder.build().map_err(connect_err)?;
        let conn = client.get_async_connection().await.map_err(connect_err)?;
        return Ok(Conn::Cluster(conn));
    }
    let client = match ca_pem {
        Some(_) if url.starts_with("rediss://") => redis::Client::build_with_tls(url, certs()),
        _ => redis::Client::open(url),
    }
    .map_err(connect_err)?;
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(2));
    let conn = client
        .get_connection_manager_with_config(config)
        .await
        .map_err(connect_err)?;
    Ok(Conn::Single(conn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masters_of_cluster_nodes() {
        let text = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7002@17002,host-b master - 0 0 2 connected 5461-10922
c3 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383
d4 127.0.0.1:7004@17004 slave a1 0 0 1 connected
e5 127.0.0.1:7005@17005 master - 0 0 0 connected
";
        let got = parse_masters(text).unwrap();
        assert_eq!(
            got.iter().map(Node::to_string).collect::<Vec<_>>(),
            [
                "master 127.0.0.1:7001",
                "master 127.0.0.1:7002",
                "master 127.0.0.1:7003"
            ]
        );
        let failed = text.replace(
            "b2 127.0.0.1:7002@17002,host-b master",
            "b2 127.0.0.1:7002@17002 master,fail",
        );
        let err = parse_masters(&failed).unwrap_err().to_string();
        assert!(
            err.contains("127.0.0.1:7002") && err.contains("fail"),
            "{err}"
        );
    }
}
