//! audit and cleanup: SCAN-based walks over a real redis-server.

mod support;

use support::RedisServer;
use xbot_core::keys::KeyContext;
use xbot_redis::ops::keyspace;
use xbot_redis::redis::Redis;

fn set(c: &mut redis::Connection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let _: redis::Value = cmd.query(c).unwrap();
}

#[tokio::test]
async fn audit_classifies_every_key_and_names_problems() {
    let server = RedisServer::start();
    let mut c = server.conn();
    for i in 0..1_200 {
        set(
            &mut c,
            &["SET", &format!("stg:cache:tweet:{i}"), "{}", "EX", "100"],
        );
    }
    set(&mut c, &["SET", "stg:cache:tweet:forever", "{}"]); // missing TTL
    set(
        &mut c,
        &["SET", "stg:tweets:recent", "not a list", "EX", "100"],
    ); // wrong type
    set(&mut c, &["SET", "stg:something:else", "1"]); // unknown
    set(&mut c, &["SET", "prod:cache:tweet:1", "{}"]); // another prefix: not scanned
    let redis = Redis::connect(
        &server.url(),
        KeyContext::resolve(Some("stg:"), None).unwrap(),
    )
    .await
    .unwrap();
    let a = keyspace::audit(&redis).await.unwrap();
    assert_eq!(a.scanned, 1_203);
    let tweets = &a.families["cache.tweet"];
    assert_eq!((tweets.keys, tweets.missing_ttl), (1_201, 1));
    assert_eq!(tweets.examples_missing_ttl, ["stg:cache:tweet:forever"]);
    assert!(tweets.sampled > 0 && tweets.estimated_bytes > 0);
    assert_eq!(a.families["tweets.recent"].wrong_type, 1);
    assert_eq!(
        (a.unknown_keys, a.examples_unknown.as_slice()),
        (1, &["stg:something:else".to_string()][..])
    );
    assert_eq!(a.problems, 3);
}

#[tokio::test]
async fn cleanup_is_a_dry_run_unless_executed_and_spares_everything_else() {
    let server = RedisServer::start();
    let mut c = server.conn();
    for i in 0..1_500 {
        set(&mut c, &["SET", &format!("stg:temp:draft:{i}:1h"), "x"]);
    }
    set(&mut c, &["SET", "stg:cache:tweet:1", "keep"]);
    set(&mut c, &["SET", "prod:temp:draft:1:1h", "keep"]);
    let redis = Redis::connect(&server.url(), KeyContext::default())
        .await
        .unwrap();
    let dry = keyspace::cleanup(&redis, "stg:temp:*", false, false)
        .await
        .unwrap();
    assert_eq!((dry.matched, dry.deleted, dry.executed), (1_500, 0, false));
    let size: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(size, 1_502);
    let done = keyspace::cleanup(&redis, "stg:temp:*", true, false)
        .await
        .unwrap();
    assert_eq!((done.matched, done.deleted), (1_500, 1_500));
    let mut left: Vec<String> = redis::Commands::scan(&mut c)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    left.sort();
    assert_eq!(left, ["prod:temp:draft:1:1h", "stg:cache:tweet:1"]);
    let refused = keyspace::cleanup(&redis, "prod:temp:*", true, false)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "INVALID_PATTERN");
    let size: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(size, 2, "nothing deleted by a refused cleanup");
}
