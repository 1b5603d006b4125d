//! What an operator wants to see of a bandit: per arm its posterior mean, a
//! 95% credible interval, the probability that it is the best arm, and its
//! density — all from the core's own seeded sampler, so every runtime shows
//! the same numbers for the same seed.

use super::{beta, fill_beta, Arm};
use crate::error::{Error, Result};
use serde::Serialize;

/// Points of each density curve, at x = (i + 0.5) / POINTS.
pub const POINTS: usize = 100;
/// Most draws per arm a summary takes.
pub const MAX_DRAWS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmSummary {
    pub id: String,
    pub alpha: f64,
    pub beta: f64,
    /// α / (α + β).
    pub mean: f64,
    /// The 2.5% and 97.5% quantiles of the draws.
    pub low95: f64,
    pub high95: f64,
    /// Share of rounds in which this arm's draw was the largest.
    pub p_best: f64,
    /// Beta(α, β) density at x = (i + 0.5) / 100.
    pub density: Vec<f64>,
}

/// `ln B(a, b)`.
fn ln_beta(a: f64, b: f64) -> f64 {
    libm::lgamma(a) + libm::lgamma(b) - libm::lgamma(a + b)
}

/// Summarizes `arms` from `draws` seeded draws each (arm i seeded `seed + i`).
pub fn summarize(arms: &[Arm], draws: usize, seed: u64) -> Result<Vec<ArmSummary>> {
    if draws == 0 || draws > MAX_DRAWS {
        return Err(Error::InvalidParam {
            family: "bandit summary".into(),
            param: "draws".into(),
            value: draws.to_string(),
            reason: format!("must be 1-{MAX_DRAWS}"),
        });
    }
    let mut samples = Vec::with_capacity(arms.len());
    for (i, arm) in arms.iter().enumerate() {
        beta::check_params(arm.alpha, arm.beta)?;
        let mut out = vec![0.0; draws];
        fill_beta(
            arm.alpha,
            arm.beta,
            seed.wrapping_add(i as u64) & super::MAX_SEED,
            &mut out,
        )?;
        samples.push(out);
    }
    // Round k: the arm with the largest k-th draw wins (the first on a tie).
    let mut wins = vec![0u64; arms.len()];
    (0..draws).for_each(|k| {
        let best = (0..arms.len()).fold(None::<usize>, |b, i| match b {
            Some(j) if samples[j][k] >= samples[i][k] => Some(j),
            _ => Some(i),
        });
        if let Some(b) = best {
            wins[b] += 1;
        }
    });
    let quantile = |sorted: &[f64], q: f64| {
        sorted[((q * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
    };
    Ok(arms
        .iter()
        .zip(samples)
        .zip(wins)
        .map(|((arm, mut s), w)| {
            s.sort_by(f64::total_cmp);
            let lb = ln_beta(arm.alpha, arm.beta);
            let density = (0..POINTS)
                .map(|i| {
                    let x = (i as f64 + 0.5) / POINTS as f64;
                    libm::exp(
                        (arm.alpha - 1.0) * libm::log(x) + (arm.beta - 1.0) * libm::log1p(-x) - lb,
                    )
                })
                .collect();
            ArmSummary {
                id: arm.id.clone(),
                alpha: arm.alpha,
                beta: arm.beta,
                mean: arm.alpha / (arm.alpha + arm.beta),
                low95: quantile(&s, 0.025),
                high95: quantile(&s, 0.975),
                p_best: w as f64 / draws as f64,
                density,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(id: &str, alpha: f64, beta: f64) -> Arm {
        Arm::new(id, alpha, beta)
    }

    #[test]
    fn a_clear_winner_is_best_almost_always_and_p_best_sums_to_one() {
        let s = summarize(
            &[
                arm("weak", 3.0, 30.0),
                arm("strong", 30.0, 3.0),
                arm("prior", 1.0, 1.0),
            ],
            20_000,
            7,
        )
        .unwrap();
        let total: f64 = s.iter().map(|a| a.p_best).sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        // The uniform prior beats Beta(30, 3) with probability E[1 − X] = 3/33.
        assert!((s[2].p_best - 3.0 / 33.0).abs() < 0.01, "{}", s[2].p_best);
        assert!((s[1].p_best - 30.0 / 33.0).abs() < 0.01, "{}", s[1].p_best);
        assert!(s[0].p_best < 0.001);
        // Beta(30, 3): mean 0.909, 95% interval about [0.79, 0.98].
        assert!((s[1].mean - 30.0 / 33.0).abs() < 1e-12);
        assert!(
            (0.77..0.81).contains(&s[1].low95) && (0.97..0.99).contains(&s[1].high95),
            "{:?}",
            s[1]
        );
    }

    #[test]
    fn densities_integrate_to_one_and_the_same_seed_gives_the_same_numbers() {
        let arms = [arm("a", 2.0, 5.0), arm("b", 12.0, 30.0), arm("c", 1.0, 1.0)];
        for a in summarize(&arms, 1_000, 1).unwrap() {
            let area: f64 = a.density.iter().sum::<f64>() / POINTS as f64;
            assert!((area - 1.0).abs() < 0.01, "{} {area}", a.id);
        }
        assert_eq!(
            summarize(&arms, 500, 42).unwrap(),
            summarize(&arms, 500, 42).unwrap()
        );
        assert!(summarize(&arms, 0, 1).is_err());
        assert!(summarize(&[arm("bad", 0.0, 1.0)], 10, 1).is_err());
    }
}
