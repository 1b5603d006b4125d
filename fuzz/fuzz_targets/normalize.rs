//! `normalize_content` against the simple JS model in `xbot_fuzz::js`, and
//! `content_hash` against SHA-256 of the model's output.
//!
//! The first byte picks how the rest becomes text:
//! - UTF-8, lossy (invalid sequences become U+FFFD);
//! - UTF-16LE code units, lossy: a lone surrogate becomes U+FFFD, exactly as
//!   the napi and wasm bindings hand a JS string with one to the core;
//! - one character per byte from an alphabet of the characters the fast
//!   paths treat specially (whitespace, sigma and its neighbours, multi-char
//!   lowercase mappings), so the fuzzer reaches their combinations at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xbot_core::{api, content, keys::KeyContext};
use xbot_fuzz::js;

const ALPHABET: [char; 64] = [
    // ASCII: letters, digits, the case-ignorable punctuation, whitespace
    // (and 0x1C-0x1F, which JS does not count).
    'A',
    'z',
    'Σ',
    '1',
    '\'',
    '.',
    ':',
    '^',
    '`',
    ' ',
    '\t',
    '\n',
    '\u{B}',
    '\r',
    '\u{1C}',
    '\u{1F}',
    // Two-byte: Latin-1, Greek (final sigma), combining marks, U+0345.
    '\u{A0}',
    '\u{85}',
    'Ä',
    'ß',
    'İ',
    'ǅ',
    'Ω',
    'σ',
    'ς',
    'Ά',
    '\u{300}',
    '\u{301}',
    '\u{345}',
    'ʰ',
    '\u{37A}',
    '\u{387}',
    // Three-byte: whitespace, format characters, cased and uncased letters.
    '\u{1680}',
    '\u{2000}',
    '\u{200A}',
    '\u{200B}',
    '\u{2028}',
    '\u{202F}',
    '\u{205F}',
    '\u{3000}',
    '\u{FEFF}',
    '\u{180E}',
    '\u{200D}',
    'ẞ',
    'Ⅻ',
    'ⓐ',
    'Ａ',
    '漢',
    'ᾈ',
    'ῼ',
    '\u{1DBF}',
    '\u{2019}',
    '\u{FE13}',
    '\u{FFFD}',
    '\u{212A}',
    '\u{2126}',
    // Four-byte: cased (Deseret, Adlam), emoji, a variation selector.
    '𐐀',
    '𐐨',
    '𞤀',
    '😀',
    '\u{E0100}',
    '\u{1F3FB}',
    '𝐀',
    '\u{10FFFF}',
];

fn text(data: &[u8]) -> String {
    let Some((&mode, rest)) = data.split_first() else {
        return String::new();
    };
    match mode % 3 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => rest
            .iter()
            .map(|&b| ALPHABET[usize::from(b % 64)])
            .collect(),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let expected = js::normalize(&text);
    let got = api::normalize_content(&text);
    assert_eq!(got, expected, "normalize_content({text:?})");
    assert_eq!(
        api::content_hash(&text),
        js::sha256_hex(&expected),
        "content_hash({text:?})"
    );

    // The buffer-reusing and batch entry points give the same answers.
    let mut reused = String::from("left over from a previous call");
    content::normalize_into(&text, &mut reused);
    assert_eq!(reused, expected);
    if data.len().is_multiple_of(7) {
        let hashes = content::content_hash_batch(&[text.as_str(), "", text.as_str()]);
        assert_eq!(hashes[0], hashes[2]);
        let d = content::digest(&text, &KeyContext::default());
        assert_eq!((d.normalized, d.sha256), (expected, hashes[0].clone()));
    }
});
