//! Every job record of a store as one typed table, for data-frame libraries: an Arrow IPC file
//! ([`FrameFormat::Arrow`], `pandas.read_feather`, `polars.read_ipc`) or a Parquet file ([`FrameFormat::Parquet`],
//! Snappy-compressed; `pandas.read_parquet`, `polars.read_parquet`). `mf table SPEC --format arrow|parquet --out
//! FILE` writes it.
//!
//! One row per job record (the latest record of each job, as [`crate::store::read_store`] gives them), in the
//! store's key order (selection before final, then data set, model and configuration). Columns:
//!
//! | column | type | |
//! |---|---|---|
//! | `spec_hash` | utf8 | the store header's spec hash |
//! | `dataset`, `model` | utf8 | data set as the spec writes it; model id (`mf-esn`, ...) |
//! | `phase` | utf8 | `selection` (validation job, paper Sec. VI) or `final` (trials on the test split) |
//! | `config` | uint64 | index of the configuration in the model's grid order |
//! | one per hyper-parameter | float64, null where the record's model lacks it | the values the job's models were configured with: the grid's, `n_units` from the spec where the grid has none, the spec's `max_epochs` for trainable models when set ([`crate::job::effective_params`]); a name equal to another column's gets the prefix `param_` |
//! | `seeds` | list of uint64 | one seed per draw (selection) or trial (final) |
//! | `metric` | utf8, null for a failed job | `accuracy` or `rmse` |
//! | `scores` | list of float64, null for a failed job | one score per seed, in seed order |
//! | `score`, `score_std` | float64, null for a failed job | mean and population standard deviation of `scores` |
//! | `diverged` | list of uint64, null for a failed job | indices into `scores` of trainings that diverged |
//! | `outcome` | utf8 | `ok`, `diverged` (some training diverged) or `failed` |
//! | `failure` | utf8, null unless failed | the failure's message |
//! | `wall_s` | float64 | seconds the job took |
//! | `protocol` | utf8, null for reservoir models | the spec's training protocol |
//! | `normalise` | utf8 | the spec's input normalisation (`none`, `zscore`) |
//! | `data_fingerprint` | utf8, null when not recorded | digest of the data the job ran on |
//! | `selected` | bool | whether `config` is the configuration model selection chose for the pair (its selection rows and its final row) |
//!
//! `df.explode(["seeds", "scores"])` gives one row per draw or trial.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, ListBuilder, StringBuilder, UInt64Builder};
use arrow_array::ArrayRef;
use arrow_schema::{Field, Schema};

/// The table type of the frames written and read here (arrow-array's).
pub use arrow_array::RecordBatch;

use crate::job::{effective_params, JobKey, Stage};
use crate::protocol::{mean, pop_std};
use crate::spec::Spec;
use crate::store::{Outcome, Record, StoreContents};
use crate::LabError;

/// A file format for data frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFormat {
    /// Arrow IPC file format (Feather version 2).
    Arrow,
    /// Parquet, Snappy-compressed.
    Parquet,
}

impl FrameFormat {
    /// The accepted names.
    pub const NAMES: [&'static str; 2] = ["arrow", "parquet"];

    /// The usual file extension (`arrow`, `parquet`).
    pub fn extension(self) -> &'static str {
        match self {
            FrameFormat::Arrow => "arrow",
            FrameFormat::Parquet => "parquet",
        }
    }
}

impl fmt::Display for FrameFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for FrameFormat {
    type Err = LabError;
    /// `arrow` (also `ipc`, `feather`) or `parquet`, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "arrow" | "ipc" | "feather" => Ok(FrameFormat::Arrow),
            "parquet" => Ok(FrameFormat::Parquet),
            _ => Err(LabError::InvalidParams(format!(
                "unknown data-frame format `{s}` (expected {})",
                FrameFormat::NAMES.join(" or ")
            ))),
        }
    }
}

/// Names of the fixed columns, in order (the hyper-parameter columns come after `config`).
pub const FIXED_COLUMNS: [&str; 18] = [
    "spec_hash",
    "dataset",
    "model",
    "phase",
    "config",
    "seeds",
    "metric",
    "scores",
    "score",
    "score_std",
    "diverged",
    "outcome",
    "failure",
    "wall_s",
    "protocol",
    "normalise",
    "data_fingerprint",
    "selected",
];

/// The phase of a stage as the table names it.
pub fn phase_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Validation => "selection",
        Stage::Final => "final",
    }
}

/// The outcome of a record as the table names it: `ok`, `diverged` or `failed`.
pub fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Done { diverged, .. } if diverged.is_empty() => "ok",
        Outcome::Done { .. } => "diverged",
        Outcome::Failed { .. } => "failed",
    }
}

/// The hyper-parameter columns of `records` under `spec`: every name of the records' effective parameters,
/// ordered by model (table order) and each model's own parameter order, then any other name alphabetically;
/// each with its column name.
pub fn param_columns(spec: &Spec, records: &BTreeMap<JobKey, Record>) -> Vec<(String, String)> {
    let mut by_model: BTreeMap<crate::ModelKind, BTreeSet<String>> = BTreeMap::new();
    for r in records.values() {
        by_model
            .entry(r.key.model)
            .or_default()
            .extend(effective(spec, r).into_keys());
    }
    let mut names: Vec<String> = Vec::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    for model in crate::ModelKind::table_order() {
        let Some(used) = by_model.get(&model) else {
            continue;
        };
        for p in model.model().param_names() {
            if used.contains(p) && !names.iter().any(|n| n == p) {
                names.push(p.to_string());
            }
        }
        others.extend(used.iter().cloned());
    }
    for (model, used) in &by_model {
        if !crate::ModelKind::table_order().contains(model) {
            others.extend(used.iter().cloned());
        }
    }
    let extra: Vec<String> = others.into_iter().filter(|n| !names.contains(n)).collect();
    names.extend(extra);
    names
        .into_iter()
        .map(|n| {
            let column = if FIXED_COLUMNS.contains(&n.as_str()) {
                format!("param_{n}")
            } else {
                n.clone()
            };
            (n, column)
        })
        .collect()
}

fn effective(spec: &Spec, r: &Record) -> crate::Params {
    effective_params(&r.params, r.key.model, spec.n_units, spec.max_epochs)
}

/// Every record of `contents` (a store of `spec`) as one Arrow record batch, with the columns of the module
/// documentation. A store of another spec is refused.
pub fn records_frame(spec: &Spec, contents: &StoreContents) -> Result<RecordBatch, LabError> {
    if contents.spec_hash != spec.hash() {
        return Err(LabError::InvalidSpec(format!(
            "the store holds results of spec {}, not of this spec ({})",
            contents.spec_hash,
            spec.hash()
        )));
    }
    let records = &contents.records;
    let params = param_columns(spec, records);
    let selected = selected_configs(spec, records);
    let n = records.len();
    let text = || StringBuilder::with_capacity(n, n * 16);
    let (mut hash, mut dataset, mut model, mut phase) = (text(), text(), text(), text());
    let mut config = UInt64Builder::with_capacity(n);
    let mut values: Vec<Float64Builder> = params
        .iter()
        .map(|_| Float64Builder::with_capacity(n))
        .collect();
    let mut seeds = ListBuilder::new(UInt64Builder::new());
    let mut metric = text();
    let mut scores = ListBuilder::new(Float64Builder::new());
    let mut score = Float64Builder::with_capacity(n);
    let mut score_std = Float64Builder::with_capacity(n);
    let mut diverged = ListBuilder::new(UInt64Builder::new());
    let (mut outcome, mut failure, mut protocol, mut normalise, mut fingerprint) =
        (text(), text(), text(), text(), text());
    let mut wall = Float64Builder::with_capacity(n);
    let mut is_selected = arrow_array::builder::BooleanBuilder::with_capacity(n);
    for r in records.values() {
        hash.append_value(&contents.spec_hash);
        dataset.append_value(&r.key.dataset);
        model.append_value(r.key.model.id());
        phase.append_value(phase_name(r.key.stage));
        config.append_value(r.key.config as u64);
        let p = effective(spec, r);
        for ((name, _), b) in params.iter().zip(&mut values) {
            b.append_option(p.get(name).copied());
        }
        seeds.values().append_slice(&r.seeds);
        seeds.append(true);
        match &r.outcome {
            Outcome::Done {
                metric: m,
                scores: s,
                diverged: d,
            } => {
                metric.append_value(m.to_string());
                scores.values().append_slice(s);
                scores.append(true);
                score.append_value(mean(s));
                score_std.append_value(pop_std(s));
                for &i in d {
                    diverged.values().append_value(i as u64);
                }
                diverged.append(true);
                failure.append_null();
            }
            Outcome::Failed { message } => {
                metric.append_null();
                scores.append(false);
                score.append_null();
                score_std.append_null();
                diverged.append(false);
                failure.append_value(message);
            }
        }
        outcome.append_value(outcome_name(&r.outcome));
        wall.append_value(r.wall_s);
        if r.key.model.is_reservoir() {
            protocol.append_null();
        } else {
            protocol.append_value(spec.training_protocol().to_string());
        }
        normalise.append_value(spec.normalise.name());
        fingerprint.append_option(r.fingerprint.as_deref());
        is_selected.append_value(
            selected
                .get(&(r.key.dataset.as_str(), r.key.model))
                .is_some_and(|&c| c == r.key.config),
        );
    }
    let mut columns: Vec<(String, ArrayRef, bool)> = vec![
        ("spec_hash".into(), Arc::new(hash.finish()), false),
        ("dataset".into(), Arc::new(dataset.finish()), false),
        ("model".into(), Arc::new(model.finish()), false),
        ("phase".into(), Arc::new(phase.finish()), false),
        ("config".into(), Arc::new(config.finish()), false),
    ];
    for ((_, column), mut b) in params.iter().zip(values) {
        columns.push((column.clone(), Arc::new(b.finish()), true));
    }
    columns.extend([
        (
            "seeds".to_string(),
            Arc::new(seeds.finish()) as ArrayRef,
            false,
        ),
        ("metric".into(), Arc::new(metric.finish()), true),
        ("scores".into(), Arc::new(scores.finish()), true),
        ("score".into(), Arc::new(score.finish()), true),
        ("score_std".into(), Arc::new(score_std.finish()), true),
        ("diverged".into(), Arc::new(diverged.finish()), true),
        ("outcome".into(), Arc::new(outcome.finish()), false),
        ("failure".into(), Arc::new(failure.finish()), true),
        ("wall_s".into(), Arc::new(wall.finish()), false),
        ("protocol".into(), Arc::new(protocol.finish()), true),
        ("normalise".into(), Arc::new(normalise.finish()), false),
        (
            "data_fingerprint".into(),
            Arc::new(fingerprint.finish()),
            true,
        ),
        ("selected".into(), Arc::new(is_selected.finish()), false),
    ]);
    let schema = Schema::new(
        columns
            .iter()
            .map(|(name, a, nullable)| Field::new(name, a.data_type().clone(), *nullable))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        columns.into_iter().map(|(_, a, _)| a).collect(),
    )
    .map_err(|e| LabError::InvalidData(format!("building the results table: {e}")))
}

/// The configuration selected for each (data set, model) pair whose selection is complete
/// ([`crate::protocol::select`]).
fn selected_configs<'a>(
    spec: &Spec,
    records: &'a BTreeMap<JobKey, Record>,
) -> BTreeMap<(&'a str, crate::ModelKind), usize> {
    let mut out = BTreeMap::new();
    for key in records.keys() {
        if out.contains_key(&(key.dataset.as_str(), key.model)) {
            continue;
        }
        if let crate::SelectionState::Selected(s) =
            crate::protocol::select(spec, records, &key.dataset, key.model)
        {
            out.insert((key.dataset.as_str(), key.model), s.config);
        }
    }
    out
}

/// Writes `batch` to `out` in `format`.
pub fn write_frame<W: Write + Send>(
    batch: &RecordBatch,
    format: FrameFormat,
    out: W,
) -> Result<(), String> {
    match format {
        FrameFormat::Arrow => {
            let mut w = arrow_ipc::writer::FileWriter::try_new(out, &batch.schema())
                .map_err(|e| e.to_string())?;
            w.write(batch).map_err(|e| e.to_string())?;
            w.finish().map_err(|e| e.to_string())
        }
        FrameFormat::Parquet => {
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build();
            let mut w = parquet::arrow::ArrowWriter::try_new(out, batch.schema(), Some(props))
                .map_err(|e| e.to_string())?;
            w.write(batch).map_err(|e| e.to_string())?;
            w.close().map(|_| ()).map_err(|e| e.to_string())
        }
    }
}

/// Writes every record of `contents` (a store of `spec`) to `path` in `format`, through a temporary file beside
/// it and a rename, so that an interrupted export leaves no partial file. Returns the number of rows.
pub fn export_records(
    spec: &Spec,
    contents: &StoreContents,
    format: FrameFormat,
    path: &Path,
) -> Result<usize, LabError> {
    let batch = records_frame(spec, contents)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| LabError::InvalidParams(format!("{} is not a file name", path.display())))?;
    // A missing directory is created, as `mf fit`, `mf export` and `mf robustness` create theirs.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| LabError::io(dir, e))?;
    }
    let mut tmp_name = file_name.to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let file = std::fs::File::create(&tmp).map_err(|e| LabError::io(&tmp, e))?;
    let written = write_frame(&batch, format, std::io::BufWriter::new(file))
        .map_err(|e| LabError::io(path, std::io::Error::other(e)));
    if let Err(e) =
        written.and_then(|_| std::fs::rename(&tmp, path).map_err(|e| LabError::io(path, e)))
    {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(batch.num_rows())
}

/// Reads an Arrow IPC or Parquet file (as [`export_records`] writes them) into its record batches.
pub fn read_frame(path: &Path, format: FrameFormat) -> Result<Vec<RecordBatch>, LabError> {
    let file = std::fs::File::open(path).map_err(|e| LabError::io(path, e))?;
    let bad = |e: String| LabError::io(path, std::io::Error::other(e));
    match format {
        FrameFormat::Arrow => {
            arrow_ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)
                .map_err(|e| bad(e.to_string()))?
                .map(|b| b.map_err(|e| bad(e.to_string())))
                .collect()
        }
        FrameFormat::Parquet => {
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.build())
                .map_err(|e| bad(e.to_string()))?
                .map(|b| b.map_err(|e| bad(e.to_string())))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{validation_jobs, Job};
    use crate::spec::{Metric, ModelKind};
    use crate::store::{read_store, Store};
    use crate::testing::small_spec;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, UInt64Type};
    use arrow_array::{Array, BooleanArray, Float64Array, StringArray, UInt64Array};

    /// Scores of configuration `config`: `0.1 * (config + 1) + 0.01 * draw`, so that accuracy selects the last
    /// configuration that did not fail and RMSE the first.
    fn scores(config: usize, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| 0.1 * (config + 1) as f64 + 0.01 * i as f64)
            .collect()
    }

    fn metric_of(dataset: &str) -> Metric {
        if dataset == "SyntheticControl" {
            Metric::Accuracy
        } else {
            Metric::Rmse
        }
    }

    /// A store of `small_spec` holding every validation job: MF-ESN's last configuration on SyntheticControl
    /// failed, RNN's second on FloodModeling1 diverged in draw 0, the others succeeded; plus the final job of
    /// (SyntheticControl, esn). Returns the store's path.
    fn store(dir: &Path) -> (Spec, std::path::PathBuf) {
        let spec = small_spec();
        let path = dir.join("store.jsonl");
        let (mut store, _) = Store::open(&path, &spec.hash()).unwrap();
        let mut jobs = validation_jobs(&spec);
        jobs.push(Job::final_of(&spec, "SyntheticControl", ModelKind::Esn, 2).unwrap());
        for (n, job) in jobs.iter().enumerate() {
            let k = &job.key;
            let outcome = if k.dataset == "SyntheticControl"
                && k.model == ModelKind::MfEsn
                && k.config == 3
            {
                Outcome::Failed {
                    message: "trial 1/3 (seed 7): the score is NaN".into(),
                }
            } else {
                Outcome::Done {
                    metric: metric_of(&k.dataset),
                    scores: scores(k.config, job.seeds.len()),
                    diverged: if k.dataset == "FloodModeling1"
                        && k.model == ModelKind::Rnn
                        && k.config == 1
                    {
                        vec![0]
                    } else {
                        Vec::new()
                    },
                }
            };
            let mut r = Record::new(job, outcome, 0.25 * n as f64);
            if !r.is_failed() && n % 3 != 0 {
                r.fingerprint = Some(format!("{n:064x}"));
            }
            store.append(r).unwrap();
        }
        (spec, path)
    }

    fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
        let a: &StringArray = batch.column_by_name(name).unwrap().as_string();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
            .collect()
    }

    fn floats(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
        let a: &Float64Array = batch.column_by_name(name).unwrap().as_primitive();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect()
    }

    fn lists<T: arrow_array::ArrowPrimitiveType>(
        batch: &RecordBatch,
        name: &str,
    ) -> Vec<Option<Vec<T::Native>>> {
        let a = batch.column_by_name(name).unwrap().as_list::<i32>();
        (0..a.len())
            .map(|i| {
                a.is_valid(i)
                    .then(|| a.value(i).as_primitive::<T>().values().to_vec())
            })
            .collect()
    }

    /// Checks every column of `batch` against the records, computed here from the records themselves.
    fn check(spec: &Spec, contents: &StoreContents, batch: &RecordBatch) {
        let records: Vec<&Record> = contents.records.values().collect();
        assert_eq!(batch.num_rows(), records.len());
        let col = |f: &dyn Fn(&Record) -> Option<String>| {
            records.iter().map(|r| f(r)).collect::<Vec<_>>()
        };
        assert_eq!(strings(batch, "spec_hash"), col(&|_| Some(spec.hash())));
        assert_eq!(
            strings(batch, "dataset"),
            col(&|r| Some(r.key.dataset.clone()))
        );
        assert_eq!(
            strings(batch, "model"),
            col(&|r| Some(r.key.model.id().to_string()))
        );
        assert_eq!(
            strings(batch, "phase"),
            col(&|r| Some(
                if r.key.stage == Stage::Final {
                    "final"
                } else {
                    "selection"
                }
                .to_string()
            ))
        );
        let config: &UInt64Array = batch.column_by_name("config").unwrap().as_primitive();
        assert_eq!(
            config.values().to_vec(),
            records
                .iter()
                .map(|r| r.key.config as u64)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            lists::<UInt64Type>(batch, "seeds"),
            records
                .iter()
                .map(|r| Some(r.seeds.clone()))
                .collect::<Vec<_>>()
        );
        let done = |r: &Record| match &r.outcome {
            Outcome::Done {
                metric,
                scores,
                diverged,
            } => Some((*metric, scores.clone(), diverged.clone())),
            Outcome::Failed { .. } => None,
        };
        assert_eq!(
            strings(batch, "metric"),
            col(&|r| done(r).map(|d| d.0.to_string()))
        );
        assert_eq!(
            lists::<Float64Type>(batch, "scores"),
            records
                .iter()
                .map(|r| done(r).map(|d| d.1))
                .collect::<Vec<_>>()
        );
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        for ((got, sd), r) in floats(batch, "score")
            .iter()
            .zip(floats(batch, "score_std"))
            .zip(&records)
        {
            match done(r) {
                Some((_, s, _)) => {
                    let m = mean(&s);
                    let var = s.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / s.len() as f64;
                    assert!(
                        (got.unwrap() - m).abs() < 1e-15
                            && (sd.unwrap() - var.sqrt()).abs() < 1e-15
                    );
                }
                None => assert!(got.is_none() && sd.is_none()),
            }
        }
        assert_eq!(
            lists::<UInt64Type>(batch, "diverged"),
            records
                .iter()
                .map(|r| done(r).map(|d| d.2.iter().map(|&i| i as u64).collect()))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            strings(batch, "outcome"),
            col(&|r| Some(
                match done(r) {
                    None => "failed",
                    Some((_, _, d)) if !d.is_empty() => "diverged",
                    Some(_) => "ok",
                }
                .to_string()
            ))
        );
        assert_eq!(
            strings(batch, "failure"),
            col(&|r| match &r.outcome {
                Outcome::Failed { message } => Some(message.clone()),
                Outcome::Done { .. } => None,
            })
        );
        assert_eq!(
            floats(batch, "wall_s"),
            records.iter().map(|r| Some(r.wall_s)).collect::<Vec<_>>()
        );
        assert_eq!(
            strings(batch, "protocol"),
            col(&|r| (!r.key.model.is_reservoir()).then(|| "reference".to_string()))
        );
        assert_eq!(
            strings(batch, "normalise"),
            col(&|_| Some("none".to_string()))
        );
        assert_eq!(
            strings(batch, "data_fingerprint"),
            col(&|r| r.fingerprint.clone())
        );
        // Hyper-parameters: the grid's value where the record has one, the spec's size for n_units, null where
        // the record's model has no such parameter.
        for name in ["omega", "dt", "alpha", "lr", "gamma"] {
            assert_eq!(
                floats(batch, name),
                records
                    .iter()
                    .map(|r| r.params.get(name).copied())
                    .collect::<Vec<_>>(),
                "{name}"
            );
        }
        assert_eq!(
            floats(batch, "n_units"),
            records
                .iter()
                .map(|_| Some(spec.n_units as f64))
                .collect::<Vec<_>>()
        );
        // Selection, derived from the scores above: accuracy picks the last configuration that did not fail,
        // RMSE the first.
        let grid = |m: ModelKind| spec.grid_for(m).len();
        let selected: &BooleanArray = batch.column_by_name("selected").unwrap().as_boolean();
        for (i, r) in records.iter().enumerate() {
            let k = &r.key;
            let chosen = match metric_of(&k.dataset) {
                m if !m.higher_is_better() => 0,
                _ if k.model == ModelKind::MfEsn => grid(k.model) - 2,
                _ => grid(k.model) - 1,
            };
            assert_eq!(selected.value(i), k.config == chosen, "{k}");
        }
    }

    #[test]
    fn an_export_into_a_missing_directory_creates_it() {
        let dir = tempfile::tempdir().unwrap();
        let (spec, path) = store(dir.path());
        let contents = read_store(&path).unwrap();
        let out = dir
            .path()
            .join("frames")
            .join("new")
            .join("records.parquet");
        let rows = export_records(&spec, &contents, FrameFormat::Parquet, &out).unwrap();
        assert_eq!(rows, contents.records.len());
        assert_eq!(
            one_batch(&read_frame(&out, FrameFormat::Parquet).unwrap()).num_rows(),
            rows
        );
    }

    #[test]
    fn arrow_and_parquet_files_read_back_to_the_stores_records() {
        let dir = tempfile::tempdir().unwrap();
        let (spec, path) = store(dir.path());
        let contents = read_store(&path).unwrap();
        assert_eq!(contents.records.len(), validation_jobs(&spec).len() + 1);
        for format in [FrameFormat::Arrow, FrameFormat::Parquet] {
            let out = dir.path().join(format!("records.{}", format.extension()));
            assert_eq!(
                export_records(&spec, &contents, format, &out).unwrap(),
                contents.records.len()
            );
            let batches = read_frame(&out, format).unwrap();
            let batch = one_batch(&batches);
            check(&spec, &contents, &batch);
            // Typed columns: no temporary file is left beside the output.
            assert_eq!(
                batch.schema().field_with_name("score").unwrap().data_type(),
                &arrow_schema::DataType::Float64
            );
            assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")));
        }
        // pandas reads the Parquet file directly, when it is installed.
        let parquet = dir.path().join("records.parquet");
        let have_pandas = std::process::Command::new("python3")
            .args(["-c", "import pandas, pyarrow"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_pandas {
            eprintln!("skipped the pandas check: python3 with pandas and pyarrow is not available");
            return;
        }
        let script = "import sys, pandas\n\
                      df = pandas.read_parquet(sys.argv[1])\n\
                      print(len(df))\n\
                      print(repr(float(df['score'].sum(skipna=True))))\n\
                      print(int(df['score'].isna().sum()))\n\
                      print(len(pandas.read_feather(sys.argv[2])))\n";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&parquet)
            .arg(dir.path().join("records.arrow"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let means: Vec<f64> = contents
            .records
            .values()
            .filter_map(|r| match &r.outcome {
                Outcome::Done { scores, .. } => {
                    Some(scores.iter().sum::<f64>() / scores.len() as f64)
                }
                Outcome::Failed { .. } => None,
            })
            .collect();
        assert_eq!(lines[0].parse::<usize>().unwrap(), contents.records.len());
        let sum: f64 = lines[1].parse().unwrap();
        assert!((sum - means.iter().sum::<f64>()).abs() < 1e-9, "{sum}");
        assert_eq!(
            lines[2].parse::<usize>().unwrap(),
            contents.records.len() - means.len()
        );
        assert_eq!(lines[3].parse::<usize>().unwrap(), contents.records.len());
    }

    /// The batches of a file as one (the writers here write one batch; a reader may split it).
    fn one_batch(batches: &[RecordBatch]) -> RecordBatch {
        assert!(!batches.is_empty());
        if batches.len() == 1 {
            return batches[0].clone();
        }
        panic!("expected one batch, got {}", batches.len());
    }

    #[test]
    fn the_spec_normalisation_and_a_colliding_parameter_name_have_columns() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spec, _) = store(dir.path());
        spec.normalise = crate::normalise::Normalise::Zscore;
        let path = dir.path().join("z.jsonl");
        let (mut store, _) = Store::open(&path, &spec.hash()).unwrap();
        let job = Job::validation(&spec, "SyntheticControl", ModelKind::Esn, 0).unwrap();
        let mut r = Record::new(
            &job,
            Outcome::Done {
                metric: Metric::Accuracy,
                scores: vec![0.5; job.seeds.len()],
                diverged: Vec::new(),
            },
            1.0,
        );
        r.params.insert("score".into(), 3.0);
        store.append(r).unwrap();
        let contents = read_store(&path).unwrap();
        let batch = records_frame(&spec, &contents).unwrap();
        assert_eq!(strings(&batch, "normalise"), [Some("zscore".to_string())]);
        assert_eq!(floats(&batch, "param_score"), [Some(3.0)]);
        assert_eq!(floats(&batch, "score"), [Some(0.5)]);
        // A store of another spec is refused.
        let e = records_frame(&small_spec(), &contents)
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds results of spec"), "{e}");
    }

    #[test]
    fn an_unknown_format_lists_the_accepted_ones() {
        assert_eq!(
            "Parquet".parse::<FrameFormat>().unwrap(),
            FrameFormat::Parquet
        );
        assert_eq!(
            "feather".parse::<FrameFormat>().unwrap(),
            FrameFormat::Arrow
        );
        let e = "xlsx".parse::<FrameFormat>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown data-frame format `xlsx` (expected arrow or parquet)"
        );
    }
}
