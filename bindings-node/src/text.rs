//! JS string → Rust `String` in one copy. napi's own `String` conversion asks
//! V8 for the UTF-8 length (a full pass) and then copies (a second pass) into
//! a zeroed buffer; for hashing, that was most of the cost of a call. Here the
//! UTF-16 length (free) bounds the UTF-8 size (at most 3 bytes per unit), so
//! V8 writes the bytes once. Lone surrogates become U+FFFD, as before.

use napi::bindgen_prelude::{FromNapiValue, TypeName, ValidateNapiValue, ValueType};
use napi::{sys, Error, Result, Status};
use std::ptr;

/// A string argument (TypeScript: `string`).
pub struct Text(pub String);

impl TypeName for Text {
    fn type_name() -> &'static str {
        "String"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for Text {}

impl FromNapiValue for Text {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let expected = || Error::new(Status::StringExpected, "expected a string".to_string());
        let mut units = 0usize;
        // SAFETY: a null buffer asks only for the length, in UTF-16 code units.
        if unsafe { sys::napi_get_value_string_utf16(env, value, ptr::null_mut(), 0, &mut units) }
            != sys::Status::napi_ok
        {
            return Err(expected());
        }
        let capacity = units * 3 + 1; // + the NUL V8 writes
        let mut buf = Vec::<u8>::with_capacity(capacity);
        let mut written = 0usize;
        // SAFETY: `buf` has `capacity` writable bytes; V8 writes `written` (< capacity) of them.
        let status = unsafe {
            sys::napi_get_value_string_utf8(
                env,
                value,
                buf.as_mut_ptr().cast(),
                capacity,
                &mut written,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(expected());
        }
        // SAFETY: V8 initialised the first `written` bytes.
        unsafe { buf.set_len(written) };
        String::from_utf8(buf)
            .map(Text)
            .map_err(|_| Error::new(Status::InvalidArg, "invalid UTF-8 from V8".to_string()))
    }
}
