//! Shared pieces of the fuzz targets in `fuzz_targets/` (see docs/FUZZING.md).

pub mod js;
pub mod jsval;

use xbot_core::Error;

/// Every error the core returns carries a stable code (`UPPER_SNAKE`) and a
/// message; `allowed` lists the codes the call may return.
pub fn check_error(e: &Error, allowed: &[&str]) {
    let code = e.code();
    assert!(
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        "malformed code {code:?}"
    );
    assert!(
        allowed.contains(&code),
        "unexpected error code {code} (allowed: {allowed:?}): {e}"
    );
    assert!(!e.to_string().is_empty(), "{code} without a message");
}
