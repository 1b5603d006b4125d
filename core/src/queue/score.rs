//! The sorted-set score of a ready item. Higher score = served first:
//! priority first, then FIFO by enqueue time, then a tie-break sequence.
//!
//! ```text
//! score = priority · 2^46 + (2^42 − 1 − (enqueuedAtMs − EPOCH)) · 2^4 + (15 − seq)
//!          7 bits (0–100)     42 bits: ms since 2024-01-01 (≈139 years)    4 bits
//! ```
//! The largest score is 101·2^46 − 1 < 2^53, so every score is an integer an
//! IEEE double (a Redis score, a JS number) holds exactly.

use crate::error::{num, Error, Result};
use serde::Serialize;

/// 2024-01-01T00:00:00.000Z: the zero of the time field.
pub const SCORE_EPOCH_MS: u64 = 1_704_067_200_000;
/// Largest tie-break sequence (4 bits).
pub const MAX_SEQ: u64 = 15;
const TIME_BITS: u32 = 42;
const TIME_MAX: u64 = (1 << TIME_BITS) - 1;
const PRIORITY_SHIFT: u32 = TIME_BITS + 4;
const MAX_PRIORITY: u64 = 100;
const SCORE_LIMIT: u64 = (MAX_PRIORITY + 1) << PRIORITY_SHIFT;

/// The fields a score encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecodedScore {
    pub priority: u64,
    pub enqueued_at_ms: u64,
    pub seq: u64,
}

/// The score for `priority` (integer 0-100), `enqueued_at_ms` (epoch ms from
/// 2024-01-01 for ~139 years) and `seq` (0-15, lower = earlier).
pub fn queue_score(priority: f64, enqueued_at_ms: f64, seq: f64) -> Result<f64> {
    let p = crate::error::exact_uint(priority, 0, MAX_PRIORITY).ok_or(Error::InvalidPriority {
        value: num(priority),
    })?;
    let t = crate::error::exact_uint(enqueued_at_ms, SCORE_EPOCH_MS, SCORE_EPOCH_MS + TIME_MAX)
        .ok_or_else(|| Error::InvalidTimestamp {
            value: num(enqueued_at_ms),
            reason: format!(
                "must be integer epoch ms from {SCORE_EPOCH_MS} (2024-01-01) to {}",
                SCORE_EPOCH_MS + TIME_MAX
            ),
        })?;
    let s =
        crate::error::exact_uint(seq, 0, MAX_SEQ).ok_or(Error::InvalidSeq { value: num(seq) })?;
    let score = (p << PRIORITY_SHIFT) | ((TIME_MAX - (t - SCORE_EPOCH_MS)) << 4) | (MAX_SEQ - s);
    Ok(score as f64)
}

/// Inverse of [`queue_score`].
pub fn decode_queue_score(score: f64) -> Result<DecodedScore> {
    let s =
        crate::error::exact_uint(score, 0, SCORE_LIMIT - 1).ok_or_else(|| Error::InvalidScore {
            value: num(score),
            reason: format!("a queue score is an integer from 0 to {}", SCORE_LIMIT - 1),
        })?;
    Ok(DecodedScore {
        priority: s >> PRIORITY_SHIFT,
        enqueued_at_ms: SCORE_EPOCH_MS + TIME_MAX - ((s >> 4) & TIME_MAX),
        seq: MAX_SEQ - (s & MAX_SEQ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: f64 = 1_795_802_400_000.0;

    #[test]
    fn order() {
        let s = |p: f64, t: f64, q: f64| queue_score(p, t, q).unwrap();
        assert!(
            s(51.0, T + 10_000.0, 15.0) > s(50.0, T, 0.0),
            "priority first"
        );
        assert!(
            s(50.0, T, 15.0) > s(50.0, T + 1.0, 0.0),
            "then earlier first"
        );
        assert!(s(50.0, T, 0.0) > s(50.0, T, 1.0), "then lower seq first");
        assert!(s(100.0, SCORE_EPOCH_MS as f64, 0.0) < 2f64.powi(53));
        assert_eq!(s(0.0, (SCORE_EPOCH_MS + TIME_MAX) as f64, 15.0), 0.0);
    }

    #[test]
    fn rejects() {
        assert_eq!(
            queue_score(101.0, T, 0.0).unwrap_err().code(),
            "INVALID_PRIORITY"
        );
        assert_eq!(
            queue_score(f64::NAN, T, 0.0).unwrap_err().code(),
            "INVALID_PRIORITY"
        );
        assert_eq!(
            queue_score(1.5, T, 0.0).unwrap_err().code(),
            "INVALID_PRIORITY"
        );
        assert_eq!(
            queue_score(-1.0, T, 0.0).unwrap_err().code(),
            "INVALID_PRIORITY"
        );
        assert_eq!(
            queue_score(1.0, 0.0, 0.0).unwrap_err().code(),
            "INVALID_TIMESTAMP"
        );
        assert_eq!(
            queue_score(1.0, T + 0.5, 0.0).unwrap_err().code(),
            "INVALID_TIMESTAMP"
        );
        assert_eq!(queue_score(1.0, T, 16.0).unwrap_err().code(), "INVALID_SEQ");
        assert_eq!(
            decode_queue_score(-1.0).unwrap_err().code(),
            "INVALID_SCORE"
        );
        assert_eq!(
            decode_queue_score(2f64.powi(53)).unwrap_err().code(),
            "INVALID_SCORE"
        );
        assert_eq!(decode_queue_score(0.5).unwrap_err().code(), "INVALID_SCORE");
    }

    proptest! {
        #[test]
        fn round_trip_and_order(p in 0u64..=100, t in 0u64..=TIME_MAX, q in 0u64..=15,
                                p2 in 0u64..=100, t2 in 0u64..=TIME_MAX, q2 in 0u64..=15) {
            let t = SCORE_EPOCH_MS + t;
            let t2 = SCORE_EPOCH_MS + t2;
            let a = queue_score(p as f64, t as f64, q as f64).unwrap();
            let b = queue_score(p2 as f64, t2 as f64, q2 as f64).unwrap();
            prop_assert_eq!(decode_queue_score(a).unwrap(), DecodedScore { priority: p, enqueued_at_ms: t, seq: q });
            // Higher score <=> (higher priority, earlier time, lower seq), lexicographically.
            let rank = |p: u64, t: u64, q: u64| (p, std::cmp::Reverse(t), std::cmp::Reverse(q));
            prop_assert_eq!(a.partial_cmp(&b).unwrap(), rank(p, t, q).cmp(&rank(p2, t2, q2)));
        }
    }
}
