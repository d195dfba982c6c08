//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading, fetching or generating data sets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// Malformed text input. `path` is `<bytes>` when parsing from memory; `line` is 1-based.
    #[error("{path}:{line}: {msg}")]
    Parse {
        /// File the text came from, or `<bytes>`.
        path: String,
        /// 1-based line number of the offending line (the last line for end-of-input errors).
        line: usize,
        /// What was found and what was expected.
        msg: String,
    },
    /// An I/O failure on a file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No `<Name>_TRAIN.<ts|tsv|arff>` under the data directory.
    #[error("data set {name} not found under {} (expected {name}/{name}_TRAIN.ts, .tsv or .arff)", dir.display())]
    NotFound {
        /// Data set name.
        name: String,
        /// Data directory searched.
        dir: PathBuf,
    },
    /// One split of a data set exists in two formats that may hold different data.
    #[error(
        "data set {name}: {} exist for the same split and may differ; remove or rename all but one",
        paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and ")
    )]
    Ambiguous {
        /// Data set name.
        name: String,
        /// The competing files, in the order `.ts`, `.tsv`, `.arff`.
        paths: Vec<PathBuf>,
    },
    /// Downloading or unpacking an archive failed.
    #[error("download of {url} failed: {msg}")]
    Download {
        /// The archive URL.
        url: String,
        /// What went wrong.
        msg: String,
    },
    /// The splits of one data set disagree, or a value does not fit the Arrow layout.
    #[error("invalid data set {name}: {msg}")]
    Invalid {
        /// Data set name.
        name: String,
        /// What is inconsistent.
        msg: String,
    },
    /// Reading or writing the Arrow IPC cache failed.
    #[error("arrow ipc {}: {msg}", path.display())]
    Ipc {
        /// The IPC file.
        path: PathBuf,
        /// The Arrow error, as text.
        msg: String,
    },
    /// A tabular data file (Parquet, Arrow IPC, or a training/test pair given by path) that cannot
    /// be read as series. `row` is 1-based over the whole file.
    #[error("{}: {}{msg}", path.display(), locate(*row, column.as_deref()))]
    Table {
        /// The file (or directory) involved.
        path: PathBuf,
        /// 1-based row (series) of the offending value, when there is one.
        row: Option<usize>,
        /// Name of the offending column, when there is one.
        column: Option<String>,
        /// What was found and what was expected.
        msg: String,
    },
    /// A signal holds a NaN or an infinite value.
    #[error("signal {name}: {part} at step {step}, channel {channel} is {value}, not finite")]
    NonFinite {
        /// The signal's name.
        name: String,
        /// `inputs` or `targets`.
        part: &'static str,
        /// 0-based step (row) of the value.
        step: usize,
        /// 0-based channel (column) of the value.
        channel: usize,
        /// The value itself.
        value: f64,
    },
    /// A generator's recursion diverged on every draw it was allowed.
    #[error("{name} diverged on all {attempts} draws from seed {seed} (the last at step {step})")]
    Diverged {
        /// The generator.
        name: &'static str,
        /// The user's seed.
        seed: u64,
        /// How many draws were tried.
        attempts: usize,
        /// Step at which the last draw left its bound.
        step: usize,
    },
    /// A generator or split was given parameters it cannot honour.
    #[error("invalid parameter {name}: {msg}")]
    Param {
        /// Parameter name.
        name: &'static str,
        /// Why it was rejected.
        msg: String,
    },
}

/// `row 3, column `dim_0`: ` (either part may be absent) for [`DataError::Table`].
fn locate(row: Option<usize>, column: Option<&str>) -> String {
    match (row, column) {
        (Some(r), Some(c)) => format!("row {r}, column `{c}`: "),
        (Some(r), None) => format!("row {r}: "),
        (None, Some(c)) => format!("column `{c}`: "),
        (None, None) => String::new(),
    }
}

impl DataError {
    pub(crate) fn parse(path: &str, line: usize, msg: impl Into<String>) -> Self {
        DataError::Parse {
            path: path.to_string(),
            line,
            msg: msg.into(),
        }
    }

    /// Replaces the `<bytes>` placeholder of a parse error by a file name.
    pub(crate) fn with_path(self, p: &std::path::Path) -> Self {
        match self {
            DataError::Parse { line, msg, .. } => DataError::Parse {
                path: p.display().to_string(),
                line,
                msg,
            },
            DataError::Io { source, .. } => DataError::Io {
                path: p.to_path_buf(),
                source,
            },
            e => e,
        }
    }
}
