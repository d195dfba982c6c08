//! The whole recurrence of a batch as one candle operation, with hand-written back-propagation through time.
//!
//! Written step by step with candle's operations, a batch of 140 steps records some 600 graph nodes, allocates a
//! tensor for each, and runs its small `(64, 100) @ (100, 100)` products through candle's general matrix product.
//! [`final_states`] instead takes every step's inputs stacked with a trailing 1, the input kernel with the bias as
//! its last row, and the recurrent kernel `W_h`, runs all steps in one operation, and keeps what
//! back-propagation needs (each step's pre-activation and previous state). Its backward pass walks the steps in
//! reverse with faer's sequential products: `dpre_t = g_t * dh_t/dpre`, `dW_x += [x_t 1]^T dpre_t`,
//! `dW_h += h_{t-1}^T dpre_t` and `g_{t-1} = g_t * dh_t/dh_{t-1} + dpre_t W_h^T`, where `g_t` receives the loss
//! gradient of each series at its own last step.
//!
//! Rows are cut into fixed chunks of [`CHUNK`] (in the batch's order, longest first), each run on its own and on
//! as many threads as candle uses (`RAYON_NUM_THREADS`, else every core); the chunks' contributions to the kernel
//! gradients are summed in chunk order, so the numbers do not depend on the number of threads.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor};
use faer::{Accum, MatMut, MatRef, Par};

use mf_core::MfKernel;

use crate::cell::{bwd_f32, contiguous, fwd_f32};
use crate::CellKind;

/// Rows of a batch advanced together by one thread.
pub(crate) const CHUNK: usize = 32;

/// The element-wise update of a cell.
#[derive(Debug, Clone, Copy)]
enum Update {
    Mf(MfKernel),
    Tanh,
}

impl Update {
    fn forward(&self, pre: &[f32], h: &mut [f32]) {
        match self {
            Update::Mf(c) => fwd_f32(c, pre, h),
            Update::Tanh => {
                for (h, &u) in h.iter_mut().zip(pre) {
                    *h = mf_core::fastmath::tanh_f32(u);
                }
            }
        }
    }

    /// `d_pre = g dh/dpre` and `d_h = g dh/dh_prev`, from the step's pre-activation and previous state.
    fn backward(&self, pre: &[f32], prev: &[f32], g: &[f32], d_pre: &mut [f32], d_h: &mut [f32]) {
        match self {
            Update::Mf(c) => bwd_f32(c, pre, prev, g, d_pre, d_h),
            Update::Tanh => {
                for ((dp, dh), (&u, &g)) in
                    d_pre.iter_mut().zip(d_h.iter_mut()).zip(pre.iter().zip(g))
                {
                    let t = mf_core::fastmath::tanh_f32(u);
                    *dp = g * (1.0 - t * t);
                    *dh = 0.0;
                }
            }
        }
    }
}

/// The rows of one chunk, `lo..hi` of the batch, and how many of them run at each step.
#[derive(Debug, Clone)]
struct Chunk {
    lo: usize,
    hi: usize,
    /// Rows of this chunk active at step `t` (a prefix of it, as rows are sorted by decreasing length).
    active: Vec<usize>,
    /// Offset of step `t`'s rows in the chunk's saved arrays (in rows).
    saved_at: Vec<usize>,
}

/// What a chunk's forward pass keeps for its backward pass. Its arrays come from [`POOL`] and go back to it when
/// dropped.
#[derive(Debug, Default)]
struct Saved {
    /// Pre-activations, step after step, `(sum_t active_t, n)`.
    pre: Vec<f32>,
    /// Previous states, laid out as `pre`.
    prev: Vec<f32>,
}

impl Drop for Saved {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.pre));
        give_back(std::mem::take(&mut self.prev));
    }
}

/// Arrays of earlier batches' [`Saved`], reused by the next ones. A chunk of 32 rows over 140 steps of 100 units
/// keeps two arrays of 1.8 MB; allocated afresh for every batch, their pages were faulted in, zeroed and returned
/// to the system again each time, which took a tenth of an epoch.
static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// Arrays [`POOL`] holds at most (two per chunk of the largest batches that run at once on a few threads).
const POOL_MAX: usize = 16;

/// An array of `len` floats, every one overwritten by the caller before it is read.
fn pooled(len: usize) -> Vec<f32> {
    let reused = POOL.lock().ok().and_then(|mut p| {
        let i = p.iter().position(|v| v.capacity() >= len)?;
        Some(p.swap_remove(i))
    });
    let mut v = reused.unwrap_or_default();
    // A reused array keeps its old values (overwritten anyway): only what it grows by is zeroed.
    v.truncate(len);
    v.resize(len, 0.0);
    v
}

fn give_back(v: Vec<f32>) {
    if v.capacity() == 0 {
        return;
    }
    if let Ok(mut p) = POOL.lock() {
        if p.len() < POOL_MAX {
            p.push(v);
        }
    }
}

/// The operation: `(X, W_xb, W_h) -> final states`, with `X` the `(sum_t active_t, d + 1)` inputs with a trailing
/// 1 stacked step after step (step `t` holds the first `active[t]` rows of the batch) and `W_xb` the `(d + 1, n)`
/// input kernel with the bias as its last row.
#[derive(Debug)]
struct Recurrence {
    update: Update,
    n_rows: usize,
    /// Rows of the batch active at each step.
    active: Vec<usize>,
    /// Offset of step `t` in `X`.
    offsets: Vec<usize>,
    chunks: Vec<Chunk>,
    threads: usize,
    /// Filled by the forward pass when gradients are needed.
    saved: Mutex<Vec<Saved>>,
    keep: bool,
    /// Whether the backward pass computes `dW_h`: not for a frozen recurrent kernel (passed detached), which
    /// saves one of the three `n x n` products of each step.
    grad_w: bool,
}

fn gemm(c: &mut [f32], accum: Accum, a: &[f32], b: MatRef<'_, f32>, m: usize, k: usize) {
    let n = b.ncols();
    faer::linalg::matmul::matmul(
        MatMut::from_row_major_slice_mut(c, m, n),
        accum,
        MatRef::from_row_major_slice(a, m, k),
        b,
        1.0f32,
        Par::Seq,
    );
}

impl Recurrence {
    fn new(update: Update, active: Vec<usize>, n_rows: usize, keep: bool, grad_w: bool) -> Self {
        let mut offsets = Vec::with_capacity(active.len());
        let mut off = 0;
        for &a in &active {
            offsets.push(off);
            off += a;
        }
        let chunks = (0..n_rows.div_ceil(CHUNK))
            .map(|c| {
                let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n_rows));
                let act: Vec<usize> = active.iter().map(|&a| a.clamp(lo, hi) - lo).collect();
                let mut saved_at = Vec::with_capacity(act.len());
                let mut off = 0;
                for &a in &act {
                    saved_at.push(off);
                    off += a;
                }
                Chunk {
                    lo,
                    hi,
                    active: act,
                    saved_at,
                }
            })
            .collect();
        Recurrence {
            update,
            n_rows,
            active,
            offsets,
            chunks,
            threads: candle_core::utils::get_num_threads().max(1),
            saved: Mutex::new(Vec::new()),
            keep,
            grad_w,
        }
    }

    /// Runs `f` on every chunk, on up to `self.threads` threads, and returns the results in chunk order.
    fn per_chunk<R: Send>(&self, f: impl Fn(usize, &Chunk) -> R + Sync) -> Vec<R> {
        let threads = self.threads.min(self.chunks.len());
        if threads <= 1 {
            return self
                .chunks
                .iter()
                .enumerate()
                .map(|(i, c)| f(i, c))
                .collect();
        }
        let f = &f;
        let mut out: Vec<Option<R>> = (0..self.chunks.len()).map(|_| None).collect();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|j| {
                    s.spawn(move || {
                        (j..self.chunks.len())
                            .step_by(threads)
                            .map(|i| (i, f(i, &self.chunks[i])))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                for (i, r) in h.join().expect("a recurrence thread panicked") {
                    out[i] = Some(r);
                }
            }
        });
        out.into_iter()
            .map(|r| r.expect("every chunk ran"))
            .collect()
    }

    /// One chunk forward: its final states `(hi - lo, n)` and, when kept, what its backward pass needs.
    fn forward_chunk(
        &self,
        c: &Chunk,
        x: &[f32],
        w_x: MatRef<'_, f32>,
        w: MatRef<'_, f32>,
    ) -> (Vec<f32>, Saved) {
        let k = w_x.nrows();
        let n = w.nrows();
        let rows = c.hi - c.lo;
        let mut h = vec![0f32; rows * n];
        let total = c
            .saved_at
            .last()
            .map_or(0, |o| o + c.active.last().copied().unwrap_or(0));
        let mut saved = Saved::default();
        // Without gradients one step's pre-activations are enough; with them each step's are computed in place in
        // the kept array.
        let mut pre = vec![0f32; if self.keep { 0 } else { rows * n }];
        if self.keep {
            saved.pre = pooled(total * n);
            saved.prev = pooled(total * n);
        }
        for (t, &a) in c.active.iter().enumerate() {
            if a == 0 {
                break;
            }
            let len = a * n;
            let src = (self.offsets[t] + c.lo) * k;
            let dst = c.saved_at[t] * n;
            let pre_t = match self.keep {
                true => &mut saved.pre[dst..dst + len],
                false => &mut pre[..len],
            };
            gemm(pre_t, Accum::Replace, &x[src..src + a * k], w_x, a, k);
            if t > 0 {
                gemm(pre_t, Accum::Add, &h[..len], w, a, n);
            }
            if self.keep {
                saved.prev[dst..dst + len].copy_from_slice(&h[..len]);
            }
            self.update.forward(pre_t, &mut h[..len]);
        }
        (h, saved)
    }

    /// One chunk backward from the loss gradient of its final states `g_out` `(hi - lo, n)`: its contributions
    /// to `dW_xb` and `dW_h` (left at zero without `grad_w`).
    fn backward_chunk(
        &self,
        c: &Chunk,
        saved: &Saved,
        x: &[f32],
        k: usize,
        g_out: &[f32],
        w_t: MatRef<'_, f32>,
    ) -> (Vec<f32>, Vec<f32>) {
        let n = w_t.nrows();
        let rows = c.hi - c.lo;
        let mut g = vec![0f32; rows * n];
        let mut d_pre = vec![0f32; rows * n];
        let mut d_x = vec![0f32; k * n];
        let mut d_w = vec![0f32; n * n];
        let mut d_h = vec![0f32; rows * n];
        for t in (0..c.active.len()).rev() {
            let a = c.active[t];
            if a == 0 {
                continue;
            }
            let next = c.active.get(t + 1).copied().unwrap_or(0);
            // Rows whose last step is t take the loss gradient of their final state.
            g[next * n..a * n].copy_from_slice(&g_out[next * n..a * n]);
            let len = a * n;
            let at = c.saved_at[t] * n;
            let (pre, prev) = (&saved.pre[at..at + len], &saved.prev[at..at + len]);
            let dp = &mut d_pre[..len];
            self.update
                .backward(pre, prev, &g[..len], dp, &mut d_h[..len]);
            let src = (self.offsets[t] + c.lo) * k;
            // dW_xb += [x_t 1]^T dpre_t
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut d_x, k, n),
                Accum::Add,
                MatRef::from_row_major_slice(&x[src..src + a * k], a, k).transpose(),
                MatRef::from_row_major_slice(dp, a, n),
                1.0f32,
                Par::Seq,
            );
            if t > 0 {
                if self.grad_w {
                    // dW_h += h_{t-1}^T dP_t
                    faer::linalg::matmul::matmul(
                        MatMut::from_row_major_slice_mut(&mut d_w, n, n),
                        Accum::Add,
                        MatRef::from_row_major_slice(prev, a, n).transpose(),
                        MatRef::from_row_major_slice(dp, a, n),
                        1.0f32,
                        Par::Seq,
                    );
                }
                // g_{t-1} = g_t dh/dh_prev + dP_t W_h^T
                g[..len].copy_from_slice(&d_h[..len]);
                gemm(&mut g[..len], Accum::Add, dp, w_t, a, n);
            }
        }
        (d_x, d_w)
    }
}

fn cpu_f32<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    match s {
        CpuStorage::F32(d) => contiguous(d, l, "recurrence", what),
        _ => candle_core::bail!("recurrence: {what} must be f32"),
    }
}

impl CustomOp3 for Recurrence {
    fn name(&self) -> &'static str {
        "recurrence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s1, l1, "X")?;
        let (w_x, w) = (cpu_f32(s2, l2, "W_xb")?, cpu_f32(s3, l3, "W_h")?);
        let (k, n) = (l2.dims()[0], l3.dims()[0]);
        let rows_x = self
            .offsets
            .last()
            .map_or(0, |o| o + self.active.last().copied().unwrap_or(0));
        if l1.dims() != [rows_x, k] || l2.dims() != [k, n] || l3.dims() != [n, n] {
            candle_core::bail!(
                "recurrence: X {:?}, W_xb {:?} and W_h {:?} do not match {rows_x} stacked rows",
                l1.dims(),
                l2.dims(),
                l3.dims()
            );
        }
        let (w_x, w) = (
            MatRef::from_row_major_slice(w_x, k, n),
            MatRef::from_row_major_slice(w, n, n),
        );
        let results = self.per_chunk(|_, c| self.forward_chunk(c, x, w_x, w));
        let mut out = Vec::with_capacity(self.n_rows * n);
        let mut saved = Vec::with_capacity(results.len());
        for (h, s) in results {
            out.extend_from_slice(&h);
            saved.push(s);
        }
        if self.keep {
            *self.saved.lock().expect("saved states poisoned") = saved;
        }
        Ok((CpuStorage::F32(out), Shape::from((self.n_rows, n))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w_x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let saved = std::mem::take(&mut *self.saved.lock().expect("saved states poisoned"));
        if saved.len() != self.chunks.len() {
            candle_core::bail!("recurrence: backward without a recorded forward pass");
        }
        let (k, n) = (w_x.dim(0)?, w.dim(0)?);
        let xs = x.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let g_out = grad.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let w_t = w.t()?.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let w_t = MatRef::from_row_major_slice(&w_t, n, n);
        let results = self.per_chunk(|i, c| {
            self.backward_chunk(c, &saved[i], &xs, k, &g_out[c.lo * n..c.hi * n], w_t)
        });
        let mut d_x = vec![0f32; k * n];
        let mut d_w = vec![0f32; n * n];
        for (dx, dw) in &results {
            for (acc, v) in d_x.iter_mut().zip(dx) {
                *acc += v;
            }
            for (acc, v) in d_w.iter_mut().zip(dw) {
                *acc += v;
            }
        }
        let dev = w.device();
        let d_w = match self.grad_w {
            true => Some(Tensor::from_vec(d_w, (n, n), dev)?),
            false => None,
        };
        Ok((None, Some(Tensor::from_vec(d_x, (k, n), dev)?), d_w))
    }
}

/// Whether [`final_states`] runs on these parameters: f32 on the CPU.
pub(crate) fn supported(w_h: &Tensor) -> bool {
    w_h.device().is_cpu() && w_h.dtype() == DType::F32
}

/// The state at each row's last step, `(n_rows, n)`, from the stacked inputs `x` `(sum_t active[t], d + 1)` (step
/// `t`: the first `active[t]` rows, `active` non-increasing, each row ending with a 1), the input kernel with the
/// bias as its last row `w_xb` `(d + 1, n)` and the recurrent kernel `w_h` `(n, n)`. Differentiable with respect to
/// both kernels; a detached `w_h` (a frozen kernel) gets no gradient and costs none.
pub(crate) fn final_states(
    cell: &CellKind,
    x: &Tensor,
    w_xb: &Tensor,
    w_h: &Tensor,
    active: &[usize],
) -> candle_core::Result<Tensor> {
    let update = match cell {
        CellKind::Mf(c) => Update::Mf(MfKernel::new(c)),
        CellKind::Tanh => Update::Tanh,
        CellKind::LeakyEsn { .. } => unreachable!("RnnConfig::check refuses the leaky-ESN cell"),
    };
    let threads = candle_core::utils::get_num_threads().max(1);
    final_states_on(update, x, w_xb, w_h, active, threads)
}

fn final_states_on(
    update: Update,
    x: &Tensor,
    w_xb: &Tensor,
    w_h: &Tensor,
    active: &[usize],
    threads: usize,
) -> candle_core::Result<Tensor> {
    let n_rows = active.first().copied().unwrap_or(0);
    let keep = w_xb.track_op() || w_h.track_op();
    let mut op = Recurrence::new(update, active.to_vec(), n_rows, keep, w_h.track_op());
    op.threads = threads;
    x.contiguous()?
        .apply_op3(&w_xb.contiguous()?, &w_h.contiguous()?, op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::final_states_stepwise;
    use candle_core::{Device, Var};
    use mf_core::rng::rng_from_seed;
    use mf_core::MfCell;
    use rand::Rng;

    fn random(shape: (usize, usize), scale: f64, seed: u64) -> Tensor {
        let mut rng = rng_from_seed(seed);
        let v: Vec<f32> = (0..shape.0 * shape.1)
            .map(|_| (rng.random::<f64>() * 2.0 - 1.0) as f32 * scale as f32)
            .collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// Active rows per step of 70 rows with lengths 1..=9 (sorted longest first): three chunks, the last partial,
    /// and rows ending at every step.
    fn active_counts() -> Vec<usize> {
        let mut lengths: Vec<usize> = (0..70).map(|i| 1 + (i * 37) % 9).collect();
        lengths.sort_by(|a, b| b.cmp(a));
        (0..lengths[0])
            .map(|t| lengths.iter().filter(|&&l| l > t).count())
            .collect()
    }

    fn update_of(cell: &CellKind) -> Update {
        match cell {
            CellKind::Mf(c) => Update::Mf(MfKernel::new(c)),
            CellKind::Tanh => Update::Tanh,
            CellKind::LeakyEsn { .. } => {
                unreachable!("RnnConfig::check refuses the leaky-ESN cell")
            }
        }
    }

    /// Stacked inputs `(total, d + 1)` with the trailing 1.
    fn inputs(total: usize, d: usize, seed: u64) -> Tensor {
        let x = random((total, d), 1.0, seed);
        Tensor::cat(
            &[
                x,
                Tensor::ones((total, 1), DType::F32, &Device::Cpu).unwrap(),
            ],
            1,
        )
        .unwrap()
    }

    #[test]
    fn states_and_gradients_match_the_stepwise_oracle() {
        let active = active_counts();
        let total: usize = active.iter().sum();
        let (d, n) = (3, 12);
        for cell in [
            CellKind::Mf(MfCell::new(0.1, 0.8, 5.0)),
            CellKind::Mf(MfCell::new(0.01, 1.0, 1.0)),
            CellKind::Tanh,
        ] {
            let x = inputs(total, d, 1);
            let wx = Var::from_tensor(&random((d + 1, n), 1.0, 8)).unwrap();
            let w = Var::from_tensor(&random((n, n), 0.5, 2)).unwrap();
            // A loss that weighs every unit of every final state differently.
            let r = random((active[0], n), 1.0, 3);
            let loss = |h: &Tensor| (h * &r).unwrap().sum_all().unwrap();
            let update = update_of(&cell);
            let fused =
                final_states_on(update, &x, wx.as_tensor(), w.as_tensor(), &active, 2).unwrap();
            // The oracle: the same recurrence step by step with candle's primitive operations (the unfused MF
            // step).
            let (wx_t, w_t) = (wx.as_tensor(), w.as_tensor());
            let oracle = final_states_stepwise(&cell, &x, wx_t, w_t, &active, false).unwrap();
            let (gf, go) = (
                loss(&fused).backward().unwrap(),
                loss(&oracle).backward().unwrap(),
            );
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let close = |a: &[f32], b: &[f32], what: &str| {
                let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (x - y).abs() <= 2e-5 * scale.max(1e-3),
                        "{cell:?} {what} {i}: {x} vs {y}"
                    );
                }
            };
            close(&flat(&fused), &flat(&oracle), "state");
            close(
                &flat(gf.get(&wx).unwrap()),
                &flat(go.get(&wx).unwrap()),
                "dW_xb",
            );
            close(
                &flat(gf.get(&w).unwrap()),
                &flat(go.get(&w).unwrap()),
                "dW_h",
            );
        }
    }

    /// The final states and the gradients of both kernels (of the sum of squared final states), as bits.
    fn run_bits(
        cell: &CellKind,
        (x, wx, w): (&Tensor, &Var, &Var),
        threads: usize,
    ) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let active = active_counts();
        let (wx_t, w_t) = (wx.as_tensor(), w.as_tensor());
        let h = final_states_on(update_of(cell), x, wx_t, w_t, &active, threads).unwrap();
        let g = h.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let bits = |t: &Tensor| -> Vec<u32> {
            let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            v.iter().map(|v| v.to_bits()).collect()
        };
        (bits(&h), bits(g.get(wx).unwrap()), bits(g.get(w).unwrap()))
    }

    #[test]
    fn the_thread_count_does_not_change_a_bit() {
        let total: usize = active_counts().iter().sum();
        let cell = CellKind::Mf(MfCell::new(0.1, 0.8, 5.0));
        let x = inputs(total, 2, 4);
        let wx = Var::from_tensor(&random((3, 9), 1.0, 9)).unwrap();
        let w = Var::from_tensor(&random((9, 9), 0.5, 5)).unwrap();
        let one = run_bits(&cell, (&x, &wx, &w), 1);
        assert_eq!(one, run_bits(&cell, (&x, &wx, &w), 2));
        assert_eq!(one, run_bits(&cell, (&x, &wx, &w), 3));
    }

    #[test]
    fn arrays_reused_from_an_earlier_batch_change_no_bit() {
        let cell = CellKind::Mf(MfCell::new(0.1, 0.8, 5.0));
        let total: usize = active_counts().iter().sum();
        // A problem of `n` units.
        let run = |n: usize, seed: u64| {
            let x = inputs(total, 2, seed);
            let wx = Var::from_tensor(&random((3, n), 1.0, seed + 1)).unwrap();
            let w = Var::from_tensor(&random((n, n), 0.5, seed + 2)).unwrap();
            run_bits(&cell, (&x, &wx, &w), 1)
        };
        let first = run(9, 20);
        // A larger problem leaves larger arrays full of its own values in the pool; the small one reuses them.
        run(31, 40);
        assert_eq!(first, run(9, 20));
    }

    #[test]
    fn a_detached_recurrent_kernel_gets_no_gradient_and_leaves_the_others_bit_for_bit() {
        let active = active_counts();
        let total: usize = active.iter().sum();
        let (d, n) = (2, 9);
        let x = inputs(total, d, 4);
        let wx = Var::from_tensor(&random((d + 1, n), 1.0, 5)).unwrap();
        let w = Var::from_tensor(&random((n, n), 0.5, 6)).unwrap();
        let r = random((active[0], n), 1.0, 7);
        let cell = CellKind::Mf(MfCell::new(0.1, 0.8, 5.0));
        let grads = |w_h: &Tensor| {
            let h = final_states_on(update_of(&cell), &x, wx.as_tensor(), w_h, &active, 2).unwrap();
            (h * &r).unwrap().sum_all().unwrap().backward().unwrap()
        };
        let (tracked, frozen) = (grads(w.as_tensor()), grads(&w.as_tensor().detach()));
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(
            flat(tracked.get(&wx).unwrap()),
            flat(frozen.get(&wx).unwrap())
        );
        assert!(tracked.get(&w).is_some());
        assert!(frozen.get(&w).is_none());
    }

    #[test]
    fn without_gradients_nothing_is_kept() {
        let active = active_counts();
        let total: usize = active.iter().sum();
        let x = inputs(total, 1, 6);
        let (wx, w) = (random((2, 4), 1.0, 10), random((4, 4), 0.5, 7));
        let op = Recurrence::new(Update::Tanh, active.clone(), active[0], false, false);
        let h = x.apply_op3_no_bwd(&wx, &w, &op).unwrap();
        assert_eq!(h.dims(), [active[0], 4]);
        assert!(op.saved.lock().unwrap().is_empty());
    }
}
