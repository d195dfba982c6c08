//! Bring-your-own data: training/test pairs in CSV, Parquet and Arrow IPC, read into the same
//! [`Split`]s as the archive formats, found by path, and stored as `.ts` so that the by-name loader
//! reads them.
//!
//! A pair is `<NAME>_TRAIN.<ext>` and `<NAME>_TEST.<ext>` side by side, `<ext>` one of `csv`,
//! `parquet` (or `pq`), `arrow`, `feather`, `ipc` (and the archive formats `ts`, `tsv`, `arff`). One
//! column says what is predicted: `label` (classification) or `target` (regression, a number);
//! the names are [`TableOptions`]'. Labels are trimmed of surrounding white space, as the `.ts`
//! reader trims them.
//!
//! - **CSV, wide**: a header row, the label or target column, and one column per time step named
//!   `t<k>` (univariate): `t0`, `t1`, ... ordered by `k` whatever their order in the file, from
//!   `t0` to the last step with none missing or repeated (`t1` and `t01` are one step); any other
//!   column is an error. Multivariate: every value column is named `dim<k>_<t>` (`dim0_0`,
//!   `dim0_1`, ..., `dim1_0`, ...), dimension `k` from 0, steps ordered by `t`; every dimension
//!   has the same steps. Trailing empty cells pad shorter series (as UCR `.tsv` pads them), so a
//!   series is as long as its last value present in any dimension.
//! - **CSV, long**: columns `series` (any text naming the series), `time` (a number), the label
//!   or target (the same on every row of a series, else an error naming the row), and one value
//!   column per dimension, in column order (e.g. `value`, or `dim_0`, `dim_1`). Rows may come in
//!   any order: series keep the order of their first row, steps are sorted by `time`, and a time
//!   repeated within a series is an error. A file is long when its header has both `series` and
//!   `time`.
//! - **Parquet and Arrow IPC** (the file format, as pandas' `to_parquet` / `to_feather` and polars
//!   write them; an IPC stream is read too): the label or target column and one list column per
//!   dimension (`list`, `large_list` or `fixed_size_list` of floats or integers), in schema order.
//!   pandas' index columns (`__index_level_0__`) are ignored; any other column is an error. Parquet
//!   is read uncompressed, snappy-compressed (pandas' default) or zstd-compressed (polars'); Arrow
//!   IPC uncompressed or LZ4 (Feather's default).
//!
//! Missing values follow the `.ts` reader: an empty cell, `?`, `NaN` (any case) or a null element is
//! NaN inside the series, filled later by [`Split::fill_missing`]; an infinite value is an error,
//! and so is a series with every value missing in every dimension (in every format, naming the
//! file and the series' number). Every error names the file, the line (CSV) or row (Parquet, IPC),
//! and the column.

mod columnar;
mod csv;
mod store;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

pub use columnar::split_from_batches;
pub(crate) use columnar::{is_number, is_pandas_index, numbers, read_ipc_batches, read_parquet};
pub use csv::parse_csv;
pub use store::{import_dataset, same_data, write_ts};

use crate::load::read_split;
use crate::parse::Format;
use crate::{DataError, Dataset, Split};

/// The tabular formats of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableFormat {
    /// Comma-separated text with a header row, wide or long.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC (Feather v2).
    Ipc,
}

impl TableFormat {
    /// The format of a file extension (case-insensitive): `csv`; `parquet`, `pq`; `arrow`,
    /// `feather`, `ipc`.
    pub fn from_ext(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "csv" => Some(TableFormat::Csv),
            "parquet" | "pq" => Some(TableFormat::Parquet),
            "arrow" | "feather" | "ipc" => Some(TableFormat::Ipc),
            _ => None,
        }
    }
}

/// Every extension a data set given by path may have, tabular formats first.
pub const DATA_EXTENSIONS: [&str; 9] = [
    "csv", "parquet", "pq", "arrow", "feather", "ipc", "ts", "tsv", "arff",
];

/// Which columns of a tabular file say what is predicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOptions {
    /// The class label column (classification). Default `label`.
    pub label: String,
    /// The target column (regression). Default `target`.
    pub target: String,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            label: crate::LABEL_COLUMN.to_string(),
            target: crate::TARGET_COLUMN.to_string(),
        }
    }
}

impl TableOptions {
    /// Names the class label column (default `label`).
    pub fn label(mut self, name: impl Into<String>) -> Self {
        self.label = name.into();
        self
    }

    /// Names the regression target column (default `target`).
    pub fn target(mut self, name: impl Into<String>) -> Self {
        self.target = name.into();
        self
    }
}

/// The column saying what is predicted, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Label(usize),
    Target(usize),
}

impl Answer {
    pub(crate) fn index(self) -> usize {
        match self {
            Answer::Label(i) | Answer::Target(i) => i,
        }
    }
}

/// Finds exactly one of the label or target columns among `names`.
pub(crate) fn find_answer(names: &[&str], opts: &TableOptions) -> Result<Answer, String> {
    let label = names.iter().position(|n| *n == opts.label);
    let target = names.iter().position(|n| *n == opts.target);
    match (label, target) {
        (Some(l), None) => Ok(Answer::Label(l)),
        (None, Some(t)) => Ok(Answer::Target(t)),
        (Some(_), Some(_)) => Err(format!(
            "both a `{}` and a `{}` column: keep one (a label means classification, a target regression)",
            opts.label, opts.target
        )),
        (None, None) => Err(format!(
            "no `{}` column (classification) or `{}` column (regression); the columns are {}",
            opts.label,
            opts.target,
            clip_list(names)
        )),
    }
}

fn clip_list(names: &[&str]) -> String {
    let shown: Vec<String> = names.iter().take(8).map(|n| format!("`{n}`")).collect();
    if names.len() > 8 {
        format!("{}, ... ({} in all)", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}

/// One cell as a value, with the `.ts` reader's rule: empty, `?` and `NaN` (any case) are missing
/// (NaN); an infinite value is an error. The error is the message without its place.
pub(crate) fn parse_cell(tok: &str) -> Result<f64, String> {
    let t = tok.trim();
    if t.is_empty() || t == "?" || t.eq_ignore_ascii_case("nan") {
        return Ok(f64::NAN);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("non-finite value {t:?}")),
        Err(_) => Err(format!(
            "expected a number, empty or '?', found {:?}",
            clip(t)
        )),
    }
}

pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// A [`DataError::Table`] about `path` as a whole.
pub(crate) fn table_err(path: &Path, msg: impl Into<String>) -> DataError {
    DataError::Table {
        path: path.to_path_buf(),
        row: None,
        column: None,
        msg: msg.into(),
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads one split from a file of any supported format, chosen by its extension: the tabular
/// formats of this module or the archive formats of [`read_split`].
pub fn read_table(path: &Path, opts: &TableOptions) -> Result<Split, DataError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let Some(format) = TableFormat::from_ext(ext) else {
        if Format::from_ext(ext).is_some() {
            return read_split(path);
        }
        return Err(table_err(
            path,
            format!(
                "unknown extension: expected one of .{}",
                DATA_EXTENSIONS.join(", .")
            ),
        ));
    };
    let raw = match format {
        TableFormat::Csv => {
            let f = File::open(path).map_err(io_err(path))?;
            parse_csv(BufReader::with_capacity(1 << 16, f), opts).map_err(|e| e.with_path(path))?
        }
        TableFormat::Parquet | TableFormat::Ipc => columnar::read_columnar(path, format, opts)?,
    };
    Split::from_raw(&raw).map_err(|e| match e {
        DataError::Invalid { msg, .. } => table_err(path, msg),
        e => e,
    })
}

/// A training/test pair found by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetFiles {
    /// The data set's name: the file name before `_TRAIN`.
    pub name: String,
    /// The training file.
    pub train: PathBuf,
    /// The test file beside it.
    pub test: PathBuf,
}

/// Whether a `--dataset` value is a path rather than a name: it holds a path separator or ends in
/// one of [`DATA_EXTENSIONS`]. (A directory in the current directory is `./Dir`.)
pub fn is_dataset_path(s: &str) -> bool {
    s.contains('/')
        || s.contains(std::path::MAIN_SEPARATOR)
        || Path::new(s)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| DATA_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The name of a training file `<NAME>_TRAIN.<ext>` with a known extension, or why not.
fn train_name(file: &Path) -> Result<(String, String), String> {
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !DATA_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(ext)) {
        return Err(format!(
            "unknown extension: expected <NAME>_TRAIN.<ext> with <ext> one of {}",
            DATA_EXTENSIONS.join(", ")
        ));
    }
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if let Some(name) = stem.strip_suffix("_TRAIN").filter(|n| !n.is_empty()) {
        return Ok((name.to_string(), ext.to_string()));
    }
    if let Some(name) = stem.strip_suffix("_TEST").filter(|n| !n.is_empty()) {
        return Err(format!(
            "this is a test file: give the training file {name}_TRAIN.{ext}"
        ));
    }
    Err(format!(
        "expected a training file named <NAME>_TRAIN.{ext} (its test file <NAME>_TEST.{ext} beside it)"
    ))
}

/// Finds the pair a path names: a training file `<NAME>_TRAIN.<ext>` (the test file
/// `<NAME>_TEST.<ext>` beside it), or a directory holding exactly one such training file. The
/// test file must exist.
pub fn resolve_dataset_path(path: &Path) -> Result<DatasetFiles, DataError> {
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    let train = if meta.is_dir() {
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io_err(path))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file() && train_name(p).is_ok())
            .collect();
        found.sort();
        match found.len() {
            1 => found.pop().expect("one file"),
            0 => {
                return Err(table_err(
                    path,
                    format!(
                        "no training file <NAME>_TRAIN.<ext> in this directory (<ext> one of {})",
                        DATA_EXTENSIONS.join(", ")
                    ),
                ))
            }
            _ => {
                let names: Vec<String> = found
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                return Err(table_err(
                    path,
                    format!(
                        "{} training files in this directory ({}): give one of them",
                        names.len(),
                        names.join(", ")
                    ),
                ));
            }
        }
    } else {
        path.to_path_buf()
    };
    let (name, ext) = train_name(&train).map_err(|m| table_err(&train, m))?;
    let test = train.with_file_name(format!("{name}_TEST.{ext}"));
    if !test.is_file() {
        return Err(table_err(
            &test,
            format!(
                "test file not found beside the training file {} (a data set given by path is a \
                 {name}_TRAIN.{ext} and {name}_TEST.{ext} pair)",
                train.display()
            ),
        ));
    }
    Ok(DatasetFiles { name, train, test })
}

/// Loads the pair a path names (see [`resolve_dataset_path`]) as a data set named by the file
/// name before `_TRAIN`. Nothing about the set is assumed from the paper's tables.
pub fn load_path(path: &Path, opts: &TableOptions) -> Result<Dataset, DataError> {
    let files = resolve_dataset_path(path)?;
    let train = read_table(&files.train, opts)?;
    let test = read_table(&files.test, opts)?;
    Dataset::new(files.name, train, Some(test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_follow_the_ts_missing_value_rule() {
        for t in ["", " ", "?", "NaN", "nan", "NAN"] {
            assert!(parse_cell(t).unwrap().is_nan(), "{t:?}");
        }
        // The same text through Rust's own parser: the value is bit for bit the same.
        for t in ["0.1", "-1.5e-7", "3", "-0", "1e300"] {
            assert_eq!(
                parse_cell(t).unwrap().to_bits(),
                t.parse::<f64>().unwrap().to_bits()
            );
        }
        assert!(parse_cell("inf").unwrap_err().contains("non-finite"));
        assert!(parse_cell("1,5").unwrap_err().contains("\"1,5\""));
    }

    #[test]
    fn a_value_is_a_path_when_it_has_a_separator_or_a_data_extension() {
        assert!(is_dataset_path("data/X_TRAIN.csv"));
        assert!(is_dataset_path("X_TRAIN.parquet"));
        assert!(is_dataset_path("./mine"));
        assert!(is_dataset_path("X_TRAIN.TS"));
        assert!(!is_dataset_path("GunPoint"));
        assert!(!is_dataset_path("synthetic-control"));
    }

    #[test]
    fn only_training_files_with_known_extensions_name_a_pair() {
        assert_eq!(
            train_name(Path::new("d/Gun_Point_TRAIN.csv")).unwrap(),
            ("Gun_Point".to_string(), "csv".to_string())
        );
        assert!(train_name(Path::new("X_TEST.csv"))
            .unwrap_err()
            .contains("X_TRAIN.csv"));
        assert!(train_name(Path::new("X.csv"))
            .unwrap_err()
            .contains("_TRAIN"));
        assert!(train_name(Path::new("_TRAIN.csv")).is_err());
        assert!(train_name(Path::new("X_TRAIN.xlsx"))
            .unwrap_err()
            .contains("unknown extension"));
    }

    #[test]
    fn exactly_one_of_label_and_target_is_required() {
        let o = TableOptions::default();
        assert_eq!(find_answer(&["a", "label"], &o), Ok(Answer::Label(1)));
        assert_eq!(find_answer(&["target", "a"], &o), Ok(Answer::Target(0)));
        assert!(find_answer(&["label", "target"], &o).is_err());
        let e = find_answer(&["a", "b"], &o).unwrap_err();
        assert!(e.contains("`label`") && e.contains("`a`, `b`"), "{e}");
        let o = TableOptions::default().label("class");
        assert_eq!(find_answer(&["class", "label"], &o), Ok(Answer::Label(0)));
    }
}
