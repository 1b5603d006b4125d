//! Building keys from the catalog, classifying keys back into families, and
//! the generic `key(parts)` helper.

use super::catalog::{Family, ParamKind, RedisType, FAMILIES};
use super::prefix::{KeyContext, Prefix};
use crate::content::is_js_whitespace;
use crate::error::{quoted_char, Error, Result};
use crate::time::parse_bucket;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Parameter values by name (`{"tweetId": "42"}`).
pub type Params = BTreeMap<String, String>;

/// A key built from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuiltKey {
    pub key: String,
    pub family: &'static str,
    pub ttl_seconds: Option<u64>,
    pub redis_type: RedisType,
}

/// The family and parameters a key was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classified {
    pub family: &'static str,
    pub params: Params,
    pub prefix: String,
}

#[derive(Debug)]
enum Token {
    Lit(String),
    Param(usize),
}

/// Splits a pattern into literals and parameter slots (index into `family.params`).
fn compile(f: &Family) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut lit = String::new();
    let mut rest = f.pattern;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix("{{") {
            lit.push('{');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("}}") {
            lit.push('}');
            rest = r;
        } else if c == '{' {
            let end = rest.find('}').expect("catalog pattern: unclosed '{'");
            let name = &rest[1..end];
            let idx = f
                .params
                .iter()
                .position(|p| p.name == name)
                .expect("catalog pattern: undeclared parameter");
            if !lit.is_empty() {
                tokens.push(Token::Lit(std::mem::take(&mut lit)));
            }
            tokens.push(Token::Param(idx));
            rest = &rest[end + 1..];
        } else {
            lit.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !lit.is_empty() {
        tokens.push(Token::Lit(lit));
    }
    tokens
}

fn compiled() -> &'static [Vec<Token>] {
    static COMPILED: OnceLock<Vec<Vec<Token>>> = OnceLock::new();
    COMPILED.get_or_init(|| FAMILIES.iter().map(compile).collect())
}

const MAX_ID_LEN: usize = 128;

/// Characters that never appear inside a parameter value: the separator, hash
/// tag braces and glob metacharacters (so SCAN MATCH patterns stay exact).
fn is_reserved(c: char) -> bool {
    matches!(c, ':' | '{' | '}' | '*' | '?' | '[' | ']' | '\\')
        || c.is_control()
        || is_js_whitespace(c)
        || c.is_whitespace()
}

const MAX_SLOT_LEN: usize = 512;

/// A free-text parameter: 1 to `max` bytes, none of them `refused`.
fn free_text(
    kind: ParamKind,
    v: &str,
    max: usize,
    refused: impl Fn(char) -> bool,
) -> std::result::Result<(), String> {
    if v.is_empty() {
        Err("must not be empty".into())
    } else if v.len() > max {
        Err(format!("longer than {max} bytes"))
    } else if let Some(c) = v.chars().find(|&c| refused(c)) {
        Err(format!(
            "character {} is not allowed ({})",
            quoted_char(c),
            kind.describe()
        ))
    } else {
        Ok(())
    }
}

/// Checks a parameter value against its kind; `Err(reason)` on mismatch.
fn check_value(kind: ParamKind, v: &str) -> std::result::Result<(), String> {
    match kind {
        ParamKind::Id => free_text(kind, v, MAX_ID_LEN, is_reserved),
        ParamKind::Time(b) => parse_bucket(b, v).map(drop).map_err(|e| e.to_string()),
        ParamKind::HourOfDay => match v.as_bytes() {
            [a @ b'0'..=b'2', b @ b'0'..=b'9'] if (a - b'0') * 10 + (b - b'0') < 24 => Ok(()),
            _ => Err("expected two digits 00-23".into()),
        },
        ParamKind::Sha256 => {
            if v.len() == 64
                && v.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                Ok(())
            } else {
                Err("expected 64 lowercase hex digits (a SHA-256)".into())
            }
        }
        ParamKind::Queue => crate::queue::QueueName::parse(v)
            .map(drop)
            .map_err(|e| e.to_string()),
        // A hash tag: an id that may hold the separator (it can be a whole key).
        ParamKind::Slot => free_text(kind, v, MAX_SLOT_LEN, |c| c != ':' && is_reserved(c)),
        ParamKind::Lock => match v {
            "posting_in_progress" | "sync_in_progress" => Ok(()),
            _ => Err("expected posting_in_progress or sync_in_progress".into()),
        },
    }
}

fn family_index(name: &str) -> Result<usize> {
    FAMILIES
        .iter()
        .position(|f| f.name == name)
        .ok_or_else(|| Error::UnknownFamily {
            family: name.into(),
        })
}

/// Builds the key of `family` with `params` under `ctx`'s prefix.
pub fn build_key(family: &str, params: &Params, ctx: &KeyContext) -> Result<BuiltKey> {
    let idx = family_index(family)?;
    let f = &FAMILIES[idx];
    if let Some(extra) = params.keys().find(|k| f.param(k).is_none()) {
        let expected = if f.params.is_empty() {
            "no parameters".to_string()
        } else {
            f.params
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Error::UnexpectedParam {
            family: f.name.into(),
            param: extra.clone(),
            expected,
        });
    }
    let mut key = String::with_capacity(ctx.prefix.as_str().len() + f.pattern.len() + 32);
    key.push_str(ctx.prefix.as_str());
    for token in &compiled()[idx] {
        match token {
            Token::Lit(s) => key.push_str(s),
            Token::Param(i) => {
                let spec = &f.params[*i];
                let value = params.get(spec.name).ok_or_else(|| Error::MissingParam {
                    family: f.name.into(),
                    param: spec.name.into(),
                    pattern: f.pattern.into(),
                })?;
                check_value(spec.kind, value).map_err(|reason| Error::InvalidParam {
                    family: f.name.into(),
                    param: spec.name.into(),
                    value: value.clone(),
                    reason,
                })?;
                key.push_str(value);
            }
        }
    }
    Ok(BuiltKey {
        key,
        family: f.name,
        ttl_seconds: f.ttl_seconds(&ctx.profile()),
        redis_type: f.redis_type,
    })
}

/// Matches `rest` (a key without its prefix) against one compiled pattern.
fn match_family(f: &Family, tokens: &[Token], mut rest: &str) -> Option<Params> {
    let mut params = Params::new();
    for token in tokens {
        match token {
            Token::Lit(s) => rest = rest.strip_prefix(s.as_str())?,
            Token::Param(i) => {
                let end = match f.params[*i].kind {
                    // A hash tag runs to the closing brace, colons and all.
                    ParamKind::Slot => rest.find(['{', '}']),
                    _ => rest.find([':', '{', '}']),
                }
                .unwrap_or(rest.len());
                let (value, tail) = rest.split_at(end);
                let spec = &f.params[*i];
                check_value(spec.kind, value).ok()?;
                params.insert(spec.name.into(), value.into());
                rest = tail;
            }
        }
    }
    rest.is_empty().then_some(params)
}

/// True when `key` (with `prefix`) belongs to a cache family
/// (see [`Family::is_cache`](super::Family::is_cache)). Called for every
/// command when a cache Redis is configured, so keys whose text cannot start a
/// cache pattern (queues, locks, ...) are turned away before classification.
pub fn is_cache_key(key: &str, prefix: &Prefix) -> bool {
    let Some(rest) = key.strip_prefix(prefix.as_str()) else {
        return false;
    };
    let literal_head = |f: &Family| f.pattern.split('{').next().unwrap_or("");
    FAMILIES
        .iter()
        .any(|f| f.is_cache() && rest.starts_with(literal_head(f)))
        && classify_key(key, Some(prefix))
            .and_then(|c| FAMILIES.iter().find(|f| f.name == c.family))
            .is_some_and(Family::is_cache)
}

/// The family and parameters of `key`, or `None` when it is not a catalog key.
///
/// With `prefix`, the key must start with it; without, the prefix is the key's
/// first segment (`prod:` in `prod:cache:tweet:42`).
pub fn classify_key(key: &str, prefix: Option<&Prefix>) -> Option<Classified> {
    let (prefix, rest) = match prefix {
        Some(p) => (p.as_str(), key.strip_prefix(p.as_str())?),
        None => {
            let cut = key.find(':')? + 1;
            let (p, rest) = key.split_at(cut);
            Prefix::parse(p).ok()?;
            (p, rest)
        }
    };
    FAMILIES.iter().zip(compiled()).find_map(|(f, tokens)| {
        match_family(f, tokens, rest).map(|params| Classified {
            family: f.name,
            params,
            prefix: prefix.into(),
        })
    })
}

/// The generic helper: `prefix + parts.join(":")`.
///
/// Unlike the bot's legacy `key()`, an empty part is an error (not silently
/// dropped), and so is a part containing `:` (it would fake extra segments),
/// whitespace or a control character.
pub fn generic_key<S: AsRef<str>>(parts: &[S], prefix: &Prefix) -> Result<String> {
    if parts.is_empty() {
        return Err(Error::EmptyKey);
    }
    let mut key = String::from(prefix.as_str());
    for (index, part) in parts.iter().enumerate() {
        let part = part.as_ref();
        let bad = |reason: &str| Error::InvalidKeyPart {
            index,
            part: part.into(),
            reason: reason.into(),
        };
        if part.is_empty() {
            return Err(bad("empty parts are not allowed"));
        }
        if part.contains(':') {
            return Err(bad(
                "':' is the separator; pass each segment as its own part",
            ));
        }
        if part
            .chars()
            .any(|c| c.is_control() || is_js_whitespace(c) || c.is_whitespace())
        {
            return Err(bad("whitespace and control characters are not allowed"));
        }
        if index > 0 {
            key.push(':');
        }
        key.push_str(part);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{catalog::Ttl, Environment};
    use proptest::prelude::*;

    fn ctx(prefix: &str) -> KeyContext {
        KeyContext::resolve(Some(prefix), None).unwrap()
    }

    fn example_params(f: &Family) -> Params {
        f.params
            .iter()
            .map(|p| (p.name.to_string(), p.example.to_string()))
            .collect()
    }

    #[test]
    fn cache_keys_are_exactly_the_cache_families() {
        let c = ctx("prod:");
        for f in FAMILIES {
            let key = build_key(f.name, &example_params(f), &c).unwrap().key;
            assert_eq!(is_cache_key(&key, &c.prefix), f.is_cache(), "{key}");
            assert!(
                !is_cache_key(&key, &ctx("stg:").prefix),
                "{key} under another prefix"
            );
        }
        // A cache-looking head is not enough: the key must be a catalog key.
        assert!(!is_cache_key("prod:cache:unknown", &c.prefix));
    }

    #[test]
    fn document_examples() {
        let b = build_key(
            "cache.tweet",
            &[("tweetId".into(), "42".into())].into(),
            &ctx("prod:"),
        )
        .unwrap();
        assert_eq!(b.key, "prod:cache:tweet:42");
        assert_eq!(b.ttl_seconds, Some(86_400));
        assert_eq!(b.redis_type, RedisType::String);
        let b = build_key(
            "queue.sync_to_supabase",
            &Params::new(),
            &KeyContext::default(),
        )
        .unwrap();
        assert_eq!(b.key, "app:queue:{sync_to_supabase}");
        assert_eq!(b.ttl_seconds, None);
        let b = build_key(
            "temp.draft",
            &[("id".into(), "d1".into())].into(),
            &ctx("stg:"),
        )
        .unwrap();
        assert_eq!(b.key, "stg:temp:draft:d1:1h");
        let params: Params = [("queue".into(), "pending_posts".into())].into();
        assert_eq!(
            build_key("queue.inflight", &params, &ctx("app:"))
                .unwrap()
                .key,
            "app:queue:{pending_posts}:inflight"
        );
        let params: Params = [("topic".into(), "ai".into())].into();
        assert_eq!(
            build_key("bandit.topic.beta", &params, &ctx("app:"))
                .unwrap()
                .key,
            "app:bandit:topic:{ai}:beta"
        );
    }

    #[test]
    fn staging_caches_live_longer() {
        let stg = build_key("tweets.recent", &Params::new(), &ctx("stg:")).unwrap();
        let prod = build_key("tweets.recent", &Params::new(), &ctx("prod:")).unwrap();
        assert_eq!(
            (stg.ttl_seconds, prod.ttl_seconds),
            (Some(3_600), Some(1_800))
        );
        assert!(
            Environment::Staging.profile().queue_capacity
                < Environment::Production.profile().queue_capacity
        );
    }

    #[test]
    fn bad_params_are_named() {
        let c = KeyContext::default();
        assert_eq!(
            build_key("cache.nope", &Params::new(), &c)
                .unwrap_err()
                .code(),
            "UNKNOWN_FAMILY"
        );
        assert_eq!(
            build_key("cache.tweet", &Params::new(), &c)
                .unwrap_err()
                .code(),
            "MISSING_PARAM"
        );
        let p: Params = [("tweetId".into(), String::new())].into();
        assert_eq!(
            build_key("cache.tweet", &p, &c).unwrap_err().code(),
            "INVALID_PARAM"
        );
        let p: Params = [("tweetId".into(), "a:b".into())].into();
        assert_eq!(
            build_key("cache.tweet", &p, &c).unwrap_err().code(),
            "INVALID_PARAM"
        );
        let p: Params = [("tweetId".into(), "1".into()), ("x".into(), "1".into())].into();
        assert_eq!(
            build_key("cache.tweet", &p, &c).unwrap_err().code(),
            "UNEXPECTED_PARAM"
        );
        let p: Params = [("hour".into(), "2026-11-27T18:00".into())].into();
        let e = build_key("rate_limit.posting", &p, &c).unwrap_err();
        assert!(e.to_string().contains("YYYY-MM-DDTHH"), "{e}");
        let p: Params = [("hour".into(), "9".into())].into();
        assert_eq!(
            build_key("bandit.hour.alpha", &p, &c).unwrap_err().code(),
            "INVALID_PARAM"
        );
        let p: Params = [("hash".into(), "ABC".into())].into();
        assert_eq!(
            build_key("dedup.tweet", &p, &c).unwrap_err().code(),
            "INVALID_PARAM"
        );
    }

    #[test]
    fn every_family_round_trips_its_example_and_is_unique() {
        for env in Environment::ALL {
            let c = KeyContext::resolve(None, Some(env.name())).unwrap();
            for f in FAMILIES {
                let built = build_key(f.name, &example_params(f), &c).unwrap();
                let matches: Vec<_> = FAMILIES
                    .iter()
                    .zip(compiled())
                    .filter_map(|(g, t)| {
                        match_family(g, t, &built.key[c.prefix.as_str().len()..]).map(|_| g.name)
                    })
                    .collect();
                assert_eq!(
                    matches,
                    vec![f.name],
                    "key {} must match exactly one family",
                    built.key
                );
                let back = classify_key(&built.key, None).unwrap();
                assert_eq!(
                    (back.family, back.params, back.prefix.as_str()),
                    (f.name, example_params(f), c.prefix.as_str())
                );
            }
        }
    }

    #[test]
    fn catalog_is_consistent() {
        let mut names: Vec<_> = FAMILIES.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FAMILIES.len(), "duplicate family names");
        for (f, tokens) in FAMILIES.iter().zip(compiled()) {
            let used = tokens
                .iter()
                .filter(|t| matches!(t, Token::Param(_)))
                .count();
            assert_eq!(
                used,
                f.params.len(),
                "{}: every declared parameter appears once",
                f.name
            );
            // A parameter is never followed directly by a character a value may contain.
            for w in tokens.windows(2) {
                if let [Token::Param(_), Token::Lit(l)] = w {
                    assert!(
                        l.starts_with([':', '}']),
                        "{}: ambiguous literal after a parameter",
                        f.name
                    );
                }
            }
            if f.name.starts_with("queue.")
                || f.name.starts_with("lock.")
                || f.name.starts_with("bandit.")
            {
                assert!(f.has_hash_tag(), "{} must carry a hash tag", f.name);
            }
            if f.name.starts_with("cache.") || f.name == "tweets.recent" {
                assert!(
                    matches!(f.ttl, Ttl::Cache(_)),
                    "{} is a cache family",
                    f.name
                );
            }
        }
    }

    #[test]
    fn classify_rejects_non_catalog_keys() {
        for k in [
            "app:cache:tweet",
            "app:cache:tweet:",
            "app:cache:tweet:42:extra",
            "cache:tweet:42",
            "app:queue:sync_to_supabase",
            "app:queue:{nope}:inflight",
            "app:rate_limit:posting:2026-11-27T25",
            "app:bandit:hour:{24}:alpha",
            "nocolon",
            "",
        ] {
            assert_eq!(classify_key(k, None), None, "{k}");
        }
        let p = Prefix::parse("stg:").unwrap();
        assert_eq!(classify_key("prod:tweets:recent", Some(&p)), None);
        assert_eq!(
            classify_key("stg:tweets:recent", Some(&p)).unwrap().family,
            "tweets.recent"
        );
    }

    #[test]
    fn generic_key_rules() {
        let p = Prefix::parse("app:").unwrap();
        assert_eq!(
            generic_key(&["cache", "tweet", "42"], &p).unwrap(),
            "app:cache:tweet:42"
        );
        assert_eq!(
            generic_key::<&str>(&[], &p).unwrap_err().code(),
            "EMPTY_KEY"
        );
        for bad in [
            &["a", ""][..],
            &["a:b"],
            &["a b"],
            &["a\u{0}"],
            &["\u{feff}"],
        ] {
            assert_eq!(
                generic_key(bad, &p).unwrap_err().code(),
                "INVALID_KEY_PART",
                "{bad:?}"
            );
        }
    }

    fn id_value() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_.\\-@#éß漢]{1,40}"
    }

    proptest! {
        #[test]
        fn classify_inverts_build(fi in 0..FAMILIES.len(), v in id_value(), env in 0usize..3) {
            let f = &FAMILIES[fi];
            let params: Params = f.params.iter().map(|p| {
                let value = if p.kind == ParamKind::Id { v.clone() } else { p.example.to_string() };
                (p.name.to_string(), value)
            }).collect();
            let c = KeyContext::resolve(None, Some(Environment::ALL[env].name())).unwrap();
            let built = build_key(f.name, &params, &c).unwrap();
            let back = classify_key(&built.key, Some(&c.prefix)).unwrap();
            prop_assert_eq!(back.family, f.name);
            prop_assert_eq!(&back.params, &params);
            prop_assert_eq!(build_key(back.family, &back.params, &c).unwrap().key, built.key);
        }

        /// Near misses: a valid key with one character inserted, deleted or
        /// replaced (by the characters that matter to the grammar). Whatever
        /// still classifies must rebuild to exactly that key — classification
        /// never accepts a key the catalog would not build.
        #[test]
        fn classified_keys_rebuild_exactly(
            fi in 0..FAMILIES.len(),
            v in id_value(),
            pos in 0usize..200,
            ch in prop::sample::select(vec![':', '{', '}', 'a', '0', '-', 'T', '*', ' ', 'é']),
            edit in 0u8..3,
        ) {
            let f = &FAMILIES[fi];
            let params: Params = f.params.iter().map(|p| {
                let value = if p.kind == ParamKind::Id { v.clone() } else { p.example.to_string() };
                (p.name.to_string(), value)
            }).collect();
            let built = build_key(f.name, &params, &KeyContext::default()).unwrap().key;
            let mut chars: Vec<char> = built.chars().collect();
            let at = pos % chars.len();
            match edit {
                0 => chars.insert(at, ch),
                1 => { chars.remove(at); }
                _ => chars[at] = ch,
            }
            let key: String = chars.into_iter().collect();
            if let Some(c) = classify_key(&key, None) {
                let ctx = KeyContext::resolve(Some(&c.prefix), None).unwrap();
                let rebuilt = build_key(c.family, &c.params, &ctx).unwrap();
                prop_assert_eq!(rebuilt.key, key);
            }
        }
    }
}
