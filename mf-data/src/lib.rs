//! Time-series data for the memristive-friendly recurrent networks: loaders for the UCR/UEA/TSER
//! archive formats (`.ts`, `.tsv`, `.arff`) and for CSV, Parquet and Arrow IPC pairs into Arrow,
//! the registry of the paper's ten data sets (Table I), data directory resolution, downloads,
//! seeded fit/validation splits, generators needing no files, one-signal sequence tasks
//! ([`sequence`]: NARMA-10, Mackey-Glass, Lorenz-63, memory capacity, NRMSE, and your own long
//! signal from CSV, Parquet or Arrow IPC with [`load_signal`]), and an Arrow IPC cache.
//!
//! Parsers take any [`std::io::BufRead`] or bytes; the path functions only add the file name to
//! errors. This crate depends on no other crate of the workspace.
//!
//! ```
//! use mf_data::{parse_bytes, Dataset, Format};
//!
//! let train = parse_bytes(Format::Tsv, b"2\t0.5\t1.0\n1\t0.25\tNaN\n")?;
//! let data = Dataset::new("Toy", train, None)?;
//! let (x, lengths) = data.train.to_ndarray(); // (n_series, max_len, n_dims)
//! assert_eq!(x.dim(), (2, 2, 1));
//! assert_eq!(lengths, vec![2, 1]);
//! assert_eq!(data.encoded_labels(&data.train), Some(vec![1, 0]));
//! # Ok::<(), mf_data::DataError>(())
//! ```
//!
//! Real data sets: `load_dataset(&resolve_data_dir(None), "ECG5000")`. Your own, as a CSV,
//! Parquet or Arrow IPC pair (layouts in [`frame`]): `load_path(Path::new("data/X_TRAIN.csv"),
//! &TableOptions::default())`.

// ndarray's `s!` expands to `#[allow(unsafe_code)]`, which `forbid` rejects: slice with `slice_axis`,
// `column` or `concatenate` instead.
#![forbid(unsafe_code)]

mod dataset;
mod dir;
mod error;
mod fetch;
pub mod frame;
pub mod generate;
mod ipc;
mod load;
pub mod parse;
mod registry;
pub mod sequence;
mod split;

pub use dataset::{
    dim_column, fill_nan, Dataset, FillMissing, Split, TaskKind, LABEL_COLUMN, LENGTH_COLUMN,
    TARGET_COLUMN,
};
pub use dir::{resolve_data_dir, DATA_DIR_ENV};
pub use error::DataError;
pub use fetch::{extract_archive, fetch, Progress};
pub use frame::{
    import_dataset, is_dataset_path, load_path, read_table, resolve_dataset_path, DatasetFiles,
    TableFormat, TableOptions,
};
pub use ipc::{read_ipc, write_ipc};
pub use load::{
    find_split_file, load_dataset, parse_bytes, read_split, resolve_split_file, split_from_reader,
};
pub use parse::{Format, RawSplit};
pub use registry::{
    compare, data_differences, paper_dataset, paper_datasets, verify, DatasetInfo, Shape,
    VerifyEntry, VerifyReport,
};
pub use sequence::{
    delayed_targets, load_signal, lorenz63, mackey_glass, memory_capacity_input, narma10, nrmse,
    nrmse_columns, Segments, Signal,
};
pub use split::{shuffle_split, stratified_split};
