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
//! # Optional: replaces the paper's grid of one model. Keys are taken in the order written.
//! [grid.mf-esn]
//! omega = [0.1, 1]
//! dt = [0.1, 0.01]
//! ```
//!
//! Its [`Spec::hash`] (SHA-256 of a canonical serialisation of the resolved spec, see [`Spec::canonical_json`])
//! names the directory holding its results.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::EngineError;

/// Hyper-parameters of one configuration, by name (`omega`, `beta`, `rho`, `gamma`, `s`, `dt`, `alpha`, `lr`).
pub type Params = BTreeMap<String, f64>;

/// The four model families of the paper (Sec. VI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ModelKind {
    /// Memristive-friendly echo state network (untrained reservoir, ridge readout).
    #[serde(rename = "mf-esn")]
    MfEsn,
    /// Leaky echo state network baseline.
    #[serde(rename = "esn")]
    Esn,
    /// Memristive-friendly recurrent network trained end to end.
    #[serde(rename = "mf-rnn")]
    MfRnn,
    /// Fully trained tanh recurrent network baseline.
    #[serde(rename = "rnn")]
    Rnn,
}

impl ModelKind {
    /// All models, in the column order of the paper's Table IV (ESN, MF-ESN, RNN, MF-RNN).
    pub const TABLE_ORDER: [ModelKind; 4] = [
        ModelKind::Esn,
        ModelKind::MfEsn,
        ModelKind::Rnn,
        ModelKind::MfRnn,
    ];

    /// The name used in specs, store keys and on the command line (`mf-esn`, `esn`, `mf-rnn`, `rnn`).
    pub fn id(self) -> &'static str {
        match self {
            ModelKind::MfEsn => "mf-esn",
            ModelKind::Esn => "esn",
            ModelKind::MfRnn => "mf-rnn",
            ModelKind::Rnn => "rnn",
        }
    }

    /// True for the untrained-reservoir models, whose validation score is a mean over several draws.
    pub fn is_reservoir(self) -> bool {
        matches!(self, ModelKind::MfEsn | ModelKind::Esn)
    }

    /// The paper's grid for this model (Table III), in the nesting order of the grid search.
    pub fn paper_grid(self) -> Grid {
        let g = |axes: &[(&str, &[f64])]| {
            Grid::new(
                axes.iter()
                    .map(|(n, v)| (n.to_string(), v.to_vec()))
                    .collect(),
            )
            .expect("the paper's grids are valid")
        };
        match self {
            ModelKind::MfEsn => g(&[
                ("omega", &[0.1, 1.0, 10.0]),
                ("beta", &[0.0, 0.001, 0.1, 1.0]),
                ("rho", &[0.8, 0.9, 0.95, 0.99]),
                ("gamma", &[0.5, 0.8, 0.95, 1.0]),
                ("s", &[1.0, 5.0]),
                ("dt", &[0.1, 0.01, 0.001]),
            ]),
            ModelKind::Esn => g(&[
                ("omega", &[0.1, 1.0, 10.0]),
                ("beta", &[0.0, 0.001, 0.1, 1.0]),
                ("rho", &[0.8, 0.9, 0.95, 0.99]),
                ("alpha", &[0.1, 0.3, 0.5, 0.7, 1.0]),
            ]),
            ModelKind::MfRnn => g(&[
                ("lr", &[0.001, 0.01]),
                ("gamma", &[0.5, 0.8, 0.95, 1.0]),
                ("s", &[1.0, 5.0]),
                ("dt", &[0.001, 0.01, 0.1]),
            ]),
            ModelKind::Rnn => g(&[("lr", &[0.001, 0.01])]),
        }
    }
}

impl fmt::Display for ModelKind {
    /// The paper's name: `MF-ESN`, `ESN`, `MF-RNN`, `RNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelKind::MfEsn => "MF-ESN",
            ModelKind::Esn => "ESN",
            ModelKind::MfRnn => "MF-RNN",
            ModelKind::Rnn => "RNN",
        })
    }
}

impl FromStr for ModelKind {
    type Err = EngineError;

    /// Accepts the spec names (`mf-esn`) and the paper's names (`MF-ESN`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "mf-esn" | "mfesn" => Ok(ModelKind::MfEsn),
            "esn" => Ok(ModelKind::Esn),
            "mf-rnn" | "mfrnn" => Ok(ModelKind::MfRnn),
            "rnn" => Ok(ModelKind::Rnn),
            _ => Err(EngineError::UnknownModel(s.to_string())),
        }
    }
}

/// How a job is scored: accuracy for classification, RMSE for regression (paper Sec. VI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Fraction of correctly classified series; higher is better.
    Accuracy,
    /// Root mean squared error; lower is better.
    Rmse,
}

impl Metric {
    /// Whether larger scores are better (true for accuracy, false for RMSE).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Accuracy)
    }

    /// Whether `a` is strictly better than `b`. A NaN is never better than anything, and any number is better
    /// than NaN, so a configuration whose score is not finite is never selected over one that is.
    pub fn strictly_better(self, a: f64, b: f64) -> bool {
        if a.is_nan() {
            return false;
        }
        if b.is_nan() {
            return true;
        }
        if self.higher_is_better() {
            a > b
        } else {
            a < b
        }
    }

    /// The arrow used by the paper's tables: up for accuracy, down for RMSE.
    pub fn arrow(self) -> &'static str {
        if self.higher_is_better() {
            "↑"
        } else {
            "↓"
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::Accuracy => "acc",
            Metric::Rmse => "RMSE",
        })
    }
}

/// A hyper-parameter grid: named axes, each with its list of values, in nesting order (the first axis is the
/// outermost loop, the last varies fastest). The order is the order written in the spec and decides ties in
/// model selection, so it is kept as a list of pairs, never sorted.
///
/// In TOML a grid is a table `name = [values...]`; its keys are read in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    axes: Vec<(String, Vec<f64>)>,
}

impl Grid {
    /// A grid from its axes; fails on an empty axis, a repeated name or a non-finite value.
    pub fn new(axes: Vec<(String, Vec<f64>)>) -> Result<Self, EngineError> {
        for (i, (name, values)) in axes.iter().enumerate() {
            if values.is_empty() {
                return Err(EngineError::InvalidSpec(format!(
                    "grid axis `{name}` has no values"
                )));
            }
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(EngineError::InvalidSpec(format!(
                    "grid axis `{name}` has the non-finite value {v}"
                )));
            }
            if axes[..i].iter().any(|(n, _)| n == name) {
                return Err(EngineError::InvalidSpec(format!(
                    "grid axis `{name}` appears twice"
                )));
            }
        }
        Ok(Grid { axes })
    }

    /// The axes, in nesting order.
    pub fn axes(&self) -> &[(String, Vec<f64>)] {
        &self.axes
    }

    /// The number of configurations (product of the axis lengths; 1 for a grid without axes).
    pub fn len(&self) -> usize {
        self.axes.iter().map(|(_, v)| v.len()).product()
    }

    /// Whether the grid has no configuration (never true for a grid built by [`Grid::new`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Configuration number `index` in grid order (first axis outermost), or None past the end.
    pub fn config(&self, index: usize) -> Option<Params> {
        if index >= self.len() {
            return None;
        }
        let mut rest = index;
        let mut params = Params::new();
        for (name, values) in self.axes.iter().rev() {
            params.insert(name.clone(), values[rest % values.len()]);
            rest /= values.len();
        }
        Some(params)
    }

    /// All configurations in grid order.
    pub fn configs(&self) -> impl Iterator<Item = Params> + '_ {
        (0..self.len()).map(|i| self.config(i).expect("index in range"))
    }

    /// The index of the configuration equal to `params`, if the grid contains it.
    pub fn index_of(&self, params: &Params) -> Option<usize> {
        (0..self.len()).find(|&i| self.config(i).as_ref() == Some(params))
    }
}

impl Serialize for Grid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.axes.len()))?;
        for (name, values) in &self.axes {
            map.serialize_entry(name, values)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Grid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GridVisitor;
        impl<'de> Visitor<'de> for GridVisitor {
            type Value = Grid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of hyper-parameter names to lists of values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Grid, A::Error> {
                let mut axes = Vec::new();
                while let Some((name, values)) = map.next_entry::<String, Vec<f64>>()? {
                    axes.push((name, values));
                }
                Grid::new(axes).map_err(serde::de::Error::custom)
            }
        }
        deserializer.deserialize_map(GridVisitor)
    }
}

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
        }
    }

    /// The paper's experiment (Table IV): its ten data sets, all four models, Table III grids, 5 draws and
    /// 5 trials, with seed `seed`.
    pub fn paper(seed: u64) -> Self {
        let mut s = Spec::new(
            super::paper::DATASETS
                .iter()
                .map(|d| d.to_string())
                .collect(),
        );
        s.seed = seed;
        s
    }

    /// Parses and checks a TOML spec.
    pub fn from_toml(text: &str) -> Result<Self, EngineError> {
        let mut spec: Spec =
            toml::from_str(text).map_err(|e| EngineError::InvalidSpec(e.to_string()))?;
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
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
        Self::from_toml(&text).map_err(|e| match e {
            EngineError::InvalidSpec(msg) => {
                EngineError::InvalidSpec(format!("{}: {msg}", path.display()))
            }
            other => other,
        })
    }

    /// Checks the values: non-empty distinct data sets and models, at least one draw and trial,
    /// `0 < val_fraction < 1`, at least one unit, and grids only for listed models.
    pub fn check(&self) -> Result<(), EngineError> {
        let bad = |m: String| Err(EngineError::InvalidSpec(m));
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
        Ok(())
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
