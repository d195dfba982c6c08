//! Data sets as model inputs: loading by name (from the data directory, or generated) and conversion into
//! mf-core's [`Sequences`] and [`Targets`].
//!
//! Three names are generated in memory and need no files, so a fresh machine has something real to run:
//! `synthetic-control` (the UCR SyntheticControl shape, 300/300 series of 60 steps, six classes, each series
//! z-normalised as in the UCR archive),
//! `mackey-glass-windows` (one-step-ahead prediction of the tau = 17 series from windows of 50 samples, each window
//! one series) and `narma10-windows` (NARMA-10 output from windows of 50 inputs). Every other name is read from the
//! data directory. The sequence tasks `narma10`, `mackey-glass`, `lorenz` and `memory-capacity` (one long signal,
//! a target at every step) are [`crate::sequence`]'s.

use std::borrow::Cow;
use std::path::Path;

use mf_core::{Sequences, Targets};
use mf_data::{generate, Dataset, FillMissing, Split, TaskKind};
use ndarray::Array2;

use crate::metric::Metric;
use crate::normalise::{InputScaling, Normalise};
use crate::{LabError, ResultExt};

/// Seed of the generated data sets: fixed, so a generated set is the same data whatever the model seed.
pub const GENERATED_SEED: u64 = 2025;

/// The generated data sets: name and one-line description.
pub const GENERATED: [(&str, &str); 3] = [
    (
        "synthetic-control",
        "control charts, 6 classes, 300/300 series of 60 steps (Alcock and Manolopoulos 1999)",
    ),
    (
        "mackey-glass-windows",
        "Mackey-Glass tau=17, next value from 50 samples, 400/200 windows (whole-series regression)",
    ),
    (
        "narma10-windows",
        "NARMA-10 output from 50 inputs, 400/200 windows (whole-series regression)",
    ),
];

/// Whether `name` is one of the [`GENERATED`] data sets.
pub fn is_generated(name: &str) -> bool {
    GENERATED.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// Loads `name`: a generated set, or `<data_dir>/<name>/<name>_TRAIN.*` (and `_TEST.*`). A path
/// ([`mf_data::is_dataset_path`]: `dir/X_TRAIN.csv`, `X_TRAIN.parquet`, `./dir`) is a training/test pair read by
/// [`mf_data::load_path`], named by the file name before `_TRAIN`.
pub fn load_dataset(data_dir: &Path, name: &str) -> Result<Dataset, LabError> {
    if mf_data::is_dataset_path(name) {
        return mf_data::load_path(Path::new(name), &mf_data::TableOptions::default())
            .context_with(|| format!("loading data set {name}"));
    }
    let generated = match name.to_ascii_lowercase().as_str() {
        "synthetic-control" => {
            Some(generate::synthetic_control_default(GENERATED_SEED).and_then(z_normalise_series))
        }
        "mackey-glass-windows" => Some(generate::mackey_glass(400, 200, 50, GENERATED_SEED)),
        "narma10-windows" => Some(generate::narma10(400, 200, 50, GENERATED_SEED)),
        _ => None,
    };
    let mut ds = match generated {
        Some(d) => d.context_with(|| format!("generating {name}"))?,
        None => match mf_data::load_dataset(data_dir, name) {
            Ok(d) => d,
            Err(e @ mf_data::DataError::NotFound { .. }) => {
                let fetch = match mf_data::paper_dataset(name) {
                    Some(info) => format!("`mf data fetch {}` downloads it", info.name),
                    None => "`mf data list` shows the data sets found".to_string(),
                };
                // A bare name is looked up in the data directory; one that is a path here was meant as a path.
                let fetch = if Path::new(name).exists() {
                    format!("{fetch}; `{name}` here is a path: write it as `./{name}` to read the files in it")
                } else {
                    fetch
                };
                return Err(LabError::DatasetNotFound {
                    error: e,
                    hint: format!(
                        "generated sets need no files ({}); {fetch}",
                        GENERATED.map(|(n, _)| n).join(", ")
                    ),
                });
            }
            Err(e) => return Err(e).context_with(|| format!("loading data set {name}")),
        },
    };
    ds.name = name.to_string();
    Ok(ds)
}

/// Z-normalises every series (each dimension to mean 0 and unit population standard deviation), as the UCR
/// archive stores SyntheticControl; a constant series becomes zeros.
fn z_normalise_series(ds: Dataset) -> Result<Dataset, mf_data::DataError> {
    let norm = |split: &Split| {
        let mut raw = split.to_raw();
        for dims in &mut raw.series {
            for v in dims.iter_mut() {
                let n = v.len() as f64;
                let mean = v.iter().sum::<f64>() / n;
                let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
                let scale = if sd > 0.0 { 1.0 / sd } else { 0.0 };
                v.iter_mut().for_each(|x| *x = (*x - mean) * scale);
            }
        }
        Split::from_raw(&raw)
    };
    let test = ds.test.as_ref().map(norm).transpose()?;
    Dataset::new(ds.name.clone(), norm(&ds.train)?, test)
}

/// One split as model input.
#[derive(Debug, Clone)]
pub struct Part {
    /// The series (missing values inside a series interpolated, zeros after each series' end).
    pub seqs: Sequences,
    /// Class indices or real targets `(n, 1)`.
    pub targets: Targets,
}

impl Part {
    /// The items at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Part {
        Part {
            seqs: self.seqs.select(indices),
            targets: self.targets.select(indices),
        }
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.seqs.n_series()
    }

    /// Whether the part holds no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The part with its inputs scaled by `scaling` ([`InputScaling::apply`]); the targets as they are.
    pub fn scaled(&self, scaling: &InputScaling) -> Result<Part, LabError> {
        Ok(Part {
            seqs: scaling.apply(&self.seqs)?,
            targets: self.targets.clone(),
        })
    }
}

/// A data set ready for the models.
#[derive(Debug, Clone)]
pub struct Task {
    /// The data set's name.
    pub name: String,
    /// The training split.
    pub train: Part,
    /// The test split, when the data set has one.
    pub test: Option<Part>,
    /// Accuracy for classification, RMSE for regression.
    pub metric: Metric,
    /// Class names in index order (empty for regression).
    pub classes: Vec<String>,
}

impl Task {
    /// Converts a loaded data set.
    pub fn from_dataset(ds: &Dataset) -> Result<Task, LabError> {
        let train = part(ds, &ds.train).context_with(|| format!("{}: training split", ds.name))?;
        let test = match &ds.test {
            Some(t) => Some(part(ds, t).context_with(|| format!("{}: test split", ds.name))?),
            None => None,
        };
        let (metric, classes) = match ds.task() {
            TaskKind::Classification { classes } => (Metric::Accuracy, classes.clone()),
            TaskKind::Regression => (Metric::Rmse, Vec::new()),
        };
        Ok(Task {
            name: ds.name.clone(),
            train,
            test,
            metric,
            classes,
        })
    }

    /// The test split, or an error saying it is missing.
    pub fn test(&self) -> Result<&Part, LabError> {
        self.test.as_ref().ok_or_else(|| LabError::NoTestSplit {
            dataset: self.name.clone(),
        })
    }

    /// Splits the training split into (fit, validation) parts: stratified by class for classification, a plain
    /// shuffle for regression, seeded (paper Sec. VI).
    pub fn fit_val(&self, val_fraction: f64, seed: u64) -> (Part, Part) {
        let (fit, val) = split_indices(&self.train.targets, val_fraction, seed);
        (self.train.select(&fit), self.train.select(&val))
    }

    /// The task with its inputs normalised as `method` says: the scaling is fitted on the training split alone
    /// and applied to the training and test splits alike. Returns the scaling too (None, and the task itself
    /// unchanged, for [`Normalise::None`]).
    pub fn normalised(
        &self,
        method: Normalise,
    ) -> Result<(Cow<'_, Task>, Option<InputScaling>), LabError> {
        let Some(scaling) = method
            .fit(&self.train.seqs)
            .context_with(|| format!("{}: training split", self.name))?
        else {
            return Ok((Cow::Borrowed(self), None));
        };
        let train = self
            .train
            .scaled(&scaling)
            .context_with(|| format!("{}: training split", self.name))?;
        let test = match &self.test {
            Some(t) => Some(
                t.scaled(&scaling)
                    .context_with(|| format!("{}: test split", self.name))?,
            ),
            None => None,
        };
        let task = Task {
            name: self.name.clone(),
            train,
            test,
            metric: self.metric,
            classes: self.classes.clone(),
        };
        Ok((Cow::Owned(task), Some(scaling)))
    }

    /// [`Task::fit_val`], then the inputs of both parts normalised as `method` says with a scaling fitted on the
    /// fit part alone: model selection never sees the statistics of the series it is scored on.
    pub fn fit_val_normalised(
        &self,
        val_fraction: f64,
        seed: u64,
        method: Normalise,
    ) -> Result<(Part, Part), LabError> {
        let (fit, val) = self.fit_val(val_fraction, seed);
        match method
            .fit(&fit.seqs)
            .context_with(|| format!("{}: fit part of the training split", self.name))?
        {
            None => Ok((fit, val)),
            Some(s) => Ok((
                fit.scaled(&s)
                    .context_with(|| format!("{}: fit part", self.name))?,
                val.scaled(&s)
                    .context_with(|| format!("{}: validation part", self.name))?,
            )),
        }
    }
}

/// The (fit, validation) indices of `targets`: [`mf_data::stratified_split`] for classes,
/// [`mf_data::shuffle_split`] for values.
pub fn split_indices(targets: &Targets, val_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    match targets {
        Targets::Classes { labels, .. } => mf_data::stratified_split(labels, val_fraction, seed),
        Targets::Values(v) => mf_data::shuffle_split(v.nrows(), val_fraction, seed),
    }
}

/// The series of `split` as the models take them: missing values inside a series interpolated linearly, zeros
/// after each series' end; a value beyond the range of f32 or an empty series is refused, naming the series.
pub fn sequences(split: &Split) -> Result<Sequences, LabError> {
    let filled;
    let split = if split.n_missing() > 0 {
        filled = split.fill_missing(FillMissing::Linear);
        &filled
    } else {
        split
    };
    let (mut x, lengths) = split.to_ndarray();
    // The models compute in f32: a value beyond its range (about 3.4e38) would enter as infinity.
    for (i, &len) in lengths.iter().enumerate() {
        let series = x.index_axis(ndarray::Axis(0), i);
        if let Some((t, _)) = series
            .outer_iter()
            .take(len)
            .enumerate()
            .find(|(_, row)| row.iter().any(|v| v.is_infinite()))
        {
            return Err(LabError::InvalidData(format!(
                "series {}, step {}: a value beyond the range of f32 (about ±3.4e38), in which the models \
                 compute; scale the data first",
                i + 1,
                t + 1
            )));
        }
    }
    // Values after each series' end are never read by the models; zeros keep them finite.
    x.mapv_inplace(|v| if v.is_nan() { 0.0 } else { v });
    if let Some(i) = lengths.iter().position(|&l| l == 0) {
        return Err(LabError::InvalidData(format!("series {} is empty", i + 1)));
    }
    Ok(Sequences::new(x, lengths)?)
}

fn part(ds: &Dataset, split: &Split) -> Result<Part, LabError> {
    let seqs = sequences(split)?;
    let targets = match ds.task() {
        TaskKind::Classification { classes } => Targets::Classes {
            labels: ds.encoded_labels(split).ok_or_else(|| {
                LabError::InvalidData("a label is outside the data set's class list".into())
            })?,
            n_classes: classes.len(),
        },
        TaskKind::Regression => {
            let t = split
                .targets()
                .ok_or_else(|| LabError::InvalidData("regression split without targets".into()))?;
            if let Some(i) = t.iter().position(|v| !v.is_finite()) {
                return Err(LabError::InvalidData(format!(
                    "target of series {} is not finite ({})",
                    i + 1,
                    t[i]
                )));
            }
            let n = t.len();
            Targets::Values(
                Array2::from_shape_vec((n, 1), t).expect("n targets fill an (n, 1) array"),
            )
        }
    };
    Ok(Part { seqs, targets })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_beyond_the_range_of_f32_is_refused_naming_split_series_and_step() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("Big");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("Big_TRAIN.tsv"), "1\t0.5\t0.2\n2\t0.1\t0.3\n").unwrap();
        std::fs::write(sub.join("Big_TEST.tsv"), "1\t0.5\t0.2\n2\t0.1\t1e39\n").unwrap();
        let ds = load_dataset(dir.path(), "Big").unwrap();
        let e = Task::from_dataset(&ds).unwrap_err().to_string();
        assert!(
            e.starts_with("Big: test split: series 2, step 2: a value beyond the range of f32"),
            "{e}"
        );
        // 3e38 still fits.
        std::fs::write(sub.join("Big_TEST.tsv"), "1\t0.5\t0.2\n2\t0.1\t3e38\n").unwrap();
        let ds = load_dataset(dir.path(), "Big").unwrap();
        assert!(Task::from_dataset(&ds).is_ok());
    }

    #[test]
    fn generated_sets_load_without_a_data_directory() {
        let nowhere = Path::new("/nonexistent/data/dir");
        for (name, _) in GENERATED {
            let ds = load_dataset(nowhere, name).unwrap();
            let task = Task::from_dataset(&ds).unwrap();
            assert!(!task.train.is_empty() && !task.test().unwrap().is_empty());
            assert_eq!(task.train.seqs.n_inputs(), 1);
        }
        let sc = Task::from_dataset(&load_dataset(nowhere, "synthetic-control").unwrap()).unwrap();
        assert_eq!(sc.metric, Metric::Accuracy);
        assert_eq!(sc.classes.len(), 6);
        assert_eq!((sc.train.len(), sc.test().unwrap().len()), (300, 300));
        // Z-normalised per series, as the UCR file is.
        let s0: Vec<f32> = sc.train.seqs.series(0).iter().copied().collect();
        let mean = s0.iter().sum::<f32>() / 60.0;
        let var = s0.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 60.0;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "{mean} {var}"
        );
        let mg =
            Task::from_dataset(&load_dataset(nowhere, "mackey-glass-windows").unwrap()).unwrap();
        assert_eq!(mg.metric, Metric::Rmse);
    }

    #[test]
    fn a_missing_set_names_the_directory_and_the_generated_alternatives() {
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", load_dataset(dir.path(), "Nope").unwrap_err());
        assert!(err.contains("Nope"), "{err}");
        assert!(err.contains("synthetic-control"), "{err}");
        assert!(
            err.ends_with("`mf data list` shows the data sets found"),
            "{err}"
        );
        let err = load_dataset(dir.path(), "ecg5000").unwrap_err().to_string();
        assert!(
            err.starts_with("data set ecg5000 not found under")
                && err.ends_with("`mf data fetch ECG5000` downloads it"),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_named_without_the_download_hint() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("Bad");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("Bad_TRAIN.ts"),
            "@classLabel true a\n@data\n1,2:a\n1,x:a\n",
        )
        .unwrap();
        let err = load_dataset(dir.path(), "Bad").unwrap_err().to_string();
        assert!(err.starts_with("loading data set Bad: "), "{err}");
        assert!(err.contains("Bad_TRAIN.ts:4"), "{err}");
        assert!(
            !err.contains("generated sets") && !err.contains("mf data fetch"),
            "{err}"
        );
    }

    #[test]
    fn the_fit_validation_split_is_stratified_and_seeded() {
        let ds = load_dataset(Path::new("."), "synthetic-control").unwrap();
        let task = Task::from_dataset(&ds).unwrap();
        let (fit, val) = task.fit_val(0.2, 7);
        assert_eq!((fit.len(), val.len()), (240, 60));
        let Targets::Classes { labels, .. } = &val.targets else {
            panic!("classes expected")
        };
        for c in 0..6 {
            assert_eq!(labels.iter().filter(|&&l| l == c).count(), 10);
        }
        let (fit2, _) = task.fit_val(0.2, 7);
        assert_eq!(fit.targets, fit2.targets);
        assert_eq!(fit.seqs.x, fit2.seqs.x);
    }

    #[test]
    fn missing_values_are_interpolated_and_padding_is_zero() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("Tiny");
        std::fs::create_dir_all(&d).unwrap();
        let ts = "@problemName Tiny\n@timeStamps false\n@univariate true\n@equalLength false\n\
                  @classLabel true a b\n@data\n1,?,3:a\n1,2:b\n";
        std::fs::write(d.join("Tiny_TRAIN.ts"), ts).unwrap();
        let ds = load_dataset(dir.path(), "Tiny").unwrap();
        let task = Task::from_dataset(&ds).unwrap();
        assert!(task.test.is_none());
        assert!(task
            .test()
            .unwrap_err()
            .to_string()
            .contains("no test split"));
        let x = &task.train.seqs.x;
        assert_eq!(x[[0, 1, 0]], 2.0);
        assert_eq!(x[[1, 2, 0]], 0.0);
        assert_eq!(task.train.seqs.lengths, vec![3, 2]);
    }
}
