//! Seeded generators needing no files: synthetic control charts, Mackey-Glass and NARMA-10.
//!
//! Every random draw comes from `ChaCha8Rng::seed_from_u64(seed)`, so a seed fixes the data set.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[cfg(test)]
use crate::TaskKind;
use crate::{DataError, Dataset, RawSplit, Split};

fn param(name: &'static str, msg: impl Into<String>) -> DataError {
    DataError::Param {
        name,
        msg: msg.into(),
    }
}

/// The six control chart patterns, in the order of their labels `1`..`6` (as in the UCR
/// SyntheticControl set).
pub const CONTROL_PATTERNS: [&str; 6] = [
    "normal",
    "cyclic",
    "increasing trend",
    "decreasing trend",
    "upward shift",
    "downward shift",
];

/// One synthetic control chart of class `class` (0..6) and length `n`, following Alcock &
/// Manolopoulos (1999), for `t = 1..=n`, with `m = 30`, `s = 2` and a fresh `r(t) ~ U(-3, 3)` per
/// step:
///
/// - normal: `y(t) = m + r(t) s`
/// - cyclic: `y(t) = m + r(t) s + a sin(2 pi t / T)`, `a, T ~ U(10, 15)`
/// - increasing (decreasing) trend: `y(t) = m + r(t) s +(-) g t`, `g ~ U(0.2, 0.5)`
/// - upward (downward) shift: `y(t) = m + r(t) s +(-) k(t) x`, `x ~ U(7.5, 20)`,
///   `k(t) = 1` for `t >= t3` else 0, `t3 ~ U(n/3, 2n/3)`
///
/// # Panics
/// If `class >= 6`.
pub fn control_chart(class: usize, n: usize, rng: &mut impl Rng) -> Vec<f64> {
    assert!(class < 6, "control chart class must be below 6");
    let (m, s) = (30.0, 2.0);
    let nf = n as f64;
    let (a, period) = (rng.random_range(10.0..15.0), rng.random_range(10.0..15.0));
    let g: f64 = rng.random_range(0.2..0.5);
    let x: f64 = rng.random_range(7.5..20.0);
    let t3: f64 = rng.random_range(nf / 3.0..=2.0 * nf / 3.0);
    (1..=n)
        .map(|t| {
            let t = t as f64;
            let base = m + rng.random_range(-3.0..3.0) * s;
            let k = if t >= t3 { 1.0 } else { 0.0 };
            base + match class {
                0 => 0.0,
                1 => a * (2.0 * std::f64::consts::PI * t / period).sin(),
                2 => g * t,
                3 => -g * t,
                4 => k * x,
                _ => -k * x,
            }
        })
        .collect()
}

/// A synthetic control chart classification data set: `n_train_per_class` and
/// `n_test_per_class` series of each of the six classes (labels `1`..`6`, see
/// [`CONTROL_PATTERNS`]), each of length `length`, grouped by class as in the UCR file.
/// [`synthetic_control_default`] gives the UCR shape (300/300, length 60).
pub fn synthetic_control(
    n_train_per_class: usize,
    n_test_per_class: usize,
    length: usize,
    seed: u64,
) -> Result<Dataset, DataError> {
    if n_train_per_class == 0 || length < 3 {
        return Err(param(
            "synthetic_control",
            "need at least one series per class and length >= 3",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut make = |per_class: usize| {
        let mut raw = RawSplit {
            labels: Some(Vec::new()),
            ..RawSplit::default()
        };
        for c in 0..6 {
            for _ in 0..per_class {
                raw.series.push(vec![control_chart(c, length, &mut rng)]);
                if let Some(l) = raw.labels.as_mut() {
                    l.push((c + 1).to_string());
                }
            }
        }
        raw
    };
    let train = Split::from_raw(&make(n_train_per_class))?;
    let test = if n_test_per_class > 0 {
        Some(Split::from_raw(&make(n_test_per_class))?)
    } else {
        None
    };
    Dataset::new("SyntheticControlGenerated", train, test)
}

/// [`synthetic_control`] with 50 train and 50 test series per class of length 60, the shape of
/// the UCR SyntheticControl set.
pub fn synthetic_control_default(seed: u64) -> Result<Dataset, DataError> {
    synthetic_control(50, 50, 60, seed)
}

/// A Mackey-Glass series sampled at unit time steps:
/// `dx/dt = beta x(t - tau) / (1 + x(t - tau)^10) - gamma x(t)` with `beta = 0.2`,
/// `gamma = 0.1`, exponent 10, integrated by Euler steps of 0.1 with the delayed value read from
/// the stored history. The history on `[-tau, 0]` is `1.2 + U(-0.1, 0.1)` per step (the seeded
/// part) and the first 1000 time units are discarded as transient. `tau = 17` gives the standard
/// mildly chaotic series.
pub fn mackey_glass_series(n: usize, tau: f64, seed: u64) -> Result<Vec<f64>, DataError> {
    if !(tau.is_finite() && tau > 0.0) {
        return Err(param("tau", "must be positive and finite"));
    }
    const H: f64 = 0.1;
    const SUB: usize = 10; // 1 / H steps per sample
    const WASHOUT: usize = 1000;
    let (beta, gamma, p) = (0.2, 0.1, 10);
    let delay = (tau / H).round() as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut hist: Vec<f64> = (0..=delay)
        .map(|_| 1.2 + rng.random_range(-0.1..0.1))
        .collect();
    let total = (WASHOUT + n) * SUB;
    hist.reserve(total);
    let mut out = Vec::with_capacity(n);
    for step in 0..total {
        let x = hist[hist.len() - 1];
        let xd = hist[hist.len() - 1 - delay];
        let next = x + H * (beta * xd / (1.0 + f64::powi(xd, p)) - gamma * x);
        hist.push(next);
        if step + 1 >= WASHOUT * SUB && (step + 1) % SUB == 0 && out.len() < n {
            out.push(next);
        }
    }
    Ok(out)
}

/// Windows of one series as a regression split: window `i` is `x[i..i + window]`, its target
/// `x[i + window]` (one step ahead).
fn windows(x: &[f64], u: Option<&[f64]>, window: usize, count: usize, start: usize) -> RawSplit {
    let inputs = u.unwrap_or(x);
    let mut raw = RawSplit {
        targets: Some(Vec::new()),
        ..RawSplit::default()
    };
    for i in start..start + count {
        raw.series.push(vec![inputs[i..i + window].to_vec()]);
        if let Some(t) = raw.targets.as_mut() {
            t.push(x[i + window]);
        }
    }
    raw
}

/// Mackey-Glass (`tau = 17`) one-step-ahead prediction as a regression data set: `n_train` then
/// `n_test` consecutive windows of `window` samples of one series, each with the next sample as
/// target; windows overlap (stride 1) and the test windows follow the training ones in time.
pub fn mackey_glass(
    n_train: usize,
    n_test: usize,
    window: usize,
    seed: u64,
) -> Result<Dataset, DataError> {
    if n_train == 0 || window == 0 {
        return Err(param("mackey_glass", "need n_train > 0 and window > 0"));
    }
    let x = mackey_glass_series(n_train + n_test + window, 17.0, seed)?;
    let train = Split::from_raw(&windows(&x, None, window, n_train, 0))?;
    let test = if n_test > 0 {
        Some(Split::from_raw(&windows(
            &x, None, window, n_test, n_train,
        ))?)
    } else {
        None
    };
    Dataset::new("MackeyGlass17", train, test)
}

/// A NARMA-10 input/output pair of length `n`: `u(t) ~ U(0, 0.5)` and
/// `y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i=0..9} y(t-i) + 1.5 u(t-9) u(t) + 0.1`, starting from
/// `y = 0`; the first 200 steps are discarded as transient. Returns `(u, y)` where `y[t]` is the
/// output after input `u[t]` (so `y[t]` is the `y(t+1)` above). Fails if the recursion diverges
/// (it can, rarely, for unlucky inputs).
pub fn narma10_series(n: usize, seed: u64) -> Result<(Vec<f64>, Vec<f64>), DataError> {
    const WASHOUT: usize = 200;
    let total = n + WASHOUT;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let u: Vec<f64> = (0..total).map(|_| rng.random_range(0.0..0.5)).collect();
    // ys[t] holds y(t); y(0..10) = 0.
    let mut ys = vec![0.0; total + 1];
    for t in 9..total {
        let sum: f64 = ys[t - 9..=t].iter().sum();
        ys[t + 1] = 0.3 * ys[t] + 0.05 * ys[t] * sum + 1.5 * u[t - 9] * u[t] + 0.1;
        if !ys[t + 1].is_finite() || ys[t + 1].abs() > 1e6 {
            return Err(param(
                "narma10",
                format!("diverged at step {t} for seed {seed}"),
            ));
        }
    }
    Ok((u[WASHOUT..].to_vec(), ys[WASHOUT + 1..].to_vec()))
}

/// NARMA-10 as a regression data set: window `i` holds `u[i..i + window]` and its target is the
/// output after the window's last input, `y[i + window - 1]`; `n_train` then `n_test` consecutive
/// windows (stride 1). `window >= 10` lets a model see every input the target depends on.
pub fn narma10(
    n_train: usize,
    n_test: usize,
    window: usize,
    seed: u64,
) -> Result<Dataset, DataError> {
    if n_train == 0 || window == 0 {
        return Err(param("narma10", "need n_train > 0 and window > 0"));
    }
    let (u, y) = narma10_series(n_train + n_test + window, seed)?;
    // Shift y by one so that `windows` pairs u[i..i+w] with y[i + w - 1].
    let y_shift: Vec<f64> = std::iter::once(0.0).chain(y.iter().copied()).collect();
    let train = Split::from_raw(&windows(&y_shift, Some(&u), window, n_train, 0))?;
    let test = if n_test > 0 {
        Some(Split::from_raw(&windows(
            &y_shift,
            Some(&u),
            window,
            n_test,
            n_train,
        ))?)
    } else {
        None
    };
    Dataset::new("NARMA10", train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    #[test]
    fn synthetic_control_has_the_ucr_shape_and_is_seeded() {
        let d = synthetic_control_default(5).unwrap();
        assert_eq!(d.train.n_series(), 300);
        assert_eq!(d.test.as_ref().unwrap().n_series(), 300);
        assert_eq!(d.classes().unwrap(), ["1", "2", "3", "4", "5", "6"]);
        assert_eq!(d.length_range(), (60, 60));
        assert_eq!(d, synthetic_control_default(5).unwrap());
        assert_ne!(d, synthetic_control_default(6).unwrap());
    }

    #[test]
    fn control_chart_patterns_follow_their_formulas() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let n = 60;
        // Noise r s lies in [-6, 6] around m = 30.
        let normal = control_chart(0, n, &mut rng);
        assert!(normal.iter().all(|v| (24.0..=36.0).contains(v)));
        // Trend: the last ten points exceed the first ten by about g * 50 >= 10 on average.
        let inc = control_chart(2, n, &mut rng);
        assert!(mean(&inc[50..]) - mean(&inc[..10]) > 10.0 - 4.0);
        let dec = control_chart(3, n, &mut rng);
        assert!(mean(&dec[50..]) - mean(&dec[..10]) < -6.0);
        // Shift starts at or after n/3 and ends by 2n/3, so the first 19 points are unshifted
        // and the last 19 are shifted by x >= 7.5.
        let up = control_chart(4, n, &mut rng);
        assert!(up[..19].iter().all(|v| (24.0..=36.0).contains(v)));
        assert!(up[41..].iter().all(|v| *v >= 24.0 + 7.5));
        let down = control_chart(5, n, &mut rng);
        assert!(down[41..].iter().all(|v| *v <= 36.0 - 7.5));
    }

    #[test]
    fn mackey_glass_stays_on_its_attractor_and_windows_predict_the_next_sample() {
        let x = mackey_glass_series(2000, 17.0, 3).unwrap();
        // The tau = 17 attractor lies within about [0.2, 1.4].
        assert!(x.iter().all(|v| (0.15..1.5).contains(v)));
        let d = mackey_glass(50, 20, 8, 3).unwrap();
        assert_eq!(*d.task(), TaskKind::Regression);
        let tr = d.train.targets().unwrap();
        // Window i + 1 ends with the target of window i.
        assert_eq!(*d.train.series(1, 0).last().unwrap(), tr[0]);
        let te = d.test.as_ref().unwrap();
        assert_eq!(te.series(0, 0)[7], tr[49]);
        assert_eq!(x, mackey_glass_series(2000, 17.0, 3).unwrap());
    }

    #[test]
    fn narma10_targets_satisfy_the_recursion() {
        let (u, y) = narma10_series(300, 4).unwrap();
        // Check y[t] (the output after u[t]) against the recursion written out independently.
        for t in 20..300 {
            let sum: f64 = (0..10).map(|i| y[t - 1 - i]).sum();
            let want = 0.3 * y[t - 1] + 0.05 * y[t - 1] * sum + 1.5 * u[t - 9] * u[t] + 0.1;
            assert!((y[t] - want).abs() < 1e-12, "t = {t}");
        }
        let d = narma10(40, 10, 12, 4).unwrap();
        let (u2, y2) = narma10_series(40 + 10 + 12, 4).unwrap();
        assert_eq!(d.train.series(3, 0), &u2[3..15]);
        assert_eq!(d.train.targets().unwrap()[3], y2[14]);
    }
}
