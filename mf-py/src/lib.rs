//! `memristive._native`: the Rust half of the Python package `memristive`.
//!
//! It converts arrays at the boundary and calls `mf-lab`; it holds no model logic. The estimators themselves
//! (scikit-learn's conventions, argument checks, class labels) are Python, in `python/memristive/`, generated
//! from [`models`] so that a hyper-parameter declared in `mf-lab` appears in Python with no Python code.
//!
//! Every long call releases the GIL: the work runs on a worker thread while the calling thread waits with the
//! GIL released, waking every 100 ms to let Python handle signals. A Ctrl-C (or any signal whose handler
//! raises) cancels the work through its [`CancelToken`], waits for the worker to stop, and raises the handler's
//! exception (`KeyboardInterrupt`).

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use mf_lab::data::{Dataset, RawSplit, Split};
use mf_lab::models::hyper::ParamKind;
use mf_lab::normalise::Normalise;
use mf_lab::saved::{Predictions, SavedModel, SavedModelError};
use mf_lab::sequence::SequenceTask;
use mf_lab::sequence_model::SequenceModel;
use mf_lab::single::ModelRequest;
use mf_lab::tasks::Task;
use mf_lab::training::TrainingProtocol;
use mf_lab::{CancelToken, LabError, ModelKind, Params};
use ndarray::{Array2, ArrayView3, Axis};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3,
};
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyDict, PyList, PyTuple};

/// The name a model fitted from arrays records as its data set.
const ARRAYS: &str = "numpy arrays";

/// A library error as the Python exception it is: files that are missing or unreadable are `OSError`s, a
/// cancelled run `KeyboardInterrupt`, everything else (bad input, bad hyper-parameters) `ValueError`. The
/// message is `mf`'s.
fn lab_err(e: LabError) -> PyErr {
    match e {
        LabError::Cancelled => PyKeyboardInterrupt::new_err("cancelled"),
        LabError::Io { .. } => PyOSError::new_err(e.to_string()),
        LabError::DatasetNotFound { .. } => PyFileNotFoundError::new_err(e.to_string()),
        e => PyValueError::new_err(e.to_string()),
    }
}

fn saved_err(e: SavedModelError) -> PyErr {
    match e {
        SavedModelError::Lab(e) => lab_err(*e),
        e @ SavedModelError::NotFound { .. } => PyFileNotFoundError::new_err(e.to_string()),
        e @ SavedModelError::Io { .. } => PyOSError::new_err(e.to_string()),
        e => PyValueError::new_err(e.to_string()),
    }
}

/// Runs `work` on a worker thread with the GIL released, checking for signals every 100 ms: when a signal handler
/// raises (Ctrl-C's `KeyboardInterrupt`), `interrupt` is called to stop the work, and the handler's exception is
/// raised once the worker has returned.
fn interruptible<T: Send>(
    py: Python<'_>,
    interrupt: impl FnOnce(),
    work: impl FnOnce() -> PyResult<T> + Send,
) -> PyResult<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(move || {
            // The receiver is gone only when the waiting side has already returned.
            let _ = tx.send(work());
        });
        let mut rx = rx;
        loop {
            let (back, got) = py.detach(move || {
                let got = rx.recv_timeout(Duration::from_millis(100));
                (rx, got)
            });
            rx = back;
            match got {
                Ok(result) => return result,
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(raised) = py.check_signals() {
                        interrupt();
                        // Wait for the worker to stop; its result (most likely `Cancelled`) is dropped.
                        let _ = py.detach(move || rx.recv());
                        return Err(raised);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PyRuntimeError::new_err(
                        "the worker thread stopped without a result",
                    ))
                }
            }
        }
    })
}

/// [`interruptible`] for work that stops through a [`CancelToken`] of its own.
fn cancellable<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(&CancelToken) -> PyResult<T> + Send,
) -> PyResult<T> {
    let cancel = CancelToken::new();
    interruptible(py, || cancel.cancel(), || work(&cancel))
}

fn model_kind(id: &str) -> PyResult<ModelKind> {
    id.parse().map_err(lab_err)
}

/// Hyper-parameters from a Python dict: numbers as they are, choices by name (`integrator="exact"`), booleans
/// as 0/1. Unknown names are refused by the model's own check, with the list of known ones.
fn params_of(values: &Bound<'_, PyDict>) -> PyResult<Params> {
    let mut params = Params::new();
    for (k, v) in values.iter() {
        let name: String = k.extract()?;
        let number = if let Ok(b) = v.extract::<bool>() {
            if b {
                1.0
            } else {
                0.0
            }
        } else if let Ok(x) = v.extract::<f64>() {
            x
        } else if let Ok(text) = v.extract::<String>() {
            mf_lab::grid::parse_value(&name, &text).map_err(|e| {
                PyValueError::new_err(if e.contains(name.as_str()) {
                    e
                } else {
                    format!("{name}: {e}")
                })
            })?
        } else {
            return Err(PyValueError::new_err(format!(
                "{name}: expected a number or a choice's name, not {}",
                v.get_type().name()?
            )));
        };
        params.insert(name, number);
    }
    Ok(params)
}

/// The request of `model` with hyper-parameters `params` on `dataset`, from `seed`: no preset, the default training
/// protocol, no input normalisation.
fn request(
    model: &str,
    dataset: &str,
    params: &Bound<'_, PyDict>,
    seed: u64,
) -> PyResult<ModelRequest> {
    Ok(ModelRequest {
        model: model_kind(model)?,
        dataset: dataset.into(),
        preset: false,
        set: params_of(params)?,
        seed,
        protocol: TrainingProtocol::default(),
        normalise: Normalise::None,
    })
}

/// Series `(n_series, n_channels, n_steps)` with NaN after each series' end (aeon's layout), as the split
/// mf-lab reads from files: each series ends after its last step with any value, and missing values inside it
/// stay NaN (interpolated later, as for a file).
fn raw_split(x: ArrayView3<'_, f64>) -> RawSplit {
    let series = x
        .outer_iter()
        .map(|s| {
            let len = s
                .axis_iter(Axis(1))
                .rposition(|step| step.iter().any(|v| !v.is_nan()))
                .map_or(0, |t| t + 1);
            s.outer_iter()
                .map(|channel| channel.iter().take(len).copied().collect())
                .collect()
        })
        .collect();
    RawSplit {
        series,
        ..RawSplit::default()
    }
}

/// What a fit is given: the series and their labels or targets.
enum Truth {
    Labels(Vec<String>),
    Targets(Vec<f64>),
    /// No targets: the reservoir only, for a transformer (its readout fits zeros and is never used).
    None,
}

fn task_of(mut raw: RawSplit, truth: Truth) -> PyResult<Task> {
    let n = raw.series.len();
    match truth {
        Truth::Labels(l) => raw.labels = Some(l),
        Truth::Targets(t) => raw.targets = Some(t),
        Truth::None => raw.targets = Some(vec![0.0; n]),
    }
    let ds = Split::from_raw(&raw)
        .and_then(|split| Dataset::new(ARRAYS, split, None))
        .map_err(|e| lab_err(e.into()))?;
    Task::from_dataset(&ds).map_err(lab_err)
}

/// Series converted as a file's are for a model: missing values inside each series interpolated, zeros after
/// its end.
fn sequences_of(mut raw: RawSplit) -> PyResult<mf_core::Sequences> {
    raw.targets = Some(vec![0.0; raw.series.len()]);
    let split = Split::from_raw(&raw).map_err(|e| lab_err(e.into()))?;
    mf_lab::tasks::sequences(&split).map_err(lab_err)
}

/// The registered models and their hyper-parameters, as `mf params --json` lists them: for each model its
/// `id`, `name`, whether it is a reservoir (`reservoir`), whether it drives a reservoir along one long signal, as
/// forecasters and transformers need (`sequence`: trained models run sequence tasks too, but train), and its
/// `params` (`name`, `kind`, `default`, `help`, and `choices` as (name, number) pairs for a choice).
#[pyfunction]
fn models(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    let sequence = mf_lab::sequence::reservoir_models();
    for kind in ModelKind::all() {
        let m = kind.model();
        let d = PyDict::new(py);
        d.set_item("id", m.id())?;
        d.set_item("name", m.name())?;
        d.set_item("reservoir", m.is_reservoir())?;
        d.set_item("sequence", sequence.contains(&m.id()))?;
        let params = PyList::empty(py);
        for p in m.params() {
            let pd = PyDict::new(py);
            pd.set_item("name", p.name)?;
            pd.set_item("kind", p.kind.describe())?;
            pd.set_item("default", p.default)?;
            pd.set_item("help", p.help.clone())?;
            let (integer, choices) = match p.kind {
                ParamKind::Real => (false, None),
                ParamKind::Count { .. } | ParamKind::Bits => (true, None),
                ParamKind::Choice(c) => (false, Some(c.to_vec())),
            };
            pd.set_item("integer", integer)?;
            pd.set_item("choices", choices)?;
            params.append(pd)?;
        }
        d.set_item("params", params)?;
        out.append(d)?;
    }
    Ok(out)
}

/// The hyper-parameters the paper selected for `model` on `dataset` (Tables V-VIII), or None.
#[pyfunction]
fn preset<'py>(
    py: Python<'py>,
    model: &str,
    dataset: &str,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Some(params) = model_kind(model)?.model().preset(dataset) else {
        return Ok(None);
    };
    let d = PyDict::new(py);
    for (k, v) in params {
        d.set_item(k, v)?;
    }
    Ok(Some(d))
}

/// Class indices (None for a regressor) and the scores or values of a prediction.
type Prediction<'py> = (Option<Bound<'py, PyArray1<i64>>>, Bound<'py, PyArray2<f64>>);

/// A fitted model of any family: `mf-lab`'s [`SavedModel`], the object `mf fit` writes and `mf predict` reads.
#[pyclass(frozen, module = "memristive._native")]
struct Model(Arc<SavedModel>);

fn protocol_of(name: &str) -> PyResult<TrainingProtocol> {
    name.parse().map_err(lab_err)
}

fn normalise_of(name: &str) -> PyResult<Normalise> {
    name.parse().map_err(lab_err)
}

#[pymethods]
impl Model {
    /// Fits a model as `mf fit --seed SEED` does on a data set whose training split is `x` with `labels`
    /// (classification) or `targets` (regression), or neither (the reservoir alone, for features).
    #[staticmethod]
    #[pyo3(signature = (model, params, x, labels=None, targets=None, seed=0, normalise="none", protocol="reference"))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        model: &str,
        params: &Bound<'_, PyDict>,
        x: PyReadonlyArray3<'_, f64>,
        labels: Option<Vec<String>>,
        targets: Option<PyReadonlyArray1<'_, f64>>,
        seed: u64,
        normalise: &str,
        protocol: &str,
    ) -> PyResult<Model> {
        let req = ModelRequest {
            protocol: protocol_of(protocol)?,
            normalise: normalise_of(normalise)?,
            ..request(model, ARRAYS, params, seed)?
        };
        let truth = match (labels, targets) {
            (Some(l), None) => Truth::Labels(l),
            (None, Some(t)) => Truth::Targets(t.as_array().to_vec()),
            (None, None) => Truth::None,
            (Some(_), Some(_)) => {
                return Err(PyValueError::new_err("give labels or targets, not both"))
            }
        };
        let raw = raw_split(x.as_array());
        cancellable(py, move |cancel| {
            let task = task_of(raw, truth)?;
            SavedModel::fit(&req, &task, &|_| {}, cancel)
                .map(|m| Model(Arc::new(m)))
                .map_err(saved_err)
        })
    }

    /// Predicts every series of `x`: `(classes, scores)` for a classifier (class indices into `classes`, and
    /// one score per class: probabilities for MF-RNN and RNN, the ridge readout's decision values for the
    /// reservoirs), `(None, values)` for a regressor.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray3<'_, f64>,
    ) -> PyResult<Prediction<'py>> {
        let p = self.on_series(py, x, |model, seqs| model.predict(seqs))?;
        Ok(match p {
            Predictions::Classes { classes, scores } => (
                Some(
                    classes
                        .into_iter()
                        .map(|c| c as i64)
                        .collect::<Vec<_>>()
                        .into_pyarray(py),
                ),
                scores.into_pyarray(py),
            ),
            Predictions::Values(v) => (None, v.into_pyarray(py)),
        })
    }

    /// The features the ridge readout reads for every series of `x` `(n_series, n_features)`; None for MF-RNN
    /// and RNN.
    fn features<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray3<'_, f64>,
    ) -> PyResult<Option<Bound<'py, PyArray2<f64>>>> {
        let f = self.on_series(py, x, |model, seqs| model.features(seqs))?;
        Ok(f.map(|f| f.into_pyarray(py)))
    }

    /// The class labels as the training data wrote them (as text), in class-index order; empty for regression.
    #[getter]
    fn classes(&self) -> Vec<String> {
        self.0.description().classes.clone()
    }

    /// Values per time step the model takes.
    #[getter]
    fn n_inputs(&self) -> usize {
        self.0.description().n_inputs
    }

    /// The model's id (`mf-esn`, ...).
    #[getter]
    fn model(&self) -> &'static str {
        self.0.description().model.id()
    }

    /// The description `model.json` holds, as JSON text.
    #[getter]
    fn description(&self) -> String {
        serde_json::to_string(self.0.description()).expect("a model description serialises")
    }

    /// Writes the model directory `mf fit --out DIR` writes (and `mf predict DIR` reads).
    fn save(&self, dir: PathBuf) -> PyResult<()> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| PyOSError::new_err(format!("{}: {e}", dir.display())))?;
        self.0.save(&dir).map_err(saved_err)
    }

    /// Reads a model directory written by `mf fit --out` or [`Model::save`].
    #[staticmethod]
    fn load(dir: PathBuf) -> PyResult<Model> {
        SavedModel::load(&dir)
            .map(|m| Model(Arc::new(m)))
            .map_err(saved_err)
    }

    /// The model directory's files, `(relative path, bytes)`, for pickling: loading them back with
    /// [`Model::from_files`] gives the same arrays, bit for bit.
    fn to_files<'py>(&self, py: Python<'py>) -> PyResult<Files<'py>> {
        to_files(py, |dir| self.0.save(dir).map_err(saved_err))
    }

    /// A model from the files [`Model::to_files`] gave.
    #[staticmethod]
    fn from_files(files: Vec<(String, Vec<u8>)>) -> PyResult<Model> {
        let dir = from_files(files)?;
        Self::load(dir.path().to_path_buf())
    }
}

impl Model {
    /// `use_model` on the series of `x`, converted as a file's are, on a worker thread with the GIL released;
    /// another number of channels than the model takes is refused first.
    fn on_series<T: Send>(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray3<'_, f64>,
        use_model: impl FnOnce(&SavedModel, &mf_core::Sequences) -> Result<T, SavedModelError> + Send,
    ) -> PyResult<T> {
        let expected = self.0.description().n_inputs;
        let got = x.as_array().len_of(Axis(1));
        if got != expected {
            return Err(PyValueError::new_err(format!(
                "X has {got} channels, but the model was fitted on {expected}"
            )));
        }
        let raw = raw_split(x.as_array());
        let model = &self.0;
        cancellable(py, move |_| {
            use_model(model, &sequences_of(raw)?).map_err(saved_err)
        })
    }
}

/// A model directory's files as `(relative path, bytes)`, for pickling: `save` writes the directory.
type Files<'py> = Vec<(String, Bound<'py, PyBytes>)>;

/// The files `save` writes into a fresh directory, as [`Files`].
fn to_files<'py>(
    py: Python<'py>,
    save: impl FnOnce(&Path) -> PyResult<()>,
) -> PyResult<Files<'py>> {
    let dir = tempfile::tempdir().map_err(|e| PyOSError::new_err(e.to_string()))?;
    save(dir.path())?;
    let mut out = Vec::new();
    collect_files(dir.path(), dir.path(), &mut |rel, bytes| {
        out.push((rel, PyBytes::new(py, &bytes)));
    })
    .map_err(|e| PyOSError::new_err(e.to_string()))?;
    Ok(out)
}

/// A fresh directory holding `files` ([`to_files`]' output), each refused when it names a place outside it.
fn from_files(files: Vec<(String, Vec<u8>)>) -> PyResult<tempfile::TempDir> {
    let dir = tempfile::tempdir().map_err(|e| PyOSError::new_err(e.to_string()))?;
    for (rel, bytes) in files {
        let rel = Path::new(&rel);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(PyValueError::new_err(format!(
                "a pickled model names a file outside its directory: {}",
                rel.display()
            )));
        }
        let path = dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| PyOSError::new_err(e.to_string()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| PyOSError::new_err(e.to_string()))?;
    }
    Ok(dir)
}

/// Calls `each(relative path, bytes)` for every file under `dir`, in path order.
fn collect_files(
    root: &Path,
    dir: &Path,
    each: &mut dyn FnMut(String, Vec<u8>),
) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(root, &path, each)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .into_owned();
            each(rel, std::fs::read(&path)?);
        }
    }
    Ok(())
}

/// A reservoir fitted on one signal to predict its next sample, generating its continuation in closed loop
/// (`mf_lab::sequence_model::SequenceModel`).
#[pyclass(module = "memristive._native", name = "Forecaster")]
struct PyForecaster(SequenceModel);

#[pymethods]
impl PyForecaster {
    /// Fits on `series` `(n_steps, n_channels)` after a washout of `washout` steps.
    #[staticmethod]
    #[pyo3(signature = (model, params, series, washout, seed=0))]
    fn fit(
        py: Python<'_>,
        model: &str,
        params: &Bound<'_, PyDict>,
        series: PyReadonlyArray2<'_, f64>,
        washout: usize,
        seed: u64,
    ) -> PyResult<PyForecaster> {
        let req = request(model, ARRAYS, params, seed)?;
        let series = series.as_array().to_owned();
        cancellable(py, move |cancel| {
            SequenceModel::forecaster(&req, series.view(), washout, cancel)
                .map(PyForecaster)
                .map_err(lab_err)
        })
    }

    /// The next `horizon` samples after the signal, `(horizon, n_channels)`.
    fn generate<'py>(
        &self,
        py: Python<'py>,
        horizon: usize,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let out: Array2<f64> = py.detach(|| self.0.generate(horizon).map_err(lab_err))?;
        Ok(out.into_pyarray(py))
    }

    /// Takes the signal's next samples `(k, n_channels)`: with `online` the readout learns each as the target of
    /// its prediction (`mf_lab::sequence_model::SequenceModel::observe`); then each is the next input.
    fn observe(
        &mut self,
        py: Python<'_>,
        samples: PyReadonlyArray2<'_, f64>,
        online: bool,
    ) -> PyResult<()> {
        let samples = samples.as_array().to_owned();
        let f = &mut self.0;
        py.detach(|| f.observe(samples.view(), online).map_err(lab_err))
    }

    /// Every hyper-parameter, as JSON text.
    #[getter]
    fn config(&self) -> String {
        self.0.config().to_string()
    }

    /// Its `model.json` description, as JSON text.
    #[getter]
    fn description(&self) -> String {
        serde_json::to_string(self.0.description()).expect("a description serialises")
    }

    /// One step in the signal's units (`mf_lab::sequence_model::SequenceModel::step`): a forecaster takes its
    /// next sample, a map the step's inputs and, to learn online, its targets; returns the prediction.
    #[pyo3(signature = (x, target=None, online=false))]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        x: Vec<f64>,
        target: Option<Vec<f64>>,
        online: bool,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let p = self
            .0
            .step(&x, target.as_deref(), online)
            .map_err(lab_err)?;
        Ok(p.into_pyarray(py))
    }

    /// Writes the directory `mf predict` reads (`mf_lab::sequence_model`).
    fn save(&self, dir: PathBuf) -> PyResult<()> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| PyOSError::new_err(format!("{}: {e}", dir.display())))?;
        self.0.save(&dir).map_err(saved_err)
    }

    /// Reads a directory written by `mf fit` on a sequence task or by [`PyForecaster::save`].
    #[staticmethod]
    fn load(dir: PathBuf) -> PyResult<PyForecaster> {
        SequenceModel::load(&dir)
            .map(PyForecaster)
            .map_err(saved_err)
    }

    /// The directory's files, for pickling; [`PyForecaster::from_files`] reads them back to the same bits.
    fn to_files<'py>(&self, py: Python<'py>) -> PyResult<Files<'py>> {
        to_files(py, |dir| self.0.save(dir).map_err(saved_err))
    }

    /// A sequence model from the files of [`PyForecaster::to_files`].
    #[staticmethod]
    fn from_files(files: Vec<(String, Vec<u8>)>) -> PyResult<PyForecaster> {
        let dir = from_files(files)?;
        Self::load(dir.path().to_path_buf())
    }
}

/// The linear memory capacity (Jaeger 2002) of `trials` reservoirs of `model`, trial `i` drawn from
/// `derive_seed(seed, i)`: `(mean MC, std, the mean curve MC_k for k = 1..2N)`, as `mf run --dataset
/// memory-capacity` computes it.
#[pyfunction]
#[pyo3(signature = (model, params, seed=0, trials=1))]
fn memory_capacity<'py>(
    py: Python<'py>,
    model: &str,
    params: &Bound<'_, PyDict>,
    seed: u64,
    trials: usize,
) -> PyResult<(f64, f64, Bound<'py, PyArray1<f64>>)> {
    let req = request(model, SequenceTask::MemoryCapacity.name(), params, seed)?;
    let report = cancellable(py, move |cancel| {
        mf_lab::sequence::run_sequence(&req, SequenceTask::MemoryCapacity, trials, cancel)
            .map_err(lab_err)
    })?;
    Ok((report.mean, report.std, report.curve.into_pyarray(py)))
}

/// The data directory `mf` uses: `data_dir` when given, else `$MF_DATA_DIR`, else the user cache directory.
#[pyfunction]
#[pyo3(signature = (data_dir=None))]
fn data_dir(data_dir: Option<PathBuf>) -> PathBuf {
    mf_lab::data::resolve_data_dir(data_dir.as_deref())
}

/// One split as `(x (n, channels, steps) with NaN after each series' end, labels as text or None, targets or
/// None)`.
type SplitArrays<'py> = (
    Bound<'py, numpy::PyArray3<f64>>,
    Option<Vec<String>>,
    Option<Bound<'py, PyArray1<f64>>>,
);

fn split_arrays<'py>(py: Python<'py>, split: &Split) -> SplitArrays<'py> {
    let (x, _) = split.to_ndarray_f64();
    // (n, steps, channels) to aeon's (n, channels, steps).
    let x = x.permuted_axes([0, 2, 1]).as_standard_layout().into_owned();
    (
        x.into_pyarray(py),
        split.labels(),
        split.targets().map(|t| t.into_pyarray(py)),
    )
}

/// A data set by name (or path) as `mf` finds it: `(train, test)`, each a split's arrays, the test split None
/// when the data set has none.
#[pyfunction]
#[pyo3(signature = (name, data_dir=None))]
fn load_dataset<'py>(
    py: Python<'py>,
    name: &str,
    data_dir: Option<PathBuf>,
) -> PyResult<(SplitArrays<'py>, Option<SplitArrays<'py>>)> {
    let dir = mf_lab::data::resolve_data_dir(data_dir.as_deref());
    let name = name.to_string();
    let ds = cancellable(py, move |_| {
        mf_lab::tasks::load_dataset(&dir, &name).map_err(lab_err)
    })?;
    Ok((
        split_arrays(py, &ds.train),
        ds.test.as_ref().map(|t| split_arrays(py, t)),
    ))
}

/// Runs (or resumes) the sweep of the spec at `spec` into `<results>/<hash>/`, as `mf sweep` does:
/// `(done, failed, already stored, store path)`. Raises when any recorded job failed, as `mf sweep` exits
/// non-zero.
#[pyfunction]
#[pyo3(signature = (spec, results=PathBuf::from("results"), threads=0, data_dir=None, retry_failed=false))]
fn sweep(
    py: Python<'_>,
    spec: PathBuf,
    results: PathBuf,
    threads: usize,
    data_dir: Option<PathBuf>,
    retry_failed: bool,
) -> PyResult<(usize, usize, usize, PathBuf)> {
    let data_dir = mf_lab::data::resolve_data_dir(data_dir.as_deref());
    let loaded = mf_lab::Spec::load(&spec).map_err(lab_err)?;
    let (mut store, _) = mf_lab::open_spec_store(&results, &loaded, None).map_err(lab_err)?;
    let path = store.path().to_path_buf();
    let evaluator = mf_lab::eval::ModelEvaluator::new(data_dir);
    let opts = mf_lab::RunOptions {
        threads: mf_lab::run::worker_threads(threads),
        shard: None,
        retry_failed,
    };
    // Ctrl-C cancels the run: no new job starts, the running ones stop, and the store keeps every finished job.
    let control = mf_lab::Control::new();
    let summary = interruptible(
        py,
        || control.cancel(),
        || {
            let summary = mf_lab::run(
                &loaded,
                &mut store,
                &evaluator,
                &opts,
                &control,
                &mut |_| {},
            )
            .map_err(lab_err)?;
            let failed = store.records().values().filter(|r| r.is_failed()).count();
            if failed > 0 {
                return Err(PyRuntimeError::new_err(format!(
                    "{failed} of {} recorded jobs failed: fix the cause, then sweep again with retry_failed=True",
                    store.records().len()
                )));
            }
            Ok(summary)
        },
    )?;
    let c = summary.counts;
    Ok((c.done, c.failed, c.skipped, path))
}

/// A record batch offered to pyarrow through the Arrow PyCapsule interface (`__arrow_c_array__`): pyarrow
/// takes the buffers over without a copy.
#[pyclass(frozen, module = "memristive._native")]
struct ArrowBatch(arrow_array::RecordBatch);

#[pymethods]
impl ArrowBatch {
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _ = requested_schema;
        let data = arrow_array::StructArray::from(self.0.clone()).into();
        let (array, schema) =
            arrow_array::ffi::to_ffi(&data).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        let schema = PyCapsule::new_with_value(py, schema, c"arrow_schema")?;
        let array = PyCapsule::new_with_value(py, array, c"arrow_array")?;
        PyTuple::new(py, [schema.into_any(), array.into_any()])
    }

    /// Rows.
    fn __len__(&self) -> usize {
        self.0.num_rows()
    }
}

/// The job records of the spec at `spec`'s store under `results`, one row per job (the columns of `mf table
/// --format arrow`), as a batch pyarrow reads without a copy.
#[pyfunction]
#[pyo3(signature = (spec, results=PathBuf::from("results")))]
fn results(spec: PathBuf, results: PathBuf) -> PyResult<ArrowBatch> {
    let loaded = mf_lab::Spec::load(&spec).map_err(lab_err)?;
    let path = mf_lab::spec_dir(&results, &loaded).join("store.jsonl");
    let contents = mf_lab::read_store(&path).map_err(lab_err)?;
    let batch = mf_lab::export::records_frame(&loaded, &contents).map_err(lab_err)?;
    Ok(ArrowBatch(batch))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    m.add_function(wrap_pyfunction!(preset, m)?)?;
    m.add_function(wrap_pyfunction!(memory_capacity, m)?)?;
    m.add_function(wrap_pyfunction!(data_dir, m)?)?;
    m.add_function(wrap_pyfunction!(load_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(results, m)?)?;
    m.add_class::<Model>()?;
    m.add_class::<PyForecaster>()?;
    m.add_class::<ArrowBatch>()?;
    Ok(())
}
