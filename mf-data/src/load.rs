//! Reading splits and data sets from files and bytes.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::parse::{parse_reader, Format};
use crate::{DataError, Dataset, Split};

/// Parses one split from a reader; errors carry the path `<bytes>`.
pub fn split_from_reader(
    format: Format,
    reader: impl std::io::BufRead,
) -> Result<Split, DataError> {
    let raw = parse_reader(format, reader)?;
    Split::from_raw(&raw)
}

/// Parses one split from bytes; errors carry the path `<bytes>`.
pub fn parse_bytes(format: Format, bytes: &[u8]) -> Result<Split, DataError> {
    split_from_reader(format, bytes)
}

/// Reads one split from a file, the format taken from its extension.
pub fn read_split(path: &Path) -> Result<Split, DataError> {
    let format = path
        .extension()
        .and_then(|e| e.to_str())
        .and_then(Format::from_ext)
        .ok_or_else(|| {
            DataError::parse(
                &path.display().to_string(),
                1,
                "unknown extension: expected .ts, .tsv or .arff",
            )
        })?;
    let f = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    split_from_reader(format, BufReader::with_capacity(1 << 16, f)).map_err(|e| match e {
        DataError::Invalid { msg, .. } => DataError::Invalid {
            name: path.display().to_string(),
            msg,
        },
        e => e.with_path(path),
    })
}

/// The file `<dir>/<name>/<name>_<SPLIT>.<ext>` for the first of `.ts`, `.tsv`, `.arff` that
/// exists; `split` is `TRAIN` or `TEST`.
pub fn find_split_file(data_dir: &Path, name: &str, split: &str) -> Option<PathBuf> {
    Format::ALL.iter().find_map(|f| {
        let p = data_dir
            .join(name)
            .join(format!("{name}_{split}.{}", f.ext()));
        p.is_file().then_some(p)
    })
}

/// Loads `<data_dir>/<name>/<name>_TRAIN.<ts|tsv|arff>` and, when present, the matching `_TEST`
/// file.
pub fn load_dataset(data_dir: &Path, name: &str) -> Result<Dataset, DataError> {
    let train_path =
        find_split_file(data_dir, name, "TRAIN").ok_or_else(|| DataError::NotFound {
            name: name.to_string(),
            dir: data_dir.to_path_buf(),
        })?;
    let train = read_split(&train_path)?;
    let test = match find_split_file(data_dir, name, "TEST") {
        Some(p) => Some(read_split(&p)?),
        None => None,
    };
    Dataset::new(name, train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_from_files_name_the_file_and_missing_sets_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        match load_dataset(dir.path(), "Nope") {
            Err(DataError::NotFound { name, dir: d }) => {
                assert_eq!((name.as_str(), d.as_path()), ("Nope", dir.path()))
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        let sub = dir.path().join("Bad");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            sub.join("Bad_TRAIN.ts"),
            "@classLabel true a\n@data\n1,2:a\n1,x:a\n",
        )
        .unwrap();
        match load_dataset(dir.path(), "Bad") {
            Err(DataError::Parse { path, line, .. }) => {
                assert!(path.ends_with("Bad_TRAIN.ts"), "{path}");
                assert_eq!(line, 4);
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn a_train_file_without_test_file_loads_as_train_only() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("T");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            sub.join("T_TRAIN.arff"),
            "@relation t\n@attribute a numeric\n@attribute c {u,v}\n@data\n1,u\n2,v\n",
        )
        .unwrap();
        let d = load_dataset(dir.path(), "T").unwrap();
        assert!(d.test.is_none());
        assert_eq!(d.encoded_labels(&d.train), Some(vec![0, 1]));
    }
}
