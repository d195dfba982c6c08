//! The experiment spec: which data sets, models and grids a sweep covers, with its seeds and splits.
//!
//! A spec is written in TOML:
//!
//! ```toml
//! datasets = ["SyntheticControl", "GunPoint"]
//! models = ["mf-esn", "esn", "mf-rnn", "rnn"]
//! seed = 7
//! draws = 5
//! trials = 5
//!
//! normalise = "zscore"   # optional: input normalisation (default "none", the paper's setting)
//!
//! # Optional: replaces the paper's grid of one model. Keys are taken in the order written.
//! [grid.mf-esn]
//! omega = [0.1, 1]
//! dt = [0.1, 0.01]
//! ```
//!
//! Its [`Spec::hash`] (SHA-256 of a canonical serialisation of the resolved spec, see [`Spec::canonical_json`])
//! names the directory holding its results.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::LabError;

pub use crate::grid::{Grid, Params};
pub use crate::metric::Metric;
pub use crate::models::ModelKind;
pub use crate::normalise::Normalise;
pub use crate::training::TrainingProtocol;

fn default_models() -> Vec<ModelKind> {
    ModelKind::TABLE_ORDER.to_vec()
}
fn default_draws() -> usize {
    5
}
fn default_trials() -> usize {
    5
}
fn default_val_fraction() -> f64 {
    0.2
}
fn default_n_units() -> usize {
    100
}

/// One experiment: data sets x models, each model searched over its grid, then assessed on the test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Data set names, resolved by the evaluator (e.g. `SyntheticControl`, or `synthetic-control` for the
    /// generated copy). Required, non-empty, no repeats.
    pub datasets: Vec<String>,
    /// Models to run. Default: all four (paper Sec. VI).
    #[serde(default = "default_models")]
    pub models: Vec<ModelKind>,
    /// Per-model grid overriding the paper's Table III grid; a model absent here uses the paper's grid.
    /// Default: empty (paper grids everywhere).
    #[serde(default)]
    pub grid: BTreeMap<ModelKind, Grid>,
    /// Reservoir draws averaged per configuration during model selection. Default 5 (paper Sec. VI).
    #[serde(default = "default_draws")]
    pub draws: usize,
    /// Fresh models trained on the whole training split and scored on the test split. Default 5 (paper Sec. VI).
    #[serde(default = "default_trials")]
    pub trials: usize,
    /// The seed every random draw of the experiment derives from. Default 0.
    #[serde(default)]
    pub seed: u64,
    /// Fraction of the training split held out for validation. Default 0.2 (paper Sec. VI).
    #[serde(default = "default_val_fraction")]
    pub val_fraction: f64,
    /// Recurrent units of every model. Default 100 (paper Sec. VI).
    #[serde(default = "default_n_units")]
    pub n_units: usize,
    /// Maximum training epochs of the trainable models. Default: none here, the model's own default
    /// (5000, paper Sec. VI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_epochs: Option<usize>,
    /// How the trainable models stop early and which weights they keep: `reference` (the authors' reference
    /// implementation; the default) or `fresh-split`. See [`TrainingProtocol`]. A spec without trainable models
    /// resolves it to none, so that it does not change the hash of reservoir-only specs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<TrainingProtocol>,
    /// Input normalisation of every model on every data set: `none` (the default, the paper's setting) or
    /// `zscore` (see [`crate::normalise`]; statistics of the fit part in model selection, of the training split
    /// in the final trials). Left out of the canonical form when `none`, so it does not change the hash of specs
    /// written before it existed; `zscore` gives another hash, hence another result directory and store.
    #[serde(default, skip_serializing_if = "Normalise::is_none")]
    pub normalise: Normalise,
}

impl Spec {
    /// A spec over `datasets` with every other field at its default.
    pub fn new(datasets: Vec<String>) -> Self {
        Spec {
            datasets,
            models: default_models(),
            grid: BTreeMap::new(),
            draws: default_draws(),
            trials: default_trials(),
            seed: 0,
            val_fraction: default_val_fraction(),
            n_units: default_n_units(),
            max_epochs: None,
            protocol: None,
            normalise: Normalise::None,
        }
    }

    /// The training protocol of the trainable models: the spec's, or the default [`TrainingProtocol::Reference`].
    pub fn training_protocol(&self) -> TrainingProtocol {
        self.protocol.unwrap_or_default()
    }

    /// The paper's experiment (Table IV): its ten data sets, all four models, Table III grids, 5 draws and
    /// 5 trials, with seed `seed`.
    pub fn paper(seed: u64) -> Self {
        let mut s = Spec::new(mf_paper::dataset_names().map(str::to_string).collect());
        s.seed = seed;
        s
    }

    /// Parses and checks a TOML spec.
    pub fn from_toml(text: &str) -> Result<Self, LabError> {
        let mut spec: Spec =
            toml::from_str(text).map_err(|e| LabError::InvalidSpec(e.to_string()))?;
        spec.order_axes_as_written(text);
        spec.check()?;
        Ok(spec)
    }

    /// Puts each grid's axes in the order their keys appear in `text`. The `toml` crate only keeps document
    /// order with its `preserve_order` feature; the key spans make the order independent of that feature.
    fn order_axes_as_written(&mut self, text: &str) {
        let Ok(doc) = toml::de::DeTable::parse(text) else {
            return;
        };
        let Some(grids) = doc
            .get_ref()
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == "grid")
        else {
            return;
        };
        let toml::de::DeValue::Table(grids) = grids.1.get_ref() else {
            return;
        };
        for (model, axes) in grids.iter() {
            let (Ok(model), toml::de::DeValue::Table(axes)) =
                (model.get_ref().parse::<ModelKind>(), axes.get_ref())
            else {
                continue;
            };
            let Some(grid) = self.grid.get_mut(&model) else {
                continue;
            };
            let position = |name: &str| {
                axes.iter()
                    .find(|(k, _)| k.get_ref().as_ref() == name)
                    .map_or(usize::MAX, |(k, _)| k.span().start)
            };
            grid.axes.sort_by_key(|(name, _)| position(name));
        }
    }

    /// Reads, parses and checks a TOML spec file.
    pub fn load(path: &Path) -> Result<Self, LabError> {
        let text = std::fs::read_to_string(path).map_err(|e| LabError::io(path, e))?;
        Self::from_toml(&text).map_err(|e| match e {
            LabError::InvalidSpec(msg) => {
                LabError::InvalidSpec(format!("{}: {msg}", path.display()))
            }
            other => other,
        })
    }

    /// Checks the values: non-empty distinct data sets and models, at least one draw and trial,
    /// `0 < val_fraction < 1`, at least one unit, and grids only for listed models.
    pub fn check(&self) -> Result<(), LabError> {
        let bad = |m: String| Err(LabError::InvalidSpec(m));
        if self.datasets.is_empty() {
            return bad("no data sets".into());
        }
        for (i, d) in self.datasets.iter().enumerate() {
            if d.trim().is_empty() {
                return bad("an empty data set name".into());
            }
            if self.datasets[..i].contains(d) {
                return bad(format!("data set `{d}` listed twice"));
            }
        }
        if self.models.is_empty() {
            return bad("no models".into());
        }
        for (i, m) in self.models.iter().enumerate() {
            if self.models[..i].contains(m) {
                return bad(format!("model `{}` listed twice", m.id()));
            }
        }
        if let Some(m) = self.grid.keys().find(|m| !self.models.contains(m)) {
            return bad(format!("a grid for `{}`, which is not in `models`", m.id()));
        }
        if self.draws == 0 || self.trials == 0 {
            return bad("draws and trials must be at least 1".into());
        }
        for (what, n) in [("draws", self.draws), ("trials", self.trials)] {
            if n > crate::memory::MAX_REPEATS {
                return bad(format!(
                    "{what} must be at most {} (each is a fresh model), not {n}",
                    crate::memory::MAX_REPEATS
                ));
            }
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return bad(format!(
                "val_fraction {} is not in (0, 1)",
                self.val_fraction
            ));
        }
        if self.n_units == 0 {
            return bad("n_units must be at least 1".into());
        }
        if self.seed > i64::MAX as u64 {
            return bad(format!("seed {} does not fit in a TOML integer", self.seed));
        }
        if self.max_epochs == Some(0) {
            return bad("max_epochs must be at least 1".into());
        }
        for (&model, grid) in &self.grid {
            self.check_grid(model, grid)?;
        }
        if let Some(d) = self
            .datasets
            .iter()
            .find(|d| crate::sequence::SequenceTask::from_name(d).is_some())
        {
            let runs = crate::sequence::sequence_models();
            if let Some(m) = self.models.iter().find(|m| !runs.contains(&m.id())) {
                return bad(format!(
                    "`{d}` is a sequence task, which {m} does not run: a spec with sequence tasks lists models \
                     that run them ({})",
                    runs.join(", ")
                ));
            }
            if self.normalise != Normalise::None {
                return bad(format!(
                    "`{d}` is a sequence task, generated normalised as its definition says: `normalise` applies \
                     to series data sets"
                ));
            }
        }
        if self.protocol.is_some() && self.models.iter().all(|m| m.is_reservoir()) {
            return bad(
                "`protocol` applies to trainable models (mf-rnn, rnn), and the spec has none"
                    .into(),
            );
        }
        Ok(())
    }

    /// Every axis of `grid` must be a hyper-parameter of `model`, and every configuration of it, with the
    /// spec's `n_units` and `max_epochs`, a configuration the model accepts: a typo fails here, before any job
    /// runs or anything is written.
    fn check_grid(&self, model: ModelKind, grid: &Grid) -> Result<(), LabError> {
        let known = model.model().param_names();
        if let Some((name, _)) = grid
            .axes()
            .iter()
            .find(|(n, _)| !known.contains(&n.as_str()))
        {
            return Err(LabError::InvalidSpec(format!(
                "[grid.{}] has the key `{name}`, which is not a hyper-parameter of {} (it has: {})",
                model.id(),
                model,
                known.join(", ")
            )));
        }
        for params in grid.configs() {
            let p = crate::job::effective_params(&params, model, self.n_units, self.max_epochs);
            model.model().configure(&p).map_err(|e| {
                let values: Vec<String> =
                    params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                LabError::InvalidSpec(format!("[grid.{}] {}: {e}", model.id(), values.join(", ")))
            })?;
        }
        Ok(())
    }

    /// A spec over `datasets` and `models` searching the paper's Table III grids.
    pub fn paper_grid(datasets: Vec<String>, models: Vec<ModelKind>) -> Result<Self, LabError> {
        let mut spec = Spec::new(datasets);
        spec.models = models;
        spec.check()?;
        Ok(spec)
    }

    /// A quick look: each model over its small [`crate::models::Model::quick_grid`].
    pub fn quick(datasets: Vec<String>, models: Vec<ModelKind>) -> Result<Self, LabError> {
        let mut spec = Spec::new(datasets);
        for &m in &models {
            spec.grid.insert(m, m.model().quick_grid());
        }
        spec.models = models;
        spec.check()?;
        Ok(spec)
    }

    /// The paper's selected configuration (Tables V-VIII) of each model on one data set, as a one-point grid.
    pub fn paper_preset(datasets: Vec<String>, models: Vec<ModelKind>) -> Result<Self, LabError> {
        let [dataset] = &datasets[..] else {
            return Err(LabError::InvalidSpec(
                "the paper preset needs one data set".into(),
            ));
        };
        let mut spec = Spec::new(datasets.clone());
        for &m in &models {
            let params = m.model().preset(dataset).ok_or_else(|| {
                LabError::InvalidSpec(format!("the paper gives no {m} preset for {dataset}"))
            })?;
            spec.grid.insert(
                m,
                Grid::new(params.into_iter().map(|(k, v)| (k, vec![v])).collect())?,
            );
        }
        spec.models = models;
        spec.check()?;
        Ok(spec)
    }

    /// The grid searched for `model`: the spec's override, or the paper's Table III grid.
    pub fn grid_for(&self, model: ModelKind) -> Grid {
        self.grid
            .get(&model)
            .cloned()
            .unwrap_or_else(|| model.paper_grid())
    }

    /// Validation draws per configuration of `model`: `draws` for reservoir models, 1 for trainable ones
    /// (paper Sec. VI: one run per configuration).
    pub fn draws_for(&self, model: ModelKind) -> usize {
        if model.is_reservoir() {
            self.draws
        } else {
            1
        }
    }

    /// The spec with every default made explicit (each listed model's grid written out), so that two specs
    /// meaning the same experiment have the same hash.
    pub fn resolved(&self) -> Spec {
        let mut s = self.clone();
        s.grid = self.models.iter().map(|&m| (m, self.grid_for(m))).collect();
        s.protocol = self
            .models
            .iter()
            .any(|m| !m.is_reservoir())
            .then(|| self.training_protocol());
        s
    }

    /// The canonical serialisation hashed by [`Spec::hash`]: compact JSON of [`Spec::resolved`], with struct
    /// fields in declaration order, grids as maps in their axis order and floats in shortest round-trip form.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(&self.resolved()).expect("a spec always serialises")
    }

    /// SHA-256 of [`Spec::canonical_json`], as 64 lowercase hex digits.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.canonical_json().as_bytes()))
    }

    /// The first 16 hex digits of [`Spec::hash`], naming the spec's result directory.
    pub fn short_hash(&self) -> String {
        self.hash()[..16].to_string()
    }

    /// The resolved spec as TOML, written beside its results.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.resolved()).expect("a spec always serialises to TOML")
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_grids_have_the_sizes_of_table_iii() {
        assert_eq!(ModelKind::MfEsn.paper_grid().len(), 3 * 4 * 4 * 4 * 2 * 3);
        assert_eq!(ModelKind::MfEsn.paper_grid().len(), 1152);
        assert_eq!(ModelKind::Esn.paper_grid().len(), 3 * 4 * 4 * 5);
        assert_eq!(ModelKind::MfRnn.paper_grid().len(), 48);
        assert_eq!(ModelKind::Rnn.paper_grid().len(), 2);
    }

    #[test]
    fn grid_order_nests_the_first_axis_outermost() {
        let g = ModelKind::MfEsn.paper_grid();
        let c0 = g.config(0).unwrap();
        let c1 = g.config(1).unwrap();
        let last = g.config(g.len() - 1).unwrap();
        // The last axis (dt) varies fastest: 0.1 then 0.01.
        assert_eq!((c0["dt"], c1["dt"]), (0.1, 0.01));
        assert_eq!(c0["omega"], c1["omega"]);
        // omega changes only every 1152 / 3 configurations.
        assert_eq!(g.config(383).unwrap()["omega"], 0.1);
        assert_eq!(g.config(384).unwrap()["omega"], 1.0);
        assert_eq!(last["omega"], 10.0);
        assert_eq!(last["dt"], 0.001);
        // Every configuration is distinct and found again by index_of.
        let all: Vec<Params> = g.configs().collect();
        for (i, c) in all.iter().enumerate().step_by(97) {
            assert_eq!(g.index_of(c), Some(i));
        }
    }

    #[test]
    fn spec_grid_keeps_the_key_order_written() {
        let spec = Spec::from_toml(
            "datasets = [\"GunPoint\"]\nmodels = [\"mf-esn\"]\n[grid.mf-esn]\ns = [1, 5]\nomega = [0.1, 1]\n",
        )
        .unwrap();
        let g = spec.grid_for(ModelKind::MfEsn);
        let names: Vec<&str> = g.axes().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["s", "omega"]);
        // s outermost: the first two configurations share s.
        assert_eq!(g.config(0).unwrap()["s"], 1.0);
        assert_eq!(g.config(1).unwrap()["s"], 1.0);
        assert_eq!(g.config(1).unwrap()["omega"], 1.0);
    }

    #[test]
    fn spec_defaults_follow_the_paper() {
        let spec = Spec::from_toml("datasets = [\"Coffee\"]").unwrap();
        assert_eq!(spec, Spec::new(vec!["Coffee".into()]));
        assert_eq!((spec.draws, spec.trials, spec.n_units), (5, 5, 100));
        assert_eq!(spec.val_fraction, 0.2);
        assert_eq!(spec.draws_for(ModelKind::Esn), 5);
        assert_eq!(spec.draws_for(ModelKind::Rnn), 1);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_rejected() {
        assert!(Spec::from_toml("datasets = [\"a\"]\nsed = 3").is_err());
        assert!(Spec::from_toml("datasets = []").is_err());
        assert!(Spec::from_toml("datasets = [\"a\"]\nval_fraction = 1.0").is_err());
        assert!(Spec::from_toml("datasets = [\"a\"]\nmodels = [\"lstm\"]").is_err());
        assert!(
            Spec::from_toml("datasets = [\"a\"]\nmodels = [\"rnn\"]\n[grid.esn]\nalpha = [1]")
                .is_err()
        );
        assert!(Spec::from_toml("datasets = [\"a\"]\n[grid.rnn]\nlr = []").is_err());
        for (field, n) in [("draws", 100_001u64), ("trials", 100_000_000_000)] {
            let e = Spec::from_toml(&format!("datasets = [\"a\"]\n{field} = {n}"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("{field} must be at most 100000")),
                "{e}"
            );
        }
    }

    #[test]
    fn writing_the_default_grid_out_does_not_change_the_hash() {
        let implicit = Spec::from_toml("datasets = [\"a\"]\nmodels = [\"rnn\"]").unwrap();
        let explicit = Spec::from_toml(
            "datasets = [\"a\"]\nmodels = [\"rnn\"]\n[grid.rnn]\nlr = [0.001, 0.01]",
        )
        .unwrap();
        assert_eq!(implicit.hash(), explicit.hash());
        let reordered = Spec::from_toml(
            "datasets = [\"a\"]\nmodels = [\"rnn\"]\n[grid.rnn]\nlr = [0.01, 0.001]",
        )
        .unwrap();
        assert_ne!(implicit.hash(), reordered.hash());
        let reseeded = Spec::from_toml("datasets = [\"a\"]\nmodels = [\"rnn\"]\nseed = 1").unwrap();
        assert_ne!(implicit.hash(), reseeded.hash());
        assert_eq!(implicit.hash().len(), 64);
    }

    #[test]
    fn resolved_toml_reads_back_to_the_same_spec() {
        let spec = Spec::from_toml(
            "datasets = [\"a\", \"b\"]\nmodels = [\"mf-rnn\", \"esn\"]\nmax_epochs = 3",
        )
        .unwrap();
        let back = Spec::from_toml(&spec.to_toml()).unwrap();
        assert_eq!(back, spec.resolved());
        assert_eq!(back.hash(), spec.hash());
    }

    #[test]
    fn metric_direction_decides_strict_improvement() {
        assert!(Metric::Accuracy.strictly_better(0.9, 0.8));
        assert!(!Metric::Accuracy.strictly_better(0.8, 0.8));
        assert!(Metric::Rmse.strictly_better(0.1, 0.2));
        assert!(!Metric::Rmse.strictly_better(0.2, 0.1));
        assert!(!Metric::Rmse.strictly_better(f64::NAN, 0.2));
        assert!(Metric::Accuracy.strictly_better(0.0, f64::NAN));
    }

    #[test]
    fn a_misspelled_grid_key_is_refused_naming_it_and_the_accepted_keys() {
        let e = Spec::from_toml(
            "datasets = [\"a\"]\nmodels = [\"mf-esn\"]\n[grid.mf-esn]\nrhoo = [0.9]",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`rhoo`") && e.contains("omega, beta, rho"),
            "{e}"
        );
        let e =
            Spec::from_toml("datasets = [\"a\"]\nmodels = [\"esn\"]\n[grid.esn]\nrho = [0.9, -1]")
                .unwrap_err()
                .to_string();
        assert!(e.contains("rho = -1"), "{e}");
        assert!(Spec::from_toml(
            "datasets = [\"a\"]\nmodels = [\"esn\"]\n[grid.esn]\nn_units = [0]"
        )
        .is_err());
    }

    #[test]
    fn the_dashboard_specs_come_from_the_library() {
        let d = vec!["ecg5000".to_string()];
        let p = Spec::paper_preset(d.clone(), ModelKind::TABLE_ORDER.to_vec()).unwrap();
        assert_eq!(p.grid_for(ModelKind::MfEsn).len(), 1);
        assert_eq!(p.grid_for(ModelKind::MfEsn).config(0).unwrap()["rho"], 0.9);
        assert!(Spec::paper_preset(vec!["NoSuchSet".into()], vec![ModelKind::Esn]).is_err());
        let q = Spec::quick(d, ModelKind::all().to_vec()).unwrap();
        assert!(q.models.iter().all(|&m| q.grid_for(m).len() <= 4));
    }

    #[test]
    fn model_names_round_trip() {
        for m in ModelKind::TABLE_ORDER {
            assert_eq!(m.id().parse::<ModelKind>().unwrap(), m);
            assert_eq!(m.to_string().parse::<ModelKind>().unwrap(), m);
        }
    }

    #[test]
    fn the_paper_spec_covers_table_iv() {
        let spec = Spec::paper(1);
        spec.check().unwrap();
        assert_eq!(spec.datasets.len(), 10);
        assert_eq!(spec.models, ModelKind::TABLE_ORDER);
        let configs: usize = spec.models.iter().map(|&m| spec.grid_for(m).len()).sum();
        assert_eq!(configs, 1152 + 240 + 48 + 2);
        assert_eq!(
            Spec::from_toml(&spec.to_toml()).unwrap().hash(),
            spec.hash()
        );
    }
}
