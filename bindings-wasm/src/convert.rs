//! JS values ↔ core types, written out by hand with `js_sys` (a generic serde
//! bridge cost ~12 KB gzipped of the bundle for these few shapes). Arguments
//! are read by `xbot_core::args` through [`JsArg`], as the napi package does.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use xbot_core::args::{JsArg, JsKind};
use xbot_core::{bandit, keys, Error};

/// A JS `Error` whose `code` is the core's stable error code.
pub fn err(e: Error) -> JsValue {
    let js = js_sys::Error::new(&e.to_string());
    let _ = Reflect::set(&js, &"code".into(), &e.code().into());
    js.into()
}

/// [`JsArg`] over wasm-bindgen values: the core reads object-valued
/// arguments through it, with the same checks and messages as the napi package.
pub struct Js(pub JsValue);

impl JsArg for Js {
    fn kind(&self) -> JsKind {
        let v = &self.0;
        if v.is_undefined() {
            JsKind::Undefined
        } else if v.is_null() {
            JsKind::Null
        } else if Array::is_array(v) {
            JsKind::Array
        } else {
            match v.js_typeof().as_string().as_deref() {
                Some("boolean") => JsKind::Boolean,
                Some("number") => JsKind::Number,
                Some("string") => JsKind::String,
                Some("object") => JsKind::Object,
                Some("function") => JsKind::Function,
                _ => JsKind::Other,
            }
        }
    }

    fn string(&self) -> Option<String> {
        self.0.as_string()
    }

    fn number(&self) -> Option<f64> {
        self.0.as_f64()
    }

    fn entries(&self) -> Vec<(String, Self)> {
        Object::entries(self.0.unchecked_ref())
            .iter()
            .map(|pair| {
                let pair: Array = pair.unchecked_into();
                (pair.get(0).as_string().unwrap_or_default(), Js(pair.get(1)))
            })
            .collect()
    }

    fn elements(&self) -> Vec<Self> {
        Array::from(&self.0).iter().map(Js).collect()
    }

    fn get(&self, name: &str) -> Self {
        Js(Reflect::get(&self.0, &name.into()).unwrap_or_default())
    }
}

/// An optional argument as the core reads it.
pub fn opt(v: Option<JsValue>) -> Option<Js> {
    v.map(Js)
}

/// The `options` argument of the key functions.
pub fn key_options(v: Option<JsValue>) -> Result<Option<xbot_core::api::KeyOptions>, JsValue> {
    xbot_core::args::key_options(opt(v)).map_err(err)
}

/// A plain object built field by field.
pub struct Obj(Object);

impl Obj {
    pub fn new() -> Self {
        Obj(Object::new())
    }

    pub fn set(self, name: &str, value: impl Into<JsValue>) -> Self {
        let _ = Reflect::set(&self.0, &name.into(), &value.into());
        self
    }
}

impl From<Obj> for JsValue {
    fn from(o: Obj) -> JsValue {
        o.0.into()
    }
}

/// A number, or `null` when absent.
pub fn num_or_null(v: Option<u64>) -> JsValue {
    v.map_or(JsValue::NULL, |n| JsValue::from_f64(n as f64))
}

pub fn array<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> JsValue) -> JsValue {
    items.into_iter().map(f).collect::<Array>().into()
}

pub fn built_key(b: keys::BuiltKey) -> JsValue {
    Obj::new()
        .set("key", b.key)
        .set("family", b.family)
        .set("ttlSeconds", num_or_null(b.ttl_seconds))
        .set("redisType", b.redis_type.as_str())
        .into()
}

pub fn classified(c: Option<keys::Classified>) -> JsValue {
    let Some(c) = c else { return JsValue::NULL };
    let params = c
        .params
        .into_iter()
        .fold(Obj::new(), |o, (k, v)| o.set(&k, v));
    Obj::new()
        .set("family", c.family)
        .set("params", params)
        .set("prefix", c.prefix)
        .into()
}

pub fn catalog_entry(e: keys::CatalogEntry) -> JsValue {
    let params = array(e.params, |p| {
        Obj::new()
            .set("name", p.name)
            .set("format", p.format)
            .set("example", p.example)
            .into()
    });
    let by_env = Obj::new()
        .set("production", num_or_null(e.ttl_seconds_by_env.production))
        .set("staging", num_or_null(e.ttl_seconds_by_env.staging))
        .set("development", num_or_null(e.ttl_seconds_by_env.development));
    Obj::new()
        .set("name", e.name)
        .set("pattern", e.pattern)
        .set("params", params)
        .set("redisType", e.redis_type.as_str())
        .set("ttlSeconds", num_or_null(e.ttl_seconds))
        .set("ttlSecondsByEnv", by_env)
        .set("ttlClass", e.ttl_class.as_str())
        .set("hashTag", e.hash_tag)
        .set("purpose", e.purpose)
        .set("example", e.example)
        .into()
}

pub fn selection(s: bandit::Selection) -> JsValue {
    Obj::new()
        .set("id", s.id)
        .set("index", s.index as f64)
        .set("samples", array(s.samples, JsValue::from_f64))
        .into()
}
