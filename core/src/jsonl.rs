//! The JSON Lines protocol of `xbot-redis hash` (no TEXT argument), one line
//! at a time: an input line is a JSON string; its answer is the
//! [`ContentDigest`](crate::content::ContentDigest) as one JSON object, or
//! `{"line": n, "error": {"code", "message"}}` in its place, so output line n
//! always answers input line n. The runner only reads, writes and counts.

use crate::content::{digest, ContentDigest};
use crate::error::{Error, Result};
use crate::keys::KeyContext;
use serde_json::{json, Value};

/// What an input line must be (the `what` of its `INVALID_JSON` error).
pub const LINE_WHAT: &str = "input line (expected a JSON string)";

/// The digest of one input line (without its line break), which must be a
/// JSON string; anything else is `INVALID_JSON`.
pub fn hash_line(line: &str, ctx: &KeyContext) -> Result<ContentDigest> {
    let text: String = serde_json::from_str(line).map_err(|e| Error::InvalidJson {
        what: LINE_WHAT,
        reason: e.to_string(),
    })?;
    Ok(digest(&text, ctx))
}

/// The answer to input line `line_no` (1-based) when it was rejected with `err`.
pub fn error_line(line_no: usize, err: &Error) -> Value {
    json!({ "line": line_no, "error": { "code": err.code(), "message": err.to_string() } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_lines() {
        let ctx = KeyContext::default();
        let d = hash_line(r#""  A\tB ""#, &ctx).unwrap();
        assert_eq!(d, digest("a b", &ctx));
        for bad in ["", "not json", "42", r#"["a"]"#, r#""a" x"#, r#""\ud800""#] {
            let e = hash_line(bad, &ctx).unwrap_err();
            assert_eq!(e.code(), "INVALID_JSON", "{bad:?}");
            let v = error_line(7, &e);
            assert_eq!(v["line"], 7);
            assert_eq!(v["error"]["code"], "INVALID_JSON");
            let text = serde_json::to_string(&v).unwrap();
            assert!(!text.contains('\n'), "{text}");
            assert!(text.starts_with(r#"{"line":7,"error":{"code":"INVALID_JSON","message":"invalid JSON for input line (expected a JSON string): "#), "{text}");
        }
    }
}
