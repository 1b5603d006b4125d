//! JS values ↔ core types, written out by hand with `js_sys`: a generic
//! serde bridge cost ~40 KB of the bundle for these few shapes. Bad shapes are
//! `INVALID_JSON` errors that name the argument and the field.

use js_sys::{Array, Object, Reflect};
use std::collections::BTreeMap;
use wasm_bindgen::{JsCast, JsValue};
use xbot_core::{api, bandit, keys, model, Error};

/// A JS `Error` whose `code` is the core's stable error code.
pub fn err(e: Error) -> JsValue {
    let js = js_sys::Error::new(&e.to_string());
    let _ = Reflect::set(&js, &"code".into(), &e.code().into());
    js.into()
}

fn invalid(what: &'static str, reason: String) -> JsValue {
    err(Error::InvalidJson { what, reason })
}

/// `null` and `undefined` both mean "not given".
pub fn given(v: Option<JsValue>) -> Option<JsValue> {
    v.filter(|v| !v.is_null() && !v.is_undefined())
}

/// How a value reads in a message: `null`, `array`, or its `typeof`.
fn kind(v: &JsValue) -> String {
    if v.is_null() {
        "null".into()
    } else if Array::is_array(v) {
        "array".into()
    } else {
        v.js_typeof().as_string().unwrap_or_default()
    }
}

/// The own enumerable `[name, value]` pairs of a plain object.
fn entries(what: &'static str, v: &JsValue) -> Result<Vec<(String, JsValue)>, JsValue> {
    if !v.is_object() || Array::is_array(v) {
        return Err(invalid(
            what,
            format!("expected an object, got {}", kind(v)),
        ));
    }
    Ok(Object::entries(v.unchecked_ref())
        .iter()
        .map(|pair| {
            let pair: Array = pair.unchecked_into();
            (pair.get(0).as_string().unwrap_or_default(), pair.get(1))
        })
        .collect())
}

fn number(what: &'static str, field: &str, v: &JsValue) -> Result<f64, JsValue> {
    v.as_f64()
        .ok_or_else(|| invalid(what, format!("`{field}` must be a number, got {}", kind(v))))
}

/// `{prefix?, env?}`; an unknown field is an error, so a typo is not ignored.
pub fn key_options(v: Option<JsValue>) -> Result<Option<api::KeyOptions>, JsValue> {
    let Some(v) = given(v) else { return Ok(None) };
    let mut options = api::KeyOptions::default();
    for (name, value) in entries("options", &v)? {
        let slot = match name.as_str() {
            "prefix" => &mut options.prefix,
            "env" => &mut options.env,
            _ => {
                return Err(invalid(
                    "options",
                    format!("unknown field `{name}`, expected `prefix` or `env`"),
                ))
            }
        };
        *slot = match given(Some(value)) {
            None => None,
            Some(s) => Some(s.as_string().ok_or_else(|| {
                invalid(
                    "options",
                    format!("`{name}` must be a string, got {}", kind(&s)),
                )
            })?),
        };
    }
    Ok(Some(options))
}

/// `Record<string, string | number>`.
pub fn params(v: Option<JsValue>) -> Result<Option<BTreeMap<String, api::ParamValue>>, JsValue> {
    let Some(v) = given(v) else { return Ok(None) };
    let mut out = BTreeMap::new();
    for (name, value) in entries("params", &v)? {
        let value = match (value.as_string(), value.as_f64()) {
            (Some(s), _) => api::ParamValue::Str(s),
            (_, Some(n)) => api::ParamValue::Num(n),
            _ => {
                return Err(invalid(
                    "params",
                    format!(
                        "`{name}` must be a string or a number, got {}",
                        kind(&value)
                    ),
                ))
            }
        };
        out.insert(name, value);
    }
    Ok(Some(out))
}

/// `[{id, alpha, beta}, ...]`.
pub fn arms(v: &JsValue) -> Result<Vec<bandit::Arm>, JsValue> {
    const WHAT: &str = "arms ([{id, alpha, beta}, ...])";
    if !Array::is_array(v) {
        return Err(invalid(WHAT, format!("expected an array, got {}", kind(v))));
    }
    let field = |arm: &JsValue, name: &str| Reflect::get(arm, &name.into()).unwrap_or_default();
    Array::from(v)
        .iter()
        .enumerate()
        .map(|(i, arm)| {
            if !arm.is_object() {
                return Err(invalid(
                    WHAT,
                    format!("arm {i} is {}, not an object", kind(&arm)),
                ));
            }
            let id = field(&arm, "id");
            Ok(bandit::Arm {
                id: id.as_string().ok_or_else(|| {
                    invalid(
                        WHAT,
                        format!("arm {i}: `id` must be a string, got {}", kind(&id)),
                    )
                })?,
                alpha: number(WHAT, "alpha", &field(&arm, "alpha"))?,
                beta: number(WHAT, "beta", &field(&arm, "beta"))?,
            })
        })
        .collect()
}

/// `Record<string, number>`.
pub fn numbers(what: &'static str, v: &JsValue) -> Result<BTreeMap<String, f64>, JsValue> {
    let mut out = BTreeMap::new();
    for (name, value) in entries(what, v)? {
        let n = number(what, &name, &value)?;
        out.insert(name, n);
    }
    Ok(out)
}

/// `{bias?, weights?}` (both default to zero / none).
pub fn logistic_model(v: &JsValue) -> Result<model::LogisticModel, JsValue> {
    const WHAT: &str = "weights ({bias, weights})";
    let mut m = model::LogisticModel::default();
    for (name, value) in entries(WHAT, v)? {
        match name.as_str() {
            "bias" => m.bias = number(WHAT, "bias", &value)?,
            "weights" => m.weights = numbers(WHAT, &value)?,
            _ => {}
        }
    }
    Ok(m)
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
