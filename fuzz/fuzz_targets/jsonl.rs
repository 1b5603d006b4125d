//! The CLI's `xbot-redis hash` JSON Lines input, one line at a time
//! (`xbot_core::jsonl`, which the runner's read loop calls).
//!
//! The input is split into lines as `BufRead::lines` splits stdin. For each:
//! - `hash_line` accepts exactly the lines that are one JSON string
//!   (checked against `serde_json::Value`), and then answers with the digest
//!   of that string: normalized text, its SHA-256, and the two dedup keys,
//!   which classify back to their families with that hash;
//! - a refused line is `INVALID_JSON`, and its answer (`error_line`) names
//!   the line and the code;
//! - every answer serializes to exactly one line of JSON (no line break), so
//!   output line n always answers input line n.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use xbot_core::jsonl::{error_line, hash_line};
use xbot_core::keys::{classify_key, KeyContext};
use xbot_fuzz::{check_error, js};

fn one_line(text: String) -> Value {
    assert!(
        !text.contains('\n') && !text.contains('\r'),
        "{text:?} spans lines"
    );
    serde_json::from_str(&text).expect("answers are JSON")
}

fuzz_target!(|data: &[u8]| {
    let Some((&p, rest)) = data.split_first() else {
        return;
    };
    let prefix = ["app:", "prod:", "stg:"][usize::from(p % 3)];
    let ctx = KeyContext::resolve(Some(prefix), None).expect("well-known prefix");
    let input = String::from_utf8_lossy(rest);
    // BufRead::lines: split at '\n', drop one '\r' before it, no empty last line.
    if input.is_empty() {
        return;
    }
    let body = input.strip_suffix('\n').unwrap_or(&input);
    for (i, line) in body.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let as_value = serde_json::from_str::<Value>(line);
        match hash_line(line, &ctx) {
            Ok(d) => {
                let Ok(Value::String(text)) = as_value else {
                    panic!("{line:?} accepted but is not a JSON string");
                };
                assert_eq!(d.normalized, js::normalize(&text));
                assert_eq!(d.sha256, js::sha256_hex(&d.normalized));
                for (key, family) in [
                    (&d.content_hash_key, "content_hash.sha256"),
                    (&d.dedup_key, "dedup.tweet"),
                ] {
                    let c = classify_key(key, Some(&ctx.prefix)).expect("dedup keys classify");
                    assert_eq!((c.family, &c.params["hash"]), (family, &d.sha256));
                }
                let v = one_line(serde_json::to_string(&d).expect("digests serialize"));
                assert_eq!(v["sha256"], d.sha256.as_str());
            }
            Err(e) => {
                check_error(&e, &["INVALID_JSON"]);
                assert!(
                    !matches!(as_value, Ok(Value::String(_))),
                    "{line:?} is a JSON string but was refused: {e}"
                );
                let v = one_line(error_line(i + 1, &e).to_string());
                assert_eq!(v["line"], i + 1);
                assert_eq!(v["error"]["code"], "INVALID_JSON");
            }
        }
    }
});
