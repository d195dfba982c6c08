//! Input normalisation: how the values of every input dimension are scaled before they reach the recurrent
//! layer.
//!
//! The MF cell's update (paper Sec. III, Eq. 4) passes its pre-activation through the device's switching
//! rates, which saturate within a few units: a data set whose values run into the thousands drives every unit to
//! the same state, whatever the series. [`Normalise::Zscore`] takes each input dimension to mean 0 and standard
//! deviation 1 with the statistics of the series the model is fitted on, and scales every other series (the
//! validation part, the test split, new series given to a saved model) with those same statistics.
//!
//! The statistics are f64 sums over every time step inside each series (steps after a series' end are not
//! read; a value missing inside a series counts as its linear interpolation, the value the model sees), over
//! all the series fitted on: the fit part during model selection, the whole training split in the final trials,
//! `mf run` and `mf fit`. The standard deviation is the population one. A dimension whose standard deviation is
//! zero (constant over the training series) cannot be scaled and is an error naming the dimension: scaling only
//! some dimensions would leave the model's inputs on mixed scales without the user knowing.

use std::fmt;
use std::str::FromStr;

use mf_core::Sequences;
use serde::{Deserialize, Serialize};

use crate::LabError;

/// Which input normalisation a model gets. Default [`Normalise::None`]: the inputs as the data set writes them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Normalise {
    /// The values as the data set holds them (the paper's setting).
    #[default]
    None,
    /// Per input dimension, minus the training series' mean, divided by their standard deviation.
    Zscore,
}

impl Normalise {
    /// The accepted names, as written in specs and on the command line.
    pub const NAMES: [&'static str; 2] = ["none", "zscore"];

    /// Whether this is [`Normalise::None`] (used to leave the field out of specs and jobs that do not set it,
    /// so their hashes stay what they were).
    pub fn is_none(&self) -> bool {
        *self == Normalise::None
    }

    /// The name as written in specs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Normalise::None => "none",
            Normalise::Zscore => "zscore",
        }
    }

    /// The scaling that this method fits on the training series `train`: None for [`Normalise::None`].
    pub fn fit(self, train: &Sequences) -> Result<Option<InputScaling>, LabError> {
        match self {
            Normalise::None => Ok(None),
            Normalise::Zscore => InputScaling::zscore(train).map(Some),
        }
    }
}

impl fmt::Display for Normalise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Normalise {
    type Err = LabError;
    /// `none` or `zscore` (case-insensitive; `z-score` too).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Normalise::None),
            "zscore" | "z-score" => Ok(Normalise::Zscore),
            _ => Err(LabError::InvalidParams(format!(
                "unknown normalisation `{s}` (expected {})",
                Normalise::NAMES.join(" or ")
            ))),
        }
    }
}

/// A fitted input scaling: value `v` of dimension `d` becomes `(v - mean[d]) / std[d]`, computed in f64 and
/// rounded to f32. Saved in a model's description, so a saved model scales new series as it scaled its
/// training series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputScaling {
    /// The method: [`Normalise::Zscore`].
    pub method: Normalise,
    /// Mean of each input dimension over the training series.
    pub mean: Vec<f64>,
    /// Population standard deviation of each input dimension over the training series, each positive.
    pub std: Vec<f64>,
}

impl InputScaling {
    /// The z-score statistics of `train`: f64 mean and population standard deviation of each input dimension
    /// over every time step inside each series (two passes, series and steps in order, so the same data give
    /// the same bits). A dimension with zero or non-finite standard deviation is an error naming it.
    pub fn zscore(train: &Sequences) -> Result<InputScaling, LabError> {
        let d = train.n_inputs();
        let mut count = 0usize;
        let mut sum = vec![0.0f64; d];
        let each = |f: &mut dyn FnMut(usize, f64)| {
            for (i, &len) in train.lengths.iter().enumerate() {
                for t in 0..len {
                    for k in 0..d {
                        f(k, f64::from(train.x[[i, t, k]]));
                    }
                }
            }
        };
        each(&mut |k, v| {
            sum[k] += v;
            if k == 0 {
                count += 1;
            }
        });
        if count == 0 || d == 0 {
            return Err(LabError::InvalidData(
                "z-score normalisation needs at least one time step and one input dimension".into(),
            ));
        }
        let n = count as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let mut sq = vec![0.0f64; d];
        each(&mut |k, v| sq[k] += (v - mean[k]).powi(2));
        let std: Vec<f64> = sq.iter().map(|s| (s / n).sqrt()).collect();
        for k in 0..d {
            if !mean[k].is_finite() || !std[k].is_finite() {
                return Err(LabError::InvalidData(format!(
                    "z-score normalisation: input dimension {} has mean {} and standard deviation {} over the \
                     training series; its values are too large to scale",
                    k + 1,
                    mean[k],
                    std[k]
                )));
            }
            if std[k] == 0.0 {
                return Err(LabError::InvalidData(format!(
                    "z-score normalisation: input dimension {} is constant ({}) over the training series, so \
                     its standard deviation is 0 and it cannot be scaled; use normalisation none",
                    k + 1,
                    mean[k]
                )));
            }
        }
        Ok(InputScaling {
            method: Normalise::Zscore,
            mean,
            std,
        })
    }

    /// Input dimensions the scaling is for.
    pub fn n_inputs(&self) -> usize {
        self.mean.len()
    }

    /// Why the scaling cannot be used, if it cannot: another method than z-score, lengths that differ from
    /// `n_inputs`, a non-finite mean, or a standard deviation that is not positive and finite.
    pub fn check(&self, n_inputs: usize) -> Result<(), String> {
        if self.method != Normalise::Zscore {
            return Err(format!(
                "normalise.method is `{}`, but a stored scaling must be `zscore`",
                self.method
            ));
        }
        if self.mean.len() != n_inputs || self.std.len() != n_inputs {
            return Err(format!(
                "normalise has {} means and {} standard deviations, but the model takes {n_inputs} input \
                 dimensions",
                self.mean.len(),
                self.std.len()
            ));
        }
        if let Some(k) = self.mean.iter().position(|m| !m.is_finite()) {
            return Err(format!(
                "normalise.mean of dimension {} is not finite",
                k + 1
            ));
        }
        if let Some(k) = self.std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(format!(
                "normalise.std of dimension {} is {}, not positive",
                k + 1,
                self.std[k]
            ));
        }
        Ok(())
    }

    /// Value `v` of dimension `k`, scaled.
    #[inline]
    fn scale(&self, k: usize, v: f32) -> f32 {
        ((f64::from(v) - self.mean[k]) / self.std[k]) as f32
    }

    /// `seqs` scaled: every value inside each series; the padding after a series' end stays as it is. A scaled
    /// value that is not finite (a value far outside the training range) is an error naming the series
    /// (1-based), its time step (1-based) and input dimension (1-based).
    pub fn apply(&self, seqs: &Sequences) -> Result<Sequences, LabError> {
        if seqs.n_inputs() != self.n_inputs() {
            return Err(LabError::InvalidData(format!(
                "the series have {} input dimensions, but the normalisation was fitted on {}",
                seqs.n_inputs(),
                self.n_inputs()
            )));
        }
        let mut x = seqs.x.clone();
        for (i, &len) in seqs.lengths.iter().enumerate() {
            for t in 0..len {
                for k in 0..self.n_inputs() {
                    let v = &mut x[[i, t, k]];
                    let s = self.scale(k, *v);
                    if !s.is_finite() {
                        return Err(LabError::InvalidData(format!(
                            "series {}, step {}, dimension {}: {} becomes {s} after z-score normalisation \
                             (mean {}, standard deviation {})",
                            i + 1,
                            t + 1,
                            k + 1,
                            *v,
                            self.mean[k],
                            self.std[k]
                        )));
                    }
                    *v = s;
                }
            }
        }
        Ok(Sequences {
            x,
            lengths: seqs.lengths.clone(),
        })
    }

    /// One time step `x` (one value per input dimension) scaled as [`InputScaling::apply`] scales it, bit for
    /// bit. Err gives the 0-based dimension whose scaled value is not finite, and that value.
    pub fn apply_sample(&self, x: &[f32]) -> Result<Vec<f32>, (usize, f32)> {
        x.iter()
            .enumerate()
            .map(|(k, &v)| {
                let s = self.scale(k, v);
                if s.is_finite() {
                    Ok(s)
                } else {
                    Err((k, s))
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    /// Two series of 2 dimensions with lengths 3 and 2; the padding holds a value that must not count.
    fn seqs() -> Sequences {
        let mut x = Array3::zeros((2, 3, 2));
        let v = [
            [[1.0, 10.0], [2.0, 30.0], [6.0, 20.0]],
            [[3.0, 50.0], [-2.0, 40.0], [999.0, 999.0]],
        ];
        for i in 0..2 {
            for t in 0..3 {
                for k in 0..2 {
                    x[[i, t, k]] = v[i][t][k];
                }
            }
        }
        Sequences::new(x, vec![3, 2]).unwrap()
    }

    #[test]
    fn zscore_statistics_are_those_of_the_steps_inside_the_series() {
        let s = InputScaling::zscore(&seqs()).unwrap();
        // Dimension 1: 1, 2, 6, 3, -2 (mean 2, squares 1 + 0 + 16 + 1 + 16 = 34); dimension 2: 10..50 (mean 30,
        // squares 400 + 0 + 100 + 400 + 100 = 1000). The padded 999 is not among them.
        assert_eq!(s.mean, [2.0, 30.0]);
        assert_eq!(s.std, [(34.0f64 / 5.0).sqrt(), 200.0f64.sqrt()]);
        let z = s.apply(&seqs()).unwrap();
        assert_eq!(z.x[[0, 2, 0]], ((6.0 - 2.0) / (6.8f64).sqrt()) as f32);
        assert_eq!(z.x[[1, 2, 0]], 999.0, "padding is left alone");
        // One sample scales to the same bits as the batch.
        let row = [seqs().x[[1, 1, 0]], seqs().x[[1, 1, 1]]];
        let batch = vec![z.x[[1, 1, 0]], z.x[[1, 1, 1]]];
        assert_eq!(s.apply_sample(&row).unwrap(), batch);
    }

    #[test]
    fn a_constant_dimension_is_an_error_naming_it() {
        let mut x = seqs().x;
        x.index_axis_mut(ndarray::Axis(2), 1).fill(4.0);
        let e = InputScaling::zscore(&Sequences::new(x, vec![3, 2]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("input dimension 2 is constant (4)")
                && e.ends_with("use normalisation none"),
            "{e}"
        );
    }

    #[test]
    fn scaled_values_that_overflow_name_series_step_and_dimension() {
        let s = InputScaling {
            method: Normalise::Zscore,
            mean: vec![0.0, 0.0],
            std: vec![1.0, 1e-300],
        };
        let e = s.apply(&seqs()).unwrap_err().to_string();
        assert!(
            e.starts_with("series 1, step 1, dimension 2: 10 becomes inf"),
            "{e}"
        );
        assert_eq!(s.apply_sample(&[1.0, 1.0]).unwrap_err().0, 1);
        // Tiny but positive is a valid scaling; zero, or another number of dimensions, is not.
        assert_eq!(s.check(2), Ok(()));
        assert!(s.check(3).unwrap_err().contains("the model takes 3"));
        let zero = InputScaling {
            std: vec![1.0, 0.0],
            ..s
        };
        assert_eq!(
            zero.check(2).unwrap_err(),
            "normalise.std of dimension 2 is 0, not positive"
        );
    }

    #[test]
    fn names_parse_and_unknown_ones_list_the_accepted() {
        assert_eq!("zscore".parse::<Normalise>().unwrap(), Normalise::Zscore);
        assert_eq!("None".parse::<Normalise>().unwrap(), Normalise::None);
        let e = "minmax".parse::<Normalise>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown normalisation `minmax` (expected none or zscore)"
        );
        for n in [Normalise::None, Normalise::Zscore] {
            assert_eq!(n.to_string().parse::<Normalise>().unwrap(), n);
        }
    }
}
