//! The recurrent layer and its dense readout: parameters, initialisation and the forward pass over a batch of
//! variable-length series.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{Init, VarBuilder, VarMap};
use mf_core::rng::{derive_seed, rng_from_seed};
use mf_core::Sequences;
use ndarray::Array2;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::cell::{fused_supported, mf_step, mf_step_unfused};
use crate::recurrence;
use crate::{CellKind, RnnError};

/// The trainable tensors of a model, in the row convention `pre = x @ kernel + h @ recurrent_kernel + bias`.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    /// `kernel`, `(n_inputs, n_units)`.
    pub kernel: Tensor,
    /// `recurrent_kernel`, `(n_units, n_units)`.
    pub recurrent: Tensor,
    /// `bias`, `(n_units)`.
    pub bias: Tensor,
    /// `readout.weight`, `(n_units, n_outputs)`.
    pub ro_weight: Tensor,
    /// `readout.bias`, `(n_outputs)`.
    pub ro_bias: Tensor,
}

/// The parameter names, as stored in the safetensors file.
pub(crate) const NAMES: [&str; 5] = [
    "kernel",
    "recurrent_kernel",
    "bias",
    "readout.weight",
    "readout.bias",
];

/// A recurrent model whose parameters live in a [`VarMap`].
#[derive(Clone)]
pub(crate) struct Model {
    pub cell: CellKind,
    pub varmap: VarMap,
    pub vars: [Var; 5],
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("cell", &self.cell)
            .field(
                "shapes",
                &self
                    .vars
                    .iter()
                    .map(|v| v.dims().to_vec())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn glorot_uniform<R: Rng>(rows: usize, cols: usize, rng: &mut R) -> Array2<f64> {
    let limit = (6.0 / (rows + cols) as f64).sqrt();
    let d = Uniform::new_inclusive(-limit, limit).expect("finite bound");
    Array2::from_shape_simple_fn((rows, cols), || d.sample(rng))
}

fn gaussian<R: Rng>(rows: usize, cols: usize, std: f64, rng: &mut R) -> Array2<f64> {
    let d = Normal::new(0.0, std).expect("finite std");
    Array2::from_shape_simple_fn((rows, cols), || d.sample(rng))
}

/// An orthogonal `(n, n)` matrix: the Q factor of a standard Gaussian matrix with the signs fixed so that R has a
/// positive diagonal (Keras' `Orthogonal` initialiser). Modified Gram-Schmidt produces exactly that Q.
pub(crate) fn orthogonal<R: Rng>(n: usize, rng: &mut R) -> Array2<f64> {
    let mut q = gaussian(n, n, 1.0, rng);
    for j in 0..n {
        for k in 0..j {
            let dot = q.column(j).dot(&q.column(k));
            let ck = q.column(k).to_owned();
            q.column_mut(j).scaled_add(-dot, &ck);
        }
        let norm = q.column(j).dot(&q.column(j)).sqrt();
        q.column_mut(j).mapv_inplace(|v| v / norm);
    }
    q
}

fn to_tensor(a: &Array2<f64>, dev: &Device) -> Result<Tensor, RnnError> {
    let v: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    Ok(Tensor::from_vec(v, a.dim(), dev)?)
}

impl Model {
    /// Creates the parameters through a [`VarBuilder`] and fills them from `seed`: MF-RNN
    /// `kernel`, `recurrent_kernel ~ N(0, 0.05^2)`; RNN Glorot-uniform `kernel` and orthogonal
    /// `recurrent_kernel`; zero biases; Glorot-uniform readout. The paper does not give these; they are the
    /// authors' reference implementation's (Keras' `SimpleRNN` and `Dense` defaults for the RNN and readout).
    pub fn new(
        cell: CellKind,
        n_inputs: usize,
        n_units: usize,
        n_outputs: usize,
        seed: u64,
        dev: &Device,
    ) -> Result<Self, RnnError> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, dev);
        let shapes: [Vec<usize>; 5] = [
            vec![n_inputs, n_units],
            vec![n_units, n_units],
            vec![n_units],
            vec![n_units, n_outputs],
            vec![n_outputs],
        ];
        for (name, shape) in NAMES.iter().zip(&shapes) {
            vb.get_with_hints(shape.as_slice(), name, Init::Const(0.0))?;
        }
        let mut rng = rng_from_seed(derive_seed(seed, 0));
        let (kernel, recurrent) = match cell {
            CellKind::Mf(_) => {
                let k = gaussian(n_inputs, n_units, 0.05, &mut rng);
                (k, gaussian(n_units, n_units, 0.05, &mut rng))
            }
            CellKind::Tanh | CellKind::LeakyEsn { .. } => {
                let k = glorot_uniform(n_inputs, n_units, &mut rng);
                (k, orthogonal(n_units, &mut rng))
            }
        };
        let readout = glorot_uniform(n_units, n_outputs, &mut rng);
        let data = varmap.data().lock().expect("parameter map poisoned");
        let get = |name: &str| data.get(name).expect("created above").clone();
        let vars = NAMES.map(get);
        drop(data);
        vars[0].set(&to_tensor(&kernel, dev)?)?;
        vars[1].set(&to_tensor(&recurrent, dev)?)?;
        vars[3].set(&to_tensor(&readout, dev)?)?;
        Ok(Self { cell, varmap, vars })
    }

    /// The parameters as tensors that record operations for back-propagation.
    pub fn params(&self) -> Params {
        let t = |i: usize| self.vars[i].as_tensor().clone();
        Params {
            kernel: t(0),
            recurrent: t(1),
            bias: t(2),
            ro_weight: t(3),
            ro_bias: t(4),
        }
    }

    /// The parameters detached from the graph, for inference.
    pub fn params_detached(&self) -> Params {
        let t = |i: usize| self.vars[i].as_tensor().detach();
        Params {
            kernel: t(0),
            recurrent: t(1),
            bias: t(2),
            ro_weight: t(3),
            ro_bias: t(4),
        }
    }

    /// Copies of the current values (for restoring the best epoch).
    pub fn snapshot(&self) -> Result<Vec<Tensor>, RnnError> {
        Ok(self
            .vars
            .iter()
            .map(|v| v.as_tensor().copy())
            .collect::<candle_core::Result<_>>()?)
    }

    /// Sets every parameter from a snapshot.
    pub fn restore(&self, snap: &[Tensor]) -> Result<(), RnnError> {
        for (v, t) in self.vars.iter().zip(snap) {
            v.set(t)?;
        }
        Ok(())
    }

    /// Number of inputs the model expects.
    pub fn n_inputs(&self) -> usize {
        self.vars[0].dims()[0]
    }
}

/// A batch laid out for the recurrence: series sorted by decreasing length and stored time-major, so that the
/// series still running at step `t` are the first `active[t]` rows.
#[derive(Debug)]
pub(crate) struct Batch {
    /// Index in the source `Sequences` of each row, longest first.
    pub order: Vec<usize>,
    /// Rows still running at step `t`.
    pub active: Vec<usize>,
    /// Every step's inputs stacked, each row followed by a 1 (for the bias), `(sum_t active[t], n_inputs + 1)`.
    pub stacked: Tensor,
}

impl Batch {
    /// Gathers the series `indices` of `seq`. Values after a series' length are never read.
    pub fn new(seq: &Sequences, indices: &[usize], dev: &Device) -> Result<Self, RnnError> {
        let mut order = indices.to_vec();
        // A stable sort keeps equal-length batches in their shuffled order.
        order.sort_by(|&i, &j| seq.lengths[j].cmp(&seq.lengths[i]));
        let max_len = order.first().map_or(0, |&i| seq.lengths[i]);
        let d = seq.n_inputs();
        let mut counts = Vec::with_capacity(max_len);
        let mut all = Vec::new();
        let mut active = order.len();
        for t in 0..max_len {
            while active > 0 && seq.lengths[order[active - 1]] <= t {
                active -= 1;
            }
            for &i in &order[..active] {
                for k in 0..d {
                    let x = seq.x[[i, t, k]];
                    if !x.is_finite() {
                        return Err(RnnError::NonFiniteInput { series: i, step: t });
                    }
                    all.push(x);
                }
                all.push(1.0);
            }
            counts.push(active);
        }
        let stacked = Tensor::from_vec(all, (counts.iter().sum::<usize>(), d + 1), dev)?;
        Ok(Self {
            order,
            active: counts,
            stacked,
        })
    }
}

/// Runs the recurrence over a batch and returns the state at each series' own last step, `(n_rows, n_units)` in
/// the batch's (sorted) row order: in one operation for the whole batch on the CPU in f32 (see
/// [`crate::recurrence`]), else step by step. Both take `pre = [x 1] @ [kernel; bias] + h @ recurrent_kernel`.
pub(crate) fn final_states(cell: &CellKind, p: &Params, batch: &Batch) -> Result<Tensor, RnnError> {
    let w_xb = Tensor::cat(&[&p.kernel, &p.bias.unsqueeze(0)?], 0)?;
    if recurrence::supported(&p.recurrent) && !batch.order.is_empty() {
        return Ok(recurrence::final_states(
            cell,
            &batch.stacked,
            &w_xb,
            &p.recurrent,
            &batch.active,
        )?);
    }
    let fused = fused_supported(&p.recurrent);
    let (x, active) = (&batch.stacked, &batch.active);
    Ok(final_states_stepwise(
        cell,
        x,
        &w_xb,
        &p.recurrent,
        active,
        fused,
    )?)
}

/// [`final_states`] one step at a time with candle's operations, with the fused MF step when `fused` (it runs on
/// the CPU only) or its unfused form: the path for other devices and types, and the oracle of the whole-batch
/// operation. `x` and `active` are laid out as [`Batch::stacked`] and [`Batch::active`].
pub(crate) fn final_states_stepwise(
    cell: &CellKind,
    x: &Tensor,
    w_xb: &Tensor,
    recurrent: &Tensor,
    active: &[usize],
    fused: bool,
) -> candle_core::Result<Tensor> {
    let n_units = recurrent.dim(0)?;
    let rows = active.first().copied().unwrap_or(0);
    let mut h = Tensor::zeros((rows, n_units), recurrent.dtype(), recurrent.device())?;
    // States of series that have finished, most recently finished first once reversed.
    let mut done: Vec<Tensor> = Vec::new();
    let mut offset = 0;
    for (t, &active) in active.iter().enumerate() {
        if active < h.dim(0)? {
            let n = h.dim(0)?;
            done.push(h.narrow(0, active, n - active)?);
            h = h.narrow(0, 0, active)?;
        }
        let mut pre = x.narrow(0, offset, active)?.matmul(w_xb)?;
        offset += active;
        if t > 0 {
            pre = (pre + h.matmul(recurrent)?)?;
        }
        h = cell_step(cell, &pre, &h, fused)?;
    }
    done.push(h);
    done.reverse();
    Tensor::cat(&done, 0)
}

/// One step of `cell` from the pre-activation `pre` and the previous state `h`, with candle's operations: the
/// fused MF step when `fused` (it runs on the CPU only), else its unfused form.
pub(crate) fn cell_step(
    cell: &CellKind,
    pre: &Tensor,
    h: &Tensor,
    fused: bool,
) -> candle_core::Result<Tensor> {
    match cell {
        CellKind::Mf(c) if fused => mf_step(c, pre, h),
        CellKind::Mf(c) => mf_step_unfused(c, pre, h),
        CellKind::Tanh => pre.tanh(),
        CellKind::LeakyEsn { .. } => unreachable!("RnnConfig::check refuses the leaky-ESN cell"),
    }
}

/// The readout's outputs (logits or values), `(n_rows, n_outputs)` in the batch's row order.
pub(crate) fn outputs(cell: &CellKind, p: &Params, batch: &Batch) -> Result<Tensor, RnnError> {
    let h = final_states(cell, p, batch)?;
    Ok(h.matmul(&p.ro_weight)?.broadcast_add(&p.ro_bias)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn orthogonal_init_gives_an_orthogonal_matrix() {
        let q = orthogonal(20, &mut rng_from_seed(3));
        let qtq = q.t().dot(&q);
        for ((i, j), v) in qtq.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((v - want).abs() < 1e-12);
        }
    }

    #[test]
    fn same_seed_gives_identical_parameters_and_different_seeds_do_not() {
        let dev = Device::Cpu;
        let flat = |m: &Model| -> Vec<f32> {
            m.vars
                .iter()
                .flat_map(|v| {
                    v.as_tensor()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap()
                })
                .collect()
        };
        for cell in [
            CellKind::Tanh,
            CellKind::Mf(mf_core::MfCell::new(0.1, 0.8, 5.0)),
        ] {
            let a = Model::new(cell, 2, 8, 3, 5, &dev).unwrap();
            let b = Model::new(cell, 2, 8, 3, 5, &dev).unwrap();
            let c = Model::new(cell, 2, 8, 3, 6, &dev).unwrap();
            assert_eq!(flat(&a), flat(&b));
            assert_ne!(flat(&a), flat(&c));
        }
    }

    #[test]
    fn mf_init_has_the_reference_spread() {
        let m = Model::new(
            CellKind::Mf(mf_core::MfCell::new(0.1, 0.8, 5.0)),
            1,
            100,
            2,
            1,
            &Device::Cpu,
        )
        .unwrap();
        let w = m.vars[1]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let var = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / w.len() as f64;
        assert!((var.sqrt() - 0.05).abs() < 0.002, "std {}", var.sqrt());
    }

    #[test]
    fn unequal_lengths_give_each_series_its_own_last_state() {
        let dev = Device::Cpu;
        let mut x = Array3::<f32>::from_shape_fn((4, 6, 2), |(i, t, k)| {
            ((i * 7 + t * 3 + k) as f32 * 0.37).sin()
        });
        let lengths = vec![3, 6, 1, 4];
        for (i, &l) in lengths.iter().enumerate() {
            for t in l..6 {
                x[[i, t, 0]] = f32::NAN;
                x[[i, t, 1]] = f32::NAN;
            }
        }
        let seq = Sequences::new(x, lengths).unwrap();
        for cell in [
            CellKind::Tanh,
            CellKind::Mf(mf_core::MfCell::new(0.1, 0.8, 5.0)),
        ] {
            let m = Model::new(cell, 2, 5, 1, 9, &dev).unwrap();
            let p = m.params_detached();
            let batch = Batch::new(&seq, &[0, 1, 2, 3], &dev).unwrap();
            let all = final_states(&cell, &p, &batch)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap();
            let kind = cell;
            let arr = |t: &Tensor| {
                let v = t.to_vec2::<f32>().unwrap();
                Array2::from_shape_fn((v.len(), v[0].len()), |(i, j)| v[i][j])
            };
            let (w_in, w_rec) = (arr(&p.kernel), arr(&p.recurrent));
            let bias = p.bias.to_vec1::<f32>().unwrap();
            for (row, &i) in batch.order.iter().enumerate() {
                // mf-core's ndarray update, one series at a time up to its own length: an independent
                // implementation of the same recurrence.
                let mut h = Array2::<f32>::zeros((1, 5));
                for t in 0..seq.lengths[i] {
                    let x_t = seq.x.slice(ndarray::s![i..i + 1, t, ..]).to_owned();
                    let pre = x_t.dot(&w_in) + h.dot(&w_rec) + ndarray::aview1(&bias);
                    kind.update(pre.view(), h.view_mut());
                }
                for (a, b) in all[row].iter().zip(h.iter()) {
                    assert!((a - b).abs() < 1e-6, "series {i}: {a} vs mf-core {b}");
                }
                let alone = Batch::new(&seq, &[i], &dev).unwrap();
                let one = final_states(&cell, &p, &alone)
                    .unwrap()
                    .to_vec2::<f32>()
                    .unwrap();
                for (a, b) in all[row].iter().zip(&one[0]) {
                    assert!((a - b).abs() < 1e-6, "series {i}: {a} vs {b}");
                }
            }
        }
    }
}
