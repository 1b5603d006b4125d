//! Object-valued arguments as JavaScript passes them, read the same way by
//! both bindings: each implements [`JsArg`] over its own value type (napi's
//! `Unknown`, wasm-bindgen's `JsValue`) and the walking, the checks and the
//! messages live here once. A bad shape is an `INVALID_JSON` error naming the
//! argument and the field; an unknown option is refused, not ignored (a typo
//! like `{prefx: 'prod:'}` must not silently build `app:` keys).

use crate::api::{KeyOptions, ParamValue};
use crate::bandit::Arm;
use crate::error::{Error, Result};
use crate::model::LogisticModel;
use std::collections::BTreeMap;

/// What a JS value is, as messages name it (`typeof`, with `null` and `array`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsKind {
    Undefined,
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
    Function,
    /// symbol, bigint, external.
    Other,
}

impl JsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JsKind::Undefined => "undefined",
            JsKind::Null => "null",
            JsKind::Boolean => "boolean",
            JsKind::Number => "number",
            JsKind::String => "string",
            JsKind::Array => "array",
            JsKind::Object => "object",
            JsKind::Function => "function",
            JsKind::Other => "another type",
        }
    }
}

/// Read access to a JS value, implemented by each binding.
pub trait JsArg: Sized {
    fn kind(&self) -> JsKind;
    /// The string, when the value is one.
    fn string(&self) -> Option<String>;
    /// The number, when the value is one.
    fn number(&self) -> Option<f64>;
    /// Own enumerable string-keyed properties in order (`Object.entries`).
    fn entries(&self) -> Vec<(String, Self)>;
    /// The elements of an array.
    fn elements(&self) -> Vec<Self>;
    /// A property (`undefined` when absent).
    fn get(&self, name: &str) -> Self;
}

fn invalid(what: &'static str, reason: String) -> Error {
    Error::InvalidJson { what, reason }
}

/// `null` and `undefined` both mean "not given".
fn is_given<V: JsArg>(v: &V) -> bool {
    !matches!(v.kind(), JsKind::Null | JsKind::Undefined)
}

fn given<V: JsArg>(v: Option<V>) -> Option<V> {
    v.filter(is_given)
}

fn object<V: JsArg>(what: &'static str, v: &V) -> Result<Vec<(String, V)>> {
    match v.kind() {
        JsKind::Object => Ok(v.entries()),
        k => Err(invalid(
            what,
            format!("expected an object, got {}", k.as_str()),
        )),
    }
}

fn number<V: JsArg>(what: &'static str, field: &str, v: &V) -> Result<f64> {
    v.number().ok_or_else(|| {
        invalid(
            what,
            format!("`{field}` must be a number, got {}", v.kind().as_str()),
        )
    })
}

/// What a wrong argument was, for messages: its type, and a short rendering
/// of strings and numbers (`string "50"`, `number NaN` is fine, `boolean`).
fn got<V: JsArg>(v: &V) -> String {
    match v.kind() {
        JsKind::String => {
            let s = v.string().unwrap_or_default();
            let short: String = s.chars().take(40).collect();
            format!(
                "string {:?}{}",
                short,
                if short.len() < s.len() { "…" } else { "" }
            )
        }
        JsKind::Number => format!(
            "number {}",
            crate::error::num(v.number().unwrap_or(f64::NAN))
        ),
        k => k.as_str().to_string(),
    }
}

/// A required string argument: anything else is `INVALID_ARGUMENT` naming `param`.
pub fn string_arg<V: JsArg>(param: &'static str, v: &V) -> Result<String> {
    v.string().ok_or_else(|| Error::InvalidArgument {
        param,
        expected: "a string",
        got: got(v),
    })
}

/// A required number argument (no coercion: `"50"` is refused, not read as 50).
pub fn number_arg<V: JsArg>(param: &'static str, v: &V) -> Result<f64> {
    v.number().ok_or_else(|| Error::InvalidArgument {
        param,
        expected: "a number",
        got: got(v),
    })
}

/// An optional number argument (`null`/`undefined` = not given).
pub fn opt_number_arg<V: JsArg>(param: &'static str, v: Option<V>) -> Result<Option<f64>> {
    given(v).map(|v| number_arg(param, &v)).transpose()
}

/// An optional string argument (`null`/`undefined` = not given).
pub fn opt_string_arg<V: JsArg>(param: &'static str, v: Option<V>) -> Result<Option<String>> {
    given(v).map(|v| string_arg(param, &v)).transpose()
}

/// An array of strings; a wrong element is named by its index (`texts[3]`).
pub fn strings_arg<V: JsArg>(param: &'static str, v: &V) -> Result<Vec<String>> {
    if v.kind() != JsKind::Array {
        return Err(Error::InvalidArgument {
            param,
            expected: "an array of strings",
            got: got(v),
        });
    }
    v.elements()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.string().ok_or_else(|| Error::InvalidArgument {
                param,
                expected: "an array of strings",
                got: format!("{} at index {i}", got(e)),
            })
        })
        .collect()
}

/// `{prefix?, env?}` (`null`/`undefined` = not given).
pub fn key_options<V: JsArg>(v: Option<V>) -> Result<Option<KeyOptions>> {
    const WHAT: &str = "options ({prefix, env})";
    let Some(v) = given(v) else { return Ok(None) };
    let mut options = KeyOptions::default();
    for (name, value) in object(WHAT, &v)? {
        let slot = match name.as_str() {
            "prefix" => &mut options.prefix,
            "env" => &mut options.env,
            _ => {
                return Err(invalid(
                    WHAT,
                    format!("unknown field `{name}`, expected `prefix` or `env`"),
                ))
            }
        };
        *slot = match given(Some(value)) {
            None => None,
            Some(s) => Some(s.string().ok_or_else(|| {
                invalid(
                    WHAT,
                    format!("`{name}` must be a string, got {}", s.kind().as_str()),
                )
            })?),
        };
    }
    Ok(Some(options))
}

/// A push's options `{id?, type?, priority?, notBeforeMs?}` (`null`/`undefined` = not given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushOptions {
    pub id: Option<String>,
    pub kind: Option<String>,
    pub priority: Option<f64>,
    pub not_before_ms: Option<f64>,
}

/// Reads `{id?, type?, priority?, notBeforeMs?}`; a value of the wrong type is
/// the error its field would give (`INVALID_PRIORITY`, `INVALID_ITEM`, ...).
pub fn push_options<V: JsArg>(v: Option<V>) -> Result<PushOptions> {
    const WHAT: &str = "push options ({id, type, priority, notBeforeMs})";
    let mut out = PushOptions::default();
    let Some(v) = given(v) else { return Ok(out) };
    for (name, value) in object(WHAT, &v)? {
        let Some(value) = given(Some(value)) else {
            continue;
        };
        let kind = value.kind().as_str();
        match name.as_str() {
            "id" | "type" => {
                let field = if name == "id" { "id" } else { "type" };
                let s = value.string().ok_or_else(|| Error::InvalidItem {
                    field,
                    reason: format!("must be a string, got {kind}"),
                })?;
                if name == "id" {
                    out.id = Some(s);
                } else {
                    out.kind = Some(s);
                }
            }
            "priority" => {
                out.priority = Some(value.number().ok_or_else(|| Error::InvalidPriority {
                    value: format!("({kind})"),
                })?)
            }
            "notBeforeMs" => {
                out.not_before_ms = Some(value.number().ok_or_else(|| Error::InvalidTimestamp {
                    value: format!("({kind})"),
                    reason: "notBeforeMs must be epoch milliseconds (a number)".into(),
                })?)
            }
            _ => {
                return Err(invalid(
                    WHAT,
                    format!(
                    "unknown field `{name}`, expected `id`, `type`, `priority` or `notBeforeMs`"
                ),
                ))
            }
        }
    }
    Ok(out)
}

/// `Record<string, string | number>` (`null`/`undefined` = none).
pub fn params<V: JsArg>(v: Option<V>) -> Result<Option<BTreeMap<String, ParamValue>>> {
    const WHAT: &str = "params";
    let Some(v) = given(v) else { return Ok(None) };
    let mut out = BTreeMap::new();
    for (name, value) in object(WHAT, &v)? {
        let value = match (value.string(), value.number()) {
            (Some(s), _) => ParamValue::Str(s),
            (_, Some(n)) => ParamValue::Num(n),
            _ => {
                return Err(invalid(
                    WHAT,
                    format!(
                        "`{name}` must be a string or a number, got {}",
                        value.kind().as_str()
                    ),
                ))
            }
        };
        out.insert(name, value);
    }
    Ok(Some(out))
}

/// `[{id, alpha, beta}, ...]` (other fields of an arm are ignored).
pub fn arms<V: JsArg>(v: &V) -> Result<Vec<Arm>> {
    const WHAT: &str = "arms ([{id, alpha, beta}, ...])";
    if v.kind() != JsKind::Array {
        return Err(invalid(
            WHAT,
            format!("expected an array, got {}", v.kind().as_str()),
        ));
    }
    v.elements()
        .iter()
        .enumerate()
        .map(|(i, arm)| {
            if arm.kind() != JsKind::Object {
                return Err(invalid(
                    WHAT,
                    format!("arm {i} is {}, not an object", arm.kind().as_str()),
                ));
            }
            let id = arm.get("id");
            let field = |name: &str| {
                let value = arm.get(name);
                value.number().ok_or_else(|| {
                    invalid(
                        WHAT,
                        format!(
                            "arm {i}: `{name}` must be a number, got {}",
                            value.kind().as_str()
                        ),
                    )
                })
            };
            Ok(Arm {
                id: id.string().ok_or_else(|| {
                    invalid(
                        WHAT,
                        format!("arm {i}: `id` must be a string, got {}", id.kind().as_str()),
                    )
                })?,
                alpha: field("alpha")?,
                beta: field("beta")?,
            })
        })
        .collect()
}

/// `Record<string, number>`.
pub fn numbers<V: JsArg>(what: &'static str, v: &V) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (name, value) in object(what, v)? {
        let n = number(what, &name, &value)?;
        out.insert(name, n);
    }
    Ok(out)
}

/// `{bias?, weights?}` (both default to zero / none; other fields are ignored).
pub fn logistic_model<V: JsArg>(v: &V) -> Result<LogisticModel> {
    const WHAT: &str = "weights ({bias, weights})";
    let mut m = LogisticModel::default();
    for (name, value) in object(WHAT, v)? {
        match name.as_str() {
            "bias" if is_given(&value) => m.bias = number(WHAT, "bias", &value)?,
            "weights" if is_given(&value) => m.weights = numbers(WHAT, &value)?,
            _ => {}
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// JSON as a stand-in for JS values (a missing property reads as `undefined`).
    #[derive(Clone)]
    struct J(Option<Value>);

    impl JsArg for J {
        fn kind(&self) -> JsKind {
            match &self.0 {
                None => JsKind::Undefined,
                Some(Value::Null) => JsKind::Null,
                Some(Value::Bool(_)) => JsKind::Boolean,
                Some(Value::Number(_)) => JsKind::Number,
                Some(Value::String(_)) => JsKind::String,
                Some(Value::Array(_)) => JsKind::Array,
                Some(Value::Object(_)) => JsKind::Object,
            }
        }
        fn string(&self) -> Option<String> {
            self.0.as_ref()?.as_str().map(str::to_string)
        }
        fn number(&self) -> Option<f64> {
            self.0.as_ref()?.as_f64()
        }
        fn entries(&self) -> Vec<(String, Self)> {
            match &self.0 {
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| (k.clone(), J(Some(v.clone()))))
                    .collect(),
                _ => Vec::new(),
            }
        }
        fn elements(&self) -> Vec<Self> {
            match &self.0 {
                Some(Value::Array(a)) => a.iter().map(|v| J(Some(v.clone()))).collect(),
                _ => Vec::new(),
            }
        }
        fn get(&self, name: &str) -> Self {
            J(self.0.as_ref().and_then(|v| v.get(name)).cloned())
        }
    }

    fn j(v: Value) -> J {
        J(Some(v))
    }

    fn message(e: Error) -> String {
        assert_eq!(e.code(), "INVALID_JSON");
        e.to_string()
    }

    #[test]
    fn options_are_read_and_typos_refused() {
        let o = key_options(Some(j(json!({"prefix": "stg:", "env": null}))))
            .unwrap()
            .unwrap();
        assert_eq!((o.prefix.as_deref(), o.env), (Some("stg:"), None));
        assert!(key_options(Some(j(json!(null)))).unwrap().is_none());
        assert!(key_options::<J>(None).unwrap().is_none());
        let typo = key_options(Some(j(json!({"prefx": "a:"})))).unwrap_err();
        assert_eq!(typo.code(), "INVALID_JSON");
        let e = message(typo);
        assert!(
            e.contains("unknown field `prefx`, expected `prefix` or `env`"),
            "{e}"
        );
        let e = message(key_options(Some(j(json!({"prefix": 5})))).unwrap_err());
        assert!(e.contains("`prefix` must be a string, got number"), "{e}");
        let e = message(key_options(Some(j(json!("prod:")))).unwrap_err());
        assert!(e.contains("expected an object, got string"), "{e}");
    }

    #[test]
    fn params_arms_and_models() {
        let p = params(Some(j(json!({"tweetId": 42, "b": "x"}))))
            .unwrap()
            .unwrap();
        assert!(matches!(p["tweetId"], ParamValue::Num(n) if n == 42.0));
        let e = message(params(Some(j(json!({"tweetId": true})))).unwrap_err());
        assert!(
            e.contains("`tweetId` must be a string or a number, got boolean"),
            "{e}"
        );
        let e = message(params(Some(j(json!([1])))).unwrap_err());
        assert!(e.contains("expected an object, got array"), "{e}");

        let a = arms(&j(
            json!([{"id": "a", "alpha": 1, "beta": 2, "note": "ignored"}]),
        ))
        .unwrap();
        assert_eq!(
            a,
            [Arm {
                id: "a".into(),
                alpha: 1.0,
                beta: 2.0
            }]
        );
        let e = message(arms(&j(json!([{"id": "a", "alpha": 1}]))).unwrap_err());
        assert!(
            e.contains("arm 0: `beta` must be a number, got undefined"),
            "{e}"
        );
        let e = message(arms(&j(json!([null]))).unwrap_err());
        assert!(e.contains("arm 0 is null, not an object"), "{e}");
        let e = message(arms(&j(json!("a"))).unwrap_err());
        assert!(e.contains("expected an array, got string"), "{e}");

        let m = logistic_model(&j(json!({"bias": 0.5, "weights": {"f": 2}, "x": 1}))).unwrap();
        assert_eq!((m.bias, m.weights["f"]), (0.5, 2.0));
        assert_eq!(
            logistic_model(&j(json!({}))).unwrap(),
            LogisticModel::default()
        );
        let e = message(logistic_model(&j(json!({"weights": {"a": "x"}}))).unwrap_err());
        assert!(e.contains("`a` must be a number, got string"), "{e}");
        let e = message(numbers("features", &j(json!({"f": null}))).unwrap_err());
        assert!(
            e.contains("features: `f` must be a number, got null"),
            "{e}"
        );
    }
}
