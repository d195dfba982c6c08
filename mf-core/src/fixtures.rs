//! Small synthetic data sets for the tests, examples and benchmarks of this crate and the model crates, in one
//! place instead of a copy per test module: two classes of noisy sine waves ([`sine_classes`]), two classes of
//! noisy levels ([`level_classes`]) and unlabelled multi-input waves ([`waves`]). Each is a pure function of its
//! arguments (seeded draws from [`crate::rng::rng_from_seed`]); steps past a series' length are NaN, so any read
//! of them shows.

use std::ops::RangeInclusive;

use ndarray::Array3;
use rand::Rng;

use crate::rng::rng_from_seed;
use crate::{Sequences, Targets};

/// `n` univariate series of lengths drawn from `lengths`, alternating between two classes of sine waves of
/// frequency 0.2 (class 0) and 0.6 (class 1) per step, each with a random phase and uniform noise of amplitude
/// 0.1.
pub fn sine_classes(n: usize, lengths: RangeInclusive<usize>, seed: u64) -> (Sequences, Targets) {
    let mut r = rng_from_seed(seed);
    let mut x = Array3::<f32>::from_elem((n, *lengths.end(), 1), f32::NAN);
    let mut lens = Vec::with_capacity(n);
    for i in 0..n {
        let len = r.random_range(lengths.clone());
        let f = if i % 2 == 0 { 0.2 } else { 0.6 };
        let phase: f32 = r.random_range(0.0..std::f32::consts::TAU);
        for t in 0..len {
            x[[i, t, 0]] = (f * t as f32 + phase).sin() + 0.1 * r.random_range(-1.0f32..1.0);
        }
        lens.push(len);
    }
    (
        Sequences::new(x, lens).expect("lengths within the padded shape"),
        two_classes(n),
    )
}

/// `n` univariate series of lengths drawn from `lengths`, alternating between two classes told apart by the sign
/// of a constant level (-1 for class 0, +1 for class 1) under uniform noise of amplitude 0.3.
pub fn level_classes(n: usize, lengths: RangeInclusive<usize>, seed: u64) -> (Sequences, Targets) {
    let mut r = rng_from_seed(seed);
    let mut x = Array3::<f32>::from_elem((n, *lengths.end(), 1), f32::NAN);
    let mut lens = Vec::with_capacity(n);
    for i in 0..n {
        let len = r.random_range(lengths.clone());
        let level = if i % 2 == 1 { 1.0 } else { -1.0 };
        for t in 0..len {
            x[[i, t, 0]] = level + 0.3 * r.random_range(-1.0f32..1.0);
        }
        lens.push(len);
    }
    (
        Sequences::new(x, lens).expect("lengths within the padded shape"),
        two_classes(n),
    )
}

/// `n` unlabelled series with `d` inputs, of unequal lengths from `max_len / 2` (at least 1) to `max_len`:
/// deterministic waves that differ between series, steps and inputs.
pub fn waves(n: usize, max_len: usize, d: usize) -> Sequences {
    let shortest = (max_len / 2).max(1);
    let x = Array3::from_shape_fn((n, max_len, d), |(i, t, k)| {
        ((i * 5 + t * 3 + k) as f32 * 0.41).sin() + (i % 3) as f32 * 0.4
    });
    let lengths = (0..n)
        .map(|i| shortest + i % (max_len - shortest + 1))
        .collect();
    Sequences::new(x, lengths).expect("lengths within the padded shape")
}

/// Labels `0, 1, 0, 1, ...` of `n` series.
fn two_classes(n: usize) -> Targets {
    Targets::Classes {
        labels: (0..n).map(|i| i % 2).collect(),
        n_classes: 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_have_the_shapes_asked_for_and_are_functions_of_their_seed() {
        let (x, y) = sine_classes(9, 5..=12, 3);
        assert_eq!((x.n_series(), x.n_inputs(), y.len()), (9, 1, 9));
        assert!(x.lengths.iter().all(|l| (5..=12).contains(l)));
        assert_eq!(
            sine_classes(9, 5..=12, 3)
                .0
                .x
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
            x.x.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_ne!(sine_classes(9, 5..=12, 4).0.lengths, x.lengths);
        // Padding is NaN, values are finite.
        for i in 0..9 {
            let len = x.lengths[i];
            assert!(x
                .x
                .slice(ndarray::s![i, ..len, ..])
                .iter()
                .all(|v| v.is_finite()));
            assert!(x
                .x
                .slice(ndarray::s![i, len.., ..])
                .iter()
                .all(|v| v.is_nan()));
        }
        let (l, _) = level_classes(6, 3..=4, 1);
        assert!((0..6).all(|i| (l.x[[i, 0, 0]] > 0.0) == (i % 2 == 1)));
        let w = waves(7, 10, 3);
        assert_eq!((w.n_series(), w.n_inputs()), (7, 3));
        assert!(w.lengths.iter().all(|l| (5..=10).contains(l)));
        assert_eq!(waves(1, 1, 1).lengths, [1]);
    }
}
