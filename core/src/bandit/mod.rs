//! Thompson sampling over Beta posteriors, bit-identical on every target.
//!
//! Draws come from xoshiro256++ seeded by SplitMix64 (`rand_xoshiro`), and all
//! transcendental math goes through the `libm` crate (never the platform's
//! `ln`/`exp`, which differ in the last bit between glibc and wasm), so the
//! CLI, the napi addon and WebAssembly return the same bits for the same seed.

mod beta;
mod summary;

pub use beta::{fill_beta, sample_beta, BetaSampler};
pub use summary::{summarize, ArmSummary};

use crate::error::{num, Error, Result};
use serde::{Deserialize, Serialize};

/// Seeds are JS-safe integers: 0 ..= 2^53 − 1.
pub const MAX_SEED: u64 = (1 << 53) - 1;
/// Most draws one `sample_beta` call returns.
pub const MAX_COUNT: u64 = 10_000_000;
/// The uniform prior Beta(1, 1) every arm starts from.
pub const PRIOR: (f64, f64) = (1.0, 1.0);

/// Validates a seed given as a JS number.
pub fn seed_from_f64(seed: f64) -> Result<u64> {
    crate::error::exact_uint(seed, 0, MAX_SEED).ok_or(Error::InvalidSeed { value: num(seed) })
}

/// One arm: an id and its Beta(α, β) posterior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    pub id: String,
    pub alpha: f64,
    pub beta: f64,
}

impl Arm {
    pub fn new(id: impl Into<String>, alpha: f64, beta: f64) -> Arm {
        Arm {
            id: id.into(),
            alpha,
            beta,
        }
    }
}

/// The outcome of one Thompson-sampling round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    /// The arm with the largest draw (the first one on a tie).
    pub id: String,
    /// Index of that arm in the input.
    pub index: usize,
    /// One draw per arm, in input order.
    pub samples: Vec<f64>,
}

/// Draws once from every arm's posterior (in input order, from one generator
/// seeded with `seed`) and picks the largest draw.
pub fn thompson_select(arms: &[Arm], seed: u64) -> Result<Selection> {
    if arms.is_empty() {
        return Err(Error::NoArms);
    }
    let mut seen = std::collections::HashSet::with_capacity(arms.len());
    for arm in arms {
        if arm.id.is_empty() || arm.id.len() > 128 || arm.id.chars().any(char::is_control) {
            return Err(Error::InvalidArmId { id: arm.id.clone() });
        }
        if !seen.insert(arm.id.as_str()) {
            return Err(Error::DuplicateArm { id: arm.id.clone() });
        }
        beta::check_params(arm.alpha, arm.beta)?;
    }
    let mut sampler = BetaSampler::new(seed);
    let samples: Vec<f64> = arms
        .iter()
        .map(|a| sampler.sample(a.alpha, a.beta))
        .collect();
    let index = samples
        .iter()
        .enumerate()
        .fold(0, |best, (i, &s)| if s > samples[best] { i } else { best });
    Ok(Selection {
        id: arms[index].id.clone(),
        index,
        samples,
    })
}

/// The posterior after observing `reward` in [0, 1]: α += r, β += 1 − r.
///
/// A binary outcome is reward 1 (success) or 0 (failure); a fractional reward
/// (e.g. engagement relative to a baseline) splits one observation between them.
pub fn update_posterior(alpha: f64, beta: f64, reward: f64) -> Result<(f64, f64)> {
    beta::check_params(alpha, beta)?;
    if !(0.0..=1.0).contains(&reward) {
        return Err(Error::InvalidReward { value: num(reward) });
    }
    Ok((alpha + reward, beta + (1.0 - reward)))
}

/// Engagement metrics of one posted tweet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Engagement {
    #[serde(default)]
    pub likes: f64,
    #[serde(default)]
    pub retweets: f64,
    #[serde(default)]
    pub replies: f64,
    #[serde(default)]
    pub impressions: f64,
}

/// The reward rule: engagement rate `(likes + retweets + replies) / impressions`
/// relative to the baseline rate, `r = clamp(rate / (2 · baseline), 0, 1)`, so
/// a tweet at the baseline scores 0.5, twice the baseline or more scores 1.
pub fn reward(m: &Engagement, baseline_rate: f64) -> Result<f64> {
    for (name, v) in [
        ("likes", m.likes),
        ("retweets", m.retweets),
        ("replies", m.replies),
        ("impressions", m.impressions),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(Error::InvalidModelValue {
                name: name.into(),
                value: num(v),
            });
        }
    }
    if !(baseline_rate.is_finite() && baseline_rate > 0.0) {
        return Err(Error::InvalidModelValue {
            name: "baseline".into(),
            value: num(baseline_rate),
        });
    }
    let rate = (m.likes + m.retweets + m.replies) / m.impressions.max(1.0);
    Ok((rate / (2.0 * baseline_rate)).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reward_rule() {
        let m = |likes: f64, impressions: f64| Engagement {
            likes,
            impressions,
            ..Default::default()
        };
        assert_eq!(reward(&m(20.0, 1000.0), 0.02).unwrap(), 0.5);
        assert_eq!(reward(&m(100.0, 1000.0), 0.02).unwrap(), 1.0);
        assert_eq!(reward(&m(0.0, 0.0), 0.02).unwrap(), 0.0);
        assert!(reward(&m(-1.0, 10.0), 0.02).is_err());
        assert!(reward(&m(1.0, 10.0), 0.0).is_err());
    }

    use super::*;

    fn arm(id: &str, alpha: f64, beta: f64) -> Arm {
        Arm::new(id, alpha, beta)
    }

    #[test]
    fn select_is_seeded_and_prefers_the_better_arm() {
        let arms = [
            arm("bad", 2.0, 50.0),
            arm("good", 50.0, 2.0),
            arm("new", 1.0, 1.0),
        ];
        let a = thompson_select(&arms, 7).unwrap();
        assert_eq!(a, thompson_select(&arms, 7).unwrap());
        assert_eq!(a.samples.len(), 3);
        let wins = (0..1000)
            .filter(|&s| thompson_select(&arms, s).unwrap().id == "good")
            .count();
        assert!(wins > 900, "good arm won {wins}/1000");
        // The samples are exactly the sampler's draws in input order.
        let mut s = BetaSampler::new(7);
        assert_eq!(
            a.samples,
            arms.iter()
                .map(|x| s.sample(x.alpha, x.beta))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn select_rejects() {
        assert_eq!(thompson_select(&[], 1).unwrap_err().code(), "NO_ARMS");
        assert_eq!(
            thompson_select(&[arm("a", 1.0, 1.0), arm("a", 1.0, 1.0)], 1)
                .unwrap_err()
                .code(),
            "DUPLICATE_ARM"
        );
        assert_eq!(
            thompson_select(&[arm("a", 0.0, 1.0)], 1)
                .unwrap_err()
                .code(),
            "INVALID_BETA_PARAM"
        );
        assert_eq!(
            thompson_select(&[arm("", 1.0, 1.0)], 1).unwrap_err().code(),
            "INVALID_ARM_ID"
        );
        assert_eq!(seed_from_f64(-1.0).unwrap_err().code(), "INVALID_SEED");
        assert_eq!(
            seed_from_f64(2f64.powi(53)).unwrap_err().code(),
            "INVALID_SEED"
        );
    }

    #[test]
    fn posterior_update() {
        assert_eq!(update_posterior(1.0, 1.0, 1.0).unwrap(), (2.0, 1.0));
        assert_eq!(update_posterior(1.0, 1.0, 0.25).unwrap(), (1.25, 1.75));
        assert_eq!(
            update_posterior(1.0, 1.0, 1.5).unwrap_err().code(),
            "INVALID_REWARD"
        );
        assert_eq!(
            update_posterior(1.0, 1.0, f64::NAN).unwrap_err().code(),
            "INVALID_REWARD"
        );
    }
}
