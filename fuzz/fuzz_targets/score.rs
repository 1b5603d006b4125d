//! Queue scores (and the retry delays next to them).
//!
//! - `decode_queue_score` of any f64 (NaN, infinities, negative zero,
//!   subnormals, fractions, huge values, and integers in and around the
//!   valid range) never panics; what it decodes encodes back to the same score.
//! - For every valid (priority, enqueuedAtMs, seq), encode then decode is the
//!   identity, and the score order is (priority, earlier time, lower seq).
//! - `queue_score` and `retry_delay_ms` of arbitrary f64s never panic, and
//!   refuse with their own codes.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use xbot_core::queue::{
    decode_queue_score, queue_score, retry_delay_ms, DecodedScore, MAX_SEQ, SCORE_EPOCH_MS,
};
use xbot_fuzz::{check_error, jsval};

/// 2^42 − 1: the last millisecond the time field holds.
const TIME_MAX: u64 = (1 << 42) - 1;
/// One past the largest score, 101 · 2^46.
const SCORE_LIMIT: u64 = 101 << 46;

fn decode_any(u: &mut Unstructured) -> Result<()> {
    let score = match u.int_in_range(0..=3)? {
        0 => f64::from_bits(u.arbitrary()?),
        1 => u.int_in_range(0..=SCORE_LIMIT + 16)? as f64,
        2 => {
            SCORE_LIMIT as f64 + f64::from(u.int_in_range(-64i32..=64)?) * u.choose(&[0.25, 1.0])?
        }
        _ => jsval::number(u)?,
    };
    match decode_queue_score(score) {
        Ok(d) => {
            assert!(
                score.fract() == 0.0 && (0.0..SCORE_LIMIT as f64).contains(&score),
                "{score}"
            );
            assert!(d.priority <= 100 && d.seq <= MAX_SEQ, "{d:?}");
            let again = queue_score(d.priority as f64, d.enqueued_at_ms as f64, d.seq as f64)
                .unwrap_or_else(|e| panic!("{score} decodes to {d:?}, which does not encode: {e}"));
            // -0.0 decodes like 0.0 and encodes as 0.0.
            assert_eq!(again, score, "{d:?}");
        }
        Err(e) => {
            check_error(&e, &["INVALID_SCORE"]);
            assert!(
                !(score.fract() == 0.0 && (0.0..SCORE_LIMIT as f64).contains(&score)),
                "{score} refused: {e}"
            );
        }
    }
    Ok(())
}

fn valid() -> impl FnMut(&mut Unstructured) -> Result<(u64, u64, u64)> {
    |u| {
        Ok((
            u.int_in_range(0..=100)?,
            SCORE_EPOCH_MS + u.int_in_range(0..=TIME_MAX)?,
            u.int_in_range(0..=MAX_SEQ)?,
        ))
    }
}

fn round_trip(u: &mut Unstructured) -> Result<()> {
    let mut gen = valid();
    let (a, b) = (gen(u)?, gen(u)?);
    let score = |(p, t, q): (u64, u64, u64)| {
        let s = queue_score(p as f64, t as f64, q as f64).expect("a valid triple encodes");
        assert_eq!(
            decode_queue_score(s).expect("a score decodes"),
            DecodedScore {
                priority: p,
                enqueued_at_ms: t,
                seq: q
            }
        );
        s
    };
    let (sa, sb) = (score(a), score(b));
    let rank = |(p, t, q): (u64, u64, u64)| (p, std::cmp::Reverse(t), std::cmp::Reverse(q));
    assert_eq!(
        sa.partial_cmp(&sb),
        Some(rank(a).cmp(&rank(b))),
        "{a:?} vs {b:?}"
    );
    Ok(())
}

fn encode_any(u: &mut Unstructured) -> Result<()> {
    let p = jsval::number(u)?;
    let t = if u.ratio(1, 2)? {
        (SCORE_EPOCH_MS as i64 + u.int_in_range(-2i64..=(TIME_MAX as i64 + 2))?) as f64
    } else {
        jsval::number(u)?
    };
    let q = jsval::number(u)?;
    match queue_score(p, t, q) {
        Ok(s) => {
            let d = decode_queue_score(s).expect("scores decode");
            assert_eq!(
                (d.priority as f64, d.enqueued_at_ms as f64, d.seq as f64),
                (p, t, q),
                "score {s}"
            );
        }
        Err(e) => check_error(
            &e,
            &["INVALID_PRIORITY", "INVALID_TIMESTAMP", "INVALID_SEQ"],
        ),
    }

    let queue = *u.choose(&[
        "sync_to_supabase",
        "analytics_processing",
        "pending_posts",
        "x",
    ])?;
    let attempt = if u.ratio(1, 2)? {
        f64::from(u.int_in_range(0..=70)?)
    } else {
        jsval::number(u)?
    };
    let item: Option<String> = u.arbitrary()?;
    match retry_delay_ms(queue, attempt, item.as_deref()) {
        Ok(Some(ms)) => {
            let full = retry_delay_ms(queue, attempt, None)
                .unwrap()
                .expect("same attempt");
            assert!(
                ms <= full && ms >= full / 2,
                "{ms} outside [{}, {full}]",
                full / 2
            );
        }
        Ok(None) => {}
        Err(e) => check_error(&e, &["UNKNOWN_QUEUE", "INVALID_ATTEMPT"]),
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let _ = match u.int_in_range(0..=2u8) {
        Ok(0) => decode_any(&mut u),
        Ok(1) => round_trip(&mut u),
        _ => encode_any(&mut u),
    };
});
