//! The Redis protocol: one Lua script per state transition, kept here as text
//! so the Rust runner and the TypeScript bot (ioredis `defineCommand`) run the
//! very same scripts. Each file starts with a header listing KEYS and ARGV.
//!
//! Rules every script follows: all keys come through KEYS (and share one hash
//! tag, so one Cluster slot); arguments are validated before the first write
//! (Lua does not roll back); work per call is bounded; time is the server's
//! (`TIME`), so workers' clocks never disagree about leases.

use serde::Serialize;

/// One script: its name, how many KEYS it takes, and its source.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LuaScript {
    pub name: &'static str,
    pub number_of_keys: usize,
    /// True when the script never writes (safe on replicas, `EVALSHA_RO`).
    pub read_only: bool,
    pub source: &'static str,
}

macro_rules! script {
    ($name:literal, $keys:literal, $ro:literal) => {
        LuaScript {
            name: $name,
            number_of_keys: $keys,
            read_only: $ro,
            source: include_str!(concat!($name, ".lua")),
        }
    };
    // A script in two files: its own (header, forward declarations, `main`),
    // then a tail it shares with others (e.g. `effect_once.lua`).
    ($name:literal, $keys:literal, tail $tail:literal) => {
        LuaScript {
            name: $name,
            number_of_keys: $keys,
            read_only: false,
            source: concat!(include_str!(concat!($name, ".lua")), include_str!($tail)),
        }
    };
    // An effect script: its own file (header, `invalid()`, `apply()`), then
    // the shared once-per-effect-id tail (`effect_once.lua`).
    ($name:literal, $keys:literal, effect) => {
        script!($name, $keys, tail "effect_once.lua")
    };
}

/// Every script, by name.
pub static SCRIPTS: &[LuaScript] = &[
    script!("queue_push", 7, tail "queue_push_common.lua"),
    script!("queue_push_many", 7, tail "queue_push_common.lua"),
    script!("migrate_push", 8, false),
    script!("migrate_counter", 1, false),
    script!("queue_reserve", 7, false),
    script!("queue_reserve_many", 7, tail "queue_settle.lua"),
    script!("queue_ack", 7, false),
    script!("queue_fail", 7, tail "queue_settle.lua"),
    script!("queue_extend", 7, false),
    script!("queue_reap", 7, false),
    script!("queue_requeue", 7, false),
    script!("queue_release", 7, tail "queue_settle.lua"),
    script!("queue_promote", 7, false),
    script!("queue_stats", 7, true),
    script!("queue_plan", 7, false),
    script!("queue_trash", 9, tail "queue_trash_common.lua"),
    script!("queue_restore", 9, tail "queue_trash_common.lua"),
    script!("lock_acquire", 2, false),
    script!("lock_release", 1, false),
    script!("lock_extend", 1, false),
    script!("ratelimit_hit", 1, false),
    script!("bandit_update", 2, false),
    script!("stats_incr", 1, false),
    script!("recent_push", 1, false),
    script!("effect_stats", 2, effect),
    script!("effect_bandit", 3, effect),
];

/// A script by name.
pub fn get(name: &str) -> Option<&'static LuaScript> {
    SCRIPTS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_keys_agree() {
        for s in SCRIPTS {
            assert!(
                s.source.starts_with(&format!("-- {}:", s.name)),
                "{} header",
                s.name
            );
            for n in 1..=s.number_of_keys {
                assert!(
                    s.source.contains(&format!("KEYS[{n}]")),
                    "{} documents KEYS[{n}]",
                    s.name
                );
            }
            assert!(
                !s.source
                    .contains(&format!("KEYS[{}]", s.number_of_keys + 1)),
                "{} uses an undeclared key",
                s.name
            );
            let lower = s.source.to_lowercase();
            assert!(
                !lower.contains("'keys'") && !lower.contains("\"keys\""),
                "{} must never call KEYS",
                s.name
            );
            // Keys are never built inside a script (Cluster needs them declared in KEYS).
            assert!(!s.source.contains(".. ':queue"), "{} builds a key", s.name);
        }
    }
}
