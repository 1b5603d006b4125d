//! Walking the keyspace: `audit` (classify every key under the prefix) and
//! `cleanup` (delete keys matching a pattern). Both use SCAN in batches —
//! never KEYS, which blocks Redis for the whole walk.

use crate::error::{OpError, OpResult};
use crate::redis::{Node, Redis};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use xbot_core::keys::{classify_key, Family, Prefix, TtlClass};
use xbot_core::legacy::classify_legacy;

/// Keys per SCAN call (a hint to Redis) and per pipeline.
const BATCH: usize = 500;
/// Keys per family whose memory is measured (MEMORY USAGE is O(size)).
const MEMORY_SAMPLES: usize = 20;
/// Examples kept per finding.
const EXAMPLES: usize = 10;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilyReport {
    pub keys: u64,
    /// Average bytes per key over the sampled keys, times the count.
    pub estimated_bytes: u64,
    pub sampled: u64,
    /// Keys of a family that requires a TTL but have none (they would live forever).
    pub missing_ttl: u64,
    /// Keys whose Redis type differs from the catalog's.
    pub wrong_type: u64,
    pub examples_missing_ttl: Vec<String>,
    pub examples_wrong_type: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    pub prefix: String,
    pub scanned: u64,
    pub families: BTreeMap<&'static str, FamilyReport>,
    /// Keys under the prefix that the bot's legacy code wrote, per legacy
    /// family (`xbot-redis migrate plan` tells what to do with them).
    pub legacy: BTreeMap<&'static str, u64>,
    pub unknown_keys: u64,
    pub examples_unknown: Vec<String>,
    /// Total keys that need attention (unknown, legacy, missing TTL, wrong type).
    pub problems: u64,
}

pub(crate) fn spinner(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} keys ({per_sec})")
            .expect("valid template"),
    );
    bar.set_message(what.to_string());
    bar
}

/// SCANs `pattern` on every node (the one Redis, or each master of a
/// Cluster in turn) and hands each batch of keys, with its node, to `f`. A
/// node that fails is an error: a walk that skipped it would be silently
/// incomplete.
pub(crate) async fn scan<F>(redis: &Redis, pattern: &str, count: usize, mut f: F) -> OpResult<()>
where
    F: AsyncFnMut(&Node, Vec<String>) -> OpResult<()>,
{
    for node in redis.nodes().await? {
        let mut cursor: u64 = 0;
        loop {
            let (next, keys) = redis.node_scan(&node, cursor, pattern, count).await?;
            if !keys.is_empty() {
                f(&node, keys).await?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(())
}

/// Escapes glob characters so a prefix matches literally in SCAN MATCH.
pub(crate) fn glob_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "*?[]\\".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

pub async fn audit(redis: &Redis) -> OpResult<Audit> {
    audit_paced(redis, std::time::Duration::ZERO).await
}

/// [`audit`] with a pause after every batch of keys: the dashboard's
/// background audit, which must not take Redis away from the workers (at
/// 5 ms per 500 keys, the walk leaves Redis idle most of the time).
pub async fn audit_paced(redis: &Redis, pause: std::time::Duration) -> OpResult<Audit> {
    let prefix = redis.ctx.prefix.clone();
    // Keys under our prefix that the bot's old code wrote there
    // (`<prefix>xbot:lock:posting`, `<prefix>openai_cost:<date>`, ...).
    let legacy_prefixes = [prefix.clone()];
    let mut report = Audit {
        prefix: prefix.as_str().into(),
        ..Audit::default()
    };
    let bar = spinner("auditing");
    scan(
        redis,
        &format!("{}*", glob_escape(prefix.as_str())),
        BATCH,
        async |node: &Node, keys: Vec<String>| {
            let classified: Vec<_> = keys
                .iter()
                .map(|k| classify_key(k, Some(&prefix)))
                .collect();
            // One round trip per batch for every key's type and TTL, and the
            // memory of the keys still needed for a family's sample.
            let mut pipe = redis::pipe();
            let mut sampled = Vec::new();
            let mut wanted: BTreeMap<&'static str, u64> = BTreeMap::new();
            for (k, c) in keys.iter().zip(&classified) {
                pipe.cmd("TYPE").arg(k).cmd("PTTL").arg(k);
                let sample = c.as_ref().is_some_and(|c| {
                    let have = report.families.get(c.family).map_or(0, |r| r.sampled);
                    let n = wanted.entry(c.family).or_default();
                    *n += 1;
                    have + *n <= MEMORY_SAMPLES as u64
                });
                if sample {
                    pipe.cmd("MEMORY").arg("USAGE").arg(k);
                }
                sampled.push(sample);
            }
            let replies = redis.node_pipeline(node, &pipe).await?;
            let mut replies = replies.into_iter();
            for ((key, c), sample) in keys.iter().zip(classified).zip(sampled) {
                let (kind, pttl) = (replies.next(), replies.next());
                let bytes = if sample { replies.next() } else { None };
                report.scanned += 1;
                let Some(c) = c else {
                    match classify_legacy(key, &legacy_prefixes) {
                        Some(l) => *report.legacy.entry(l.family.name).or_default() += 1,
                        None => {
                            report.unknown_keys += 1;
                            if report.examples_unknown.len() < EXAMPLES {
                                report.examples_unknown.push(key.clone());
                            }
                        }
                    }
                    continue;
                };
                let family = Family::get(c.family).expect("classified families exist");
                let kind = match kind {
                    Some(redis::Value::SimpleString(s)) => s,
                    other => format!("{other:?}"),
                };
                let pttl = match pttl {
                    Some(redis::Value::Int(n)) => n,
                    _ => -2,
                };
                let r = report.families.entry(c.family).or_default();
                r.keys += 1;
                if kind != "none" && kind != family.redis_type.as_str() {
                    r.wrong_type += 1;
                    if r.examples_wrong_type.len() < EXAMPLES {
                        r.examples_wrong_type.push(format!("{key} ({kind})"));
                    }
                }
                if family.ttl_class() != TtlClass::None && pttl == -1 {
                    r.missing_ttl += 1;
                    if r.examples_missing_ttl.len() < EXAMPLES {
                        r.examples_missing_ttl.push(key.clone());
                    }
                }
                if let Some(redis::Value::Int(b)) = bytes {
                    r.sampled += 1;
                    r.estimated_bytes += b as u64;
                }
            }
            bar.inc(keys.len() as u64);
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            Ok(())
        },
    )
    .await?;
    bar.finish_and_clear();
    for r in report.families.values_mut() {
        if let Some(avg) = r.estimated_bytes.checked_div(r.sampled) {
            r.estimated_bytes = avg * r.keys;
        }
    }
    report.problems = report.unknown_keys
        + report.legacy.values().sum::<u64>()
        + report
            .families
            .values()
            .map(|r| r.missing_ttl + r.wrong_type)
            .sum::<u64>();
    Ok(report)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cleanup {
    pub pattern: String,
    pub executed: bool,
    pub matched: u64,
    pub deleted: u64,
    pub examples: Vec<String>,
}

/// Why a cleanup pattern is refused, if it is.
pub fn check_cleanup_pattern(
    pattern: &str,
    allow_production: bool,
) -> Result<(), xbot_core::Error> {
    let bad = |reason: &str| xbot_core::Error::InvalidPattern {
        pattern: pattern.into(),
        reason: reason.into(),
    };
    let Some(colon) = pattern.find(':') else {
        return Err(bad(
            "the pattern must start with a key prefix such as stg: (e.g. stg:temp:*)",
        ));
    };
    let prefix = &pattern[..=colon];
    if prefix.contains(['*', '?', '[', ']', '\\']) {
        return Err(bad("the prefix part of the pattern must be literal (no glob characters before the first ':')"));
    }
    Prefix::parse(prefix)?;
    // `cache:*` parses as a prefix but is almost surely a family without the
    // prefix, and would silently match nothing.
    let head = &prefix[..prefix.len() - 1];
    if xbot_core::keys::FAMILIES
        .iter()
        .any(|f| f.pattern.split(':').next() == Some(head))
    {
        return Err(bad(&format!(
            "`{prefix}` is a key family, not a prefix; patterns start with the prefix, e.g. app:{pattern}"
        )));
    }
    if prefix == "prod:" && !allow_production {
        return Err(bad(
            "refusing to touch prod: keys without --i-know-this-is-production",
        ));
    }
    Ok(())
}

/// Deletes keys matching `pattern` (UNLINK, in batches) — or, without
/// `execute`, only counts them.
pub async fn cleanup(
    redis: &Redis,
    pattern: &str,
    execute: bool,
    allow_production: bool,
) -> OpResult<Cleanup> {
    check_cleanup_pattern(pattern, allow_production)?;
    let mut report = Cleanup {
        pattern: pattern.into(),
        executed: execute,
        matched: 0,
        deleted: 0,
        examples: Vec::new(),
    };
    let bar = spinner(if execute {
        "deleting"
    } else {
        "matching (dry run)"
    });
    scan(
        redis,
        pattern,
        BATCH,
        async |node: &Node, keys: Vec<String>| {
            report.matched += keys.len() as u64;
            for k in keys
                .iter()
                .take(EXAMPLES.saturating_sub(report.examples.len()))
            {
                report.examples.push(k.clone());
            }
            if execute {
                // One UNLINK per key: on a Cluster the keys of one node span
                // many slots, and a multi-key command must stay in one slot.
                let mut pipe = redis::pipe();
                for k in &keys {
                    pipe.cmd("UNLINK").arg(k);
                }
                for reply in redis.node_pipeline(node, &pipe).await? {
                    match reply {
                        redis::Value::Int(n) => report.deleted += n as u64,
                        other => {
                            other.extract_error().map_err(|source| OpError::Redis {
                                what: "UNLINK batch".into(),
                                source,
                            })?;
                        }
                    }
                }
            }
            bar.inc(keys.len() as u64);
            Ok(())
        },
    )
    .await?;
    bar.finish_and_clear();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_patterns() {
        assert!(check_cleanup_pattern("stg:temp:*", false).is_ok());
        assert!(check_cleanup_pattern("prod:temp:*", false)
            .unwrap_err()
            .to_string()
            .contains("--i-know-this-is-production"));
        assert!(check_cleanup_pattern("prod:temp:*", true).is_ok());
        assert!(check_cleanup_pattern("*", false).is_err());
        assert!(check_cleanup_pattern("*:temp:*", false).is_err());
        assert!(check_cleanup_pattern("pro?:x", false).is_err());
        assert!(check_cleanup_pattern("stg", false).is_err());
        assert_eq!(glob_escape("a*b?"), "a\\*b\\?");
    }
}
