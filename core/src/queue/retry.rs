//! Retry policy: bounded attempts, exponential backoff with a cap, and a
//! deterministic "equal jitter" (same item + attempt → same delay everywhere).

use super::QueueName;
use crate::error::{num, Error, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How many times an item may lose its worker (lease expired: SIGKILL, OOM,
/// a redeploy past its grace) before it is taken for a poison item and
/// dead-lettered. Stalls do not use up the item's failed attempts.
pub const MAX_STALLS: u32 = 5;

/// How often and how patiently a queue retries a failing item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Total attempts, the first included; after the last failure the item is dead.
    pub max_attempts: u32,
    /// Delay before retry 1; doubles for each further retry.
    pub base_ms: u64,
    /// Upper bound of any delay.
    pub cap_ms: u64,
}

impl RetryPolicy {
    /// `sync_to_supabase`: 3 attempts (1 s, 2 s); `analytics_processing`: 5
    /// attempts (2 s … 16 s); `pending_posts`: 4 attempts (30 s, 60 s, 120 s).
    pub fn for_queue(q: QueueName) -> Self {
        match q {
            QueueName::SyncToSupabase => RetryPolicy {
                max_attempts: 3,
                base_ms: 1_000,
                cap_ms: 60_000,
            },
            QueueName::AnalyticsProcessing => RetryPolicy {
                max_attempts: 5,
                base_ms: 2_000,
                cap_ms: 300_000,
            },
            QueueName::PendingPosts => RetryPolicy {
                max_attempts: 4,
                base_ms: 30_000,
                cap_ms: 900_000,
            },
        }
    }

    /// Delay before retry `attempt` (1-based), or `None` when the item has used
    /// all its attempts and goes to the dead-letter set.
    ///
    /// Without an item id the delay is the full backoff `min(cap, base·2^(attempt−1))`.
    /// With one, it is jittered into `[d/2, d]` by the first 8 bytes of
    /// SHA-256(`"{itemId}#{attempt}"`), in integer arithmetic.
    pub fn delay_ms(&self, attempt: u32, item_id: Option<&str>) -> Option<u64> {
        if attempt == 0 || attempt >= self.max_attempts {
            return None;
        }
        let d = self
            .base_ms
            .checked_shl(attempt - 1)
            .filter(|d| d >> (attempt - 1) == self.base_ms);
        let d = d.map_or(self.cap_ms, |d| d.min(self.cap_ms));
        Some(match item_id {
            None => d,
            Some(id) => {
                let h = Sha256::digest(format!("{id}#{attempt}").as_bytes());
                let h = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
                d / 2 + h % (d - d / 2 + 1)
            }
        })
    }
}

/// [`RetryPolicy::delay_ms`] for a queue by short name, validating `attempt`.
pub fn retry_delay_ms(queue: &str, attempt: f64, item_id: Option<&str>) -> Result<Option<u64>> {
    let q = QueueName::parse(queue)?;
    let a =
        crate::error::exact_uint(attempt, 1, u64::from(u32::MAX)).ok_or(Error::InvalidAttempt {
            value: num(attempt),
        })?;
    Ok(q.retry_policy().delay_ms(a as u32, item_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_to_supabase_retries_twice_then_dies() {
        assert_eq!(
            retry_delay_ms("sync_to_supabase", 1.0, None).unwrap(),
            Some(1_000)
        );
        assert_eq!(
            retry_delay_ms("sync_to_supabase", 2.0, None).unwrap(),
            Some(2_000)
        );
        assert_eq!(retry_delay_ms("sync_to_supabase", 3.0, None).unwrap(), None);
        assert_eq!(
            retry_delay_ms("analytics_processing", 4.0, None).unwrap(),
            Some(16_000)
        );
        assert_eq!(
            retry_delay_ms("analytics_processing", 5.0, None).unwrap(),
            None
        );
    }

    #[test]
    fn capped_and_overflow_safe() {
        let p = RetryPolicy {
            max_attempts: u32::MAX,
            base_ms: 1_000,
            cap_ms: 60_000,
        };
        assert_eq!(p.delay_ms(7, None), Some(60_000));
        assert_eq!(p.delay_ms(64, None), Some(60_000));
        assert_eq!(p.delay_ms(4_000_000_000, None), Some(60_000));
    }

    #[test]
    fn jitter_is_deterministic_and_bounded() {
        let p = RetryPolicy::for_queue(QueueName::AnalyticsProcessing);
        let mut distinct = std::collections::BTreeSet::new();
        for i in 0..200 {
            let id = format!("item-{i}");
            for a in 1..5 {
                let full = p.delay_ms(a, None).unwrap();
                let j = p.delay_ms(a, Some(&id)).unwrap();
                assert_eq!(Some(j), p.delay_ms(a, Some(&id)));
                assert!(
                    full / 2 <= j && j <= full,
                    "{j} not in [{}, {full}]",
                    full / 2
                );
                distinct.insert(j);
            }
        }
        assert!(
            distinct.len() > 500,
            "jitter spreads delays ({} distinct)",
            distinct.len()
        );
    }

    #[test]
    fn rejects() {
        assert_eq!(
            retry_delay_ms("nope", 1.0, None).unwrap_err().code(),
            "UNKNOWN_QUEUE"
        );
        for a in [0.0, -1.0, 1.5, f64::NAN] {
            assert_eq!(
                retry_delay_ms("pending_posts", a, None).unwrap_err().code(),
                "INVALID_ATTEMPT"
            );
        }
    }
}
