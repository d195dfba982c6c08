//! Closed-form ridge regression and the ridge classifier (paper Sec. VI: closed form, Tikhonov `lambda = 1`), in f64.
//! The classifier's `+1/-1` targets follow the authors' reference implementation (scikit-learn's `RidgeClassifier`).
//!
//! The objective is `||Y - X W - 1 c'||^2 + lambda ||W||^2` with an unpenalised intercept `c`. Centring `X` and `Y`
//! removes `c`; what remains is `(X_c'X_c + lambda I) W = X_c'Y_c`.
//!
//! Reservoir states are strongly correlated, so `X_c'X_c` alone can be singular; with `lambda > 0` the regulariser
//! bounds the condition number of `G = X_c'X_c + lambda I` by `(trace(X_c'X_c) + lambda) / lambda`. When that bound is
//! at most [`NORMAL_EQUATIONS_MAX_COND`] (the paper's `lambda = 1` on states in `[0, 1]` gives about `10^4`), `G` is
//! solved by a Cholesky factorisation (relative error below about `bound * 1e-16`); otherwise (`lambda = 0` or tiny)
//! the augmented least-squares problem `[X_c; sqrt(lambda) I] W = [Y_c; 0]` is solved by a column-pivoted QR
//! factorisation, which works with the condition number of the augmented matrix itself. The Cholesky route is the
//! fast one: a `p x p` Gram product and factorisation instead of an unblocked pivoted QR of `(n + p) x p`.

use faer::linalg::matmul::matmul;
use faer::prelude::{Solve, SolveLstsq};
use faer::{Accum, Mat, MatRef, Par, Side};
use linfa::dataset::DatasetBase;
use linfa::traits::{Fit, PredictInplace};
use linfa::ParamGuard;
use ndarray::{Array1, Array2, ArrayBase, ArrayView2, Axis, Data, Ix2};
use serde::{Deserialize, Serialize};

use crate::EsnError;

/// Unchecked ridge hyper-parameters; [`ParamGuard::check`] turns them into [`RidgeValidParams`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RidgeParams(RidgeValidParams);

/// Checked ridge hyper-parameters: fit with [`Fit::fit`] on a `DatasetBase<Array2<f64>, Array2<f64>>` (regression)
/// or `DatasetBase<Array2<f64>, Array1<usize>>` (classification).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RidgeValidParams {
    lambda: f64,
}

impl Default for RidgeValidParams {
    fn default() -> Self {
        Self { lambda: 1.0 }
    }
}

impl RidgeParams {
    /// Sets the Tikhonov regularisation `lambda` (>= 0). Default `1` (paper Sec. VI, reference implementation).
    pub fn lambda(mut self, lambda: f64) -> Self {
        self.0.lambda = lambda;
        self
    }
}

impl RidgeValidParams {
    /// The regularisation `lambda`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }
}

pub(crate) fn check_lambda(lambda: f64) -> Result<(), EsnError> {
    if lambda >= 0.0 && lambda.is_finite() {
        Ok(())
    } else {
        Err(EsnError::Param {
            name: "lambda",
            value: lambda,
            reason: "must be non-negative and finite",
        })
    }
}

impl ParamGuard for RidgeParams {
    type Checked = RidgeValidParams;
    type Error = EsnError;

    fn check_ref(&self) -> Result<&Self::Checked, Self::Error> {
        check_lambda(self.0.lambda)?;
        Ok(&self.0)
    }

    fn check(self) -> Result<Self::Checked, Self::Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted multi-output ridge regression: `y = x @ coef + intercept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ridge {
    /// Coefficients, `(n_features, n_outputs)`.
    pub coef: Array2<f64>,
    /// Intercept, `(n_outputs)`.
    pub intercept: Array1<f64>,
    /// The regularisation it was fitted with.
    pub lambda: f64,
}

impl Ridge {
    /// Ridge hyper-parameters with the defaults (`lambda = 1`).
    pub fn params() -> RidgeParams {
        RidgeParams::default()
    }

    /// Fits `y ≈ x @ coef + intercept` with `x` `(n_samples, n_features)` and `y` `(n_samples, n_outputs)`.
    pub fn fit_arrays(
        x: ArrayView2<'_, f64>,
        y: ArrayView2<'_, f64>,
        lambda: f64,
    ) -> Result<Self, EsnError> {
        check_lambda(lambda)?;
        let (n, p) = x.dim();
        let q = y.ncols();
        if y.nrows() != n {
            return Err(EsnError::Shape {
                what: "ridge targets rows".into(),
                expected: n.to_string(),
                got: y.nrows().to_string(),
            });
        }
        if n == 0 {
            return Err(EsnError::Targets("ridge needs at least one sample".into()));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: "ridge design matrix".into(),
            });
        }
        if y.iter().any(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: "ridge targets".into(),
            });
        }
        let x_mean = x.mean_axis(Axis(0)).expect("n > 0");
        let y_mean = y.mean_axis(Axis(0)).expect("n > 0");
        let xc = Mat::<f64>::from_fn(n, p, |i, j| x[[i, j]] - x_mean[j]);
        let yc = Mat::<f64>::from_fn(n, q, |i, j| y[[i, j]] - y_mean[j]);
        let sol = match normal_equations(xc.as_ref(), yc.as_ref(), lambda) {
            Some(sol) => sol,
            None => augmented_qr(xc.as_ref(), yc.as_ref(), lambda),
        };
        let coef = Array2::from_shape_fn((p, q), |(i, j)| sol[(i, j)]);
        if coef.iter().any(|v| !v.is_finite()) {
            return Err(EsnError::NonFinite {
                what: "ridge coefficients".into(),
            });
        }
        let intercept = &y_mean - &x_mean.dot(&coef);
        Ok(Self {
            coef,
            intercept,
            lambda,
        })
    }

    /// Predictions `x @ coef + intercept`, `(n_samples, n_outputs)`.
    pub fn decision<D: Data<Elem = f64>>(&self, x: &ArrayBase<D, Ix2>) -> Array2<f64> {
        x.dot(&self.coef) + &self.intercept
    }
}

/// The largest bound `(trace(X_c'X_c) + lambda) / lambda` on the condition number of `X_c'X_c + lambda I` for
/// which the ridge solves the normal equations by Cholesky (relative error below about `1e-8`); above it, and for
/// `lambda = 0`, it takes the pivoted QR of the augmented matrix.
pub const NORMAL_EQUATIONS_MAX_COND: f64 = 1e8;

/// `(X_c'X_c + lambda I)^-1 X_c'Y_c` by Cholesky, or `None` when `lambda` is too small for it to be accurate (see
/// [`NORMAL_EQUATIONS_MAX_COND`]) or the factorisation fails. Products run on the calling thread.
fn normal_equations(xc: MatRef<'_, f64>, yc: MatRef<'_, f64>, lambda: f64) -> Option<Mat<f64>> {
    if lambda <= 0.0 {
        return None;
    }
    let p = xc.ncols();
    let mut g = Mat::<f64>::zeros(p, p);
    matmul(
        g.as_mut(),
        Accum::Replace,
        xc.transpose(),
        xc,
        1.0,
        Par::Seq,
    );
    // trace(X_c'X_c) is the Gram matrix's diagonal: no second pass over the states.
    let trace: f64 = (0..p).map(|i| g[(i, i)]).sum();
    if (trace + lambda) / lambda > NORMAL_EQUATIONS_MAX_COND {
        return None;
    }
    for i in 0..p {
        g[(i, i)] += lambda;
    }
    let mut rhs = Mat::<f64>::zeros(p, yc.ncols());
    matmul(
        rhs.as_mut(),
        Accum::Replace,
        xc.transpose(),
        yc,
        1.0,
        Par::Seq,
    );
    let llt = g.llt(Side::Lower).ok()?;
    Some(llt.solve(&rhs))
}

/// The least-squares solution of `[X_c; sqrt(lambda) I] W = [Y_c; 0]` by column-pivoted QR.
fn augmented_qr(xc: MatRef<'_, f64>, yc: MatRef<'_, f64>, lambda: f64) -> Mat<f64> {
    let (n, p) = xc.shape();
    let sl = lambda.sqrt();
    let a = Mat::<f64>::from_fn(n + p, p, |i, j| {
        if i < n {
            xc[(i, j)]
        } else if i - n == j {
            sl
        } else {
            0.0
        }
    });
    let b = Mat::<f64>::from_fn(
        n + p,
        yc.ncols(),
        |i, j| if i < n { yc[(i, j)] } else { 0.0 },
    );
    a.col_piv_qr().solve_lstsq(&b)
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array2<f64>, EsnError> for RidgeValidParams {
    type Object = Ridge;

    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array2<f64>>,
    ) -> Result<Ridge, EsnError> {
        Ridge::fit_arrays(dataset.records.view(), dataset.targets.view(), self.lambda)
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array2<f64>> for Ridge {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array2<f64>) {
        assert_eq!(
            y.dim(),
            (x.nrows(), self.coef.ncols()),
            "ridge: output array has the wrong shape"
        );
        y.assign(&self.decision(x));
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array2<f64> {
        Array2::zeros((x.nrows(), self.coef.ncols()))
    }
}

/// Ridge classification with `+1/-1` targets, scikit-learn's `RidgeClassifier` semantics.
///
/// The classes seen in training are sorted. With two of them a single column is fitted, the second (larger) class
/// coded `+1`, and a positive decision value predicts it. With more, one column per class is fitted and the
/// prediction is the first column of largest decision value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeClassifier {
    /// The regression on the `+1/-1` codes.
    pub ridge: Ridge,
    /// The sorted class indices seen in training; column `k` of a multi-class decision is `classes[k]`.
    pub classes: Vec<usize>,
}

impl RidgeClassifier {
    /// Fits on `x` `(n_samples, n_features)` and one class index per sample.
    pub fn fit_arrays(
        x: ArrayView2<'_, f64>,
        labels: &[usize],
        lambda: f64,
    ) -> Result<Self, EsnError> {
        if labels.len() != x.nrows() {
            return Err(EsnError::Shape {
                what: "class labels".into(),
                expected: x.nrows().to_string(),
                got: labels.len().to_string(),
            });
        }
        let mut classes = labels.to_vec();
        classes.sort_unstable();
        classes.dedup();
        if classes.is_empty() {
            return Err(EsnError::Targets("no labels to fit".into()));
        }
        let y = encode(labels, &classes);
        let ridge = Ridge::fit_arrays(x, y.view(), lambda)?;
        Ok(Self { ridge, classes })
    }

    /// Decision values, `(n_samples, 1)` for two classes, `(n_samples, n_classes_seen)` otherwise.
    pub fn decision<D: Data<Elem = f64>>(&self, x: &ArrayBase<D, Ix2>) -> Array2<f64> {
        self.ridge.decision(x)
    }

    /// Predicted class index of each row of `x`.
    pub fn predict_classes<D: Data<Elem = f64>>(&self, x: &ArrayBase<D, Ix2>) -> Vec<usize> {
        let d = self.decision(x);
        d.rows()
            .into_iter()
            .map(|r| match self.classes.len() {
                1 => self.classes[0],
                2 => self.classes[usize::from(r[0] > 0.0)],
                _ => {
                    let mut best = 0;
                    for (k, &v) in r.iter().enumerate() {
                        if v > r[best] {
                            best = k;
                        }
                    }
                    self.classes[best]
                }
            })
            .collect()
    }
}

/// LabelBinarizer with `neg_label = -1`: one column (second class positive) for two classes, one per class otherwise.
fn encode(labels: &[usize], classes: &[usize]) -> Array2<f64> {
    let cols = if classes.len() == 2 { 1 } else { classes.len() };
    let mut y = Array2::from_elem((labels.len(), cols), -1.0);
    for (i, l) in labels.iter().enumerate() {
        let k = classes.binary_search(l).expect("label among classes");
        if classes.len() == 2 {
            if k == 1 {
                y[[i, 0]] = 1.0;
            }
        } else {
            y[[i, k]] = 1.0;
        }
    }
    y
}

impl<D: Data<Elem = f64>> Fit<ArrayBase<D, Ix2>, Array1<usize>, EsnError> for RidgeValidParams {
    type Object = RidgeClassifier;

    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, Array1<usize>>,
    ) -> Result<RidgeClassifier, EsnError> {
        let labels = dataset.targets.to_vec();
        RidgeClassifier::fit_arrays(dataset.records.view(), &labels, self.lambda)
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for RidgeClassifier {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        assert_eq!(
            y.len(),
            x.nrows(),
            "ridge classifier: output array has the wrong length"
        );
        y.assign(&Array1::from(self.predict_classes(x)));
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::traits::Predict;
    use ndarray::{array, Array};
    use rand::{Rng, SeedableRng};

    fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Array::from_shape_simple_fn((rows, cols), || r.random_range(-1.0..1.0))
    }

    /// Gauss-Jordan with partial pivoting: an independent solver for the closed form.
    fn solve(mut a: Array2<f64>, mut b: Array2<f64>) -> Array2<f64> {
        let n = a.nrows();
        for c in 0..n {
            let piv = (c..n)
                .max_by(|&i, &j| a[[i, c]].abs().total_cmp(&a[[j, c]].abs()))
                .unwrap();
            for k in 0..n {
                a.swap([c, k], [piv, k]);
            }
            for k in 0..b.ncols() {
                b.swap([c, k], [piv, k]);
            }
            for r in 0..n {
                if r != c {
                    let f = a[[r, c]] / a[[c, c]];
                    for k in 0..n {
                        a[[r, k]] -= f * a[[c, k]];
                    }
                    for k in 0..b.ncols() {
                        b[[r, k]] -= f * b[[c, k]];
                    }
                }
            }
        }
        for r in 0..n {
            let d = a[[r, r]];
            b.row_mut(r).mapv_inplace(|v| v / d);
        }
        b
    }

    fn centred(a: &Array2<f64>) -> Array2<f64> {
        a - &a.mean_axis(Axis(0)).unwrap()
    }

    fn closed_form(x: &Array2<f64>, y: &Array2<f64>, lambda: f64) -> Array2<f64> {
        let (xc, yc) = (centred(x), centred(y));
        let g = xc.t().dot(&xc) + Array2::<f64>::eye(x.ncols()) * lambda;
        solve(g, xc.t().dot(&yc))
    }

    fn max_abs(a: &Array2<f64>) -> f64 {
        a.iter().fold(0.0, |m, v| m.max(v.abs()))
    }

    #[test]
    fn coefficients_match_the_closed_form_on_well_conditioned_data() {
        for (lambda, seed) in [(1.0, 1), (0.1, 2), (10.0, 3)] {
            let x = random(40, 6, seed);
            let y = random(40, 3, seed + 100);
            let fit = Ridge::fit_arrays(x.view(), y.view(), lambda).unwrap();
            let want = closed_form(&x, &y, lambda);
            assert!(max_abs(&(&fit.coef - &want)) < 1e-10, "lambda {lambda}");
        }
    }

    #[test]
    fn intercept_makes_the_fit_pass_through_the_means() {
        let x = random(30, 4, 5) + 3.0;
        let y = random(30, 2, 6) - 7.0;
        let fit = Ridge::fit_arrays(x.view(), y.view(), 1.0).unwrap();
        let x_mean = x.mean_axis(Axis(0)).unwrap().insert_axis(Axis(0));
        let at_mean = fit.decision(&x_mean);
        let y_mean = y.mean_axis(Axis(0)).unwrap();
        for j in 0..2 {
            assert!((at_mean[[0, j]] - y_mean[j]).abs() < 1e-12);
        }
        // The intercept is not shrunk: an exact affine target with a tiny lambda is recovered offset included.
        let w = array![[0.5], [-1.0], [2.0], [0.0]];
        let y = x.dot(&w) + 42.0;
        let fit = Ridge::fit_arrays(x.view(), y.view(), 1e-10).unwrap();
        assert!((fit.intercept[0] - 42.0).abs() < 1e-6);
        assert!(max_abs(&(&fit.coef - &w)) < 1e-6);
    }

    #[test]
    fn ill_conditioned_states_still_satisfy_the_optimality_condition() {
        // Near-duplicate columns: cond(X_c) ~ 1e8, so the normal equations have cond ~ 1e16 before regularisation.
        let base = random(200, 5, 9);
        let noise = random(200, 5, 10) * 1e-8;
        let x = ndarray::concatenate(ndarray::Axis(1), &[base.view(), (&base + &noise).view()])
            .unwrap();
        let y = random(200, 2, 11);
        for lambda in [1.0, 1e-6] {
            let fit = Ridge::fit_arrays(x.view(), y.view(), lambda).unwrap();
            let (xc, yc) = (centred(&x), centred(&y));
            // Gradient of the objective: X_c'(X_c W - Y_c) + lambda W.
            let grad = xc.t().dot(&(xc.dot(&fit.coef) - &yc)) + &fit.coef * lambda;
            let scale = max_abs(&xc.t().dot(&yc)).max(1.0);
            assert!(
                max_abs(&grad) / scale < 1e-9,
                "lambda {lambda}: relative gradient {}",
                max_abs(&grad) / scale
            );
        }
    }

    #[test]
    fn cholesky_and_pivoted_qr_agree_on_correlated_reservoir_like_states() {
        // 300 states of 100 units in (0, 1) driven by 3 latent signals plus 1e-3 noise: strongly collinear columns,
        // as a reservoir's are.
        let latent = random(300, 3, 31);
        let mix = random(3, 100, 32);
        let x =
            (latent.dot(&mix) * 2.0).mapv(|v| 0.5 + 0.45 * v.tanh()) + random(300, 100, 33) * 1e-3;
        let y = random(300, 4, 34);
        let (xc, yc) = (centred(&x), centred(&y));
        let to_mat = |a: &Array2<f64>| Mat::<f64>::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]]);
        let (xm, ym) = (to_mat(&xc), to_mat(&yc));
        for lambda in [1.0, 1e-2] {
            let chol =
                normal_equations(xm.as_ref(), ym.as_ref(), lambda).expect("well regularised");
            let qr = augmented_qr(xm.as_ref(), ym.as_ref(), lambda);
            let scale = (0..qr.nrows())
                .flat_map(|i| (0..qr.ncols()).map(move |j| (i, j)))
                .fold(0.0f64, |m, (i, j)| m.max(qr[(i, j)].abs()));
            let diff = (0..qr.nrows())
                .flat_map(|i| (0..qr.ncols()).map(move |j| (i, j)))
                .fold(0.0f64, |m, (i, j)| m.max((chol[(i, j)] - qr[(i, j)]).abs()));
            assert!(
                diff <= 1e-9 * scale,
                "lambda {lambda}: {diff} vs scale {scale}"
            );
        }
        // Without enough regularisation the Cholesky route declines and the QR route answers.
        assert!(normal_equations(xm.as_ref(), ym.as_ref(), 0.0).is_none());
        assert!(normal_equations(xm.as_ref(), ym.as_ref(), 1e-12).is_none());
    }

    #[test]
    fn negative_or_nan_lambda_and_nan_data_are_rejected() {
        assert!(Ridge::params().lambda(-1.0).check().is_err());
        assert!(Ridge::params().lambda(f64::NAN).check().is_err());
        let mut x = random(5, 2, 1);
        x[[2, 1]] = f64::NAN;
        let y = random(5, 1, 2);
        assert!(matches!(
            Ridge::fit_arrays(x.view(), y.view(), 1.0),
            Err(EsnError::NonFinite { .. })
        ));
    }

    #[test]
    fn linfa_fit_and_predict_agree_with_the_direct_solve() {
        let x = random(25, 3, 21);
        let y = random(25, 2, 22);
        let ds = DatasetBase::new(x.clone(), y.clone());
        let model: Ridge = Ridge::params()
            .lambda(0.5)
            .check()
            .unwrap()
            .fit(&ds)
            .unwrap();
        let direct = Ridge::fit_arrays(x.view(), y.view(), 0.5).unwrap();
        assert_eq!(model, direct);
        let pred: Array2<f64> = model.predict(&x);
        assert!(max_abs(&(&pred - &(x.dot(&direct.coef) + &direct.intercept))) < 1e-14);
    }

    #[test]
    fn two_classes_use_one_column_with_the_larger_class_positive() {
        let x = random(30, 3, 31);
        let labels: Vec<usize> = (0..30)
            .map(|i| if x[[i, 0]] > 0.0 { 7 } else { 2 })
            .collect();
        let clf = RidgeClassifier::fit_arrays(x.view(), &labels, 1.0).unwrap();
        assert_eq!(clf.classes, vec![2, 7]);
        assert_eq!(clf.ridge.coef.ncols(), 1);
        // The single column is the regression on +1 for class 7 and -1 for class 2.
        let codes =
            Array2::from_shape_fn((30, 1), |(i, _)| if labels[i] == 7 { 1.0 } else { -1.0 });
        let reg = Ridge::fit_arrays(x.view(), codes.view(), 1.0).unwrap();
        assert!(max_abs(&(&clf.ridge.coef - &reg.coef)) < 1e-12);
        let d = clf.decision(&x);
        let pred = clf.predict_classes(&x);
        for i in 0..30 {
            assert_eq!(pred[i], if d[[i, 0]] > 0.0 { 7 } else { 2 });
        }
        assert!(pred.iter().zip(&labels).filter(|(a, b)| a == b).count() >= 27);
    }

    #[test]
    fn three_classes_use_argmax_over_one_column_per_class() {
        let x = random(60, 4, 41);
        let labels: Vec<usize> = (0..60)
            .map(|i| {
                let r = x.row(i);
                (0..3).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap()
            })
            .collect();
        let clf = RidgeClassifier::fit_arrays(x.view(), &labels, 0.1).unwrap();
        assert_eq!(clf.ridge.coef.ncols(), 3);
        let codes =
            Array2::from_shape_fn((60, 3), |(i, k)| if labels[i] == k { 1.0 } else { -1.0 });
        let reg = Ridge::fit_arrays(x.view(), codes.view(), 0.1).unwrap();
        let d = reg.decision(&x);
        let pred = clf.predict_classes(&x);
        for (r, p) in d.rows().into_iter().zip(&pred) {
            let want = (0..3).fold(0, |b, k| if r[k] > r[b] { k } else { b });
            assert_eq!(*p, want);
        }
        let ds = DatasetBase::new(x.clone(), Array1::from(labels.clone()));
        let via_linfa: RidgeClassifier = Ridge::params()
            .lambda(0.1)
            .check()
            .unwrap()
            .fit(&ds)
            .unwrap();
        let p: Array1<usize> = via_linfa.predict(&x);
        assert_eq!(p.to_vec(), pred);
    }
}
