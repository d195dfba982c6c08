//! Trained models as files, for use after the experiment: [`SavedModel::fit`] trains one model as `mf run`'s
//! first trial does, [`SavedModel::save`] writes it to a directory, [`SavedModel::load`] reads it back, and
//! [`SavedModel::predict`] and [`SavedModel::stream`] use it on new series, whole or sample by sample.
//!
//! # The model directory (format version 1)
//!
//! ```text
//! <dir>/model.json                 the description (Description): format and version, model, data set, every
//!                                  hyper-parameter, physics, input dimensions, class labels, data fingerprint,
//!                                  test score, and the input normalisation with its training statistics
//!                                  (`normalise`; absent when there is none, as in directories written before
//!                                  it existed, which load as unnormalised)
//! <dir>/weights/model.safetensors  the arrays, written by the model crate (mf-esn or mf-rnn):
//!                                    MF-ESN, ESN: w_in, w_rec, bias (f32), readout.weight, readout.bias (f64),
//!                                                 train_states (f32)
//!                                    MF-RNN, RNN: kernel, recurrent_kernel, bias, readout.weight, readout.bias
//!                                                 (f32)
//! <dir>/weights/model.json         the model crate's own description (configuration, readout or head, training
//!                                  history)
//! ```
//!
//! A saved model predicts the same bits as the model that was fitted: the arrays are stored exactly and the
//! prediction runs the same code. A model fitted with input normalisation ([`crate::normalise`]) takes series
//! as the data set writes them: [`SavedModel::predict`] and [`ModelStream::push`] scale them with the stored
//! training statistics (f64 numbers in JSON, which read back to the same bits) before the model sees them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mf_core::rng::derive_seed;
use mf_core::{Physics, Sequences, Targets};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::memory::{self, Available};
use crate::models::{
    CancelToken, DataShape, FittedModel, FittedStream, TrialContext, TrialData, TrialEvent,
};
use crate::normalise::InputScaling;
use crate::single::ModelRequest;
use crate::spec::{Metric, ModelKind, Params};
use crate::tasks::Task;
use crate::training::TrainingProtocol;
use crate::{LabError, ResultExt};

/// The field of `model.json` holding `checksum`, beside the [`Description`]'s own fields.
pub const CHECKSUM_FIELD: &str = "checksum";

/// SHA-256 over the description (its compact JSON) and every file of the weights directory (name and bytes, in
/// name order), as 64 hex digits: an edit of either, a flipped byte of an array or a swapped class list, is a
/// mismatch at load instead of silently other predictions.
pub(crate) fn checksum(
    description: &impl Serialize,
    weights: &Path,
) -> Result<String, SavedModelError> {
    use sha2::{Digest, Sha256};
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SavedModelError::Io { path, source }
    };
    let mut h = Sha256::new();
    h.update(serde_json::to_string(description).expect("a model description serialises"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(weights)
        .map_err(io(weights))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io(weights))?;
    files.retain(|p| p.is_file());
    files.sort();
    for path in files {
        let name = path
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(crate::spec::hex(&h.finalize()))
}

/// What the `format` field of every model description says.
pub const FORMAT: &str = "memristive-model";
/// The version of the directory layout and description this library writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The description file, at the top of a model directory.
pub const DESCRIPTION_FILE: &str = "model.json";
/// The directory, inside a model directory, that the model crate writes its files into.
pub const WEIGHTS_DIR: &str = "weights";

/// Everything `model.json` says about a saved model. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this library.
    pub format_version: u32,
    /// The model: `mf-esn`, `esn`, `mf-rnn` or `rnn`.
    pub model: ModelKind,
    /// The data set it was fitted on (its training split).
    pub dataset: String,
    /// Whether the hyper-parameters started from the paper's preset for the data set.
    pub preset: bool,
    /// The hyper-parameters set over the preset or the defaults (`--set`).
    pub set: Params,
    /// Trainable models: how they stopped early and which weights they kept; absent for reservoirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<TrainingProtocol>,
    /// The seed asked for: the model is the first trial of `mf run` with this seed.
    pub seed: u64,
    /// The seed the model was built from, `derive_seed(seed, 0)`: the reservoir draw, or the initial weights and
    /// batch order.
    pub model_seed: u64,
    /// Every hyper-parameter: the model crate's configuration (`mf_esn::ReservoirConfig`, `mf_rnn::RnnConfig`).
    pub config: serde_json::Value,
    /// The device constants of an MF cell (paper Table II unless overridden); absent for leaky-ESN and tanh
    /// cells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physics: Option<Physics>,
    /// Values per time step the model takes.
    pub n_inputs: usize,
    /// `accuracy` for classification, `rmse` for regression.
    pub metric: Metric,
    /// The class labels as the data set writes them, in class-index order; empty for regression.
    pub classes: Vec<String>,
    /// Number of classes, or of regression outputs.
    pub n_outputs: usize,
    /// Series fitted on: the whole training split.
    pub n_train: usize,
    /// The data set as the models saw it ([`crate::eval::fingerprint`], as sweep stores record it).
    pub data_fingerprint: String,
    /// The score on the data set's test split (accuracy or RMSE), when it has one.
    pub test_score: Option<f64>,
    /// Trainable models: epochs trained and the best epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<(usize, usize)>,
    /// Why the model's scores mean nothing: its training diverged, or its reservoir's states left the cell's
    /// physical range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverged: Option<String>,
    /// The library that wrote it, with its version (`mf-lab 0.1.0`).
    pub written_by: String,
    /// The input normalisation fitted on the training split, which every series given to the model goes
    /// through first; absent for a model without one (and in descriptions written before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalise: Option<InputScaling>,
}

/// The description of the model directory `dir` as JSON, its `checksum` field taken out (`None` when it has
/// none, `Some(None)` when it is not a string): checked to exist, to be JSON, and to be of `format` in
/// [`FORMAT_VERSION`]. A directory of the other format (a series model where a sequence model is wanted, or the
/// reverse) is refused naming what it holds.
pub(crate) fn read_description(
    dir: &Path,
    format: &str,
) -> Result<(serde_json::Value, Option<Option<String>>), SavedModelError> {
    if !dir.is_dir() {
        return Err(SavedModelError::NotFound {
            dir: dir.to_path_buf(),
        });
    }
    let damaged = |reason: String| SavedModelError::Damaged {
        dir: dir.to_path_buf(),
        file: DESCRIPTION_FILE.to_string(),
        reason,
    };
    let path = dir.join(DESCRIPTION_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(damaged("missing".into()))
        }
        Err(source) => return Err(SavedModelError::Io { path, source }),
    };
    let mut value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| damaged(format!("not valid JSON ({e})")))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(f) if f == format => {}
        Some(other @ (FORMAT | crate::sequence_model::SEQUENCE_FORMAT)) => {
            return Err(SavedModelError::OtherKind {
                dir: dir.to_path_buf(),
                sequence: other == crate::sequence_model::SEQUENCE_FORMAT,
            })
        }
        _ => {
            return Err(damaged(format!(
                "not a model description (its `format` is not \"{format}\")"
            )))
        }
    }
    match value.get("format_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(found) => {
            return Err(SavedModelError::Version {
                dir: dir.to_path_buf(),
                found,
            })
        }
        None => return Err(damaged("no whole-number `format_version`".into())),
    }
    let stored_checksum = value
        .as_object_mut()
        .and_then(|o| o.remove(CHECKSUM_FIELD))
        .map(|c| c.as_str().map(str::to_owned));
    Ok((value, stored_checksum))
}

/// A model with its description: fitted in this process, or loaded from a directory.
#[derive(Debug, Clone)]
pub struct SavedModel {
    description: Description,
    fitted: Arc<dyn FittedModel>,
}

/// What a model predicts for a batch of series.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// Classification.
    Classes {
        /// The predicted class of each series, an index into [`Description::classes`].
        classes: Vec<usize>,
        /// One score per series and class, `(n_series, n_classes)`, the largest for the predicted class. MF-RNN
        /// and RNN: class probabilities (softmax, or sigmoid for two classes). MF-ESN and ESN: the ridge readout's
        /// decision value for the class's `+1/-1` code, and minus infinity for a class absent from the training
        /// split (the readout never predicts it).
        scores: Array2<f64>,
    },
    /// Regression: `(n_series, n_outputs)`.
    Values(Array2<f64>),
}

impl Predictions {
    /// Number of series predicted.
    pub fn len(&self) -> usize {
        match self {
            Predictions::Classes { classes, .. } => classes.len(),
            Predictions::Values(v) => v.nrows(),
        }
    }

    /// Whether no series was predicted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Series read from a file for a saved model: [`SavedModel::read_input`].
#[derive(Debug, Clone)]
pub struct Input {
    /// The file.
    pub path: PathBuf,
    /// The series, converted as the data sets are for fitting (missing values interpolated).
    pub seqs: Sequences,
    /// The file's labels as indices into the model's classes, or its regression targets `(n_series, 1)`.
    pub truth: Targets,
}

/// Everything that can go wrong when fitting, saving, loading or using a saved model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SavedModelError {
    /// The model directory does not exist.
    #[error("{}: no such model directory (`mf fit --out DIR` writes one)", dir.display())]
    NotFound {
        /// The directory.
        dir: PathBuf,
    },
    /// A file of the model directory is missing, unreadable, malformed or disagrees with the others.
    #[error(
        "model directory {} is damaged: {file}: {reason}; fit the model again (`mf fit`)",
        dir.display()
    )]
    Damaged {
        /// The model directory.
        dir: PathBuf,
        /// The file, relative to `dir` (`model.json`, `weights/model.safetensors`).
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The model directory holds the other kind of model: a sequence model (`mf fit` on a sequence task) where
    /// a series model is wanted, or the reverse.
    #[error(
        "{} holds {}",
        dir.display(),
        if *sequence {
            "a sequence model (`mf fit` on a sequence task): it predicts sample by sample (`mf predict DIR \
             --stream`) and forecasts (`mf predict DIR --horizon H`), not whole series"
        } else {
            "a model of whole series (`mf fit` on a series data set), not a sequence model"
        }
    )]
    OtherKind {
        /// The model directory.
        dir: PathBuf,
        /// Whether it holds a sequence model.
        sequence: bool,
    },
    /// The model directory was written in another format version.
    #[error(
        "{} holds a model in format version {found}, and this version of mf reads version {FORMAT_VERSION}: \
         fit the model again with this mf, or use the mf that wrote it",
        dir.display()
    )]
    Version {
        /// The model directory.
        dir: PathBuf,
        /// The version found in its `model.json`.
        found: u64,
    },
    /// A file's series have another number of values per time step than the model takes.
    #[error(
        "{}: series {series} has {got} values per time step (dimensions), but the model takes {expected}",
        path.display()
    )]
    Dimensions {
        /// The file.
        path: PathBuf,
        /// The 1-based series.
        series: usize,
        /// The model's input dimensions.
        expected: usize,
        /// The series'.
        got: usize,
    },
    /// A file's label that is none of the model's classes.
    #[error(
        "{}: series {series} has label `{label}`, which is not one of the model's classes ({})",
        path.display(),
        known.join(", ")
    )]
    UnknownLabel {
        /// The file.
        path: PathBuf,
        /// The 1-based series.
        series: usize,
        /// The label.
        label: String,
        /// The model's classes.
        known: Vec<String>,
    },
    /// A file that does not suit the model (regression targets for a classifier, an empty series, ...).
    #[error("{}: {reason}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A sample pushed into a [`ModelStream`] that the model cannot take.
    #[error("sample {sample}: {reason}")]
    Sample {
        /// The 1-based sample of the current series.
        sample: usize,
        /// What is wrong.
        reason: String,
    },
    /// A data file that does not parse (the error names the file and line).
    #[error(transparent)]
    Data(Box<mf_data::DataError>),
    /// Fitting or predicting failed.
    #[error(transparent)]
    Lab(Box<LabError>),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl From<LabError> for SavedModelError {
    fn from(e: LabError) -> Self {
        SavedModelError::Lab(Box::new(e))
    }
}

impl From<mf_data::DataError> for SavedModelError {
    fn from(e: mf_data::DataError) -> Self {
        SavedModelError::Data(Box::new(e))
    }
}

impl From<mf_esn::EsnError> for SavedModelError {
    fn from(e: mf_esn::EsnError) -> Self {
        LabError::from(e).into()
    }
}

impl From<mf_rnn::RnnError> for SavedModelError {
    fn from(e: mf_rnn::RnnError) -> Self {
        LabError::from(e).into()
    }
}

/// Accuracy or RMSE of `predictions` against `truth`, as the models score themselves.
pub fn score(predictions: &Predictions, truth: &Targets) -> Result<f64, LabError> {
    match (predictions, truth) {
        (Predictions::Classes { classes, .. }, Targets::Classes { labels, .. })
            if classes.len() == labels.len() =>
        {
            Ok(mf_core::seq::accuracy(classes, labels))
        }
        (Predictions::Values(p), Targets::Values(y)) if p.dim() == y.dim() => {
            Ok(mf_core::seq::rmse(p, y))
        }
        _ => Err(LabError::InvalidData(
            "the predictions and the truth differ in kind or size".into(),
        )),
    }
}

/// A label's index among `classes`: the same text, or, when every class is a number, the same number (`1` is
/// `1.0`), as `mf-data` matches the labels of a data set's two splits.
fn encode_label(label: &str, classes: &[String]) -> Option<usize> {
    if let Some(i) = classes.iter().position(|c| c == label) {
        return Some(i);
    }
    let value = |l: &str| l.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let v = value(label)?;
    let values: Option<Vec<f64>> = classes.iter().map(|c| value(c)).collect();
    values?.iter().position(|&c| c == v)
}

impl SavedModel {
    /// Trains one model of `req` on the whole training split of `task` and scores it on the test split when
    /// there is one, exactly as the first trial of `mf run` with the same request does (seed
    /// `derive_seed(req.seed, 0)`, and for trainable models the request's training protocol). A configuration
    /// too large for the memory available is refused before anything is allocated. `on_event` hears each epoch
    /// of a trainable model. With `req.normalise`, the scaling is fitted on the training split, applied to it and
    /// to the test split, and kept in the description ([`Description::normalise`]); `task` is given unscaled.
    pub fn fit(
        req: &ModelRequest,
        task: &Task,
        on_event: &dyn Fn(TrialEvent),
        cancel: &CancelToken,
    ) -> Result<SavedModel, SavedModelError> {
        let what = || format!("{} on {}", req.model, req.dataset);
        let config = req.configure()?;
        let raw = task;
        let (task, scaling) = raw.normalised(req.normalise)?;
        let task = task.as_ref();
        let test = task.test.as_ref();
        let data = TrialData {
            train: &task.train,
            val: None,
            eval: test.unwrap_or(&task.train),
            protocol: req.protocol,
        };
        let shape = DataShape::of(&data);
        memory::check(config.memory_bytes(&shape), &Available::now(), &shape).context_with(what)?;
        let seed = derive_seed(req.seed, 0);
        let train = &task.train;
        let fitted: Arc<dyn FittedModel> = Arc::from(
            config
                .fit(
                    train,
                    None,
                    req.protocol,
                    seed,
                    &TrialContext { on_event, cancel },
                )
                .context_with(what)?,
        );
        let test_score = test
            .map(|t| fitted.score(&t.seqs, &t.targets))
            .transpose()
            .context_with(|| format!("{}: scoring on the test split", what()))?;
        let training = fitted.training();
        let description = Description {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            model: req.model,
            dataset: req.dataset.clone(),
            preset: req.preset,
            set: req.set.clone(),
            protocol: (!req.model.is_reservoir()).then_some(req.protocol),
            seed: req.seed,
            model_seed: seed,
            config: fitted.config_json(),
            physics: fitted.physics(),
            n_inputs: train.seqs.n_inputs(),
            metric: task.metric,
            classes: task.classes.clone(),
            n_outputs: match &train.targets {
                Targets::Classes { n_classes, .. } => *n_classes,
                Targets::Values(v) => v.ncols(),
            },
            n_train: train.len(),
            data_fingerprint: crate::eval::fingerprint(raw),
            test_score,
            epochs: training.as_ref().map(|t| t.epochs),
            diverged: fitted.divergence(),
            written_by: format!("mf-lab {}", env!("CARGO_PKG_VERSION")),
            normalise: scaling,
        };
        Ok(SavedModel {
            description,
            fitted,
        })
    }

    /// The description `model.json` holds.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// The fitted model.
    pub fn fitted(&self) -> &dyn FittedModel {
        self.fitted.as_ref()
    }

    /// Writes the model into `dir` (created if absent; files of the same names are replaced): the model crate's
    /// files into `dir/weights/`, then `dir/model.json`, last, so that a save cut short leaves no description.
    pub fn save(&self, dir: &Path) -> Result<(), SavedModelError> {
        let desc = dir.join(DESCRIPTION_FILE);
        if desc.exists() {
            // A description beside half-written weights would describe other arrays: remove it first.
            std::fs::remove_file(&desc).map_err(|source| SavedModelError::Io {
                path: desc.clone(),
                source,
            })?;
        }
        let weights = dir.join(WEIGHTS_DIR);
        self.fitted.save(&weights)?;
        let mut value =
            serde_json::to_value(&self.description).expect("a model description serialises");
        value[CHECKSUM_FIELD] = checksum(&self.description, &weights)?.into();
        let json = serde_json::to_string_pretty(&value).expect("a model description serialises");
        std::fs::write(&desc, json + "\n")
            .map_err(|source| SavedModelError::Io { path: desc, source })
    }

    /// Reads a model directory written by [`SavedModel::save`]: checks the format and its version, reads the
    /// model crate's files and checks that they agree with the description.
    pub fn load(dir: &Path) -> Result<SavedModel, SavedModelError> {
        let damaged = |file: &str, reason: String| SavedModelError::Damaged {
            dir: dir.to_path_buf(),
            file: file.to_string(),
            reason,
        };
        let (value, stored_checksum) = read_description(dir, FORMAT)?;
        let description: Description = serde_json::from_value(value)
            .map_err(|e| damaged(DESCRIPTION_FILE, format!("malformed ({e})")))?;
        let weights = dir.join(WEIGHTS_DIR);
        // The model crates' errors name the full path of the file; the message names it relative to `dir`.
        let relative = |p: &Path| {
            p.strip_prefix(dir)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        };
        let fitted: Arc<dyn FittedModel> =
            Arc::from(description.model.model().load(&weights).map_err(|e| {
                let file = e.path.as_deref().map_or(WEIGHTS_DIR.into(), relative);
                damaged(&file, e.reason)
            })?);
        check_agreement(&description, fitted.as_ref())
            .map_err(|reason| damaged(DESCRIPTION_FILE, reason))?;
        // Directories written before the checksum existed have none, and load as they did.
        match stored_checksum {
            None => {}
            Some(Some(stored)) if stored == checksum(&description, &weights)? => {}
            Some(_) => {
                return Err(damaged(
                    DESCRIPTION_FILE,
                    "its checksum does not match the description and the weights: a file was edited or \
                     damaged after `mf fit` wrote it"
                        .into(),
                ))
            }
        }
        Ok(SavedModel {
            description,
            fitted,
        })
    }

    /// Predicts every series of `seqs`, given as the data set writes them: scaled first by the model's input
    /// normalisation when it has one. The classes or values are those of the model's own `predict` on the
    /// scaled series, bit for bit.
    pub fn predict(&self, seqs: &Sequences) -> Result<Predictions, SavedModelError> {
        let seqs = self.scaled(seqs)?;
        Ok(self.fitted.predict(&seqs, self.description.classes.len())?)
    }

    /// `seqs` scaled by the model's input normalisation, or as they are when it has none.
    fn scaled<'a>(
        &self,
        seqs: &'a Sequences,
    ) -> Result<std::borrow::Cow<'a, Sequences>, SavedModelError> {
        Ok(match &self.description.normalise {
            Some(s) => std::borrow::Cow::Owned(s.apply(seqs)?),
            None => std::borrow::Cow::Borrowed(seqs),
        })
    }

    /// The features the model's ridge readout reads for every series of `seqs` (given as the data set writes
    /// them, scaled first by the model's input normalisation): [`FittedModel::features`]. None for MF-RNN and
    /// RNN, whose readout is trained with the rest of the network.
    pub fn features(&self, seqs: &Sequences) -> Result<Option<Array2<f64>>, SavedModelError> {
        let seqs = self.scaled(seqs)?;
        Ok(self.fitted.features(&seqs)?)
    }

    /// Reads the series of one split file for this model, with its labels (or targets) in the model's terms:
    /// any format a data set given by path is read from ([`mf_data::read_table`]: CSV wide or long, Parquet,
    /// Arrow IPC `.arrow`/`.feather`/`.ipc`, and `.ts`, `.tsv`, `.arff`), the tabular ones with their `label`
    /// (classification) or `target` (regression) column. Errors name the file, and the series where there is
    /// one: another number of dimensions than the model takes, a label that is none of the model's classes,
    /// regression targets for a classifier.
    pub fn read_input(&self, path: &Path) -> Result<Input, SavedModelError> {
        let split = mf_data::read_table(path, &mf_data::TableOptions::default())?;
        let input_error = |reason: String| SavedModelError::Input {
            path: path.to_path_buf(),
            reason,
        };
        if split.n_dims() != self.description.n_inputs {
            return Err(SavedModelError::Dimensions {
                path: path.to_path_buf(),
                series: 1,
                expected: self.description.n_inputs,
                got: split.n_dims(),
            });
        }
        let truth = match (self.description.metric, split.labels(), split.targets()) {
            (Metric::Accuracy, Some(labels), _) => {
                let classes = &self.description.classes;
                let labels = labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        encode_label(l, classes).ok_or_else(|| SavedModelError::UnknownLabel {
                            path: path.to_path_buf(),
                            series: i + 1,
                            label: l.clone(),
                            known: classes.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Targets::Classes {
                    labels,
                    n_classes: classes.len(),
                }
            }
            (Metric::Accuracy, None, _) => {
                return Err(input_error(
                    "the file holds regression targets, but the model predicts classes".into(),
                ))
            }
            (m @ (Metric::Nrmse | Metric::Mc | Metric::Vpt), ..) => {
                return Err(input_error(format!(
                    "the model's description names a sequence task's metric ({}), which no model of whole series \
                     has",
                    m.name()
                )))
            }
            (Metric::Rmse, labels, targets) => {
                // A `.tsv` file writes its targets where class labels go.
                // A `.ts` or `.arff` file says which it holds (`@classLabel` or `@targetLabel`, a nominal or a
                // numeric class attribute), and so does a tabular file (a `label` or a `target` column): class
                // labels there are a classification file, even when they are numbers, and scoring them as
                // values would print an RMSE of class indices.
                let tsv = path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
                if targets.is_none() && !tsv {
                    return Err(input_error(
                        "the file holds class labels, but the model predicts values (a regression model)".into(),
                    ));
                }
                let values = match (targets, labels) {
                    (Some(t), _) => t,
                    (None, Some(l)) => l
                        .iter()
                        .enumerate()
                        .map(|(i, l)| {
                            l.trim().parse::<f64>().map_err(|_| {
                                input_error(format!(
                                    "series {} has class label `{l}`, but the model predicts values",
                                    i + 1
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    (None, None) => unreachable!("a split has labels or targets"),
                };
                if self.description.n_outputs != 1 {
                    return Err(input_error(format!(
                        "the file has one target per series, but the model predicts {} values",
                        self.description.n_outputs
                    )));
                }
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    return Err(input_error(format!(
                        "the target of series {} is not finite",
                        i + 1
                    )));
                }
                let n = values.len();
                Targets::Values(Array2::from_shape_vec((n, 1), values).expect("n values"))
            }
        };
        // The conversion the data sets go through for fitting: missing values interpolated, zeros after each
        // series' end. Its class list is the file's own and is not used.
        let name = path.display().to_string();
        let ds = mf_data::Dataset::new(name, split, None)?;
        let part = Task::from_dataset(&ds)
            .map_err(|e| match e {
                LabError::Context { source, .. } => input_error(source.to_string()),
                e => input_error(e.to_string()),
            })?
            .train;
        Ok(Input {
            path: path.to_path_buf(),
            seqs: part.seqs,
            truth,
        })
    }

    /// A stream over the model, at the zero state before any sample.
    pub fn stream(&self) -> Result<ModelStream<'_>, SavedModelError> {
        Ok(ModelStream {
            model: self,
            inner: self.fitted.stream()?,
        })
    }
}

/// Why the description and the model crate's files disagree, if they do.
fn check_agreement(d: &Description, fitted: &dyn FittedModel) -> Result<(), String> {
    if let Some(s) = &d.normalise {
        s.check(d.n_inputs)?;
    }
    if fitted.config_json() != d.config {
        return Err(format!(
            "its configuration differs from the one in {WEIGHTS_DIR}/model.json"
        ));
    }
    let n_inputs = fitted.n_inputs();
    if n_inputs != d.n_inputs {
        return Err(format!(
            "n_inputs is {}, but the weights take {n_inputs}",
            d.n_inputs
        ));
    }
    let fits = fitted.fits_task(d.metric, d.classes.len(), d.n_outputs);
    if !fits {
        return Err(format!(
            "its task ({} with {} classes or outputs) differs from the readout's",
            d.metric, d.n_outputs
        ));
    }
    Ok(())
}

/// A saved model advanced one time step at a time: [`ModelStream::push`] a sample, [`ModelStream::predict`]
/// at any step. Made by [`SavedModel::stream`]. Its predictions are those of [`SavedModel::predict`] on the
/// series pushed so far, to f32 rounding of the states.
pub struct ModelStream<'a> {
    model: &'a SavedModel,
    inner: Box<dyn FittedStream + 'a>,
}

impl std::fmt::Debug for ModelStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelStream")
            .field("model", &self.model.description.model)
            .field("steps", &self.steps())
            .finish()
    }
}

impl ModelStream<'_> {
    /// Advances the model by one time step with `x`, one value per input dimension as the data set writes them
    /// (scaled by the model's input normalisation, when it has one, exactly as [`SavedModel::predict`] scales a
    /// series). A sample of the wrong size or with a non-finite value, before or after scaling, or a state that
    /// stops being finite, is [`SavedModelError::Sample`]; the stream is then where it was before the call.
    pub fn push(&mut self, x: &[f32]) -> Result<(), SavedModelError> {
        let sample = self.steps() + 1;
        let n = self.model.description.n_inputs;
        let bad = |reason: String| SavedModelError::Sample { sample, reason };
        if x.len() != n {
            return Err(bad(format!(
                "{} value{}, but the model takes {n} (one per input dimension)",
                x.len(),
                if x.len() == 1 { "" } else { "s" }
            )));
        }
        if let Some(k) = x.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("value {} is {}", k + 1, x[k])));
        }
        let scaled;
        let x = match &self.model.description.normalise {
            Some(s) => {
                scaled = s.apply_sample(x).map_err(|(k, v)| {
                    bad(format!(
                        "value {} ({}) becomes {v} after z-score normalisation",
                        k + 1,
                        x[k]
                    ))
                })?;
                &scaled[..]
            }
            None => x,
        };
        self.inner.push(x).map_err(bad)
    }

    /// Samples pushed since the start or the last [`ModelStream::reset`].
    pub fn steps(&self) -> usize {
        self.inner.steps()
    }

    /// What the model predicts for the series pushed so far (one series); before any sample, the readout of the
    /// zero state.
    pub fn predict(&self) -> Predictions {
        self.inner.predict(self.model.description.classes.len())
    }

    /// Back to the zero state, for the next series.
    pub fn reset(&mut self) {
        self.inner.reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::Normalise;
    use crate::tasks::load_dataset;

    fn task() -> Task {
        Task::from_dataset(&load_dataset(Path::new("/nonexistent"), "synthetic-control").unwrap())
            .unwrap()
    }

    /// A request on synthetic-control. Trainable models use the fresh-split protocol: under the reference
    /// protocol their training history holds NaN validation losses, which `TrainedRnn::save` writes as JSON
    /// null and `TrainedRnn::load` refuses (see the ignored test below).
    fn request(model: ModelKind, set: &[(&str, f64)]) -> ModelRequest {
        ModelRequest {
            model,
            dataset: "synthetic-control".into(),
            preset: false,
            set: set.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            seed: 7,
            protocol: TrainingProtocol::FreshSplit,
            normalise: Normalise::None,
        }
    }

    /// Small versions of the four models.
    fn requests() -> Vec<ModelRequest> {
        vec![
            request(ModelKind::MfEsn, &[("n_units", 20.0)]),
            request(ModelKind::Esn, &[("n_units", 20.0)]),
            request(ModelKind::MfRnn, &[("n_units", 8.0), ("max_epochs", 3.0)]),
            request(ModelKind::Rnn, &[("n_units", 8.0), ("max_epochs", 3.0)]),
        ]
    }

    fn fit(req: &ModelRequest, task: &Task) -> SavedModel {
        SavedModel::fit(req, task, &|_| {}, &CancelToken::new()).unwrap()
    }

    /// Every number of a prediction, as bits (minus infinity included).
    fn bits(p: &Predictions) -> Vec<u64> {
        match p {
            Predictions::Classes { classes, scores } => classes
                .iter()
                .map(|&c| c as u64)
                .chain(scores.iter().map(|v| v.to_bits()))
                .collect(),
            Predictions::Values(v) => v.iter().map(|v| v.to_bits()).collect(),
        }
    }

    /// A small configuration of every registered model, so that a new model is covered without touching the
    /// tests.
    fn every_model() -> Vec<ModelRequest> {
        crate::models::REGISTRY
            .iter()
            .map(|&m| {
                let names = m.model().param_names();
                let mut set = vec![("n_units", if m.is_reservoir() { 20.0 } else { 8.0 })];
                if names.contains(&"max_epochs") {
                    set.push(("max_epochs", 3.0));
                }
                request(m, &set)
            })
            .collect()
    }

    #[test]
    fn every_registered_model_fits_saves_loads_and_predicts_the_same_bits() {
        let task = task();
        let test = task.test().unwrap();
        for req in every_model() {
            let model = fit(&req, &task);
            let dir = tempfile::tempdir().unwrap();
            model.save(dir.path()).unwrap();
            let back = SavedModel::load(dir.path()).unwrap();
            assert_eq!(back.description(), model.description(), "{}", req.model);
            let (a, b) = (
                model.predict(&test.seqs).unwrap(),
                back.predict(&test.seqs).unwrap(),
            );
            assert_eq!(bits(&a), bits(&b), "{}", req.model);
            // The classes score as the model crate scores itself, and the score is the test score recorded.
            let Predictions::Classes { classes, scores } = &a else {
                panic!("synthetic-control is classification")
            };
            assert_eq!(
                score(&a, &test.targets).unwrap(),
                back.fitted().score(&test.seqs, &test.targets).unwrap(),
                "{}",
                req.model
            );
            for (i, &c) in classes.iter().enumerate() {
                let best = scores.row(i).fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                assert_eq!(scores[[i, c]], best, "{}: series {i}", req.model);
            }
            assert_eq!(
                score(&a, &test.targets).unwrap(),
                model.description().test_score.unwrap()
            );
        }
    }

    #[test]
    fn a_trainable_model_of_the_reference_protocol_round_trips() {
        let task = task();
        let test = task.test().unwrap();
        let mut req = request(ModelKind::Rnn, &[("n_units", 8.0), ("max_epochs", 3.0)]);
        req.protocol = TrainingProtocol::Reference;
        let model = fit(&req, &task);
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let back = SavedModel::load(dir.path()).unwrap();
        assert_eq!(
            bits(&model.predict(&test.seqs).unwrap()),
            bits(&back.predict(&test.seqs).unwrap())
        );
    }

    #[test]
    fn a_regression_model_round_trips_too() {
        let task =
            Task::from_dataset(&load_dataset(Path::new("."), "narma10-windows").unwrap()).unwrap();
        let test = task.test().unwrap();
        for req in [
            request(ModelKind::MfEsn, &[("n_units", 10.0)]),
            request(ModelKind::Rnn, &[("n_units", 6.0), ("max_epochs", 2.0)]),
        ] {
            let mut req = req;
            req.dataset = "narma10-windows".into();
            let model = fit(&req, &task);
            let dir = tempfile::tempdir().unwrap();
            model.save(dir.path()).unwrap();
            let back = SavedModel::load(dir.path()).unwrap();
            let a = model.predict(&test.seqs).unwrap();
            assert!(matches!(a, Predictions::Values(_)));
            assert_eq!(bits(&a), bits(&back.predict(&test.seqs).unwrap()));
            assert_eq!(
                score(&a, &test.targets).unwrap(),
                back.fitted().score(&test.seqs, &test.targets).unwrap()
            );
            assert_eq!(back.description().metric, Metric::Rmse);
            assert!(back.description().classes.is_empty());
            // A classification file with numeric labels is not scored as values; a `.tsv`, which writes its
            // targets where labels go, and a `.ts` of targets are.
            let (_f, path) = file("c.ts", "@classLabel true 1 2\n@data\n1,2,3:1\n4,5:2\n");
            let e = back.read_input(&path).unwrap_err().to_string();
            assert!(
                e.ends_with("the file holds class labels, but the model predicts values (a regression model)"),
                "{e}"
            );
            let (_f, path) = file("v.tsv", "0.5\t1\t2\n0.25\t3\t4\n");
            assert!(back.read_input(&path).is_ok());
            let (_f, path) = file("v.ts", "@targetLabel true\n@data\n1,2,3:0.5\n");
            assert!(back.read_input(&path).is_ok());
        }
    }

    #[test]
    fn the_saved_model_is_the_first_trial_of_mf_run() {
        let task = task();
        for req in every_model() {
            let model = fit(&req, &task);
            let run = crate::single::run_trials_on_test(
                &req,
                1,
                Path::new("/nonexistent"),
                &|_| {},
                &mut |_, _, _| {},
                &CancelToken::new(),
            )
            .unwrap();
            let d = model.description();
            assert_eq!(d.test_score, Some(run.per_trial[0]), "{}", req.model);
            assert_eq!(d.model_seed, derive_seed(7, 0));
            assert_eq!(d.data_fingerprint, crate::eval::fingerprint(&task));
            assert_eq!(d.classes, ["1", "2", "3", "4", "5", "6"]);
            assert_eq!((d.n_inputs, d.n_outputs, d.n_train), (1, 6, 300));
            assert_eq!(
                d.physics.is_some(),
                req.model.model().param_names().contains(&"kp0"),
                "{}",
                req.model
            );
            assert_eq!(d.epochs.is_some(), !req.model.is_reservoir());
        }
    }

    #[test]
    fn streaming_a_series_predicts_what_the_batch_predicts() {
        let task = task();
        let test = task.test().unwrap();
        for req in every_model() {
            let model = fit(&req, &task);
            let batch = model.predict(&test.seqs).unwrap();
            let mut stream = model.stream().unwrap();
            for i in (0..test.len()).step_by(7) {
                stream.reset();
                for row in test.seqs.series(i).rows() {
                    stream.push(row.as_slice().unwrap()).unwrap();
                }
                match (stream.predict(), &batch) {
                    (
                        Predictions::Classes { classes, scores },
                        Predictions::Classes {
                            classes: bc,
                            scores: bs,
                        },
                    ) => {
                        assert_eq!(classes[0], bc[i], "{}: series {i}", req.model);
                        for (a, b) in scores.row(0).iter().zip(bs.row(i)) {
                            assert!(
                                a == b || (a - b).abs() < 1e-4,
                                "{}: series {i}: {a} vs {b}",
                                req.model
                            );
                        }
                    }
                    other => panic!("{other:?}"),
                }
            }
            let e = stream.push(&[1.0, 2.0]).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "sample {}: 2 values, but the model takes 1 (one per input dimension)",
                    stream.steps() + 1
                )
            );
            let e = stream.push(&[f32::INFINITY]).unwrap_err().to_string();
            assert!(e.ends_with("value 1 is inf"), "{e}");
        }
    }

    /// A model of `kind` saved into a fresh directory.
    fn saved(req: &ModelRequest) -> (tempfile::TempDir, SavedModel) {
        let model = fit(req, &task());
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        (dir, model)
    }

    fn load_error(dir: &Path) -> String {
        SavedModel::load(dir).unwrap_err().to_string()
    }

    #[test]
    fn damaged_directories_and_other_versions_are_clear_errors() {
        let missing = load_error(Path::new("/nonexistent/model"));
        assert!(missing.contains("no such model directory"), "{missing}");
        for req in [&requests()[0], &requests()[3]] {
            let (dir, _) = saved(req);
            let d = dir.path();
            let desc = std::fs::read_to_string(d.join(DESCRIPTION_FILE)).unwrap();
            let weights = d.join(WEIGHTS_DIR).join("model.safetensors");
            let bytes = std::fs::read(&weights).unwrap();

            std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
            let e = load_error(d);
            assert!(
                e.starts_with(&format!(
                    "model directory {} is damaged: weights/model.safetensors: ",
                    d.display()
                )) && e.ends_with("fit the model again (`mf fit`)"),
                "{e}"
            );
            std::fs::remove_file(&weights).unwrap();
            let e = load_error(d);
            assert!(e.contains("is damaged: weights/model.safetensors"), "{e}");
            std::fs::write(&weights, &bytes).unwrap();

            std::fs::write(
                d.join(DESCRIPTION_FILE),
                desc.replace("\"format_version\": 1", "\"format_version\": 2"),
            )
            .unwrap();
            let e = load_error(d);
            assert!(
                e.contains(
                    "holds a model in format version 2, and this version of mf reads version 1"
                ),
                "{e}"
            );
            std::fs::write(d.join(DESCRIPTION_FILE), &desc[..desc.len() / 2]).unwrap();
            assert!(load_error(d).contains("is damaged: model.json: not valid JSON"));
            std::fs::write(
                d.join(DESCRIPTION_FILE),
                desc.replace("\"n_inputs\": 1", "\"n_inputs\": 2"),
            )
            .unwrap();
            let e = load_error(d);
            assert!(
                e.contains("model.json: n_inputs is 2, but the weights take 1"),
                "{e}"
            );
            std::fs::remove_file(d.join(DESCRIPTION_FILE)).unwrap();
            assert!(load_error(d).contains("is damaged: model.json: missing"));
            std::fs::write(d.join(DESCRIPTION_FILE), &desc).unwrap();
            SavedModel::load(d).unwrap();
        }
    }

    #[test]
    fn an_edited_description_or_a_flipped_weight_byte_is_refused_and_an_old_directory_still_loads()
    {
        let (dir, model) = saved(&requests()[0]);
        let d = dir.path();
        let desc = std::fs::read_to_string(d.join(DESCRIPTION_FILE)).unwrap();
        let weights = d.join(WEIGHTS_DIR).join("model.safetensors");
        let bytes = std::fs::read(&weights).unwrap();
        let mismatch =
            |e: String| assert!(e.contains("model.json: its checksum does not match"), "{e}");
        // The last byte is inside the last array (the data follow the header).
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 0x01;
        std::fs::write(&weights, &flipped).unwrap();
        mismatch(load_error(d));
        std::fs::write(&weights, &bytes).unwrap();
        // Two classes swapped: the arrays still fit, only the labels would be wrong.
        let swapped = desc
            .replacen("\"1\",", "\"x\",", 1)
            .replacen("\"2\",", "\"1\",", 1)
            .replacen("\"x\",", "\"2\",", 1);
        assert_ne!(swapped, desc);
        std::fs::write(d.join(DESCRIPTION_FILE), &swapped).unwrap();
        mismatch(load_error(d));
        // A directory written before the checksum existed loads as before.
        let mut old: serde_json::Value = serde_json::from_str(&desc).unwrap();
        assert!(old
            .as_object_mut()
            .unwrap()
            .remove(CHECKSUM_FIELD)
            .is_some());
        std::fs::write(d.join(DESCRIPTION_FILE), old.to_string()).unwrap();
        let back = SavedModel::load(d).unwrap();
        assert_eq!(back.description(), model.description());
    }

    /// Writes `text` to `name` in a fresh directory.
    fn file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// Writes `split` to `path` as a Parquet or Arrow IPC data frame: its label or target column and one list
    /// column per dimension, the layout a data set given by path is read in (without the split's own length
    /// column).
    fn write_columnar(split: &mf_data::Split, path: &Path, format: crate::export::FrameFormat) {
        let batch = split.batch();
        let length = batch.schema().index_of(mf_data::LENGTH_COLUMN).unwrap();
        let keep: Vec<usize> = (0..batch.num_columns()).filter(|&c| c != length).collect();
        let frame = batch.project(&keep).unwrap();
        let out = std::fs::File::create(path).unwrap();
        crate::export::write_frame(&frame, format, out).unwrap();
    }

    #[test]
    fn input_files_in_every_format_a_data_set_is_read_from_give_the_same_series_and_labels() {
        use crate::export::FrameFormat;
        let (_dir, model) = saved(&requests()[1]);
        // Two series of different lengths, one value missing, labels matched by value (`2.0` is class `2`).
        let (dir, tsv) = file("x.tsv", "2.0\t0.5\t?\t0.25\n6\t-1\t3\n");
        let split = mf_data::read_split(&tsv).unwrap();
        let d = dir.path();
        let texts = [
            ("wide.csv", "label,t0,t1,t2\n2.0,0.5,,0.25\n6,-1,3,\n"),
            (
                "long.csv",
                "series,time,value,label\na,0,0.5,2.0\nb,1,3,6\na,2,0.25,2.0\nb,0,-1,6\na,1,,2.0\n",
            ),
        ];
        let mut paths = vec![tsv.clone()];
        for (name, text) in texts {
            std::fs::write(d.join(name), text).unwrap();
            paths.push(d.join(name));
        }
        for (name, format) in [
            ("x.parquet", FrameFormat::Parquet),
            ("x.feather", FrameFormat::Arrow),
            ("x.arrow", FrameFormat::Arrow),
        ] {
            write_columnar(&split, &d.join(name), format);
            paths.push(d.join(name));
        }
        let want = model.read_input(&tsv).unwrap();
        assert_eq!(
            want.truth,
            Targets::Classes {
                labels: vec![1, 5],
                n_classes: 6
            }
        );
        let bits = |i: &Input| i.seqs.x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for path in &paths {
            let got = model
                .read_input(path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(got.truth, want.truth, "{}", path.display());
            assert_eq!(got.seqs.lengths, [3, 2], "{}", path.display());
            assert_eq!(bits(&got), bits(&want), "{}", path.display());
        }

        // The same checks as for the archive formats, naming the file and the series.
        let (_f, path) = file("t.csv", "target,t0,t1\n0.5,1,2\n");
        let e = model.read_input(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: the file holds regression targets, but the model predicts classes",
                path.display()
            )
        );
        let (_f, path) = file("two.csv", "label,dim0_0,dim0_1,dim1_0,dim1_1\n1,1,2,3,4\n");
        let e = model.read_input(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: series 1 has 2 values per time step (dimensions), but the model takes 1",
                path.display()
            )
        );
        let (_f, tsv7) = file("seven.tsv", "1\t0.5\t0.2\n7\t0.1\t0.3\n");
        let path = d.join("seven.parquet");
        write_columnar(
            &mf_data::read_split(&tsv7).unwrap(),
            &path,
            FrameFormat::Parquet,
        );
        let e = model.read_input(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: series 2 has label `7`, which is not one of the model's classes (1, 2, 3, 4, 5, 6)",
                path.display()
            )
        );
        // A malformed CSV names the file and the line; an unknown extension lists the readable ones.
        let (_f, path) = file("bad.csv", "label,t0,t1\n1,0.5,x\n");
        let e = model.read_input(&path).unwrap_err().to_string();
        assert!(e.contains(&format!("{}:2", path.display())), "{e}");
        let (_f, path) = file("x.xlsx", "");
        let e = model.read_input(&path).unwrap_err().to_string();
        assert!(
            e.contains("x.xlsx") && e.contains(".csv, .parquet") && e.contains(".feather"),
            "{e}"
        );
    }

    #[test]
    fn a_regression_model_reads_a_target_column_and_refuses_a_label_column() {
        let task =
            Task::from_dataset(&load_dataset(Path::new("."), "narma10-windows").unwrap()).unwrap();
        let mut req = request(ModelKind::MfEsn, &[("n_units", 10.0)]);
        req.dataset = "narma10-windows".into();
        let model = fit(&req, &task);
        let (_f, path) = file("v.csv", "target,t0,t1,t2\n0.5,0.1,0.2,0.3\n0.25,0.3,0.2,\n");
        let input = model.read_input(&path).unwrap();
        assert_eq!(
            input.truth,
            Targets::Values(Array2::from_shape_vec((2, 1), vec![0.5, 0.25]).unwrap())
        );
        assert_eq!(input.seqs.lengths, [3, 2]);
        let (_f, path) = file("c.csv", "label,t0,t1\n1,0.1,0.2\n");
        let e = model.read_input(&path).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "the file holds class labels, but the model predicts values (a regression model)"
            ),
            "{e}"
        );
    }

    #[test]
    fn input_files_with_other_dimensions_or_labels_are_errors_naming_file_and_series() {
        let (_dir, model) = saved(&requests()[1]);
        let (_f, path) = file(
            "x.ts",
            "@dimensions 2\n@classLabel true 1 2\n@data\n1,2:3,4:1\n",
        );
        let e = model.read_input(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: series 1 has 2 values per time step (dimensions), but the model takes 1",
                path.display()
            )
        );
        let (_f, path) = file("x.tsv", "1\t0.5\t0.2\n7\t0.1\t0.3\n");
        let e = model.read_input(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: series 2 has label `7`, which is not one of the model's classes (1, 2, 3, 4, 5, 6)",
                path.display()
            )
        );
        let (_f, path) = file("x.ts", "@targetLabel true\n@data\n1,2,3:0.5\n");
        let e = model.read_input(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("the file holds regression targets, but the model predicts classes"),
            "{e}"
        );
        // Numeric labels match by value, missing values are interpolated.
        let (_f, path) = file("x.ts", "@classLabel true 2.0 6\n@data\n1,?,3:2.0\n4,5:6\n");
        let input = model.read_input(&path).unwrap();
        assert_eq!(
            input.truth,
            Targets::Classes {
                labels: vec![1, 5],
                n_classes: 6
            }
        );
        assert_eq!(input.seqs.lengths, [3, 2]);
        assert_eq!(input.seqs.x[[0, 1, 0]], 2.0);
        let e = model
            .read_input(Path::new("/nonexistent/x.ts"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/x.ts"), "{e}");
    }
}
