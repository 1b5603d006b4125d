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

/// Response timeout for normal commands.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

/// A connection (reconnecting in the background) plus the loaded scripts.
#[derive(Clone)]
pub struct Redis {
    pub conn: Conn,
    pub ctx: KeyContext,
    scripts: std::sync::Arc<HashMap<&'static str, redis::Script>>,
}

impl Redis {
    /// Connects to `url`; a comma-separated list of node URLs means a Redis Cluster.
    pub async fn connect(url: &str, ctx: KeyContext) -> OpResult<Redis> {
        let connect_err = |source| OpError::Connect {
            url: redact_url(url),
            source,
        };
        let scripts = std::sync::Arc::new(
            SCRIPTS
                .iter()
                .map(|s| (s.name, redis::Script::new(s.source)))
                .collect(),
        );
        if url.contains(',') {
            let nodes: Vec<&str> = url
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect();
            let client = redis::cluster::ClusterClientBuilder::new(nodes)
                .response_timeout(RESPONSE_TIMEOUT)
                .connection_timeout(Duration::from_secs(3))
                .build()
                .map_err(connect_err)?;
            let conn = client.get_async_connection().await.map_err(connect_err)?;
            return Ok(Redis {
                conn: Conn::Cluster(conn),
                ctx,
                scripts,
            });
        }
        let client = redis::Client::open(url).map_err(connect_err)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(connect_err)?;
        Ok(Redis {
            conn: Conn::Single(conn),
            ctx,
            scripts,
        })
    }

    /// True when connected to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }

    /// GET `key`, errors naming the key.
    pub async fn get<T: redis::FromRedisValue>(&self, key: &str) -> OpResult<Option<T>> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.conn.clone())
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
        cmd.query_async(&mut self.conn.clone())
            .await
            .map_err(|source| OpError::Redis {
                what: key.to_string(),
                source,
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
        inv.invoke_async(&mut self.conn.clone()).await
    }
}
