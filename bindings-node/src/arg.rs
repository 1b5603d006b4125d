//! [`JsArg`] over N-API values: the core reads object-valued arguments
//! (options, params, arms, models) through it, with the same checks and
//! messages as the wasm package.

use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::{sys, JsValue};
use std::ptr;
use xbot_core::args::{JsArg, JsKind};

/// A JS value of the current call.
#[derive(Clone, Copy)]
pub struct Arg {
    env: sys::napi_env,
    value: sys::napi_value,
}

impl From<Unknown<'_>> for Arg {
    fn from(u: Unknown<'_>) -> Self {
        let v = u.value();
        Arg {
            env: v.env,
            value: v.value,
        }
    }
}

impl Arg {
    /// The string, converted in one copy (the hashing fast path), when the value is one.
    pub fn text(&self) -> Option<crate::text::Text> {
        (self.kind() == JsKind::String)
            // SAFETY: the value is a string of the current call.
            .then(|| unsafe { crate::text::Text::from_napi_value(self.env, self.value) }.ok())
            .flatten()
    }

    /// The elements of an array as [`Arg`]s (empty for anything else).
    pub fn items(&self) -> Vec<Arg> {
        (0..self.length()).map(|i| self.element(i)).collect()
    }

    fn with(&self, value: sys::napi_value) -> Arg {
        Arg { value, ..*self }
    }

    fn ok(status: sys::napi_status) -> bool {
        status == sys::Status::napi_ok
    }

    fn length(&self) -> u32 {
        let mut n = 0;
        // SAFETY: `env` and `value` belong to the current call; `n` is written on success.
        let ok = Self::ok(unsafe { sys::napi_get_array_length(self.env, self.value, &mut n) });
        if ok {
            n
        } else {
            0
        }
    }

    fn element(&self, i: u32) -> Arg {
        let mut v = ptr::null_mut();
        // SAFETY: as above; on failure `v` stays null and reads as undefined.
        unsafe { sys::napi_get_element(self.env, self.value, i, &mut v) };
        self.with(v)
    }

    fn property(&self, key: sys::napi_value) -> Arg {
        let mut v = ptr::null_mut();
        // SAFETY: as above.
        unsafe { sys::napi_get_property(self.env, self.value, key, &mut v) };
        self.with(v)
    }
}

impl JsArg for Arg {
    fn kind(&self) -> JsKind {
        if self.value.is_null() {
            return JsKind::Undefined;
        }
        let mut t = 0;
        // SAFETY: as above.
        if !Self::ok(unsafe { sys::napi_typeof(self.env, self.value, &mut t) }) {
            return JsKind::Other;
        }
        match t {
            sys::ValueType::napi_undefined => JsKind::Undefined,
            sys::ValueType::napi_null => JsKind::Null,
            sys::ValueType::napi_boolean => JsKind::Boolean,
            sys::ValueType::napi_number => JsKind::Number,
            sys::ValueType::napi_string => JsKind::String,
            sys::ValueType::napi_function => JsKind::Function,
            sys::ValueType::napi_object => {
                let mut array = false;
                // SAFETY: as above.
                unsafe { sys::napi_is_array(self.env, self.value, &mut array) };
                if array {
                    JsKind::Array
                } else {
                    JsKind::Object
                }
            }
            _ => JsKind::Other,
        }
    }

    fn string(&self) -> Option<String> {
        (self.kind() == JsKind::String)
            // SAFETY: the value is a string of the current call.
            .then(|| unsafe { String::from_napi_value(self.env, self.value) }.ok())
            .flatten()
    }

    fn number(&self) -> Option<f64> {
        (self.kind() == JsKind::Number)
            // SAFETY: the value is a number of the current call.
            .then(|| unsafe { f64::from_napi_value(self.env, self.value) }.ok())
            .flatten()
    }

    /// `Object.entries`: own, enumerable, string keys.
    fn entries(&self) -> Vec<(String, Self)> {
        let mut names = ptr::null_mut();
        // SAFETY: as above.
        let ok = Self::ok(unsafe {
            sys::napi_get_all_property_names(
                self.env,
                self.value,
                sys::KeyCollectionMode::own_only,
                sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                sys::KeyConversion::numbers_to_strings,
                &mut names,
            )
        });
        if !ok {
            return Vec::new();
        }
        let names = self.with(names);
        (0..names.length())
            .filter_map(|i| {
                let key = names.element(i);
                Some((key.string()?, self.property(key.value)))
            })
            .collect()
    }

    fn elements(&self) -> Vec<Self> {
        (0..self.length()).map(|i| self.element(i)).collect()
    }

    fn get(&self, name: &str) -> Self {
        let mut key = ptr::null_mut();
        // SAFETY: `name` is valid UTF-8 of the given length.
        unsafe {
            sys::napi_create_string_utf8(
                self.env,
                name.as_ptr().cast(),
                name.len() as isize,
                &mut key,
            )
        };
        self.property(key)
    }
}
