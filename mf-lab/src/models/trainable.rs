//! What MF-RNN and RNN share: a training configuration from named hyper-parameters, and its trial (train
//! with early stopping, score).

use std::any::Any;

use mf_core::rng::derive_seed;
use mf_rnn::{RnnCell, RnnConfig, TrainEvent};

use super::{
    check_names, count, set_mf_param, Configured, DataShape, Model, TrialContext, TrialData,
    TrialEvent, TrialScore, MF_CELL_PARAMS,
};
use crate::grid::Params;
use crate::tasks::{split_indices, Part};
use crate::training::TrainingProtocol;
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
            k if MF_CELL_PARAMS.contains(&k) => match &mut c.cell {
                RnnCell::Mf(cell) => set_mf_param(cell, k, v),
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

/// Trains `config` from `seed` on `train`: with `val` (model selection) stopping on the validation loss;
/// without one, as `protocol` says: on the training loss over the whole of `train`
/// ([`TrainingProtocol::Reference`]) or on the loss of the [`trial_split`] of `train`
/// ([`TrainingProtocol::FreshSplit`]). The protocol also decides whether the best epoch's weights are restored.
/// The one training path of trials, `mf fit` and `mf export`.
pub fn train(
    config: &RnnConfig,
    train: &Part,
    val: Option<&Part>,
    protocol: TrainingProtocol,
    seed: u64,
    ctx: &TrialContext<'_>,
) -> Result<mf_rnn::TrainedRnn, LabError> {
    let held_out;
    let (fit, val) = match (val, protocol) {
        (Some(val), _) => (train, Some(val)),
        (None, TrainingProtocol::Reference) => (train, None),
        (None, TrainingProtocol::FreshSplit) => {
            held_out = trial_split(train, seed);
            (&held_out.0, Some(&held_out.1))
        }
    };
    let mut config = config.clone().seed(seed);
    config.restore_best = protocol.restores_best();
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
    Ok(mf_rnn::train_with(
        &config,
        (&fit.seqs, &fit.targets),
        val.map(|v| (&v.seqs, &v.targets)),
        &mut on_epoch,
        ctx.cancel.flag(),
    )?)
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

    /// Trains from `seed` on `data.train` and scores on `data.eval`. With `data.val` (model selection) it stops
    /// on the validation loss. Without one (final trials), under [`TrainingProtocol::Reference`] it trains on
    /// the whole of `data.train` and stops on the training loss; under [`TrainingProtocol::FreshSplit`] it stops
    /// on the loss of the [`trial_split`] of `data.train`. The protocol also decides whether the best epoch's
    /// weights are restored.
    fn trial(
        &self,
        data: &TrialData<'_>,
        seed: u64,
        ctx: &TrialContext<'_>,
    ) -> Result<TrialScore, LabError> {
        let model = train(&self.0, data.train, data.val, data.protocol, seed, ctx)?;
        Ok(TrialScore {
            score: model.score(&data.eval.seqs, &data.eval.targets)?,
            epochs: Some((model.history().len(), model.best_epoch())),
            diverged: model.divergence().map(|d| format!("{d}; try a smaller lr")),
        })
    }
}
