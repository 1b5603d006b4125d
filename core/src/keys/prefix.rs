//! Key prefixes and environment profiles.
//!
//! A prefix is one segment plus its colon (`app:`, `stg:`, `prod:`), so a key
//! always reads `{prefix}{family pattern}` and the two can never run together
//! (`stgtweets:recent` is impossible: `stg` without its colon is rejected).

use crate::error::{quoted_char, Error, Quoted, Result};
use serde::Serialize;

/// Where the bot runs. Decides the default prefix and the [`Profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Staging,
    Development,
}

impl Environment {
    /// Parses `APP_ENV`-style names: `production`/`prod`, `staging`/`stg`,
    /// `development`/`dev`/`test`/`local` (case-insensitive).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "production" | "prod" => Ok(Self::Production),
            "staging" | "stg" => Ok(Self::Staging),
            "development" | "dev" | "test" | "local" => Ok(Self::Development),
            _ => Err(Error::InvalidEnv { env: s.into() }),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Staging => "staging",
            Self::Development => "development",
        }
    }
    pub fn default_prefix(self) -> &'static str {
        match self {
            Self::Production => "prod:",
            Self::Staging => "stg:",
            Self::Development => "app:",
        }
    }
    pub fn profile(self) -> Profile {
        match self {
            Self::Production => Profile {
                env: self,
                cache_ttl_factor: 1,
                queue_capacity: 100_000,
            },
            Self::Staging => Profile {
                env: self,
                cache_ttl_factor: 2,
                queue_capacity: 1_000,
            },
            Self::Development => Profile {
                env: self,
                cache_ttl_factor: 1,
                queue_capacity: 10_000,
            },
        }
    }
    pub const ALL: [Environment; 3] = [Self::Production, Self::Staging, Self::Development];
}

/// Per-environment tuning: staging keeps caches longer and queues smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub env: Environment,
    /// Cache-class TTLs (`cache.*`, `tweets.recent`) are multiplied by this.
    pub cache_ttl_factor: u64,
    /// Maximum ready + delayed items per queue before a push is refused.
    pub queue_capacity: u64,
}

/// A validated key prefix: 1-32 of `[A-Za-z0-9_-]` followed by `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Prefix(String);

const MAX_PREFIX_LEN: usize = 32;

impl Prefix {
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: String| Error::InvalidPrefix {
            prefix: s.into(),
            reason,
        };
        let Some(body) = s.strip_suffix(':') else {
            let hint = if s.is_empty() {
                "app:".to_string()
            } else {
                format!("{s}:")
            };
            return Err(bad(format!(
                "a prefix must end with ':' (did you mean {}?)",
                Quoted(&hint)
            )));
        };
        if body.is_empty() {
            return Err(bad("the part before ':' is empty".into()));
        }
        if body.len() > MAX_PREFIX_LEN {
            return Err(bad(format!("longer than {MAX_PREFIX_LEN} characters")));
        }
        if let Some(c) = body
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(bad(format!(
                "character {} is not allowed; use letters, digits, '_' or '-' then one ':'",
                quoted_char(c)
            )));
        }
        Ok(Prefix(s.into()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The environment a well-known prefix belongs to (`prod:`, `stg:`, `app:`).
    pub fn environment(&self) -> Option<Environment> {
        Environment::ALL
            .into_iter()
            .find(|e| e.default_prefix() == self.0)
    }
}

/// The resolved prefix + environment every key is built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyContext {
    pub prefix: Prefix,
    pub env: Environment,
}

impl Default for KeyContext {
    fn default() -> Self {
        KeyContext {
            prefix: Prefix("app:".into()),
            env: Environment::Development,
        }
    }
}

impl KeyContext {
    /// Resolves `REDIS_PREFIX` / `APP_ENV` style inputs.
    ///
    /// - neither: `app:` (development);
    /// - only an environment: its default prefix;
    /// - only a prefix: its environment when well known, else development;
    /// - both: a well-known prefix must belong to that environment
    ///   (`APP_ENV=production` with `REDIS_PREFIX=stg:` is an error).
    pub fn resolve(prefix: Option<&str>, env: Option<&str>) -> Result<Self> {
        let env = env.map(Environment::parse).transpose()?;
        let prefix = prefix.map(Prefix::parse).transpose()?;
        match (prefix, env) {
            (None, None) => Ok(Self::default()),
            (None, Some(env)) => Ok(KeyContext {
                prefix: Prefix(env.default_prefix().into()),
                env,
            }),
            (Some(prefix), None) => {
                let env = prefix.environment().unwrap_or(Environment::Development);
                Ok(KeyContext { prefix, env })
            }
            (Some(prefix), Some(env)) => match prefix.environment() {
                Some(pe) if pe != env => Err(Error::PrefixEnvMismatch {
                    prefix: prefix.0,
                    prefix_env: pe.name().into(),
                    env: env.name().into(),
                }),
                _ => Ok(KeyContext { prefix, env }),
            },
        }
    }
    pub fn profile(&self) -> Profile {
        self.env.profile()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution() {
        let c = KeyContext::resolve(None, None).unwrap();
        assert_eq!(
            (c.prefix.as_str(), c.env),
            ("app:", Environment::Development)
        );
        let c = KeyContext::resolve(None, Some("Production")).unwrap();
        assert_eq!(
            (c.prefix.as_str(), c.env),
            ("prod:", Environment::Production)
        );
        let c = KeyContext::resolve(Some("stg:"), None).unwrap();
        assert_eq!(c.env, Environment::Staging);
        let c = KeyContext::resolve(Some("tenant-7:"), Some("staging")).unwrap();
        assert_eq!(
            (c.prefix.as_str(), c.env),
            ("tenant-7:", Environment::Staging)
        );
        let e = KeyContext::resolve(Some("stg:"), Some("production")).unwrap_err();
        assert_eq!(e.code(), "PREFIX_ENV_MISMATCH");
        assert_eq!(
            KeyContext::resolve(None, Some("qa")).unwrap_err().code(),
            "INVALID_ENV"
        );
    }

    #[test]
    fn malformed_prefixes() {
        for p in [
            "stg",
            "",
            ":",
            "a:b:",
            "st g:",
            "x".repeat(33).as_str(),
            "é:",
        ] {
            let p = if p == "x".repeat(33) {
                format!("{p}:")
            } else {
                p.to_string()
            };
            let e = Prefix::parse(&p).unwrap_err();
            assert_eq!(e.code(), "INVALID_PREFIX", "{p:?}");
        }
        assert!(Prefix::parse("stg")
            .unwrap_err()
            .to_string()
            .contains("did you mean \"stg:\""));
    }
}
