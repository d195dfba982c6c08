//! The model seam: everything the experiment library knows about one model lives behind [`Model`].
//!
//! A model owns its name, its typed hyper-parameter struct (declared with `hyper_params!` (mf-lab/src/models/hyper.rs): names,
//! defaults, kinds and help derive from it, a grid point is read into it and it builds the model crate's
//! configuration), its grid and paper preset (from [`mf_paper`] when it is one of the paper's four), and its fit:
//! [`Configured::fit`] gives a [`FittedModel`] that predicts, scores, streams, saves and exports. `mf run`,
//! sweeps, the dashboard, `mf fit`, `mf predict` and `mf export` all go through it.
//!
//! Adding a model: write one file beside `mf_esn.rs` with its hyper-parameter struct and a unit struct
//! implementing [`Model`], and add one line to [`REGISTRY`].

use std::any::Any;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::grid::{Grid, Params};
use crate::tasks::Part;
use crate::training::TrainingProtocol;
use crate::LabError;

mod deep_mf_esn;
mod esn;
pub mod fitted;
mod future;
mod hybrid_mf_rnn;
pub mod hyper;
mod mf_esn;
mod mf_rnn;
mod reservoir;
mod rnn;
mod trainable;

pub use fitted::{FittedModel, FittedStream, LoadError};
pub use trainable::{train as train_rnn, trial_split};

/// Every model the library runs, in the order job keys sort (the paper's four first).
pub static REGISTRY: &[ModelKind] = &[
    ModelKind(&mf_esn::MfEsnModel),
    ModelKind(&esn::EsnModel),
    ModelKind(&mf_rnn::MfRnnModel),
    ModelKind(&rnn::RnnModel),
    ModelKind(&deep_mf_esn::DeepMfEsnModel),
    ModelKind(&hybrid_mf_rnn::HybridMfRnnModel),
];

/// The ids of every registered model (`mf-esn`, `esn`, ...).
pub fn ids() -> Vec<&'static str> {
    REGISTRY.iter().map(|m| m.id()).collect()
}

/// One model family.
pub trait Model: Send + Sync + fmt::Debug + 'static {
    /// The name in specs, store keys and on the command line (`mf-esn`).
    fn id(&self) -> &'static str;
    /// The name in tables (`MF-ESN`).
    fn name(&self) -> &'static str;
    /// The paper's column for this model, when it is one of the paper's four (Table IV).
    fn paper(&self) -> Option<mf_paper::Model> {
        None
    }
    /// True for untrained reservoirs: a validation score is the mean over several reservoir draws.
    fn is_reservoir(&self) -> bool;
    /// Its hyper-parameters, from its typed hyper-parameter struct (`hyper_params!` (mf-lab/src/models/hyper.rs)): name, help,
    /// kind and default of each, in the order of the declaration.
    fn params(&self) -> Vec<hyper::ParamInfo>;
    /// The names of its hyper-parameters (in `--set`, spec grids and presets), in the order of [`Model::params`].
    fn param_names(&self) -> Vec<&'static str> {
        self.params().iter().map(|p| p.name).collect()
    }
    /// Its configuration from `params`, every other hyper-parameter at its default; checks names and values.
    fn configure(&self, params: &Params) -> Result<Box<dyn Configured>, LabError>;
    /// A fitted model of this family from the files [`FittedModel::save`] wrote into `dir`.
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError>;
    /// The grid searched by default: the paper's Table III for the paper's models.
    fn grid(&self) -> Grid {
        let axes = self.paper().map_or(&[][..], mf_paper::table_iii);
        Grid::new(
            axes.iter()
                .map(|(n, v)| (n.to_string(), v.to_vec()))
                .collect(),
        )
        .expect("the paper's grids are valid")
    }
    /// A small grid for a first look (the dashboard's "quick" preset).
    fn quick_grid(&self) -> Grid;
    /// The hyper-parameters the paper selected on `dataset` (Tables V-VIII), when it did.
    fn preset(&self, dataset: &str) -> Option<Params> {
        let selected = mf_paper::selected(dataset, self.paper()?)?;
        Some(
            selected
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        )
    }
}

/// A checked configuration of a model, ready to run trials.
pub trait Configured: fmt::Debug + Send + Sync {
    /// Every hyper-parameter, for reports (the model crate's own configuration, serialised).
    fn to_json(&self) -> serde_json::Value;
    /// The model crate's configuration (`mf_esn::ReservoirConfig`, `mf_rnn::RnnConfig`, ...), for tests and examples
    /// that inspect it. The library itself never downcasts: fitting, saving, loading and export go through
    /// [`Configured::fit`] and [`FittedModel`].
    fn as_any(&self) -> &dyn Any;
    /// A generous estimate of the memory, in bytes, that one trial on data of `shape` allocates at its peak
    /// (weights, states, readout or optimiser, activations kept for back-propagation). [`crate::eval::run_trials`]
    /// refuses a configuration whose estimate exceeds the memory available before allocating anything, so an
    /// absurd size is an error instead of an abort.
    fn memory_bytes(&self, shape: &DataShape) -> u64;
    /// One fresh model built from `seed` and fitted on `train`. Trainable models stop early on `val` when there
    /// is one, and otherwise as `protocol` says; reservoirs do not stop early and use neither.
    fn fit(
        &self,
        train: &Part,
        val: Option<&Part>,
        protocol: TrainingProtocol,
        seed: u64,
        ctx: &TrialContext<'_>,
    ) -> Result<Box<dyn FittedModel>, LabError>;
    /// The units its readout reads when this model runs sequence tasks ([`crate::sequence`]): the reservoirs' (a
    /// deep one every layer's) and the trained models' hidden units; `None` for a model that does not run them.
    fn sequence_units(&self) -> Option<usize> {
        None
    }
    /// The reservoir it drives along one long signal of `n_inputs` channels, drawn from `seed` as its `fit`
    /// draws it; refused for a model without [`Configured::sequence_units`].
    fn draw_sequence(
        &self,
        _n_inputs: usize,
        _seed: u64,
    ) -> Result<::mf_esn::sequence::SequenceReservoir, LabError> {
        Err(LabError::InvalidParams(
            "a trained model runs sequence tasks in `mf run`, sweeps, robustness curves and `mf export`; \
             closed-loop forecasts (`mf forecast`) and saved sequence models are built for reservoir models"
                .into(),
        ))
    }
    /// Whether it runs sequence tasks by training ([`Configured::train_on_signal`]) rather than by drawing a
    /// reservoir and fitting its readout ([`Configured::draw_sequence`]).
    fn trains_on_signals(&self) -> bool {
        false
    }
    /// A model trained from `seed` to predict `targets` from `inputs` (`(T, q)` and `(T, d)`, one long signal) on
    /// the rows `fit`, stopping early on the rows `val` when given: the trainable models, by truncated
    /// back-propagation through time (`::mf_rnn::train_on_signal`). Refused for the others.
    #[allow(clippy::too_many_arguments)]
    fn train_on_signal(
        &self,
        _inputs: ndarray::ArrayView2<'_, f64>,
        _targets: ndarray::ArrayView2<'_, f64>,
        _fit: std::ops::Range<usize>,
        _val: Option<std::ops::Range<usize>>,
        _seed: u64,
        _ctx: &TrialContext<'_>,
    ) -> Result<::mf_rnn::TrainedRnn, LabError> {
        Err(LabError::InvalidParams(
            "a reservoir model fits its readout on a signal rather than training".into(),
        ))
    }
    /// One fresh model built from `seed`, fitted on `data.train` and scored on `data.eval`.
    fn trial(
        &self,
        data: &TrialData<'_>,
        seed: u64,
        ctx: &TrialContext<'_>,
    ) -> Result<TrialScore, LabError> {
        ctx.cancel.check()?;
        let model = self.fit(data.train, data.val, data.protocol, seed, ctx)?;
        ctx.cancel.check()?;
        let score = model.score(&data.eval.seqs, &data.eval.targets)?;
        Ok(TrialScore {
            score,
            epochs: model.training().map(|t| t.epochs),
            diverged: model.divergence(),
        })
    }
}

/// What one trial fits on and scores on.
#[derive(Debug, Clone, Copy)]
pub struct TrialData<'a> {
    /// What the model may fit on: the fit part in model selection, the whole training split in the final stage.
    pub train: &'a Part,
    /// In model selection, the validation part; trainable models stop early on it. None in the final stage,
    /// where a trainable model stops as `protocol` says.
    pub val: Option<&'a Part>,
    /// What the score is measured on: the validation part, or the test split.
    pub eval: &'a Part,
    /// How trainable models stop early and which weights they keep.
    pub protocol: TrainingProtocol,
}

/// The size of the data one trial runs on, for [`Configured::memory_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataShape {
    /// Series fitted on.
    pub n_series: usize,
    /// Series scored.
    pub n_eval: usize,
    /// Steps of the longest series.
    pub max_len: usize,
    /// Inputs per step.
    pub n_inputs: usize,
    /// Classes, or regression outputs.
    pub n_outputs: usize,
}

impl DataShape {
    /// The shape of a trial's data: series fitted on from `data.train`, scored from `data.eval`.
    pub fn of(data: &TrialData<'_>) -> DataShape {
        let max_len = |p: &Part| p.seqs.lengths.iter().copied().max().unwrap_or(0);
        DataShape {
            n_series: data.train.len(),
            n_eval: data.eval.len(),
            max_len: max_len(data.train).max(max_len(data.eval)),
            n_inputs: data.train.seqs.n_inputs(),
            n_outputs: match &data.train.targets {
                mf_core::Targets::Classes { n_classes, .. } => *n_classes,
                mf_core::Targets::Values(v) => v.ncols(),
            },
        }
    }
}

/// How one trial did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialScore {
    /// Accuracy or RMSE on the evaluation part.
    pub score: f64,
    /// Trainable models: epochs trained and the epoch of the lowest validation loss.
    pub epochs: Option<(usize, usize)>,
    /// Trainable models: why the score means nothing, when training diverged (the loss ended far above where it
    /// started; see `mf_rnn::Divergence`). None when it did not, and for reservoirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diverged: Option<String>,
}

/// Progress inside one trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrialEvent {
    /// A trainable model finished an epoch.
    Epoch {
        /// Epoch number, from 1.
        epoch: usize,
        /// The most epochs it may train.
        max_epochs: usize,
        /// Mean training loss of the epoch.
        train_loss: f64,
        /// Loss on the early-stopping part.
        val_loss: f64,
        /// Accuracy or RMSE on the early-stopping part.
        val_metric: f64,
    },
}

/// What a trial reports to and is stopped by.
#[derive(Clone, Copy)]
pub struct TrialContext<'a> {
    /// Called with each [`TrialEvent`].
    pub on_event: &'a dyn Fn(TrialEvent),
    /// Stops the trial when cancelled.
    pub cancel: &'a CancelToken,
}

impl fmt::Debug for TrialContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrialContext")
            .field("cancel", self.cancel)
            .finish_non_exhaustive()
    }
}

/// A cancellation flag shared between the one who cancels and the work it stops; cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Cancels every holder of this token.
    pub fn cancel(&self) {
        self.0.store(true, AtomicOrdering::SeqCst);
    }
    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(AtomicOrdering::SeqCst)
    }
    /// The flag itself, as the model crates take it.
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }
    /// `Err(Cancelled)` once cancelled.
    pub fn check(&self) -> Result<(), LabError> {
        if self.is_cancelled() {
            Err(LabError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// A handle on a registered [`Model`]: compared, hashed and ordered by its place in [`REGISTRY`], written as
/// its id.
#[derive(Clone, Copy)]
pub struct ModelKind(&'static dyn Model);

#[allow(non_upper_case_globals)]
impl ModelKind {
    /// Memristive-friendly echo state network (untrained reservoir, ridge readout; paper Sec. IV).
    pub const MfEsn: ModelKind = ModelKind(&mf_esn::MfEsnModel);
    /// Leaky echo state network baseline.
    pub const Esn: ModelKind = ModelKind(&esn::EsnModel);
    /// Memristive-friendly recurrent network trained end to end.
    pub const MfRnn: ModelKind = ModelKind(&mf_rnn::MfRnnModel);
    /// Fully trained tanh recurrent network baseline.
    pub const Rnn: ModelKind = ModelKind(&rnn::RnnModel);

    /// The paper's four, in the column order of its Table IV (ESN, MF-ESN, RNN, MF-RNN).
    pub const TABLE_ORDER: [ModelKind; 4] = [
        ModelKind::Esn,
        ModelKind::MfEsn,
        ModelKind::Rnn,
        ModelKind::MfRnn,
    ];

    /// Every registered model.
    pub fn all() -> &'static [ModelKind] {
        REGISTRY
    }

    /// The column order of result tables: the paper's four as in its Table IV, then every other registered model
    /// in registry order.
    pub fn table_order() -> Vec<ModelKind> {
        let mut order = ModelKind::TABLE_ORDER.to_vec();
        order.extend(
            REGISTRY
                .iter()
                .filter(|m| !ModelKind::TABLE_ORDER.contains(m)),
        );
        order
    }

    /// The model behind the handle.
    pub fn model(self) -> &'static dyn Model {
        self.0
    }

    /// The name used in specs, store keys and on the command line (`mf-esn`, `esn`, `mf-rnn`, `rnn`).
    pub fn id(self) -> &'static str {
        self.0.id()
    }

    /// True for the untrained-reservoir models, whose validation score is a mean over several draws.
    pub fn is_reservoir(self) -> bool {
        self.0.is_reservoir()
    }

    /// The model's default grid (the paper's Table III for the paper's models), in nesting order.
    pub fn paper_grid(self) -> Grid {
        self.0.grid()
    }

    fn position(self) -> usize {
        REGISTRY
            .iter()
            .position(|m| m.id() == self.id())
            .unwrap_or(usize::MAX)
    }
}

impl PartialEq for ModelKind {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}
impl Eq for ModelKind {}
impl Hash for ModelKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state)
    }
}
impl PartialOrd for ModelKind {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ModelKind {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.position(), self.id()).cmp(&(other.position(), other.id()))
    }
}

impl fmt::Debug for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelKind({})", self.id())
    }
}

impl fmt::Display for ModelKind {
    /// The paper's name: `MF-ESN`, `ESN`, `MF-RNN`, `RNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl FromStr for ModelKind {
    type Err = LabError;

    /// Accepts the ids (`mf-esn`) and the paper's names (`MF-ESN`), case-insensitively, with or without
    /// hyphens or underscores.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = |t: &str| mf_paper::normalise(t);
        REGISTRY
            .iter()
            .copied()
            .find(|m| key(m.id()) == key(s) || key(m.0.name()) == key(s))
            .ok_or_else(|| LabError::UnknownModel(s.to_string()))
    }
}

impl Serialize for ModelKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for ModelKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::reservoir::Reservoir;
    use super::*;

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn device_physics_reaches_the_mf_cell_of_both_mf_models_and_is_checked() {
        let p = params(&[
            ("kp0", 2e-4),
            ("kd0", 0.4),
            ("eta_p", 12.0),
            ("eta_d", 1.5),
            ("a", 0.3),
            ("b", 1.2),
        ]);
        let expected = mf_core::Physics {
            kp0: 2e-4,
            kd0: 0.4,
            eta_p: 12.0,
            eta_d: 1.5,
            a: 0.3,
            b: 1.2,
        };
        let c = ModelKind::MfEsn.model().configure(&p).unwrap();
        let rc = c
            .as_any()
            .downcast_ref::<::mf_esn::ReservoirConfig>()
            .unwrap();
        assert!(matches!(rc.cell, mf_core::CellKind::Mf(cell) if cell.physics == expected));
        let c = ModelKind::MfRnn.model().configure(&p).unwrap();
        let tc = c.as_any().downcast_ref::<::mf_rnn::RnnConfig>().unwrap();
        assert!(matches!(tc.cell, ::mf_rnn::CellKind::Mf(cell) if cell.physics == expected));
        for bad in [
            ("kp0", -1e-4),
            ("kd0", 0.0),
            ("eta_p", -2.0),
            ("eta_d", 0.0),
            ("a", 1.5),
        ] {
            for m in [ModelKind::MfEsn, ModelKind::MfRnn] {
                let e = m
                    .model()
                    .configure(&params(&[bad]))
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(if bad.0 == "a" { "b" } else { bad.0 }), "{e}");
            }
        }
        assert!(ModelKind::Esn
            .model()
            .configure(&params(&[("kp0", 2e-4)]))
            .is_err());
        assert!(ModelKind::Rnn
            .model()
            .configure(&params(&[("eta_d", 1.5)]))
            .is_err());
    }

    #[test]
    fn the_declared_defaults_are_the_model_crates_defaults() {
        let json = |m: ModelKind| m.model().configure(&Params::new()).unwrap().to_json();
        let reservoir = |c: ::mf_esn::ReservoirConfig| Reservoir(c).to_json();
        assert_eq!(
            json(ModelKind::MfEsn),
            reservoir(::mf_esn::ReservoirConfig::mf_esn())
        );
        assert_eq!(
            json(ModelKind::Esn),
            reservoir(::mf_esn::ReservoirConfig::esn())
        );
        let mf = ::mf_rnn::CellKind::Mf(mf_core::MfCell::new(0.01, 1.0, 5.0));
        let rnn = |c: ::mf_rnn::RnnConfig| serde_json::to_value(c).unwrap();
        assert_eq!(json(ModelKind::MfRnn), rnn(::mf_rnn::RnnConfig::new(mf)));
        assert_eq!(
            json(ModelKind::Rnn),
            rnn(::mf_rnn::RnnConfig::new(::mf_rnn::CellKind::Tanh))
        );
        let mut hybrid = ::mf_rnn::RnnConfig::new(mf);
        hybrid.reservoir = Some(::mf_rnn::ReservoirStart::default());
        assert_eq!(json("hybrid-mf-rnn".parse().unwrap()), rnn(hybrid));
        let deep = json("deep-mf-esn".parse().unwrap());
        let want = serde_json::to_value(::mf_esn::DeepConfig::mf_esn(2)).unwrap();
        assert_eq!(deep["layer"], want["layer"]);
        assert_eq!(
            (&deep["layers"], &deep["inter_scaling"]),
            (&want["layers"], &want["inter_scaling"])
        );
        // Each declared default, set explicitly, is the configuration without it; a value elsewhere is not.
        for m in ModelKind::all() {
            let base = json(*m);
            for p in m.model().params() {
                let one: Params = [(p.name.to_string(), p.default)].into_iter().collect();
                let d = m.model().configure(&one).unwrap().to_json();
                assert_eq!(
                    d, base,
                    "{m}: {} = {} is not the default",
                    p.name, p.default
                );
                assert!(!p.help.is_empty(), "{m}: {} has no help", p.name);
            }
        }
    }

    #[test]
    fn ids_parse_back_and_the_order_is_the_registry_order() {
        for m in ModelKind::all() {
            assert_eq!(m.id().parse::<ModelKind>().unwrap(), *m);
            assert_eq!(m.to_string().parse::<ModelKind>().unwrap(), *m);
        }
        assert_eq!("MF_ESN".parse::<ModelKind>().unwrap(), ModelKind::MfEsn);
        assert!("lstm".parse::<ModelKind>().is_err());
        let mut sorted = ModelKind::TABLE_ORDER.to_vec();
        sorted.sort();
        assert_eq!(
            sorted,
            [
                ModelKind::MfEsn,
                ModelKind::Esn,
                ModelKind::MfRnn,
                ModelKind::Rnn
            ]
        );
    }

    #[test]
    fn memory_estimates_grow_with_the_square_of_the_units() {
        // SyntheticControl's training split.
        let shape = DataShape {
            n_series: 300,
            n_eval: 300,
            max_len: 60,
            n_inputs: 1,
            n_outputs: 6,
        };
        let need = |m: ModelKind, n: f64| {
            let p: Params = [("n_units".to_string(), n)].into_iter().collect();
            m.model().configure(&p).unwrap().memory_bytes(&shape)
        };
        for m in ModelKind::all() {
            // The paper's size is small; the size that aborted `mf run` (an 80 GB f64 kernel) is not.
            assert!(need(*m, 100.0) < 100 << 20, "{m}: {}", need(*m, 100.0));
            assert!(need(*m, 1e5) > 80_000_000_000, "{m}: {}", need(*m, 1e5));
        }
    }

    #[test]
    fn every_registered_model_builds_every_configuration_of_its_grid_and_its_presets() {
        for m in ModelKind::all() {
            for p in m.paper_grid().configs() {
                m.model().configure(&p).unwrap();
            }
            for d in mf_paper::dataset_names() {
                if let Some(p) = m.model().preset(d) {
                    m.model().configure(&p).unwrap();
                }
            }
        }
    }
}
