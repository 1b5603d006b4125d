//! The JS-argument reader (`xbot_core::args`) over arbitrary JS values, and
//! the API calls the bindings make with what it reads.
//!
//! The values come from `xbot_fuzz::jsval`: every JS kind (undefined, null,
//! booleans, numbers including NaN/±Infinity/-0, strings, arrays, objects,
//! functions, symbols), nested, with the property names the readers look for.
//! Nothing panics; a refusal of the reader is `INVALID_JSON`, and what it
//! accepts goes on to `build_key`, `classify_key`, `key`, `queue_keys`,
//! `thompson_select`, `sample_beta` and `logistic_score`, whose refusals carry
//! their own codes.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use xbot_core::{api, args, keys::FAMILIES};
use xbot_fuzz::check_error;
use xbot_fuzz::jsval::{self, JsVal};

const CONTEXT: &[&str] = &["INVALID_PREFIX", "INVALID_ENV", "PREFIX_ENV_MISMATCH"];
const BUILD: &[&str] = &[
    "INVALID_PREFIX",
    "INVALID_ENV",
    "PREFIX_ENV_MISMATCH",
    "UNKNOWN_FAMILY",
    "MISSING_PARAM",
    "UNEXPECTED_PARAM",
    "INVALID_PARAM",
];

/// An argument as a binding receives it: absent, or a value.
fn optional(u: &mut Unstructured) -> Result<Option<JsVal>> {
    Ok(if u.ratio(1, 8)? {
        None
    } else {
        Some(jsval::value(u, 3)?)
    })
}

fn run(u: &mut Unstructured) -> Result<()> {
    let (options, params, arms) = (optional(u)?, optional(u)?, jsval::value(u, 3)?);
    let (model, features) = if u.ratio(1, 2)? {
        (jsval::value(u, 3)?, jsval::value(u, 2)?)
    } else {
        // A model and features over the same few names, so weights meet features.
        let record = |u: &mut Unstructured| -> Result<JsVal> {
            let names = ["a", "b", "c"];
            let n = u.int_in_range(0..=3)?;
            Ok(JsVal::Obj(
                names[..n]
                    .iter()
                    .map(|k| Ok((k.to_string(), JsVal::Num(jsval::number(u)?))))
                    .collect::<Result<_>>()?,
            ))
        };
        let bias = JsVal::Num(jsval::number(u)?);
        let model = JsVal::Obj(vec![("bias".into(), bias), ("weights".into(), record(u)?)]);
        (model, record(u)?)
    };

    let options = match args::key_options(options) {
        Ok(o) => o,
        Err(e) => {
            check_error(&e, &["INVALID_JSON"]);
            None
        }
    };
    if let Some(o) = &options {
        if let Err(e) = o.context() {
            check_error(&e, CONTEXT);
        }
    }
    match args::params(params) {
        Ok(p) => {
            let family = match u.choose_index(FAMILIES.len() + 1)? {
                i if i < FAMILIES.len() => FAMILIES[i].name.to_string(),
                _ => jsval::string(u)?,
            };
            if let Err(e) = api::build_key(&family, p, options.clone()) {
                check_error(&e, BUILD);
            }
        }
        Err(e) => check_error(&e, &["INVALID_JSON"]),
    }
    let text = jsval::string(u)?;
    if let Err(e) = api::classify_key(&text, options.clone()) {
        check_error(&e, CONTEXT);
    }
    let parts: Vec<&str> = text.split('/').collect();
    if let Err(e) = api::key(&parts, options.clone()) {
        check_error(&e, &[CONTEXT, &["EMPTY_KEY", "INVALID_KEY_PART"]].concat());
    }
    if let Err(e) = api::queue_keys(&text, options) {
        check_error(&e, &[CONTEXT, &["UNKNOWN_QUEUE"]].concat());
    }

    let seed = jsval::number(u)?;
    match args::arms(&arms) {
        Ok(arms) => match api::thompson_select(&arms, seed) {
            Ok(s) => {
                assert_eq!(s.samples.len(), arms.len());
                assert_eq!(arms[s.index].id, s.id);
                assert!(
                    s.samples.iter().all(|x| (0.0..=1.0).contains(x)),
                    "{arms:?} {seed}: {s:?}"
                );
            }
            Err(e) => check_error(
                &e,
                &[
                    "NO_ARMS",
                    "DUPLICATE_ARM",
                    "INVALID_ARM_ID",
                    "INVALID_BETA_PARAM",
                    "INVALID_SEED",
                ],
            ),
        },
        Err(e) => check_error(&e, &["INVALID_JSON"]),
    }
    let (alpha, beta) = (jsval::number(u)?, jsval::number(u)?);
    let count = if u.ratio(1, 2)? {
        Some(f64::from(u.int_in_range(0..=8)?))
    } else {
        None
    };
    match api::sample_beta(alpha, beta, seed, count) {
        Ok(draws) => assert!(
            draws.iter().all(|x| (0.0..=1.0).contains(x)),
            "sample_beta({alpha:e}, {beta:e}, {seed}, {count:?}) = {draws:?}"
        ),
        Err(e) => check_error(&e, &["INVALID_BETA_PARAM", "INVALID_SEED", "INVALID_COUNT"]),
    }

    let model = args::logistic_model(&model);
    let features = args::numbers("features", &features);
    match (model, features) {
        (Ok(m), Ok(f)) => {
            match api::logistic_score(&m, &f) {
                Ok(p) => assert!(
                    (0.0..=1.0).contains(&p),
                    "logistic_score({m:?}, {f:?}) = {p}"
                ),
                Err(e) => check_error(&e, &["INVALID_MODEL_VALUE"]),
            }
            // What the learner does with a model: one step never leaves an
            // invalid one behind (the runner stores it and reads it back).
            let (y, rate, l2) = (
                f64::from(u.int_in_range(0..=4u8)?) / 4.0,
                *u.choose(&[0.01, 0.5, 10.0, 1e-300])?,
                *u.choose(&[0.0, 1e-4, 1.0, 1e300])?,
            );
            let mut stepped = m.clone();
            match stepped.sgd_step(&f, y, rate, l2) {
                Ok(loss) => {
                    assert!(loss.is_finite() && loss >= 0.0, "loss {loss}");
                    stepped.validate().unwrap_or_else(|e| {
                        panic!("sgd_step({m:?}, {f:?}, {y}, {rate}, {l2}) left {stepped:?}: {e}")
                    });
                }
                Err(e) => {
                    check_error(&e, &["INVALID_MODEL_VALUE"]);
                    // (Debug, not ==: a refused model may hold NaN.)
                    assert_eq!(
                        format!("{stepped:?}"),
                        format!("{m:?}"),
                        "a refused step changed it"
                    );
                }
            }
        }
        (m, f) => {
            for e in [m.err(), f.err()].into_iter().flatten() {
                check_error(&e, &["INVALID_JSON"]);
            }
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
