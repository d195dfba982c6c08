//! Sparse reservoirs (paper Sec. VII: sparse connections reduce the number of weights a hardware reservoir must
//! map onto devices).
//!
//! A sparse kernel keeps an exact number of connections at uniformly chosen places, so the number of weights is
//! known from the configuration alone:
//!
//! - the recurrent kernel `W_h` keeps `max(1, round(density N^2))` of its `N^2` entries;
//! - the input kernel `W_x` keeps, for each input, `max(1, round(input_density N))` of the `N` units it could
//!   drive (every input reaches some unit).
//!
//! The kept entries are drawn as the dense ones are (uniform), and the spectral scaling keeps its meaning:
//!
//! - circular law: the entries of a kernel with `m` kept entries have variance `(m / N^2) v^2 / 3`, and the
//!   circular law puts the spectral radius at `sqrt(N variance)`; so `v = rho sqrt(3 N / m)`, which is the dense
//!   `rho sqrt(3 / N)` at `m = N^2` and `rho sqrt(3 / (N density))` in general (the law needs many connections
//!   per unit: with only a handful the radius strays further from `rho`);
//! - exact: the masked kernel is rescaled to spectral radius `rho` after masking.
//!
//! The input scaling `omega` stays the bound of each kept input weight. A kernel of density 1 is drawn by
//! [`ReservoirInit::draw`] itself: no mask is drawn, the generator is used exactly as for the dense model, and
//! the weights are the same bits.

use rand::seq::index;
use rand::Rng;
use rand_distr::{Distribution, Uniform};
use serde::{Deserialize, Serialize};

use crate::init::{ReservoirInit, SpectralInit};
use crate::linalg::{spectral_radius, uniform_matrix};
use crate::{CoreError, Weights};
use ndarray::Array2;

/// Which connections of a reservoir exist. The default, density 1 for both kernels, is the paper's dense
/// reservoir.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Connectivity {
    /// Fraction of the recurrent kernel's `N^2` entries that are connections, in `(0, 1]`. Default `1`.
    pub density: f64,
    /// Fraction of the `N` units each input drives, in `(0, 1]`. Default `1`.
    pub input_density: f64,
}

impl Default for Connectivity {
    fn default() -> Self {
        Self {
            density: 1.0,
            input_density: 1.0,
        }
    }
}

/// Connections kept out of `total` at `density`: all at density 1, else `round(density total)` and at least 1.
fn kept(density: f64, total: usize) -> usize {
    if density >= 1.0 {
        total
    } else {
        ((density * total as f64).round() as usize).clamp(1.min(total), total)
    }
}

impl Connectivity {
    /// True for the dense reservoir (the default).
    pub fn is_dense(&self) -> bool {
        self.density == 1.0 && self.input_density == 1.0
    }

    /// Checks that both densities lie in `(0, 1]`.
    pub fn check(&self) -> Result<(), CoreError> {
        for (name, v) in [
            ("density", self.density),
            ("input_density", self.input_density),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(CoreError::Param {
                    name,
                    value: v,
                    reason: "must lie in (0, 1]",
                });
            }
        }
        Ok(())
    }

    /// Non-zero entries of an `(n_units, n_units)` recurrent kernel (at most; a drawn value can be zero).
    pub fn recurrent_weights(&self, n_units: usize) -> usize {
        kept(self.density, n_units * n_units)
    }

    /// Non-zero entries of each input's row of the input kernel (of `n_units`).
    pub fn weights_per_input(&self, n_units: usize) -> usize {
        kept(self.input_density, n_units)
    }

    /// Non-zero weights of a reservoir of `n_units` with `n_inputs` inputs: recurrent and input kernels (the bias
    /// is not counted: it is no synapse).
    pub fn n_weights(&self, n_inputs: usize, n_units: usize) -> usize {
        self.recurrent_weights(n_units) + n_inputs * self.weights_per_input(n_units)
    }

    /// Draws `w_in`, `w_rec` and `bias` as [`ReservoirInit::draw`] does, with the kernels masked to this
    /// connectivity. In order: the input kernel (each input's kept units, then their values), the recurrent
    /// kernel (its kept entries, then their values), the bias. A dense kernel draws no mask.
    pub fn draw<R: Rng + ?Sized>(
        &self,
        init: &ReservoirInit,
        n_inputs: usize,
        rng: &mut R,
    ) -> Result<Weights<f32>, CoreError> {
        self.check()?;
        if self.is_dense() {
            return init.draw(n_inputs, rng);
        }
        init.check()?;
        let n = init.n_units;
        let w_in = if self.input_density == 1.0 {
            uniform_matrix(n_inputs, n, init.scalings.omega, rng)
        } else {
            let k = self.weights_per_input(n);
            let mut places = Vec::with_capacity(n_inputs * k);
            for l in 0..n_inputs {
                places.extend(sorted_sample(rng, n, k).into_iter().map(|j| l * n + j));
            }
            sparse_uniform(n_inputs, n, &places, init.scalings.omega, rng)
        };
        let w_rec = if self.density == 1.0 {
            init.draw_recurrent(rng)?
        } else {
            let m = self.recurrent_weights(n);
            let places = sorted_sample(rng, n * n, m);
            match init.spectral {
                SpectralInit::CircularLaw => {
                    let v = init.scalings.rho * (3.0 * n as f64 / m as f64).sqrt();
                    sparse_uniform(n, n, &places, v, rng)
                }
                SpectralInit::Exact => {
                    let w = sparse_uniform(n, n, &places, 1.0, rng);
                    let r = spectral_radius(w.view())?;
                    if r == 0.0 {
                        w
                    } else {
                        w * (init.scalings.rho / r)
                    }
                }
            }
        };
        let bias = uniform_matrix(1, n, init.scalings.beta, rng)
            .row(0)
            .to_owned();
        Ok(Weights {
            w_in: w_in.mapv(|v| v as f32),
            w_rec: w_rec.mapv(|v| v as f32),
            bias: bias.mapv(|v| v as f32),
        })
    }
}

/// `amount` distinct indices below `length`, uniformly, in increasing order.
fn sorted_sample<R: Rng + ?Sized>(rng: &mut R, length: usize, amount: usize) -> Vec<usize> {
    let mut v = index::sample(rng, length, amount).into_vec();
    v.sort_unstable();
    v
}

/// A `(rows, cols)` matrix, zero but at the row-major `places`, which are uniform on `(-v, v)` (drawn in the order
/// of `places`); `v = 0` gives zeros without consuming the generator.
fn sparse_uniform<R: Rng + ?Sized>(
    rows: usize,
    cols: usize,
    places: &[usize],
    v: f64,
    rng: &mut R,
) -> Array2<f64> {
    let mut w = Array2::zeros((rows, cols));
    if v == 0.0 {
        return w;
    }
    let d = Uniform::new_inclusive(-v, v).expect("finite bound");
    for &p in places {
        w[[p / cols, p % cols]] = d.sample(rng);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;

    fn init(n: usize, spectral: SpectralInit) -> ReservoirInit {
        ReservoirInit {
            n_units: n,
            scalings: crate::init::Scalings {
                omega: 0.7,
                beta: 0.1,
                rho: 0.9,
            },
            spectral,
        }
    }

    fn conn(density: f64, input_density: f64) -> Connectivity {
        Connectivity {
            density,
            input_density,
        }
    }

    fn nnz(w: &Array2<f32>) -> usize {
        w.iter().filter(|&&v| v != 0.0).count()
    }

    #[test]
    fn density_one_is_the_dense_draw_and_leaves_the_generator_where_it_leaves_it() {
        for spectral in [SpectralInit::CircularLaw, SpectralInit::Exact] {
            let (mut a, mut b) = (rng_from_seed(1), rng_from_seed(1));
            let sparse = Connectivity::default()
                .draw(&init(30, spectral), 2, &mut a)
                .unwrap();
            assert_eq!(sparse, init(30, spectral).draw(2, &mut b).unwrap());
            assert_eq!(a.random::<u64>(), b.random::<u64>());
        }
    }

    #[test]
    fn a_sparse_recurrent_kernel_keeps_the_dense_input_weights() {
        let dense = init(30, SpectralInit::CircularLaw)
            .draw(3, &mut rng_from_seed(2))
            .unwrap();
        let sparse = conn(0.2, 1.0)
            .draw(
                &init(30, SpectralInit::CircularLaw),
                3,
                &mut rng_from_seed(2),
            )
            .unwrap();
        assert_eq!(sparse.w_in, dense.w_in);
        assert_ne!(sparse.w_rec, dense.w_rec);
    }

    #[test]
    fn kernels_keep_the_stated_number_of_weights() {
        let c = conn(0.1, 0.25);
        let w = c
            .draw(&init(40, SpectralInit::Exact), 3, &mut rng_from_seed(3))
            .unwrap();
        assert_eq!(nnz(&w.w_rec), 160);
        assert_eq!(c.recurrent_weights(40), 160);
        for row in w.w_in.rows() {
            assert_eq!(row.iter().filter(|&&v| v != 0.0).count(), 10);
        }
        assert_eq!(c.n_weights(3, 40), 160 + 30);
        assert_eq!(Connectivity::default().n_weights(3, 40), 1600 + 120);
        // At least one connection, however small the density.
        assert_eq!(conn(1e-9, 1e-9).n_weights(1, 5), 2);
        let w = conn(1e-9, 1e-9)
            .draw(
                &init(5, SpectralInit::CircularLaw),
                1,
                &mut rng_from_seed(3),
            )
            .unwrap();
        assert_eq!((nnz(&w.w_rec), nnz(&w.w_in)), (1, 1));
    }

    #[test]
    fn the_exact_scaling_reaches_rho_after_masking() {
        let w = conn(0.1, 1.0)
            .draw(&init(100, SpectralInit::Exact), 1, &mut rng_from_seed(4))
            .unwrap();
        let r = spectral_radius(w.w_rec.mapv(f64::from).view()).unwrap();
        assert!((r - 0.9).abs() < 1e-6, "{r}");
    }

    #[test]
    fn the_circular_law_scaling_puts_the_radius_near_rho() {
        // N = 200 at density 0.1: some 20 connections per unit, enough for the law at the tolerance of the dense
        // test (init.rs).
        let radii: Vec<f64> = (0..8)
            .map(|seed| {
                let w = conn(0.1, 1.0)
                    .draw(
                        &init(200, SpectralInit::CircularLaw),
                        1,
                        &mut rng_from_seed(seed),
                    )
                    .unwrap();
                spectral_radius(w.w_rec.mapv(f64::from).view()).unwrap()
            })
            .collect();
        assert!(radii.iter().all(|r| (r - 0.9).abs() < 0.2), "{radii:?}");
        let mean = radii.iter().sum::<f64>() / radii.len() as f64;
        assert!((mean - 0.9).abs() < 0.1, "{mean}");
    }

    #[test]
    fn densities_outside_zero_one_are_refused() {
        for c in [
            conn(0.0, 1.0),
            conn(1.5, 1.0),
            conn(0.5, -0.1),
            conn(f64::NAN, 1.0),
        ] {
            assert!(c.check().is_err(), "{c:?}");
            assert!(c
                .draw(
                    &init(5, SpectralInit::CircularLaw),
                    1,
                    &mut rng_from_seed(0)
                )
                .is_err());
        }
        assert!(!conn(0.5, 1.0).is_dense() && Connectivity::default().is_dense());
    }
}
