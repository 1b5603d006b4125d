//! Model-based test of the queue protocol (docs/MODEL.md).
//!
//! Random sequences of queue operations (push, reserve, ack-and-reserve, ack,
//! fail, bury, extend, release, plan, reap, requeue, promote, plus sleeps and
//! clock warps) run against a real redis-server through `Queue`, and after
//! every step the reply and the whole observable state (every queue key: the
//! ready, in-flight, delayed and dead sets with their scores, the meta hash,
//! the stored ids, the tie-break sequence; `stats`; the dead-letter listing)
//! are compared with a small in-memory model of the documented semantics.
//!
//! Time. The scripts read the server's clock (`TIME`); redis-server runs on
//! this machine, so its clock is ours. Each call is bracketed by our clock
//! before (`t0`) and after (`t1`) it, so the server's reading `N` of that call
//! is in `[t0, t1]`. The model takes `N` from what the call wrote (a lease
//! deadline minus the lease, a retry time minus the policy's delay, the
//! enqueue time inside a ready score, a time of death), checks `t0 <= N <= t1`,
//! and then computes the exact expected reply and state at that `N`. When a
//! call wrote no timestamp, the model runs it at `N = t0` and requires it to
//! write none. So a deadline inside a call's window may go either way, but the
//! whole outcome must be the one of a single clock reading within the window.
//!
//! Environment: `XBOT_MODEL_CASES` (sequences, default 200),
//! `XBOT_MODEL_THREADS` (runners in parallel, default 4),
//! `XBOT_MODEL_SEED` (replay a run), `XBOT_MODEL_MIN_STEPS` (default 50),
//! `XBOT_MODEL_PROGRESS` (print progress every N sequences),
//! `XBOT_MODEL_MUTANT` (a deliberately wrong model, to see the test fail).

mod support;

use proptest::prelude::*;
use proptest::strategy::{NewTree, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::json;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::RedisServer;
use xbot_core::effects::Plan;
use xbot_core::keys::{queue_keys, KeyContext};
use xbot_core::queue::{
    decode_queue_score, queue_score, retry_delay_ms, Priority, QueueName, MAX_STALLS,
};
use xbot_redis::error::OpError;
use xbot_redis::ops::queue::Queue;
use xbot_redis::redis::Redis;

// ---------------------------------------------------------------------------
// Operations as generated (shrinkable), before they are bound to ids/tokens.

/// Which token an owner-checked call presents.
#[derive(Clone, Copy, Debug)]
enum Tok {
    /// The item's current lease token (or its last one when not in flight).
    Current,
    /// An earlier token of the item, or another item's token.
    Stale,
    /// A token never issued.
    Bogus,
}

/// Which items an owner-checked call picks from.
#[derive(Clone, Copy, Debug)]
enum Among {
    /// The last item reserved (as a worker does), else as `InFlight`.
    Latest,
    /// The in-flight items, else as `Any`.
    InFlight,
    /// Every id ever pushed, acked ones included.
    Any,
}

/// The item an owner-checked call is about.
#[derive(Clone, Copy, Debug)]
struct Target {
    among: Among,
    pick: u16,
    tok: Tok,
}

/// A failure message: the scripts keep at most 2048 bytes of it.
#[derive(Clone, Copy, Debug)]
enum Msg {
    Short,
    /// 3,300 ASCII bytes.
    LongAscii,
    /// 1,000 × "€" (3 bytes each): 2048 bytes end inside a character.
    LongUtf8,
}

#[derive(Clone, Copy, Debug)]
enum Sched {
    Now,
    /// Not before now + this many ms (a short real wait).
    Soon(u64),
    /// Not before a time already past (goes to ready).
    Past,
}

#[derive(Clone, Debug)]
enum Op {
    Push {
        prio: u64,
        sched: Sched,
    },
    /// The id of a known item again (refused while it exists).
    PushAgain {
        pick: u16,
        prio: u64,
    },
    Reserve {
        lease: u64,
    },
    AckAndReserve {
        target: Target,
        lease: u64,
    },
    Ack(Target),
    Fail {
        target: Target,
        msg: Msg,
    },
    Bury(Target),
    Extend {
        target: Target,
        lease: u64,
    },
    Release(Target),
    Plan(Target),
    Reap {
        limit: u32,
    },
    /// `pick: None` = the oldest dead (`*`), else one id (mostly a dead one).
    Requeue {
        pick: Option<u16>,
        limit: u32,
    },
    Promote {
        limit: u32,
    },
    Sleep {
        ms: u64,
    },
    /// Sleep until every lease deadline (and due time) of the model has passed (at most 150 ms).
    SleepPastDeadlines,
    /// Move every delayed due time `ms` into the past: the same as the clock
    /// jumping forward for the delayed set, without waiting for retry delays
    /// of seconds (see docs/MODEL.md).
    Warp {
        ms: u64,
    },
    /// A worker that dies: reserve, sleep past the lease, reap (three steps).
    Crash {
        lease: u64,
    },
    /// A failing item: reserve, fail it, move the delayed set `warp` ms on (three steps).
    Flaky {
        lease: u64,
        warp: u64,
    },
    /// Sleep to `offset_us` around a future lease deadline (`lease`) or due
    /// time, so that the next call runs right at the boundary.
    SleepTo {
        lease: bool,
        pick: u16,
        offset_us: i64,
    },
    /// `SleepTo`, then reap (`lease`) or promote / reserve (two steps).
    Edge {
        lease: bool,
        pick: u16,
        offset_us: i64,
        reserve: bool,
    },
}

/// The steps an operation runs (only `Crash` is more than one).
fn expand(ops: &[Op]) -> Vec<Op> {
    ops.iter()
        .flat_map(|op| match op {
            Op::Crash { lease } => vec![
                Op::Reserve { lease: *lease },
                Op::SleepPastDeadlines,
                Op::Reap { limit: 100 },
            ],
            Op::Flaky { lease, warp } => vec![
                Op::Reserve { lease: *lease },
                Op::Fail {
                    target: Target {
                        among: Among::Latest,
                        pick: 0,
                        tok: Tok::Current,
                    },
                    msg: Msg::Short,
                },
                Op::Warp { ms: *warp },
            ],
            Op::Edge {
                lease,
                pick,
                offset_us,
                reserve,
            } => vec![
                Op::SleepTo {
                    lease: *lease,
                    pick: *pick,
                    offset_us: *offset_us,
                },
                match (lease, reserve) {
                    (true, _) => Op::Reap { limit: 100 },
                    (false, false) => Op::Promote { limit: 100 },
                    (false, true) => Op::Reserve { lease: 30 },
                },
            ],
            other => vec![other.clone()],
        })
        .collect()
}

fn tok() -> impl Strategy<Value = Tok> {
    prop_oneof![8 => Just(Tok::Current), 1 => Just(Tok::Stale), 1 => Just(Tok::Bogus)]
}

fn target() -> impl Strategy<Value = Target> {
    let among = prop_oneof![
        4 => Just(Among::Latest),
        4 => Just(Among::InFlight),
        1 => Just(Among::Any)
    ];
    (among, any::<u16>(), tok()).prop_map(|(among, pick, tok)| Target { among, pick, tok })
}

fn prio() -> impl Strategy<Value = u64> {
    // Few distinct priorities, so that FIFO among equals is exercised.
    prop_oneof![3 => Just(50u64), 1 => Just(0u64), 1 => Just(100u64), 1 => 0u64..=100]
}

fn lease() -> impl Strategy<Value = u64> {
    10u64..=40
}

fn limit() -> impl Strategy<Value = u32> {
    prop_oneof![Just(1u32), Just(2u32), Just(100u32)]
}

/// One operation. `crashy`: the "few items, many crashes and retries"
/// profile, which reaches the 5th stall and the last failed attempt.
fn op(crashy: bool) -> impl Strategy<Value = Op> {
    let w = |normal: u32, crashy_weight: u32| if crashy { crashy_weight } else { normal };
    let edge = (
        any::<bool>(),
        any::<u16>(),
        -1_500i64..=1_000,
        any::<bool>(),
    )
        .prop_map(|(lease, pick, offset_us, reserve)| Op::Edge {
            lease,
            pick,
            offset_us,
            reserve,
        });
    let sched = prop_oneof![
        6 => Just(Sched::Now),
        2 => (5u64..=60).prop_map(Sched::Soon),
        1 => Just(Sched::Past)
    ];
    let producer = prop_oneof![
        w(8, 2) => (prio(), sched).prop_map(|(prio, sched)| Op::Push { prio, sched }),
        w(2, 1) => (any::<u16>(), prio()).prop_map(|(pick, prio)| Op::PushAgain { pick, prio }),
        w(2, 1) => (1u64..=30).prop_map(|ms| Op::Sleep { ms }),
        w(3, 2) => Just(Op::SleepPastDeadlines),
        w(6, 10) => prop_oneof![Just(300u64), Just(1_000), Just(2_500), Just(8_000), Just(40_000)]
            .prop_map(|ms| Op::Warp { ms }),
        w(3, 2) => limit().prop_map(|limit| Op::Promote { limit }),
        w(5, 3) => limit().prop_map(|limit| Op::Reap { limit }),
        w(4, 3) => (prop::option::weighted(0.5, any::<u16>()), limit())
            .prop_map(|(pick, limit)| Op::Requeue { pick, limit }),
        w(3, 12) => lease().prop_map(|lease| Op::Crash { lease }),
        w(4, 3) => edge,
        w(2, 6) => (lease(), prop_oneof![Just(1_000u64), Just(4_000), Just(20_000)])
            .prop_map(|(lease, warp)| Op::Flaky { lease, warp }),
    ];
    let consumer = prop_oneof![
        w(14, 10) => lease().prop_map(|lease| Op::Reserve { lease }),
        w(3, 2) => (target(), lease()).prop_map(|(target, lease)| Op::AckAndReserve { target, lease }),
        w(5, 2) => target().prop_map(Op::Ack),
        9 => (target(), prop_oneof![18 => Just(Msg::Short), 1 => Just(Msg::LongAscii), 1 => Just(Msg::LongUtf8)])
            .prop_map(|(target, msg)| Op::Fail { target, msg }),
        1 => target().prop_map(Op::Bury),
        w(3, 2) => (target(), lease()).prop_map(|(target, lease)| Op::Extend { target, lease }),
        w(3, 2) => target().prop_map(Op::Release),
        2 => target().prop_map(Op::Plan),
    ];
    prop_oneof![w(40, 35) => producer, w(40, 30) => consumer]
}

// ---------------------------------------------------------------------------
// Operations bound to ids and tokens (what actually runs).

#[derive(Clone, Debug)]
enum Act {
    Push {
        id: String,
        prio: u64,
        not_before: Option<u64>,
    },
    Reserve {
        lease: u64,
        ack: Option<(String, String)>,
    },
    Ack {
        id: String,
        token: String,
    },
    Fail {
        id: String,
        token: String,
        msg: String,
    },
    Bury {
        id: String,
        token: String,
        reason: String,
    },
    Extend {
        id: String,
        token: String,
        lease: u64,
    },
    Release {
        id: String,
        token: String,
    },
    Plan {
        id: String,
        token: String,
    },
    Reap {
        limit: u32,
    },
    Requeue {
        id: Option<String>,
        limit: u32,
    },
    Promote {
        limit: u32,
    },
    Sleep {
        ms: u64,
    },
    /// Sleep until our clock reads this many µs since the epoch.
    SleepUntil {
        at_us: u64,
    },
    Warp {
        ms: u64,
    },
}

impl Act {
    fn short(&self) -> String {
        let t = |s: &str| s.chars().take(10).collect::<String>();
        match self {
            Act::Push {
                id,
                prio,
                not_before,
            } => format!("push {id} p{prio} nb={not_before:?}"),
            Act::Reserve { lease, ack: None } => format!("reserve lease={lease}"),
            Act::Reserve {
                lease,
                ack: Some((id, tk)),
            } => format!("ack_and_reserve {id} tok={} lease={lease}", t(tk)),
            Act::Ack { id, token } => format!("ack {id} tok={}", t(token)),
            Act::Fail { id, token, msg } => {
                format!("fail {id} tok={} msg={}B", t(token), msg.len())
            }
            Act::Bury { id, token, .. } => format!("bury {id} tok={}", t(token)),
            Act::Extend { id, token, lease } => {
                format!("extend {id} tok={} lease={lease}", t(token))
            }
            Act::Release { id, token } => format!("release {id} tok={}", t(token)),
            Act::Plan { id, token } => format!("plan {id} tok={}", t(token)),
            Act::Reap { limit } => format!("reap limit={limit}"),
            Act::Requeue { id, limit } => format!("requeue {id:?} limit={limit}"),
            Act::Promote { limit } => format!("promote limit={limit}"),
            Act::Sleep { ms } => format!("sleep {ms}ms"),
            Act::SleepUntil { at_us } => {
                format!("sleep until {}ms + {}us", at_us / 1000, at_us % 1000)
            }
            Act::Warp { ms } => format!("warp delayed by -{ms}ms"),
        }
    }
}

// ---------------------------------------------------------------------------
// Replies, normalised for comparison.

#[derive(Clone, Debug, PartialEq)]
struct Got {
    id: String,
    attempts: u64,
    deadline: u64,
    prio: u64,
    /// `data.id` of the stored item (the body is never rewritten).
    data_id: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Reply {
    Pushed {
        status: String,
        score: Option<u64>,
        due: Option<u64>,
    },
    Reserved(Option<Got>),
    Done,
    Failed {
        outcome: String,
        retry_at: Option<u64>,
        attempts: u64,
    },
    Extended(u64),
    Planned(String),
    Count(u64),
    Reaped(u64, u64),
    Err(String),
    Nothing,
}

fn err_reply(e: OpError) -> Reply {
    match e {
        OpError::NotInFlight { .. } => Reply::Err("NOT_IN_FLIGHT".into()),
        OpError::NotOwner { .. } => Reply::Err("NOT_OWNER".into()),
        other => Reply::Err(format!("unexpected error: {other}")),
    }
}

// ---------------------------------------------------------------------------
// The model.

/// Deliberately wrong models (`XBOT_MODEL_MUTANT`), to show the test fails.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mutant {
    None,
    /// Newest first among equal priorities.
    Lifo,
    /// One stall more before the dead-letter set.
    Stalls,
    /// A release counts a failed attempt.
    ReleaseCounts,
}

fn mutant() -> Mutant {
    match std::env::var("XBOT_MODEL_MUTANT").as_deref() {
        Ok("lifo") => Mutant::Lifo,
        Ok("stalls") => Mutant::Stalls,
        Ok("release-counts") => Mutant::ReleaseCounts,
        Ok("") | Err(_) => Mutant::None,
        Ok(other) => panic!("unknown XBOT_MODEL_MUTANT {other:?} (lifo, stalls, release-counts)"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Place {
    /// In the ready set, enqueued at `ms` with tie-break `seq`.
    Ready {
        ms: u64,
        seq: u64,
    },
    InFlight {
        deadline: u64,
    },
    Delayed {
        due: u64,
    },
    Dead {
        at: u64,
    },
}

#[derive(Clone, Debug)]
struct Item {
    prio: u64,
    place: Place,
    /// Failed attempts (`<id>:r`).
    attempts: u64,
    /// Expired leases (`<id>:s`).
    stalls: u64,
    /// Last error / dead-letter reason (`<id>:e`), as stored: bytes.
    error: Option<Vec<u8>>,
    /// Lease token while in flight (`<id>:t`).
    token: Option<String>,
    /// The stored side-effect plan (`<id>:x`).
    plan: Option<String>,
}

#[derive(Clone, Debug)]
struct Model {
    queue: QueueName,
    mutant: Mutant,
    items: BTreeMap<String, Item>,
    /// The tie-break key: ms and sequence of the last push to ready.
    seq: Option<(u64, u64)>,
    /// Every id ever pushed (acked ones included), in push order.
    known: Vec<String>,
    /// Every token issued, per id, in order.
    tokens: BTreeMap<String, Vec<String>>,
    /// The last item reserved.
    latest: Option<String>,
    next_id: u32,
}

fn score(prio: u64, ms: u64, seq: u64) -> u64 {
    queue_score(prio as f64, ms as f64, seq as f64).expect("valid score") as u64
}

/// The scripts keep at most 2048 bytes of an error message, cut on a UTF-8
/// character boundary (finding F1 was a cut inside a character).
fn truncate_2048(s: &str) -> Vec<u8> {
    let mut end = s.len().min(2048);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.as_bytes()[..end].to_vec()
}

impl Model {
    fn new(queue: QueueName, mutant: Mutant) -> Model {
        Model {
            queue,
            mutant,
            items: BTreeMap::new(),
            seq: None,
            known: Vec::new(),
            tokens: BTreeMap::new(),
            latest: None,
            next_id: 0,
        }
    }

    fn max_stalls(&self) -> u64 {
        u64::from(MAX_STALLS) + u64::from(self.mutant == Mutant::Stalls)
    }

    fn stall_delay(&self, stalls: u64) -> u64 {
        let p = self.queue.retry_policy();
        p.cap_ms.min(p.base_ms << (stalls - 1))
    }

    fn retry_delay(&self, id: &str, attempt: u64) -> Option<u64> {
        retry_delay_ms(self.queue.as_str(), attempt as f64, Some(id)).expect("valid attempt")
    }

    fn ids_where(&self, f: impl Fn(&Place) -> bool) -> Vec<String> {
        self.items
            .iter()
            .filter(|(_, it)| f(&it.place))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Binds a generated operation to ids and tokens of the current state.
    fn resolve(&mut self, op: &Op, step: usize) -> Act {
        match op {
            Op::Push { prio, sched } => {
                let id = format!("i{:04}", self.next_id);
                self.next_id += 1;
                self.known.push(id.clone());
                let now = now_ms();
                let not_before = match sched {
                    Sched::Now => None,
                    Sched::Soon(ms) => Some(now + ms),
                    Sched::Past => Some(now - 5_000),
                };
                Act::Push {
                    id,
                    prio: *prio,
                    not_before,
                }
            }
            Op::PushAgain { pick, prio } => {
                if self.known.is_empty() {
                    return self.resolve(
                        &Op::Push {
                            prio: *prio,
                            sched: Sched::Now,
                        },
                        step,
                    );
                }
                let id = self.known[*pick as usize % self.known.len()].clone();
                Act::Push {
                    id,
                    prio: *prio,
                    not_before: None,
                }
            }
            Op::Reserve { lease } => Act::Reserve {
                lease: *lease,
                ack: None,
            },
            Op::AckAndReserve { target, lease } => Act::Reserve {
                lease: *lease,
                ack: Some(self.bind(target)),
            },
            Op::Ack(t) => {
                let (id, token) = self.bind(t);
                Act::Ack { id, token }
            }
            Op::Fail { target, msg } => {
                let (id, token) = self.bind(target);
                let msg = match msg {
                    Msg::Short => format!("boom at step {step}"),
                    Msg::LongAscii => format!("step {step:>5}: ").repeat(300),
                    // 2048 bytes end inside the 683rd "€" (finding F1).
                    Msg::LongUtf8 => "€".repeat(1000),
                };
                Act::Fail { id, token, msg }
            }
            Op::Bury(t) => {
                let (id, token) = self.bind(t);
                Act::Bury {
                    id,
                    token,
                    reason: format!("buried at step {step}"),
                }
            }
            Op::Extend { target, lease } => {
                let (id, token) = self.bind(target);
                Act::Extend {
                    id,
                    token,
                    lease: *lease,
                }
            }
            Op::Release(t) => {
                let (id, token) = self.bind(t);
                Act::Release { id, token }
            }
            Op::Plan(t) => {
                let (id, token) = self.bind(t);
                Act::Plan { id, token }
            }
            Op::Reap { limit } => Act::Reap { limit: *limit },
            Op::Requeue { pick, limit } => {
                let id = pick.map(|pick| {
                    let dead = self.ids_where(|p| matches!(p, Place::Dead { .. }));
                    let pool = if !dead.is_empty() && pick % 5 != 0 {
                        dead
                    } else {
                        self.known.clone()
                    };
                    pool.get(pick as usize % pool.len().max(1))
                        .cloned()
                        .unwrap_or_else(|| "i9999".into())
                });
                Act::Requeue { id, limit: *limit }
            }
            Op::Promote { limit } => Act::Promote { limit: *limit },
            Op::Sleep { ms } => Act::Sleep { ms: *ms },
            Op::SleepPastDeadlines => {
                let last = self
                    .items
                    .values()
                    .filter_map(|it| match it.place {
                        Place::InFlight { deadline } => Some(deadline),
                        Place::Delayed { due } => Some(due),
                        _ => None,
                    })
                    .filter(|&t| t <= now_ms() + 150)
                    .max();
                let ms = last.map_or(0, |t| (t + 2).saturating_sub(now_ms()));
                Act::Sleep { ms }
            }
            Op::SleepTo {
                lease,
                pick,
                offset_us,
            } => {
                let now = now_ms();
                let times: Vec<u64> = self
                    .items
                    .values()
                    .filter_map(|it| match (lease, it.place) {
                        (true, Place::InFlight { deadline }) => Some(deadline),
                        (false, Place::Delayed { due }) => Some(due),
                        _ => None,
                    })
                    .filter(|&t| t >= now && t <= now + 200)
                    .collect();
                match times.get(*pick as usize % times.len().max(1)) {
                    Some(&t) => Act::SleepUntil {
                        at_us: (t * 1000).saturating_add_signed(*offset_us),
                    },
                    None => Act::Sleep { ms: 0 },
                }
            }
            Op::Warp { ms } => Act::Warp { ms: *ms },
            Op::Crash { .. } | Op::Flaky { .. } | Op::Edge { .. } => {
                unreachable!("expanded before running")
            }
        }
    }

    /// The id and token an owner-checked call presents.
    fn bind(&self, t: &Target) -> (String, String) {
        let in_flight = self.ids_where(|p| matches!(p, Place::InFlight { .. }));
        let pool = match (&t.among, &self.latest) {
            (Among::Latest, Some(id)) => vec![id.clone()],
            (Among::Latest | Among::InFlight, _) if !in_flight.is_empty() => in_flight,
            _ => self.known.clone(),
        };
        let Some(id) = pool.get(t.pick as usize % pool.len().max(1)).cloned() else {
            return ("i9999".into(), "bogus-token".into());
        };
        let issued = self.tokens.get(&id).cloned().unwrap_or_default();
        let current = self.items.get(&id).and_then(|it| it.token.clone());
        let token = match t.tok {
            Tok::Current => current.or_else(|| issued.last().cloned()),
            Tok::Stale => issued
                .iter()
                .rev()
                .find(|tk| Some(*tk) != current.as_ref())
                .cloned()
                .or_else(|| {
                    self.tokens
                        .iter()
                        .filter(|(other, _)| **other != id)
                        .flat_map(|(_, tks)| tks.last())
                        .next()
                        .cloned()
                }),
            Tok::Bogus => None,
        };
        (id, token.unwrap_or_else(|| "bogus-token".into()))
    }

    fn ready_best(&self) -> Option<String> {
        let ready = self.items.iter().filter_map(|(id, it)| match it.place {
            Place::Ready { ms, seq } => Some((it.prio, ms, seq, id)),
            _ => None,
        });
        if self.mutant == Mutant::Lifo {
            return ready
                .max_by(|a, b| (a.0, a.1, b.2, b.3).cmp(&(b.0, b.1, a.2, a.3)))
                .map(|r| r.3.clone());
        }
        // Highest score; among equal scores the smallest id.
        ready
            .map(|(p, ms, seq, id)| (score(p, ms, seq), id))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)))
            .map(|(_, id)| id.clone())
    }

    /// Due delayed items, FIFO by due time (then id, as ZRANGEBYSCORE), at most `limit`.
    fn due(&self, now: u64, limit: u32) -> Vec<String> {
        let mut due: Vec<(u64, String)> = self
            .items
            .iter()
            .filter_map(|(id, it)| match it.place {
                Place::Delayed { due } if due <= now => Some((due, id.clone())),
                _ => None,
            })
            .collect();
        due.sort();
        due.into_iter()
            .take(limit as usize)
            .map(|(_, id)| id)
            .collect()
    }

    fn promote(&mut self, now: u64, limit: u32) -> u64 {
        let due = self.due(now, limit);
        for id in &due {
            self.items.get_mut(id).unwrap().place = Place::Ready { ms: now, seq: 0 };
        }
        due.len() as u64
    }

    /// The owner check of fail / extend / release: in the in-flight set, then the token.
    fn owner_check(&self, id: &str, token: &str) -> Result<(), Reply> {
        match self.items.get(id) {
            Some(it) if matches!(it.place, Place::InFlight { .. }) => {
                if it.token.as_deref() == Some(token) {
                    Ok(())
                } else {
                    Err(Reply::Err("NOT_OWNER".into()))
                }
            }
            _ => Err(Reply::Err("NOT_IN_FLIGHT".into())),
        }
    }

    /// The owner check of ack / plan / ack-and-reserve: the token field alone.
    fn token_check(&self, id: &str, token: &str) -> Result<(), Reply> {
        match self.items.get(id).and_then(|it| it.token.as_deref()) {
            None => Err(Reply::Err("NOT_IN_FLIGHT".into())),
            Some(t) if t != token => Err(Reply::Err("NOT_OWNER".into())),
            Some(_) => Ok(()),
        }
    }

    /// Applies `act` at server time `now`. `new_token` is the token the
    /// wrapper generated for a reservation. Returns the expected reply and
    /// whether a timestamp derived from `now` was written.
    fn apply(&mut self, act: &Act, now: u64, new_token: Option<&str>) -> (Reply, bool) {
        match act {
            Act::Push {
                id,
                prio,
                not_before,
            } => {
                if self.items.contains_key(id) {
                    return (
                        Reply::Pushed {
                            status: "exists".into(),
                            score: None,
                            due: None,
                        },
                        false,
                    );
                }
                let nb = not_before.unwrap_or(0);
                let mut item = Item {
                    prio: *prio,
                    place: Place::Delayed { due: nb },
                    attempts: 0,
                    stalls: 0,
                    error: None,
                    token: None,
                    plan: None,
                };
                if nb > now {
                    self.items.insert(id.clone(), item);
                    return (
                        Reply::Pushed {
                            status: "scheduled".into(),
                            score: None,
                            due: Some(nb),
                        },
                        false,
                    );
                }
                let seq = match self.seq {
                    Some((ms, n)) if ms == now => (n + 1).min(15),
                    _ => 0,
                };
                self.seq = Some((now, seq));
                item.place = Place::Ready { ms: now, seq };
                self.items.insert(id.clone(), item);
                (
                    Reply::Pushed {
                        status: "added".into(),
                        score: Some(score(*prio, now, seq)),
                        due: None,
                    },
                    true,
                )
            }
            Act::Reserve { lease, ack } => {
                if let Some((id, token)) = ack {
                    if let Err(refused) = self.token_check(id, token) {
                        return (refused, false);
                    }
                    self.items.remove(id);
                }
                let promoted = self.promote(now, 100);
                let Some(id) = self.ready_best() else {
                    return (Reply::Reserved(None), promoted > 0);
                };
                let token = new_token.expect("a reservation has a token").to_string();
                self.tokens
                    .entry(id.clone())
                    .or_default()
                    .push(token.clone());
                self.latest = Some(id.clone());
                let it = self.items.get_mut(&id).unwrap();
                it.place = Place::InFlight {
                    deadline: now + lease,
                };
                it.token = Some(token);
                (
                    Reply::Reserved(Some(Got {
                        id: id.clone(),
                        attempts: it.attempts,
                        deadline: now + lease,
                        prio: it.prio,
                        data_id: id,
                    })),
                    true,
                )
            }
            Act::Ack { id, token } => match self.token_check(id, token) {
                Err(refused) => (refused, false),
                Ok(()) => {
                    self.items.remove(id);
                    (Reply::Done, false)
                }
            },
            Act::Fail { id, token, msg } => {
                if let Err(refused) = self.owner_check(id, token) {
                    return (refused, false);
                }
                let delay = self.retry_delay(id, self.items[id].attempts + 1);
                let it = self.items.get_mut(id).unwrap();
                it.attempts += 1;
                it.error = Some(truncate_2048(msg));
                it.token = None;
                match delay {
                    Some(d) => {
                        it.place = Place::Delayed { due: now + d };
                        (
                            Reply::Failed {
                                outcome: "retry".into(),
                                retry_at: Some(now + d),
                                attempts: it.attempts,
                            },
                            true,
                        )
                    }
                    None => {
                        it.place = Place::Dead { at: now };
                        (
                            Reply::Failed {
                                outcome: "dead".into(),
                                retry_at: None,
                                attempts: it.attempts,
                            },
                            true,
                        )
                    }
                }
            }
            Act::Bury { id, token, reason } => {
                // Refused like a failure when the caller does not own the lease (finding F3).
                if let Err(refused) = self.owner_check(id, token) {
                    return (refused, false);
                }
                let it = self.items.get_mut(id).unwrap();
                it.attempts += 1;
                it.error = Some(truncate_2048(reason));
                it.token = None;
                it.place = Place::Dead { at: now };
                (Reply::Done, true)
            }
            Act::Extend { id, token, lease } => {
                if let Err(refused) = self.owner_check(id, token) {
                    return (refused, false);
                }
                self.items.get_mut(id).unwrap().place = Place::InFlight {
                    deadline: now + lease,
                };
                (Reply::Extended(now + lease), true)
            }
            Act::Release { id, token } => {
                if let Err(refused) = self.owner_check(id, token) {
                    return (refused, false);
                }
                let counts = self.mutant == Mutant::ReleaseCounts;
                let it = self.items.get_mut(id).unwrap();
                it.place = Place::Ready { ms: now, seq: 0 };
                it.token = None;
                if counts {
                    it.attempts += 1;
                }
                (Reply::Done, true)
            }
            Act::Plan { id, token } => {
                if let Err(refused) = self.token_check(id, token) {
                    return (refused, false);
                }
                let it = self.items.get_mut(id).unwrap();
                let mine = plan_for(token);
                let stored = it.plan.get_or_insert(mine).clone();
                (Reply::Planned(stored), false)
            }
            Act::Reap { limit } => {
                let mut expired: Vec<(u64, String)> = self
                    .items
                    .iter()
                    .filter_map(|(id, it)| match it.place {
                        Place::InFlight { deadline } if deadline <= now => {
                            Some((deadline, id.clone()))
                        }
                        _ => None,
                    })
                    .collect();
                expired.sort();
                expired.truncate(*limit as usize);
                let (mut retried, mut dead) = (0, 0);
                let max = self.max_stalls();
                for (_, id) in &expired {
                    let stalls = self.items[id].stalls + 1;
                    let delay = self.stall_delay(stalls);
                    let it = self.items.get_mut(id).unwrap();
                    it.stalls = stalls;
                    it.error = Some(
                        format!("lease expired (worker lost), stall {stalls} of {MAX_STALLS}")
                            .into_bytes(),
                    );
                    it.token = None;
                    if stalls < max {
                        it.place = Place::Delayed { due: now + delay };
                        retried += 1;
                    } else {
                        it.place = Place::Dead { at: now };
                        dead += 1;
                    }
                }
                (Reply::Reaped(retried, dead), !expired.is_empty())
            }
            Act::Requeue { id, limit } => {
                let ids: Vec<String> = match id {
                    Some(id) => vec![id.clone()],
                    None => {
                        let mut dead: Vec<(u64, String)> = self
                            .items
                            .iter()
                            .filter_map(|(id, it)| match it.place {
                                Place::Dead { at } => Some((at, id.clone())),
                                _ => None,
                            })
                            .collect();
                        dead.sort();
                        dead.into_iter()
                            .take(*limit as usize)
                            .map(|(_, id)| id)
                            .collect()
                    }
                };
                let mut n = 0;
                for id in ids {
                    if let Some(it) = self.items.get_mut(&id) {
                        if matches!(it.place, Place::Dead { .. }) {
                            it.place = Place::Ready { ms: now, seq: 0 };
                            it.attempts = 0;
                            it.stalls = 0;
                            it.error = None;
                            n += 1;
                        }
                    }
                }
                (Reply::Count(n), n > 0)
            }
            Act::Promote { limit } => {
                let n = self.promote(now, *limit);
                (Reply::Count(n), n > 0)
            }
            Act::Sleep { .. } | Act::SleepUntil { .. } => (Reply::Nothing, false),
            Act::Warp { ms } => {
                for it in self.items.values_mut() {
                    if let Place::Delayed { due } = &mut it.place {
                        *due -= ms;
                    }
                }
                (Reply::Nothing, false)
            }
        }
    }

    /// Every queue key as the model has it.
    fn expected(&self) -> Observed {
        let mut o = Observed::default();
        for (id, it) in &self.items {
            match it.place {
                Place::Ready { ms, seq } => o.ready.push((id.clone(), score(it.prio, ms, seq))),
                Place::InFlight { deadline } => o.inflight.push((id.clone(), deadline)),
                Place::Delayed { due } => o.delayed.push((id.clone(), due)),
                Place::Dead { at } => o.dead.push((id.clone(), at)),
            }
            let mut meta = |field: &str, v: &[u8]| {
                o.meta.insert(format!("{id}:{field}"), v.to_vec());
            };
            meta("p", it.prio.to_string().as_bytes());
            if it.attempts > 0 {
                meta("r", it.attempts.to_string().as_bytes());
            }
            if it.stalls > 0 {
                meta("s", it.stalls.to_string().as_bytes());
            }
            if let Some(e) = &it.error {
                meta("e", e);
            }
            if let Some(t) = &it.token {
                meta("t", t.as_bytes());
            }
            if let Some(x) = &it.plan {
                meta("x", x.as_bytes());
            }
            o.items.insert(id.clone());
        }
        for set in [&mut o.ready, &mut o.inflight, &mut o.delayed, &mut o.dead] {
            set.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        }
        o.seq = self.seq.map(|(ms, n)| format!("{ms}:{n}"));
        o
    }
}

fn plan_for(token: &str) -> String {
    Plan {
        scope: token.to_string(),
        effects: vec![],
    }
    .to_json()
}

// ---------------------------------------------------------------------------
// Observation of the real state.

#[derive(Clone, Debug, Default, PartialEq)]
struct Observed {
    /// ZRANGE 0 -1 WITHSCORES: ascending score, then id.
    ready: Vec<(String, u64)>,
    inflight: Vec<(String, u64)>,
    delayed: Vec<(String, u64)>,
    dead: Vec<(String, u64)>,
    /// Field -> value bytes (an error message may be cut inside a character).
    meta: BTreeMap<String, Vec<u8>>,
    items: BTreeSet<String>,
    seq: Option<String>,
}

fn exact_u64(v: f64) -> u64 {
    assert!(
        v >= 0.0 && v.fract() == 0.0 && v < 9.007_199_254_740_992e15,
        "score {v}"
    );
    v as u64
}

async fn observe(redis: &Redis, keys: &[String; 7]) -> Result<Observed, String> {
    type Scored = Vec<(String, f64)>;
    type All = (
        Scored,
        Scored,
        Scored,
        Scored,
        BTreeMap<String, Vec<u8>>,
        Vec<String>,
        Option<String>,
    );
    let zrange = |k: &str| {
        let mut c = redis::cmd("ZRANGE");
        c.arg(k).arg(0).arg(-1).arg("WITHSCORES");
        c
    };
    let mut conn = redis.conn.clone();
    let (ready, inflight, delayed, dead, meta, items, seq): All = redis::pipe()
        .add_command(zrange(&keys[0]))
        .add_command(zrange(&keys[3]))
        .add_command(zrange(&keys[4]))
        .add_command(zrange(&keys[5]))
        .hgetall(&keys[2])
        .hkeys(&keys[1])
        .get(&keys[6])
        .query_async(&mut conn)
        .await
        .map_err(|e| format!("observing the state: {e}"))?;
    let ints = |v: Scored| -> Vec<(String, u64)> {
        v.into_iter().map(|(id, s)| (id, exact_u64(s))).collect()
    };
    Ok(Observed {
        ready: ints(ready),
        inflight: ints(inflight),
        delayed: ints(delayed),
        dead: ints(dead),
        meta,
        items: items.into_iter().collect(),
        seq,
    })
}

fn diff(expected: &Observed, got: &Observed) -> String {
    let mut out = String::new();
    let mut cmp = |what: &str, e: String, g: String| {
        if e != g {
            out.push_str(&format!("  {what}:\n    model:  {e}\n    redis:  {g}\n"));
        }
    };
    cmp(
        "ready (id, score)",
        format!("{:?}", expected.ready),
        format!("{:?}", got.ready),
    );
    cmp(
        "in flight (id, deadline)",
        format!("{:?}", expected.inflight),
        format!("{:?}", got.inflight),
    );
    cmp(
        "delayed (id, due)",
        format!("{:?}", expected.delayed),
        format!("{:?}", got.delayed),
    );
    cmp(
        "dead (id, at)",
        format!("{:?}", expected.dead),
        format!("{:?}", got.dead),
    );
    let keys: BTreeSet<&String> = expected.meta.keys().chain(got.meta.keys()).collect();
    for k in keys {
        let (e, g) = (expected.meta.get(k), got.meta.get(k));
        if e != g {
            let show = |v: Option<&Vec<u8>>| format!("{:?}", v.map(|b| elide(b)));
            cmp(&format!("meta {k}"), show(e), show(g));
        }
    }
    cmp(
        "items",
        format!("{:?}", expected.items),
        format!("{:?}", got.items),
    );
    cmp(
        "seq",
        format!("{:?}", expected.seq),
        format!("{:?}", got.seq),
    );
    out
}

/// The server's clock reading of the call, from a timestamp it wrote: the
/// first item whose observed place or time differs from the model before the
/// call. `None` when the call wrote no timestamp.
fn derive_now(before: &Model, act: &Act, reply: &Reply, obs: &Observed) -> Option<(u64, String)> {
    match (act, reply) {
        (Act::Reserve { lease, .. }, Reply::Reserved(Some(g))) => {
            return Some((
                g.deadline - lease,
                format!("lease deadline minus {lease} ms"),
            ));
        }
        (Act::Extend { lease, .. }, Reply::Extended(d)) => {
            return Some((d - lease, format!("new lease deadline minus {lease} ms")));
        }
        (Act::Push { .. }, Reply::Pushed { score: Some(s), .. }) => {
            let ms = decode_queue_score(*s as f64).ok()?.enqueued_at_ms;
            return Some((ms, "enqueue time in the score".into()));
        }
        (
            Act::Fail { id, .. },
            Reply::Failed {
                retry_at: Some(at),
                attempts,
                ..
            },
        ) => {
            if let Some(delay) = before.retry_delay(id, *attempts) {
                return Some((at - delay, format!("retry time minus {delay} ms")));
            }
        }
        _ => {}
    }
    let old = before.expected();
    let changed = |now: &[(String, u64)], was: &[(String, u64)]| -> Vec<(String, u64)> {
        now.iter().filter(|e| !was.contains(e)).cloned().collect()
    };
    if let Some((id, s)) = changed(&obs.ready, &old.ready).first() {
        let ms = decode_queue_score(*s as f64).ok()?.enqueued_at_ms;
        return Some((ms, format!("enqueue time in the ready score of {id}")));
    }
    if let Some((id, d)) = changed(&obs.inflight, &old.inflight).first() {
        let lease = match act {
            Act::Reserve { lease, .. } | Act::Extend { lease, .. } => *lease,
            _ => 0,
        };
        return Some((
            d - lease,
            format!("lease deadline of {id} minus {lease} ms"),
        ));
    }
    if let Some((id, at)) = changed(&obs.dead, &old.dead).first() {
        return Some((*at, format!("time of death of {id}")));
    }
    if let Some((id, due)) = changed(&obs.delayed, &old.delayed).first() {
        let it = before.items.get(id)?;
        let delay = match act {
            Act::Fail { .. } => before.retry_delay(id, it.attempts + 1)?,
            Act::Reap { .. } => before.stall_delay(it.stalls + 1),
            _ => return None,
        };
        return Some((due - delay, format!("due time of {id} minus {delay} ms")));
    }
    None
}

// ---------------------------------------------------------------------------
// Running a sequence.

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// What the sequences exercised (printed at the end; docs/MODEL.md quotes it).
#[derive(Default)]
struct Coverage {
    sequences: AtomicU64,
    steps: AtomicU64,
    pushed: AtomicU64,
    scheduled: AtomicU64,
    exists: AtomicU64,
    reserved: AtomicU64,
    reserved_retry: AtomicU64,
    empty: AtomicU64,
    acked: AtomicU64,
    refused: AtomicU64,
    fail_retry: AtomicU64,
    fail_dead: AtomicU64,
    buried: AtomicU64,
    extended: AtomicU64,
    released: AtomicU64,
    planned: AtomicU64,
    reap_retried: AtomicU64,
    reap_dead: AtomicU64,
    requeued: AtomicU64,
    promoted: AtomicU64,
    /// Calls whose outcome hung on a deadline inside the call's [t0, t1].
    clock_decided: AtomicU64,
    /// Promotions of two or more items of one priority whose due order
    /// differs from their id order (they come out by id: note N1).
    batch_not_due_order: AtomicU64,
    sleep_ms: AtomicU64,
}

impl Coverage {
    fn count(&self, act: &Act, reply: &Reply, before: &Model) {
        let add = |c: &AtomicU64, n: u64| {
            c.fetch_add(n, Relaxed);
        };
        match (act, reply) {
            (_, Reply::Err(_)) => add(&self.refused, 1),
            (_, Reply::Pushed { status, .. }) => match status.as_str() {
                "added" => add(&self.pushed, 1),
                "scheduled" => add(&self.scheduled, 1),
                _ => add(&self.exists, 1),
            },
            (act, Reply::Reserved(got)) => {
                if let Act::Reserve { ack: Some(_), .. } = act {
                    add(&self.acked, 1);
                }
                match got {
                    Some(g) => {
                        add(&self.reserved, 1);
                        let it = &before.items[&g.id];
                        if it.attempts + it.stalls > 0 {
                            add(&self.reserved_retry, 1);
                        }
                    }
                    None => add(&self.empty, 1),
                }
            }
            (Act::Ack { .. }, Reply::Done) => add(&self.acked, 1),
            (Act::Release { .. }, Reply::Done) => add(&self.released, 1),
            (Act::Bury { .. }, Reply::Done) => add(&self.buried, 1),
            (_, Reply::Failed { outcome, .. }) if outcome == "retry" => add(&self.fail_retry, 1),
            (_, Reply::Failed { .. }) => add(&self.fail_dead, 1),
            (_, Reply::Extended(_)) => add(&self.extended, 1),
            (_, Reply::Planned(_)) => add(&self.planned, 1),
            (_, Reply::Reaped(r, d)) => {
                add(&self.reap_retried, *r);
                add(&self.reap_dead, *d);
            }
            (Act::Requeue { .. }, Reply::Count(n)) => add(&self.requeued, *n),
            (Act::Promote { .. }, Reply::Count(n)) => add(&self.promoted, *n),
            _ => {}
        }
    }

    fn report(&self) -> String {
        let g = |c: &AtomicU64| c.load(Relaxed);
        format!(
            "{} sequences, {} steps; pushes {} added / {} scheduled / {} refused as existing; \
             {} reserved ({} redeliveries), {} empty; {} acked; {} refused (not in flight / not owner); \
             fail {} retry / {} dead; {} buried; {} extended; {} released; {} plans; \
             reap {} back / {} dead (5th stall); {} requeued; {} promoted by promote; \
             {} outcomes decided by the clock inside a call's window; \
             {} promotions served by id against due order; {:.1} s slept",
            g(&self.sequences),
            g(&self.steps),
            g(&self.pushed),
            g(&self.scheduled),
            g(&self.exists),
            g(&self.reserved),
            g(&self.reserved_retry),
            g(&self.empty),
            g(&self.acked),
            g(&self.refused),
            g(&self.fail_retry),
            g(&self.fail_dead),
            g(&self.buried),
            g(&self.extended),
            g(&self.released),
            g(&self.planned),
            g(&self.reap_retried),
            g(&self.reap_dead),
            g(&self.requeued),
            g(&self.promoted),
            g(&self.clock_decided),
            g(&self.batch_not_due_order),
            g(&self.sleep_ms) as f64 / 1000.0,
        )
    }
}

/// Runs `act` through the wrapper; the reply and, for a reservation, its token.
async fn execute(q: &Queue<'_>, act: &Act) -> (Reply, Option<String>) {
    match act {
        Act::Push {
            id,
            prio,
            not_before,
        } => {
            let p = Priority::new(*prio).unwrap();
            match q
                .push("model", json!({ "id": id }), p, Some(id), *not_before)
                .await
            {
                Ok(r) => (
                    Reply::Pushed {
                        status: r.status.to_string(),
                        score: r.score,
                        due: r.due_ms,
                    },
                    None,
                ),
                Err(e) => (err_reply(e), None),
            }
        }
        Act::Reserve { lease, ack } => {
            let r = match ack {
                Some((id, token)) => q.ack_and_reserve(id, token, *lease).await,
                None => q.reserve(*lease).await,
            };
            match r {
                Ok(None) => (Reply::Reserved(None), None),
                Ok(Some(r)) => (
                    Reply::Reserved(Some(Got {
                        id: r.item.id.clone(),
                        attempts: u64::from(r.item.retry_count),
                        deadline: r.lease_deadline_ms,
                        prio: u64::from(r.item.priority.get()),
                        data_id: r.item.data["id"].as_str().unwrap_or("?").to_string(),
                    })),
                    Some(r.token),
                ),
                Err(e) => (err_reply(e), None),
            }
        }
        Act::Ack { id, token } => match q.ack(id, token).await {
            Ok(()) => (Reply::Done, None),
            Err(e) => (err_reply(e), None),
        },
        Act::Fail { id, token, msg } => match q.fail(id, token, msg).await {
            Ok(f) => (
                Reply::Failed {
                    outcome: f.outcome.to_string(),
                    retry_at: f.retry_at,
                    attempts: f.attempts,
                },
                None,
            ),
            Err(e) => (err_reply(e), None),
        },
        Act::Bury { id, token, reason } => match q.bury(id, token, reason).await {
            Ok(()) => (Reply::Done, None),
            Err(e) => (err_reply(e), None),
        },
        Act::Extend { id, token, lease } => match q.extend(id, token, *lease).await {
            Ok(d) => (Reply::Extended(d), None),
            Err(e) => (err_reply(e), None),
        },
        Act::Release { id, token } => match q.release(id, token).await {
            Ok(()) => (Reply::Done, None),
            Err(e) => (err_reply(e), None),
        },
        Act::Plan { id, token } => {
            let plan = Plan::from_json(&plan_for(token)).unwrap();
            match q.plan(id, token, &plan).await {
                Ok(stored) => (Reply::Planned(stored.to_json()), None),
                Err(e) => (err_reply(e), None),
            }
        }
        Act::Reap { limit } => match q.reap(*limit).await {
            Ok((r, d)) => (Reply::Reaped(r, d), None),
            Err(e) => (err_reply(e), None),
        },
        Act::Requeue { id, limit } => match q.requeue(id.as_deref(), *limit).await {
            Ok(n) => (Reply::Count(n), None),
            Err(e) => (err_reply(e), None),
        },
        Act::Promote { limit } => match q.promote(*limit).await {
            Ok(n) => (Reply::Count(n), None),
            Err(e) => (err_reply(e), None),
        },
        Act::Sleep { .. } | Act::SleepUntil { .. } | Act::Warp { .. } => (Reply::Nothing, None),
    }
}

/// Moves every delayed due time `ms` into the past.
async fn warp(redis: &Redis, keys: &[String; 7], ms: u64) -> Result<(), String> {
    let mut conn = redis.conn.clone();
    let delayed: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(&keys[4])
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    if delayed.is_empty() {
        return Ok(());
    }
    let mut zadd = redis::cmd("ZADD");
    zadd.arg(&keys[4]).arg("XX");
    for (id, due) in delayed {
        zadd.arg(exact_u64(due) - ms).arg(id);
    }
    let _: i64 = zadd
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Checks `stats` (counts, and the oldest ready item's age against the call's window).
async fn check_stats(q: &Queue<'_>, model: &Model) -> Result<(), String> {
    let t0 = now_ms();
    let s = q.stats().await.map_err(|e| format!("stats: {e}"))?;
    let t1 = now_ms();
    let e = model.expected();
    let counts = (s.ready, s.in_flight, s.delayed, s.dead);
    let want = (
        e.ready.len() as u64,
        e.inflight.len() as u64,
        e.delayed.len() as u64,
        e.dead.len() as u64,
    );
    if counts != want {
        return Err(format!(
            "stats (ready, in flight, delayed, dead): model {want:?}, redis {counts:?}"
        ));
    }
    let oldest = model
        .items
        .values()
        .filter_map(|it| match it.place {
            Place::Ready { ms, .. } => Some(ms),
            _ => None,
        })
        .min();
    let ok = match (oldest, s.oldest_age_ms) {
        (None, None) => true,
        (Some(o), Some(age)) => t0.saturating_sub(o) <= age && age <= t1.saturating_sub(o),
        _ => false,
    };
    if !ok {
        return Err(format!(
            "stats oldest age: model oldest enqueue {oldest:?} with the call in [{t0}, {t1}], redis age {:?}",
            s.oldest_age_ms
        ));
    }
    Ok(())
}

/// Checks `Queue::dead` (the dead-letter listing) against the model.
async fn check_dead(q: &Queue<'_>, model: &Model) -> Result<(), String> {
    let got = q.dead(1000).await.map_err(|e| {
        format!(
            "the dead-letter listing (Queue::dead) fails: {e}\n  model: {}",
            model
                .expected()
                .dead
                .iter()
                .map(|(id, _)| format!(
                    "{id} error {:?}",
                    model.items[id].error.as_deref().map(elide)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let want: Vec<serde_json::Value> = model
        .expected()
        .dead
        .iter()
        .map(|(id, at)| {
            let it = &model.items[id];
            json!({
                "id": id, "diedAtMs": at, "error": it.error.as_deref().map(listed_error),
                "attempts": it.attempts, "stalls": it.stalls, "itemId": id, "data": { "id": id },
            })
        })
        .collect();
    let got: Vec<serde_json::Value> = got
        .into_iter()
        .map(|d| {
            // A stored error cut inside a character may be listed either
            // lossily decoded or cut back to the last whole character.
            let error = match d["error"].as_str() {
                Some(e) => json!(listed_error(e.trim_end_matches('\u{fffd}').as_bytes())),
                None => d["error"].clone(),
            };
            json!({
                "id": d["id"], "diedAtMs": d["diedAtMs"], "error": error,
                "attempts": d["attempts"], "stalls": d["stalls"],
                "itemId": d["item"]["id"], "data": d["item"]["data"],
            })
        })
        .collect();
    if got != want {
        let short = |v: &[serde_json::Value]| {
            let mut v = v.to_vec();
            for d in &mut v {
                if let Some(e) = d["error"].as_str() {
                    d["error"] = json!(elide(e.as_bytes()));
                }
            }
            serde_json::to_string(&v).unwrap()
        };
        return Err(format!(
            "dead-letter listing:\n    model: {}\n    redis: {}",
            short(&want),
            short(&got)
        ));
    }
    Ok(())
}

/// Bytes for a message: lossy text, long values shortened.
fn elide(b: &[u8]) -> String {
    let text = String::from_utf8_lossy(b);
    if text.chars().count() <= 60 {
        return text.into_owned();
    }
    let head: String = text.chars().take(24).collect();
    let tail: String = text
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}…{tail} ({} bytes)", b.len())
}

/// An error as listed: the stored bytes, without a trailing partial character.
fn listed_error(stored: &[u8]) -> String {
    match std::str::from_utf8(stored) {
        Ok(s) => s.to_string(),
        Err(e) => String::from_utf8_lossy(&stored[..e.valid_up_to()]).into_owned(),
    }
}

/// Items whose time-dependent fate in `act` hung on a time inside `[t0, t1]`.
fn clock_decided(model: &Model, act: &Act, t0: u64, t1: u64) -> bool {
    let inside = |t: u64| t0 < t && t <= t1;
    model.items.values().any(|it| match (act, it.place) {
        (Act::Reap { .. }, Place::InFlight { deadline }) => inside(deadline),
        (Act::Reserve { .. } | Act::Promote { .. }, Place::Delayed { due }) => inside(due),
        _ => false,
    }) || matches!(act, Act::Push { not_before: Some(nb), .. } if inside(*nb))
}

async fn run_sequence(
    base: &Redis,
    prefix: &str,
    queue: QueueName,
    ops: &[Op],
    cov: &Coverage,
) -> Result<(), String> {
    let mut redis = base.clone();
    redis.ctx = KeyContext::resolve(Some(prefix), None).map_err(|e| e.to_string())?;
    let keys = queue_keys(queue, &redis.ctx);
    let q = Queue::new(&redis, queue);
    let mut model = Model::new(queue, mutant());
    let mut trace: Vec<String> = Vec::new();
    let mut result = Ok(());
    for (i, op) in expand(ops).iter().enumerate() {
        if let Err(e) = step(&redis, &q, &keys, &mut model, op, i, cov, &mut trace).await {
            result = Err(format!(
                "queue {} diverged at step {i} ({}):\n{e}\nsteps run:\n{}",
                queue.as_str(),
                trace.last().map_or("", String::as_str),
                trace.join("\n")
            ));
            break;
        }
    }
    if result.is_ok() {
        result = check_dead(&q, &model).await;
    }
    cov.sequences.fetch_add(1, Relaxed);
    let mut conn = redis.conn.clone();
    let _: Result<i64, _> = redis::cmd("DEL")
        .arg(&keys[..])
        .query_async(&mut conn)
        .await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn step(
    redis: &Redis,
    q: &Queue<'_>,
    keys: &[String; 7],
    model: &mut Model,
    op: &Op,
    i: usize,
    cov: &Coverage,
    trace: &mut Vec<String>,
) -> Result<(), String> {
    cov.steps.fetch_add(1, Relaxed);
    let act = model.resolve(op, i);
    match &act {
        Act::Sleep { ms } => {
            trace.push(format!("  {i:>3}: {}", act.short()));
            cov.sleep_ms.fetch_add(*ms, Relaxed);
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            return Ok(());
        }
        Act::SleepUntil { at_us } => {
            trace.push(format!("  {i:>3}: {}", act.short()));
            // A blocking sleep (µs precision; nothing else runs on this runtime).
            let now_us = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_micros() as u64;
            let us = at_us.saturating_sub(now_us);
            cov.sleep_ms.fetch_add(us / 1000, Relaxed);
            std::thread::sleep(Duration::from_micros(us));
            return Ok(());
        }
        Act::Warp { ms } => {
            trace.push(format!("  {i:>3}: {}", act.short()));
            warp(redis, keys, *ms).await?;
            model.apply(&act, 0, None);
            let obs = observe(redis, keys).await?;
            let d = diff(&model.expected(), &obs);
            return if d.is_empty() {
                Ok(())
            } else {
                Err(format!("state after the warp:\n{d}"))
            };
        }
        _ => {}
    }
    let before = model.clone();
    let t0 = now_ms();
    let (reply, token) = execute(q, &act).await;
    let t1 = now_ms();
    trace.push(format!("  {i:>3}: {} -> {reply:?}", act.short()));
    let obs = observe(redis, keys).await?;
    let now = derive_now(&before, &act, &reply, &obs);
    if let Some((n, how)) = &now {
        if !(t0..=t1).contains(n) {
            return Err(format!(
                "server clock: the call ran in [{t0}, {t1}] by our clock, but the {how} says {n} \
                 (so the model and redis disagree on the time written)\n{}",
                diff(
                    &{
                        let mut m = before.clone();
                        m.apply(&act, *n, token.as_deref());
                        m.expected()
                    },
                    &obs
                )
            ));
        }
    }
    if let Some(tk) = &token {
        if before.tokens.values().flatten().any(|t| t == tk) {
            return Err(format!("reserve handed out a token issued before: {tk}"));
        }
    }
    if clock_decided(&before, &act, t0, t1) {
        cov.clock_decided.fetch_add(1, Relaxed);
    }
    let n = now.as_ref().map_or(t0, |(n, _)| *n);
    let promote_limit = match act {
        Act::Reserve { .. } => Some(100),
        Act::Promote { limit } => Some(limit),
        _ => None,
    };
    if let Some(limit) = promote_limit {
        // Due order (as promoted) vs id order, per priority.
        let due = before.due(n, limit);
        let inverted = due.iter().enumerate().any(|(i, a)| {
            due[i + 1..]
                .iter()
                .any(|b| before.items[a].prio == before.items[b].prio && a > b)
        });
        if inverted {
            cov.batch_not_due_order.fetch_add(1, Relaxed);
        }
    }
    let (want, used_now) = model.apply(&act, n, token.as_deref());
    if now.is_none() && used_now {
        return Err(format!(
            "the model expected a change stamped with the server time; redis made none\n  \
             model reply: {want:?}\n  redis reply: {reply:?}\n{}",
            diff(&model.expected(), &obs)
        ));
    }
    if want != reply {
        return Err(format!(
            "reply:\n    model:  {want:?}\n    redis:  {reply:?}\n{}",
            diff(&model.expected(), &obs)
        ));
    }
    let d = diff(&model.expected(), &obs);
    if !d.is_empty() {
        return Err(format!("state after the call:\n{d}"));
    }
    cov.count(&act, &reply, &before);
    check_stats(q, model).await?;
    if matches!(
        act,
        Act::Fail { .. } | Act::Bury { .. } | Act::Reap { .. } | Act::Requeue { .. }
    ) {
        check_dead(q, model).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The runners.

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// (analytics_processing rather than sync_to_supabase, the operations).
fn sequence(min_steps: usize) -> impl Strategy<Value = (bool, Vec<Op>)> {
    let ops = |crashy| Ops {
        min: min_steps,
        max: min_steps + 30,
        crashy,
    };
    prop_oneof![
        3 => (any::<bool>(), ops(false)),
        1 => (any::<bool>(), ops(true)),
    ]
}

/// Sequences of `min..=max` operations that shrink to any length (the vec
/// strategy never shrinks below its minimum length): first by deleting runs
/// of operations (halves, quarters, ... single ones), then by simplifying
/// single operations.
#[derive(Debug)]
struct Ops {
    min: usize,
    max: usize,
    crashy: bool,
}

impl Strategy for Ops {
    type Tree = OpsTree;
    type Value = Vec<Op>;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let len = (self.min..=self.max).new_tree(runner)?.current();
        let op = op(self.crashy).boxed();
        let ops = (0..len)
            .map(|_| op.new_tree(runner))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OpsTree {
            included: vec![true; len],
            ops,
            phase: Phase::Delete {
                size: len.div_ceil(2),
                pos: 0,
            },
            last: None,
            simplified: false,
        })
    }
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Delete `size` included operations from the `pos`-th included one.
    Delete { size: usize, pos: usize },
    /// Simplify the `ix`-th operation.
    Simplify { ix: usize },
}

#[derive(Debug)]
enum Last {
    Deleted(Vec<usize>),
    Simplified(usize),
}

struct OpsTree {
    ops: Vec<Box<dyn ValueTree<Value = Op>>>,
    included: Vec<bool>,
    phase: Phase,
    last: Option<Last>,
    /// A simplification was kept in this round of the simplify phase (a
    /// simpler operation may have become deletable): delete again after it.
    simplified: bool,
}

impl std::fmt::Debug for OpsTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.current())
    }
}

impl OpsTree {
    /// Proposes the next smaller sequence; false when there is none.
    fn next(&mut self) -> bool {
        loop {
            match self.phase {
                Phase::Delete { size, pos } => {
                    let live: Vec<usize> =
                        (0..self.ops.len()).filter(|&i| self.included[i]).collect();
                    if size == 0 {
                        self.phase = Phase::Simplify { ix: 0 };
                    } else if pos >= live.len() {
                        self.phase = Phase::Delete {
                            size: size / 2,
                            pos: 0,
                        };
                    } else {
                        let gone: Vec<usize> = live[pos..(pos + size).min(live.len())].to_vec();
                        for &i in &gone {
                            self.included[i] = false;
                        }
                        self.last = Some(Last::Deleted(gone));
                        return true;
                    }
                }
                Phase::Simplify { ix } => {
                    if ix >= self.ops.len() {
                        if !std::mem::take(&mut self.simplified) {
                            return false;
                        }
                        let live = self.included.iter().filter(|i| **i).count();
                        self.phase = Phase::Delete {
                            size: live.div_ceil(2),
                            pos: 0,
                        };
                        continue;
                    }
                    if self.included[ix] && self.ops[ix].simplify() {
                        self.last = Some(Last::Simplified(ix));
                        return true;
                    }
                    self.phase = Phase::Simplify { ix: ix + 1 };
                }
            }
        }
    }
}

impl ValueTree for OpsTree {
    type Value = Vec<Op>;

    fn current(&self) -> Vec<Op> {
        self.ops
            .iter()
            .zip(&self.included)
            .filter(|(_, inc)| **inc)
            .map(|(op, _)| op.current())
            .collect()
    }

    /// The last proposal still fails: keep it and propose the next.
    fn simplify(&mut self) -> bool {
        if let Some(Last::Simplified(_)) = self.last.take() {
            self.simplified = true;
        }
        self.next()
    }

    /// The last proposal passed: undo it and propose the next (or stop on
    /// the last failing sequence).
    fn complicate(&mut self) -> bool {
        match self.last.take() {
            None => false,
            Some(Last::Deleted(gone)) => {
                for &i in &gone {
                    self.included[i] = true;
                }
                if let Phase::Delete { size, pos } = self.phase {
                    self.phase = Phase::Delete {
                        size,
                        pos: pos + size,
                    };
                }
                self.next()
            }
            Some(Last::Simplified(ix)) => {
                if self.ops[ix].complicate() {
                    self.last = Some(Last::Simplified(ix));
                    true
                } else {
                    self.phase = Phase::Simplify { ix: ix + 1 };
                    self.next()
                }
            }
        }
    }
}

struct Shared {
    url: String,
    cov: Coverage,
    stop: AtomicBool,
    started: Instant,
    progress: u64,
    total: u64,
    min_steps: usize,
}

/// One runner: its own connection, key prefixes and proptest seed.
fn runner(shared: &Shared, thread: u64, cases: u32, seed: u64) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let redis = rt
        .block_on(Redis::connect(&shared.url, KeyContext::default()))
        .map_err(|e| e.to_string())?;
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[8..16].copy_from_slice(&thread.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: env_u64("XBOT_MODEL_SHRINK_ITERS", 1_000) as u32,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let counter = Cell::new(0u64);
    let failed = Cell::new(false);
    let result = runner.run(&sequence(shared.min_steps), |(analytics, ops)| {
        // Another runner failed: skip the rest (this one's own shrinking still runs).
        if shared.stop.load(Relaxed) && !failed.get() {
            return Ok(());
        }
        counter.set(counter.get() + 1);
        let prefix = format!("m{thread}x{}:", counter.get());
        let queue = if analytics {
            QueueName::AnalyticsProcessing
        } else {
            QueueName::SyncToSupabase
        };
        let r = rt.block_on(run_sequence(&redis, &prefix, queue, &ops, &shared.cov));
        let done = shared.cov.sequences.load(Relaxed);
        if shared.progress > 0 && done.is_multiple_of(shared.progress) {
            let secs = shared.started.elapsed().as_secs_f64();
            eprintln!(
                "queue model: {done}/{} sequences, {} steps, {secs:.0} s ({:.1} sequences/s)",
                shared.total,
                shared.cov.steps.load(Relaxed),
                done as f64 / secs
            );
        }
        r.map_err(|e| {
            failed.set(true);
            shared.stop.store(true, Relaxed);
            TestCaseError::fail(e)
        })
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, (analytics, ops))) => Err(format!(
            "runner {thread} (XBOT_MODEL_SEED={seed}): the minimal failing sequence \
             ({} steps, queue {}):\n{ops:#?}\n\n{reason}",
            ops.len(),
            if analytics {
                "analytics_processing"
            } else {
                "sync_to_supabase"
            }
        )),
        Err(e) => Err(format!("runner {thread} (XBOT_MODEL_SEED={seed}): {e}")),
    }
}

/// `XBOT_MODEL_CASES` random sequences (default 200) of 50+ steps each,
/// compared step by step with the model.
#[test]
fn queue_protocol_matches_the_model() {
    let server = RedisServer::start();
    let cases = env_u64("XBOT_MODEL_CASES", 200);
    let threads = env_u64("XBOT_MODEL_THREADS", 4).clamp(1, 64);
    let seed = env_u64(
        "XBOT_MODEL_SEED",
        now_ms() ^ u64::from(std::process::id()) << 20,
    );
    let shared = Arc::new(Shared {
        url: server.url(),
        cov: Coverage::default(),
        stop: AtomicBool::new(false),
        started: Instant::now(),
        progress: env_u64("XBOT_MODEL_PROGRESS", 0),
        total: cases,
        min_steps: env_u64("XBOT_MODEL_MIN_STEPS", 50) as usize,
    });
    eprintln!(
        "queue model: {cases} sequences on {threads} runners, XBOT_MODEL_SEED={seed}, mutant {:?}",
        mutant(),
    );
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let shared = Arc::clone(&shared);
            let share = cases / threads + u64::from(t < cases % threads);
            std::thread::spawn(move || runner(&shared, t, share as u32, seed))
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .filter_map(|h| h.join().expect("runner panicked").err())
        .collect();
    let secs = shared.started.elapsed().as_secs_f64();
    eprintln!("queue model: {} in {secs:.1} s", shared.cov.report());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        shared.cov.sequences.load(Relaxed) >= cases,
        "every sequence ran"
    );
}

/// Finding F1 (docs/MODEL.md), deterministic: `queue_fail` kept the first
/// 2048 bytes of the message, which could end inside a UTF-8 character; the
/// dead-letter listing then failed for the whole queue. Now the cut is on a
/// character boundary, and the listing decodes what it reads lossily.
#[test]
fn dead_listing_survives_an_error_cut_inside_a_character() {
    let server = RedisServer::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let redis = Redis::connect(&server.url(), KeyContext::default())
            .await
            .unwrap();
        let q = Queue::new(&redis, QueueName::SyncToSupabase);
        let p = Priority::new(50).unwrap();
        q.push("model", json!({}), p, Some("a"), None)
            .await
            .unwrap();
        let r = q.reserve(30_000).await.unwrap().unwrap();
        // 1,000 × "€" (3 bytes): the first 2048 bytes end inside the 683rd.
        q.bury("a", &r.token, &"€".repeat(1_000)).await.unwrap();
        let dead = q.dead(10).await.expect("the dead-letter listing works");
        let error = dead[0]["error"].as_str().unwrap();
        assert_eq!(error, "€".repeat(682), "cut before the 683rd character");
    });
}
