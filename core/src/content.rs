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

/// Code points below this have their "copied as is" bit precomputed.
const IDENTITY_TABLE_END: u32 = 0x2_0000;

/// Code points below this (every two-byte UTF-8 character: Latin, Greek,
/// Cyrillic, Armenian, Hebrew, Arabic, ...) have their lowercase mapping
/// cached: the common uppercase letters then skip std's binary search.
const SMALL_TABLE_END: u32 = 0x800;

/// Lookup tables built once from std's Unicode data (about a millisecond),
/// so the common characters skip std's binary searches.
struct CaseTables {
    /// Bit `cp` set: `cp` lowercases to itself and is not JS whitespace, so
    /// normalization copies it unchanged (lowercase letters, CJK, emoji...).
    copy: Box<[u64]>,
    /// The UTF-8 bytes of the lowercase of each code point below
    /// [`SMALL_TABLE_END`] when that is one two-byte character (nearly all of
    /// them), else `[0, 0]` (the general path).
    small: Box<[[u8; 2]]>,
    /// Bit `cp` set for the letters (Lu, Ll, Lt) below U+0500: the blocks
    /// whose Final_Sigma context [`sigma_neighbour`] decides itself.
    letters: [u64; 0x500 / 64],
}

fn lowercase_is_identity(ch: char) -> bool {
    let mut l = ch.to_lowercase();
    l.len() == 1 && l.next() == Some(ch)
}

fn case_tables() -> &'static CaseTables {
    static TABLES: OnceLock<CaseTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut copy = vec![0u64; (IDENTITY_TABLE_END / 64) as usize];
        for ch in (0..IDENTITY_TABLE_END).filter_map(char::from_u32) {
            if lowercase_is_identity(ch) && !is_js_whitespace(ch) {
                copy[ch as usize / 64] |= 1 << (ch as u32 % 64);
            }
        }
        let small = (0..SMALL_TABLE_END)
            .map(|cp| {
                let mut l = char::from_u32(cp)
                    .expect("below the surrogates")
                    .to_lowercase();
                match (l.len(), l.next()) {
                    (1, Some(x)) if x.len_utf8() == 2 => {
                        let mut utf8 = [0; 2];
                        x.encode_utf8(&mut utf8);
                        utf8
                    }
                    _ => [0, 0],
                }
            })
            .collect();
        let mut letters = [0u64; 0x500 / 64];
        for ch in (0..0x500u32).filter_map(char::from_u32) {
            if ch.is_lowercase()
                || ch.is_uppercase()
                || matches!(ch, '\u{1C5}' | '\u{1C8}' | '\u{1CB}' | '\u{1F2}')
            {
                letters[ch as usize / 64] |= 1 << (ch as u32 % 64);
            }
        }
        CaseTables {
            copy: copy.into_boxed_slice(),
            small,
            letters,
        }
    })
}

impl CaseTables {
    /// Whether normalization copies `cp` unchanged.
    #[inline]
    fn copies(&self, cp: u32) -> bool {
        match self.copy.get(cp as usize / 64) {
            Some(bits) => bits >> (cp % 64) & 1 == 1,
            None => {
                char::from_u32(cp).is_some_and(|c| lowercase_is_identity(c) && !is_js_whitespace(c))
            }
        }
    }

    /// The UTF-8 bytes of the lowercase of `cp` from the small table, or
    /// `None` (outside the table, or a mapping that is not one two-byte
    /// character, like U+0130 → "i̇").
    #[inline]
    fn small(&self, cp: u32) -> Option<[u8; 2]> {
        self.small.get(cp as usize).copied().filter(|l| l[0] != 0)
    }
}

/// The code point and UTF-8 length of the character starting at `b[i]`, a
/// lead byte of valid UTF-8 (>= 0xC0).
#[inline(always)]
fn decode(b: &[u8], i: usize) -> (u32, usize) {
    let x = u32::from(b[i]);
    let cont = |k: usize| u32::from(b[i + k] & 0x3F);
    if x < 0xE0 {
        ((x & 0x1F) << 6 | cont(1), 2)
    } else if x < 0xF0 {
        ((x & 0x0F) << 12 | cont(1) << 6 | cont(2), 3)
    } else {
        ((x & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3), 4)
    }
}

/// Appends 1-4 bytes without a `memcpy` call.
#[inline]
fn push_small(out: &mut Vec<u8>, bytes: &[u8]) {
    for &x in bytes {
        out.push(x);
    }
}

/// ASCII byte -> its normalized byte: A-Z lowercased, JS whitespace
/// (\t \n \v \f \r and space; not 0x1C-0x1F) to a space.
static ASCII_LOWER: [u8; 128] = ascii_map(true);
/// The same without lowercasing (for text std has already lowercased).
static ASCII_KEEP: [u8; 128] = ascii_map(false);

const fn ascii_map(lower: bool) -> [u8; 128] {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let c = i as u8;
        t[i] = match c {
            b'A'..=b'Z' if lower => c + 32,
            b'\t'..=b'\r' => b' ',
            _ => c,
        };
        i += 1;
    }
    t
}

/// Byte-parallel tests on 8 ASCII bytes in a u64 (every byte < 0x80): each
/// returns 0x80 in the bytes that match, 0 elsewhere.
mod swar {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;

    /// Bytes equal to `b`.
    #[inline]
    pub fn eq(x: u64, b: u8) -> u64 {
        let t = x ^ (ONES * u64::from(b));
        !(((t & LOW7) + LOW7) | t | LOW7)
    }

    /// Bytes in `lo..=hi` (no carries: every byte + (0x80 - lo) stays below 0x100).
    #[inline]
    pub fn in_range(x: u64, lo: u8, hi: u8) -> u64 {
        let ge_lo = x + ONES * u64::from(0x80 - lo);
        let gt_hi = x + ONES * u64::from(0x80 - hi - 1);
        ge_lo & !gt_hi & HIGH
    }
}

/// Capital sigma: lowercases to σ or ς depending on its neighbours.
const CAPITAL_SIGMA: char = '\u{3A3}';
/// JS whitespace that is also Unicode Case_Ignorable (a format character), so
/// it does not end a word for the Final_Sigma rule.
const ZWNBSP: char = '\u{FEFF}';

/// What a neighbour of a capital sigma says about its Final_Sigma context:
/// `Some(true)` cased (and not case-ignorable), `Some(false)` neither cased
/// nor case-ignorable (the context ends there), `None` when it might be
/// case-ignorable (some characters, like U+0345, are both): the caller then
/// falls back to std. Only blocks whose letters are all plain Lu/Ll/Lt are
/// decided here: ASCII, Latin-1 to Latin Extended-B, Greek, Cyrillic.
fn sigma_neighbour(c: Option<char>) -> Option<bool> {
    let Some(c) = c else { return Some(false) };
    // Lu, Ll or Lt (called only below U+0500).
    let letter = || case_tables().letters[c as usize / 64] >> (c as u32 % 64) & 1 == 1;
    match c {
        // The only case-ignorable ASCII characters are ' . : ^ `.
        '\'' | '.' | ':' | '^' | '`' => None,
        _ if c.is_ascii() => Some(c.is_ascii_alphabetic()),
        '\u{C0}'..='\u{24F}'
        | '\u{386}'
        | '\u{388}'..='\u{3FF}'
        | '\u{400}'..='\u{481}'
        | '\u{48A}'..='\u{4FF}'
            if letter() =>
        {
            Some(true)
        }
        _ if is_js_whitespace(c) && c != ZWNBSP => Some(false),
        _ => None,
    }
}

/// Unicode's Final_Sigma for a capital sigma between `before` and `after`,
/// decided from its direct neighbours; `None` when a neighbour may be
/// case-ignorable and the full rule is needed.
fn final_sigma(before: &str, after: &str) -> Option<bool> {
    let preceded_by_cased = sigma_neighbour(before.chars().next_back())?;
    let followed_by_cased = sigma_neighbour(after.chars().next())?;
    Some(preceded_by_cased && !followed_by_cased)
}

/// Appends normalized text to `out`. Spaces are written eagerly (one per
/// whitespace run, none at the start); the caller drops a trailing one.
struct Collapser<'a> {
    out: &'a mut Vec<u8>,
    /// The last byte written is a collapsed space, or nothing was written yet.
    last_space: bool,
}

impl Collapser<'_> {
    /// An ASCII segment, branch-free: every byte is written (mapped) and the
    /// write position advances unless it is a space after a space. Word
    /// boundaries then cost no mispredicted branches.
    fn ascii(&mut self, seg: &[u8], map: &[u8; 128]) {
        let start = self.out.len();
        self.out.resize(start + seg.len(), 0);
        let dst = &mut self.out[start..];
        let mut j = 0;
        let mut last = usize::from(self.last_space);
        let lower = map[usize::from(b'A')] == b'a';
        let mut chunks = seg.chunks_exact(8);
        for chunk in &mut chunks {
            // Eight bytes at once when they need no collapsing: no \t-\r, no
            // two spaces in a row (also across the previous chunk).
            let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let sp = swar::eq(x, b' ');
            if swar::in_range(x, b'\t', b'\r') == 0
                && sp & (sp << 8) == 0
                && (last == 0 || sp & 0x80 == 0)
            {
                let y = if lower {
                    x | (swar::in_range(x, b'A', b'Z') >> 2)
                } else {
                    x
                };
                dst[j..j + 8].copy_from_slice(&y.to_le_bytes());
                j += 8;
                last = usize::from(sp >> 63 == 1);
                continue;
            }
            for &c in chunk {
                let m = map[usize::from(c & 0x7f)];
                let space = usize::from(m == b' ');
                dst[j] = m;
                j += 1 - (space & last);
                last = space;
            }
        }
        for &c in chunks.remainder() {
            let m = map[usize::from(c & 0x7f)];
            let space = usize::from(m == b' ');
            dst[j] = m;
            j += 1 - (space & last);
            last = space;
        }
        self.out.truncate(start + j);
        self.last_space = last == 1;
    }

    fn space(&mut self) {
        if !self.last_space {
            self.out.push(b' ');
            self.last_space = true;
        }
    }

    fn run(&mut self, text: &str, lower: bool) {
        let b = text.as_bytes();
        let tables = case_tables();
        let map = if lower { &ASCII_LOWER } else { &ASCII_KEEP };
        // Where the current word began (in `text` and in `out`): the reach of
        // a capital sigma's context. Only whitespace other than U+FEFF ends
        // a word, since U+FEFF is case-ignorable.
        let (mut word_text, mut word_out, mut word_last) = (0, self.out.len(), self.last_space);
        let mut i = 0;
        while i < b.len() {
            if b[i] < 0x80 {
                let end = i + ascii_prefix_len(&b[i..]);
                if end - i < SHORT_ASCII {
                    // A short stretch between non-ASCII characters: byte by
                    // byte costs less than setting up eight at a time.
                    for (k, &c) in b.iter().enumerate().take(end).skip(i) {
                        let m = map[usize::from(c)];
                        if m == b' ' {
                            self.space();
                            (word_text, word_out, word_last) = (k + 1, self.out.len(), true);
                        } else {
                            self.out.push(m);
                            self.last_space = false;
                        }
                    }
                    i = end;
                    continue;
                }
                self.ascii(&b[i..end], map);
                // The segment's ASCII bytes after its last whitespace map 1:1 to `out`.
                if let Some(k) = b[i..end].iter().rposition(|&c| map[usize::from(c)] == b' ') {
                    word_text = i + k + 1;
                    word_out = self.out.len() - (end - word_text);
                    word_last = true;
                }
                i = end;
                continue;
            }
            if lower {
                let (cp, len) = decode(b, i);
                if len == 2 {
                    // Two-byte characters (Latin, Greek, Cyrillic, ...) map
                    // through one cached table; only U+00A0 (a space) and
                    // capital sigma (context) take the general path.
                    if cp != 0xA0 && cp != CAPITAL_SIGMA as u32 {
                        if let Some(l) = tables.small(cp) {
                            self.out.extend_from_slice(&l);
                            self.last_space = false;
                            i += 2;
                            continue;
                        }
                    }
                } else {
                    // Longer characters that stay as they are (CJK, kana,
                    // emoji, ...) are copied a run at a time.
                    let start = i;
                    while i < b.len() && b[i] >= 0xE0 {
                        let (cp, len) = decode(b, i);
                        if !tables.copies(cp) {
                            break;
                        }
                        i += len;
                    }
                    if i > start {
                        self.out.extend_from_slice(&b[start..i]);
                        self.last_space = false;
                        continue;
                    }
                }
            }
            let ch = text[i..].chars().next().expect("i is on a char boundary");
            let len = ch.len_utf8();
            if is_js_whitespace(ch) {
                self.space();
                i += len;
                if ch != ZWNBSP {
                    (word_text, word_out, word_last) = (i, self.out.len(), true);
                }
                continue;
            }
            if lower && ch == CAPITAL_SIGMA {
                if let Some(is_final) = final_sigma(&text[..i], &text[i + len..]) {
                    self.out
                        .extend_from_slice(if is_final { "ς" } else { "σ" }.as_bytes());
                    self.last_space = false;
                    i += len;
                    continue;
                }
                // A case-ignorable neighbour (e.g. a combining mark): redo this
                // word with std's lowercasing, which implements the full
                // Final_Sigma context exactly as JS does.
                let end = text[i..]
                    .char_indices()
                    .find(|&(_, c)| is_js_whitespace(c) && c != ZWNBSP)
                    .map_or(text.len(), |(k, _)| i + k);
                self.out.truncate(word_out);
                self.last_space = word_last;
                self.run(&text[word_text..end].to_lowercase(), false);
                i = end;
                continue;
            }
            // In lowercasing mode the fast paths above took every character
            // that stays as it is or has a table mapping; the rest is std's.
            if !lower {
                push_small(self.out, &b[i..i + len]);
            } else {
                let mut tmp = [0u8; 4];
                for l in ch.to_lowercase() {
                    push_small(self.out, l.encode_utf8(&mut tmp).as_bytes());
                }
            }
            self.last_space = false;
            i += len;
        }
    }
}

/// ASCII stretches shorter than this are normalized byte by byte.
const SHORT_ASCII: usize = 16;

/// Length of the leading run of ASCII bytes, eight bytes at a time.
fn ascii_prefix_len(b: &[u8]) -> usize {
    let mut n = 0;
    for chunk in b.chunks_exact(8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let high = word & 0x8080_8080_8080_8080;
        if high != 0 {
            return n + (high.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + b[n..]
        .iter()
        .position(|&c| c >= 0x80)
        .unwrap_or(b.len() - n)
}

/// `normalize` into a byte buffer (cleared first): the hash's input.
fn normalize_bytes(text: &str, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(text.len());
    let mut c = Collapser {
        out,
        last_space: true,
    };
    if text.is_ascii() {
        c.ascii(text.as_bytes(), &ASCII_LOWER);
    } else {
        c.run(text, true);
    }
    if c.last_space && !out.is_empty() {
        out.pop();
    }
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
        fn ascii_matches_reference(s in "[ \t\n\u{b}\u{c}\r\u{1c}-\u{1f}a-zA-Z0-9.,!#@]{0,80}") {
            prop_assert_eq!(normalize(&s), reference(&s));
        }

        #[test]
        fn matches_reference(s in "(\\PC|[\u{9}-\u{D} \u{85}\u{A0}\u{2000}-\u{200B}\u{FEFF}Σσς])*") {
            prop_assert_eq!(normalize(&s), reference(&s));
        }
    }
}
