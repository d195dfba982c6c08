//! A trained layer on memristive devices: the non-idealities of the hardware it is deployed on ([`Hardware`]),
//! and hardware-aware training, which injects weight noise in the forward pass of every mini-batch
//! ([`RnnConfig::train_w_noise`](crate::RnnConfig::train_w_noise)).
//!
//! Both are off by default, and then nothing is drawn and nothing is rounded: training and prediction are bit for
//! bit those of the ideal model. [`Hardware`] is the reservoir models' own (`mf_core::devices::Hardware`): the
//! same seed programs the same `W_x` and `W_h` devices. The trained models do not model the MF neurons' own
//! devices, so their configuration check refuses `d2d_sigma` and `c2c_sigma`.

use candle_core::Tensor;
/// The one hardware of the workspace, shared with the reservoir models.
pub use mf_core::devices::Hardware;
use mf_core::devices::{noise_multipliers, quantise_span};
use mf_core::rng::{derive_seed, rng_from_seed, Rng};
use ndarray::Array2;

use crate::model::Params;
use crate::{CellKind, RnnError};

/// Stream tag (`derive_seed(seed, tag)`) of the weight noise injected while training: ASCII `t_noise`.
pub const TRAIN_W_NOISE_STREAM: u64 = 0x0074_5f6e_6f69_7365;

/// The parameters on `hw`'s devices: `W_x` and `W_h` programmed from `seed`, the readout weight quantised; the
/// biases as trained.
pub(crate) fn deploy(hw: &Hardware, p: &Params, seed: u64) -> Result<Params, RnnError> {
    let mut w_x = matrix(&p.kernel)?;
    let mut w_h = matrix(&p.recurrent)?;
    hw.program_matrices(&mut [w_x.view_mut(), w_h.view_mut()], seed);
    let mut ro = matrix(&p.ro_weight)?;
    if hw.readout_bits > 0 {
        quantise_span(ro.view_mut(), hw.readout_bits);
    }
    let dev = p.kernel.device();
    let tensor = |a: Array2<f32>| {
        let dim = a.dim();
        Tensor::from_vec(a.into_raw_vec_and_offset().0, dim, dev)
    };
    Ok(Params {
        kernel: tensor(w_x)?,
        recurrent: tensor(w_h)?,
        bias: p.bias.clone(),
        ro_weight: tensor(ro)?,
        ro_bias: p.ro_bias.clone(),
    })
}

/// Reads `states` `(n_rows, n_units)` of `cell` through `hw`'s ADC. Returns them unchanged when `adc_bits` is 0.
pub(crate) fn read_states(
    hw: &Hardware,
    cell: &CellKind,
    states: Tensor,
) -> Result<Tensor, RnnError> {
    if hw.adc_bits == 0 {
        return Ok(states);
    }
    let mut h = matrix(&states)?;
    hw.read_states(cell, h.view_mut());
    let dim = h.dim();
    Ok(Tensor::from_vec(
        h.into_raw_vec_and_offset().0,
        dim,
        states.device(),
    )?)
}

/// A 2-D f32 tensor as an array (row-major).
fn matrix(t: &Tensor) -> Result<Array2<f32>, RnnError> {
    let (r, c) = t.dims2()?;
    let v = t.flatten_all()?.to_vec1::<f32>()?;
    Ok(Array2::from_shape_vec((r, c), v).expect("a row-major tensor of its own shape"))
}

/// The weight noise of hardware-aware training: for every mini-batch, fresh multipliers `1 + sigma n` for `W_x`
/// and `W_h`, drawn in that order (row-major) from one stream of the training seed on the calling thread, so the
/// draws depend on the seed and the batch's place in training alone.
#[derive(Debug)]
pub(crate) struct TrainingNoise {
    sigma: f32,
    rng: Rng,
}

impl TrainingNoise {
    /// The noise of relative standard deviation `sigma` from `seed`; None when `sigma` is 0 (off).
    pub fn new(sigma: f64, seed: u64) -> Option<Self> {
        (sigma > 0.0).then(|| Self {
            sigma: sigma as f32,
            rng: rng_from_seed(derive_seed(seed, TRAIN_W_NOISE_STREAM)),
        })
    }

    /// The next mini-batch's multipliers of `W_x` and `W_h`, as constant tensors shaped like them.
    pub fn draw(&mut self, p: &Params) -> Result<[Tensor; 2], RnnError> {
        let mut next = |w: &Tensor| -> Result<Tensor, RnnError> {
            let dim = w.dims2()?;
            let m = noise_multipliers(dim, self.sigma, &mut self.rng);
            Ok(Tensor::from_vec(
                m.into_raw_vec_and_offset().0,
                dim,
                w.device(),
            )?)
        };
        Ok([next(&p.kernel)?, next(&p.recurrent)?])
    }
}

/// `p` with `W_x` and `W_h` multiplied element-wise by the constant `multipliers`: back-propagation then gives
/// each trained weight `m * dL/dw_noisy`, the gradient of the loss at the perturbed weights.
pub(crate) fn perturbed(p: &Params, multipliers: &[Tensor; 2]) -> Result<Params, RnnError> {
    Ok(Params {
        kernel: (&p.kernel * &multipliers[0])?,
        recurrent: (&p.recurrent * &multipliers[1])?,
        ..p.clone()
    })
}
