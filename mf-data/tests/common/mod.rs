//! What the integration tests of mf-data share: writing a record batch as a Parquet or an Arrow IPC file, as
//! pandas and polars users hand them to `mf`.

use std::path::Path;

use arrow_array::RecordBatch;

/// Writes `b` to `path` as an uncompressed Parquet file.
pub fn write_parquet(path: &Path, b: &RecordBatch) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, b.schema(), None).unwrap();
    w.write(b).unwrap();
    w.close().unwrap();
}

/// Writes `b` to `path` as an Arrow IPC (Feather v2) file.
pub fn write_ipc(path: &Path, b: &RecordBatch) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(f, &b.schema()).unwrap();
    w.write(b).unwrap();
    w.finish().unwrap();
}
