//! The pure subcommands, run as a user would: the real binary, real stdin/stdout.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xbot-redis"))
        .args(args)
        .env_remove("REDIS_PREFIX")
        .env_remove("APP_ENV")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn json(args: &[&str]) -> Value {
    let out = run(args, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn hash_one_text() {
    let v = json(&["--json", "hash", "  Hello\u{3000}WORLD\u{feff}"]);
    assert_eq!(v["normalized"], "hello world");
    assert_eq!(v["sha256"], xbot_core::content::content_hash("hello world"));
    assert_eq!(
        v["dedupKey"],
        format!("app:dedup:tweet:{}", v["sha256"].as_str().unwrap())
    );
    let v = json(&["--json", "--prefix", "prod:", "hash", "x"]);
    assert!(v["contentHashKey"]
        .as_str()
        .unwrap()
        .starts_with("prod:content_hash:sha256:"));
}

#[test]
fn hash_json_lines_keeps_line_alignment() {
    let out = run(&["hash"], Some("\"A  b\"\nnot json\n\"\u{3a3}\"\n"));
    assert_eq!(out.status.code(), Some(1), "a bad line fails the command");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["normalized"], "a b");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["error"]["code"], "INVALID_JSON");
    assert_eq!(lines[2]["normalized"], "\u{3c3}");
    let ok = run(&["hash"], Some("\"a\"\n\"b\"\n"));
    assert!(ok.status.success());
    assert_eq!(String::from_utf8(ok.stdout).unwrap().lines().count(), 2);
}

#[test]
fn key_classify_catalog() {
    let v = json(&[
        "--json",
        "key",
        "cache.tweet",
        "tweetId=42",
        "--prefix",
        "prod:",
    ]);
    assert_eq!(
        v,
        serde_json::json!({"key": "prod:cache:tweet:42", "family": "cache.tweet", "ttlSeconds": 86400, "redisType": "string"})
    );
    let v = json(&[
        "--json",
        "--env",
        "staging",
        "key",
        "cache.config",
        "key=feature_flags",
    ]);
    assert_eq!(
        (v["key"].as_str(), v["ttlSeconds"].as_u64()),
        (Some("stg:cache:config:feature_flags"), Some(7200))
    );
    let v = json(&[
        "--json",
        "classify",
        "prod:queue:{sync_to_supabase}:inflight",
    ]);
    assert_eq!(v["family"], "queue.inflight");
    assert_eq!(v["params"]["queue"], "sync_to_supabase");
    let unknown = run(&["--json", "classify", "prod:nope"], None);
    assert_eq!(
        (unknown.status.code(), unknown.stdout.as_slice()),
        (Some(1), &b"null\n"[..])
    );
    let cat = json(&["--json", "catalog"]);
    assert_eq!(
        cat.as_array().unwrap().len(),
        xbot_core::keys::FAMILIES.len()
    );
    let md = run(&["catalog", "--markdown"], None);
    assert_eq!(
        String::from_utf8(md.stdout).unwrap(),
        xbot_core::keys::catalog_markdown()
    );
}

#[test]
fn score_round_trip() {
    let v = json(&[
        "--json",
        "score",
        "--priority",
        "50",
        "--enqueued-at-ms",
        "1795802400000",
        "--seq",
        "3",
    ]);
    let score = v["score"].as_u64().unwrap();
    assert_eq!(
        score as f64,
        xbot_core::queue::queue_score(50.0, 1_795_802_400_000.0, 3.0).unwrap()
    );
    let d = json(&["--json", "score", "--decode", &score.to_string()]);
    assert_eq!(
        d,
        serde_json::json!({"priority": 50, "enqueuedAtMs": 1795802400000u64, "seq": 3})
    );
}

#[test]
fn bandit_sample_matches_core() {
    let arms = r#"[{"id":"a","alpha":2,"beta":3},{"id":"b","alpha":5,"beta":1}]"#;
    let v = json(&["--json", "bandit", "sample", "--seed", "7", "--arms", arms]);
    let parsed: Vec<xbot_core::bandit::Arm> = serde_json::from_str(arms).unwrap();
    let want = xbot_core::bandit::thompson_select(&parsed, 7).unwrap();
    assert_eq!(v, serde_json::to_value(want).unwrap());
    let v = json(&[
        "--json", "bandit", "beta", "--alpha", "0.5", "--beta", "0.5", "--seed", "2", "--count",
        "3",
    ]);
    assert_eq!(
        v["samples"],
        serde_json::to_value(xbot_core::bandit::sample_beta(0.5, 0.5, 2, 3).unwrap()).unwrap()
    );
}

#[test]
fn bad_input_exits_2_with_a_named_error() {
    let cases: &[(&[&str], &str)] = &[
        (&["key", "cache.nope"], "UNKNOWN_FAMILY"),
        (&["key", "cache.tweet"], "MISSING_PARAM"),
        (&["key", "cache.tweet", "tweetId="], "INVALID_PARAM"),
        (&["key", "cache.tweet", "tweetId"], "INVALID_PARAM"),
        (
            &["--prefix", "stg", "key", "tweets.recent"],
            "INVALID_PREFIX",
        ),
        (
            &[
                "--prefix",
                "stg:",
                "--env",
                "production",
                "key",
                "tweets.recent",
            ],
            "PREFIX_ENV_MISMATCH",
        ),
        (
            &[
                "score",
                "--priority",
                "101",
                "--enqueued-at-ms",
                "1795802400000",
            ],
            "INVALID_PRIORITY",
        ),
        (
            &[
                "score",
                "--priority",
                "NaN",
                "--enqueued-at-ms",
                "1795802400000",
            ],
            "INVALID_PRIORITY",
        ),
        (
            &["score", "--priority", "1", "--enqueued-at-ms", "5"],
            "INVALID_TIMESTAMP",
        ),
        (&["score", "--decode", "-1"], "INVALID_SCORE"),
        (
            &["bandit", "sample", "--seed", "1", "--arms", "[]"],
            "NO_ARMS",
        ),
        (
            &["bandit", "sample", "--seed", "1", "--arms", "{"],
            "INVALID_JSON",
        ),
        (
            &[
                "bandit",
                "sample",
                "--seed",
                "-1",
                "--arms",
                "[{\"id\":\"a\",\"alpha\":1,\"beta\":1}]",
            ],
            "INVALID_SEED",
        ),
        (
            &[
                "bandit", "beta", "--alpha", "0", "--beta", "1", "--seed", "1",
            ],
            "INVALID_BETA_PARAM",
        ),
        (&["retry", "nope", "1"], "UNKNOWN_QUEUE"),
        (&["retry", "sync_to_supabase", "0"], "INVALID_ATTEMPT"),
    ];
    for (args, code) in cases {
        let out = run(args, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("error[{code}]")),
            "{args:?}: {stderr}"
        );
        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        let out = run(&with_json, None);
        let err: Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(err["error"]["code"], *code);
    }
    // clap's own usage errors are exit 2 as well.
    assert_eq!(run(&["score"], None).status.code(), Some(2));
    assert_eq!(run(&["no-such-command"], None).status.code(), Some(2));
}

#[test]
fn usage_lines_show_what_was_typed_not_the_environment() {
    // On Railway REDIS_URL, REDIS_PREFIX, … are set for every command; a usage
    // error of a pure command must not list them as if they were typed.
    let out = Command::new(env!("CARGO_BIN_EXE_xbot-redis"))
        .arg("score")
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env("REDIS_PREFIX", "stg:")
        .env("XBOT_REDIS_WAIT_REPLICAS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("Usage: xbot-redis score <--priority <PRIORITY>|--decode <DECODE>>"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("--redis-url") && !stderr.contains("--prefix"),
        "{stderr}"
    );
    // An error in an environment value itself still names it.
    let out = Command::new(env!("CARGO_BIN_EXE_xbot-redis"))
        .args(["score", "--decode", "1"])
        .env("XBOT_REDIS_WAIT_REPLICAS", "many")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--wait-replicas") && stderr.contains("many"),
        "{stderr}"
    );
}
