//! Redis connections and the script runner.
//!
//! Two rules from the field: every normal command has an explicit response
//! timeout (a hung server must not hang a worker), and a timed-out write is
//! "outcome unknown" — the scripts are written so a retry is safe.

use crate::config::redact_url;
use crate::error::{OpError, OpResult};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::time::Duration;
use xbot_core::keys::KeyContext;
use xbot_core::scripts::SCRIPTS;

/// Response timeout for normal commands.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

/// A connection (reconnecting in the background) plus the loaded scripts.
#[derive(Clone)]
pub struct Redis {
    pub conn: ConnectionManager,
    pub ctx: KeyContext,
    scripts: std::sync::Arc<HashMap<&'static str, redis::Script>>,
}

impl Redis {
    pub async fn connect(url: &str, ctx: KeyContext) -> OpResult<Redis> {
        let connect_err = |source| OpError::Connect {
            url: redact_url(url),
            source,
        };
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
        let scripts = SCRIPTS
            .iter()
            .map(|s| (s.name, redis::Script::new(s.source)))
            .collect();
        Ok(Redis {
            conn,
            ctx,
            scripts: std::sync::Arc::new(scripts),
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
