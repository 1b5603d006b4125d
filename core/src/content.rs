//! Content normalization and hashing, exactly as the document's JavaScript:
//!
//! ```js
//! const normalized = content.toLowerCase().replace(/\s+/g, ' ').trim();
//! const hash = crypto.createHash('sha256').update(normalized).digest('hex');
//! ```
//!
//! JS `\s` and `trim` use 25 code points; Rust's `char::is_whitespace` differs
//! by two (U+0085, U+FEFF), so the set is spelled out. `toLowerCase` equals
//! Rust's `str::to_lowercase` (same Unicode version; final sigma included).

use crate::error::Result;
use crate::keys::{build_key, BuiltKey, KeyContext, Params};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The 25 code points of JavaScript's `\s` / `String.prototype.trim`.
#[inline]
pub fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{D}'
            | ' '
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
            | '\u{FEFF}'
    )
}

/// Pushes `c`, collapsing whitespace runs to one space and dropping leading and
/// trailing whitespace (the trailing space is pending until a non-space arrives).
struct Collapser<'a> {
    out: &'a mut String,
    pending_space: bool,
}

impl Collapser<'_> {
    #[inline]
    fn push(&mut self, c: char, is_space: bool) {
        if is_space {
            self.pending_space = !self.out.is_empty();
        } else {
            if self.pending_space {
                self.out.push(' ');
                self.pending_space = false;
            }
            self.out.push(c);
        }
    }
}

/// `text.toLowerCase().replace(/\s+/g, ' ').trim()` into `out` (cleared first).
pub fn normalize_into(text: &str, out: &mut String) {
    out.clear();
    out.reserve(text.len());
    let mut c = Collapser {
        out,
        pending_space: false,
    };
    if text.is_ascii() {
        // ASCII: byte-wise; JS whitespace here is \t \n \v \f \r and space.
        for &b in text.as_bytes() {
            c.push(
                b.to_ascii_lowercase() as char,
                matches!(b, b'\t'..=b'\r' | b' '),
            );
        }
    } else if !text.contains('\u{3A3}') {
        // Without capital sigma, lowercasing is context-free: one pass per char.
        for ch in text.chars() {
            if is_js_whitespace(ch) {
                c.push(ch, true);
            } else {
                for l in ch.to_lowercase() {
                    c.push(l, false);
                }
            }
        }
    } else {
        // Final sigma depends on its neighbours: let std lowercase the whole string.
        for ch in text.to_lowercase().chars() {
            c.push(ch, is_js_whitespace(ch));
        }
    }
}

/// `text.toLowerCase().replace(/\s+/g, ' ').trim()` with JS semantics.
pub fn normalize(text: &str) -> String {
    let mut out = String::new();
    normalize_into(text, &mut out);
    out
}

/// Lowercase hex of 32 bytes.
fn hex32(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for &b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// Lowercase hex SHA-256 of the UTF-8 bytes of `s`.
pub fn sha256_hex(s: &str) -> String {
    hex32(&Sha256::digest(s.as_bytes()))
}

/// Lowercase hex SHA-256 of `normalize(text)`.
pub fn content_hash(text: &str) -> String {
    let mut buf = String::new();
    normalize_into(text, &mut buf);
    sha256_hex(&buf)
}

/// [`content_hash`] for many texts, reusing one buffer.
pub fn content_hash_batch<S: AsRef<str>>(texts: &[S]) -> Vec<String> {
    let mut buf = String::new();
    texts
        .iter()
        .map(|t| {
            normalize_into(t.as_ref(), &mut buf);
            sha256_hex(&buf)
        })
        .collect()
}

/// Everything the bot needs to deduplicate one text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentDigest {
    pub normalized: String,
    pub sha256: String,
    /// `{prefix}content_hash:sha256:{sha256}` (7 days).
    pub content_hash_key: String,
    /// `{prefix}dedup:tweet:{sha256}` (24 hours).
    pub dedup_key: String,
}

/// The dedup keys of a content hash.
pub fn dedup_keys(sha256: &str, ctx: &KeyContext) -> Result<(BuiltKey, BuiltKey)> {
    let params: Params = [("hash".to_string(), sha256.to_string())].into();
    Ok((
        build_key("content_hash.sha256", &params, ctx)?,
        build_key("dedup.tweet", &params, ctx)?,
    ))
}

/// Normalized text, hash and both dedup keys.
pub fn digest(text: &str, ctx: &KeyContext) -> ContentDigest {
    let normalized = normalize(text);
    let sha256 = sha256_hex(&normalized);
    let (c, d) = dedup_keys(&sha256, ctx).expect("a SHA-256 hex is always a valid hash parameter");
    ContentDigest {
        normalized,
        sha256,
        content_hash_key: c.key,
        dedup_key: d.key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A slow, obviously-correct model of the JS pipeline.
    fn reference(text: &str) -> String {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(is_js_whitespace)
            .filter(|w| !w.is_empty())
            .collect();
        words.join(" ")
    }

    #[test]
    fn whitespace_set_has_25_code_points() {
        let n = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| is_js_whitespace(c))
            .count();
        assert_eq!(n, 25);
        assert!(
            !is_js_whitespace('\u{85}')
                && is_js_whitespace('\u{FEFF}')
                && !is_js_whitespace('\u{180E}')
        );
    }

    #[test]
    fn examples() {
        assert_eq!(normalize("  Hello\t\tWORLD \n"), "hello world");
        assert_eq!(normalize("\u{FEFF}a\u{85}b\u{3000}c"), "a\u{85}b c");
        assert_eq!(normalize("ΟΔΟΣ Σ"), "οδος σ");
        assert_eq!(normalize("İ"), "i\u{307}");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \u{A0} "), "");
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            content_hash(" Test "),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        let d = digest("test", &KeyContext::resolve(Some("prod:"), None).unwrap());
        assert_eq!(d.dedup_key, format!("prod:dedup:tweet:{}", d.sha256));
        assert_eq!(
            content_hash_batch(&["A", "a "]),
            vec![content_hash("a"), content_hash("a")]
        );
    }

    proptest! {
        #[test]
        fn matches_reference(s in "(\\PC|[\u{9}-\u{D} \u{85}\u{A0}\u{2000}-\u{200B}\u{FEFF}Σσς])*") {
            prop_assert_eq!(normalize(&s), reference(&s));
        }
    }
}
