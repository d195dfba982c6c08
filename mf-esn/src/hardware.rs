//! Non-idealities of a memristive implementation of a reservoir: the one [`Hardware`] of the workspace
//! (`mf_core::devices`), applied in fitting and prediction alike: weights held as device conductances
//! (quantised, noisily programmed, some devices stuck), states read through an analogue-to-digital converter, a
//! readout of limited precision, and the MF neurons' own devices (device-to-device variability of their
//! constants, cycle-to-cycle noise of their rates; see `mf_core::variation`).
//!
//! Every non-ideality is off by default, and a model with all of them off is bit for bit the ideal one: nothing
//! is drawn and nothing is rounded. Each random one draws from its own stream of the model's seed
//! (`derive_seed(seed, tag)`), so switching one on changes neither the reservoir nor the other non-idealities,
//! and the same seed always programs the same devices.

/// The hardware, its runs and its stream tags: one definition, `mf_core::devices`, for every model.
pub use mf_core::devices::{
    Hardware, Run, C2C_PREDICT_STREAM, C2C_STREAM, D2D_STREAM, MAX_BITS, STUCK_STREAM,
    W_NOISE_STREAM,
};

use crate::model::Readout;

impl Readout {
    /// Quantises the coefficients (all columns together) to `bits` levels spanning their `[min, max]`, as
    /// [`Hardware::readout_bits`] asks; the intercepts stay exact. Changes nothing when `bits` is 0.
    pub(crate) fn quantise(&mut self, bits: u32) {
        if bits == 0 {
            return;
        }
        let ridge = match self {
            Readout::Classifier(c) => &mut c.ridge,
            Readout::Regressor(r) => r,
        };
        let (lo, hi) = span(ridge.coef.iter().copied());
        let (levels, step) = grid(lo, hi, bits);
        if step > 0.0 {
            ridge.coef.mapv_inplace(|v| level(v, lo, step, levels));
        }
    }
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// `2^bits` levels from `lo` to `hi`: their number and spacing (0 when the range is empty or a point).
fn grid(lo: f64, hi: f64, bits: u32) -> (f64, f64) {
    let levels = 2f64.powi(bits as i32);
    let step = if hi > lo {
        (hi - lo) / (levels - 1.0)
    } else {
        0.0
    };
    (levels, step)
}

/// The level nearest `v` of the grid from `lo` by `step`, clipped to the grid.
fn level(v: f64, lo: f64, step: f64, levels: f64) -> f64 {
    let k = ((v - lo) / step).round().clamp(0.0, levels - 1.0);
    lo + k * step
}
