//! Beta(α, β) = X / (X + Y) with X ~ Gamma(α), Y ~ Gamma(β).
//!
//! Gamma uses Marsaglia & Tsang (2000) with normals from a 256-layer
//! ziggurat (Marsaglia & Tsang 2000; one 64-bit draw and a table lookup for
//! ~99% of normals, tables computed once with libm, so they are the same
//! bits in every runtime); for shape < 1, Gamma(a) =
//! Gamma(a + 1) · U^(1/a). When both shapes are ≥ 1 the draws are used as they
//! are (no logarithms: the fast path). Otherwise everything is kept in log
//! space (`ln X`, `ln Y`), so tiny shapes (α, β ≪ 1), whose Gamma draws
//! underflow to 0, still give a correct Beta draw instead of NaN.

use crate::error::{num, Error, Result};
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Smallest shape drawn without logarithms: `U^(1/a)` with `U ≥ 2^-53` stays
/// above 2^-530 (a normal float) for `a ≥ 0.1`; smaller shapes use log space.
const LINEAR_MIN_SHAPE: f64 = 0.1;

/// Largest accepted shape; beyond it a Beta is a point mass in f64 anyway.
const MAX_SHAPE: f64 = 1e15;

pub(super) fn check_params(alpha: f64, beta: f64) -> Result<()> {
    for (name, v) in [("alpha", alpha), ("beta", beta)] {
        if !(v.is_finite() && v > 0.0 && v <= MAX_SHAPE) {
            return Err(Error::InvalidBetaParam {
                name,
                value: num(v),
            });
        }
    }
    Ok(())
}

/// The normal ziggurat: 256 layers of equal area `V` (the base layer with
/// the tail beyond `R`). `x[i]` is the right edge of layer `i` (decreasing,
/// `x[256] = 0`) and `f[i] = exp(-x[i]²/2)`.
struct Ziggurat {
    x: [f64; 257],
    f: [f64; 257],
}

/// Where the tail starts, for 256 layers.
const ZIG_R: f64 = 3.654_152_885_361_009;
/// Area of each layer: `R·f(R) + ∫_R^∞ f`.
const ZIG_V: f64 = 0.004_928_673_233_974_658;

fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let pdf = |x: f64| libm::exp(-0.5 * x * x);
        let mut x = [0.0; 257];
        x[0] = ZIG_V / pdf(ZIG_R);
        x[1] = ZIG_R;
        for i in 1..255 {
            x[i + 1] = libm::sqrt(-2.0 * libm::log(ZIG_V / x[i] + pdf(x[i])));
        }
        let f = x.map(pdf);
        Ziggurat { x, f }
    })
}

/// A seeded stream of Beta draws.
pub struct BetaSampler {
    rng: Xoshiro256PlusPlus,
    zig: &'static Ziggurat,
}

impl BetaSampler {
    pub fn new(seed: u64) -> Self {
        BetaSampler {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            zig: ziggurat(),
        }
    }

    /// Uniform in (0, 1]: 53 random bits, never 0 (so `ln` is finite).
    #[inline]
    fn uniform(&mut self) -> f64 {
        ((self.rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (ziggurat): the low 8 bits of one draw pick a layer,
    /// the top 53 a signed position in it; inside the layer's core it is
    /// done, otherwise the wedge (or, in the base layer, the tail) decides.
    #[inline]
    fn normal(&mut self) -> f64 {
        let z = self.zig;
        loop {
            let bits = self.rng.next_u64();
            let i = (bits & 0xff) as usize;
            // (-1, 1), symmetric: odd multiples of 2^-53.
            let u = ((bits >> 11) as f64 + 0.5) * (2.0 / (1u64 << 53) as f64) - 1.0;
            let x = u * z.x[i];
            if x.abs() < z.x[i + 1] {
                return x;
            }
            if i == 0 {
                return self.normal_tail(u < 0.0);
            }
            let y = z.f[i + 1] + (z.f[i] - z.f[i + 1]) * self.uniform();
            if y < libm::exp(-0.5 * x * x) {
                return x;
            }
        }
    }

    /// A normal beyond ±R (Marsaglia 1964).
    #[cold]
    fn normal_tail(&mut self, negative: bool) -> f64 {
        loop {
            let x = libm::log(self.uniform()) / ZIG_R;
            let y = libm::log(self.uniform());
            if -2.0 * y >= x * x {
                return if negative { x - ZIG_R } else { ZIG_R - x };
            }
        }
    }

    /// `ln` of a Gamma(shape, 1) draw as the parts `(g, u)` of `g + u / shape`:
    /// `g` finite, `u = ln U ≤ 0` (0 for shape ≥ 1). For shapes near the
    /// smallest floats `u / shape` overflows to −∞; `u` still ranks the draw.
    fn ln_gamma_parts(&mut self, shape: f64) -> (f64, f64) {
        if shape < 1.0 {
            // Gamma(a) = Gamma(a + 1) · U^(1/a)  =>  ln = ln Gamma(a + 1) + ln(U) / a
            let (g, _) = self.ln_gamma_parts(shape + 1.0);
            return (g, libm::log(self.uniform()));
        }
        let (d, v) = self.marsaglia_tsang(shape);
        (libm::log(d) + libm::log(v), 0.0)
    }

    /// A Gamma(shape ≥ LINEAR_MIN_SHAPE, 1) draw.
    #[inline]
    fn gamma_draw(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let (d, v) = self.marsaglia_tsang(shape + 1.0);
            return d * v * libm::exp(libm::log(self.uniform()) / shape);
        }
        let (d, v) = self.marsaglia_tsang(shape);
        d * v
    }

    /// A Gamma(shape ≥ 1, 1) draw as the factors `(d, v)` of `d · v`.
    #[inline]
    fn marsaglia_tsang(&mut self, shape: f64) -> (f64, f64) {
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / libm::sqrt(9.0 * d);
        loop {
            let x = self.normal();
            let t = 1.0 + c * x;
            if t <= 0.0 {
                continue;
            }
            let v = t * t * t;
            let u = self.uniform();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 || libm::log(u) < 0.5 * x2 + d * (1.0 - v + libm::log(v))
            {
                return (d, v);
            }
        }
    }

    /// One Beta(α, β) draw in [0, 1]. Parameters must already be valid.
    pub fn sample(&mut self, alpha: f64, beta: f64) -> f64 {
        if alpha >= LINEAR_MIN_SHAPE && beta >= LINEAR_MIN_SHAPE {
            // Both Gamma draws are positive normal floats here: no logs needed.
            let x = self.gamma_draw(alpha);
            let y = self.gamma_draw(beta);
            return x / (x + y);
        }
        let (gx, ux) = self.ln_gamma_parts(alpha);
        let (gy, uy) = self.ln_gamma_parts(beta);
        let (lx, ly) = (gx + ux / alpha, gy + uy / beta);
        if lx == f64::NEG_INFINITY && ly == f64::NEG_INFINITY {
            // Both shapes near the smallest floats (about 1e-308 and below):
            // both draws are below e^-1e308, where Beta is a coin flip between
            // 0 and 1 and only their order matters. ln X ≈ u / shape (g is
            // negligible next to it), so the larger draw has the smaller
            // ln(−u) − ln(shape). (∞ − ∞ below would be NaN.)
            let mx = libm::log(-ux) - libm::log(alpha);
            let my = libm::log(-uy) - libm::log(beta);
            return match mx.partial_cmp(&my) {
                Some(std::cmp::Ordering::Less) => 1.0,
                Some(std::cmp::Ordering::Greater) => 0.0,
                _ => 0.5,
            };
        }
        // X / (X + Y) = 1 / (1 + exp(ln Y − ln X))
        1.0 / (1.0 + libm::exp(ly - lx))
    }
}

/// `count` seeded Beta(α, β) draws.
pub fn sample_beta(alpha: f64, beta: f64, seed: u64, count: u64) -> Result<Vec<f64>> {
    check_params(alpha, beta)?;
    if count == 0 || count > super::MAX_COUNT {
        return Err(Error::InvalidCount {
            value: count.to_string(),
            max: super::MAX_COUNT,
        });
    }
    let mut out = vec![0.0; count as usize];
    fill_beta(alpha, beta, seed, &mut out)?;
    Ok(out)
}

/// Fills `out` with seeded Beta(α, β) draws: the same draws as
/// [`sample_beta`] with `count = out.len()`, without allocating.
pub fn fill_beta(alpha: f64, beta: f64, seed: u64, out: &mut [f64]) -> Result<()> {
    check_params(alpha, beta)?;
    if out.len() as u64 > super::MAX_COUNT {
        return Err(Error::InvalidCount {
            value: out.len().to_string(),
            max: super::MAX_COUNT,
        });
    }
    let mut s = BetaSampler::new(seed);
    for x in out {
        *x = s.sample(alpha, beta);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Continued fraction of the incomplete beta (modified Lentz; Numerical Recipes `betacf`).
    fn betacf(a: f64, b: f64, x: f64) -> f64 {
        let tiny = 1e-300;
        let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
        let mut c = 1.0;
        let mut d = 1.0 - qab * x / qap;
        d = 1.0 / if d.abs() < tiny { tiny } else { d };
        let mut h = d;
        for m in 1..100_000 {
            let m = f64::from(m);
            let m2 = 2.0 * m;
            for aa in [
                m * (b - m) * x / ((qam + m2) * (a + m2)),
                -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
            ] {
                d = 1.0 + aa * d;
                d = 1.0 / if d.abs() < tiny { tiny } else { d };
                c = 1.0 + aa / c;
                c = if c.abs() < tiny { tiny } else { c };
                h *= d * c;
            }
            if (d * c - 1.0).abs() < 1e-15 {
                break;
            }
        }
        h
    }

    /// The Beta(a, b) CDF: the regularized incomplete beta I_x(a, b),
    /// evaluated on the side of the mean where the continued fraction converges.
    fn beta_cdf(a: f64, b: f64, x: f64) -> f64 {
        if x <= 0.0 || x >= 1.0 {
            return x.clamp(0.0, 1.0);
        }
        let ln_front = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b)
            + a * x.ln()
            + b * (1.0 - x).ln();
        if x < (a + 1.0) / (a + b + 2.0) {
            ln_front.exp() * betacf(a, b, x) / a
        } else {
            1.0 - ln_front.exp() * betacf(b, a, 1.0 - x) / b
        }
    }

    #[test]
    fn beta_cdf_matches_closed_forms() {
        for x in [1e-12f64, 0.01, 0.3, 0.5, 0.9, 1.0 - 1e-9] {
            let arcsine = 2.0 / std::f64::consts::PI * x.sqrt().asin();
            assert!((beta_cdf(0.5, 0.5, x) - arcsine).abs() < 1e-9, "{x}");
            assert!((beta_cdf(2.0, 1.0, x) - x * x).abs() < 1e-12, "{x}");
            assert!(
                (beta_cdf(1.0, 3.0, x) - (1.0 - (1.0 - x).powi(3))).abs() < 1e-12,
                "{x}"
            );
        }
        assert!(
            (beta_cdf(500.0, 2000.0, 0.2) - 0.5).abs() < 0.02,
            "median of Beta(500, 2000) is near its mean 0.2"
        );
    }

    /// Kolmogorov–Smirnov statistic of `xs` against the Beta(α, β) CDF. A
    /// draw stands for every real that rounds to it: below a draw the CDF is
    /// taken at the next float down, so the atoms f64 rounding makes (tiny
    /// shapes put percents of their mass within 1e-16 of 0 or 1) are not
    /// mistaken for a wrong distribution.
    fn ks(mut xs: Vec<f64>, a: f64, b: f64) -> f64 {
        xs.sort_by(f64::total_cmp);
        let n = xs.len() as f64;
        let next_down = |x: f64| {
            if x > 0.0 {
                f64::from_bits(x.to_bits() - 1)
            } else {
                x
            }
        };
        let (mut d, mut i) = (0.0f64, 0);
        while i < xs.len() {
            // Draws equal to x occupy [i, j): compare below them and after them.
            let x = xs[i];
            let j = i + xs[i..].iter().take_while(|&&y| y == x).count();
            let below = beta_cdf(a, b, next_down(x));
            let at = beta_cdf(a, b, x);
            d = d
                .max((below - i as f64 / n).abs())
                .max((at - j as f64 / n).abs());
            i = j;
        }
        d
    }

    #[test]
    fn kolmogorov_smirnov_100k() {
        const N: u64 = 100_000;
        // Critical value at significance 0.001: 1.949 / sqrt(n) ≈ 0.00616.
        let crit = 1.949 / (N as f64).sqrt();
        for (i, (a, b)) in [
            (1.0, 1.0),
            (0.5, 0.5),
            (0.1, 0.3),
            (0.05, 0.6), // below LINEAR_MIN_SHAPE: the log-space path
            (0.08, 0.09),
            (2.0, 5.0),
            (0.7, 3.0),
            (30.0, 70.0),
            (500.0, 2000.0),
            (1.0, 1e4),
        ]
        .into_iter()
        .enumerate()
        {
            let xs = sample_beta(a, b, 1000 + i as u64, N).unwrap();
            assert!(
                xs.iter().all(|x| (0.0..=1.0).contains(x)),
                "Beta({a},{b}) out of [0,1]"
            );
            let d = ks(xs, a, b);
            assert!(d < crit, "Beta({a}, {b}): KS D = {d:.5} >= {crit:.5}");
        }
    }

    #[test]
    fn ziggurat_tables_are_well_formed() {
        let z = ziggurat();
        assert!(z.x.windows(2).all(|w| w[0] > w[1]), "edges decrease");
        assert!(z.x[255] > 0.2 && z.x[256] == 0.0 && z.f[256] == 1.0);
        // Every layer has the same area: x[i]·(f[i+1] − f[i]) = V.
        for i in 1..255 {
            let area = z.x[i] * (z.f[i + 1] - z.f[i]);
            assert!((area - ZIG_V).abs() < 1e-12, "layer {i}: {area}");
        }
    }

    #[test]
    fn normals_are_standard_normal() {
        let mut s = BetaSampler::new(99);
        let n = 400_000;
        let mut xs: Vec<f64> = (0..n).map(|_| s.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.01 && (var - 1.0).abs() < 0.01,
            "{mean} {var}"
        );
        // The tail beyond ±R is drawn too: expected 2·Φ(−R)·n ≈ 103.
        let above = xs.iter().filter(|&&x| x > ZIG_R).count();
        let below = xs.iter().filter(|&&x| x < -ZIG_R).count();
        assert!(
            (25..90).contains(&above) && (25..90).contains(&below),
            "{below} below −R, {above} above R"
        );
        xs.sort_by(f64::total_cmp);
        let d = xs
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let cdf = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
                (cdf - i as f64 / n as f64)
                    .abs()
                    .max((cdf - (i + 1) as f64 / n as f64).abs())
            })
            .fold(0.0, f64::max);
        // Critical value at p = 0.001: 1.95 / √n.
        assert!(d < 1.95 / (n as f64).sqrt(), "KS D = {d}");
    }

    #[test]
    fn ks_detects_a_wrong_distribution() {
        // The test above must be able to fail: Beta(2,5) draws judged as Beta(2,4).
        let d = ks(sample_beta(2.0, 5.0, 1, 100_000).unwrap(), 2.0, 4.0);
        assert!(d > 0.05, "D = {d}");
    }

    #[test]
    fn smallest_shapes_do_not_nan() {
        // Found by the `args` fuzz target: both log-space draws were −∞ and
        // 1 / (1 + exp(−∞ − −∞)) is NaN.
        assert_eq!(
            sample_beta(5e-324, 5e-324, 0, 2)
                .unwrap()
                .iter()
                .filter(|x| x.is_nan())
                .count(),
            0
        );
        for (a, b) in [(5e-324, 5e-324), (1e-310, 3e-310), (2.2e-308, 1e-320)] {
            let xs = sample_beta(a, b, 7, 10_000).unwrap();
            assert!(xs.iter().all(|&x| x == 0.0 || x == 1.0), "Beta({a}, {b})");
            // A coin flip: P(1) = α / (α + β).
            let ones = xs.iter().filter(|&&x| x == 1.0).count() as f64 / 1e4;
            assert!((ones - a / (a + b)).abs() < 0.03, "Beta({a}, {b}): {ones}");
        }
    }

    #[test]
    fn tiny_shapes_do_not_nan() {
        let xs = sample_beta(1e-3, 1e-3, 3, 10_000).unwrap();
        assert!(xs.iter().all(|x| (0.0..=1.0).contains(x)));
        let near_edges = xs
            .iter()
            .filter(|&&x| !(1e-6..=1.0 - 1e-6).contains(&x))
            .count();
        assert!(
            near_edges > 9_000,
            "Beta(0.001, 0.001) is U-shaped: {near_edges}"
        );
    }

    #[test]
    fn rejects() {
        for (a, b) in [
            (0.0, 1.0),
            (1.0, -1.0),
            (f64::NAN, 1.0),
            (1.0, f64::INFINITY),
            (2e15, 1.0),
        ] {
            assert_eq!(
                sample_beta(a, b, 1, 1).unwrap_err().code(),
                "INVALID_BETA_PARAM"
            );
        }
        assert_eq!(
            sample_beta(1.0, 1.0, 1, 0).unwrap_err().code(),
            "INVALID_COUNT"
        );
    }
}
