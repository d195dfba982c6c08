//! Properties the readout and the stream promise, over random data.

use mf_core::Recurrent;
use mf_core::{Sequences, Targets};
use mf_esn::{MfEsn, Ridge};
use ndarray::{Array1, Array2, Array3, Axis};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The ridge solution satisfies its normal equations on centred data, `(Xc^T Xc + lambda I) W = Xc^T Yc`, and
    /// its intercept is `mean(y) - mean(x) W`: an independent statement of what `Ridge::fit_arrays` solves,
    /// whichever of its two solvers ran.
    #[test]
    fn the_ridge_solution_satisfies_its_normal_equations(
        n in 2usize..40,
        p in 1usize..12,
        q in 1usize..3,
        log_lambda in -8f64..2.0,
        values in proptest::collection::vec(-3f64..3.0, 40 * 12 + 40 * 3),
    ) {
        let lambda = 10f64.powf(log_lambda);
        let x = Array2::from_shape_fn((n, p), |(i, j)| values[i * 12 + j]);
        let y = Array2::from_shape_fn((n, q), |(i, j)| values[40 * 12 + i * 3 + j]);
        let r = Ridge::fit_arrays(x.view(), y.view(), lambda).unwrap();
        let xm = x.mean_axis(Axis(0)).unwrap();
        let ym = y.mean_axis(Axis(0)).unwrap();
        let xc = &x - &xm;
        let yc = &y - &ym;
        let lhs = xc.t().dot(&xc).dot(&r.coef) + lambda * &r.coef;
        let rhs = xc.t().dot(&yc);
        let scale = 1.0 + rhs.iter().fold(0f64, |m, v| m.max(v.abs())) + lhs.iter().fold(0f64, |m, v| m.max(v.abs()));
        for (a, b) in lhs.iter().zip(&rhs) {
            prop_assert!((a - b).abs() <= 1e-8 * scale, "{} vs {} (lambda {})", a, b, lambda);
        }
        let intercept: Array1<f64> = &ym - &xm.dot(&r.coef);
        for (a, b) in intercept.iter().zip(&r.intercept) {
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()), "{} vs {}", a, b);
        }
    }

    /// A fitted reservoir streamed one sample at a time reaches the batch harvest's last state of every series,
    /// to f32 rounding, at the paper's steps (Table III).
    #[test]
    fn streaming_equals_the_batch_harvest(
        n_units in 2usize..16,
        n_series in 2usize..8,
        max_len in 1usize..20,
        dt in prop_oneof![Just(0.1f64), Just(0.01), Just(0.001)],
        seed in 0u64..1000,
    ) {
        let x = Array3::from_shape_fn((n_series, max_len, 2), |(i, t, k)| {
            ((seed as usize + i * 13 + t * 5 + k) as f32 * 0.43).sin()
        });
        let lengths: Vec<usize> = (0..n_series).map(|i| 1 + (i * 3 + seed as usize) % max_len).collect();
        let seqs = Sequences::new(x, lengths).unwrap();
        let targets = Targets::Classes { labels: (0..n_series).map(|i| i % 2).collect(), n_classes: 2 };
        let model = MfEsn::params().n_units(n_units).dt(dt).fit(&seqs, &targets, seed).unwrap();
        let batch = model.states(&seqs).unwrap();
        let mut stream = model.stream();
        for i in 0..n_series {
            for t in 0..seqs.lengths[i] {
                stream.push(seqs.series(i).row(t).as_slice().unwrap()).unwrap();
            }
            for (a, b) in stream.state().iter().zip(batch.row(i)) {
                prop_assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "series {}: {} vs {}", i, a, b);
            }
            stream.reset();
        }
    }
}
