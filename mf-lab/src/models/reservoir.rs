//! What MF-ESN and ESN share: a reservoir configuration from named hyper-parameters, and its trial (draw a
//! reservoir, fit the ridge readout, score).

use std::any::Any;

use mf_core::CellKind;
use mf_esn::ReservoirConfig;

use super::{
    check_names, count, set_mf_param, Configured, DataShape, Model, TrialContext, TrialData,
    TrialScore, MF_CELL_PARAMS,
};
use crate::grid::Params;
use crate::LabError;

/// `base` with `params` applied, then checked. `gamma`, `s` and `dt` reach the MF cell, `alpha` makes the cell
/// a leaky ESN.
pub(super) fn configure(
    model: &dyn Model,
    mut c: ReservoirConfig,
    params: &Params,
) -> Result<Box<dyn Configured>, LabError> {
    check_names(model, params)?;
    for (k, &v) in params {
        match k.as_str() {
            "omega" => c.omega = v,
            "beta" => c.beta = v,
            "rho" => c.rho = v,
            "lambda" => c.lambda = v,
            "n_units" => c.n_units = count(k, v)?,
            "alpha" => c.cell = CellKind::LeakyEsn { alpha: v },
            k if MF_CELL_PARAMS.contains(&k) => match &mut c.cell {
                CellKind::Mf(cell) => set_mf_param(cell, k, v),
                _ => {
                    return Err(LabError::InvalidParams(format!(
                        "{k} applies to the MF cell only"
                    )))
                }
            },
            other => unreachable!("{other} passed check_names but has no field"),
        }
    }
    c.check()
        .map_err(|e| LabError::InvalidParams(e.to_string()))?;
    Ok(Box::new(Reservoir(c)))
}

/// A checked reservoir configuration.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reservoir(pub ReservoirConfig);

impl Configured for Reservoir {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("a reservoir configuration serialises")
    }

    fn as_any(&self) -> &dyn Any {
        &self.0
    }

    /// The recurrent kernel drawn in f64 and kept in f32 (an exact spectral radius adds the eigen-solver's copies
    /// and workspace), the last states of the fitted and the scored series in f32 and f64, and the ridge
    /// least-squares problem in f64: the stacked `(n_series + n_units, n_units)` design and its QR copy, and the
    /// targets.
    fn memory_bytes(&self, shape: &DataShape) -> u64 {
        let n = self.0.n_units as f64;
        let (series, eval) = (shape.n_series as f64, shape.n_eval as f64);
        let per_square = match self.0.spectral {
            mf_core::init::SpectralInit::CircularLaw => 8.0 + 4.0,
            mf_core::init::SpectralInit::Exact => 8.0 + 4.0 + 4.0 * 8.0,
        };
        let weights = n * n * per_square + shape.n_inputs as f64 * n * 12.0;
        let states = (series + eval) * n * (4.0 + 8.0);
        let ridge = (series + n) * (2.0 * n + shape.n_outputs.max(1) as f64) * 8.0;
        // Each harvesting thread advances blocks of 256 series; 64 threads cover any machine here.
        let blocks = 64.0 * 256.0 * n * 4.0 * 4.0;
        (weights + states + ridge + blocks).min(u64::MAX as f64) as u64
    }

    /// Draws the reservoir from `seed`, fits the readout on `data.train` and scores on `data.eval`. A reservoir
    /// does not stop early, so `data.val` is not used.
    fn trial(
        &self,
        data: &TrialData<'_>,
        seed: u64,
        ctx: &TrialContext<'_>,
    ) -> Result<TrialScore, LabError> {
        ctx.cancel.check()?;
        let params = self.0.clone().into_params()?;
        let model = params.fit_cancellable(
            &data.train.seqs,
            &data.train.targets,
            seed,
            ctx.cancel.flag(),
        )?;
        ctx.cancel.check()?;
        Ok(TrialScore {
            score: model.score(&data.eval.seqs, &data.eval.targets)?,
            epochs: None,
            diverged: None,
        })
    }
}
