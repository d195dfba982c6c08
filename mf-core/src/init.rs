//! Reservoir initialisers (paper Secs. III and IV-A; the circular-law scaling is the fast spectral-radius
//! initialisation of the paper's Ref. 47, cited in Sec. VI).

use ndarray::{Array1, Array2};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::linalg::spectral_radius;
use crate::{CoreError, Weights};

pub use crate::linalg::uniform_matrix;

/// How the recurrent kernel reaches its spectral radius `rho`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpectralInit {
    /// Uniform in `(-v, v)` with `v = rho * sqrt(3) / sqrt(N)`: by the circular law the spectral radius is close to
    /// `rho` without an eigen-solve (the paper's Ref. 47, cited in Sec. VI). The authors' reference implementation's
    /// choice, and the default.
    #[default]
    CircularLaw,
    /// Uniform in `(-1, 1)`, then rescaled so that the spectral radius is exactly `rho` (the paper's text, Secs. III
    /// and IV-A).
    Exact,
}

/// The three scalings of a random reservoir (paper Secs. III and IV-A, Table III), declared once for the
/// initialiser, the reservoir models' configuration and the hybrid MF-RNN's start. Serialised flat into each of
/// them (`#[serde(flatten)]`), so their descriptions keep the keys `omega`, `beta`, `rho`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scalings {
    /// Input scaling `omega`: `W_x ~ U(-omega, omega)`.
    pub omega: f64,
    /// Bias scaling `beta`: `bias ~ U(-beta, beta)` (0 gives a zero bias).
    pub beta: f64,
    /// Spectral radius `rho` of the recurrent kernel.
    pub rho: f64,
}

impl Scalings {
    /// The MF-ESN's defaults (Table III): `omega = 1`, `beta = 0.001`, `rho = 0.9`.
    pub const MF_ESN: Scalings = Scalings {
        omega: 1.0,
        beta: 0.001,
        rho: 0.9,
    };
    /// The leaky ESN's defaults (Table III): `omega = 1`, `beta = 0.1`, `rho = 0.99`.
    pub const ESN: Scalings = Scalings {
        omega: 1.0,
        beta: 0.1,
        rho: 0.99,
    };

    /// Each scaling by its name, in the order of the declaration.
    pub fn named(&self) -> [(&'static str, f64); 3] {
        [
            ("omega", self.omega),
            ("beta", self.beta),
            ("rho", self.rho),
        ]
    }

    /// Fails on the first scaling that is negative or not finite, naming it.
    pub fn check(&self) -> Result<(), CoreError> {
        for (name, v) in self.named() {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(CoreError::Param {
                    name,
                    value: v,
                    reason: "must be non-negative and finite",
                });
            }
        }
        Ok(())
    }
}

/// A random reservoir's size and scalings (paper Sec. III and Table III).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservoirInit {
    /// Number of recurrent units `N`. The paper uses 100.
    pub n_units: usize,
    /// Input, bias and spectral scalings.
    #[serde(flatten)]
    pub scalings: Scalings,
    /// How `rho` is reached; circular law by default.
    #[serde(default)]
    pub spectral: SpectralInit,
}

impl ReservoirInit {
    /// Checks that there is a unit and that every scaling is non-negative and finite.
    pub fn check(&self) -> Result<(), CoreError> {
        if self.n_units == 0 {
            return Err(CoreError::Param {
                name: "n_units",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        self.scalings.check()
    }

    /// Draws `w_in`, `w_rec`, `bias` in that order from `rng`.
    pub fn draw<R: Rng + ?Sized>(
        &self,
        n_inputs: usize,
        rng: &mut R,
    ) -> Result<Weights<f32>, CoreError> {
        self.check()?;
        let n = self.n_units;
        let w_in = uniform_matrix(n_inputs, n, self.scalings.omega, rng);
        let w_rec = self.draw_recurrent(rng)?;
        let bias: Array1<f64> = uniform_matrix(1, n, self.scalings.beta, rng)
            .row(0)
            .to_owned();
        Ok(Weights {
            w_in: w_in.mapv(|v| v as f32),
            w_rec: w_rec.mapv(|v| v as f32),
            bias: bias.mapv(|v| v as f32),
        })
    }

    /// The dense recurrent kernel `(n_units, n_units)` in f64, as [`ReservoirInit::draw`] draws it.
    pub(crate) fn draw_recurrent<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<Array2<f64>, CoreError> {
        let n = self.n_units;
        Ok(match self.spectral {
            SpectralInit::CircularLaw => uniform_matrix(
                n,
                n,
                self.scalings.rho * 3f64.sqrt() / (n as f64).sqrt(),
                rng,
            ),
            SpectralInit::Exact => {
                let w = uniform_matrix(n, n, 1.0, rng);
                let r = spectral_radius(w.view())?;
                if r == 0.0 {
                    w
                } else {
                    w * (self.scalings.rho / r)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;

    fn init(spectral: SpectralInit) -> ReservoirInit {
        ReservoirInit {
            n_units: 100,
            scalings: crate::init::Scalings {
                omega: 1.0,
                beta: 0.1,
                rho: 0.9,
            },
            spectral,
        }
    }

    #[test]
    fn exact_init_reaches_the_spectral_radius() {
        let w = init(SpectralInit::Exact)
            .draw(3, &mut rng_from_seed(1))
            .unwrap();
        let r = spectral_radius(w.w_rec.mapv(f64::from).view()).unwrap();
        // The kernel is stored in f32, so the radius is exact up to f32 rounding of the entries.
        assert!((r - 0.9).abs() < 1e-6, "{r}");
    }

    #[test]
    fn circular_law_init_is_near_the_spectral_radius() {
        // At N = 100 the radius of an i.i.d. matrix fluctuates by some 10% around the circular-law value, so each
        // draw gets a loose tolerance and their mean a tighter one.
        let radii: Vec<f64> = (0..10)
            .map(|seed| {
                let w = init(SpectralInit::CircularLaw)
                    .draw(1, &mut rng_from_seed(seed))
                    .unwrap();
                spectral_radius(w.w_rec.mapv(f64::from).view()).unwrap()
            })
            .collect();
        assert!(radii.iter().all(|r| (r - 0.9).abs() < 0.2), "{radii:?}");
        let mean = radii.iter().sum::<f64>() / radii.len() as f64;
        assert!((mean - 0.9).abs() < 0.1, "{mean}");
    }

    #[test]
    fn draws_have_the_documented_shapes_and_ranges() {
        let w = init(SpectralInit::CircularLaw)
            .draw(3, &mut rng_from_seed(2))
            .unwrap();
        assert_eq!(w.w_in.dim(), (3, 100));
        assert_eq!(w.w_rec.dim(), (100, 100));
        assert_eq!(w.bias.len(), 100);
        assert!(w.w_in.iter().all(|v| v.abs() <= 1.0) && w.bias.iter().all(|v| v.abs() <= 0.1));
        let v = (0.9 * 3f64.sqrt() / 10.0) as f32;
        assert!(w.w_rec.iter().all(|x| x.abs() <= v));
        let mut zero_bias = init(SpectralInit::CircularLaw);
        zero_bias.scalings.beta = 0.0;
        assert!(zero_bias
            .draw(1, &mut rng_from_seed(2))
            .unwrap()
            .bias
            .iter()
            .all(|&b| b == 0.0));
    }

    #[test]
    fn same_seed_draws_the_same_reservoir() {
        let a = init(SpectralInit::Exact)
            .draw(2, &mut rng_from_seed(5))
            .unwrap();
        let b = init(SpectralInit::Exact)
            .draw(2, &mut rng_from_seed(5))
            .unwrap();
        assert_eq!(a, b);
    }
}
