//! Logistic scoring over named features: `p = sigmoid(b + Σ wᵢ·xᵢ)`.
//!
//! Features are summed in sorted name order (a `BTreeMap`) and `exp` comes
//! from `libm`, so a score is the same f64 in every runtime. A feature the
//! model has no weight for contributes nothing (new features do not break
//! old models); a non-finite value is an error.

use crate::error::{num, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Named feature values, e.g. `{"hour_9": 1, "length": 0.42}`.
pub type Features = BTreeMap<String, f64>;

/// Logistic-regression coefficients, stored as JSON under `model:weights:v1`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    #[serde(default)]
    pub bias: f64,
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
}

/// Numerically stable logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + libm::exp(-z))
    } else {
        let e = libm::exp(z);
        e / (1.0 + e)
    }
}

fn check_finite<'a>(values: impl IntoIterator<Item = (&'a String, &'a f64)>) -> Result<()> {
    for (name, v) in values {
        if !v.is_finite() {
            return Err(Error::InvalidModelValue {
                name: name.clone(),
                value: num(*v),
            });
        }
    }
    Ok(())
}

impl LogisticModel {
    /// Checks that the bias and every weight are finite.
    pub fn validate(&self) -> Result<()> {
        if !self.bias.is_finite() {
            return Err(Error::InvalidModelValue {
                name: "bias".into(),
                value: num(self.bias),
            });
        }
        check_finite(&self.weights)
    }

    /// `b + Σ wᵢ·xᵢ` over the features the model knows. ±∞ is a fine logit
    /// (probability 1 or 0), but products that overflow to +∞ and to −∞ make
    /// it NaN: no probability, an error.
    fn logit(&self, features: &Features) -> Result<f64> {
        let z = features.iter().fold(self.bias, |z, (name, x)| {
            z + self.weights.get(name).map_or(0.0, |w| w * x)
        });
        if z.is_nan() {
            return Err(Error::InvalidModelValue {
                name: "bias + Σ weight·feature".into(),
                value: num(z),
            });
        }
        Ok(z)
    }

    /// The predicted probability for `features`.
    pub fn score(&self, features: &Features) -> Result<f64> {
        self.validate()?;
        check_finite(features)?;
        Ok(sigmoid(self.logit(features)?))
    }

    /// One stochastic-gradient step on the log-loss for one example with
    /// label `y` (1 = success, 0 = failure; fractions allowed) and L2 penalty
    /// `l2` on the weights (not the bias). New features get a weight.
    /// Returns the log-loss before the step. A step that would leave a weight
    /// or the bias infinite (huge features, rates or penalties) is refused
    /// and the model is left as it was.
    pub fn sgd_step(
        &mut self,
        features: &Features,
        y: f64,
        learning_rate: f64,
        l2: f64,
    ) -> Result<f64> {
        self.validate()?;
        check_finite(features)?;
        if !(0.0..=1.0).contains(&y) {
            return Err(Error::InvalidReward { value: num(y) });
        }
        if !(learning_rate.is_finite() && learning_rate > 0.0 && learning_rate <= 10.0) {
            return Err(Error::InvalidLearningRate {
                value: num(learning_rate),
            });
        }
        if !(l2.is_finite() && l2 >= 0.0) {
            return Err(Error::InvalidModelValue {
                name: "l2".into(),
                value: num(l2),
            });
        }
        let p = sigmoid(self.logit(features)?);
        let eps = 1e-15;
        let loss = -(y * libm::log(p.max(eps)) + (1.0 - y) * libm::log((1.0 - p).max(eps)));
        let g = p - y;
        let stepped: Vec<(&String, f64)> = features
            .iter()
            .map(|(name, x)| {
                let w = self.weights.get(name).copied().unwrap_or(0.0);
                (name, w - learning_rate * (g * x + l2 * w))
            })
            .collect();
        let bias = self.bias - learning_rate * g;
        let bias_name = String::from("bias");
        if let Some((name, v)) = stepped
            .iter()
            .chain([(&bias_name, bias)].iter())
            .find(|(_, v)| !v.is_finite())
        {
            return Err(Error::InvalidModelValue {
                name: format!("{name} after the step"),
                value: num(*v),
            });
        }
        for (name, w) in stepped {
            self.weights.insert(name.clone(), w);
        }
        self.bias = bias;
        Ok(loss)
    }
}

/// Share of `(probability, label)` pairs where `probability >= threshold`
/// agrees with `label`; `None` for an empty slice.
pub fn accuracy(pairs: &[(f64, bool)], threshold: f64) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let right = pairs
        .iter()
        .filter(|(p, label)| (*p >= threshold) == *label)
        .count();
    Some(right as f64 / pairs.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, f64)]) -> Features {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn scores() {
        let m = LogisticModel {
            bias: -1.0,
            weights: f(&[("a", 2.0), ("b", -0.5)]),
        };
        let p = m
            .score(&f(&[("a", 1.0), ("b", 2.0), ("unknown", 9.0)]))
            .unwrap();
        assert!((p - 0.5).abs() < 1e-15);
        assert_eq!(sigmoid(800.0), 1.0);
        assert_eq!(sigmoid(-800.0), 0.0);
        assert!((sigmoid(-3.0) + sigmoid(3.0) - 1.0).abs() < 1e-15);
        assert_eq!(
            m.score(&f(&[("a", f64::NAN)])).unwrap_err().code(),
            "INVALID_MODEL_VALUE"
        );
    }

    #[test]
    fn overflow_is_refused_not_stored() {
        // Found by the `args` fuzz target. Products overflowing both ways made
        // the logit NaN, and `score` returned NaN as a probability.
        let m = LogisticModel {
            bias: 0.0,
            weights: f(&[("a", 1e308), ("b", -1e308)]),
        };
        let x = f(&[("a", 1e308), ("b", 1e308)]);
        assert_eq!(m.score(&x).unwrap_err().code(), "INVALID_MODEL_VALUE");
        // The fuzzer's own input.
        let w = -1.7044745290527055e289;
        let fuzzed = LogisticModel {
            bias: -1.7044745290526746e289,
            weights: f(&[("a", w), ("b", w), ("c", w)]),
        };
        let x2 = f(&[("a", w), ("b", w), ("c", 7.354197342904538e223)]);
        assert_eq!(fuzzed.score(&x2).unwrap_err().code(), "INVALID_MODEL_VALUE");
        assert_eq!(
            m.clone().sgd_step(&x, 1.0, 0.5, 0.0).unwrap_err().code(),
            "INVALID_MODEL_VALUE"
        );
        // One-sided overflow is a certain prediction, not an error.
        assert_eq!(m.score(&f(&[("a", 1e308)])).unwrap(), 1.0);
        // A step that would make a weight infinite is refused and changes nothing.
        let before = LogisticModel {
            bias: 3.2220398812343e257,
            weights: f(&[("a", 9.12754444429847e192)]),
        };
        let mut m = before.clone();
        let e = m
            .sgd_step(
                &f(&[("a", 3.387204678755e-312), ("c", 1.0)]),
                0.25,
                1e-300,
                1e300,
            )
            .unwrap_err();
        assert_eq!(e.code(), "INVALID_MODEL_VALUE");
        assert!(
            e.to_string().contains("`a after the step` = -Infinity"),
            "{e}"
        );
        assert_eq!(m, before);
    }

    #[test]
    fn sgd_learns_a_separable_rule() {
        let mut m = LogisticModel::default();
        let data: Vec<(Features, bool)> = (0..200)
            .map(|i| (f(&[("x", (i % 20) as f64 / 10.0 - 1.0)]), i % 20 >= 10))
            .collect();
        // Log-loss over the data set (sgd_step reports the loss before stepping).
        let total_loss = |m: &LogisticModel| -> f64 {
            data.iter()
                .map(|(x, y)| {
                    m.clone()
                        .sgd_step(x, f64::from(u8::from(*y)), 0.5, 0.0)
                        .unwrap()
                })
                .sum()
        };
        let first = total_loss(&m);
        for _ in 0..20 {
            for (x, y) in &data {
                m.sgd_step(x, f64::from(u8::from(*y)), 0.5, 1e-4).unwrap();
            }
        }
        let last = total_loss(&m);
        assert!(last < first / 3.0, "loss {first} -> {last}");
        let pairs: Vec<_> = data
            .iter()
            .map(|(x, y)| (m.score(x).unwrap(), *y))
            .collect();
        assert_eq!(accuracy(&pairs, 0.5), Some(1.0));
        assert_eq!(accuracy(&[], 0.5), None);
        assert_eq!(
            m.clone()
                .sgd_step(&data[0].0, 1.0, 0.0, 0.0)
                .unwrap_err()
                .code(),
            "INVALID_LEARNING_RATE"
        );
    }
}
