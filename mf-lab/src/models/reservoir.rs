//! What MF-ESN and ESN share: a reservoir configuration from named hyper-parameters, and its trial (draw a
//! reservoir, fit the ridge readout, score).

use std::any::Any;

use mf_core::CellKind;
use mf_esn::ReservoirConfig;

use super::{check_names, count, Configured, Model, TrialContext, TrialData, TrialScore};
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
            "gamma" | "s" | "dt" => match &mut c.cell {
                CellKind::Mf(cell) => match k.as_str() {
                    "gamma" => cell.gamma = v,
                    "s" => cell.s = v,
                    _ => cell.dt = v,
                },
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
        })
    }
}
