//! Dense f64 linear algebra shared by [`crate::init`] and [`crate::stability`]: uniform random matrices,
//! eigenvalues, spectral radius and spectral norm.
//!
//! Both modules build on these routines and neither on the other; `init` re-exports [`uniform_matrix`] and
//! `stability` re-exports [`eigenvalues`], [`spectral_radius`] and [`spectral_norm`] under their former paths.

use ndarray::{Array2, ArrayView2};
use num_complex::Complex64;
use rand::Rng;
use rand_distr::{Distribution, Uniform};

use crate::CoreError;

/// Draws a uniform `(rows, cols)` matrix on `(-v, v)`; `v = 0` gives zeros without consuming the generator.
pub fn uniform_matrix<R: Rng + ?Sized>(
    rows: usize,
    cols: usize,
    v: f64,
    rng: &mut R,
) -> Array2<f64> {
    if v == 0.0 {
        return Array2::zeros((rows, cols));
    }
    let d = Uniform::new_inclusive(-v, v).expect("finite bound");
    Array2::from_shape_simple_fn((rows, cols), || d.sample(rng))
}

fn to_faer(m: ArrayView2<'_, f64>) -> Result<faer::Mat<f64>, CoreError> {
    if m.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::Numerical("matrix has non-finite entries".into()));
    }
    Ok(faer::Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[[i, j]]))
}

fn square(m: ArrayView2<'_, f64>) -> Result<(), CoreError> {
    if m.nrows() != m.ncols() {
        return Err(CoreError::Shape {
            what: "matrix".into(),
            expected: "a square matrix".into(),
            got: format!("{:?}", m.dim()),
        });
    }
    Ok(())
}

/// The eigenvalues of a general real square matrix (faer's dense eigen-solver), in no particular order.
pub fn eigenvalues(m: ArrayView2<'_, f64>) -> Result<Vec<Complex64>, CoreError> {
    square(m)?;
    if m.nrows() == 0 {
        return Ok(Vec::new());
    }
    to_faer(m)?
        .eigenvalues()
        .map_err(|e| CoreError::Numerical(format!("eigenvalues: {e:?}")))
}

/// Spectral radius (largest eigenvalue modulus) of a square matrix.
pub fn spectral_radius(m: ArrayView2<'_, f64>) -> Result<f64, CoreError> {
    Ok(eigenvalues(m)?.iter().map(|z| z.norm()).fold(0.0, f64::max))
}

/// Spectral norm `||m||_2` (largest singular value) of any matrix.
pub fn spectral_norm(m: ArrayView2<'_, f64>) -> Result<f64, CoreError> {
    if m.is_empty() {
        return Ok(0.0);
    }
    let s = to_faer(m)?
        .singular_values()
        .map_err(|e| CoreError::Numerical(format!("singular values: {e:?}")))?;
    Ok(s.first().copied().unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_from_seed;
    use ndarray::{array, Array1};

    /// Largest eigenvalue modulus by power iteration, for matrices with a dominant real eigenvalue.
    fn power_iteration(m: &Array2<f64>) -> f64 {
        let mut v = Array1::from_elem(m.nrows(), 1.0);
        let mut lambda = 0.0;
        for _ in 0..2000 {
            let w = m.dot(&v);
            lambda = w.dot(&w).sqrt() / v.dot(&v).sqrt();
            v = &w / w.dot(&w).sqrt();
        }
        lambda
    }

    #[test]
    fn eigenvalues_of_small_matrices_match_closed_forms() {
        let rot = array![[0.0, -2.0], [2.0, 0.0]];
        let mut e = eigenvalues(rot.view()).unwrap();
        e.sort_by(|a, b| a.im.total_cmp(&b.im));
        assert!((e[0] - Complex64::new(0.0, -2.0)).norm() < 1e-12);
        assert!((e[1] - Complex64::new(0.0, 2.0)).norm() < 1e-12);
        let tri = array![[1.0, 5.0, 7.0], [0.0, -3.0, 2.0], [0.0, 0.0, 0.5]];
        assert!((spectral_radius(tri.view()).unwrap() - 3.0).abs() < 1e-12);
        assert!(spectral_radius(array![[1.0, 2.0]].view()).is_err());
        assert!(spectral_radius(array![[f64::NAN]].view()).is_err());
    }

    #[test]
    fn spectral_radius_agrees_with_power_iteration_on_a_positive_matrix() {
        // Perron-Frobenius: the dominant eigenvalue of a positive matrix is real, positive and simple.
        let mut rng = rng_from_seed(3);
        let m = uniform_matrix(30, 30, 1.0, &mut rng).mapv(|v| v + 1.0);
        let r = spectral_radius(m.view()).unwrap();
        assert!((r - power_iteration(&m)).abs() < 1e-9 * r);
    }

    #[test]
    fn spectral_norm_is_the_root_of_the_gram_matrix_radius() {
        let mut rng = rng_from_seed(4);
        let m = uniform_matrix(20, 12, 1.0, &mut rng);
        let gram = m.t().dot(&m);
        let want = power_iteration(&gram).sqrt();
        assert!((spectral_norm(m.view()).unwrap() - want).abs() < 1e-9 * want);
        assert!(
            (spectral_norm(array![[3.0, 0.0], [0.0, -4.0]].view()).unwrap() - 4.0).abs() < 1e-12
        );
    }

    #[test]
    fn a_zero_bound_gives_zeros_and_leaves_the_generator_untouched() {
        let (mut a, mut b) = (rng_from_seed(6), rng_from_seed(6));
        assert_eq!(
            uniform_matrix(2, 3, 0.0, &mut a),
            Array2::<f64>::zeros((2, 3))
        );
        assert_eq!(
            uniform_matrix(4, 4, 1.0, &mut a),
            uniform_matrix(4, 4, 1.0, &mut b)
        );
    }
}
