//! Bad input to the CLI, from the table in `tests/bad-input/cli.json`: the
//! exit code, the stable error code, a fragment of the message, and that
//! nothing in Redis changed (`DEBUG DIGEST` of the whole dataset before and
//! after; the server allows DEBUG from loopback only).

mod support;

use serde_json::Value;
use std::process::Command;
use support::RedisServer;

fn digest(c: &mut redis::Connection) -> String {
    redis::cmd("DEBUG").arg("DIGEST").query(c).unwrap()
}

#[test]
fn every_bad_input_is_refused_with_its_code_and_changes_nothing() {
    let table: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/bad-input/cli.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let server = RedisServer::start_with(&["--enable-debug-command", "local"]);
    let mut c = server.conn();
    // Something to protect: a queued item and a counter.
    let _: () = redis::cmd("SET")
        .arg("app:learn:last_ingest")
        .arg("x")
        .query(&mut c)
        .unwrap();
    let mut failures = Vec::new();
    let cases = table["cases"].as_array().unwrap();
    for case in cases {
        let args: Vec<&str> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        for cmd in case["seed"].as_array().into_iter().flatten() {
            let mut seed = redis::cmd(cmd[0].as_str().unwrap());
            for a in cmd.as_array().unwrap().iter().skip(1) {
                seed.arg(a.as_str().unwrap());
            }
            let _: redis::Value = seed.query(&mut c).unwrap();
        }
        let before = digest(&mut c);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xbot-redis"));
        cmd.arg("--json");
        // A case about REDIS_URL itself sets it in `env` instead.
        if case["redisUrl"].as_bool() != Some(false) {
            cmd.args(["--redis-url", &server.url()]);
        }
        cmd.args(&args)
            .env_remove("REDIS_PREFIX")
            .env_remove("APP_ENV");
        for (k, v) in case["env"].as_object().into_iter().flatten() {
            cmd.env(k, v.as_str().unwrap());
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let err: Option<Value> = stderr
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok());
        let (code, message) = err
            .as_ref()
            .map(|e| {
                (
                    e["error"]["code"].as_str().unwrap_or(""),
                    e["error"]["message"].as_str().unwrap_or(""),
                )
            })
            .unwrap_or(("", ""));
        let mut problems = Vec::new();
        if out.status.code() != case["exit"].as_i64().map(|c| c as i32) {
            problems.push(format!("exit {:?}", out.status.code()));
        }
        if code != case["code"].as_str().unwrap() {
            problems.push(format!("code {code:?}"));
        }
        if !message.contains(case["message"].as_str().unwrap()) {
            problems.push(format!("message {message:?}"));
        }
        if digest(&mut c) != before {
            problems.push("Redis changed".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{args:?} {}: {} (stderr: {stderr})",
                case["env"],
                problems.join(", ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_closed_pipe_is_a_normal_end() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    // `xbot-redis hash` streams one line per input; the reader stops after one.
    let mut child = Command::new(env!("CARGO_BIN_EXE_xbot-redis"))
        .args(["--json", "hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..200_000 {
            if writeln!(stdin, "\"text {i}\"").is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("sha256"), "{first}");
    // stdout is dropped (closed) here, as `| head -1` would.
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
