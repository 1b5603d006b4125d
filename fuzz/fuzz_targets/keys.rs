//! Key build / classify round trips.
//!
//! - Built: a family (or an unknown name) and parameter values derived from
//!   the input (valid by construction, near misses, or arbitrary strings).
//!   When `build_key` accepts them, `classify_key` (with and without the
//!   prefix) returns exactly that family and those parameters, and
//!   `is_cache_key` agrees with the family; when it refuses, the error is one
//!   of the build errors.
//! - Raw: an arbitrary key, assembled from pattern fragments and arbitrary
//!   text. Classifying never panics, and whatever classifies rebuilds to the
//!   very same key. `generic_key` accepts exactly the parts it should.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use xbot_core::keys::{
    build_key, classify_key, generic_key, is_cache_key, KeyContext, ParamKind, Params, FAMILIES,
};
use xbot_core::queue::QueueName;
use xbot_core::time::time_bucket;
use xbot_fuzz::{check_error, jsval};

const PREFIXES: &[&str] = &["app:", "prod:", "stg:", "tenant-7:", "a:", "app", "", "é:"];
const ENVS: &[&str] = &[
    "production",
    "prod",
    "staging",
    "stg",
    "development",
    "dev",
    "test",
    "qa",
];

fn context(u: &mut Unstructured) -> Result<KeyContext> {
    let pick = |u: &mut Unstructured, list: &[&str]| -> Result<Option<String>> {
        Ok(match u.int_in_range(0..=5)? {
            0 => None,
            1 => Some(u.arbitrary()?),
            _ => Some(u.choose(list)?.to_string()),
        })
    };
    let (prefix, env) = (pick(u, PREFIXES)?, pick(u, ENVS)?);
    Ok(
        match KeyContext::resolve(prefix.as_deref(), env.as_deref()) {
            Ok(ctx) => ctx,
            Err(e) => {
                check_error(
                    &e,
                    &["INVALID_PREFIX", "INVALID_ENV", "PREFIX_ENV_MISMATCH"],
                );
                KeyContext::default()
            }
        },
    )
}

/// Characters an id may or may not contain.
const ID_CHARS: &[char] = &[
    'a', 'Z', '0', '_', '-', '.', '@', '#', 'é', '漢', '😀', ':', '{', '}', '*', '?', '[', ']',
    '\\', ' ', '\t', '\u{0}', '\u{7f}', '\u{85}', '\u{A0}', '\u{FEFF}', '\u{2028}', '\u{200B}',
];

fn value(u: &mut Unstructured, kind: ParamKind, example: &str) -> Result<String> {
    if u.ratio(1, 8)? {
        return Ok(example.to_string());
    }
    if u.ratio(1, 4)? {
        return jsval::string(u);
    }
    #[allow(unreachable_patterns)] // a kind added to the catalog gets arbitrary strings
    Ok(match kind {
        ParamKind::Id => {
            let n = u.int_in_range(0..=140)?;
            (0..n)
                .map(|_| u.choose(ID_CHARS).copied())
                .collect::<Result<_>>()?
        }
        ParamKind::Time(b) => {
            // Years 0000-9999 and a little beyond (refused by time_bucket).
            let ms = u.int_in_range(-62_200_000_000_000i64..=253_500_000_000_000)?;
            time_bucket(b, ms as f64).unwrap_or_else(|_| example.to_string())
        }
        ParamKind::HourOfDay => format!("{:02}", u.int_in_range(0..=25)?),
        ParamKind::Sha256 => {
            let hex = b"0123456789abcdefABCDEF";
            let n = if u.ratio(7, 8)? {
                64
            } else {
                u.int_in_range(0..=66)?
            };
            (0..n)
                .map(|_| u.choose(hex).map(|&b| char::from(b)))
                .collect::<Result<_>>()?
        }
        ParamKind::Queue => u.choose(&QueueName::ALL)?.as_str().to_string(),
        ParamKind::Lock => u
            .choose(&["posting_in_progress", "sync_in_progress", "posting"])?
            .to_string(),
        _ => u.arbitrary()?,
    })
}

fn built(u: &mut Unstructured, ctx: &KeyContext) -> Result<()> {
    let index = u.choose_index(FAMILIES.len() + 1)?;
    let family = FAMILIES.get(index);
    let name = match family {
        Some(f) => f.name.to_string(),
        None => jsval::string(u)?,
    };
    let mut params = Params::new();
    if let Some(f) = family {
        for p in f.params {
            if !u.ratio(1, 32)? {
                params.insert(p.name.to_string(), value(u, p.kind, p.example)?);
            }
        }
    }
    if u.ratio(1, 32)? {
        params.insert(jsval::string(u)?, jsval::string(u)?);
    }
    let b = match build_key(&name, &params, ctx) {
        Ok(b) => b,
        Err(e) => {
            check_error(
                &e,
                &[
                    "UNKNOWN_FAMILY",
                    "MISSING_PARAM",
                    "UNEXPECTED_PARAM",
                    "INVALID_PARAM",
                ],
            );
            return Ok(());
        }
    };
    // (An arbitrary name may spell a catalog family too.)
    let f = FAMILIES
        .iter()
        .find(|f| f.name == name)
        .expect("only catalog families build");
    assert_eq!(b.family, f.name);
    assert!(b.key.starts_with(ctx.prefix.as_str()), "{}", b.key);
    for prefix in [Some(&ctx.prefix), None] {
        let c = classify_key(&b.key, prefix)
            .unwrap_or_else(|| panic!("built key {:?} does not classify", b.key));
        assert_eq!(
            (c.family, &c.params, c.prefix.as_str()),
            (f.name, &params, ctx.prefix.as_str()),
            "key {:?}",
            b.key
        );
    }
    assert_eq!(is_cache_key(&b.key, &ctx.prefix), f.is_cache(), "{}", b.key);
    Ok(())
}

/// Pieces of real keys: the prefixes, each pattern's segments, examples.
fn fragments() -> &'static [String] {
    static F: OnceLock<Vec<String>> = OnceLock::new();
    F.get_or_init(|| {
        let mut f: Vec<String> = PREFIXES.iter().map(|s| s.to_string()).collect();
        for fam in FAMILIES {
            f.extend(
                fam.pattern
                    .split(':')
                    .map(|s| s.replace("{{", "{").replace("}}", "}")),
            );
            f.extend(fam.params.iter().map(|p| p.example.to_string()));
        }
        f.extend([":", "{", "}", "", "2026-02-29", "2025-02-29", "T24", "1h"].map(String::from));
        f.sort();
        f.dedup();
        f
    })
}

fn raw(u: &mut Unstructured, ctx: &KeyContext) -> Result<()> {
    let mut key = String::new();
    for _ in 0..u.int_in_range(0..=8)? {
        if u.ratio(1, 4)? {
            key.push_str(&u.arbitrary::<String>()?);
        } else {
            key.push_str(u.choose(fragments())?);
        }
        if u.ratio(3, 4)? {
            key.push(':');
        }
    }
    for prefix in [None, Some(&ctx.prefix)] {
        let c = classify_key(&key, prefix);
        if let Some(p) = prefix {
            let family = c
                .as_ref()
                .and_then(|c| FAMILIES.iter().find(|f| f.name == c.family));
            assert_eq!(
                is_cache_key(&key, p),
                family.is_some_and(|f| f.is_cache()),
                "{key:?}"
            );
        }
        let Some(c) = c else { continue };
        if let Some(p) = prefix {
            assert_eq!(c.prefix, p.as_str());
        }
        let rebuilt_ctx = KeyContext::resolve(Some(&c.prefix), None)
            .unwrap_or_else(|e| panic!("classified prefix {:?} is invalid: {e}", c.prefix));
        let rebuilt = build_key(c.family, &c.params, &rebuilt_ctx)
            .unwrap_or_else(|e| panic!("{key:?} classified as {c:?} but does not rebuild: {e}"));
        assert_eq!(rebuilt.key, key, "classified as {c:?}");
    }

    // The generic helper: prefix + parts joined by ':', or a named refusal.
    let parts: Vec<&str> = key.split('/').filter(|_| !key.is_empty()).collect();
    match generic_key(&parts, &ctx.prefix) {
        Ok(k) => assert_eq!(k, format!("{}{}", ctx.prefix.as_str(), parts.join(":"))),
        Err(e) => check_error(&e, &["EMPTY_KEY", "INVALID_KEY_PART"]),
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = (|| {
        let ctx = context(&mut u)?;
        if u.ratio(1, 3)? {
            raw(&mut u, &ctx)
        } else {
            built(&mut u, &ctx)
        }
    })();
});
