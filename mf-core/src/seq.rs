//! Batches of variable-length series and their targets, shared by the reservoir and trainable models.

use ndarray::{Array2, Array3, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// A batch of multivariate series of possibly different lengths.
///
/// `x` has shape `(n_series, max_len, n_inputs)`; series `i` occupies `x[i, ..lengths[i], ..]` and whatever lies after
/// its length (NaN when it comes from `mf-data`) is never read by any model.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequences {
    /// Values, `(n_series, max_len, n_inputs)`.
    pub x: Array3<f32>,
    /// Length of each series, each in `1..=max_len`.
    pub lengths: Vec<usize>,
}

impl Sequences {
    /// Checks that there is one length per series and that every length is in `1..=max_len`.
    pub fn new(x: Array3<f32>, lengths: Vec<usize>) -> Result<Self, CoreError> {
        let (n, t, _) = x.dim();
        if lengths.len() != n {
            return Err(CoreError::Shape {
                what: "lengths".into(),
                expected: format!("{n} entries"),
                got: format!("{}", lengths.len()),
            });
        }
        if let Some((i, &l)) = lengths.iter().enumerate().find(|(_, &l)| l == 0 || l > t) {
            return Err(CoreError::Shape {
                what: format!("length of series {i}"),
                expected: format!("1..={t}"),
                got: format!("{l}"),
            });
        }
        Ok(Self { x, lengths })
    }

    /// Equal-length series: every length is `max_len`.
    pub fn full(x: Array3<f32>) -> Self {
        let (n, t, _) = x.dim();
        Self {
            x,
            lengths: vec![t; n],
        }
    }

    /// Number of series.
    pub fn n_series(&self) -> usize {
        self.x.dim().0
    }

    /// Longest length the array holds.
    pub fn max_len(&self) -> usize {
        self.x.dim().1
    }

    /// Number of input dimensions.
    pub fn n_inputs(&self) -> usize {
        self.x.dim().2
    }

    /// The series at `indices`, in that order, trimmed to the longest of them.
    pub fn select(&self, indices: &[usize]) -> Self {
        let t = indices
            .iter()
            .map(|&i| self.lengths[i])
            .max()
            .unwrap_or(0)
            .max(1);
        let d = self.n_inputs();
        let mut x = Array3::<f32>::from_elem((indices.len(), t, d), f32::NAN);
        for (k, &i) in indices.iter().enumerate() {
            let l = self.lengths[i];
            x.slice_mut(ndarray::s![k, ..l, ..])
                .assign(&self.x.slice(ndarray::s![i, ..l, ..]));
        }
        Self {
            x,
            lengths: indices.iter().map(|&i| self.lengths[i]).collect(),
        }
    }

    /// Series `i` alone, `(lengths[i], n_inputs)`.
    pub fn series(&self, i: usize) -> ArrayView2<'_, f32> {
        self.x.slice(ndarray::s![i, ..self.lengths[i], ..])
    }
}

/// What a model is asked to predict for each series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// A class index per series, in `0..n_classes`.
    Classes {
        /// Class index of each series.
        labels: Vec<usize>,
        /// Number of classes of the task (may exceed the classes present in a subset).
        n_classes: usize,
    },
    /// Real-valued targets, `(n_series, n_outputs)`.
    Values(Array2<f64>),
}

impl Targets {
    /// Number of series the targets describe.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values(v) => v.nrows(),
        }
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Self {
        match self {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
            },
            Targets::Values(v) => Targets::Values(v.select(ndarray::Axis(0), indices)),
        }
    }
}

/// Accuracy of predicted class indices against true ones.
pub fn accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    assert_eq!(
        pred.len(),
        truth.len(),
        "accuracy: prediction and truth differ in length"
    );
    if truth.is_empty() {
        return f64::NAN;
    }
    pred.iter().zip(truth).filter(|(p, t)| p == t).count() as f64 / truth.len() as f64
}

/// Root mean squared error over every entry of two equally shaped arrays.
pub fn rmse(pred: &Array2<f64>, truth: &Array2<f64>) -> f64 {
    assert_eq!(
        pred.dim(),
        truth.dim(),
        "rmse: prediction and truth differ in shape"
    );
    let n = pred.len() as f64;
    ((pred - truth).mapv(|e| e * e).sum() / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn lengths_out_of_range_are_rejected() {
        let x = Array3::<f32>::zeros((2, 3, 1));
        assert!(Sequences::new(x.clone(), vec![3, 0]).is_err());
        assert!(Sequences::new(x.clone(), vec![3, 4]).is_err());
        assert!(Sequences::new(x.clone(), vec![3]).is_err());
        assert!(Sequences::new(x, vec![1, 3]).is_ok());
    }

    #[test]
    fn select_trims_to_the_longest_chosen_series() {
        let mut x = Array3::<f32>::zeros((3, 4, 1));
        x[[2, 1, 0]] = 5.0;
        let s = Sequences::new(x, vec![4, 1, 2]).unwrap().select(&[2, 1]);
        assert_eq!(s.x.dim(), (2, 2, 1));
        assert_eq!(s.lengths, vec![2, 1]);
        assert_eq!(s.x[[0, 1, 0]], 5.0);
        assert!(s.x[[1, 1, 0]].is_nan());
    }

    #[test]
    fn metrics_match_hand_computation() {
        assert_eq!(accuracy(&[0, 1, 2, 2], &[0, 1, 1, 2]), 0.75);
        let p = array![[1.0], [2.0]];
        let t = array![[0.0], [4.0]];
        assert!((rmse(&p, &t) - (2.5f64).sqrt()).abs() < 1e-12);
    }
}
