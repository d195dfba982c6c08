//! What MF-RNN and RNN share: a training configuration from named hyper-parameters, and its trial (train
//! with early stopping, score).

use std::any::Any;

use mf_core::rng::derive_seed;
use mf_rnn::{RnnCell, RnnConfig, TrainEvent};

use super::{
    check_names, count, Configured, DataShape, Model, TrialContext, TrialData, TrialEvent,
    TrialScore,
};
use crate::grid::Params;
use crate::tasks::{split_indices, Part};
use crate::LabError;

/// Stream tag of the per-trial early-stopping split of trainable models in the final stage.
const TRIAL_SPLIT_STREAM: u64 = 0x0054_5249_414c; // "TRIAL" in ASCII

/// `base` with `params` applied, then checked.
pub(super) fn configure(
    model: &dyn Model,
    mut c: RnnConfig,
    params: &Params,
) -> Result<Box<dyn Configured>, LabError> {
    check_names(model, params)?;
    for (k, &v) in params {
        match k.as_str() {
            "lr" => c.lr = v,
            "n_units" => c.n_units = count(k, v)?,
            "max_epochs" => c.max_epochs = count(k, v)?,
            "patience" => c.patience = count(k, v)?,
            "batch_size" => c.batch_size = count(k, v)?,
            "gamma" | "s" | "dt" => match &mut c.cell {
                RnnCell::Mf(cell) => match k.as_str() {
                    "gamma" => cell.gamma = v,
                    "s" => cell.s = v,
                    _ => cell.dt = v,
                },
                RnnCell::Tanh => {
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
    Ok(Box::new(Trainable(c)))
}

/// The final stage's early-stopping split of a trainable model: 80/20 of the training split (stratified for
/// classes), seeded by the trial's seed.
pub fn trial_split(train: &Part, trial_seed: u64) -> (Part, Part) {
    let (fit, val) = split_indices(
        &train.targets,
        0.2,
        derive_seed(trial_seed, TRIAL_SPLIT_STREAM),
    );
    (train.select(&fit), train.select(&val))
}

/// A checked training configuration.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Trainable(pub RnnConfig);

impl Configured for Trainable {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).expect("a training configuration serialises")
    }

    fn as_any(&self) -> &dyn Any {
        &self.0
    }

    /// In f32: the parameters with their gradients, Adam's two moments, the best epoch's snapshot and candle's
    /// temporaries (8 copies); per mini-batch, what back-propagation through time keeps (each step's
    /// pre-activation and previous state) and the stacked inputs, with one kernel gradient per chunk of 32 rows;
    /// and the prediction chunks of 512 series.
    fn memory_bytes(&self, shape: &DataShape) -> u64 {
        let n = self.0.n_units as f64;
        let (k, q) = (shape.n_inputs as f64, shape.n_outputs.max(1) as f64);
        let steps = shape.max_len.max(1) as f64;
        let params = k * n + n * n + n + n * q + q;
        let batch = self.0.batch_size.min(shape.n_series.max(1)) as f64;
        let chunks = (batch / 32.0).ceil();
        let bptt = batch * steps * (2.0 * n * 2.0 + (k + 1.0)) + chunks * ((k + 1.0) * n + n * n);
        let predict =
            512f64.min(shape.n_series.max(shape.n_eval) as f64) * steps * (k + 1.0 + 2.0 * n);
        (4.0 * (8.0 * params + bptt + predict)).min(u64::MAX as f64) as u64
    }

    /// Trains from `seed` on `data.train` with early stopping on `data.val` (or, without one, on the
    /// [`trial_split`] of `data.train`), then scores on `data.eval`.
    fn trial(
        &self,
        data: &TrialData<'_>,
        seed: u64,
        ctx: &TrialContext<'_>,
    ) -> Result<TrialScore, LabError> {
        let held_out;
        let (fit, val) = match data.val {
            Some(val) => (data.train, val),
            None => {
                held_out = trial_split(data.train, seed);
                (&held_out.0, &held_out.1)
            }
        };
        let config = self.0.clone().seed(seed);
        let max_epochs = config.max_epochs;
        let mut on_epoch = |e: &TrainEvent| {
            (ctx.on_event)(TrialEvent::Epoch {
                epoch: e.epoch,
                max_epochs,
                train_loss: e.train_loss,
                val_loss: e.val_loss,
                val_metric: e.val_metric,
            })
        };
        let model = mf_rnn::train_cancellable(
            &config,
            (&fit.seqs, &fit.targets),
            (&val.seqs, &val.targets),
            &mut on_epoch,
            ctx.cancel.flag(),
        )?;
        Ok(TrialScore {
            score: model.score(&data.eval.seqs, &data.eval.targets)?,
            epochs: Some((model.history().len(), model.best_epoch())),
            diverged: model.divergence().map(|d| format!("{d}; try a smaller lr")),
        })
    }
}
