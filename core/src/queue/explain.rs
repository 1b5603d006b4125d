//! Why an item is not running now: one line for an operator, computed from
//! what one O(1) lookup of the item reads (which set holds it, its score,
//! its meta fields, how many ready items are ahead of it) and the server's
//! clock. The dashboard shows it; the runner and the page share this text.

use super::retry::{RetryPolicy, MAX_STALLS};
use crate::time::iso_string;
use serde::Serialize;

/// Where an item is, as its queue's sets say.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Whereabouts {
    /// In the ready set; `ahead` ready items will be served before it.
    Ready { ahead: u64 },
    /// Leased: `token` holds it until `deadline_ms`.
    #[serde(rename = "inflight", rename_all = "camelCase")]
    InFlight {
        token: Option<String>,
        deadline_ms: u64,
    },
    /// Waiting for `due_ms` (a retry's backoff, a stall's, or a not-before time).
    #[serde(rename_all = "camelCase")]
    Delayed { due_ms: u64 },
    /// In the dead-letter set since `since_ms`.
    #[serde(rename_all = "camelCase")]
    Dead { since_ms: u64 },
    /// In none of the sets (acked, deleted, or never pushed).
    Missing,
}

/// The per-item counters of the meta hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemMeta {
    /// Failed attempts (`<id>:r`).
    pub attempts: u32,
    /// Leases that expired (`<id>:s`).
    pub stalls: u32,
    /// The last error, or the dead-letter reason (`<id>:e`).
    pub last_error: Option<String>,
}

fn at(ms: u64) -> String {
    iso_string(ms as f64).unwrap_or_else(|_| format!("{ms} ms"))
}

/// "in 4.2 s", "3 min ago".
fn relative(ms: u64, now_ms: u64) -> String {
    let (d, future) = if ms >= now_ms {
        (ms - now_ms, true)
    } else {
        (now_ms - ms, false)
    };
    let span = match d {
        0..=999 => format!("{d} ms"),
        1_000..=59_999 => format!("{:.1} s", d as f64 / 1e3),
        60_000..=3_599_999 => format!("{} min", d / 60_000),
        3_600_000..=86_399_999 => format!("{:.1} h", d as f64 / 3.6e6),
        _ => format!("{:.1} days", d as f64 / 8.64e7),
    };
    if future {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// The first 8 characters of a lease token (enough to tell leases apart).
fn short(token: &str) -> &str {
    token
        .char_indices()
        .nth(8)
        .map_or(token, |(i, _)| &token[..i])
}

/// One line: why the item is where it is and what happens next.
pub fn explain(w: &Whereabouts, meta: &ItemMeta, policy: &RetryPolicy, now_ms: u64) -> String {
    let error = meta
        .last_error
        .as_deref()
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    match w {
        Whereabouts::Ready { ahead: 0 } => {
            "ready: next to be served (no ready item is ahead of it)".into()
        }
        Whereabouts::Ready { ahead } => format!(
            "ready: waiting behind {ahead} item{} of higher priority or pushed earlier",
            if *ahead == 1 { "" } else { "s" }
        ),
        Whereabouts::InFlight { token, deadline_ms } => {
            let holder = token
                .as_deref()
                .map(|t| format!("token {}…", short(t)))
                .unwrap_or_else(|| "a worker".into());
            if *deadline_ms > now_ms {
                format!(
                    "in flight: leased by {holder} until {} ({})",
                    at(*deadline_ms),
                    relative(*deadline_ms, now_ms)
                )
            } else {
                format!(
                    "in flight, lease expired {} (held by {holder}): the reaper hands it back as stall {} of {}",
                    relative(*deadline_ms, now_ms),
                    meta.stalls + 1,
                    MAX_STALLS
                )
            }
        }
        Whereabouts::Delayed { due_ms } => {
            let when = format!("{} ({})", at(*due_ms), relative(*due_ms, now_ms));
            if meta.attempts > 0 {
                format!(
                    "delayed until {when} after failed attempt {} of {}{error}",
                    meta.attempts, policy.max_attempts
                )
            } else if meta.stalls > 0 {
                format!(
                    "delayed until {when} after stall {} of {} (its worker was lost)",
                    meta.stalls, MAX_STALLS
                )
            } else {
                format!("scheduled: not served before {when}")
            }
        }
        Whereabouts::Dead { since_ms } => {
            let why = meta.last_error.as_deref().unwrap_or("no reason recorded");
            format!(
                "dead since {} ({}): {why}; requeue it to run it again",
                at(*since_ms),
                relative(*since_ms, now_ms)
            )
        }
        Whereabouts::Missing => "not in this queue: acked (done), deleted, or never pushed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::QueueName;

    const NOW: u64 = 1_764_000_000_000;

    fn line(w: Whereabouts, meta: ItemMeta) -> String {
        explain(&w, &meta, &QueueName::SyncToSupabase.retry_policy(), NOW)
    }

    #[test]
    fn every_place_has_its_reason() {
        let m = ItemMeta::default();
        assert_eq!(
            line(Whereabouts::Ready { ahead: 0 }, m.clone()),
            "ready: next to be served (no ready item is ahead of it)"
        );
        assert_eq!(
            line(Whereabouts::Ready { ahead: 1 }, m.clone()),
            "ready: waiting behind 1 item of higher priority or pushed earlier"
        );
        assert_eq!(
            line(Whereabouts::Ready { ahead: 1234 }, m.clone()),
            "ready: waiting behind 1234 items of higher priority or pushed earlier"
        );
        let lease = Whereabouts::InFlight {
            token: Some("abcdef0123456789".into()),
            deadline_ms: NOW + 4_200,
        };
        assert_eq!(
            line(lease, m.clone()),
            "in flight: leased by token abcdef01… until 2025-11-24T16:00:04.200Z (in 4.2 s)"
        );
        let expired = Whereabouts::InFlight {
            token: None,
            deadline_ms: NOW - 3 * 60_000,
        };
        let stalled = ItemMeta {
            stalls: 1,
            ..ItemMeta::default()
        };
        assert_eq!(
            line(expired, stalled.clone()),
            "in flight, lease expired 3 min ago (held by a worker): the reaper hands it back as stall 2 of 5"
        );
        let failed = ItemMeta {
            attempts: 2,
            last_error: Some("supabase 503".into()),
            ..ItemMeta::default()
        };
        let due = Whereabouts::Delayed {
            due_ms: NOW + 90_000,
        };
        let p = QueueName::SyncToSupabase.retry_policy();
        assert_eq!(
            line(due.clone(), failed),
            format!(
                "delayed until 2025-11-24T16:01:30.000Z (in 1 min) after failed attempt 2 of {}: supabase 503",
                p.max_attempts
            )
        );
        assert_eq!(
            line(due.clone(), stalled),
            "delayed until 2025-11-24T16:01:30.000Z (in 1 min) after stall 1 of 5 (its worker was lost)"
        );
        assert_eq!(
            line(due, m.clone()),
            "scheduled: not served before 2025-11-24T16:01:30.000Z (in 1 min)"
        );
        let dead = ItemMeta {
            attempts: 5,
            last_error: Some("lease expired (worker lost), stall 5 of 5".into()),
            ..ItemMeta::default()
        };
        assert_eq!(
            line(Whereabouts::Dead { since_ms: NOW - 7_200_000 }, dead),
            "dead since 2025-11-24T14:00:00.000Z (2.0 h ago): lease expired (worker lost), stall 5 of 5; requeue it to run it again"
        );
        assert_eq!(
            line(Whereabouts::Missing, m),
            "not in this queue: acked (done), deleted, or never pushed"
        );
    }

    #[test]
    fn a_short_token_and_multibyte_tokens_are_cut_on_characters() {
        assert_eq!(short("abc"), "abc");
        assert_eq!(short("ééééééééé"), "éééééééé");
    }
}
