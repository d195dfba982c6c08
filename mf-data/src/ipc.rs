//! Arrow IPC cache of a parsed data set: reading it back is much faster than parsing text.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use arrow_schema::Schema;

use crate::{DataError, Dataset, Split};

const META_NAME: &str = "mf_data.name";
const META_SPLITS: &str = "mf_data.splits";

fn ipc_err(path: &Path) -> impl Fn(arrow_schema::ArrowError) -> DataError + '_ {
    move |e| DataError::Ipc {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// Writes `data` to one Arrow IPC file: the training batch, then the test batch when present.
/// The data set name and the list of splits are stored in the schema metadata; the class list is
/// recomputed from the labels on reading.
pub fn write_ipc(data: &Dataset, path: &Path) -> Result<(), DataError> {
    let mut meta = HashMap::new();
    meta.insert(META_NAME.to_string(), data.name.clone());
    meta.insert(
        META_SPLITS.to_string(),
        if data.test.is_some() {
            "train,test"
        } else {
            "train"
        }
        .to_string(),
    );
    let fields = data.train.batch().schema().fields().clone();
    let schema = Arc::new(Schema::new_with_metadata(fields, meta));
    let f = File::create(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut w = FileWriter::try_new(BufWriter::new(f), &schema).map_err(ipc_err(path))?;
    for s in std::iter::once(&data.train).chain(data.test.as_ref()) {
        let b = RecordBatch::try_new(schema.clone(), s.batch().columns().to_vec())
            .map_err(ipc_err(path))?;
        w.write(&b).map_err(ipc_err(path))?;
    }
    w.finish().map_err(ipc_err(path))
}

/// Reads a data set written by [`write_ipc`].
pub fn read_ipc(path: &Path) -> Result<Dataset, DataError> {
    let f = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let r = FileReader::try_new(BufReader::new(f), None).map_err(ipc_err(path))?;
    let schema = r.schema();
    let bad = |msg: &str| DataError::Ipc {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    };
    let name = schema
        .metadata()
        .get(META_NAME)
        .cloned()
        .ok_or_else(|| bad("no data set name in the schema metadata"))?;
    let n_splits = match schema.metadata().get(META_SPLITS).map(String::as_str) {
        Some("train") => 1,
        Some("train,test") => 2,
        _ => return Err(bad("no split list in the schema metadata")),
    };
    let plain = Arc::new(Schema::new(schema.fields().clone()));
    let mut splits = Vec::new();
    for b in r {
        let b = b.map_err(ipc_err(path))?;
        let b = RecordBatch::try_new(plain.clone(), b.columns().to_vec()).map_err(ipc_err(path))?;
        splits.push(Split::from_batch(b).map_err(|e| bad(&e.to_string()))?);
    }
    if splits.len() != n_splits {
        return Err(bad("batch count does not match the split list"));
    }
    let test = if n_splits == 2 { splits.pop() } else { None };
    let train = splits.pop().ok_or_else(|| bad("no batches"))?;
    Dataset::new(name, train, test)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{mackey_glass, synthetic_control};

    #[test]
    fn ipc_round_trip_restores_the_same_data_set() {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            synthetic_control(3, 2, 20, 1).unwrap(),
            mackey_glass(10, 0, 5, 2).unwrap(),
        ] {
            let p = dir.path().join(format!("{}.arrow", d.name));
            write_ipc(&d, &p).unwrap();
            let back = read_ipc(&p).unwrap();
            assert_eq!(back, d);
            assert_eq!(back.task(), d.task());
        }
    }

    #[test]
    fn reading_a_non_ipc_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.arrow");
        std::fs::write(&p, b"not arrow").unwrap();
        assert!(matches!(read_ipc(&p), Err(DataError::Ipc { .. })));
    }
}
