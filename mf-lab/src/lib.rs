//! Experiments with memristive-friendly networks as a library: specs, jobs, the run queue, the durable result
//! store, sharding and result tables, the bridge from data sets to model inputs, and the model seam.
//!
//! No terminal, CLI or progress-bar crate is a dependency: progress leaves through typed events ([`Event`],
//! [`JobProgress`]) and work stops through a [`CancelToken`].
//!
//! # Bird's-eye view
//!
//! Every model is a [`Model`] registered in [`models::REGISTRY`]; [`ModelKind`] is a handle on one. A [`Spec`] (TOML) lists data sets, models and grids. It expands into validation [`Job`]s
//! ([`validation_jobs`]), one per configuration, which an [`Evaluator`] runs; [`run()`] executes them on worker
//! threads and appends each finished job to a [`Store`]. When every validation job of a (data set, model) pair
//! is stored, [`protocol::select`] picks the first strictly best configuration in grid order and its final job
//! ([`Job::final_of`]) runs. [`table`] renders the paper's Table IV and Tables V-VIII from a store.
//!
//! # Results layout
//!
//! ```text
//! <results>/<first 16 hex digits of the spec hash>/
//!     spec.toml                the resolved spec (every grid written out)
//!     store.jsonl              records of unsharded runs, and the merge of shards
//!     shard-<i>-of-<n>.jsonl   records of `--shard i/n` runs
//! ```
//!
//! # Invariants
//!
//! - The library does no terminal I/O: progress leaves through [`Event`] callbacks.
//! - Every seed is a function of the spec seed and the job's names and indices ([`job_seed`]), never of
//!   execution order, thread count or sharding.
//! - A store line is never rewritten; a crash can only tear the last line, which the next open removes.
//!   [`store::repair`] (`mf store repair`) moves damaged lines to a quarantine file and copies the others, byte
//!   for byte, into a new store file.

#![forbid(unsafe_code)]

/// The data layer (`mf-data`): parsers, the data-set registry, the data directory and downloads, for front ends
/// that reach the data only through this library.
pub use mf_data as data;

pub mod eval;
pub mod export;
pub mod grid;
pub mod job;
pub mod memory;
pub mod metric;
pub mod model_export;
pub mod models;
pub mod normalise;
pub mod paper;
pub mod protocol;
pub mod provenance;
pub mod robustness;
pub mod run;
pub mod saved;
pub mod sequence;
pub mod sequence_model;
pub mod shard;
pub mod single;
pub mod spec;
pub mod stability;
pub mod store;
pub mod table;
pub mod tasks;
pub mod training;

use std::path::{Path, PathBuf};

pub use job::{
    job_seed, split_seed, validation_jobs, Evaluator, Job, JobError, JobKey, JobOutcome,
    JobProgress, JobStep, Stage,
};
pub use models::{CancelToken, Model};
pub use normalise::{InputScaling, Normalise};
pub use protocol::{select, FinalResult, Selection, SelectionState, Summary};
pub use run::{run, Control, Counts, Event, RunOptions, RunSummary};
pub use shard::{emit_slurm, merge, MergeReport, Shard, SlurmOptions};
pub use spec::{Grid, Metric, ModelKind, Params, Spec};
pub use store::{
    read_store, repair, OpenReport, Outcome, Record, Recovered, RepairReport, Store, StoreContents,
};

/// Errors of the experiment library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// The spec does not parse or has invalid values.
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// A model name that no registered model has.
    #[error("unknown model `{0}` (expected {ids})", ids = models::ids().join(", "))]
    UnknownModel(String),
    /// A hyper-parameter that the model does not have, or a value it refuses.
    #[error("{0}")]
    InvalidParams(String),
    /// A table format other than Markdown, CSV or LaTeX.
    #[error("unknown table format `{0}` (expected markdown, csv or latex)")]
    UnknownFormat(String),
    /// A configuration whose estimated memory ([`models::Configured::memory_bytes`]) exceeds what is available.
    #[error(
        "the configuration needs about {} of memory for {n_series} series of up to {max_len} steps, more than the \
         {} available ({from}); lower n_units",
        memory::bytes_text(*need),
        memory::bytes_text(*available)
    )]
    TooLarge {
        /// Estimated bytes.
        need: u64,
        /// Bytes available.
        available: u64,
        /// Where `available` comes from.
        from: String,
        /// Series fitted on.
        n_series: usize,
        /// Steps of the longest series.
        max_len: usize,
    },
    /// A shard written other than `i/n` with `i < n`.
    #[error("invalid shard `{0}` (expected i/n with 0 <= i < n)")]
    InvalidShard(String),
    /// Data that cannot become model input (an empty series, a label outside the class list, ...).
    #[error("{0}")]
    InvalidData(String),
    /// A data set without the split a job needs.
    #[error("{dataset} has no test split on disk ({dataset}_TEST.* is missing), so it cannot be scored on test")]
    NoTestSplit {
        /// The data set.
        dataset: String,
    },
    /// Loading or generating a data set failed.
    #[error(transparent)]
    Data(#[from] mf_data::DataError),
    /// A data set that is neither generated nor in the data directory, with where to get it.
    #[error("{error}; {hint}")]
    DatasetNotFound {
        /// [`mf_data::DataError::NotFound`], naming the directory searched. Not a `source`: the message already
        /// holds it, and a cause would print it twice.
        error: mf_data::DataError,
        /// The generated sets, and how to download the data set when the paper names it.
        hint: String,
    },
    /// A reservoir model failed.
    #[error(transparent)]
    Esn(#[from] mf_esn::EsnError),
    /// A trainable model failed.
    #[error(transparent)]
    Rnn(#[from] mf_rnn::RnnError),
    /// The cell layer failed.
    #[error(transparent)]
    Core(#[from] mf_core::CoreError),
    /// The work was cancelled through its [`CancelToken`].
    #[error("cancelled")]
    Cancelled,
    /// An error with what was being done when it happened.
    #[error("{context}: {source}")]
    Context {
        /// What was being done.
        context: String,
        /// The error.
        source: Box<LabError>,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A store line is damaged where a torn write cannot explain it (a torn write can only damage the last line).
    #[error(
        "{}: line {line} is damaged ({msg}); `mf store repair {}` moves damaged lines to a quarantine file \
         beside the store and keeps the rest",
        path.display(),
        path.display()
    )]
    CorruptStore {
        /// The store file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A store (or spec file) belongs to another spec.
    #[error("{} belongs to spec {found}, not {expected}", path.display())]
    SpecMismatch {
        /// The file.
        path: PathBuf,
        /// The hash of the spec being run.
        expected: String,
        /// The hash found in the file.
        found: String,
    },
    /// Another process has the store open.
    #[error("{} is in use by another process", path.display())]
    Locked {
        /// The store file.
        path: PathBuf,
    },
    /// A store holds a second record of a job whose earlier record is not a failure (only a failed job is
    /// recorded again, by a retry).
    #[error(
        "{}: lines {first} and {second} both record {key}, and only a failed job may be recorded again; \
         `mf store repair {}` keeps line {first} and moves line {second} to a quarantine file beside the store",
        path.display(),
        path.display()
    )]
    DuplicateRecord {
        /// The store file.
        path: PathBuf,
        /// The job, as [`JobKey`] displays it.
        key: String,
        /// 1-based line of the first record.
        first: usize,
        /// 1-based line of the second record.
        second: usize,
    },
    /// A store file with no complete header: empty, or torn while it was being created.
    #[error(
        "{} holds no records, not even a complete header: no sweep has recorded anything in it yet",
        path.display()
    )]
    EmptyStore {
        /// The store file.
        path: PathBuf,
    },
    /// Two stores hold results of one data set computed on different data (different data directories).
    #[error(
        "{} and {} hold results of {dataset} computed on different data (data fingerprints {} and {}): \
         compute every shard from the same data directory",
        first.display(),
        second.display(),
        short(first_fingerprint),
        short(second_fingerprint)
    )]
    DataMismatch {
        /// The data set.
        dataset: String,
        /// The store where the first fingerprint was found.
        first: PathBuf,
        /// Its fingerprint.
        first_fingerprint: String,
        /// The store holding another fingerprint.
        second: PathBuf,
        /// That fingerprint.
        second_fingerprint: String,
    },
    /// A store being resumed holds results of a data set computed on other data than the evaluator reads now.
    #[error(
        "{} holds results of {dataset} computed on other data (fingerprint {}) than the data directory now holds \
         ({}): resuming would mix the two in one selection; point --data-dir at the data the store was computed \
         on, or run the spec into another results directory",
        store.display(),
        short(stored),
        short(now)
    )]
    DataChanged {
        /// The store.
        store: PathBuf,
        /// The data set.
        dataset: String,
        /// The fingerprint its records carry.
        stored: String,
        /// The fingerprint of the data read now.
        now: String,
    },
    /// Stores that a run is writing now (another process holds their lock): merged now, they would give a part
    /// of their records and their shards would read as stopped short.
    #[error("{}; merge again when {} ends", shard::running_text(.0), if .0.len() == 1 { "it" } else { "each" })]
    StillRunning(Vec<shard::Running>),
    /// `mf store repair` cannot rebuild a store.
    #[error("cannot repair {}: {reason}", path.display())]
    CannotRepair {
        /// The store file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Not even one worker thread could be started.
    #[error("cannot start a worker thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// The first 12 hex digits of a fingerprint, enough to tell two apart in a message.
fn short(fingerprint: &str) -> &str {
    fingerprint.get(..12).unwrap_or(fingerprint)
}

/// Adds what was being done to an error, as `anyhow`'s `context` does, for library code.
pub trait ResultExt<T> {
    /// Wraps the error in [`LabError::Context`] with the text `f` returns.
    fn context_with(self, f: impl FnOnce() -> String) -> Result<T, LabError>;
}

impl<T, E: Into<LabError>> ResultExt<T> for Result<T, E> {
    fn context_with(self, f: impl FnOnce() -> String) -> Result<T, LabError> {
        self.map_err(|e| LabError::Context {
            context: f(),
            source: Box::new(e.into()),
        })
    }
}

impl LabError {
    /// Whether the error (or the one it wraps) is a cancellation.
    pub fn is_cancelled(&self) -> bool {
        match self {
            LabError::Cancelled => true,
            LabError::Rnn(mf_rnn::RnnError::Cancelled { .. }) => true,
            LabError::Esn(mf_esn::EsnError::Cancelled) => true,
            LabError::Core(mf_core::CoreError::Cancelled) => true,
            LabError::Context { source, .. } => source.is_cancelled(),
            _ => false,
        }
    }
}

impl LabError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        LabError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The directory of `spec`'s results under `results`: `<results>/<spec.short_hash()>`.
pub fn spec_dir(results: &Path, spec: &Spec) -> PathBuf {
    results.join(spec.short_hash())
}

/// Creates `spec`'s result directory and writes its `spec.toml` (atomically, through a temporary file) unless
/// present; fails with [`LabError::SpecMismatch`] if a `spec.toml` of another spec is there.
pub fn prepare_spec_dir(results: &Path, spec: &Spec) -> Result<PathBuf, LabError> {
    let dir = spec_dir(results, spec);
    std::fs::create_dir_all(&dir).map_err(|e| LabError::io(&dir, e))?;
    let path = dir.join("spec.toml");
    if path.exists() {
        let found = Spec::load(&path)?.hash();
        if found != spec.hash() {
            return Err(LabError::SpecMismatch {
                path,
                expected: spec.hash(),
                found,
            });
        }
        return Ok(dir);
    }
    let tmp = dir.join(format!("spec.toml.{}.tmp", std::process::id()));
    let text = format!("# spec hash {}\n{}", spec.hash(), spec.to_toml());
    std::fs::write(&tmp, text).map_err(|e| LabError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| LabError::io(&path, e))?;
    Ok(dir)
}

/// Prepares `spec`'s result directory ([`prepare_spec_dir`]) and opens its store: `store.jsonl`, or the shard's
/// `shard-<i>-of-<n>.jsonl` ([`shard::store_file_name`]). The report says whether a torn record was removed.
pub fn open_spec_store(
    results: &Path,
    spec: &Spec,
    shard: Option<Shard>,
) -> Result<(Store, OpenReport), LabError> {
    let dir = prepare_spec_dir(results, spec)?;
    Store::open(&dir.join(shard::store_file_name(shard)), &spec.hash())
}

/// A fake evaluator and small specs for tests of code built on this library (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Spec>();
        check::<Job>();
        check::<Store>();
        check::<Control>();
        check::<LabError>();
    }

    #[test]
    fn spec_dir_is_created_once_and_guards_against_other_specs() {
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec::new(vec!["A".into()]);
        let d = prepare_spec_dir(dir.path(), &spec).unwrap();
        assert_eq!(d, dir.path().join(spec.short_hash()));
        assert_eq!(
            Spec::load(&d.join("spec.toml")).unwrap().hash(),
            spec.hash()
        );
        assert_eq!(prepare_spec_dir(dir.path(), &spec).unwrap(), d);
        // A different spec written where this one's should be is refused.
        std::fs::write(d.join("spec.toml"), Spec::new(vec!["B".into()]).to_toml()).unwrap();
        assert!(matches!(
            prepare_spec_dir(dir.path(), &spec),
            Err(LabError::SpecMismatch { .. })
        ));
    }
}
