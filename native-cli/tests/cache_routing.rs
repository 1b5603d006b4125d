//! REDIS_CACHE_URL: cache families live on a second Redis (which may evict),
//! everything else on the state Redis (which must not).

mod support;

use redis::Commands;
use std::process::{Command, Output};
use support::RedisServer;

fn cli(state: &RedisServer, cache: Option<&RedisServer>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xbot-redis"));
    cmd.args(["--json", "--redis-url", &state.url()])
        .args(args)
        .env_remove("REDIS_PREFIX")
        .env_remove("APP_ENV")
        .env_remove("REDIS_CACHE_URL");
    if let Some(c) = cache {
        cmd.env("REDIS_CACHE_URL", c.url());
    }
    cmd.output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn exists(server: &RedisServer, key: &str) -> bool {
    server.conn().exists(key).unwrap()
}

#[test]
fn cache_families_go_to_the_cache_redis_and_state_stays_on_the_state_redis() {
    let state = RedisServer::start();
    let cache = RedisServer::start_with(&["--maxmemory-policy", "allkeys-lru"]);
    let with_cache = Some(&cache);

    json(&cli(
        &state,
        with_cache,
        &["cache", "set-tweet", "42", "--value", r#"{"text":"hi"}"#],
    ));
    json(&cli(
        &state,
        with_cache,
        &["cache", "push-recent", "--value", r#"{"id":"42"}"#],
    ));
    json(&cli(&state, with_cache, &["cache", "bump-config"]));
    let hit = json(&cli(&state, with_cache, &["cache", "get-tweet", "42"]));
    assert_eq!(hit["text"], "hi");
    json(&cli(
        &state,
        with_cache,
        &[
            "queue",
            "push",
            "sync_to_supabase",
            "--type",
            "t",
            "--data",
            "{}",
        ],
    ));
    json(&cli(
        &state,
        with_cache,
        &["dedup", "mark", "hello world", "--holder", "42"],
    ));

    for key in [
        "app:cache:tweet:42",
        "app:tweets:recent",
        "app:cache:config:schema_version",
        "app:stats:cache",
    ] {
        assert!(exists(&cache, key), "{key} must be on the cache Redis");
        assert!(!exists(&state, key), "{key} must not be on the state Redis");
    }
    assert!(exists(&state, "app:queue:{sync_to_supabase}"));
    assert!(!exists(&cache, "app:queue:{sync_to_supabase}"));
    let mut conn = state.conn();
    let markers: Vec<String> = conn
        .scan_match::<_, String>("app:dedup:*")
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(markers.len(), 1, "the dedup marker is state: {markers:?}");

    // Without REDIS_CACHE_URL the same tweet is a miss: the state Redis has no cache.
    let miss = json(&cli(&state, None, &["cache", "get-tweet", "42"]));
    assert!(miss.is_null(), "{miss}");

    // Health: an evicting cache Redis is its job, not a warning; the section reports it.
    let health = json(&cli(&state, with_cache, &["health", "--strict"]));
    assert_eq!(health["warnings"], serde_json::json!([]), "{health}");
    assert_eq!(health["cache"]["ok"], true);
    assert_eq!(health["cache"]["maxmemoryPolicy"], "allkeys-lru");

    // An evicting *state* Redis is the error the worker logs and --strict fails on.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query(&mut state.conn())
        .unwrap();
    let strict = cli(&state, with_cache, &["health", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    let health: serde_json::Value = serde_json::from_slice(&strict.stdout).unwrap();
    assert!(
        health["warnings"][0]
            .as_str()
            .unwrap()
            .contains("REDIS_CACHE_URL"),
        "{health}"
    );
}
