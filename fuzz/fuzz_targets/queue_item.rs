//! Queue item validation: `QueueItem::from_json` of any text never panics
//! and refuses with `INVALID_JSON`, `INVALID_ITEM` or `PAYLOAD_TOO_LARGE`;
//! an item it accepts is valid, serializes (`to_json`), and that JSON parses
//! back to an equal item and serializes to the same text again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xbot_core::queue::QueueItem;
use xbot_fuzz::check_error;

fuzz_target!(|data: &[u8]| {
    let json = String::from_utf8_lossy(data);
    let item = match QueueItem::from_json(&json) {
        Ok(item) => item,
        Err(e) => return check_error(&e, &["INVALID_JSON", "INVALID_ITEM", "PAYLOAD_TOO_LARGE"]),
    };
    item.validate().expect("an accepted item is valid");
    let out = item
        .to_json()
        .unwrap_or_else(|e| panic!("accepted {json:?} but cannot serialize it: {e}"));
    let back = QueueItem::from_json(&out)
        .unwrap_or_else(|e| panic!("{json:?} serialized as {out:?}, which is refused: {e}"));
    assert_eq!(back, item, "{json:?} -> {out:?}");
    assert_eq!(back.to_json().unwrap(), out, "serialization is not stable");
});
