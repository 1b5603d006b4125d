//! Runs the shared vectors in tests/vectors/ against the Rust core. The same
//! files are run against the napi addon and wasm (tests/node/), so every
//! runtime is held to the same answers.
//!
//! `bandit.json` is Rust's own golden output (Rust is the reference for
//! sampling; its correctness is the KS test's job): regenerate it with
//! `UPDATE_VECTORS=1 cargo test -p xbot-core --test vectors`.

use serde_json::{json, Value};
use std::path::PathBuf;
use xbot_core::{bandit, content, keys, model, queue, time};

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors")
        .join(name)
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn cases(v: &Value, field: &str) -> Vec<Value> {
    v[field]
        .as_array()
        .unwrap_or_else(|| panic!("missing {field}"))
        .clone()
}

fn ctx(opts: &Value) -> Result<keys::KeyContext, xbot_core::Error> {
    keys::KeyContext::resolve(opts["prefix"].as_str(), opts["env"].as_str())
}

/// The bot's dedup normalization (variant A), against its JavaScript run in Node.
#[test]
fn legacy_dedup_vectors() {
    let v = load("legacy.json");
    let all = cases(&v, "cases");
    assert!(all.len() > 60);
    for c in all {
        let input = c["input"].as_str().unwrap();
        assert_eq!(
            xbot_core::legacy::legacy_normalize(input),
            c["normalized"].as_str().unwrap(),
            "legacyNormalize({input:?})"
        );
        assert_eq!(
            xbot_core::legacy::legacy_content_hash(input),
            c["sha256"].as_str().unwrap(),
            "legacyContentHash({input:?})"
        );
    }
}

#[test]
fn content_vectors() {
    let v = load("content.json");
    let all = cases(&v, "cases");
    assert!(all.len() > 60);
    let inputs: Vec<&str> = all.iter().map(|c| c["input"].as_str().unwrap()).collect();
    let batch = content::content_hash_batch(&inputs);
    for (c, b) in all.iter().zip(batch) {
        let input = c["input"].as_str().unwrap();
        assert_eq!(
            content::normalize(input),
            c["normalized"].as_str().unwrap(),
            "normalize({input:?})"
        );
        assert_eq!(
            content::content_hash(input),
            c["sha256"].as_str().unwrap(),
            "contentHash({input:?})"
        );
        assert_eq!(b, c["sha256"].as_str().unwrap());
    }
}

#[test]
fn time_vectors() {
    for c in cases(&load("time.json"), "cases") {
        let ms = c["ms"].as_f64().unwrap();
        assert_eq!(time::iso_string(ms).unwrap(), c["iso"].as_str().unwrap());
        for (kind, field) in [
            (time::Bucket::Date, "date"),
            (time::Bucket::Hour, "hour"),
            (time::Bucket::Minute, "minute"),
        ] {
            assert_eq!(
                time::time_bucket(kind, ms).unwrap(),
                c[field].as_str().unwrap(),
                "{field} of {ms}"
            );
        }
        assert_eq!(
            time::parse_iso(c["iso"].as_str().unwrap()).unwrap() as f64,
            ms
        );
    }
}

#[test]
fn key_vectors() {
    let v = load("keys.json");
    for c in cases(&v, "build") {
        let params: keys::Params = serde_json::from_value(c["params"].clone()).unwrap();
        let got = ctx(&c["options"])
            .and_then(|ctx| keys::build_key(c["family"].as_str().unwrap(), &params, &ctx));
        match (&got, c.get("error")) {
            (Ok(b), None) => assert_eq!(serde_json::to_value(b).unwrap(), c["expect"], "{c}"),
            (Err(e), Some(code)) => assert_eq!(e.code(), code, "{c}"),
            _ => panic!("{c}: got {got:?}"),
        }
    }
    for c in cases(&v, "classify") {
        let prefix = c["options"]["prefix"]
            .as_str()
            .map(|p| keys::Prefix::parse(p).unwrap());
        let got = keys::classify_key(c["key"].as_str().unwrap(), prefix.as_ref());
        assert_eq!(serde_json::to_value(&got).unwrap(), c["expect"], "{c}");
    }
    for c in cases(&v, "key") {
        let parts: Vec<String> = serde_json::from_value(c["parts"].clone()).unwrap();
        let prefix = c["options"]["prefix"].as_str().unwrap_or("app:");
        let got = keys::Prefix::parse(prefix).and_then(|p| keys::generic_key(&parts, &p));
        match (&got, c.get("error")) {
            (Ok(k), None) => assert_eq!(k, c["expect"].as_str().unwrap()),
            (Err(e), Some(code)) => assert_eq!(e.code(), code, "{c}"),
            _ => panic!("{c}: got {got:?}"),
        }
    }
}

#[test]
fn every_family_has_a_vector() {
    let v = load("keys.json");
    let covered: Vec<String> = cases(&v, "build")
        .iter()
        .filter(|c| c.get("expect").is_some())
        .map(|c| c["family"].as_str().unwrap().into())
        .collect();
    for f in keys::FAMILIES {
        assert!(
            covered.iter().any(|c| c == f.name),
            "no build vector for {}",
            f.name
        );
    }
}

#[test]
fn score_vectors() {
    for c in cases(&load("scores.json"), "cases") {
        let (p, t, s) = (
            c["priority"].as_f64().unwrap(),
            c["enqueuedAtMs"].as_f64().unwrap(),
            c["seq"].as_f64().unwrap(),
        );
        let score = queue::queue_score(p, t, s).unwrap();
        assert_eq!(score, c["score"].as_f64().unwrap(), "{c}");
        let d = queue::decode_queue_score(score).unwrap();
        assert_eq!(
            (d.priority as f64, d.enqueued_at_ms as f64, d.seq as f64),
            (p, t, s)
        );
    }
}

#[test]
fn retry_vectors() {
    for c in cases(&load("retry.json"), "cases") {
        let got = queue::retry_delay_ms(
            c["queue"].as_str().unwrap(),
            c["attempt"].as_f64().unwrap(),
            c["itemId"].as_str(),
        )
        .unwrap();
        assert_eq!(got, c["delayMs"].as_u64(), "{c}");
    }
}

/// The batched consumer's policy, against the README's description written in JavaScript.
#[test]
fn consumer_vectors() {
    use xbot_core::client;
    let all = cases(&load("consumer.json"), "cases");
    assert!(all.len() > 90);
    for c in all {
        let n = c["concurrency"].as_u64().unwrap() as u32;
        let mean = c["meanHandlerMs"].as_f64();
        match c["fn"].as_str().unwrap() {
            "lanes" => {
                let split: Vec<u64> = (0..client::lanes(n))
                    .map(|l| u64::from(client::lane_concurrency(n, l)))
                    .collect();
                assert_eq!(json!(split), c["split"], "{c}");
            }
            "prefetch" => {
                assert_eq!(
                    u64::from(client::prefetch(n, mean)),
                    c["prefetch"].as_u64().unwrap(),
                    "{c}"
                )
            }
            _ => {
                let running = c["running"].as_u64().unwrap() as u32;
                let waiting = c["waiting"].as_u64().unwrap() as u32;
                let want = client::lease_wanted(n, mean, running, waiting);
                assert_eq!(u64::from(want), c["want"].as_u64().unwrap(), "{c}");
            }
        }
    }
}

#[test]
fn model_vectors() {
    for c in cases(&load("model.json"), "cases") {
        let m: model::LogisticModel = serde_json::from_value(c["model"].clone()).unwrap();
        let f: model::Features = serde_json::from_value(c["features"].clone()).unwrap();
        let (got, want) = (m.score(&f).unwrap(), c["score"].as_f64().unwrap());
        // V8's Math.exp and libm may differ in the last bit.
        assert!(
            (got - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(f64::MIN_POSITIVE),
            "{c}: {got} vs {want}"
        );
    }
}

fn bandit_golden() -> Value {
    let beta: Vec<Value> = [
        (1.0, 1.0, 1u64),
        (0.5, 0.5, 2),
        (0.01, 0.2, 3),
        (2.0, 5.0, 4),
        (30.0, 70.0, 5),
        (1e6, 1e6, 6),
    ]
    .into_iter()
    .map(|(a, b, seed)| {
        let samples = bandit::sample_beta(a, b, seed, 8).unwrap();
        json!({ "alpha": a, "beta": b, "seed": seed, "count": 8, "samples": samples })
    })
    .collect();
    let arm_sets = [
        json!([{ "id": "ai", "alpha": 1, "beta": 1 }, { "id": "rust", "alpha": 1, "beta": 1 }]),
        json!([
            { "id": "09", "alpha": 12.5, "beta": 40 },
            { "id": "13", "alpha": 30, "beta": 22.25 },
            { "id": "21", "alpha": 2, "beta": 2 }
        ]),
        json!([{ "id": "only", "alpha": 0.3, "beta": 0.7 }]),
    ];
    let thompson: Vec<Value> = arm_sets
        .iter()
        .flat_map(|arms| [0u64, 42, 9_007_199_254_740_991].map(|seed| (arms, seed)))
        .map(|(arms, seed)| {
            let parsed: Vec<bandit::Arm> = serde_json::from_value(arms.clone()).unwrap();
            json!({ "arms": arms, "seed": seed, "expect": bandit::thompson_select(&parsed, seed).unwrap() })
        })
        .collect();
    json!({
        "note": "Rust-generated golden draws (UPDATE_VECTORS=1 cargo test -p xbot-core --test vectors).",
        "beta": beta,
        "thompson": thompson
    })
}

#[test]
fn bandit_vectors() {
    let golden = bandit_golden();
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(
            path("bandit.json"),
            serde_json::to_string_pretty(&golden).unwrap() + "\n",
        )
        .unwrap();
    }
    let v = load("bandit.json");
    for c in cases(&v, "beta") {
        let got = bandit::sample_beta(
            c["alpha"].as_f64().unwrap(),
            c["beta"].as_f64().unwrap(),
            c["seed"].as_u64().unwrap(),
            c["count"].as_u64().unwrap(),
        )
        .unwrap();
        let want: Vec<f64> = serde_json::from_value(c["samples"].clone()).unwrap();
        let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{c}");
    }
    for c in cases(&v, "thompson") {
        let arms: Vec<bandit::Arm> = serde_json::from_value(c["arms"].clone()).unwrap();
        let got = bandit::thompson_select(&arms, c["seed"].as_u64().unwrap()).unwrap();
        assert_eq!(serde_json::to_value(got).unwrap(), c["expect"]);
    }
    assert_eq!(
        v, golden,
        "bandit.json is stale: UPDATE_VECTORS=1 cargo test -p xbot-core --test vectors"
    );
}

#[test]
fn keys_doc_is_current() {
    let doc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/KEYS.md");
    let want = keys::catalog_markdown();
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(&doc, &want).unwrap();
    }
    let have = std::fs::read_to_string(&doc).unwrap_or_default();
    assert!(
        have == want,
        "docs/KEYS.md is stale: run `xbot-redis catalog --markdown > docs/KEYS.md`"
    );
}
