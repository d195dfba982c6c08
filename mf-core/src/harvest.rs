//! Batched state harvesting: run a cell over a batch of variable-length series.
//!
//! Series are processed in order of decreasing length, so that at step `t` the series still running form a prefix
//! of the batch: each step is one `(n_active, N) @ (N, N)` product plus element-wise work, and a series' state stops
//! changing at its own last step without any masking arithmetic.
//!
//! The f32 path is tuned for one core: the sorted batch is cut into blocks of [`BLOCK`] series whose states and
//! pre-activations stay in cache for all their steps, the recurrent product is faer's sequential GEMM (or, for a
//! kernel with at most [`SPARSE_MAX_DENSITY`] of its entries non-zero, a product over those entries), and the
//! bias, the input product and the element-wise update follow in one pass compiled for AVX-512 or AVX2 with FMA
//! when the processor has them; the MF update is [`MfKernel`]'s. Blocks run on several threads when asked (see
//! [`HarvestOptions`]).

use std::sync::atomic::{AtomicBool, Ordering};

use faer::{Accum, MatMut, MatRef, Par};
use ndarray::{s, Array2, Array3};

use crate::fastmath::{madd, tanh_f32, tanh_rational, Simd};
use crate::rng::derive_seed;
use crate::variation::{unit_salt, CycleNoise, Devices};
use crate::{CellKind, CoreError, MfKernel, Sequences, Weights};

/// Number of series advanced together: `2 * BLOCK * N` floats of state and pre-activation stay in the L2 cache.
pub const BLOCK: usize = 256;

/// What [`harvest`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Harvest {
    /// State at each series' own last step, `(n_series, n_units)`, in the batch's order.
    pub last: Array2<f32>,
    /// Every state, `(n_series, max_len, n_units)`, NaN after each series' end; only when asked for.
    pub all: Option<Array3<f32>>,
}

/// What [`harvest_f64`] returns: as [`Harvest`], in double precision.
#[derive(Debug, Clone, PartialEq)]
pub struct HarvestF64 {
    /// State at each series' own last step, `(n_series, n_units)`, in the batch's order.
    pub last: Array2<f64>,
    /// Every state, `(n_series, max_len, n_units)`, NaN after each series' end; only when asked for.
    pub all: Option<Array3<f64>>,
}

/// Options of [`harvest`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HarvestOptions {
    /// Also keep every intermediate state (memory `n_series * max_len * n_units`). Default false.
    pub keep_all: bool,
    /// Threads for batches of more than `BLOCK` series without `keep_all`: blocks are independent, so they are
    /// dealt out to threads and the result is the same bit for bit. 0 (the default) uses the calling thread's
    /// share of the cores ([`crate::threads::available`]: every core unless a sweep worker set its budget), 1 stays
    /// on the calling thread.
    pub threads: usize,
}

impl HarvestOptions {
    fn resolved_threads(&self, n_series: usize) -> usize {
        if self.keep_all || n_series <= BLOCK {
            return 1;
        }
        let t = match self.threads {
            0 => crate::threads::available(),
            t => t,
        };
        t.min(n_series.div_ceil(BLOCK))
    }
}

fn check_shapes<F>(weights: &Weights<F>, seqs: &Sequences) -> Result<(), CoreError> {
    weights.check()?;
    if seqs.n_inputs() != weights.n_inputs() {
        return Err(CoreError::Shape {
            what: "input dimensions".into(),
            expected: format!("{}", weights.n_inputs()),
            got: format!("{}", seqs.n_inputs()),
        });
    }
    if seqs.lengths.len() != seqs.n_series() {
        return Err(CoreError::Shape {
            what: "lengths".into(),
            expected: format!("{} entries", seqs.n_series()),
            got: format!("{}", seqs.lengths.len()),
        });
    }
    if let Some((i, &l)) = seqs
        .lengths
        .iter()
        .enumerate()
        .find(|(_, &l)| l == 0 || l > seqs.max_len())
    {
        return Err(CoreError::Shape {
            what: format!("length of series {i}"),
            expected: format!("1..={}", seqs.max_len()),
            got: format!("{l}"),
        });
    }
    Ok(())
}

/// Series indices by decreasing length, ties in batch order.
fn sorted_order(seqs: &Sequences) -> Vec<usize> {
    let mut order: Vec<usize> = (0..seqs.n_series()).collect();
    order.sort_by(|&a, &b| seqs.lengths[b].cmp(&seqs.lengths[a]).then(a.cmp(&b)));
    order
}

/// The element-wise update of a cell, with its constants in f32.
#[derive(Clone, Copy)]
enum Update {
    Mf(MfKernel),
    LeakyEsn(f32),
    Tanh,
}

impl Update {
    fn new(cell: &CellKind) -> Self {
        match cell {
            CellKind::Mf(c) => Update::Mf(MfKernel::new(c)),
            CellKind::LeakyEsn { alpha } => Update::LeakyEsn(*alpha as f32),
            CellKind::Tanh => Update::Tanh,
        }
    }
}

/// `h <- f(pre, h)` over a slice, written so that it vectorises.
#[inline(always)]
fn update_block_generic<const FMA: bool>(update: &Update, pre: &[f32], h: &mut [f32]) {
    match *update {
        Update::Mf(k) => k.update::<FMA>(pre, h),
        Update::LeakyEsn(alpha) => {
            for (h, &u) in h.iter_mut().zip(pre) {
                *h = madd::<FMA>(alpha, tanh_rational::<FMA>(u), (1.0 - alpha) * *h);
            }
        }
        Update::Tanh => {
            for (h, &u) in h.iter_mut().zip(pre) {
                *h = tanh_f32(u);
            }
        }
    }
}

/// One state vector advanced by one step, as a sequence task drives a reservoir along one long signal:
/// `pre = x @ w_in + h @ w_rec + bias`, then `h <- f(pre, h)` with the batch harvest's element-wise update (the
/// vectorised [`crate::fastmath`] exponential and tanh, not libm's), at the widest instruction set the processor
/// has. One step is a chain of small products bound by latency: the recurrent product keeps tiles of up to 96
/// columns of `pre` in registers over every row of `w_rec`, the narrower tiles with two accumulators each.
///
/// The AVX-512 and AVX2 paths give the same bits; the baseline path (no FMA) differs from them by a few units of
/// f32 rounding, as the batch harvest's does.
#[derive(Clone, Copy)]
pub struct VectorStep {
    simd: Simd,
    update: Update,
}

impl std::fmt::Debug for VectorStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorStep")
            .field("simd", &self.simd)
            .finish_non_exhaustive()
    }
}

impl VectorStep {
    /// The step of `cell` at the widest instruction set available.
    pub fn new(cell: &CellKind) -> Self {
        Self::with_simd(cell, Simd::detect())
    }

    /// The step of `cell` on the instruction set `simd`, or the widest the processor has when it lacks `simd`: to
    /// test the narrower paths on any machine.
    pub fn with_simd(cell: &CellKind, simd: Simd) -> Self {
        let detected = Simd::detect();
        let supported = match simd {
            Simd::Baseline => true,
            Simd::Avx2 => detected != Simd::Baseline,
            Simd::Avx512 => detected == Simd::Avx512,
        };
        // An instruction set the processor lacks falls back to the widest one it has, which is narrower.
        let simd = if supported { simd } else { detected };
        VectorStep {
            simd,
            update: Update::new(cell),
        }
    }

    /// The instruction set it runs on.
    pub fn simd(&self) -> Simd {
        self.simd
    }

    /// Advances `h` (`n` units) by one step with input `x` (`d` values): `w_in` is `(d, n)` and `w_rec` `(n, n)`,
    /// both row-major; `pre` (`n`) is scratch and holds the pre-activation afterwards.
    ///
    /// # Panics
    /// When the lengths disagree.
    pub fn step(
        &self,
        x: &[f32],
        w_in: &[f32],
        w_rec: &[f32],
        bias: &[f32],
        h: &mut [f32],
        pre: &mut [f32],
    ) {
        let n = bias.len();
        assert!(
            h.len() == n && pre.len() == n && w_in.len() == x.len() * n && w_rec.len() == n * n,
            "VectorStep::step: lengths disagree"
        );
        #[cfg(target_arch = "x86_64")]
        if self.simd == Simd::Avx512 {
            // SAFETY: `Simd::Avx512` is kept only when the running processor supports AVX-512F and FMA.
            unsafe { vector_step_avx512(&self.update, x, w_in, w_rec, bias, h, pre) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if self.simd == Simd::Avx2 {
            // SAFETY: `Simd::Avx2` is kept only when the running processor supports AVX2 and FMA.
            unsafe { vector_step_avx2(&self.update, x, w_in, w_rec, bias, h, pre) };
            return;
        }
        vector_step_generic::<false>(&self.update, x, w_in, w_rec, bias, h, pre)
    }
}

#[inline(always)]
fn vector_step_generic<const FMA: bool>(
    update: &Update,
    x: &[f32],
    w_in: &[f32],
    w_rec: &[f32],
    bias: &[f32],
    h: &mut [f32],
    pre: &mut [f32],
) {
    let n = bias.len();
    pre.copy_from_slice(bias);
    for (&v, row) in x.iter().zip(w_in.chunks_exact(n)) {
        for (p, &w) in pre.iter_mut().zip(row) {
            *p = madd::<FMA>(v, w, *p);
        }
    }
    let mut j0 = 0;
    while j0 + 96 <= n {
        recurrent_tile::<FMA, 96, false>(h, w_rec, j0, pre);
        j0 += 96;
    }
    while j0 + 32 <= n {
        recurrent_tile::<FMA, 32, true>(h, w_rec, j0, pre);
        j0 += 32;
    }
    while j0 + 8 <= n {
        recurrent_tile::<FMA, 8, true>(h, w_rec, j0, pre);
        j0 += 8;
    }
    while j0 + 4 <= n {
        recurrent_tile::<FMA, 4, true>(h, w_rec, j0, pre);
        j0 += 4;
    }
    while j0 < n {
        recurrent_tile::<FMA, 1, true>(h, w_rec, j0, pre);
        j0 += 1;
    }
    update_block_generic::<FMA>(update, pre, h);
}

/// `pre[j0..j0 + W] += h @ w_rec[.., j0..j0 + W]`, the columns' sums kept in registers over every row. A wide
/// tile (`PAIRS` false: 96 columns, twelve AVX2 registers) has chains enough to keep the FMA units busy; a
/// narrower one (`PAIRS`) sums the even and the odd rows in two accumulators, added at the end, so that two
/// chains run at once.
#[inline(always)]
fn recurrent_tile<const FMA: bool, const W: usize, const PAIRS: bool>(
    h: &[f32],
    w_rec: &[f32],
    j0: usize,
    pre: &mut [f32],
) {
    let n = h.len();
    let row = |i: usize| -> &[f32; W] { w_rec[i * n + j0..][..W].try_into().expect("W columns") };
    let mut even = [0.0f32; W];
    let mut odd = [0.0f32; W];
    if PAIRS {
        let mut pairs = h.chunks_exact(2);
        let mut i = 0;
        for hv in &mut pairs {
            let (r0, r1) = (row(i), row(i + 1));
            for k in 0..W {
                even[k] = madd::<FMA>(hv[0], r0[k], even[k]);
                odd[k] = madd::<FMA>(hv[1], r1[k], odd[k]);
            }
            i += 2;
        }
        if let [v] = pairs.remainder() {
            let r = row(i);
            for k in 0..W {
                even[k] = madd::<FMA>(*v, r[k], even[k]);
            }
        }
    } else {
        for (i, &v) in h.iter().enumerate() {
            let r = row(i);
            for k in 0..W {
                even[k] = madd::<FMA>(v, r[k], even[k]);
            }
        }
    }
    for (k, p) in pre[j0..j0 + W].iter_mut().enumerate() {
        *p += even[k] + odd[k];
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn vector_step_avx2(
    update: &Update,
    x: &[f32],
    w_in: &[f32],
    w_rec: &[f32],
    bias: &[f32],
    h: &mut [f32],
    pre: &mut [f32],
) {
    vector_step_generic::<true>(update, x, w_in, w_rec, bias, h, pre)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn vector_step_avx512(
    update: &Update,
    x: &[f32],
    w_in: &[f32],
    w_rec: &[f32],
    bias: &[f32],
    h: &mut [f32],
    pre: &mut [f32],
) {
    vector_step_generic::<true>(update, x, w_in, w_rec, bias, h, pre)
}

/// What a step adds to the recurrent product before the update (the bias and `x(t) @ w_in`), and the layout of
/// the block: states and pre-activations are stored column by column (unit by unit), `ld` floats apart, of which
/// the first `rows` (the series still running) are updated.
#[derive(Clone, Copy)]
struct StepInput<'a> {
    /// Inputs of the running series at this step, input by input: `xs[l * rows + r]`.
    xs: &'a [f32],
    /// `w_in`, `(d, units)` row-major.
    w_in: &'a [f32],
    /// `bias`, `(units)`.
    bias: &'a [f32],
    d: usize,
    rows: usize,
    ld: usize,
    /// Device-to-device variability: unit `j`'s column is updated with `kernels[j]` instead of the shared update.
    kernels: Option<&'a [MfKernel]>,
    /// Cycle-to-cycle noise: the high and low halves of each running series' counter at this step (`rows` of
    /// each) and `sigma`.
    noise: Option<(&'a [u32], &'a [u32], f32)>,
}

/// One step over a block, unit by unit: `pre += bias + x @ w_in`, then `h <- f(pre, h)`.
#[inline(always)]
fn step_block_generic<const FMA: bool>(
    update: &Update,
    inp: StepInput<'_>,
    pre: &mut [f32],
    h: &mut [f32],
) {
    let units = inp.bias.len();
    for j in 0..units {
        let col = j * inp.ld..j * inp.ld + inp.rows;
        let p = &mut pre[col.clone()];
        let b = inp.bias[j];
        for v in p.iter_mut() {
            *v += b;
        }
        for l in 0..inp.d {
            let w = inp.w_in[l * units + j];
            for (v, &x) in p.iter_mut().zip(&inp.xs[l * inp.rows..(l + 1) * inp.rows]) {
                *v = madd::<FMA>(x, w, *v);
            }
        }
        let unit = match inp.kernels {
            Some(k) => Update::Mf(k[j]),
            None => *update,
        };
        match (inp.noise, unit) {
            (Some((hi, lo, sigma)), Update::Mf(k)) => k.update_noisy::<FMA>(
                p,
                &mut h[col],
                &hi[..inp.rows],
                &lo[..inp.rows],
                unit_salt(j),
                sigma,
            ),
            _ => update_block_generic::<FMA>(&unit, p, &mut h[col]),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn step_block_avx2(update: &Update, inp: StepInput<'_>, pre: &mut [f32], h: &mut [f32]) {
    step_block_generic::<true>(update, inp, pre, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn step_block_avx512(update: &Update, inp: StepInput<'_>, pre: &mut [f32], h: &mut [f32]) {
    step_block_generic::<true>(update, inp, pre, h)
}

/// Dispatches to the widest instruction set available. The AVX-512 and AVX2 paths perform the same IEEE operations
/// in the same order, fused multiply-adds included, so they give the same bits; the baseline path (processors
/// without FMA) rounds each product separately and differs from them by a few units of f32 rounding.
fn step_block(simd: Simd, update: &Update, inp: StepInput<'_>, pre: &mut [f32], h: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx512 {
        // SAFETY: `Simd::Avx512` is chosen only when the running processor supports AVX-512F and FMA (see
        // `Simd::detect`).
        unsafe { step_block_avx512(update, inp, pre, h) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx2 {
        // SAFETY: `Simd::Avx2` is chosen only when the running processor supports AVX2 and FMA (see
        // `Simd::detect`).
        unsafe { step_block_avx2(update, inp, pre, h) };
        return;
    }
    step_block_generic::<false>(update, inp, pre, h)
}

/// Largest fraction of non-zero entries for which the recurrent product runs over the kernel's non-zero entries
/// instead of faer's dense GEMM. Measured on one core of a 2-core Xeon with AVX-512, for a block of 256 series:
/// the product over non-zero entries is 1.3-1.6x faster than the dense one at density 0.1, 0.7-0.85x as fast at
/// density 0.2, and 7-13x faster at density 0.01-0.02, for N from 100 to 1000.
pub const SPARSE_MAX_DENSITY: f64 = 0.1;

/// A recurrent kernel column by column (unit `j`'s incoming weights), kept when at most [`SPARSE_MAX_DENSITY`] of
/// its entries are non-zero (a sparse reservoir, see [`crate::sparse`]).
struct SparseKernel {
    /// Column `j`'s entries are `starts[j]..starts[j + 1]` of `sources` and `values`.
    starts: Vec<usize>,
    /// The unit each entry comes from (the row of `w_rec`).
    sources: Vec<usize>,
    values: Vec<f32>,
}

impl SparseKernel {
    fn of(w_rec: &Array2<f32>) -> Option<Self> {
        let n = w_rec.ncols();
        let nnz = w_rec.iter().filter(|&&v| v != 0.0).count();
        if nnz as f64 > SPARSE_MAX_DENSITY * (n * n) as f64 {
            return None;
        }
        let mut k = SparseKernel {
            starts: Vec::with_capacity(n + 1),
            sources: Vec::with_capacity(nnz),
            values: Vec::with_capacity(nnz),
        };
        k.starts.push(0);
        for col in w_rec.columns() {
            for (i, &v) in col.iter().enumerate() {
                if v != 0.0 {
                    k.sources.push(i);
                    k.values.push(v);
                }
            }
            k.starts.push(k.sources.len());
        }
        Some(k)
    }
}

/// `pre = h @ w_rec` over the first `rows` rows of column-by-column blocks `ld` floats apart, from the non-zero
/// entries only: each is one multiply-add of a contiguous column of `h` into a column of `pre`.
#[inline(always)]
fn sparse_product_generic<const FMA: bool>(
    k: &SparseKernel,
    h: &[f32],
    pre: &mut [f32],
    rows: usize,
    ld: usize,
) {
    for j in 0..k.starts.len() - 1 {
        let out = &mut pre[j * ld..j * ld + rows];
        out.fill(0.0);
        for e in k.starts[j]..k.starts[j + 1] {
            let (src, w) = (k.sources[e], k.values[e]);
            for (o, &x) in out.iter_mut().zip(&h[src * ld..src * ld + rows]) {
                *o = madd::<FMA>(x, w, *o);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sparse_product_avx2(k: &SparseKernel, h: &[f32], pre: &mut [f32], rows: usize, ld: usize) {
    sparse_product_generic::<true>(k, h, pre, rows, ld)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn sparse_product_avx512(k: &SparseKernel, h: &[f32], pre: &mut [f32], rows: usize, ld: usize) {
    sparse_product_generic::<true>(k, h, pre, rows, ld)
}

/// [`sparse_product_generic`] for the widest instruction set available (as [`step_block`] dispatches).
fn sparse_product(
    simd: Simd,
    k: &SparseKernel,
    h: &[f32],
    pre: &mut [f32],
    rows: usize,
    ld: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx512 {
        // SAFETY: `Simd::Avx512` is chosen only when the running processor supports AVX-512F and FMA (see
        // `Simd::detect`).
        unsafe { sparse_product_avx512(k, h, pre, rows, ld) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx2 {
        // SAFETY: `Simd::Avx2` is chosen only when the running processor supports AVX2 and FMA (see
        // `Simd::detect`).
        unsafe { sparse_product_avx2(k, h, pre, rows, ld) };
        return;
    }
    sparse_product_generic::<false>(k, h, pre, rows, ld)
}

/// What every block of a harvest shares.
struct BlockCtx<'a> {
    update: Update,
    seqs: &'a Sequences,
    units: usize,
    d: usize,
    w_rec: MatRef<'a, f32>,
    /// The recurrent kernel's non-zero entries, when it is sparse enough for them to be faster.
    sparse: Option<SparseKernel>,
    w_in: &'a [f32],
    bias: &'a [f32],
    simd: Simd,
    /// One kernel per unit (device-to-device variability), else none.
    kernels: Option<Vec<MfKernel>>,
    /// Cycle-to-cycle noise, when on.
    noise: Option<CycleNoise>,
}

impl BlockCtx<'_> {
    /// Advances the series of `block` (sorted by decreasing length) from zero to their ends; their last states are
    /// left in `h[..block.len() * units]`, unit by unit (`h[j * block.len() + k]` is unit `j` of series `block[k]`).
    ///
    /// Column by column storage makes the recurrent product about a fifth faster than row by row (faer packs
    /// neither operand), and the series still running at a step are the first `active` entries of each column.
    /// With `first_bad`, the first step after which a state of the block is not finite is written into it.
    fn run_block(
        &self,
        block: &[usize],
        h: &mut [f32],
        pre: &mut [f32],
        mut all: Option<&mut Array3<f32>>,
        mut first_bad: Option<&mut Option<usize>>,
    ) {
        let (units, seqs) = (self.units, self.seqs);
        let rows = block.len();
        let (h, pre) = (&mut h[..rows * units], &mut pre[..rows * units]);
        h.fill(0.0);
        let mut active = rows;
        let mut xs: Vec<f32> = Vec::with_capacity(rows * self.d);
        let with_noise = if self.noise.is_some() { rows } else { 0 };
        let (mut hi, mut lo) = (
            Vec::with_capacity(with_noise),
            Vec::with_capacity(with_noise),
        );
        // Each series' key once; its counter at step t is derive_seed(key, t) (see `CycleNoise::counter`).
        let keys: Vec<u64> = match &self.noise {
            Some(noise) => block.iter().map(|&i| noise.series_key(i)).collect(),
            None => Vec::new(),
        };
        for t in 0..seqs.lengths[block[0]] {
            while seqs.lengths[block[active - 1]] <= t {
                active -= 1;
            }
            if t == 0 {
                // h(0) = 0: the recurrent product vanishes.
                pre.fill(0.0);
            } else if let Some(k) = &self.sparse {
                sparse_product(self.simd, k, h, pre, active, rows);
            } else {
                faer::linalg::matmul::matmul(
                    MatMut::from_column_major_slice_with_stride_mut(&mut *pre, active, units, rows),
                    Accum::Replace,
                    MatRef::from_column_major_slice_with_stride(&*h, active, units, rows),
                    self.w_rec,
                    1.0f32,
                    Par::Seq,
                );
            }
            xs.clear();
            for l in 0..self.d {
                xs.extend(block[..active].iter().map(|&i| seqs.x[[i, t, l]]));
            }
            if self.noise.is_some() {
                hi.clear();
                lo.clear();
                for &key in &keys[..active] {
                    let c = derive_seed(key, t as u64);
                    hi.push((c >> 32) as u32);
                    lo.push(c as u32);
                }
            }
            let inp = StepInput {
                xs: &xs,
                w_in: self.w_in,
                bias: self.bias,
                d: self.d,
                rows: active,
                ld: rows,
                kernels: self.kernels.as_deref(),
                noise: self.noise.map(|n| (&hi[..], &lo[..], n.sigma as f32)),
            };
            step_block(self.simd, &self.update, inp, pre, h);
            if let Some(bad) = first_bad.as_deref_mut() {
                if bad.is_none() && h.iter().any(|v| !v.is_finite()) {
                    *bad = Some(t);
                }
            }
            if let Some(all) = all.as_deref_mut() {
                for (k, &i) in block[..active].iter().enumerate() {
                    for j in 0..units {
                        all[[i, t, j]] = h[j * rows + k];
                    }
                }
            }
        }
    }
}

/// Runs `cell` with `weights` over every series of `seqs` from `h(0) = 0`.
///
/// Returns an error if the shapes disagree, or [`CoreError::NonFinite`] naming the first series (in batch order)
/// whose state stops being finite, and the step at which it does.
pub fn harvest(
    cell: &CellKind,
    weights: &Weights<f32>,
    seqs: &Sequences,
    opts: HarvestOptions,
) -> Result<Harvest, CoreError> {
    harvest_cancellable(cell, weights, seqs, opts, &AtomicBool::new(false))
}

/// [`harvest`] that stops with [`CoreError::Cancelled`] once `cancel` is set; the flag is read before each
/// block of series, so a set flag is seen within one block's run.
pub fn harvest_cancellable(
    cell: &CellKind,
    weights: &Weights<f32>,
    seqs: &Sequences,
    opts: HarvestOptions,
    cancel: &AtomicBool,
) -> Result<Harvest, CoreError> {
    harvest_with_devices(cell, weights, seqs, opts, &Devices::default(), cancel)
}

/// [`harvest_cancellable`] on non-ideal MF neurons (see [`crate::variation`]): unit `j` runs with its own
/// constants when `devices.units` is set, and every unit's rates take the cycle-to-cycle factors of
/// `devices.cycle` at every step, series `i` of `seqs` drawing as series `first_series + i` of the noise. With
/// the ideal device (the default) it is [`harvest_cancellable`] bit for bit. Only the MF cell has a device: any
/// other cell with a non-ideal one is [`CoreError::Param`].
pub fn harvest_with_devices(
    cell: &CellKind,
    weights: &Weights<f32>,
    seqs: &Sequences,
    opts: HarvestOptions,
    devices: &Devices,
    cancel: &AtomicBool,
) -> Result<Harvest, CoreError> {
    check_shapes(weights, seqs)?;
    devices.check(weights.n_units())?;
    let (kernels, noise) = match cell {
        CellKind::Mf(c) => (
            devices.units.as_ref().map(|u| u.kernels(c)),
            devices.cycle.filter(|n| n.sigma > 0.0),
        ),
        _ if devices.is_ideal() => (None, None),
        _ => {
            return Err(CoreError::Param {
                name: "devices",
                value: f64::NAN,
                reason: "only the MF cell has device variability or cycle-to-cycle noise",
            })
        }
    };
    let (n, t_max, d) = seqs.x.dim();
    let units = weights.n_units();
    let order = sorted_order(seqs);
    let w_rec = weights.w_rec.as_standard_layout();
    let w_rec = w_rec.as_slice().expect("standard layout is contiguous");
    let w_rec = MatRef::from_row_major_slice(w_rec, units, units);
    let w_in = weights.w_in.as_standard_layout();
    let w_in = w_in.as_slice().expect("standard layout is contiguous");
    let bias = weights.bias.to_vec();
    let simd = Simd::detect();

    let ctx = BlockCtx {
        update: Update::new(cell),
        seqs,
        units,
        d,
        w_rec,
        sparse: SparseKernel::of(&weights.w_rec),
        w_in,
        bias: &bias,
        simd,
        kernels,
        noise,
    };
    let mut last = Array2::<f32>::zeros((n, units));
    let mut all = opts
        .keep_all
        .then(|| Array3::<f32>::from_elem((n, t_max, units), f32::NAN));
    let blocks: Vec<&[usize]> = order.chunks(BLOCK).collect();
    let threads = opts.resolved_threads(n);
    // A block's last states, unit by unit, into the rows of `last`.
    let mut put_last = |block: &[usize], h: &[f32]| {
        let rows = block.len();
        for (k, &i) in block.iter().enumerate() {
            for (j, v) in last.row_mut(i).iter_mut().enumerate() {
                *v = h[j * rows + k];
            }
        }
    };
    if threads > 1 {
        // Thread j advances blocks j, j + threads, ... (blocks are sorted by length, so this balances the work)
        // and returns their last states in that order.
        let ctx = &ctx;
        let blocks = &blocks;
        let outs: Vec<Vec<f32>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|j| {
                    scope.spawn(move || {
                        let mut h = vec![0.0f32; BLOCK * units];
                        let mut pre = vec![0.0f32; h.len()];
                        let mut out = Vec::new();
                        for block in blocks.iter().skip(j).step_by(threads) {
                            if cancel.load(Ordering::Relaxed) {
                                break;
                            }
                            ctx.run_block(block, &mut h, &mut pre, None, None);
                            out.extend_from_slice(&h[..block.len() * units]);
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|t| t.join().expect("a harvest thread panicked"))
                .collect()
        });
        if cancel.load(Ordering::Relaxed) {
            return Err(CoreError::Cancelled);
        }
        for (j, out) in outs.iter().enumerate() {
            let mut offset = 0;
            for block in blocks.iter().skip(j).step_by(threads) {
                let len = block.len() * units;
                put_last(block, &out[offset..offset + len]);
                offset += len;
            }
        }
    } else {
        let mut h = vec![0.0f32; BLOCK.min(n.max(1)) * units];
        let mut pre = vec![0.0f32; h.len()];
        for block in &blocks {
            if cancel.load(Ordering::Relaxed) {
                return Err(CoreError::Cancelled);
            }
            ctx.run_block(block, &mut h, &mut pre, all.as_mut(), None);
            put_last(block, &h);
        }
    }
    if let Some(i) = (0..n).find(|&i| last.row(i).iter().any(|v| !v.is_finite())) {
        // Series `i` again on its own, with the same kernels and noise, watching every step (a series whose
        // final state is non-finite has a first such step: NaN and infinity propagate through every cell).
        let mut h = vec![0.0f32; units];
        let mut pre = vec![0.0f32; units];
        let mut bad = None;
        ctx.run_block(&[i], &mut h, &mut pre, None, Some(&mut bad));
        return Err(CoreError::NonFinite {
            series: i,
            step: bad.unwrap_or(seqs.lengths[i] - 1),
        });
    }
    Ok(Harvest { last, all })
}

/// [`harvest`] in f64 with the exact scalar update ([`CellKind::update_scalar`]), for analysis and as a
/// reference; about an order of magnitude slower.
pub fn harvest_f64(
    cell: &CellKind,
    weights: &Weights<f64>,
    seqs: &Sequences,
    opts: HarvestOptions,
) -> Result<HarvestF64, CoreError> {
    harvest_f64_with(
        |u, h| cell.update_scalar(u, h),
        weights,
        seqs,
        opts,
        &AtomicBool::new(false),
    )
}

/// [`harvest_f64`] with any element-wise update `h <- update(pre, h)` (a cell advanced by another integrator,
/// see [`crate::integrate`]); stops with [`CoreError::Cancelled`] once `cancel` is set (read at every step).
pub fn harvest_f64_with<U: Fn(f64, f64) -> f64>(
    update: U,
    weights: &Weights<f64>,
    seqs: &Sequences,
    opts: HarvestOptions,
    cancel: &AtomicBool,
) -> Result<HarvestF64, CoreError> {
    check_shapes(weights, seqs)?;
    let (n, t_max, _) = seqs.x.dim();
    let units = weights.n_units();
    let order = sorted_order(seqs);
    let mut h = Array2::<f64>::zeros((n, units));
    let mut pre = Array2::<f64>::zeros((n, units));
    let mut all = opts
        .keep_all
        .then(|| Array3::<f64>::from_elem((n, t_max, units), f64::NAN));
    let mut active = n;
    for t in 0..t_max {
        while active > 0 && seqs.lengths[order[active - 1]] <= t {
            active -= 1;
        }
        if active == 0 {
            break;
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(CoreError::Cancelled);
        }
        let xs = Array2::from_shape_fn((active, seqs.n_inputs()), |(k, l)| {
            f64::from(seqs.x[[order[k], t, l]])
        });
        let mut p = pre.slice_mut(s![..active, ..]);
        p.assign(&xs.dot(&weights.w_in));
        p += &weights.bias;
        ndarray::linalg::general_mat_mul(
            1.0,
            &h.slice(s![..active, ..]),
            &weights.w_rec,
            1.0,
            &mut p,
        );
        ndarray::Zip::from(h.slice_mut(s![..active, ..]))
            .and(&p)
            .for_each(|h, &u| *h = update(u, *h));
        if let Some(all) = all.as_mut() {
            for (k, &i) in order[..active].iter().enumerate() {
                all.slice_mut(s![i, t, ..]).assign(&h.row(k));
            }
        }
    }
    let mut last = Array2::<f64>::zeros((n, units));
    for (k, &i) in order.iter().enumerate() {
        last.row_mut(i).assign(&h.row(k));
    }
    if let Some(i) = (0..n).find(|&i| last.row(i).iter().any(|v| !v.is_finite())) {
        let step = match &all {
            Some(all) => (0..seqs.lengths[i])
                .find(|&t| all.slice(s![i, t, ..]).iter().any(|v| !v.is_finite()))
                .unwrap_or(seqs.lengths[i] - 1),
            None => seqs.lengths[i] - 1,
        };
        return Err(CoreError::NonFinite { series: i, step });
    }
    Ok(HarvestF64 { last, all })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::ReservoirInit;
    use crate::linalg::uniform_matrix;
    use crate::rng::rng_from_seed;
    use crate::variation::UnitPhysics;
    use crate::MfCell;
    use ndarray::Array1;

    /// The naive reference: one series at a time, one unit at a time, in f64 with the scalar update.
    fn reference(
        cell: &CellKind,
        w: &Weights<f64>,
        x: ndarray::ArrayView2<'_, f32>,
    ) -> Vec<Array1<f64>> {
        let units = w.n_units();
        let mut h = Array1::<f64>::zeros(units);
        let mut states = Vec::new();
        for row in x.rows() {
            let mut next = Array1::zeros(units);
            for i in 0..units {
                let mut pre = w.bias[i];
                for (l, &xl) in row.iter().enumerate() {
                    pre += f64::from(xl) * w.w_in[[l, i]];
                }
                for j in 0..units {
                    pre += h[j] * w.w_rec[[j, i]];
                }
                next[i] = cell.update_scalar(pre, h[i]);
            }
            h = next;
            states.push(h.clone());
        }
        states
    }

    /// A batch of `lengths.len()` series with `d` inputs, NaN after each series' end.
    fn batch(lengths: &[usize], d: usize, seed: u64) -> Sequences {
        let t = *lengths.iter().max().unwrap();
        let mut rng = rng_from_seed(seed);
        let v = uniform_matrix(lengths.len() * t, d, 1.0, &mut rng).mapv(|v| v as f32);
        let mut x =
            Array3::from_shape_vec((lengths.len(), t, d), v.into_raw_vec_and_offset().0).unwrap();
        for (i, &l) in lengths.iter().enumerate() {
            x.slice_mut(s![i, l.., ..]).fill(f32::NAN);
        }
        Sequences::new(x, lengths.to_vec()).unwrap()
    }

    #[test]
    fn a_set_cancel_flag_stops_the_harvest_and_a_clear_one_changes_nothing() {
        let seqs = batch(&[5; 600], 2, 3);
        let w = weights(8, 2, 1);
        let cell = CellKind::Mf(MfCell::new(0.1, 0.9, 5.0));
        for threads in [1, 2] {
            let opts = HarvestOptions {
                keep_all: false,
                threads,
            };
            let stop = AtomicBool::new(true);
            assert!(matches!(
                harvest_cancellable(&cell, &w, &seqs, opts, &stop),
                Err(CoreError::Cancelled)
            ));
            let go = AtomicBool::new(false);
            assert_eq!(
                harvest_cancellable(&cell, &w, &seqs, opts, &go)
                    .unwrap()
                    .last,
                harvest(&cell, &w, &seqs, opts).unwrap().last
            );
        }
    }

    #[test]
    fn threads_give_the_same_bits_as_one_thread_and_as_keep_all() {
        // 1100 series of unequal lengths: five blocks, dealt out unevenly to 2 and 3 threads.
        let lengths: Vec<usize> = (0..1100).map(|i| 3 + (i * 7919) % 23).collect();
        let seqs = batch(&lengths, 2, 9);
        let w = weights(12, 2, 4);
        for cell in [
            CellKind::Mf(MfCell::new(0.1, 0.9, 5.0)),
            CellKind::LeakyEsn { alpha: 0.3 },
        ] {
            let one = harvest(
                &cell,
                &w,
                &seqs,
                HarvestOptions {
                    keep_all: false,
                    threads: 1,
                },
            )
            .unwrap();
            let all = harvest(
                &cell,
                &w,
                &seqs,
                HarvestOptions {
                    keep_all: true,
                    threads: 3,
                },
            )
            .unwrap();
            assert_eq!(one.last, all.last);
            for threads in [0, 2, 3, 64] {
                let many = harvest(
                    &cell,
                    &w,
                    &seqs,
                    HarvestOptions {
                        keep_all: false,
                        threads,
                    },
                )
                .unwrap();
                assert_eq!(many.last, one.last, "{threads} threads");
            }
        }
        assert_eq!(HarvestOptions::default().resolved_threads(100), 1);
        assert_eq!(
            HarvestOptions {
                keep_all: false,
                threads: 8
            }
            .resolved_threads(1100),
            5
        );
    }

    fn weights(n: usize, d: usize, seed: u64) -> Weights<f32> {
        let init = ReservoirInit {
            n_units: n,
            scalings: crate::init::Scalings {
                omega: 1.0,
                beta: 0.5,
                rho: 0.9,
            },
            spectral: Default::default(),
        };
        init.draw(d, &mut rng_from_seed(seed)).unwrap()
    }

    /// An MF cell whose physics is off Table II's `eta_p = 10 eta_d`, so that it takes the three-exponential path.
    fn mf_other_physics() -> MfCell {
        let mut c = MfCell::new(0.1, 0.9, 2.0);
        c.physics.eta_p = 8.0;
        c.physics.eta_d = 1.5;
        c
    }

    fn cells() -> [CellKind; 6] {
        [
            CellKind::Mf(MfCell::new(0.1, 0.9, 1.0)),
            CellKind::Mf(MfCell::new(0.01, 0.5, 5.0)),
            CellKind::Mf(MfCell::new(0.001, 1.0, 5.0)),
            CellKind::Mf(mf_other_physics()),
            CellKind::LeakyEsn { alpha: 0.3 },
            CellKind::Tanh,
        ]
    }

    /// The one-vector step against the f64 reference of each cell (`CellKind::update_scalar` on a plain f64
    /// product), for 103 units (a remainder of three rows after the blocks of four) and two inputs, along 50
    /// steps; every instruction set this processor has gives the same bits but the baseline, which is close.
    #[test]
    fn the_vector_step_follows_the_f64_reference_on_every_instruction_set() {
        let mut rng = crate::rng::rng_from_seed(11);
        let (n, d) = (103, 2);
        let flat = |m: Array2<f64>| m.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let w_in = flat(uniform_matrix(d, n, 1.0, &mut rng));
        let w_rec = flat(uniform_matrix(n, n, 0.1, &mut rng));
        let bias = flat(uniform_matrix(1, n, 0.2, &mut rng));
        let xs = flat(uniform_matrix(50, d, 1.0, &mut rng));
        for cell in cells() {
            let mut runs = Vec::new();
            for simd in [Simd::Baseline, Simd::Avx2, Simd::Avx512] {
                let step = VectorStep::with_simd(&cell, simd);
                let (mut h, mut pre) = (vec![0.0f32; n], vec![0.0f32; n]);
                let mut h64 = vec![0.0f64; n];
                for x in xs.chunks_exact(d) {
                    step.step(x, &w_in, &w_rec, &bias, &mut h, &mut pre);
                    let pre64: Vec<f64> = (0..n)
                        .map(|j| {
                            f64::from(bias[j])
                                + (0..d)
                                    .map(|k| f64::from(x[k]) * f64::from(w_in[k * n + j]))
                                    .sum::<f64>()
                                + (0..n)
                                    .map(|i| h64[i] * f64::from(w_rec[i * n + j]))
                                    .sum::<f64>()
                        })
                        .collect();
                    h64 = (0..n)
                        .map(|j| cell.update_scalar(pre64[j], h64[j]))
                        .collect();
                }
                let worst = h
                    .iter()
                    .zip(&h64)
                    .map(|(&a, &b)| (f64::from(a) - b).abs())
                    .fold(0.0, f64::max);
                assert!(worst < 2e-5, "{cell:?} on {:?}: {worst}", step.simd());
                runs.push((step.simd(), h));
            }
            for (simd, h) in &runs[1..] {
                if *simd != Simd::Baseline {
                    assert_eq!(
                        h.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        runs.iter()
                            .find(|(s, _)| *s != Simd::Baseline)
                            .unwrap()
                            .1
                            .iter()
                            .map(|v| v.to_bits())
                            .collect::<Vec<_>>(),
                        "{cell:?}: {simd:?} and the other FMA path differ"
                    );
                }
            }
        }
    }

    #[test]
    fn unequal_lengths_give_the_states_of_each_series_run_alone() {
        // More series than one block, so that blocks and the shrinking active prefix are both exercised.
        let lengths: Vec<usize> = (0..300).map(|i| 1 + (i * 7919) % 23).collect();
        let seqs = batch(&lengths, 3, 1);
        let w = weights(17, 3, 2);
        let w64 = w.to_f64();
        for cell in cells() {
            let got = harvest(
                &cell,
                &w,
                &seqs,
                HarvestOptions {
                    keep_all: true,
                    threads: 1,
                },
            )
            .unwrap();
            let got64 = harvest_f64(
                &cell,
                &w64,
                &seqs,
                HarvestOptions {
                    keep_all: true,
                    threads: 1,
                },
            )
            .unwrap();
            for i in (0..lengths.len()).step_by(7) {
                let states = reference(&cell, &w64, seqs.series(i));
                let want = states.last().unwrap();
                for u in 0..17 {
                    let (g, g64) = (got.last[[i, u]] as f64, got64.last[[i, u]]);
                    assert!(
                        (g - want[u]).abs() < 1e-4,
                        "{cell:?} series {i} unit {u}: {g} vs {}",
                        want[u]
                    );
                    assert!(
                        (g64 - want[u]).abs() < 1e-12,
                        "{cell:?} f64 series {i}: {g64} vs {}",
                        want[u]
                    );
                }
                for (t, st) in states.iter().enumerate() {
                    let all = got64.all.as_ref().unwrap();
                    assert!((all[[i, t, 0]] - st[0]).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn a_sparse_kernel_takes_the_product_over_its_entries_and_gives_each_series_state() {
        use crate::sparse::Connectivity;
        let lengths: Vec<usize> = (0..300).map(|i| 1 + (i * 7919) % 23).collect();
        let seqs = batch(&lengths, 2, 21);
        let init = ReservoirInit {
            n_units: 40,
            scalings: crate::init::Scalings {
                omega: 1.0,
                beta: 0.5,
                rho: 0.9,
            },
            spectral: Default::default(),
        };
        let sparse = Connectivity {
            density: 0.05,
            input_density: 1.0,
        };
        let w = sparse.draw(&init, 2, &mut rng_from_seed(22)).unwrap();
        assert!(SparseKernel::of(&w.w_rec).is_some());
        assert!(SparseKernel::of(&weights(40, 2, 22).w_rec).is_none());
        let w64 = w.to_f64();
        for cell in cells() {
            let one = harvest(
                &cell,
                &w,
                &seqs,
                HarvestOptions {
                    keep_all: true,
                    threads: 1,
                },
            )
            .unwrap();
            let two = harvest(
                &cell,
                &w,
                &seqs,
                HarvestOptions {
                    keep_all: false,
                    threads: 2,
                },
            )
            .unwrap();
            assert_eq!(one.last, two.last);
            for i in (0..lengths.len()).step_by(11) {
                let want = reference(&cell, &w64, seqs.series(i));
                for (u, v) in want.last().unwrap().iter().enumerate() {
                    let g = f64::from(one.last[[i, u]]);
                    assert!(
                        (g - v).abs() < 1e-4,
                        "{cell:?} series {i} unit {u}: {g} vs {v}"
                    );
                }
            }
        }
    }

    #[test]
    fn kept_states_end_at_the_last_state_and_are_nan_after_each_end() {
        let lengths = [5, 1, 3, 5, 2];
        let seqs = batch(&lengths, 2, 3);
        let w = weights(8, 2, 4);
        for cell in cells() {
            let h = harvest(
                &cell,
                &w,
                &seqs,
                HarvestOptions {
                    keep_all: true,
                    threads: 1,
                },
            )
            .unwrap();
            let plain = harvest(&cell, &w, &seqs, HarvestOptions::default()).unwrap();
            assert!(plain.all.is_none());
            assert_eq!(plain.last, h.last);
            let all = h.all.unwrap();
            assert_eq!(all.dim(), (5, 5, 8));
            for (i, &l) in lengths.iter().enumerate() {
                assert_eq!(all.slice(s![i, l - 1, ..]), h.last.row(i));
                assert!(all.slice(s![i, ..l, ..]).iter().all(|v| v.is_finite()));
                assert!(all.slice(s![i, l.., ..]).iter().all(|v| v.is_nan()));
            }
        }
    }

    #[test]
    fn harvesting_a_subset_gives_the_same_states() {
        let seqs = batch(&[4, 9, 2, 9, 6], 1, 5);
        let w = weights(10, 1, 6);
        let cell = CellKind::Mf(MfCell::new(0.1, 0.8, 5.0));
        let all = harvest(&cell, &w, &seqs, HarvestOptions::default()).unwrap();
        let sub = harvest(&cell, &w, &seqs.select(&[3, 0]), HarvestOptions::default()).unwrap();
        assert_eq!(sub.last.row(0), all.last.row(3));
        assert_eq!(sub.last.row(1), all.last.row(0));
    }

    #[test]
    fn a_nan_input_is_reported_with_its_series_and_step() {
        let mut seqs = batch(&[6, 4, 6], 2, 7);
        seqs.x[[1, 2, 1]] = f32::NAN;
        let w = weights(5, 2, 8);
        for cell in cells() {
            match harvest(&cell, &w, &seqs, HarvestOptions::default()) {
                Err(CoreError::NonFinite { series: 1, step: 2 }) => {}
                other => panic!("{cell:?}: {other:?}"),
            }
            match harvest_f64(
                &cell,
                &w.to_f64(),
                &seqs,
                HarvestOptions {
                    keep_all: true,
                    threads: 1,
                },
            ) {
                Err(CoreError::NonFinite { series: 1, step: 2 }) => {}
                other => panic!("{cell:?} f64: {other:?}"),
            }
        }
    }

    #[test]
    fn a_diverging_cell_is_reported_instead_of_returning_infinities() {
        // gamma - dt P stays below -1 for dt = 50: the state oscillates with growing amplitude until it overflows.
        let seqs = batch(&[400], 1, 9);
        let w = weights(4, 1, 10);
        let cell = CellKind::Mf(MfCell::new(50.0, 1.0, 1.0));
        assert!(matches!(
            harvest(&cell, &w, &seqs, HarvestOptions::default()),
            Err(CoreError::NonFinite { series: 0, .. })
        ));
    }

    #[test]
    fn mismatched_shapes_are_errors() {
        let seqs = batch(&[3, 2], 2, 11);
        let cell = CellKind::Tanh;
        let w = weights(6, 3, 12);
        assert!(matches!(
            harvest(&cell, &w, &seqs, HarvestOptions::default()),
            Err(CoreError::Shape { .. })
        ));
        let mut w = weights(6, 2, 12);
        w.bias = Array1::zeros(5);
        assert!(matches!(
            harvest(&cell, &w, &seqs, HarvestOptions::default()),
            Err(CoreError::Shape { .. })
        ));
        assert!(matches!(
            harvest_f64(&cell, &w.to_f64(), &seqs, HarvestOptions::default()),
            Err(CoreError::Shape { .. })
        ));
        let mut w = weights(6, 2, 12);
        w.w_rec = Array2::zeros((6, 5));
        assert!(matches!(
            harvest(&cell, &w, &seqs, HarvestOptions::default()),
            Err(CoreError::Shape { .. })
        ));
        // Lengths edited after construction are checked again.
        let mut bad = seqs.clone();
        bad.lengths[0] = 7;
        assert!(matches!(
            harvest(&cell, &weights(6, 2, 12), &bad, HarvestOptions::default()),
            Err(CoreError::Shape { .. })
        ));
    }

    #[test]
    fn the_simd_paths_agree_bit_for_bit_and_with_the_baseline_to_rounding() {
        let mut rng = rng_from_seed(16);
        let pre = uniform_matrix(1, 1000, 8.0, &mut rng)
            .mapv(|v| v as f32)
            .row(0)
            .to_vec();
        let h0 = uniform_matrix(1, 1000, 1.0, &mut rng)
            .mapv(|v| v as f32)
            .row(0)
            .to_vec();
        // 10 series of 100 units with 2 inputs each.
        let flat = |m: Array2<f64>| m.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let xs = flat(uniform_matrix(10, 2, 1.0, &mut rng));
        let w_in = flat(uniform_matrix(2, 100, 1.0, &mut rng));
        let bias = flat(uniform_matrix(1, 100, 0.5, &mut rng));
        let mut paths = vec![Simd::Baseline];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("fma") {
            if std::arch::is_x86_feature_detected!("avx2") {
                paths.push(Simd::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                paths.push(Simd::Avx512);
            }
        }
        for cell in cells() {
            let update = Update::new(&cell);
            let results: Vec<Vec<u32>> = paths
                .iter()
                .map(|&simd| {
                    let mut h = h0.clone();
                    let mut p = pre.clone();
                    let inp = StepInput {
                        xs: &xs,
                        w_in: &w_in,
                        bias: &bias,
                        d: 2,
                        rows: 10,
                        ld: 10,
                        kernels: None,
                        noise: None,
                    };
                    step_block(simd, &update, inp, &mut p, &mut h);
                    h.iter().map(|v| v.to_bits()).collect()
                })
                .collect();
            // The fused paths agree with each other exactly.
            assert!(results[1..].windows(2).all(|w| w[0] == w[1]), "{cell:?}");
            // And with the unfused baseline to f32 rounding.
            for fused in &results[1..] {
                for (k, (&x, &y)) in fused.iter().zip(&results[0]).enumerate() {
                    let (x, y) = (f32::from_bits(x), f32::from_bits(y));
                    assert!(
                        (x - y).abs() <= 2e-6 * y.abs().max(1.0),
                        "{cell:?} {k}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_empty_batch_gives_empty_states() {
        let seqs = Sequences::new(Array3::zeros((0, 3, 1)), vec![]).unwrap();
        let h = harvest(
            &CellKind::Tanh,
            &weights(4, 1, 13),
            &seqs,
            HarvestOptions::default(),
        )
        .unwrap();
        assert_eq!(h.last.dim(), (0, 4));
    }

    #[test]
    fn a_transposed_kernel_view_is_read_by_its_logical_layout() {
        let seqs = batch(&[5, 3], 1, 14);
        let w = weights(6, 1, 15);
        let mut wt = w.clone();
        wt.w_rec = w
            .w_rec
            .t()
            .as_standard_layout()
            .into_owned()
            .reversed_axes();
        assert_eq!(wt.w_rec, w.w_rec);
        let cell = CellKind::Mf(MfCell::new(0.1, 0.9, 1.0));
        let a = harvest(&cell, &w, &seqs, HarvestOptions::default()).unwrap();
        let b = harvest(&cell, &wt, &seqs, HarvestOptions::default()).unwrap();
        assert_eq!(a.last, b.last);
    }

    /// Table II's physics (the tenth-power kernel), physics off `eta_p = 10 eta_d`, and a third setting.
    fn device_cells() -> [MfCell; 3] {
        let mut third = MfCell::new(0.05, 0.9, 3.0);
        third.physics.kp0 = 3e-4;
        third.physics.kd0 = 0.3;
        third.physics.eta_p = 6.0;
        third.physics.eta_d = 2.5;
        [MfCell::new(0.01, 0.9, 5.0), mf_other_physics(), third]
    }

    /// Series `i` of `x` from zero in f64, unit `j` with its own physics and the cycle-to-cycle factors of
    /// `noise` (as [`CycleNoise::factors`] gives them) through [`crate::variation::update_scalar`].
    fn device_reference(
        cell: &MfCell,
        units: Option<&UnitPhysics>,
        noise: Option<&CycleNoise>,
        w: &Weights<f64>,
        x: ndarray::ArrayView2<'_, f32>,
        i: usize,
    ) -> Vec<Array1<f64>> {
        let n = w.n_units();
        let mut h = Array1::<f64>::zeros(n);
        let mut states = Vec::new();
        for (t, row) in x.rows().into_iter().enumerate() {
            let mut next = Array1::zeros(n);
            for j in 0..n {
                let mut pre = w.bias[j];
                for (l, &xl) in row.iter().enumerate() {
                    pre += f64::from(xl) * w.w_in[[l, j]];
                }
                for k in 0..n {
                    pre += h[k] * w.w_rec[[k, j]];
                }
                let p = units.map_or(cell.physics, |u| u.physics(&cell.physics, j));
                let (fp, fd) = noise.map_or((1.0, 1.0), |c| c.factors(i, t, j));
                next[j] = crate::variation::update_scalar(
                    cell,
                    &p,
                    pre,
                    h[j],
                    f64::from(fp),
                    f64::from(fd),
                );
            }
            h = next;
            states.push(h.clone());
        }
        states
    }

    fn keep_all() -> HarvestOptions {
        HarvestOptions {
            keep_all: true,
            threads: 1,
        }
    }

    #[test]
    fn ideal_devices_give_the_plain_harvest_bit_for_bit() {
        // Per-unit constants all at the nominal device, and noise of sigma 0: the plain harvest's bits.
        let lengths: Vec<usize> = (0..600).map(|i| 2 + (i * 7919) % 13).collect();
        let seqs = batch(&lengths, 2, 31);
        let w = weights(20, 2, 32);
        for cell in device_cells() {
            let kind = CellKind::Mf(cell);
            let nominal = Devices {
                units: Some(UnitPhysics::uniform(&cell.physics, 20)),
                cycle: Some(CycleNoise::new(0.0, 5)),
            };
            for opts in [
                keep_all(),
                HarvestOptions {
                    keep_all: false,
                    threads: 2,
                },
            ] {
                let plain = harvest(&kind, &w, &seqs, opts).unwrap();
                let stop = AtomicBool::new(false);
                for devices in [Devices::default(), nominal.clone()] {
                    let got =
                        harvest_with_devices(&kind, &w, &seqs, opts, &devices, &stop).unwrap();
                    let bits = |h: &Harvest| -> Vec<u32> {
                        let all = h.all.iter().flat_map(|a| a.iter());
                        h.last.iter().chain(all).map(|v| v.to_bits()).collect()
                    };
                    assert_eq!(bits(&got), bits(&plain), "{cell:?} {devices:?}");
                }
            }
        }
    }

    #[test]
    fn per_unit_physics_and_cycle_noise_match_an_f64_reference() {
        let lengths: Vec<usize> = (0..300).map(|i| 1 + (i * 7919) % 23).collect();
        let seqs = batch(&lengths, 2, 33);
        let w = weights(16, 2, 34);
        let w64 = w.to_f64();
        for cell in device_cells() {
            // The exponents enter exponentially: a few percent of spread already moves the rates by tens of
            // percent (and 30% would make Table II's Kp diverge at this dt).
            let units = UnitPhysics::draw(&cell.physics, 16, 0.05, &mut rng_from_seed(35));
            let noise = CycleNoise::new(0.2, 36);
            // The drawn exponents are off eta_p = 10 eta_d: every unit runs the three-exponential form.
            assert!(units.kernels(&cell).iter().all(|k| !k.is_tenth_power()));
            for devices in [
                Devices {
                    units: Some(units.clone()),
                    cycle: None,
                },
                Devices {
                    units: None,
                    cycle: Some(noise),
                },
                // Below sigma 0.15 the kernel skips the factors' clamp, which cannot act there.
                Devices {
                    units: None,
                    cycle: Some(CycleNoise::new(0.1, 36)),
                },
                Devices {
                    units: Some(units.clone()),
                    cycle: Some(noise),
                },
            ] {
                let kind = CellKind::Mf(cell);
                let stop = AtomicBool::new(false);
                let got =
                    harvest_with_devices(&kind, &w, &seqs, keep_all(), &devices, &stop).unwrap();
                let plain = harvest(&kind, &w, &seqs, keep_all()).unwrap();
                let mut moved = 0.0f64;
                for i in (0..lengths.len()).step_by(7) {
                    let want = device_reference(
                        &cell,
                        devices.units.as_ref(),
                        devices.cycle.as_ref(),
                        &w64,
                        seqs.series(i),
                        i,
                    );
                    let all = got.all.as_ref().unwrap();
                    for (t, st) in want.iter().enumerate() {
                        for (j, v) in st.iter().enumerate() {
                            let g = f64::from(all[[i, t, j]]);
                            assert!(
                                (g - v).abs() < 1e-4,
                                "{cell:?} {devices:?} series {i} step {t} unit {j}: {g} vs {v}"
                            );
                        }
                    }
                    for (a, b) in got.last.row(i).iter().zip(plain.last.row(i)) {
                        moved = moved.max(f64::from((a - b).abs()));
                    }
                }
                // The non-idealities change the states by far more than the tolerance above.
                assert!(moved > 1e-3, "{cell:?} {devices:?}: {moved}");
            }
        }
    }

    #[test]
    fn cycle_noise_is_the_same_on_any_thread_count_and_batch_and_differs_between_keys() {
        let lengths: Vec<usize> = (0..1100).map(|i| 3 + (i * 7919) % 23).collect();
        let seqs = batch(&lengths, 2, 37);
        let w = weights(12, 2, 38);
        let cell = MfCell::new(0.01, 0.9, 5.0);
        let kind = CellKind::Mf(cell);
        let devices = |key| Devices {
            units: Some(UnitPhysics::draw(
                &cell.physics,
                12,
                0.05,
                &mut rng_from_seed(39),
            )),
            cycle: Some(CycleNoise::new(0.1, key)),
        };
        let stop = AtomicBool::new(false);
        let run = |d: &Devices, seqs: &Sequences, opts| {
            harvest_with_devices(&kind, &w, seqs, opts, d, &stop).unwrap()
        };
        let d = devices(40);
        let one = run(
            &d,
            &seqs,
            HarvestOptions {
                keep_all: false,
                threads: 1,
            },
        );
        assert_eq!(run(&d, &seqs, keep_all()).last, one.last);
        for threads in [2, 3, 0] {
            let many = run(
                &d,
                &seqs,
                HarvestOptions {
                    keep_all: false,
                    threads,
                },
            );
            assert_eq!(many.last, one.last, "{threads} threads");
        }
        // A batch cut out of the run, told where it starts, draws the run's noise.
        let idx: Vec<usize> = (300..700).collect();
        let part_devices = Devices {
            cycle: d.cycle.map(|c| c.at_series(300)),
            ..d.clone()
        };
        let part = run(&part_devices, &seqs.select(&idx), HarvestOptions::default());
        for (k, &i) in idx.iter().enumerate() {
            assert_eq!(part.last.row(k), one.last.row(i));
        }
        // Another key draws other noise.
        let other = run(&devices(41), &seqs, HarvestOptions::default());
        assert_ne!(other.last, one.last);
    }

    #[test]
    fn the_device_kernels_agree_across_instruction_sets_and_vanish_at_zero() {
        let mut rng = rng_from_seed(42);
        let flat = |m: Array2<f64>| m.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let pre = flat(uniform_matrix(1, 1000, 8.0, &mut rng));
        let h0 = flat(uniform_matrix(1, 1000, 1.0, &mut rng));
        let xs = flat(uniform_matrix(10, 2, 1.0, &mut rng));
        let w_in = flat(uniform_matrix(2, 100, 1.0, &mut rng));
        let bias = flat(uniform_matrix(1, 100, 0.5, &mut rng));
        let noise = CycleNoise::new(0.2, 43);
        let (hi, lo): (Vec<u32>, Vec<u32>) = (0..10)
            .map(|i| {
                let c = noise.counter(i, 3);
                ((c >> 32) as u32, c as u32)
            })
            .unzip();
        let mut paths = vec![Simd::Baseline];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("fma") {
            if std::arch::is_x86_feature_detected!("avx2") {
                paths.push(Simd::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                paths.push(Simd::Avx512);
            }
        }
        for cell in device_cells() {
            let update = Update::new(&CellKind::Mf(cell));
            let drawn =
                UnitPhysics::draw(&cell.physics, 100, 0.3, &mut rng_from_seed(44)).kernels(&cell);
            let nominal = UnitPhysics::uniform(&cell.physics, 100).kernels(&cell);
            let step = |simd, kernels: Option<&[MfKernel]>, sigma: Option<f32>| -> Vec<u32> {
                let (mut h, mut p) = (h0.clone(), pre.clone());
                let inp = StepInput {
                    xs: &xs,
                    w_in: &w_in,
                    bias: &bias,
                    d: 2,
                    rows: 10,
                    ld: 10,
                    kernels,
                    noise: sigma.map(|s| (&hi[..], &lo[..], s)),
                };
                step_block(simd, &update, inp, &mut p, &mut h);
                h.iter().map(|v| v.to_bits()).collect()
            };
            for &simd in &paths {
                let plain = step(simd, None, None);
                // Nominal per-unit kernels and zero noise are the plain update, bit for bit.
                assert_eq!(step(simd, Some(&nominal), None), plain, "{cell:?} {simd:?}");
                assert_eq!(step(simd, None, Some(0.0)), plain, "{cell:?} {simd:?}");
                assert_eq!(
                    step(simd, Some(&nominal), Some(0.0)),
                    plain,
                    "{cell:?} {simd:?}"
                );
            }
            let on: Vec<Vec<u32>> = paths
                .iter()
                .map(|&simd| step(simd, Some(&drawn), Some(0.2)))
                .collect();
            assert!(on[1..].windows(2).all(|w| w[0] == w[1]), "{cell:?}");
            for fused in &on[1..] {
                for (k, (&x, &y)) in fused.iter().zip(&on[0]).enumerate() {
                    let (x, y) = (f32::from_bits(x), f32::from_bits(y));
                    assert!(
                        (x - y).abs() <= 1e-5 * y.abs().max(1.0),
                        "{cell:?} {k}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn devices_need_an_mf_cell_and_matching_units() {
        let seqs = batch(&[4, 3], 1, 45);
        let w = weights(6, 1, 46);
        let stop = AtomicBool::new(false);
        let noisy = Devices {
            units: None,
            cycle: Some(CycleNoise::new(0.1, 1)),
        };
        for cell in [CellKind::LeakyEsn { alpha: 0.5 }, CellKind::Tanh] {
            let e =
                harvest_with_devices(&cell, &w, &seqs, HarvestOptions::default(), &noisy, &stop);
            assert!(
                matches!(
                    e,
                    Err(CoreError::Param {
                        name: "devices",
                        ..
                    })
                ),
                "{e:?}"
            );
        }
        let mf = CellKind::Mf(MfCell::new(0.1, 0.9, 5.0));
        let wrong = Devices {
            units: Some(UnitPhysics::uniform(&Default::default(), 5)),
            cycle: None,
        };
        let e = harvest_with_devices(&mf, &w, &seqs, HarvestOptions::default(), &wrong, &stop);
        assert!(matches!(e, Err(CoreError::Shape { .. })), "{e:?}");
        let bad = Devices {
            units: None,
            cycle: Some(CycleNoise::new(-0.1, 1)),
        };
        let e = harvest_with_devices(&mf, &w, &seqs, HarvestOptions::default(), &bad, &stop);
        assert!(
            matches!(
                e,
                Err(CoreError::Param {
                    name: "c2c_sigma",
                    ..
                })
            ),
            "{e:?}"
        );
    }

    #[test]
    fn a_noisy_diverging_series_is_reported_at_the_step_it_diverges() {
        // As the plain harvest reports it: the first step whose state is not finite, found by running the series
        // again with the same kernels and noise.
        let seqs = batch(&[400, 50], 1, 47);
        let w = weights(4, 1, 48);
        let cell = CellKind::Mf(MfCell::new(50.0, 1.0, 1.0));
        let devices = Devices {
            units: None,
            cycle: Some(CycleNoise::new(0.05, 2)),
        };
        let stop = AtomicBool::new(false);
        let e = harvest_with_devices(&cell, &w, &seqs, keep_all(), &devices, &stop).unwrap_err();
        let CoreError::NonFinite { series: 0, step } = e else {
            panic!("{e:?}")
        };
        // The states kept up to the step before are finite: run the first `step` steps alone.
        let mut short = seqs.select(&[0]);
        short.lengths[0] = step;
        let ok = harvest_with_devices(&cell, &w, &short, keep_all(), &devices, &stop).unwrap();
        assert!(ok.last.iter().all(|v| v.is_finite()));
    }
}
