//! A deliberately simple model of the JavaScript the bot runs,
//!
//! ```js
//! text.toLowerCase().replace(/\s+/g, ' ').trim()
//! ```
//!
//! written from the ECMAScript and Unicode rules, one step after the other,
//! one character at a time, and sharing no code with `xbot_core::content`
//! (which is fast and therefore clever: lookup tables, eight bytes at a time,
//! shortcuts for the Final_Sigma context). The `normalize` fuzz target checks
//! that the two agree.
//!
//! - `toLowerCase` (ECMAScript 22.1.3.28): each code point's full lowercase
//!   mapping (UnicodeData + SpecialCasing without language conditions), which
//!   is Rust's `char::to_lowercase`, except for the one context-dependent
//!   mapping: capital sigma is final sigma (ς) when preceded by a cased letter
//!   and not followed by one, case-ignorable characters in between skipped
//!   (Unicode 3.13, Final_Sigma).
//! - `\s` and `trim` (ECMAScript WhiteSpace + LineTerminator): the 25 code
//!   points listed in [`JS_WHITESPACE`].

use std::sync::OnceLock;

/// ECMAScript `WhiteSpace` (TAB, VT, FF, ZWNBSP, and every Zs code point) and
/// `LineTerminator` (LF, CR, LS, PS): what `\s` matches and `trim` removes.
pub const JS_WHITESPACE: [char; 25] = [
    '\u{0009}', // TAB
    '\u{000A}', // LF
    '\u{000B}', // VT
    '\u{000C}', // FF
    '\u{000D}', // CR
    '\u{0020}', // SPACE (Zs)
    '\u{00A0}', // NO-BREAK SPACE (Zs)
    '\u{1680}', // OGHAM SPACE MARK (Zs)
    '\u{2000}', // EN QUAD (Zs)
    '\u{2001}', // EM QUAD (Zs)
    '\u{2002}', // EN SPACE (Zs)
    '\u{2003}', // EM SPACE (Zs)
    '\u{2004}', // THREE-PER-EM SPACE (Zs)
    '\u{2005}', // FOUR-PER-EM SPACE (Zs)
    '\u{2006}', // SIX-PER-EM SPACE (Zs)
    '\u{2007}', // FIGURE SPACE (Zs)
    '\u{2008}', // PUNCTUATION SPACE (Zs)
    '\u{2009}', // THIN SPACE (Zs)
    '\u{200A}', // HAIR SPACE (Zs)
    '\u{2028}', // LINE SEPARATOR
    '\u{2029}', // PARAGRAPH SEPARATOR
    '\u{202F}', // NARROW NO-BREAK SPACE (Zs)
    '\u{205F}', // MEDIUM MATHEMATICAL SPACE (Zs)
    '\u{3000}', // IDEOGRAPHIC SPACE (Zs)
    '\u{FEFF}', // ZERO WIDTH NO-BREAK SPACE (BOM)
];

pub fn is_js_space(c: char) -> bool {
    JS_WHITESPACE.contains(&c)
}

/// General category Lt: the titlecase letters (stable since Unicode 4.0).
const TITLECASE: [char; 31] = [
    '\u{01C5}', '\u{01C8}', '\u{01CB}', '\u{01F2}', '\u{1F88}', '\u{1F89}', '\u{1F8A}', '\u{1F8B}',
    '\u{1F8C}', '\u{1F8D}', '\u{1F8E}', '\u{1F8F}', '\u{1F98}', '\u{1F99}', '\u{1F9A}', '\u{1F9B}',
    '\u{1F9C}', '\u{1F9D}', '\u{1F9E}', '\u{1F9F}', '\u{1FA8}', '\u{1FA9}', '\u{1FAA}', '\u{1FAB}',
    '\u{1FAC}', '\u{1FAD}', '\u{1FAE}', '\u{1FAF}', '\u{1FBC}', '\u{1FCC}', '\u{1FFC}',
];

/// Unicode `Cased`: Lowercase, Uppercase or Lt.
pub fn is_cased(c: char) -> bool {
    c.is_lowercase() || c.is_uppercase() || TITLECASE.contains(&c)
}

const SIGMA: char = '\u{3A3}';

/// Unicode `Case_Ignorable`, one bit per code point.
///
/// std keeps this property private, so it is read back from std's own
/// Final_Sigma behaviour on two-character probes (the only Unicode data a
/// fuzz crate can rely on to be the same version as std's `to_lowercase`):
/// in `"A" c "Σ"` the sigma is final exactly when `c` is case-ignorable or
/// cased, in `c "Σ"` exactly when `c` is cased and not case-ignorable. Built
/// once per process (about a second), checked against [`is_cased`].
fn case_ignorable_table() -> &'static [u64] {
    static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut bits = vec![0u64; 0x110000 / 64];
        let mut probe = String::new();
        let mut is_final = |before: &[char]| {
            probe.clear();
            probe.extend(before);
            probe.push(SIGMA);
            probe.to_lowercase().ends_with('ς')
        };
        for c in (0..0x110000u32).filter_map(char::from_u32) {
            let ignorable_or_cased = is_final(&['A', c]);
            let cased_not_ignorable = is_final(&[c]);
            let ignorable = ignorable_or_cased && !cased_not_ignorable;
            if ignorable {
                bits[c as usize / 64] |= 1 << (c as u32 % 64);
            } else {
                assert_eq!(
                    cased_not_ignorable,
                    is_cased(c),
                    "Cased of U+{:04X} disagrees with std",
                    c as u32
                );
            }
        }
        bits
    })
}

/// Unicode `Case_Ignorable` (Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter,
/// MidNumLet, Single_Quote: `'`, `.`, `:`, `·`, ...).
pub fn is_case_ignorable(c: char) -> bool {
    case_ignorable_table()[c as usize / 64] >> (c as u32 % 64) & 1 == 1
}

/// Final_Sigma for the capital sigma at `chars[i]`: before it, skipping
/// case-ignorable characters, a cased letter; after it, skipping
/// case-ignorable characters, no cased letter. (A character that is both
/// cased and case-ignorable, like U+0345, is skipped, as ICU and std do.)
fn is_final_sigma(chars: &[char], i: usize) -> bool {
    let mut before = chars[..i].iter().rev().filter(|&&c| !is_case_ignorable(c));
    let mut after = chars[i + 1..].iter().filter(|&&c| !is_case_ignorable(c));
    before.next().is_some_and(|&c| is_cased(c)) && !after.next().is_some_and(|&c| is_cased(c))
}

/// `String.prototype.toLowerCase`.
pub fn to_lower_case(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == SIGMA {
            out.push(if is_final_sigma(&chars, i) {
                'ς'
            } else {
                'σ'
            });
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `.replace(/\s+/g, ' ')`: every run of whitespace becomes one space.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in text.chars() {
        if is_js_space(c) {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// `.trim()`.
pub fn trim(text: &str) -> &str {
    text.trim_matches(is_js_space)
}

/// `text.toLowerCase().replace(/\s+/g, ' ').trim()`.
pub fn normalize(text: &str) -> String {
    trim(&collapse_whitespace(&to_lower_case(text))).to_string()
}

/// Lowercase hex SHA-256 of the UTF-8 bytes (Node's `createHash('sha256')
/// .update(s).digest('hex')`).
pub fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_as_node_prints_them() {
        assert_eq!(normalize("  Hello\t\tWORLD \n"), "hello world");
        assert_eq!(normalize("\u{FEFF}a\u{85}b\u{3000}c"), "a\u{85}b c");
        assert_eq!(normalize("ΟΔΟΣ Σ"), "οδος σ");
        assert_eq!(
            normalize("ΑΣ.Β ΑΣ. Α\u{301}Σ\u{301}"),
            "ασ.β ας. α\u{301}ς\u{301}"
        );
        assert_eq!(normalize("İ"), "i\u{307}");
        assert_eq!(normalize(" \u{A0} "), "");
        assert_eq!(
            sha256_hex("test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }

    #[test]
    fn properties() {
        assert!(
            is_case_ignorable('\'')
                && is_case_ignorable('\u{301}')
                && is_case_ignorable('\u{FEFF}')
        );
        assert!(is_case_ignorable('\u{345}') && is_cased('\u{345}'));
        assert!(!is_case_ignorable('a') && !is_case_ignorable(' ') && !is_case_ignorable('\u{85}'));
        assert!(is_cased('\u{1C5}') && !is_cased('1'));
    }

    #[test]
    fn lowercasing_agrees_with_std() {
        // std's `str::to_lowercase` implements the same two rules.
        for s in [
            "ΑΣ",
            "Σ",
            "AΣ\u{345}",
            "A\u{345}Σ",
            "\u{345}Σ",
            "ΑΣ'Α",
            "ΑΣ\u{FEFF}",
            "1Σ",
            "ǅΣ",
        ] {
            assert_eq!(to_lower_case(s), s.to_lowercase(), "{s:?}");
        }
    }
}
