//! A trained layer on memristive devices: the non-idealities of the hardware it is deployed on ([`Hardware`]),
//! and hardware-aware training, which injects weight noise in the forward pass of every mini-batch
//! ([`RnnConfig::train_w_noise`](crate::RnnConfig::train_w_noise)).
//!
//! Both are off by default, and then nothing is drawn and nothing is rounded: training and prediction are bit for
//! bit those of the ideal model. The device definitions are those of the reservoir models (`mf_esn::Hardware`),
//! shared through `mf_core::devices`: the same seed programs the same `W_x` and `W_h` devices.

use candle_core::Tensor;
use mf_core::devices::{check_bits, noise_multipliers, quantise, quantise_span, WeightDevices};
use mf_core::rng::{derive_seed, rng_from_seed, Rng};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::model::Params;
use crate::{RnnCell, RnnError};

/// Stream tag (`derive_seed(seed, tag)`) of the weight noise injected while training: ASCII `t_noise`.
pub const TRAIN_W_NOISE_STREAM: u64 = 0x0074_5f6e_6f69_7365;

/// Non-idealities of the hardware a trained model is deployed on. Every field's default is `0`, which means off.
///
/// Training never sees them: the model is trained with exact weights (or with the noise of
/// [`RnnConfig::train_w_noise`](crate::RnnConfig::train_w_noise)), and its trained weights are then programmed
/// into devices once, from the training seed, before it predicts (on a test split, in a saved model, in a
/// stream). The weight non-idealities act on `W_x` (`kernel`) and `W_h` (`recurrent_kernel`), each matrix on its
/// own, in this order: quantisation, programming noise, stuck devices; the biases stay exact.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// Conductance levels: `k` bits quantise each of `W_x` and `W_h` to `2^k` evenly spaced levels spanning the
    /// matrix's own `[min, max]`. Default `0`: exact weights.
    #[serde(default, skip_serializing_if = "is_zero_bits")]
    pub w_bits: u32,
    /// Relative standard deviation `sigma` of the programming noise: every weight becomes `w (1 + sigma n)`,
    /// `n ~ N(0, 1)` per device, drawn once per trained model from its seed. Default `0`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub w_noise: f64,
    /// Fraction of devices stuck at zero conductance (weight `0`). Default `0`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stuck_zero: f64,
    /// Fraction of devices stuck at the highest conductance: the matrix's largest `|w|` with the weight's sign,
    /// exclusive of `stuck_zero`. Default `0`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stuck_max: f64,
    /// Read-out precision: `k` bits quantise the state the readout reads (each series' last state) to `2^k`
    /// levels over the cell's state range, `[0, 1]` for the MF cell and `[-1, 1]` for tanh. Default `0`.
    #[serde(default, skip_serializing_if = "is_zero_bits")]
    pub adc_bits: u32,
    /// Readout weight precision: `k` bits quantise the dense readout's weight matrix to `2^k` levels spanning its
    /// `[min, max]`; its bias stays exact. Default `0`.
    #[serde(default, skip_serializing_if = "is_zero_bits")]
    pub readout_bits: u32,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

fn is_zero_bits(v: &u32) -> bool {
    *v == 0
}

impl Hardware {
    /// True when every non-ideality is off (the default): the model predicts with its trained weights.
    pub fn is_ideal(&self) -> bool {
        *self == Hardware::default()
    }

    /// The weight devices of `W_x` and `W_h`.
    pub fn devices(&self) -> WeightDevices {
        WeightDevices {
            w_bits: self.w_bits,
            w_noise: self.w_noise,
            stuck_zero: self.stuck_zero,
            stuck_max: self.stuck_max,
        }
    }

    /// Checks every range.
    pub fn check(&self) -> Result<(), RnnError> {
        self.devices().check()?;
        check_bits("adc_bits", self.adc_bits)?;
        check_bits("readout_bits", self.readout_bits)?;
        Ok(())
    }

    /// The parameters on the devices: `W_x` and `W_h` programmed from `seed`, the readout weight quantised; the
    /// biases as trained.
    pub(crate) fn deploy(&self, p: &Params, seed: u64) -> Result<Params, RnnError> {
        let mut w_x = matrix(&p.kernel)?;
        let mut w_h = matrix(&p.recurrent)?;
        self.devices()
            .program(&mut [w_x.view_mut(), w_h.view_mut()], seed);
        let mut ro = matrix(&p.ro_weight)?;
        if self.readout_bits > 0 {
            quantise_span(ro.view_mut(), self.readout_bits);
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

    /// Reads `states` `(n_rows, n_units)` of `cell` through the ADC. Returns them unchanged when `adc_bits` is 0.
    pub(crate) fn read_states(&self, cell: &RnnCell, states: Tensor) -> Result<Tensor, RnnError> {
        if self.adc_bits == 0 {
            return Ok(states);
        }
        let mut h = matrix(&states)?;
        self.read_state_array(cell, &mut h);
        let dim = h.dim();
        Ok(Tensor::from_vec(
            h.into_raw_vec_and_offset().0,
            dim,
            states.device(),
        )?)
    }

    /// [`Hardware::read_states`] on an array, in place.
    pub(crate) fn read_state_array(&self, cell: &RnnCell, h: &mut Array2<f32>) {
        let (lo, hi) = state_range(cell);
        quantise(h.view_mut(), lo, hi, self.adc_bits);
    }
}

/// The range of a cell's state: `[0, 1]` for the MF cell (a memristor's normalised conductance, paper eq. 9),
/// `[-1, 1]` for tanh.
pub fn state_range(cell: &RnnCell) -> (f64, f64) {
    match cell {
        RnnCell::Mf(_) => (0.0, 1.0),
        RnnCell::Tanh => (-1.0, 1.0),
    }
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
