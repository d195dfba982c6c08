//! Properties the paper proves or the harvest promises, over random cells, reservoirs and inputs.

use mf_core::harvest::{harvest, HarvestOptions};
use mf_core::init::ReservoirInit;
use mf_core::rng::rng_from_seed;
use mf_core::stability::lemma_v1;
use mf_core::{CellKind, MfCell, Sequences, Weights};
use ndarray::Array3;
use proptest::prelude::*;

/// A reservoir of `n` units for `d` inputs drawn from `seed`.
fn reservoir(n: usize, d: usize, rho: f64, omega: f64, seed: u64) -> Weights<f32> {
    ReservoirInit {
        n_units: n,
        scalings: mf_core::init::Scalings {
            omega,
            beta: 0.1,
            rho,
        },
        spectral: Default::default(),
    }
    .draw(d, &mut rng_from_seed(seed))
    .unwrap()
}

/// `n` series of up to `max_len` steps and `d` inputs, values in `[-amp, amp]`, from `seed`.
fn series(n: usize, max_len: usize, d: usize, amp: f32, seed: u64) -> Sequences {
    let x = Array3::from_shape_fn((n, max_len, d), |(i, t, k)| {
        let z = (seed as f32 * 0.37 + (i * 31 + t * 7 + k * 3) as f32 * 0.61).sin();
        amp * z
    });
    let lengths = (0..n)
        .map(|i| 1 + (i * 7 + seed as usize) % max_len)
        .collect();
    Sequences::new(x, lengths).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Lemma V.1: where `dt (2 Kp0 e^(eta_p b) + Kd0 e^(-eta_d a)) + gamma <= 1`, the state of the MF cell started
    /// at zero stays in `[0, 1]` for any input and any recurrent kernel.
    #[test]
    fn mf_states_stay_in_the_unit_interval_where_lemma_v1_holds(
        dt in 1e-3f64..0.2,
        gamma in 0.3f64..1.0,
        s in 0.5f64..10.0,
        rho in 0.1f64..3.0,
        omega in 0.1f64..20.0,
        amp in 0.1f32..100.0,
        seed in 0u64..1000,
    ) {
        let cell = MfCell::new(dt, gamma, s);
        prop_assume!(lemma_v1(&cell).holds);
        let w = reservoir(12, 2, rho, omega, seed);
        let seqs = series(5, 30, 2, amp, seed);
        let h = harvest(&CellKind::Mf(cell), &w, &seqs, HarvestOptions { keep_all: true, threads: 1 })
            .unwrap();
        let all = h.all.unwrap();
        for (i, &len) in seqs.lengths.iter().enumerate() {
            for t in 0..len {
                for &v in all.slice(ndarray::s![i, t, ..]).iter() {
                    prop_assert!((0.0..=1.0).contains(&v), "series {} step {}: {}", i, t, v);
                }
            }
        }
    }

    /// Blocks of series are independent: the last states are the same bits on one thread and on several.
    #[test]
    fn harvest_results_do_not_depend_on_the_thread_count(
        threads in 2usize..5,
        n_series in 257usize..600,
        max_len in 1usize..12,
        mf in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let cell = if mf { CellKind::Mf(MfCell::new(0.1, 0.9, 5.0)) } else { CellKind::LeakyEsn { alpha: 0.7 } };
        let w = reservoir(6, 1, 0.9, 1.0, seed);
        let seqs = series(n_series, max_len, 1, 2.0, seed);
        let one = harvest(&cell, &w, &seqs, HarvestOptions { keep_all: false, threads: 1 }).unwrap();
        let many = harvest(&cell, &w, &seqs, HarvestOptions { keep_all: false, threads }).unwrap();
        prop_assert_eq!(
            one.last.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            many.last.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}
