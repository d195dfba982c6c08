//! The paper's ten data sets (Table I) and a check of the copies on disk against it.

use std::path::Path;

use crate::load::{find_split_file, load_dataset};
use crate::{DataError, Dataset, Format};

/// What the paper (Table I) says about one data set, and where to get it.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetInfo {
    /// Archive name, e.g. `ECG5000`.
    pub name: &'static str,
    /// Training series in the paper.
    pub n_train: usize,
    /// Test series in the paper.
    pub n_test: usize,
    /// Shortest series length.
    pub min_len: usize,
    /// Longest series length.
    pub max_len: usize,
    /// Number of classes; `None` for regression.
    pub n_classes: Option<usize>,
    /// Dimensions per time step.
    pub n_dims: usize,
    /// Format of the copies used here.
    pub format: Format,
    /// Default archive URL (a zip holding `<Name>_TRAIN.*` and `<Name>_TEST.*`).
    pub url: String,
    /// Known differences between the paper and the archive.
    pub note: &'static str,
}

impl DatasetInfo {
    fn of(f: &mf_paper::DatasetFacts) -> DatasetInfo {
        let url = match f.archive {
            mf_paper::Archive::Ucr => {
                format!(
                    "https://www.timeseriesclassification.com/aeon-toolkit/{}.zip",
                    f.name
                )
            }
            mf_paper::Archive::Tser => {
                format!("https://zenodo.org/records/3902694/files/{}.zip", f.name)
            }
        };
        DatasetInfo {
            name: f.name,
            n_train: f.n_train,
            n_test: f.n_test,
            min_len: f.min_len,
            max_len: f.max_len,
            n_classes: f.n_classes,
            n_dims: f.n_dims,
            format: Format::from_ext(f.file_ext).expect("the paper's sets come as .ts or .tsv"),
            url,
            note: f.note,
        }
    }
}

/// The ten data sets of the paper's Table I, in its order (the facts come from [`mf_paper::DATASETS`]).
///
/// Classification sets come from the UCR/UEA archive (`https://www.timeseriesclassification.com/aeon-toolkit/<Name>.zip`).
/// The flood-modelling sets come from the Monash TSER archive, whose files are on Zenodo record 3902694
/// (`https://zenodo.org/records/3902694/files/<Name>.zip`); every URL can be overridden in
/// [`crate::fetch`].
pub fn paper_datasets() -> Vec<DatasetInfo> {
    mf_paper::DATASETS.iter().map(DatasetInfo::of).collect()
}

/// The registry entry named `name`, matched by the paper's one naming rule ([`mf_paper::normalise`]:
/// `ecg5000` and `synthetic-control` name ECG5000 and SyntheticControl).
pub fn paper_dataset(name: &str) -> Option<DatasetInfo> {
    mf_paper::dataset(name).map(DatasetInfo::of)
}

/// The true shape of a data set as loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// Training series.
    pub n_train: usize,
    /// Test series; `None` when the test file is absent.
    pub n_test: Option<usize>,
    /// Shortest series length over both splits.
    pub min_len: usize,
    /// Longest series length over both splits.
    pub max_len: usize,
    /// Number of classes; `None` for regression.
    pub n_classes: Option<usize>,
    /// Dimensions per time step.
    pub n_dims: usize,
    /// Missing values inside series, both splits.
    pub n_missing: usize,
    /// Format of the training file.
    pub format: Option<Format>,
}

impl Shape {
    /// The shape of a loaded data set.
    pub fn of(d: &Dataset) -> Shape {
        let (min_len, max_len) = d.length_range();
        Shape {
            n_train: d.train.n_series(),
            n_test: d.test.as_ref().map(|t| t.n_series()),
            min_len,
            max_len,
            n_classes: d.classes().map(<[String]>::len),
            n_dims: d.n_dims(),
            n_missing: d.train.n_missing() + d.test.as_ref().map_or(0, |t| t.n_missing()),
            format: None,
        }
    }
}

/// One data set's verification result.
#[derive(Debug)]
pub struct VerifyEntry {
    /// The registry entry.
    pub info: DatasetInfo,
    /// The shape found on disk, or the error that prevented loading it.
    pub found: Result<Shape, DataError>,
    /// Every difference from the registry, one sentence each.
    pub warnings: Vec<String>,
}

/// The result of [`verify`].
#[derive(Debug)]
pub struct VerifyReport {
    /// One entry per registry data set, in Table I order.
    pub entries: Vec<VerifyEntry>,
}

impl VerifyReport {
    /// All warnings, prefixed by the data set name.
    pub fn warnings(&self) -> Vec<String> {
        self.entries
            .iter()
            .flat_map(|e| {
                e.warnings
                    .iter()
                    .map(move |w| format!("{}: {w}", e.info.name))
            })
            .collect()
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.entries {
            match &e.found {
                Ok(s) => writeln!(
                    f,
                    "{:<16} train {:>5} test {:>5} len {}-{} classes {} dims {} missing {}",
                    e.info.name,
                    s.n_train,
                    s.n_test.map_or("-".to_string(), |n| n.to_string()),
                    s.min_len,
                    s.max_len,
                    s.n_classes
                        .map_or("regression".to_string(), |k| k.to_string()),
                    s.n_dims,
                    s.n_missing
                )?,
                Err(err) => writeln!(f, "{:<16} not loaded: {err}", e.info.name)?,
            }
            for w in &e.warnings {
                writeln!(f, "  warning: {w}")?;
            }
        }
        Ok(())
    }
}

/// Compares the shape of a registry entry on disk with Table I: every difference of the data themselves
/// ([`data_differences`]), then the file's format and missing values.
pub fn compare(info: &DatasetInfo, s: &Shape) -> Vec<String> {
    let mut w = data_differences(info, s);
    if let Some(f) = s.format {
        if f != info.format {
            w.push(format!(
                "format .{} on disk, expected .{}",
                f.ext(),
                info.format.ext()
            ));
        }
    }
    if s.n_missing > 0 {
        w.push(format!("{} missing values inside series", s.n_missing));
    }
    w
}

/// The differences of the data in `s` from what Table I says of `info` (series counts, lengths, task and
/// classes, dimensions): when there is one, the data are not the paper's and its published scores do not apply.
/// The file's format and missing values are not differences of the data.
pub fn data_differences(info: &DatasetInfo, s: &Shape) -> Vec<String> {
    let mut w = Vec::new();
    let diff = |w: &mut Vec<String>, what: &str, paper: String, found: String| {
        if paper != found {
            w.push(format!("{what} {found} on disk, paper says {paper}"));
        }
    };
    diff(
        &mut w,
        "train series",
        info.n_train.to_string(),
        s.n_train.to_string(),
    );
    match s.n_test {
        Some(n) => diff(
            &mut w,
            "test series",
            info.n_test.to_string(),
            n.to_string(),
        ),
        None => w.push(format!(
            "test split missing (paper: {} series)",
            info.n_test
        )),
    }
    diff(
        &mut w,
        "length range",
        format!("{}-{}", info.min_len, info.max_len),
        format!("{}-{}", s.min_len, s.max_len),
    );
    // Regression sets have no classes: say so in words, not as an empty option.
    let classes = |n: Option<usize>| n.map_or("none (regression)".to_string(), |n| n.to_string());
    diff(
        &mut w,
        "classes",
        classes(info.n_classes),
        classes(s.n_classes),
    );
    diff(
        &mut w,
        "dimensions",
        info.n_dims.to_string(),
        s.n_dims.to_string(),
    );
    w
}

/// Loads every registry data set found under `data_dir` and reports each difference from
/// Table I as a warning, with the true shape of each set; [`Dataset::warnings`] (classes found
/// only in the test split) are warnings too.
pub fn verify(data_dir: &Path) -> VerifyReport {
    let entries = paper_datasets()
        .into_iter()
        .map(|info| {
            let mut data_warnings = Vec::new();
            let found = load_dataset(data_dir, info.name).map(|d| {
                data_warnings = d.warnings();
                let mut s = Shape::of(&d);
                s.format = find_split_file(data_dir, info.name, "TRAIN").and_then(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .and_then(Format::from_ext)
                });
                s
            });
            let warnings = match &found {
                Ok(s) => [compare(&info, s), data_warnings].concat(),
                Err(e) => vec![format!("not loaded: {e}")],
            };
            VerifyEntry {
                info,
                found,
                warnings,
            }
        })
        .collect();
    VerifyReport { entries }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_reports_each_difference_from_table_one() {
        let info = paper_dataset("FloodModeling2").unwrap();
        let mut s = Shape {
            n_train: 389,
            n_test: Some(167),
            min_len: 266,
            max_len: 266,
            n_classes: None,
            n_dims: 1,
            n_missing: 0,
            format: Some(Format::Ts),
        };
        assert!(compare(&info, &s).is_empty());
        s.n_train = 466;
        s.n_test = None;
        s.max_len = 270;
        s.n_classes = Some(2);
        s.format = Some(Format::Arff);
        s.n_missing = 3;
        let w = compare(&info, &s);
        assert_eq!(w.len(), 6, "{w:?}");
        assert!(w[0].contains("466") && w[0].contains("389"));
        assert!(w[1].contains("test split missing"));
        // Classes in words, never as Rust's `Some(2)` / `None`.
        let classes = w.iter().find(|l| l.starts_with("classes")).unwrap();
        assert_eq!(classes, "classes 2 on disk, paper says none (regression)");
    }

    #[test]
    fn the_registry_lists_the_ten_paper_data_sets_with_urls() {
        let all = paper_datasets();
        assert_eq!(all.len(), 10);
        assert_eq!(all.iter().filter(|d| d.n_classes.is_none()).count(), 3);
        assert!(all
            .iter()
            .all(|d| d.url.ends_with(&format!("{}.zip", d.name))));
    }

    #[test]
    fn verify_warns_of_classes_found_only_in_the_test_split() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("Coffee");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("Coffee_TRAIN.tsv"), "0\t1\t2\n1\t3\t4\n").unwrap();
        std::fs::write(sub.join("Coffee_TEST.tsv"), "0.0\t1\t2\n2\t3\t4\n").unwrap();
        let r = verify(dir.path());
        let coffee = r.entries.iter().find(|e| e.info.name == "Coffee").unwrap();
        assert!(
            coffee.warnings.contains(
                &"1 class only in the test split, never in the training split: 2".to_string()
            ),
            "{:?}",
            coffee.warnings
        );
    }

    #[test]
    fn verify_on_an_empty_directory_warns_for_every_set() {
        let dir = tempfile::tempdir().unwrap();
        let r = verify(dir.path());
        assert_eq!(r.warnings().len(), 10);
        assert!(r
            .entries
            .iter()
            .all(|e| matches!(e.found, Err(DataError::NotFound { .. }))));
    }
}
