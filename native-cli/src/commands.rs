//! The subcommands that talk to Redis.

use crate::cli::{
    BanditCommand, CacheCommand, Command, DedupCommand, Global, LockCommand, MigrateCommand,
    QueueCommand, RatelimitCommand, StatsCommand,
};
use serde_json::{json, Value};
use xbot_core::keys::KeyContext;
use xbot_core::queue::{Priority, QueueName};
use xbot_redis::error::{OpError, OpResult};
use xbot_redis::ops::{
    bandit, cache, dedup, health, keyspace, lock, migrate, now_ms,
    queue::{PushEntry, Queue},
    ratelimit, stats,
};
use xbot_redis::redis::Redis;

/// What a command printed, and whether it counts as success.
pub struct Outcome {
    pub output: Value,
    pub success: bool,
    /// What a terminal shows instead of pretty JSON (without `--json`).
    pub human: Option<String>,
}

fn ok(output: Value) -> OpResult<Outcome> {
    Ok(Outcome {
        output,
        success: true,
        human: None,
    })
}

/// The options of `migrate plan|run` (`migrate::check` refuses bad combinations before connecting).
fn migrate_options(command: &MigrateCommand) -> OpResult<(migrate::Options, bool)> {
    let (legacy, mode, delete_legacy, production) = match command {
        MigrateCommand::Plan { legacy } => (legacy, migrate::Mode::Plan, false, false),
        MigrateCommand::Run {
            legacy,
            execute,
            delete_legacy,
            production,
        } => (
            legacy,
            if *execute {
                migrate::Mode::Execute
            } else {
                migrate::Mode::DryRun
            },
            *delete_legacy,
            *production,
        ),
    };
    let legacy_prefixes = if legacy.legacy_prefix.is_empty() {
        xbot_core::legacy::default_legacy_prefixes()
    } else {
        legacy
            .legacy_prefix
            .iter()
            .map(|p| xbot_core::keys::Prefix::parse(p))
            .collect::<Result<_, _>>()?
    };
    let opts = migrate::Options {
        mode,
        legacy_prefixes,
        delete_legacy,
        now_ms: now_ms() as i64,
    };
    Ok((opts, production))
}

fn queues(name: Option<&str>) -> OpResult<Vec<QueueName>> {
    match name {
        Some(n) => Ok(vec![QueueName::parse(n)?]),
        None => Ok(QueueName::ALL.to_vec()),
    }
}

pub async fn run(g: &Global, command: Command) -> OpResult<Outcome> {
    let ctx = KeyContext::resolve(g.prefix.as_deref(), g.app_env.as_deref())?;
    // Validate input before connecting, so bad input is exit 2 even without Redis.
    match &command {
        Command::Queue { command } => {
            queue_name_of(command).map(QueueName::parse).transpose()?;
            if let QueueCommand::Ack { token, .. }
            | QueueCommand::Fail { token, .. }
            | QueueCommand::Extend { token, .. } = command
            {
                not_empty("queue", "--token", token)?;
            }
        }
        Command::Stats {
            command: StatsCommand::Incr { field, .. },
        } => not_empty("stats", "field", field)?,
        Command::Lock {
            command: LockCommand::Release { token, .. } | LockCommand::Extend { token, .. },
        } => not_empty("lock", "--token", token)?,
        Command::Cleanup {
            pattern,
            production,
            ..
        } => keyspace::check_cleanup_pattern(pattern, *production)?,
        Command::Migrate { command } => {
            let (opts, production) = migrate_options(command)?;
            migrate::check(&opts, &ctx, production)?;
        }
        _ => {}
    }
    if let Command::Worker { drain } = command {
        return worker(g, ctx, drain).await;
    }
    if let Command::Synced { table, limit } = &command {
        use xbot_redis::worker::{config::WorkerConfig, sink::Sink};
        let cfg = WorkerConfig::from_env().map_err(|e| OpError::Config(e.to_string()))?;
        let sink = Sink::open(&cfg)
            .await
            .map_err(|e| OpError::Config(e.to_string()))?;
        let rows = sink
            .rows(table, *limit)
            .await
            .map_err(|e| OpError::Config(e.to_string()))?;
        return ok(Value::Array(
            rows.into_iter()
                .map(|(id, row)| json!({ "id": id, "row": row }))
                .collect(),
        ));
    }
    let redis = Redis::open(&g.endpoints(), ctx).await?;
    if let Command::Dashboard { port, bind } = command {
        return dashboard(g, redis, bind, port).await;
    }
    match command {
        Command::Health {
            strict,
            instance,
            max_memory,
        } => {
            let instance = instance.unwrap_or_else(default_instance);
            let h = health::check(&redis, &instance, max_memory).await?;
            let success = h.ok && (!strict || h.warnings.is_empty());
            let mut output = serde_json::to_value(&h).expect("health serializes");
            // With --strict a warning is a failure: `ok` says so too.
            output["ok"] = json!(success);
            output["url"] = json!(xbot_redis::config::redact_url(&g.redis_url));
            Ok(Outcome {
                output,
                success,
                human: None,
            })
        }
        Command::Queue { command } => queue(&redis, command).await,
        Command::Migrate { command } => {
            let (opts, _) = migrate_options(&command)?;
            let report = migrate::migrate(&redis, &opts).await?;
            Ok(Outcome {
                human: Some(migrate::render(&report)),
                output: serde_json::to_value(&report).expect("serializes"),
                success: true,
            })
        }
        Command::Bandit {
            command: BanditCommand::Import { file },
        } => {
            let text = read_input("bandit import", &file)?;
            let posteriors = bandit::parse_posteriors(&text, &redis.ctx)?;
            let n = bandit::import(&redis, &posteriors).await?;
            ok(json!({ "imported": n, "posteriors": posteriors }))
        }
        Command::Bandit {
            command:
                BanditCommand::Update {
                    kind,
                    arm,
                    reward,
                    id,
                },
        } => match id {
            None => {
                let (alpha, beta) = bandit::update(&redis, &kind, &arm, reward).await?;
                ok(json!({ "kind": kind, "arm": arm, "alpha": alpha, "beta": beta }))
            }
            Some(id) => {
                let (alpha, beta, applied) =
                    bandit::update_once(&redis, &kind, &arm, reward, &id).await?;
                ok(
                    json!({ "kind": kind, "arm": arm, "alpha": alpha, "beta": beta, "applied": applied }),
                )
            }
        },
        Command::Bandit {
            command: BanditCommand::Select { kind, arms, seed },
        } => {
            let seed = match seed {
                Some(s) => xbot_core::bandit::seed_from_f64(s)?,
                None => u64::from_str_radix(&xbot_redis::ops::random_hex()[..13], 16).expect("hex"),
            };
            let (sel, posteriors) = bandit::select(&redis, &kind, &arms, seed).await?;
            let mut out = serde_json::to_value(sel).expect("serializes");
            out["seed"] = json!(seed);
            out["posteriors"] = serde_json::to_value(posteriors).expect("serializes");
            ok(out)
        }
        Command::Stats {
            command:
                StatsCommand::Incr {
                    period,
                    field,
                    by,
                    id,
                    at_ms,
                },
        } => {
            let at = at_ms.unwrap_or_else(now_ms);
            match id {
                None => {
                    let v = stats::incr(&redis, &period, &field, by, at).await?;
                    ok(json!({ "period": period, "field": field, "value": v }))
                }
                Some(id) => {
                    let (v, applied) =
                        stats::incr_once(&redis, &period, &field, by, at, &id).await?;
                    ok(json!({ "period": period, "field": field, "value": v, "applied": applied }))
                }
            }
        }
        Command::Stats {
            command: StatsCommand::Show { period, at_ms },
        } => {
            let (key, all) = stats::show(&redis, &period, at_ms.unwrap_or_else(now_ms)).await?;
            ok(json!({ "key": key, "counters": all }))
        }
        Command::Cache { command } => match command {
            CacheCommand::GetTweet { tweet_id } => ok(cache::tweet_get(&redis, &tweet_id)
                .await?
                .unwrap_or(Value::Null)),
            CacheCommand::SetTweet { tweet_id, value } => {
                cache::tweet_set(&redis, &tweet_id, &parse_json("--value", &value)?).await?;
                ok(json!({ "tweetId": tweet_id, "cached": true }))
            }
            CacheCommand::BumpConfig => {
                ok(json!({ "schemaVersion": cache::config_bump(&redis).await? }))
            }
            CacheCommand::Recent { n } => ok(Value::Array(cache::recent(&redis, n).await?)),
            CacheCommand::PushRecent { value } => {
                let length = cache::recent_push(&redis, &parse_json("--value", &value)?).await?;
                ok(json!({ "length": length }))
            }
        },
        Command::Audit { strict } => {
            let a = keyspace::audit(&redis).await?;
            let success = !(strict && a.problems > 0);
            Ok(Outcome {
                output: serde_json::to_value(a).expect("serializes"),
                success,
                human: None,
            })
        }
        Command::Cleanup {
            pattern,
            execute,
            production,
        } => {
            let c = keyspace::cleanup(&redis, &pattern, execute, production).await?;
            ok(serde_json::to_value(c).expect("serializes"))
        }
        Command::Lock { command } => match command {
            LockCommand::Acquire { name, lease_ms } => {
                Ok(match lock::acquire(&redis, &name, lease_ms).await? {
                    Some(lease) => {
                        let mut v = serde_json::to_value(lease).expect("serializes");
                        v["acquired"] = json!(true);
                        Outcome {
                            output: v,
                            success: true,
                            human: None,
                        }
                    }
                    None => Outcome {
                        output: json!({ "name": name, "acquired": false }),
                        success: false,
                        human: None,
                    },
                })
            }
            LockCommand::Release { name, token } => {
                let released = lock::release(&redis, &name, &token).await?;
                Ok(Outcome {
                    output: json!({ "name": name, "released": released }),
                    success: released,
                    human: None,
                })
            }
            LockCommand::Extend {
                name,
                token,
                lease_ms,
            } => {
                let extended = lock::extend(&redis, &name, &token, lease_ms).await?;
                Ok(Outcome {
                    output: json!({ "name": name, "extended": extended }),
                    success: extended,
                    human: None,
                })
            }
        },
        Command::Ratelimit {
            command: RatelimitCommand::Hit { limiter },
        } => {
            let limiter = xbot_core::ratelimit::Limiter::parse(&limiter)?;
            let limits = ratelimit::limits(&redis).await?;
            let d = ratelimit::hit(&redis, limiter, &limits).await?;
            let success = d.allowed;
            Ok(Outcome {
                output: serde_json::to_value(d).expect("serializes"),
                success,
                human: None,
            })
        }
        Command::Dedup {
            command:
                DedupCommand::Mark {
                    text,
                    holder,
                    family,
                },
        } => {
            let m = dedup::mark(&redis, &text, &holder, &family).await?;
            let success = m.new;
            Ok(Outcome {
                output: serde_json::to_value(m).expect("serializes"),
                success,
                human: None,
            })
        }
        _ => unreachable!("pure commands are dispatched elsewhere"),
    }
}

/// An empty argument is bad input (exit 2), refused before connecting.
fn not_empty(family: &str, param: &str, value: &str) -> OpResult<()> {
    if value.trim().is_empty() {
        return Err(xbot_core::Error::InvalidParam {
            family: family.into(),
            param: param.into(),
            value: value.into(),
            reason: "must not be empty".into(),
        }
        .into());
    }
    Ok(())
}

/// A file's text, or standard input's for `-`.
fn read_input(what: &str, file: &str) -> OpResult<String> {
    if file == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| OpError::Input {
        what: format!("{what} {file}"),
        reason: format!("cannot read it: {e}"),
    })
}

/// The entries of `queue push --jsonl`: one JSON object per non-empty line;
/// every line checked before anything is pushed, errors naming the line.
fn push_entries(
    text: &str,
    q: &Queue<'_>,
    kind: Option<&str>,
    priority: Option<f64>,
) -> OpResult<Vec<PushEntry>> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| OpError::Input {
            what: format!("line {} of the JSON Lines", i + 1),
            reason,
        };
        let v: Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Some(o) = v.as_object() else {
            return Err(bad("each line must be an object {\"data\", \"type\"?, \"priority\"?, \"id\"?, \"notBeforeMs\"?}".into()));
        };
        if let Some(k) = o
            .keys()
            .find(|k| !["data", "type", "priority", "id", "notBeforeMs"].contains(&k.as_str()))
        {
            return Err(bad(format!(
                "unknown field \"{k}\" (fields: data, type, priority, id, notBeforeMs)"
            )));
        }
        let Some(data) = o.get("data") else {
            return Err(bad("\"data\" is missing".into()));
        };
        let priority = match o.get("priority").map(|p| p.as_f64()).or(priority.map(Some)) {
            Some(Some(p)) => Priority::from_f64(p).map_err(|e| bad(e.to_string()))?,
            Some(None) => return Err(bad("\"priority\" must be a number 0-100".into())),
            None => q.name.default_priority(),
        };
        let text_field = |name: &str| -> OpResult<Option<String>> {
            match o.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(format!("\"{name}\" must be a string"))),
            }
        };
        let not_before_ms =
            match o.get("notBeforeMs") {
                None => None,
                Some(v) => Some(v.as_u64().ok_or_else(|| {
                    bad("\"notBeforeMs\" must be epoch ms (a whole number)".into())
                })?),
            };
        let entry = PushEntry {
            kind: text_field("type")?
                .or(kind.map(String::from))
                .unwrap_or_else(|| xbot_core::client::default_type(q.name).into()),
            data: data.clone(),
            priority,
            id: text_field("id")?,
            not_before_ms,
        };
        // The item's own checks (id, type, size), here so the error names the line.
        let req = xbot_core::client::PushRequest {
            id: entry.id.as_deref().unwrap_or("line"),
            kind: Some(&entry.kind),
            priority: Some(f64::from(priority.get())),
            not_before_ms: not_before_ms.map(|v| v as f64),
        };
        xbot_core::client::prepare_push(q.name, entry.data.clone(), &req, now_ms() as f64)
            .map_err(|e| bad(e.to_string()))?;
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(OpError::Input {
            what: "queue push --jsonl".into(),
            reason: "no items: every line is empty".into(),
        });
    }
    Ok(entries)
}

fn parse_json(what: &'static str, raw: &str) -> OpResult<Value> {
    Ok(
        serde_json::from_str(raw).map_err(|e| xbot_core::Error::InvalidJson {
            what,
            reason: e.to_string(),
        })?,
    )
}

fn queue_name_of(c: &QueueCommand) -> Option<&str> {
    match c {
        QueueCommand::Push { queue, .. }
        | QueueCommand::Reserve { queue, .. }
        | QueueCommand::Ack { queue, .. }
        | QueueCommand::Fail { queue, .. }
        | QueueCommand::Extend { queue, .. }
        | QueueCommand::Dead { queue, .. }
        | QueueCommand::Requeue { queue, .. } => Some(queue),
        QueueCommand::Stats { queue } | QueueCommand::Reap { queue, .. } => queue.as_deref(),
    }
}

fn default_instance() -> String {
    xbot_redis::worker::instance_name()
}

async fn queue(redis: &Redis, command: QueueCommand) -> OpResult<Outcome> {
    let q = |name: &str| {
        QueueName::parse(name)
            .map(|n| Queue::new(redis, n))
            .map_err(OpError::from)
    };
    match command {
        QueueCommand::Push {
            queue,
            kind,
            priority,
            jsonl: Some(file),
            ..
        } => {
            let q = q(&queue)?;
            let text = read_input("queue push --jsonl", &file)?;
            let entries = push_entries(&text, &q, kind.as_deref(), priority)?;
            let results = q.push_many(entries).await?;
            let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
            let results: Vec<Value> = results
                .into_iter()
                .map(|r| match r {
                    Ok(p) => {
                        *counts.entry(p.status).or_default() += 1;
                        serde_json::to_value(p).expect("serializes")
                    }
                    Err(e) => {
                        *counts.entry("failed").or_default() += 1;
                        json!({ "error": { "code": e.code(), "message": e.to_string() } })
                    }
                })
                .collect();
            let failed = counts.get("failed").copied().unwrap_or(0);
            Ok(Outcome {
                human: None,
                output: json!({ "counts": counts, "results": results }),
                success: failed == 0,
            })
        }
        QueueCommand::Push {
            queue,
            kind,
            priority,
            data,
            id,
            not_before_ms,
            ..
        } => {
            let q = q(&queue)?;
            let kind = kind.unwrap_or_default();
            let priority = match priority {
                Some(p) => Priority::from_f64(p)?,
                None => q.name.default_priority(),
            };
            let data: Value =
                serde_json::from_str(data.as_deref().unwrap_or_default()).map_err(|e| {
                    xbot_core::Error::InvalidJson {
                        what: "--data",
                        reason: e.to_string(),
                    }
                })?;
            let pushed = q
                .push(&kind, data, priority, id.as_deref(), not_before_ms)
                .await?;
            ok(serde_json::to_value(pushed).expect("serializes"))
        }
        QueueCommand::Reserve { queue, lease_ms } => {
            let r = q(&queue)?.reserve(lease_ms).await?;
            ok(r.map_or(Value::Null, |r| r.to_json()))
        }
        QueueCommand::Ack { queue, id, token } => {
            q(&queue)?.ack(&id, &token).await?;
            ok(json!({ "id": id, "acked": true }))
        }
        QueueCommand::Fail {
            queue,
            id,
            token,
            error,
        } => {
            let f = q(&queue)?.fail(&id, &token, &error).await?;
            ok(serde_json::to_value(f).expect("serializes"))
        }
        QueueCommand::Extend {
            queue,
            id,
            token,
            lease_ms,
        } => {
            let deadline = q(&queue)?.extend(&id, &token, lease_ms).await?;
            ok(json!({ "id": id, "leaseDeadlineMs": deadline }))
        }
        QueueCommand::Stats { queue } => {
            let mut all = Vec::new();
            for name in queues(queue.as_deref())? {
                all.push(
                    serde_json::to_value(Queue::new(redis, name).stats().await?)
                        .expect("serializes"),
                );
            }
            ok(if queue.is_some() {
                all.remove(0)
            } else {
                Value::Array(all)
            })
        }
        QueueCommand::Dead { queue, limit } => ok(Value::Array(q(&queue)?.dead(limit).await?)),
        QueueCommand::Requeue {
            queue,
            id,
            all: _,
            limit,
        } => {
            let queue_ops = q(&queue)?;
            let mut n = queue_ops.requeue(id.as_deref(), limit).await?;
            if id.is_none() {
                // --all: batch after batch until the dead set has no more
                // (bounded by the set's size when the command started).
                let mut left = queue_ops.stats().await?.dead;
                let mut last = n;
                while last == u64::from(limit) && left > 0 {
                    last = queue_ops.requeue(None, limit).await?;
                    n += last;
                    left = left.saturating_sub(last.max(1));
                }
            }
            if let (Some(id), 0) = (&id, n) {
                return Err(OpError::NotDead {
                    queue,
                    id: id.clone(),
                });
            }
            ok(json!({ "requeued": n }))
        }
        QueueCommand::Reap { queue, limit } => {
            let mut out = Vec::new();
            for name in queues(queue.as_deref())? {
                let (retried, dead) = Queue::new(redis, name).reap(limit).await?;
                out.push(json!({ "queue": name.as_str(), "retried": retried, "dead": dead }));
            }
            ok(Value::Array(out))
        }
    }
}

/// The worker: configuration from the environment, Redis with retries,
/// SIGTERM/SIGINT start a graceful drain.
/// `xbot-redis dashboard`: the dashboard alone, until SIGTERM or Ctrl-C.
async fn dashboard(
    g: &Global,
    redis: Redis,
    bind: std::net::IpAddr,
    port: u16,
) -> OpResult<Outcome> {
    let app = xbot_redis::dashboard::router(redis, &xbot_redis::config::redact_url(&g.redis_url))?;
    let listener = tokio::net::TcpListener::bind((bind, port))
        .await
        .map_err(|e| OpError::Config(format!("cannot listen on {bind}:{port}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| OpError::Config(e.to_string()))?;
    eprintln!("dashboard: http://{addr}/ (Ctrl-C to stop)");
    let stop = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| OpError::Config(format!("dashboard server: {e}")))?;
    ok(json!({ "stopped": true, "address": addr.to_string() }))
}

async fn worker(g: &Global, ctx: KeyContext, drain: bool) -> OpResult<Outcome> {
    use std::io::IsTerminal;
    use xbot_redis::worker::{config::WorkerConfig, sink::Sink};
    let json_logs = !std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json_logs {
        builder.json().try_init()
    } else {
        builder.try_init()
    };

    let cfg = WorkerConfig::from_env().map_err(|e| OpError::Config(e.to_string()))?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutdown requested: finishing items in flight");
        let _ = stop.send(true);
    });
    // Redis or the database down at start: retry with backoff until shutdown.
    let url = xbot_redis::config::redact_url(&g.redis_url);
    let endpoints = g.endpoints();
    let redis = retry(&shutdown, &format!("Redis at {url}"), || {
        Redis::open(&endpoints, ctx.clone())
    })
    .await?;
    let sink = retry(&shutdown, "sink", || Sink::open(&cfg))
        .await
        .map_err(|e| OpError::Config(format!("sink: {e}")))?;
    if let Ok(h) = health::check(&redis, &default_instance(), None).await {
        for w in &h.warnings {
            tracing::error!(warning = %w, "Redis configuration");
        }
    }
    let cfg = WorkerConfig {
        redis_label: url.clone(),
        ..cfg
    };
    let summary = xbot_redis::worker::run(redis, cfg, sink, shutdown, drain).await?;
    ok(serde_json::to_value(summary).expect("serializes"))
}

/// Calls `connect` until it succeeds, doubling the pause (200 ms up to 5 s)
/// and logging each failure; gives up with the last error once shutdown starts.
async fn retry<T, E: std::fmt::Display, F, Fut>(
    shutdown: &tokio::sync::watch::Receiver<bool>,
    what: &str,
    mut connect: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut delay = std::time::Duration::from_millis(200);
    loop {
        match connect().await {
            Ok(v) => return Ok(v),
            Err(e) if *shutdown.borrow() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "{what} unavailable; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
}
