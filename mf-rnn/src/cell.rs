//! One time step of the MF cell on a batch, fused into a single element-wise candle operation.
//!
//! `h(t) = gamma h + dt (Kp(z) - (Kp(z) + Kd(z)) h)` with `z = (b - a) sigmoid(s pre) + a` (paper eqs. 8-12) costs a
//! dozen small tensor operations when written with candle's primitives, each allocating a `(batch, n_units)` buffer
//! and recording a node for back-propagation. [`mf_step`] computes the new state in one pass and supplies its
//! hand-derived gradient, so a time step is two matrix products plus one fused operation. [`mf_step_unfused`]
//! builds the same update from candle's primitives: it is the test oracle and the fallback for devices the fused
//! kernel does not cover.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor};
use mf_core::fastmath::Simd;
use mf_core::{MfCell, MfKernel};

/// The constants of the cell, pre-converted for the kernels.
#[derive(Debug, Clone, Copy)]
struct Consts {
    amp: f64,
    a: f64,
    s: f64,
    gamma: f64,
    dt: f64,
    kp0: f64,
    kd0: f64,
    eta_p: f64,
    eta_d: f64,
}

impl From<&MfCell> for Consts {
    fn from(c: &MfCell) -> Self {
        let p = c.physics;
        Self {
            amp: p.b - p.a,
            a: p.a,
            s: c.s,
            gamma: c.gamma,
            dt: c.dt,
            kp0: p.kp0,
            kd0: p.kd0,
            eta_p: p.eta_p,
            eta_d: p.eta_d,
        }
    }
}

/// The f64 forward kernel: `out = h'(pre, h)`.
fn fwd_f64(c: &Consts, pre: &[f64], h: &[f64], out: &mut [f64]) {
    for ((o, &u), &h) in out.iter_mut().zip(pre).zip(h) {
        let z = c.amp / (1.0 + (-c.s * u).exp()) + c.a;
        let kp = c.kp0 * (c.eta_p * z).exp();
        let kd = c.kd0 * (-c.eta_d * z).exp();
        *o = c.gamma * h + c.dt * (kp - (kp + kd) * h);
    }
}

/// The f64 backward kernel: writes `g dh'/dpre` into `d_pre` and `g dh'/dh` into `d_h`.
fn bwd_f64(c: &Consts, pre: &[f64], h: &[f64], g: &[f64], d_pre: &mut [f64], d_h: &mut [f64]) {
    let grads = d_pre.iter_mut().zip(d_h.iter_mut());
    for (((dp, dh), &u), (&h, &g)) in grads.zip(pre).zip(h.iter().zip(g)) {
        let sig = 1.0 / (1.0 + (-c.s * u).exp());
        let z = c.amp * sig + c.a;
        let kp = c.kp0 * (c.eta_p * z).exp();
        let kd = c.kd0 * (-c.eta_d * z).exp();
        // d/dz [Kp - (Kp + Kd) h] with dKp/dz = eta_p Kp and dKd/dz = -eta_d Kd.
        let dh_dz = c.dt * (c.eta_p * kp - (c.eta_p * kp - c.eta_d * kd) * h);
        let dz_du = c.amp * c.s * sig * (1.0 - sig);
        *dp = g * dh_dz * dz_du;
        *dh = g * (c.gamma - c.dt * (kp + kd));
    }
}

#[inline(always)]
fn fwd32<const FMA: bool>(k: &MfKernel, pre: &[f32], h: &mut [f32]) {
    k.update::<FMA>(pre, h)
}

#[inline(always)]
fn bwd32<const FMA: bool>(
    k: &MfKernel,
    pre: &[f32],
    h: &[f32],
    g: &[f32],
    d_pre: &mut [f32],
    d_h: &mut [f32],
) {
    let grads = d_pre.iter_mut().zip(d_h.iter_mut());
    for (((dp, dh), &u), (&h, &g)) in grads.zip(pre).zip(h.iter().zip(g)) {
        (*dp, *dh) = k.grads::<FMA>(u, h, g);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn fwd32_avx512(k: &MfKernel, pre: &[f32], h: &mut [f32]) {
    fwd32::<true>(k, pre, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fwd32_avx2(k: &MfKernel, pre: &[f32], h: &mut [f32]) {
    fwd32::<true>(k, pre, h)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn bwd32_avx512(k: &MfKernel, pre: &[f32], h: &[f32], g: &[f32], dp: &mut [f32], dh: &mut [f32]) {
    bwd32::<true>(k, pre, h, g, dp, dh)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn bwd32_avx2(k: &MfKernel, pre: &[f32], h: &[f32], g: &[f32], dp: &mut [f32], dh: &mut [f32]) {
    bwd32::<true>(k, pre, h, g, dp, dh)
}

/// The MF update in f32, in place: `h <- h'(pre, h)`, vectorised for the widest instruction set available (fused
/// multiply-adds on AVX2 and AVX-512).
pub(crate) fn fwd_f32(k: &MfKernel, pre: &[f32], h: &mut [f32]) {
    match Simd::detect() {
        // SAFETY: `Simd::detect` returns Avx512 or Avx2 only when the processor has them and FMA.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { fwd32_avx512(k, pre, h) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { fwd32_avx2(k, pre, h) },
        _ => fwd32::<false>(k, pre, h),
    }
}

/// Writes `g dh'/dpre` into `d_pre` and `g dh'/dh` into `d_h` (f32, vectorised as [`fwd_f32`]).
pub(crate) fn bwd_f32(
    k: &MfKernel,
    pre: &[f32],
    h: &[f32],
    g: &[f32],
    d_pre: &mut [f32],
    d_h: &mut [f32],
) {
    match Simd::detect() {
        // SAFETY: `Simd::detect` returns Avx512 or Avx2 only when the processor has them and FMA.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { bwd32_avx512(k, pre, h, g, d_pre, d_h) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { bwd32_avx2(k, pre, h, g, d_pre, d_h) },
        _ => bwd32::<false>(k, pre, h, g, d_pre, d_h),
    }
}

/// The elements of a contiguous tensor's storage; an error naming the operation `op` and its argument `what`
/// otherwise.
pub(crate) fn contiguous<'a, T>(
    data: &'a [T],
    layout: &Layout,
    op: &str,
    what: &str,
) -> candle_core::Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{op}: {what} must be contiguous"),
    }
}

/// The fused forward step: `(pre, h_prev) -> h`, all `(batch, n_units)`.
#[derive(Debug, Clone, Copy)]
struct MfStep(Consts, MfKernel);

impl CustomOp2 for MfStep {
    fn name(&self) -> &'static str {
        "mf-step"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        if l1.shape() != l2.shape() {
            candle_core::bail!(
                "mf-step: pre {:?} and state {:?} differ",
                l1.shape(),
                l2.shape()
            );
        }
        let storage = match (s1, s2) {
            (CpuStorage::F32(p), CpuStorage::F32(h)) => {
                let (p, h) = (
                    contiguous(p, l1, self.name(), "pre")?,
                    contiguous(h, l2, self.name(), "state")?,
                );
                let mut out = h.to_vec();
                fwd_f32(&self.1, p, &mut out);
                CpuStorage::F32(out)
            }
            (CpuStorage::F64(p), CpuStorage::F64(h)) => {
                let (p, h) = (
                    contiguous(p, l1, self.name(), "pre")?,
                    contiguous(h, l2, self.name(), "state")?,
                );
                let mut out = vec![0f64; p.len()];
                fwd_f64(&self.0, p, h, &mut out);
                CpuStorage::F64(out)
            }
            _ => candle_core::bail!("mf-step: only f32 and f64 of one type are supported"),
        };
        Ok((storage, l1.shape().clone()))
    }

    fn bwd(
        &self,
        pre: &Tensor,
        h: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let both = pre.apply_op3_no_bwd(h, &grad.contiguous()?, &MfStepGrad(self.0, self.1))?;
        Ok((Some(both.get(0)?), Some(both.get(1)?)))
    }
}

/// The backward kernel: `(pre, h_prev, grad) -> stack([grad dh/dpre, grad dh/dh_prev])`, `(2, batch, n_units)`;
/// one pass shares the three exponentials between both gradients.
#[derive(Debug, Clone, Copy)]
struct MfStepGrad(Consts, MfKernel);

impl CustomOp3 for MfStepGrad {
    fn name(&self) -> &'static str {
        "mf-step-grad"
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
        let dims = l1.shape().dims();
        let mut out_dims = vec![2];
        out_dims.extend_from_slice(dims);
        let storage = match (s1, s2, s3) {
            (CpuStorage::F32(p), CpuStorage::F32(h), CpuStorage::F32(g)) => {
                let (p, h) = (
                    contiguous(p, l1, self.name(), "pre")?,
                    contiguous(h, l2, self.name(), "state")?,
                );
                let g = contiguous(g, l3, self.name(), "grad")?;
                let mut out = vec![0f32; 2 * p.len()];
                let (dp, dh) = out.split_at_mut(p.len());
                bwd_f32(&self.1, p, h, g, dp, dh);
                CpuStorage::F32(out)
            }
            (CpuStorage::F64(p), CpuStorage::F64(h), CpuStorage::F64(g)) => {
                let (p, h) = (
                    contiguous(p, l1, self.name(), "pre")?,
                    contiguous(h, l2, self.name(), "state")?,
                );
                let g = contiguous(g, l3, self.name(), "grad")?;
                let mut out = vec![0f64; 2 * p.len()];
                let (dp, dh) = out.split_at_mut(p.len());
                bwd_f64(&self.0, p, h, g, dp, dh);
                CpuStorage::F64(out)
            }
            _ => candle_core::bail!("mf-step-grad: only f32 and f64 of one type are supported"),
        };
        Ok((storage, Shape::from(out_dims)))
    }
}

/// One MF step with the fused kernel: the new state from `pre` and `h_prev`, both `(batch, n_units)`, f32 or f64,
/// on the CPU. Differentiable with respect to both arguments.
pub fn mf_step(cell: &MfCell, pre: &Tensor, h_prev: &Tensor) -> candle_core::Result<Tensor> {
    pre.contiguous()?.apply_op2(
        &h_prev.contiguous()?,
        MfStep(Consts::from(cell), MfKernel::new(cell)),
    )
}

/// One MF step built from candle's primitive operations (any device, any float type): the oracle for
/// [`mf_step`].
pub fn mf_step_unfused(
    cell: &MfCell,
    pre: &Tensor,
    h_prev: &Tensor,
) -> candle_core::Result<Tensor> {
    let c = Consts::from(cell);
    let sig = candle_nn::ops::sigmoid(&(pre * c.s)?)?;
    let z = ((sig * c.amp)? + c.a)?;
    let kp = ((&z * c.eta_p)?.exp()? * c.kp0)?;
    let kd = ((&z * (-c.eta_d))?.exp()? * c.kd0)?;
    let drive = (&kp - ((&kp + &kd)? * h_prev)?)?;
    (h_prev * c.gamma)? + (drive * c.dt)?
}

/// Whether [`mf_step`] can run on tensors of this type and device.
pub fn fused_supported(t: &Tensor) -> bool {
    t.device().is_cpu() && matches!(t.dtype(), DType::F32 | DType::F64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use mf_core::rng::rng_from_seed;
    use rand_distr::{Distribution, Normal};

    type StepFn = fn(&MfCell, &Tensor, &Tensor) -> candle_core::Result<Tensor>;

    /// Runs `steps` MF steps with `pre = x_t W_x + h W_h` and returns the sum of `weights * h_T`, whose gradient
    /// with respect to `W_x` and `W_h` exercises both outputs of the step's backward pass.
    fn scalar_loss(
        step: StepFn,
        cell: &MfCell,
        xs: &[Tensor],
        w_x: &Tensor,
        w_h: &Tensor,
        readout: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (b, n) = (xs[0].dim(0)?, w_h.dim(0)?);
        let mut h = Tensor::zeros((b, n), w_h.dtype(), w_h.device())?;
        for x in xs {
            let pre = (x.matmul(w_x)? + h.matmul(w_h)?)?;
            h = step(cell, &pre, &h)?;
        }
        (h * readout)?.sum_all()
    }

    fn gaussian(shape: (usize, usize), std: f64, seed: u64, dtype: DType) -> Tensor {
        let mut rng = rng_from_seed(seed);
        let d = Normal::new(0.0, std).unwrap();
        let v: Vec<f64> = (0..shape.0 * shape.1).map(|_| d.sample(&mut rng)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu)
            .unwrap()
            .to_dtype(dtype)
            .unwrap()
    }

    struct Problem {
        cell: MfCell,
        xs: Vec<Tensor>,
        w_x: Var,
        w_h: Var,
        readout: Tensor,
    }

    /// A batch of 3 series, 2 inputs, 5 units, 6 steps; weights large enough that the sigmoid is not linear.
    fn problem(cell: MfCell, dtype: DType) -> Problem {
        let xs = (0..6)
            .map(|t| gaussian((3, 2), 1.0, 100 + t, dtype))
            .collect();
        Problem {
            cell,
            xs,
            w_x: Var::from_tensor(&gaussian((2, 5), 0.8, 1, dtype)).unwrap(),
            w_h: Var::from_tensor(&gaussian((5, 5), 0.8, 2, dtype)).unwrap(),
            readout: gaussian((3, 5), 1.0, 3, dtype),
        }
    }

    fn grads(p: &Problem, step: StepFn) -> (Vec<f64>, Vec<f64>) {
        let loss = scalar_loss(
            step,
            &p.cell,
            &p.xs,
            p.w_x.as_tensor(),
            p.w_h.as_tensor(),
            &p.readout,
        )
        .unwrap();
        let g = loss.backward().unwrap();
        let flat = |v: &Var| {
            g.get(v)
                .unwrap()
                .to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap()
        };
        (flat(&p.w_x), flat(&p.w_h))
    }

    fn cells() -> [MfCell; 3] {
        [
            MfCell::new(0.1, 0.8, 5.0),
            MfCell::new(0.01, 0.95, 1.0),
            MfCell::new(0.3, 0.5, 2.0),
        ]
    }

    fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
        let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-12);
        a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs())) / scale
    }

    /// The f32 kernels of every instruction set the processor has, forced one by one: the AVX2 and AVX-512 paths
    /// give the same bits (the same fused operations in the same order), the baseline path agrees with them to
    /// f32 rounding, and all of them with the f64 kernels.
    #[test]
    fn every_instruction_set_path_of_the_f32_kernels_agrees() {
        type Fwd = fn(&MfKernel, &[f32], &mut [f32]);
        type Bwd = fn(&MfKernel, &[f32], &[f32], &[f32], &mut [f32], &mut [f32]);
        let mut paths: Vec<(&str, Fwd, Bwd)> = vec![("baseline", fwd32::<false>, bwd32::<false>)];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("fma") {
            // SAFETY (both): called only when the processor has the instruction set they are compiled for.
            if std::arch::is_x86_feature_detected!("avx2") {
                paths.push((
                    "avx2",
                    |k, p, h| unsafe { fwd32_avx2(k, p, h) },
                    |k, p, h, g, dp, dh| unsafe { bwd32_avx2(k, p, h, g, dp, dh) },
                ));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                paths.push((
                    "avx512",
                    |k, p, h| unsafe { fwd32_avx512(k, p, h) },
                    |k, p, h, g, dp, dh| unsafe { bwd32_avx512(k, p, h, g, dp, dh) },
                ));
            }
        }
        let flat = |t: Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        // 103 elements: whole vectors of 8 and 16 lanes and a remainder.
        let pre = flat(gaussian((1, 103), 2.0, 21, DType::F64));
        let h = flat(gaussian((1, 103), 0.5, 22, DType::F64));
        let g = flat(gaussian((1, 103), 1.0, 23, DType::F64));
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let (pre32, h32, g32) = (f32s(&pre), f32s(&h), f32s(&g));
        // The f64 reference at the f32-rounded inputs.
        let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        let (pre, h, g) = (wide(&pre32), wide(&h32), wide(&g32));
        for cell in cells() {
            let (k, c) = (MfKernel::new(&cell), Consts::from(&cell));
            let mut want = vec![0.0; 103];
            fwd_f64(&c, &pre, &h, &mut want);
            let (mut want_dp, mut want_dh) = (vec![0.0; 103], vec![0.0; 103]);
            bwd_f64(&c, &pre, &h, &g, &mut want_dp, &mut want_dh);
            let mut fused: Option<Vec<u32>> = None;
            for (name, fwd, bwd) in &paths {
                let mut out = h32.clone();
                fwd(&k, &pre32, &mut out);
                let (mut dp, mut dh) = (vec![0f32; 103], vec![0f32; 103]);
                bwd(&k, &pre32, &h32, &g32, &mut dp, &mut dh);
                for (got, want, what) in [
                    (&out, &want, "h'"),
                    (&dp, &want_dp, "d_pre"),
                    (&dh, &want_dh, "d_h"),
                ] {
                    let got = wide(got);
                    let diff = max_rel_diff(&got, want);
                    assert!(
                        diff < 1e-5,
                        "{name} {cell:?} {what}: relative difference {diff:e}"
                    );
                }
                if *name != "baseline" {
                    let bits: Vec<u32> = out
                        .iter()
                        .chain(&dp)
                        .chain(&dh)
                        .map(|v| v.to_bits())
                        .collect();
                    match &fused {
                        Some(b) => assert_eq!(
                            b, &bits,
                            "{name} {cell:?} differs from the other fused path"
                        ),
                        None => fused = Some(bits),
                    }
                }
            }
        }
    }

    #[test]
    fn fused_forward_matches_the_scalar_reference_of_mf_core() {
        for cell in cells() {
            let pre = gaussian((4, 7), 2.0, 11, DType::F64);
            let h = gaussian((4, 7), 0.5, 12, DType::F64);
            let got = mf_step(&cell, &pre, &h)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            let pre = pre.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let h = h.flatten_all().unwrap().to_vec1::<f64>().unwrap();
            for i in 0..got.len() {
                assert!((got[i] - cell.update_scalar(pre[i], h[i])).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn fused_gradients_match_unfused_autograd() {
        // In f64 the two must agree to rounding; in f32 six steps of rounding in differently ordered
        // arithmetic leave a few units in the fifth digit.
        for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 5e-5)] {
            for cell in cells() {
                let p = problem(cell, dtype);
                let (fx, fh) = grads(&p, mf_step);
                let (ux, uh) = grads(&p, mf_step_unfused);
                let (ex, eh) = (max_rel_diff(&fx, &ux), max_rel_diff(&fh, &uh));
                eprintln!(
                    "{dtype:?} dt {} gamma {} s {}: W_x {ex:e}, W_h {eh:e}",
                    cell.dt, cell.gamma, cell.s
                );
                assert!(
                    ex < tol && eh < tol,
                    "{cell:?}: relative differences {ex:e}, {eh:e}"
                );
            }
        }
    }

    #[test]
    fn fused_gradients_match_central_finite_differences_in_f64() {
        for cell in cells() {
            let p = problem(cell, DType::F64);
            let (gx, gh) = grads(&p, mf_step);
            for (var, analytic) in [(&p.w_x, &gx), (&p.w_h, &gh)] {
                let base = var
                    .as_tensor()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap();
                let shape = var.shape().clone();
                let mut numeric = Vec::with_capacity(base.len());
                let eps = 1e-6;
                for i in 0..base.len() {
                    let eval = |delta: f64| {
                        let mut v = base.clone();
                        v[i] += delta;
                        var.set(&Tensor::from_vec(v, &shape, &Device::Cpu).unwrap())
                            .unwrap();
                        let l = scalar_loss(
                            mf_step,
                            &p.cell,
                            &p.xs,
                            p.w_x.as_tensor(),
                            p.w_h.as_tensor(),
                            &p.readout,
                        )
                        .unwrap();
                        l.to_scalar::<f64>().unwrap()
                    };
                    numeric.push((eval(eps) - eval(-eps)) / (2.0 * eps));
                }
                var.set(&Tensor::from_vec(base, &shape, &Device::Cpu).unwrap())
                    .unwrap();
                let e = max_rel_diff(analytic, &numeric);
                eprintln!(
                    "finite differences, dt {} gamma {} s {}: {e:e}",
                    cell.dt, cell.gamma, cell.s
                );
                assert!(e < 1e-7, "{cell:?}: relative difference {e:e}");
            }
        }
    }
}
