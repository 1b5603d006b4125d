//! JS object shapes (generated into `index.d.ts`) and their conversions from core types.

use napi::bindgen_prelude::{Either, Null};
use napi_derive::napi;
use std::collections::HashMap;
use xbot_core::{bandit, keys, queue, scripts};

/// `null` (not `undefined`) for an absent number, as the wasm package returns.
/// (Spelled out as `Either<f64, Null>` in signatures: napi writes the Rust type into `index.d.ts`.)
pub fn or_null(v: Option<u64>) -> Either<f64, Null> {
    v.map_or(Either::B(Null), |n| Either::A(n as f64))
}

/// Where keys live: `prefix` (`app:`, `stg:`, `prod:` or your own, ending in `:`)
/// and/or `env` (`production`, `staging`, `development`).
#[napi(object)]
#[expect(dead_code, reason = "TypeScript shape only; xbot_core::args reads it")]
pub struct KeyOptions {
    pub prefix: Option<String>,
    pub env: Option<String>,
}

/// A built key with its family, TTL (`null` = never expires) and Redis type.
#[napi(object)]
pub struct BuiltKey {
    pub key: String,
    pub family: String,
    pub ttl_seconds: Either<f64, Null>,
    pub redis_type: String,
}

impl From<keys::BuiltKey> for BuiltKey {
    fn from(b: keys::BuiltKey) -> Self {
        BuiltKey {
            key: b.key,
            family: b.family.into(),
            ttl_seconds: or_null(b.ttl_seconds),
            redis_type: b.redis_type.as_str().into(),
        }
    }
}

/// The family, parameters and prefix of a classified key.
#[napi(object)]
pub struct ClassifiedKey {
    pub family: String,
    pub params: HashMap<String, String>,
    pub prefix: String,
}

impl From<keys::Classified> for ClassifiedKey {
    fn from(c: keys::Classified) -> Self {
        ClassifiedKey {
            family: c.family.into(),
            params: c.params.into_iter().collect(),
            prefix: c.prefix,
        }
    }
}

/// One parameter of a key family.
#[napi(object)]
pub struct ParamInfo {
    pub name: String,
    pub format: String,
    pub example: String,
}

/// TTL of a family per environment (`null` = never expires).
#[napi(object)]
pub struct TtlByEnv {
    pub production: Either<f64, Null>,
    pub staging: Either<f64, Null>,
    pub development: Either<f64, Null>,
}

/// One key family of the catalog.
#[napi(object)]
pub struct CatalogEntry {
    pub name: String,
    /// `{prefix}` + pattern; `{{`/`}}` are literal hash-tag braces.
    pub pattern: String,
    pub params: Vec<ParamInfo>,
    pub redis_type: String,
    pub ttl_seconds: Either<f64, Null>,
    pub ttl_seconds_by_env: TtlByEnv,
    /// `short` (< 1h), `medium` (1-24h), `long` (1-7d) or `none`.
    pub ttl_class: String,
    pub hash_tag: bool,
    pub purpose: String,
    pub example: String,
}

impl From<keys::CatalogEntry> for CatalogEntry {
    fn from(e: keys::CatalogEntry) -> Self {
        CatalogEntry {
            name: e.name.into(),
            pattern: e.pattern,
            params: e
                .params
                .into_iter()
                .map(|p| ParamInfo {
                    name: p.name.into(),
                    format: p.format.into(),
                    example: p.example.into(),
                })
                .collect(),
            redis_type: e.redis_type.as_str().into(),
            ttl_seconds: or_null(e.ttl_seconds),
            ttl_seconds_by_env: TtlByEnv {
                production: or_null(e.ttl_seconds_by_env.production),
                staging: or_null(e.ttl_seconds_by_env.staging),
                development: or_null(e.ttl_seconds_by_env.development),
            },
            ttl_class: e.ttl_class.as_str().into(),
            hash_tag: e.hash_tag,
            purpose: e.purpose.into(),
            example: e.example,
        }
    }
}

/// The fields a queue score encodes.
#[napi(object)]
pub struct DecodedScore {
    pub priority: f64,
    pub enqueued_at_ms: f64,
    pub seq: f64,
}

impl From<queue::DecodedScore> for DecodedScore {
    fn from(d: queue::DecodedScore) -> Self {
        DecodedScore {
            priority: d.priority as f64,
            enqueued_at_ms: d.enqueued_at_ms as f64,
            seq: d.seq as f64,
        }
    }
}

/// A bandit arm: an id and its Beta(alpha, beta) posterior.
#[napi(object)]
#[expect(dead_code, reason = "TypeScript shape only; xbot_core::args reads it")]
pub struct Arm {
    pub id: String,
    pub alpha: f64,
    pub beta: f64,
}

/// The chosen arm, its index, and one draw per arm in input order.
#[napi(object)]
pub struct Selection {
    pub id: String,
    pub index: u32,
    pub samples: Vec<f64>,
}

impl From<bandit::Selection> for Selection {
    fn from(s: bandit::Selection) -> Self {
        Selection {
            id: s.id,
            index: s.index as u32,
            samples: s.samples,
        }
    }
}

/// Logistic-regression coefficients: `{bias, weights: {feature: weight}}`.
#[napi(object)]
#[expect(dead_code, reason = "TypeScript shape only; xbot_core::args reads it")]
pub struct LogisticWeights {
    pub bias: Option<f64>,
    pub weights: HashMap<String, f64>,
}

/// One Lua script of the protocol. Its header comment lists KEYS and ARGV.
#[napi(object)]
pub struct LuaScript {
    pub name: String,
    pub number_of_keys: u32,
    /// Never writes (may run with `EVALSHA_RO` on a replica).
    pub read_only: bool,
    pub source: String,
}

impl From<&scripts::LuaScript> for LuaScript {
    fn from(s: &scripts::LuaScript) -> Self {
        LuaScript {
            name: s.name.into(),
            number_of_keys: s.number_of_keys as u32,
            read_only: s.read_only,
            source: s.source.into(),
        }
    }
}
