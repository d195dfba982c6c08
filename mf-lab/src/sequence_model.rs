//! Reservoirs fitted on one long signal that go on along it: a [`SequenceModel`] holds a reservoir stopped where
//! its signal ended, with its readout and the readout's fit so far, and goes on sample by sample
//! ([`SequenceModel::step`]), learning online as targets arrive when asked, or generates the signal's continuation
//! in closed loop ([`SequenceModel::generate`]). It is what the Python package's forecasters hold, what `mf fit`
//! saves on a sequence task, and what `mf predict DIR --stream [--online]` and `--horizon H` run.
//!
//! Two kinds ([`SequenceKind`]):
//! - a **forecaster** predicts the next sample of its own signal (Mackey-Glass, Lorenz-63, a signal of one's own
//!   whose targets are all its channels): each sample given is the target of the prediction held for it, then the
//!   next input, and the predictions can be fed back;
//! - a **map** predicts each step's target from the inputs so far (NARMA-10, a signal of one's own with other
//!   targets): each step gives its inputs and, to learn online, its targets.
//!
//! # The directory (format version 1)
//!
//! ```text
//! <dir>/model.json                    the description (SequenceDescription), with a checksum over it and the
//!                                     weights as `mf_lab::saved` writes one
//! <dir>/weights/sequence.safetensors  mf_esn::sequence::SEQUENCE_FILE: every layer's weights (checked against the
//!                                     reservoir drawn again from the description) and state, the step count, the
//!                                     readout, and its fit so far (normal equations or recursive least squares)
//! ```
//!
//! A loaded model goes on with the same bits as the one that was saved: the reservoir is drawn again from the
//! same configuration and seed (checked against the stored weights), and the state, the readout and its fit are
//! stored exactly.

use std::path::Path;

use mf_core::rng::derive_seed;
use mf_data::Signal;
use mf_esn::sequence::{ReadoutFitter, SequenceReservoir};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::grid::Params;
use crate::models::{CancelToken, ModelKind};
use crate::normalise::Normalise;
use crate::saved::{
    checksum, read_description, SavedModelError, CHECKSUM_FIELD, DESCRIPTION_FILE, FORMAT_VERSION,
    WEIGHTS_DIR,
};
use crate::sequence::{
    all_finite, one_step_predictions, sequence_model, teacher_forced_fitter, SequenceData,
    SequenceTask, SignalScaling,
};
use crate::single::ModelRequest;
use crate::training::TrainingProtocol;
use crate::LabError;

/// The `format` of a sequence model's `model.json`.
pub const SEQUENCE_FORMAT: &str = "memristive-sequence-model";

/// What a sequence model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SequenceKind {
    /// The next sample of its own signal (its targets are its inputs one step later).
    Forecaster,
    /// Each step's targets from the inputs so far.
    Map,
}

/// Everything `model.json` says about a saved sequence model. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceDescription {
    /// Always [`SEQUENCE_FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this library.
    pub format_version: u32,
    /// Forecaster or map.
    pub kind: SequenceKind,
    /// The model: a reservoir model (`mf-esn`, `esn`, `deep-mf-esn`).
    pub model: ModelKind,
    /// Every hyper-parameter set over the model's defaults.
    pub set: Params,
    /// The seed asked for: with `mf fit`, the model is `mf run`'s first trial with this seed.
    pub seed: u64,
    /// The seed the reservoir was drawn from.
    pub model_seed: u64,
    /// The task or signal it was fitted on.
    pub dataset: String,
    /// How the signal was made or read.
    pub signal: String,
    /// Values per step it takes.
    pub n_inputs: usize,
    /// Values per step it predicts.
    pub n_outputs: usize,
    /// Steps of the signal it was driven along before the readout's rows began.
    pub washout: usize,
    /// Rows the readout was fitted on when it was made.
    pub fitted_rows: usize,
    /// Steps it has been driven along since the zero state when it was saved.
    pub steps: usize,
    /// The test score's metric: `nrmse` (one-step, teacher-forced).
    pub metric: String,
    /// The one-step NRMSE on the test segment, teacher-forced (`mf run`'s score on NARMA-10, Mackey-Glass and a
    /// signal of one's own), when fitted by `mf fit`.
    pub test_score: Option<f64>,
    /// Every hyper-parameter: the model crate's configuration.
    pub config: serde_json::Value,
    /// The z-scoring of a signal of one's own (`--normalise zscore`): values given are scaled with it and
    /// predictions scaled back, so the model takes and gives values as the signal's file writes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<SignalScaling>,
    /// The library that wrote it, with its version.
    pub written_by: String,
}

/// A reservoir fitted teacher-forced on one signal, stopped where the signal ended (see the module's text).
#[derive(Debug, Clone)]
pub struct SequenceModel {
    reservoir: SequenceReservoir,
    readout: mf_esn::Ridge,
    /// The readout's fit so far (normal equations or recursive least squares), to learn online.
    fitter: ReadoutFitter,
    description: SequenceDescription,
}

/// A description with the fields every constructor fills the same way.
fn describe(
    req: &ModelRequest,
    kind: SequenceKind,
    model_seed: u64,
    config: serde_json::Value,
) -> Result<SequenceDescription, LabError> {
    Ok(SequenceDescription {
        format: SEQUENCE_FORMAT.into(),
        format_version: FORMAT_VERSION,
        kind,
        model: req.model,
        set: req.params()?,
        seed: req.seed,
        model_seed,
        dataset: String::new(),
        signal: String::new(),
        n_inputs: 0,
        n_outputs: 0,
        washout: 0,
        fitted_rows: 0,
        steps: 0,
        metric: "nrmse".into(),
        test_score: None,
        config,
        scaling: None,
        written_by: concat!("mf-lab ", env!("CARGO_PKG_VERSION")).into(),
    })
}

impl SequenceModel {
    /// A forecaster of `series` `(n_steps, n_channels)`: a reservoir of `req` drawn from `req.seed`, driven along
    /// every row, its readout (ridge, or recursive least squares as the configuration's `readout` says) fitted on
    /// the rows after the first `washout`, each row's state predicting the next row. It stops after the last row,
    /// predicting the first sample past the signal.
    pub fn forecaster(
        req: &ModelRequest,
        series: ArrayView2<'_, f64>,
        washout: usize,
        cancel: &CancelToken,
    ) -> Result<SequenceModel, LabError> {
        let (configured, _) = sequence_model(req)?;
        let t = series.nrows();
        if series.ncols() == 0 || t < washout + 2 {
            return Err(LabError::InvalidData(format!(
                "a signal of {t} steps and {} channels leaves no step to fit after a washout of {washout} steps \
                 (it needs at least washout + 2 steps and one channel)",
                series.ncols()
            )));
        }
        all_finite(series, "step")?;
        cancel.check()?;
        let signal = Signal::new(
            "signal",
            "given",
            series.slice_axis(Axis(0), (0..t - 1).into()).to_owned(),
            series.slice_axis(Axis(0), (1..t).into()).to_owned(),
        )?;
        let mut reservoir = configured.draw_sequence(series.ncols(), req.seed)?;
        let fitter = teacher_forced_fitter(&mut reservoir, &signal, &(washout..t - 1), t - 1)?;
        let readout = reservoir.finish_readout(&fitter)?;
        cancel.check()?;
        // The last sample too: the state after it predicts the first step past the signal.
        reservoir.push(&series.row(t - 1).to_vec())?;
        let mut description = describe(
            req,
            SequenceKind::Forecaster,
            req.seed,
            configured.to_json(),
        )?;
        description.dataset = "signal".into();
        description.signal = "given".into();
        (description.n_inputs, description.n_outputs) = (series.ncols(), series.ncols());
        description.washout = washout;
        description.fitted_rows = t - 1 - washout;
        description.steps = t;
        Ok(SequenceModel {
            reservoir,
            readout,
            fitter,
            description,
        })
    }

    /// `mf fit` on a sequence task or a signal of one's own: `mf run`'s first trial (the reservoir drawn from
    /// `derive_seed(req.seed, 0)`, the readout fitted teacher-forced on the training and validation segments and
    /// scored one step ahead on the test segment), then driven to the signal's end. Mackey-Glass, Lorenz-63 and a
    /// signal whose targets are all its channels one step ahead give a forecaster; NARMA-10 and other signals a
    /// map. The memory capacity, a property of the reservoir rather than a predictor, is refused.
    pub fn fit(
        req: &ModelRequest,
        data: &SequenceData,
        cancel: &CancelToken,
    ) -> Result<SequenceModel, LabError> {
        let task = data.task();
        if task == SequenceTask::MemoryCapacity {
            return Err(LabError::InvalidParams(
                "the memory capacity measures a reservoir and predicts nothing to save: `mf run --dataset \
                 memory-capacity` measures it"
                    .into(),
            ));
        }
        let (configured, n_units) = sequence_model(req)?;
        let (signal, segments) = data.load(n_units)?;
        let kind = if feeds_back(&signal) {
            SequenceKind::Forecaster
        } else {
            SequenceKind::Map
        };
        let model_seed = derive_seed(req.seed, 0);
        let mut reservoir = configured.draw_sequence(signal.n_inputs(), model_seed)?;
        let fit = segments.train().start..segments.validation().end;
        let test = segments.test();
        let fitter = teacher_forced_fitter(&mut reservoir, &signal, &fit, test.start)?;
        let readout = reservoir.finish_readout(&fitter)?;
        cancel.check()?;
        let (_, score) = one_step_predictions(
            &mut reservoir,
            &readout,
            &signal,
            test.start..signal.len(),
            test.len(),
        )?;
        if kind == SequenceKind::Forecaster {
            // The last target is the signal's last sample: the state after it predicts the first step past it.
            reservoir.push(&signal.targets().row(signal.len() - 1).to_vec())?;
        }
        let mut description = describe(req, kind, model_seed, configured.to_json())?;
        description.dataset = data.name();
        description.signal = signal.source().to_string();
        description.n_inputs = signal.n_inputs();
        description.n_outputs = signal.n_outputs();
        description.washout = fit.start;
        description.fitted_rows = fit.len();
        description.steps = reservoir.steps();
        description.test_score = Some(score);
        description.scaling = data.scaling().cloned();
        Ok(SequenceModel {
            reservoir,
            readout,
            fitter,
            description,
        })
    }

    /// What it is, as `model.json` says.
    pub fn description(&self) -> &SequenceDescription {
        &self.description
    }

    /// Every hyper-parameter.
    pub fn config(&self) -> &serde_json::Value {
        &self.description.config
    }

    /// The prediction the model holds now, in the signal's units: a forecaster's for the next sample, a map's for
    /// the step it was last given.
    pub fn prediction(&self) -> Array1<f64> {
        let y = self
            .readout
            .decision(&self.reservoir.read().insert_axis(Axis(0)))
            .row(0)
            .to_owned();
        self.unscale(y)
    }

    /// One step, in the signal's units. A forecaster takes the next sample as `input` (its `target` is `None`:
    /// the sample is its own target): with `online` it is first the target of the prediction held for it, then it
    /// is the next input, and the prediction of the sample after it is returned. A map takes the step's inputs
    /// and returns the prediction of its targets, made before `target` (required with `online`) is learnt. With
    /// `online` the readout learns each target (row by row with recursive least squares; the ridge's normal
    /// equations take the row and are solved again); without, only the state moves on. After an error nothing has
    /// changed.
    pub fn step(
        &mut self,
        input: &[f64],
        target: Option<&[f64]>,
        online: bool,
    ) -> Result<Array1<f64>, LabError> {
        let d = &self.description;
        let (want_in, q) = (d.n_inputs, d.n_outputs);
        if input.len() != want_in {
            return Err(LabError::InvalidData(format!(
                "{} values given, the model takes {want_in} per step{}",
                input.len(),
                if d.kind == SequenceKind::Map && online {
                    format!(" (then {q} targets)")
                } else {
                    String::new()
                }
            )));
        }
        let check = |v: &[f64], what: &str| match v.iter().position(|x| !x.is_finite()) {
            Some(k) => Err(LabError::InvalidData(format!(
                "{what} {}: {} is not finite",
                k + 1,
                v[k]
            ))),
            None => Ok(()),
        };
        check(input, "value")?;
        let x = self.scale_inputs(input);
        let mut next = self.clone();
        match d.kind {
            SequenceKind::Forecaster => {
                if target.is_some() {
                    return Err(LabError::InvalidData(
                        "a forecaster's sample is its own target: give the sample alone".into(),
                    ));
                }
                if online {
                    next.learn(&self.scale_targets(input))?;
                }
                next.reservoir.push(&x)?;
                let p = next.prediction();
                *self = next;
                Ok(p)
            }
            SequenceKind::Map => {
                next.reservoir.push(&x)?;
                let p = next.prediction();
                match (online, target) {
                    (true, Some(t)) if t.len() == q => {
                        check(t, "target")?;
                        next.learn(&self.scale_targets(t))?;
                    }
                    (true, t) => {
                        return Err(LabError::InvalidData(format!(
                            "learning online needs the step's {q} targets after its {want_in} inputs ({} given)",
                            t.map_or(0, <[f64]>::len)
                        )))
                    }
                    (false, _) => {}
                }
                *self = next;
                Ok(p)
            }
        }
    }

    /// The readout learns `y` (scaled) as the target of the state it has now, and is solved again.
    fn learn(&mut self, y: &[f64]) -> Result<(), LabError> {
        let x = self.reservoir.read().insert_axis(Axis(0));
        let y = Array2::from_shape_vec((1, y.len()), y.to_vec()).expect("one row");
        self.fitter.add(x.view(), y.view())?;
        self.readout = self.reservoir.finish_readout(&self.fitter)?;
        self.description.fitted_rows += 1;
        Ok(())
    }

    /// A forecaster takes the next samples of the signal, `(k, n_channels)`, in time order, in the signal's units.
    /// Each is first the target of the prediction the forecaster holds for it: with `online` the readout learns it
    /// (recursive least squares row by row; otherwise the ridge's normal equations take the row and are solved
    /// again after the last sample). Then it is the next input. Without `online` only the state moves on. A
    /// forecaster fitted on a signal and then given its continuation online has the readout of one fitted on the
    /// whole signal. A map is refused: it takes inputs and targets apart ([`Self::step`]).
    pub fn observe(&mut self, samples: ArrayView2<'_, f64>, online: bool) -> Result<(), LabError> {
        self.forecaster_only("observe a signal's samples")?;
        let q = self.description.n_outputs;
        if samples.ncols() != q {
            return Err(LabError::InvalidData(format!(
                "{} channels given, the forecaster predicts {q}",
                samples.ncols()
            )));
        }
        all_finite(samples, "sample")?;
        // Work on copies, so that a failing step leaves the forecaster as it was.
        let mut reservoir = self.reservoir.clone();
        let mut fitter = self.fitter.clone();
        for row in samples.rows() {
            let row = self.scale_inputs(&row.to_vec());
            if online {
                let x = reservoir.read().insert_axis(Axis(0));
                let y = Array2::from_shape_vec((1, q), row.clone()).expect("one row");
                fitter.add(x.view(), y.view())?;
            }
            reservoir.push(&row)?;
        }
        if online && samples.nrows() > 0 {
            self.readout = reservoir.finish_readout(&fitter)?;
            self.description.fitted_rows += samples.nrows();
        }
        self.description.steps = reservoir.steps();
        self.reservoir = reservoir;
        self.fitter = fitter;
        Ok(())
    }

    /// A forecaster's next `horizon` samples, `(horizon, n_channels)` in the signal's units, each prediction fed
    /// back as the next input. The model itself stays where it is, so generating twice gives the same rows.
    pub fn generate(&self, horizon: usize) -> Result<Array2<f64>, LabError> {
        self.forecaster_only("generate a continuation")?;
        let mut generator = self.reservoir.clone();
        let mut out = Array2::zeros((horizon, self.description.n_outputs));
        for h in 0..horizon {
            let y = self
                .readout
                .decision(&generator.read().insert_axis(Axis(0)));
            if !y.iter().all(|v| v.is_finite()) {
                return Err(LabError::InvalidData(format!(
                    "the generated signal stopped being finite at step {} of {horizon}",
                    h + 1
                )));
            }
            out.row_mut(h).assign(&self.unscale(y.row(0).to_owned()));
            if h + 1 < horizon {
                generator.push(&y.row(0).to_vec())?;
            }
        }
        Ok(out)
    }

    /// Refuses `what` for a map.
    fn forecaster_only(&self, what: &str) -> Result<(), LabError> {
        match self.description.kind {
            SequenceKind::Forecaster => Ok(()),
            SequenceKind::Map => Err(LabError::InvalidParams(format!(
                "only a forecaster can {what}: this model maps {} inputs to {} other targets ({}); give it \
                 each step's inputs",
                self.description.n_inputs, self.description.n_outputs, self.description.dataset
            ))),
        }
    }

    /// `input` (one step's inputs in the signal's units) as the reservoir takes it.
    fn scale_inputs(&self, input: &[f64]) -> Vec<f64> {
        match &self.description.scaling {
            Some(s) => zscored(input, &s.input_mean, &s.input_std),
            None => input.to_vec(),
        }
    }

    /// `target` (one step's targets in the signal's units) as the readout learns it.
    fn scale_targets(&self, target: &[f64]) -> Vec<f64> {
        match &self.description.scaling {
            Some(s) => zscored(target, &s.target_mean, &s.target_std),
            None => target.to_vec(),
        }
    }

    /// A prediction of the readout in the signal's units.
    fn unscale(&self, mut y: Array1<f64>) -> Array1<f64> {
        if let Some(s) = &self.description.scaling {
            y.iter_mut()
                .zip(s.target_mean.iter().zip(&s.target_std))
                .for_each(|(v, (m, sd))| *v = *v * sd + m);
        }
        y
    }

    /// Writes the model into `dir` (created if needed): `model.json` and `weights/` (see the module's text).
    pub fn save(&self, dir: &Path) -> Result<(), SavedModelError> {
        let desc = dir.join(DESCRIPTION_FILE);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SavedModelError::Io { path, source }
        };
        if desc.exists() {
            // A description beside half-written weights would describe other arrays: remove it first.
            std::fs::remove_file(&desc).map_err(io(&desc))?;
        }
        let weights = dir.join(WEIGHTS_DIR);
        if weights.exists() {
            std::fs::remove_dir_all(&weights).map_err(io(&weights))?;
        }
        self.reservoir
            .save_state(&weights, &self.readout, &self.fitter)
            .map_err(LabError::from)?;
        let mut description = self.description.clone();
        description.steps = self.reservoir.steps();
        let mut value = serde_json::to_value(&description).expect("a description serialises");
        value[CHECKSUM_FIELD] = checksum(&description, &weights)?.into();
        let json = serde_json::to_string_pretty(&value).expect("a description serialises");
        std::fs::write(&desc, json + "\n").map_err(io(&desc))
    }

    /// Reads a directory written by [`Self::save`]: the description (format, version, checksum), the reservoir
    /// drawn again from it and checked against the stored weights, and the state, readout and fit.
    pub fn load(dir: &Path) -> Result<SequenceModel, SavedModelError> {
        let damaged = |file: &str, reason: String| SavedModelError::Damaged {
            dir: dir.to_path_buf(),
            file: file.to_string(),
            reason,
        };
        let (value, stored_checksum) = read_description(dir, SEQUENCE_FORMAT)?;
        let description: SequenceDescription = serde_json::from_value(value)
            .map_err(|e| damaged(DESCRIPTION_FILE, format!("malformed ({e})")))?;
        let weights = dir.join(WEIGHTS_DIR);
        match stored_checksum {
            Some(Some(stored)) if stored == checksum(&description, &weights)? => {}
            _ => {
                return Err(damaged(
                    DESCRIPTION_FILE,
                    "its checksum does not match the description and the weights: a file was edited or \
                     damaged after it was written"
                        .into(),
                ))
            }
        }
        let req = ModelRequest {
            model: description.model,
            dataset: description.dataset.clone(),
            preset: false,
            set: description.set.clone(),
            seed: description.seed,
            protocol: TrainingProtocol::default(),
            normalise: Normalise::None,
        };
        let (configured, _) = sequence_model(&req)?;
        if configured.to_json() != description.config {
            return Err(damaged(
                DESCRIPTION_FILE,
                "its `config` is not what its model and `set` configure: it was written by another version of \
                 the library"
                    .into(),
            ));
        }
        let mut reservoir =
            configured.draw_sequence(description.n_inputs, description.model_seed)?;
        let file = format!("{WEIGHTS_DIR}/{}", mf_esn::sequence::SEQUENCE_FILE);
        let (readout, fitter) = reservoir
            .load_state(&weights, description.n_outputs)
            .map_err(|e| damaged(&file, e.to_string()))?;
        if reservoir.steps() != description.steps {
            return Err(damaged(
                &file,
                format!(
                    "it has driven {} steps, the description says {}",
                    reservoir.steps(),
                    description.steps
                ),
            ));
        }
        Ok(SequenceModel {
            reservoir,
            readout,
            fitter,
            description,
        })
    }

    /// Whether `dir` holds a sequence model (its `model.json` says so), without reading the rest.
    pub fn is_in(dir: &Path) -> bool {
        std::fs::read_to_string(dir.join(DESCRIPTION_FILE))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| v.get("format").and_then(|f| f.as_str()) == Some(SEQUENCE_FORMAT))
    }
}

/// `values`, one per channel, z-scored with each channel's `mean` and `std`.
fn zscored(values: &[f64], mean: &[f64], std: &[f64]) -> Vec<f64> {
    values
        .iter()
        .zip(mean.iter().zip(std))
        .map(|(v, (m, sd))| (v - m) / sd)
        .collect()
}

/// Whether `signal`'s targets are its inputs one step later, every channel in order: the output can be fed back.
pub(crate) fn feeds_back(signal: &Signal) -> bool {
    signal.n_inputs() == signal.n_outputs()
        && signal
            .inputs()
            .slice_axis(Axis(0), (1..signal.len()).into())
            == signal
                .targets()
                .slice_axis(Axis(0), (0..signal.len() - 1).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::run_sequence;
    use crate::sequence::tests::{own_signal, req, without_constant_channel, TUNED_ESN};

    /// A forecaster's generation against a second path: the same reservoir driven along the signal with every
    /// state kept, the batch ridge (`Ridge::fit_arrays`, not the normal equations accumulated block by block) fitted
    /// on the rows after the washout, and the readout's output fed back by hand.
    #[test]
    fn a_forecaster_generates_what_the_batch_ridge_on_the_kept_states_predicts() {
        let t = 400;
        let series = Array2::from_shape_fn((t, 2), |(i, j)| {
            ((i as f64) * (0.21 + 0.1 * j as f64)).sin() + 0.3 * ((i as f64) * 0.05).cos()
        });
        let washout = 30;
        let req = req(ModelKind::all()[1], &[("lambda", 1e-4), ("n_units", 40.0)]);
        let f =
            SequenceModel::forecaster(&req, series.view(), washout, &CancelToken::new()).unwrap();
        let generated = f.generate(6).unwrap();

        let mut r = req.configure().unwrap().draw_sequence(2, req.seed).unwrap();
        let mut states = Array2::zeros((t, 40));
        r.drive(series.view(), |i, h| {
            states.row_mut(i).assign(&h);
            Ok(())
        })
        .unwrap();
        let x = states.slice_axis(Axis(0), (washout..t - 1).into());
        let y = series.slice_axis(Axis(0), (washout + 1..t).into());
        let ridge = mf_esn::Ridge::fit_arrays(x, y, 1e-4).unwrap();
        let mut by_hand = Vec::new();
        let mut h = states.row(t - 1).to_owned();
        for _ in 0..6 {
            let y = ridge.decision(&h.clone().insert_axis(Axis(0)));
            r.push(&y.row(0).to_vec()).unwrap();
            by_hand.push(y.row(0).to_owned());
            h = r.read();
        }
        for (k, want) in by_hand.iter().enumerate() {
            for (g, w) in generated.row(k).iter().zip(want) {
                assert!(
                    (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                    "step {k}: {g} vs {w}"
                );
            }
        }
        // Generation starts where the signal ended, every time.
        assert_eq!(
            f.generate(3).unwrap(),
            generated.slice_axis(Axis(0), (0..3).into())
        );
        assert!(
            SequenceModel::forecaster(&req, series.view(), t - 1, &CancelToken::new()).is_err()
        );
    }

    /// Fitting on a signal and then observing its continuation online gives the forecaster fitted on the whole
    /// signal (the same rows in the same order: bit for bit with recursive least squares, to rounding with the
    /// ridge, whose normal equations took the rows in other blocks); offline, only the state moves on.
    #[test]
    fn observing_a_signal_online_is_fitting_on_it() {
        let t = 300;
        let series = Array2::from_shape_fn((t, 1), |(i, _)| {
            ((i as f64) * 0.23).sin() * ((i as f64) * 0.011).cos()
        });
        for set in [
            vec![("lambda", 1e-3), ("n_units", 30.0)],
            vec![
                ("lambda", 1e-3),
                ("n_units", 30.0),
                ("readout", 1.0),
                ("forgetting", 0.999),
            ],
        ] {
            let req = req(ModelKind::all()[1], &set);
            let cancel = CancelToken::new();
            let whole = SequenceModel::forecaster(&req, series.view(), 20, &cancel).unwrap();
            let mut part = SequenceModel::forecaster(
                &req,
                series.slice_axis(Axis(0), (0..200).into()),
                20,
                &cancel,
            )
            .unwrap();
            let mut offline = part.clone();
            part.observe(series.slice_axis(Axis(0), (200..t).into()), true)
                .unwrap();
            let (a, b) = (whole.generate(20).unwrap(), part.generate(20).unwrap());
            let rls = set.len() == 4;
            for (x, y) in a.iter().zip(&b) {
                if rls {
                    assert_eq!(x, y);
                } else {
                    assert!((x - y).abs() < 1e-6, "{x} vs {y}");
                }
            }
            offline
                .observe(series.slice_axis(Axis(0), (200..t).into()), false)
                .unwrap();
            // Offline, the readout is the one fitted on the first part (an RLS readout's `lambda` is NaN: compare the
            // coefficients).
            let fresh = SequenceModel::forecaster(
                &req,
                series.slice_axis(Axis(0), (0..200).into()),
                20,
                &cancel,
            )
            .unwrap();
            assert_eq!(offline.readout.coef, fresh.readout.coef);
            assert_eq!(offline.readout.intercept, fresh.readout.intercept);
            assert_eq!(offline.reservoir.read(), whole.reservoir.read());
            assert!(offline.observe(Array2::zeros((1, 2)).view(), true).is_err());
            assert!(offline
                .observe(Array2::from_elem((1, 1), f64::NAN).view(), true)
                .is_err());
        }
    }

    fn small(set: &[(&str, f64)]) -> ModelRequest {
        let mut all = vec![("n_units", 30.0)];
        all.extend_from_slice(set);
        req(ModelKind::Esn, &all)
    }

    /// `mf fit` on a task is `mf run`'s first trial: the same test score, bit for bit, a forecaster where the
    /// targets are the next inputs and a map elsewhere; the memory capacity is refused.
    #[test]
    fn a_fitted_sequence_model_scores_what_mf_runs_first_trial_scores() {
        let cancel = CancelToken::new();
        for (task, kind) in [
            (SequenceTask::Narma10, SequenceKind::Map),
            (SequenceTask::MackeyGlass, SequenceKind::Forecaster),
        ] {
            let r = small(&TUNED_ESN[..3]);
            let m = SequenceModel::fit(&r, &task.into(), &cancel).unwrap();
            let run = run_sequence(&r, task, 1, &cancel).unwrap();
            let d = m.description();
            assert_eq!(d.test_score, Some(run.per_trial[0]), "{task:?}");
            assert_eq!(d.kind, kind);
            assert_eq!(d.model_seed, derive_seed(r.seed, 0));
            // Driven to the signal's end: a forecaster one step more, past its last input row.
            let total: usize = run.segments.iter().sum();
            let extra = usize::from(kind == SequenceKind::Forecaster);
            assert_eq!(m.reservoir.steps(), total + extra, "{task:?}");
        }
        let e = SequenceModel::fit(&small(&[]), &SequenceTask::MemoryCapacity.into(), &cancel)
            .unwrap_err()
            .to_string();
        assert!(e.contains("memory capacity") && e.contains("mf run"), "{e}");
        let e = SequenceModel::fit(
            &req(ModelKind::MfRnn, &[]),
            &SequenceTask::Narma10.into(),
            &cancel,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("built for reservoir models"), "{e}");
    }

    /// A saved model loads and goes on with the same bits as the one that wrote it, learning online or not,
    /// with either readout; a map refuses to generate.
    #[test]
    fn a_saved_sequence_model_goes_on_as_the_one_that_was_saved() {
        let cancel = CancelToken::new();
        for (task, set) in [
            (SequenceTask::MackeyGlass, vec![("lambda", 1e-6)]),
            (
                SequenceTask::MackeyGlass,
                vec![("readout", 1.0), ("forgetting", 0.995), ("lambda", 1e-3)],
            ),
            (SequenceTask::Narma10, vec![("lambda", 1e-6)]),
        ] {
            let m = SequenceModel::fit(&small(&set), &task.into(), &cancel).unwrap();
            let dir = tempfile::tempdir().unwrap();
            m.save(dir.path()).unwrap();
            assert!(SequenceModel::is_in(dir.path()));
            let mut back = SequenceModel::load(dir.path()).unwrap();
            assert_eq!(back.description(), m.description());
            let mut m = m;
            for k in 0..40 {
                let u = 0.4 + 0.1 * (k as f64 * 0.3).sin();
                let online = k % 2 == 0;
                let (x, t) = match m.description().kind {
                    SequenceKind::Forecaster => (vec![u], None),
                    SequenceKind::Map => (vec![u * 0.5], Some(vec![u])),
                };
                let a = m.step(&x, t.as_deref(), online).unwrap();
                let b = back.step(&x, t.as_deref(), online).unwrap();
                assert_eq!(a, b, "{task:?} step {k}");
            }
            match m.description().kind {
                SequenceKind::Forecaster => {
                    assert_eq!(m.generate(30).unwrap(), back.generate(30).unwrap())
                }
                SequenceKind::Map => {
                    let e = back.generate(3).unwrap_err().to_string();
                    assert!(e.contains("only a forecaster"), "{e}");
                }
            }
        }
    }

    /// Learning online step by step is the batch `observe`: bit for bit with recursive least squares, to
    /// rounding with the ridge (whose normal equations took the rows one at a time instead of in one block).
    #[test]
    fn stepping_online_is_observing_online() {
        let t = 260;
        let series = Array2::from_shape_fn((t, 1), |(i, _)| ((i as f64) * 0.19).sin());
        for rls in [false, true] {
            let mut set = vec![("lambda", 1e-3)];
            if rls {
                set.extend([("readout", 1.0), ("forgetting", 0.999)]);
            }
            let head = series.slice_axis(Axis(0), (0..200).into());
            let mut batch =
                SequenceModel::forecaster(&small(&set), head, 10, &CancelToken::new()).unwrap();
            let mut stepped = batch.clone();
            let tail = series.slice_axis(Axis(0), (200..t).into());
            batch.observe(tail, true).unwrap();
            for row in tail.rows() {
                stepped.step(&row.to_vec(), None, true).unwrap();
            }
            assert_eq!(
                stepped.description().fitted_rows,
                batch.description().fitted_rows
            );
            let (a, b) = (batch.prediction(), stepped.prediction());
            for (x, y) in a.iter().zip(&b) {
                if rls {
                    assert_eq!(x, y);
                } else {
                    assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{x} vs {y}");
                }
            }
            // A forecaster's sample is its own target; a wrong width or a non-finite value changes nothing.
            let before = stepped.prediction();
            assert!(stepped.step(&[0.1], Some(&[0.2]), true).is_err());
            assert!(stepped.step(&[0.1, 0.2], None, true).is_err());
            assert!(stepped.step(&[f64::NAN], None, true).is_err());
            assert_eq!(stepped.prediction(), before);
        }
    }

    /// A model of a z-scored signal takes and gives values in the file's units: the same as the model without
    /// its scaling given values scaled by hand and its predictions scaled back by hand.
    #[test]
    fn a_zscored_signals_model_takes_and_gives_the_files_units() {
        let dir = tempfile::tempdir().unwrap();
        let path = own_signal(dir.path());
        let data = SequenceData::from_file(&path, &["b".into()], Normalise::Zscore);
        assert!(data.is_err(), "the constant channel");
        let two = without_constant_channel(dir.path(), &path);
        let data = SequenceData::from_file(&two, &["b".into()], Normalise::Zscore).unwrap();
        let mut m =
            SequenceModel::fit(&small(&TUNED_ESN[..3]), &data, &CancelToken::new()).unwrap();
        assert_eq!(m.description().kind, SequenceKind::Map);
        let s = m.description().scaling.clone().expect("z-scored");
        let mut raw = m.clone();
        raw.description.scaling = None;
        for k in 0..10 {
            let (a, b) = (0.3 * (k as f64).sin(), 0.2 * (k as f64).cos());
            let got = m.step(&[a, b], Some(&[b]), true).unwrap();
            let x = [
                (a - s.input_mean[0]) / s.input_std[0],
                (b - s.input_mean[1]) / s.input_std[1],
            ];
            let y = [(b - s.target_mean[0]) / s.target_std[0]];
            let want =
                raw.step(&x, Some(&y), true).unwrap()[0] * s.target_std[0] + s.target_mean[0];
            assert_eq!(got[0], want);
        }
        let dir2 = tempfile::tempdir().unwrap();
        m.save(dir2.path()).unwrap();
        assert_eq!(
            SequenceModel::load(dir2.path())
                .unwrap()
                .description()
                .scaling,
            Some(s)
        );
    }

    /// An edited file is refused on its checksum; each kind of directory is refused by the other's loader,
    /// naming what it holds.
    #[test]
    fn a_damaged_or_other_directory_is_refused() {
        let m = SequenceModel::fit(
            &small(&[]),
            &SequenceTask::Narma10.into(),
            &CancelToken::new(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        m.save(dir.path()).unwrap();
        let e = crate::saved::SavedModel::load(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("holds a sequence model") && e.contains("--stream"),
            "{e}"
        );
        let file = dir
            .path()
            .join(WEIGHTS_DIR)
            .join(mf_esn::sequence::SEQUENCE_FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        let n = bytes.len();
        bytes[n - 3] ^= 1;
        std::fs::write(&file, bytes).unwrap();
        let e = SequenceModel::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
        let nowhere = tempfile::tempdir().unwrap();
        let e = SequenceModel::load(&nowhere.path().join("x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no such model directory"), "{e}");
    }
}
