//! A JavaScript value tree for the `args` target: the kinds a binding can
//! hand to [`xbot_core::args`] (including `undefined`, functions and
//! symbols, which JSON cannot express), built from fuzz input.

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use xbot_core::args::{JsArg, JsKind};

/// One JS value. Objects keep insertion order with unique keys, as
/// `Object.entries` returns them.
#[derive(Debug, Clone, PartialEq)]
pub enum JsVal {
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<JsVal>),
    Obj(Vec<(String, JsVal)>),
    Function,
    Symbol,
}

impl JsArg for JsVal {
    fn kind(&self) -> JsKind {
        match self {
            JsVal::Undefined => JsKind::Undefined,
            JsVal::Null => JsKind::Null,
            JsVal::Bool(_) => JsKind::Boolean,
            JsVal::Num(_) => JsKind::Number,
            JsVal::Str(_) => JsKind::String,
            JsVal::Arr(_) => JsKind::Array,
            JsVal::Obj(_) => JsKind::Object,
            JsVal::Function => JsKind::Function,
            JsVal::Symbol => JsKind::Other,
        }
    }
    fn string(&self) -> Option<String> {
        match self {
            JsVal::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn number(&self) -> Option<f64> {
        match self {
            JsVal::Num(n) => Some(*n),
            _ => None,
        }
    }
    fn entries(&self) -> Vec<(String, Self)> {
        match self {
            JsVal::Obj(e) => e.clone(),
            _ => Vec::new(),
        }
    }
    fn elements(&self) -> Vec<Self> {
        match self {
            JsVal::Arr(a) => a.clone(),
            _ => Vec::new(),
        }
    }
    fn get(&self, name: &str) -> Self {
        match self {
            JsVal::Obj(e) => e
                .iter()
                .find(|(k, _)| k == name)
                .map_or(JsVal::Undefined, |(_, v)| v.clone()),
            _ => JsVal::Undefined,
        }
    }
}

/// Property names the readers look for, and some near misses.
const NAMES: &[&str] = &[
    "prefix",
    "env",
    "id",
    "alpha",
    "beta",
    "bias",
    "weights",
    "tweetId",
    "hash",
    "queue",
    "topic",
    "hour",
    "instance",
    "key",
    "prefx",
    "",
    "__proto__",
    "length",
    "f",
    "x",
];

/// Strings the readers and validators care about.
const STRINGS: &[&str] = &[
    "app:",
    "prod:",
    "stg:",
    "production",
    "staging",
    "development",
    "test",
    "qa",
    "x:",
    "a:b:",
    "",
    " ",
    "42",
    "sync_to_supabase",
    "pending_posts",
    "2026-11-27T18",
    "é",
    "\u{0}",
    "a\u{7f}",
];

/// Numbers at the edges of the checks.
const NUMBERS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    1e15,
    1e15 + 2.0,
    9_007_199_254_740_991.0,
    9_007_199_254_740_992.0,
    f64::MAX,
    f64::MIN_POSITIVE,
    5e-324,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];

pub fn string(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=3)? {
        0 | 1 => u.choose(STRINGS)?.to_string(),
        _ => u.arbitrary::<String>()?,
    })
}

pub fn number(u: &mut Unstructured) -> Result<f64> {
    Ok(match u.int_in_range(0..=3)? {
        0 => *u.choose(NUMBERS)?,
        1 => f64::from(u.int_in_range(-3i32..=200)?),
        _ => f64::from_bits(u.arbitrary()?),
    })
}

fn name(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=4)? {
        0 => u.arbitrary::<String>()?,
        _ => u.choose(NAMES)?.to_string(),
    })
}

/// A value of at most `depth` levels of arrays and objects.
pub fn value(u: &mut Unstructured, depth: u32) -> Result<JsVal> {
    let top = if depth == 0 { 8 } else { 10 };
    Ok(match u.int_in_range(0..=top)? {
        0 => JsVal::Undefined,
        1 => JsVal::Null,
        2 => JsVal::Bool(u.arbitrary()?),
        3 | 4 => JsVal::Num(number(u)?),
        5 | 6 => JsVal::Str(string(u)?),
        7 => JsVal::Function,
        8 => JsVal::Symbol,
        9 => {
            let n = u.int_in_range(0..=6)?;
            JsVal::Arr((0..n).map(|_| value(u, depth - 1)).collect::<Result<_>>()?)
        }
        _ => {
            let n = u.int_in_range(0..=6)?;
            let mut entries: Vec<(String, JsVal)> = Vec::new();
            for _ in 0..n {
                let (k, v) = (name(u)?, value(u, depth - 1)?);
                // `{a: 1, a: 2}` is `{a: 2}`: one entry per key, first position.
                match entries.iter_mut().find(|(e, _)| *e == k) {
                    Some(slot) => slot.1 = v,
                    None => entries.push((k, v)),
                }
            }
            JsVal::Obj(entries)
        }
    })
}
