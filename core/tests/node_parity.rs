//! 100,000 random strings, weighted toward whitespace, casing edge cases,
//! astral and combining characters, normalized and hashed by Node itself
//! (tests/node/content-corpus.mjs) and by the Rust core: 0 mismatches allowed.
//! Needs `node` on PATH (Node 20, the bot's runtime).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn rust_matches_node_on_100k_random_strings() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/node/content-corpus.mjs"
    );
    let mut child = Command::new("node")
        .args([script, "20261127", "100000"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("node must be installed to run the Node parity corpus");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut n, mut mismatches, mut non_ascii) = (0usize, Vec::new(), 0usize);
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let input = v["input"].as_str().unwrap();
        non_ascii += usize::from(!input.is_ascii());
        let normalized = xbot_core::content::normalize(input);
        let hash = xbot_core::content::content_hash(input);
        if normalized != v["normalized"].as_str().unwrap() || hash != v["sha256"].as_str().unwrap()
        {
            mismatches.push(input.to_string());
        }
        n += 1;
    }
    assert!(child.wait().unwrap().success(), "node exited with an error");
    assert_eq!(n, 100_000, "corpus size");
    assert!(
        non_ascii > 90_000,
        "the corpus exercises Unicode ({non_ascii} non-ASCII strings)"
    );
    assert!(
        mismatches.is_empty(),
        "{} of {n} differ from Node; first: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(3)]
    );
}
