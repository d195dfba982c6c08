//! Batched state harvesting: run a cell over a batch of variable-length series.
//!
//! Series are processed in order of decreasing length, so that at step `t` the series still running form a prefix
//! of the batch: each step is one `(n_active, N) @ (N, N)` product plus element-wise work, and a series' state stops
//! changing at its own last step without any masking arithmetic.

use ndarray::{s, Array2, Array3, Axis};

use crate::{CellKind, CoreError, Sequences, Weights};

/// What [`harvest`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Harvest {
    /// State at each series' own last step, `(n_series, n_units)`, in the batch's order.
    pub last: Array2<f32>,
    /// Every state, `(n_series, max_len, n_units)`, NaN after each series' end; only when asked for.
    pub all: Option<Array3<f32>>,
}

/// Options of [`harvest`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HarvestOptions {
    /// Also keep every intermediate state (memory `n_series * max_len * n_units`). Default false.
    pub keep_all: bool,
}

/// Runs `cell` with `weights` over every series of `seqs` from `h(0) = 0`.
///
/// Returns an error if the shapes disagree, or [`CoreError::NonFinite`] naming the first series whose final state
/// is not finite.
pub fn harvest(
    cell: &CellKind,
    weights: &Weights<f32>,
    seqs: &Sequences,
    opts: HarvestOptions,
) -> Result<Harvest, CoreError> {
    weights.check()?;
    if seqs.n_inputs() != weights.n_inputs() {
        return Err(CoreError::Shape {
            what: "input dimensions".into(),
            expected: format!("{}", weights.n_inputs()),
            got: format!("{}", seqs.n_inputs()),
        });
    }
    let (n, t_max, d) = seqs.x.dim();
    let units = weights.n_units();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| seqs.lengths[b].cmp(&seqs.lengths[a]).then(a.cmp(&b)));

    // Inputs gathered once in sorted order, time-major, so that each step reads a contiguous block.
    let mut xs = Array3::<f32>::zeros((t_max, n, d));
    for (k, &i) in order.iter().enumerate() {
        let l = seqs.lengths[i];
        xs.slice_mut(s![..l, k, ..])
            .assign(&seqs.x.slice(s![i, ..l, ..]));
    }
    let mut h = Array2::<f32>::zeros((n, units));
    let mut pre = Array2::<f32>::zeros((n, units));
    let mut all = opts
        .keep_all
        .then(|| Array3::<f32>::from_elem((n, t_max, units), f32::NAN));
    let mut active = n;
    for t in 0..t_max {
        while active > 0 && seqs.lengths[order[active - 1]] <= t {
            active -= 1;
        }
        if active == 0 {
            break;
        }
        let mut p = pre.slice_mut(s![..active, ..]);
        p.assign(
            &weights
                .bias
                .broadcast((active, units))
                .expect("bias broadcast"),
        );
        ndarray::linalg::general_mat_mul(
            1.0,
            &xs.index_axis(Axis(0), t).slice(s![..active, ..]),
            &weights.w_in,
            1.0,
            &mut p,
        );
        ndarray::linalg::general_mat_mul(
            1.0,
            &h.slice(s![..active, ..]),
            &weights.w_rec,
            1.0,
            &mut p,
        );
        cell.update(p.view(), h.slice_mut(s![..active, ..]));
        if let Some(all) = all.as_mut() {
            for (k, &i) in order[..active].iter().enumerate() {
                all.slice_mut(s![i, t, ..]).assign(&h.row(k));
            }
        }
    }
    let mut last = Array2::<f32>::zeros((n, units));
    for (k, &i) in order.iter().enumerate() {
        last.row_mut(i).assign(&h.row(k));
    }
    if let Some(i) = (0..n).find(|&i| last.row(i).iter().any(|v| !v.is_finite())) {
        return Err(CoreError::NonFinite {
            series: i,
            step: seqs.lengths[i] - 1,
        });
    }
    Ok(Harvest { last, all })
}
