//! The subcommands that need no Redis: thin wrappers over `xbot-core`.

use crate::cli::{BanditCommand, Cli, Command, ScoreArgs};
use crate::Failure;
use anyhow::Context;
use serde::Serialize;
use std::io::{BufRead, BufWriter, Write};
use xbot_core::{bandit, content, jsonl, keys, queue, Error};

type Result<T = ()> = std::result::Result<T, Failure>;

/// Prints `value` as JSON (one line) or with `human` formatting.
fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) -> Result {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, value).context("writing JSON")?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", human(value))?;
    }
    Ok(())
}

pub fn run(cli: Cli) -> Result {
    let g = &cli.global;
    let ctx = || keys::KeyContext::resolve(g.prefix.as_deref(), g.app_env.as_deref());
    match cli.command {
        Command::Hash { text: Some(text) } => {
            let d = content::digest(&text, &ctx()?);
            emit(g.json, &d, |d| {
                format!(
                    "normalized:       {}\nsha256:           {}\ncontent_hash key: {}\ndedup key:        {}",
                    d.normalized, d.sha256, d.content_hash_key, d.dedup_key
                )
            })
        }
        Command::Hash { text: None } => hash_stream(&ctx()?),
        Command::Key { family, params } => {
            let params = params
                .iter()
                .map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or_else(|| Error::InvalidParam {
                            family: family.clone(),
                            param: p.clone(),
                            value: p.clone(),
                            reason: "parameters are written NAME=VALUE".into(),
                        })
                })
                .collect::<std::result::Result<keys::Params, _>>()?;
            let built = keys::build_key(&family, &params, &ctx()?)?;
            emit(g.json, &built, |b| {
                let ttl = b
                    .ttl_seconds
                    .map_or("no TTL".into(), |s| format!("TTL {s}s"));
                format!("{}\t({}, {})", b.key, b.redis_type.as_str(), ttl)
            })
        }
        Command::Classify { key } => {
            let prefix = g.prefix.as_deref().map(keys::Prefix::parse).transpose()?;
            let found = keys::classify_key(&key, prefix.as_ref());
            emit(g.json, &found, |c| match c {
                Some(c) => format!(
                    "{}\t{}",
                    c.family,
                    serde_json::to_string(&c.params).expect("params serialize")
                ),
                None => format!("{key}: not a catalog key"),
            })?;
            if found.is_some() {
                Ok(())
            } else {
                Err(Failure::Silent)
            }
        }
        Command::Catalog { markdown: true } => {
            write!(std::io::stdout().lock(), "{}", keys::catalog_markdown())?;
            Ok(())
        }
        Command::Catalog { markdown: false } => emit(g.json, &keys::catalog(), |entries| {
            entries
                .iter()
                .map(|e| {
                    let ttl = e.ttl_seconds.map_or("-".into(), |s| format!("{s}s"));
                    format!(
                        "{:<28} {:<36} {:<6} {:>8}  {}",
                        e.name,
                        e.pattern,
                        e.redis_type.as_str(),
                        ttl,
                        e.purpose
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
        Command::Score(args) => score(g.json, args),
        Command::Bandit {
            command: BanditCommand::Sample { seed, arms },
        } => {
            let arms: Vec<bandit::Arm> =
                serde_json::from_str(&arms).map_err(|e| Error::InvalidJson {
                    what: "--arms (expected [{\"id\",\"alpha\",\"beta\"}, ...])",
                    reason: e.to_string(),
                })?;
            let sel = bandit::thompson_select(&arms, bandit::seed_from_f64(seed)?)?;
            emit(g.json, &sel, |s| format!("{}\t{:?}", s.id, s.samples))
        }
        Command::Bandit {
            command:
                BanditCommand::Beta {
                    alpha,
                    beta,
                    seed,
                    count,
                },
        } => {
            let samples = bandit::sample_beta(alpha, beta, bandit::seed_from_f64(seed)?, count)?;
            emit(g.json, &serde_json::json!({ "samples": samples }), |_| {
                samples
                    .iter()
                    .map(f64::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Retry {
            queue,
            attempt,
            item_id,
        } => {
            let delay = queue::retry_delay_ms(&queue, attempt, item_id.as_deref())?;
            let policy = queue::QueueName::parse(&queue)?.retry_policy();
            emit(
                g.json,
                &serde_json::json!({ "delayMs": delay, "policy": policy }),
                |_| match delay {
                    Some(ms) => format!("retry in {ms} ms"),
                    None => format!(
                        "no retry: dead-letter (max {} attempts)",
                        policy.max_attempts
                    ),
                },
            )
        }
        redis_command => {
            unreachable!("{redis_command:?} needs Redis: main dispatches it (Command::needs_redis)")
        }
    }
}

/// `hash` without TEXT: JSON Lines in, one JSON object per line out. A bad
/// line yields `{"line": n, "error": {...}}` in its place (so output line n
/// always answers input line n), and the command exits 1 at the end.
fn hash_stream(ctx: &keys::KeyContext) -> Result {
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut bad = 0usize;
    for (i, line) in stdin.lines().enumerate() {
        let line = line.context("reading stdin")?;
        match jsonl::hash_line(&line, ctx) {
            Ok(digest) => serde_json::to_writer(&mut out, &digest).context("writing stdout")?,
            Err(err) => {
                bad += 1;
                serde_json::to_writer(&mut out, &jsonl::error_line(i + 1, &err))
                    .context("writing stdout")?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if bad > 0 {
        return Err(Failure::Failed(anyhow::anyhow!(
            "{bad} input line(s) were not JSON strings"
        )));
    }
    Ok(())
}

#[derive(Serialize)]
struct Score {
    score: u64,
}

fn score(json: bool, a: ScoreArgs) -> Result {
    match (a.decode, a.priority, a.enqueued_at_ms) {
        (Some(s), _, _) => {
            let d = queue::decode_queue_score(s)?;
            emit(json, &d, |d| {
                format!(
                    "priority {} enqueuedAtMs {} seq {}",
                    d.priority, d.enqueued_at_ms, d.seq
                )
            })
        }
        (None, Some(p), Some(t)) => {
            // Scores are integers below 2^53, so the u64 is exact.
            let s = Score {
                score: queue::queue_score(p, t, a.seq)? as u64,
            };
            emit(json, &s, |s| s.score.to_string())
        }
        _ => unreachable!("clap requires --priority with --enqueued-at-ms, or --decode"),
    }
}
