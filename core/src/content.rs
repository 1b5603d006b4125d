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
use std::sync::OnceLock;

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

/// Byte classes for the ASCII fast path.
const COPY: u8 = 0;
const UPPER: u8 = 1;
const SPACE: u8 = 2;
const NON_ASCII: u8 = 3;
static CLASS: [u8; 256] = {
    let mut t = [NON_ASCII; 256];
    let mut i = 0;
    while i < 128 {
        t[i] = match i as u8 {
            b'A'..=b'Z' => UPPER,
            // JS whitespace in ASCII: \t \n \v \f \r and space (not 0x1C-0x1F).
            b'\t'..=b'\r' | b' ' => SPACE,
            _ => COPY,
        };
        i += 1;
    }
    t
};

/// Code points below this have their "lowercases to itself" bit precomputed.
const IDENTITY_TABLE_END: u32 = 0x2_0000;

/// True when `ch.to_lowercase()` is `ch` itself. Most non-ASCII text (lowercase
/// letters, CJK, emoji) is, so a bitset built once from std's tables (16 KiB,
/// about a millisecond) spares a binary search per character.
#[inline]
fn lowercase_is_identity(ch: char) -> bool {
    static TABLE: OnceLock<Box<[u64]>> = OnceLock::new();
    let slow = |c: char| {
        let mut l = c.to_lowercase();
        l.len() == 1 && l.next() == Some(c)
    };
    let c = ch as u32;
    if c >= IDENTITY_TABLE_END {
        return slow(ch);
    }
    let table = TABLE.get_or_init(|| {
        let mut bits = vec![0u64; (IDENTITY_TABLE_END / 64) as usize];
        for (cp, ch) in
            (0..IDENTITY_TABLE_END).filter_map(|cp| char::from_u32(cp).map(|ch| (cp, ch)))
        {
            if slow(ch) {
                bits[(cp / 64) as usize] |= 1 << (cp % 64);
            }
        }
        bits.into_boxed_slice()
    });
    table[(c / 64) as usize] >> (c % 64) & 1 == 1
}

/// Capital sigma: lowercases to σ or ς depending on its neighbours.
const CAPITAL_SIGMA: char = '\u{3A3}';
/// JS whitespace that is also Unicode Case_Ignorable (a format character), so
/// it does not end a word for the Final_Sigma rule.
const ZWNBSP: char = '\u{FEFF}';

/// Collapses whitespace runs to one space (none leading or trailing) while
/// appending to `out`, optionally lowercasing.
struct Collapser<'a> {
    out: &'a mut Vec<u8>,
    pending_space: bool,
}

impl Collapser<'_> {
    #[inline]
    fn space(&mut self) {
        self.pending_space = !self.out.is_empty();
    }

    #[inline]
    fn flush_space(&mut self) {
        if self.pending_space {
            self.out.push(b' ');
            self.pending_space = false;
        }
    }

    fn run(&mut self, text: &str, lower: bool) {
        let b = text.as_bytes();
        // Where the current word began (in `text` and in `out`): the span a
        // capital sigma's context can reach. Only whitespace other than U+FEFF
        // ends it, since U+FEFF is case-ignorable.
        let (mut word_text, mut word_out, mut word_pending) =
            (0, self.out.len(), self.pending_space);
        let mut i = 0;
        while i < b.len() {
            let class = CLASS[usize::from(b[i])];
            if class == SPACE {
                self.space();
                i += 1;
                (word_text, word_out, word_pending) = (i, self.out.len(), self.pending_space);
                continue;
            }
            if class != NON_ASCII {
                // A run of ASCII non-space bytes: copy, lowercasing A-Z.
                self.flush_space();
                let start = i;
                while i < b.len() && CLASS[usize::from(b[i])] <= UPPER {
                    i += 1;
                }
                if lower {
                    self.out
                        .extend(b[start..i].iter().map(u8::to_ascii_lowercase));
                } else {
                    self.out.extend_from_slice(&b[start..i]);
                }
                continue;
            }
            let ch = text[i..].chars().next().expect("i is on a char boundary");
            let len = ch.len_utf8();
            if is_js_whitespace(ch) {
                self.space();
                i += len;
                if ch != ZWNBSP {
                    (word_text, word_out, word_pending) = (i, self.out.len(), self.pending_space);
                }
                continue;
            }
            if lower && ch == CAPITAL_SIGMA {
                // Redo this word with std's lowercasing, which implements the
                // Final_Sigma context exactly as JS does.
                let end = text[i..]
                    .char_indices()
                    .find(|&(_, c)| is_js_whitespace(c) && c != ZWNBSP)
                    .map_or(text.len(), |(k, _)| i + k);
                self.out.truncate(word_out);
                self.pending_space = word_pending;
                self.run(&text[word_text..end].to_lowercase(), false);
                i = end;
                continue;
            }
            self.flush_space();
            if !lower || lowercase_is_identity(ch) {
                self.out.extend_from_slice(&b[i..i + len]);
            } else {
                let mut tmp = [0u8; 4];
                for l in ch.to_lowercase() {
                    self.out
                        .extend_from_slice(l.encode_utf8(&mut tmp).as_bytes());
                }
            }
            i += len;
        }
    }
}

/// `normalize` into a byte buffer (cleared first): the hash's input.
fn normalize_bytes(text: &str, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(text.len());
    Collapser {
        out,
        pending_space: false,
    }
    .run(text, true);
}

/// `text.toLowerCase().replace(/\s+/g, ' ').trim()` into `out` (cleared first).
pub fn normalize_into(text: &str, out: &mut String) {
    let mut buf = std::mem::take(out).into_bytes();
    normalize_bytes(text, &mut buf);
    *out = String::from_utf8(buf).expect("normalization keeps UTF-8 valid");
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
    let mut buf = Vec::new();
    normalize_bytes(text, &mut buf);
    hex32(&Sha256::digest(&buf))
}

/// [`content_hash`] for many texts, reusing one buffer.
pub fn content_hash_batch<S: AsRef<str>>(texts: &[S]) -> Vec<String> {
    let mut buf = Vec::new();
    texts
        .iter()
        .map(|t| {
            normalize_bytes(t.as_ref(), &mut buf);
            hex32(&Sha256::digest(&buf))
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
