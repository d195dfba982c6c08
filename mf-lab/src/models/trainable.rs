//! What MF-RNN, RNN and the hybrid MF-RNN share: a training configuration from their typed hyper-parameters,
//! and its fit (train with early stopping).

use std::any::Any;

use mf_core::rng::derive_seed;
use mf_rnn::{CellKind, RnnConfig, TrainEvent};

use super::fitted::{self, RnnFitted};
use super::hyper;
use super::{Configured, DataShape, FittedModel, LoadError, TrialContext, TrialEvent};
use crate::tasks::{split_indices, Part};
use crate::training::TrainingProtocol;
use crate::LabError;

/// Stream tag of the per-trial early-stopping split of trainable models in the final stage.
const TRIAL_SPLIT_STREAM: u64 = 0x0054_5249_414c; // "TRIAL" in ASCII

/// The training configuration of `cell` with the hyper-parameters every trainable model shares: learning rate
/// `lr`, `n_units`, `training`, the devices it is deployed on (`hardware`) and hardware-aware training's injected
/// weight noise `train_w_noise`. Unchecked: [`configure`] checks.
pub(super) fn rnn_config(
    cell: CellKind,
    lr: f64,
    n_units: usize,
    training: &hyper::Training,
    hardware: &hyper::Hardware,
    train_w_noise: f64,
) -> RnnConfig {
    RnnConfig {
        lr,
        n_units,
        max_epochs: training.max_epochs,
        patience: training.patience,
        batch_size: training.batch_size,
        hardware: hardware.devices(None),
        train_w_noise,
        ..RnnConfig::new(cell)
    }
}

/// `c`, checked, as a configured trainable model.
pub(super) fn configure(c: RnnConfig) -> Result<Box<dyn Configured>, LabError> {
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
    let mut on_epoch = epochs_to(ctx, config.max_epochs);
    Ok(mf_rnn::train_with(
        &config,
        (&fit.seqs, &fit.targets),
        val.map(|v| (&v.seqs, &v.targets)),
        &mut on_epoch,
        ctx.cancel.flag(),
    )?)
}

/// Passes each training epoch on to the trial's `on_event`, out of `max_epochs`.
fn epochs_to<'a>(ctx: &'a TrialContext<'_>, max_epochs: usize) -> impl FnMut(&TrainEvent) + 'a {
    move |e: &TrainEvent| {
        (ctx.on_event)(TrialEvent::Epoch {
            epoch: e.epoch,
            max_epochs,
            train_loss: e.train_loss,
            val_loss: e.val_loss,
            val_metric: e.val_metric,
        })
    }
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
        // Injected weight noise: the multipliers, the perturbed kernels and their gradients; deployment: one
        // programmed copy of the parameters.
        let kernels = k * n + n * n;
        let noise = if self.0.train_w_noise > 0.0 {
            4.0 * kernels
        } else {
            0.0
        };
        let deployed = if self.0.hardware.is_ideal() {
            0.0
        } else {
            params
        };
        (4.0 * (8.0 * params + bptt + predict + noise + deployed)).min(u64::MAX as f64) as u64
    }

    /// Trains from `seed` on `train`, deployed on the devices of the configuration's hardware when it is not
    /// ideal (programmed once from `seed`). With `val` (model selection) it stops on the validation loss.
    /// Without one (final trials), under [`TrainingProtocol::Reference`] it trains on the whole of `train` and
    /// stops on the training loss; under [`TrainingProtocol::FreshSplit`] it stops on the loss of the
    /// [`trial_split`] of `train`. The protocol also decides whether the best epoch's weights are restored.
    fn fit(
        &self,
        train_part: &Part,
        val: Option<&Part>,
        protocol: TrainingProtocol,
        seed: u64,
        ctx: &TrialContext<'_>,
    ) -> Result<Box<dyn FittedModel>, LabError> {
        let model = train(&self.0, train_part, val, protocol, seed, ctx)?;
        Ok(Box::new(RnnFitted(model)))
    }

    fn sequence_units(&self) -> Option<usize> {
        Some(self.0.n_units)
    }

    fn trains_on_signals(&self) -> bool {
        true
    }

    /// Truncated back-propagation through time over windows of 50 steps (10 of warm-up), with early stopping
    /// on `val` when given and otherwise on the training loss; the best epoch's weights are kept.
    fn train_on_signal(
        &self,
        inputs: ndarray::ArrayView2<'_, f64>,
        targets: ndarray::ArrayView2<'_, f64>,
        fit: std::ops::Range<usize>,
        val: Option<std::ops::Range<usize>>,
        seed: u64,
        ctx: &TrialContext<'_>,
    ) -> Result<mf_rnn::TrainedRnn, LabError> {
        let config = self.0.clone().seed(seed);
        let mut on_epoch = epochs_to(ctx, config.max_epochs);
        Ok(mf_rnn::train_on_signal(
            &config,
            inputs,
            targets,
            fit,
            val,
            mf_rnn::Windows::default(),
            &mut on_epoch,
            ctx.cancel.flag(),
        )?)
    }
}

/// A trained model of any trainable family from the files it saved into `dir`.
pub(super) fn load(dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
    let m = mf_rnn::TrainedRnn::load(dir).map_err(|e| fitted::rnn_load_error(e, dir))?;
    Ok(Box::new(RnnFitted(m)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Params;
    use crate::models::hyper::HyperParams;
    use crate::models::ModelKind;
    use mf_rnn::Hardware;

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn configured(model: ModelKind, kv: &[(&str, f64)]) -> Result<RnnConfig, LabError> {
        let c = model.model().configure(&params(kv))?;
        Ok(c.as_any().downcast_ref::<RnnConfig>().unwrap().clone())
    }

    #[test]
    fn every_trainable_model_takes_the_hardware_hyper_parameters() {
        let hybrid: ModelKind = "hybrid-mf-rnn".parse().unwrap();
        let all = [
            ("w_bits", 4.0),
            ("w_noise", 0.1),
            ("stuck_zero", 0.01),
            ("stuck_max", 0.02),
            ("adc_bits", 6.0),
            ("readout_bits", 5.0),
            ("train_w_noise", 0.2),
        ];
        let names: Vec<&str> = hyper::Hardware::info().iter().map(|i| i.name).collect();
        assert_eq!(all[..6].iter().map(|(k, _)| *k).collect::<Vec<_>>(), names);
        let want = Hardware {
            w_bits: 4,
            w_noise: 0.1,
            stuck_zero: 0.01,
            stuck_max: 0.02,
            adc_bits: 6,
            readout_bits: 5,
            ..Hardware::default()
        };
        for m in [ModelKind::MfRnn, ModelKind::Rnn, hybrid] {
            let c = configured(m, &all).unwrap();
            assert_eq!((c.hardware, c.train_w_noise), (want, 0.2), "{m}");
            // Off, the configuration (and so every spec hash and saved description) is the one without them.
            let zeros: Vec<(&str, f64)> = all.iter().map(|&(n, _)| (n, 0.0)).collect();
            let off = m.model().configure(&params(&zeros)).unwrap().to_json();
            assert_eq!(off, m.model().configure(&Params::new()).unwrap().to_json());
            assert!(off.get("hardware").is_none() && off.get("train_w_noise").is_none());
        }
    }

    #[test]
    fn hardware_values_out_of_range_are_refused_by_name() {
        for (k, v) in [
            ("w_bits", 2.5),
            ("w_bits", 25.0),
            ("adc_bits", -1.0),
            ("readout_bits", 40.0),
            ("w_noise", -0.1),
            ("train_w_noise", -0.1),
            ("stuck_zero", 1.5),
            ("stuck_max", -0.5),
        ] {
            for m in [ModelKind::MfRnn, ModelKind::Rnn] {
                let e = configured(m, &[(k, v)]).unwrap_err().to_string();
                assert!(e.contains(k), "{m} {k} = {v}: {e}");
            }
        }
        let e = configured(ModelKind::MfRnn, &[("train_w_noise", f64::NAN)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train_w_noise") && e.contains("not finite"),
            "{e}"
        );
        // A frozen sparse hybrid has no devices where its kernel has no connections.
        let hybrid: ModelKind = "hybrid-mf-rnn".parse().unwrap();
        let e = configured(hybrid, &[("density", 0.5), ("w_bits", 4.0)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("density") && e.contains("w_bits"), "{e}");
        assert!(configured(hybrid, &[("density", 0.5), ("w_noise", 0.1)]).is_ok());
    }

    #[test]
    fn the_memory_estimate_counts_the_noise_and_the_deployed_copy() {
        let shape = DataShape {
            n_series: 300,
            n_eval: 300,
            max_len: 60,
            n_inputs: 1,
            n_outputs: 6,
        };
        let need = |kv: &[(&str, f64)]| {
            ModelKind::MfRnn
                .model()
                .configure(&params(kv))
                .unwrap()
                .memory_bytes(&shape)
        };
        let base = need(&[]);
        // 4 bytes per f32: four copies of the kernels (1 x 100 + 100 x 100), one of all parameters.
        let kernels = 100 + 100 * 100;
        let all = kernels + 100 + 100 * 6 + 6;
        assert_eq!(need(&[("train_w_noise", 0.1)]) - base, 4 * 4 * kernels);
        assert_eq!(need(&[("w_noise", 0.1)]) - base, 4 * all);
    }
}
