//! What the dashboard shows about data: the catalog of data sets (generated, then those in the data directory)
//! with a few example series per class, and a reservoir's state trajectories for the Live view.

use std::path::Path;

use mf_lab::data::{find_split_file, paper_datasets, Dataset, TaskKind};

use crate::dashboard::{ClassExamples, DatasetSummary, ReservoirTrace};
use mf_lab::tasks::{load_dataset, GENERATED};

/// Example series kept per class (or in all, for regression).
const EXAMPLES: usize = 3;

/// A summary of `ds` with up to three series of its first dimension per class.
pub fn summary(ds: &Dataset, source: &str) -> DatasetSummary {
    let (min, max) = ds.length_range();
    let examples = match ds.task() {
        TaskKind::Classification { classes } => {
            let labels = ds.encoded_labels(&ds.train).unwrap_or_default();
            classes
                .iter()
                .enumerate()
                .map(|(c, name)| ClassExamples {
                    label: name.clone(),
                    series: labels
                        .iter()
                        .enumerate()
                        .filter(|(_, &l)| l == c)
                        .take(EXAMPLES)
                        .map(|(i, _)| ds.train.series(i, 0).to_vec())
                        .collect(),
                })
                .collect()
        }
        TaskKind::Regression => vec![ClassExamples {
            label: "series".into(),
            series: (0..ds.train.n_series().min(EXAMPLES))
                .map(|i| ds.train.series(i, 0).to_vec())
                .collect(),
        }],
    };
    DatasetSummary {
        name: ds.name.clone(),
        source: source.to_string(),
        n_train: ds.train.n_series(),
        n_test: ds.test.as_ref().map_or(0, |t| t.n_series()),
        length: (min, max),
        n_inputs: ds.n_dims(),
        n_classes: ds.classes().map(<[String]>::len),
        examples,
        error: None,
    }
}

/// The generated data sets, then the paper's data sets found in `data_dir`. A set that is present but does not
/// load is listed with the reason in [`DatasetSummary::error`] (the dashboard owns the screen, so a message on
/// stderr would not be seen).
pub fn catalog(data_dir: &Path) -> Vec<DatasetSummary> {
    let unloadable = |name: &str, source: String, e: &dyn std::fmt::Display| DatasetSummary {
        name: name.to_string(),
        source,
        error: Some(e.to_string()),
        ..DatasetSummary::default()
    };
    let mut out = Vec::new();
    for (name, _) in GENERATED {
        match load_dataset(data_dir, name) {
            Ok(ds) => out.push(summary(&ds, "generated")),
            Err(e) => out.push(unloadable(name, "generated".into(), &e)),
        }
    }
    for (name, _) in mf_lab::sequence::SEQUENCE_TASKS {
        out.push(sequence_summary(name));
    }
    for info in paper_datasets() {
        if find_split_file(data_dir, info.name, "TRAIN").is_none() {
            continue;
        }
        let source = data_dir.join(info.name).display().to_string();
        match mf_lab::data::load_dataset(data_dir, info.name) {
            Ok(ds) => out.push(summary(&ds, &source)),
            Err(e) => out.push(unloadable(info.name, source, &e)),
        }
    }
    out
}

/// A sequence task as the catalog lists it: one signal (drawn for 100 units), the lengths of its training and
/// test segments in steps in place of series counts, and its first 300 steps as the example.
fn sequence_summary(name: &str) -> DatasetSummary {
    let task = mf_lab::sequence::SequenceTask::from_name(name).expect("a sequence task's name");
    match task.signal(100) {
        Ok((signal, segments)) => DatasetSummary {
            name: name.to_string(),
            source: "generated signal (counts in steps)".into(),
            n_train: segments.train().len(),
            n_test: segments.test().len(),
            length: (signal.len(), signal.len()),
            n_inputs: signal.n_inputs(),
            n_classes: None,
            examples: vec![ClassExamples {
                label: "signal".into(),
                series: vec![signal
                    .inputs()
                    .column(0)
                    .iter()
                    .take(300)
                    .copied()
                    .collect()],
            }],
            error: None,
        },
        Err(e) => DatasetSummary {
            name: name.to_string(),
            source: "generated sequence task".into(),
            error: Some(e.to_string()),
            ..DatasetSummary::default()
        },
    }
}

/// The states of five units of an MF-ESN reservoir (100 units, the MF-ESN defaults) driven by the first
/// training series of synthetic-control.
pub fn mf_trace(seed: u64) -> Option<ReservoirTrace> {
    let ds = load_dataset(Path::new("."), "synthetic-control").ok()?;
    let x = ds.train.series(0, 0).to_vec();
    let units = [0usize, 1, 2, 3, 4];
    let (cell, traces) = mf_lab::stability::mf_esn_trace(&x, &units, seed)?;
    Some(ReservoirTrace {
        title: format!(
            "MF-ESN states, synthetic-control series 1 (dt {}, gamma {}, s {})",
            cell.dt, cell.gamma, cell.s
        ),
        units: units
            .iter()
            .zip(traces)
            .map(|(u, t)| (format!("h{u}"), t))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_has_the_generated_sets_without_a_data_directory() {
        let c = catalog(Path::new("/nonexistent"));
        assert_eq!(
            c.len(),
            GENERATED.len() + mf_lab::sequence::SEQUENCE_TASKS.len()
        );
        // The sequence tasks follow, their counts in steps.
        let narma = c.iter().find(|d| d.name == "narma10").unwrap();
        assert_eq!(
            (
                narma.n_train,
                narma.n_test,
                narma.examples[0].series[0].len()
            ),
            (2000, 1000, 300)
        );
        assert_eq!(c[0].name, "synthetic-control");
        assert_eq!(c[0].n_classes, Some(6));
        assert_eq!(c[0].examples.len(), 6);
        assert!(c[0]
            .examples
            .iter()
            .all(|e| e.series.len() == 3 && e.series[0].len() == 60));
        assert_eq!(c[1].n_classes, None);
        assert!(c.iter().all(|d| d.error.is_none()));
    }

    #[test]
    fn the_catalog_lists_a_data_set_that_fails_to_load_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("Coffee")).unwrap();
        std::fs::write(dir.path().join("Coffee/Coffee_TRAIN.tsv"), "x\ty\n").unwrap();
        let c = catalog(dir.path());
        assert_eq!(
            c.len(),
            GENERATED.len() + mf_lab::sequence::SEQUENCE_TASKS.len() + 1
        );
        let coffee = c.last().unwrap();
        assert_eq!(coffee.name, "Coffee");
        let reason = coffee.error.as_deref().expect("a reason");
        assert!(!reason.is_empty());
        assert_eq!(
            Some(reason),
            mf_lab::data::load_dataset(dir.path(), "Coffee")
                .err()
                .map(|e| e.to_string())
                .as_deref()
        );
    }

    #[test]
    fn the_trace_follows_the_series_and_moves() {
        let t = mf_trace(0).unwrap();
        assert_eq!(t.units.len(), 5);
        assert!(t
            .units
            .iter()
            .all(|(_, v)| v.len() == 60 && v.iter().all(|h| h.is_finite())));
        assert!(t
            .units
            .iter()
            .any(|(_, v)| v.iter().any(|h| (h - v[0]).abs() > 1e-6)));
    }
}
