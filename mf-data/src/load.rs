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
/// exists; `split` is `TRAIN` or `TEST`. [`load_dataset`] refuses a split with files in two
/// formats that may differ (see [`resolve_split_file`]); this function does not check.
pub fn find_split_file(data_dir: &Path, name: &str, split: &str) -> Option<PathBuf> {
    split_files(data_dir, name, split).into_iter().next()
}

/// Every existing `<dir>/<name>/<name>_<SPLIT>.<ts|tsv|arff>`, in the order of [`Format::ALL`].
fn split_files(data_dir: &Path, name: &str, split: &str) -> Vec<PathBuf> {
    Format::ALL
        .iter()
        .map(|f| {
            data_dir
                .join(name)
                .join(format!("{name}_{split}.{}", f.ext()))
        })
        .filter(|p| p.is_file())
        .collect()
}

/// As [`find_split_file`], but a `.tsv` file next to a `.ts` or `.arff` file of the same split is
/// an [`DataError::Ambiguous`] error: they come from different archives (UCR's and UEA's) and may
/// hold different data, so neither may silently win. A `.ts` with an `.arff` is not ambiguous:
/// the UEA archive ships both with the same series, and `.ts` is read.
pub fn resolve_split_file(
    data_dir: &Path,
    name: &str,
    split: &str,
) -> Result<Option<PathBuf>, DataError> {
    let files = split_files(data_dir, name, split);
    let is_tsv = |p: &PathBuf| p.extension().is_some_and(|e| e == Format::Tsv.ext());
    if files.len() > 1 && files.iter().any(is_tsv) {
        return Err(DataError::Ambiguous {
            name: name.to_string(),
            paths: files,
        });
    }
    Ok(files.into_iter().next())
}

/// Loads `<data_dir>/<name>/<name>_TRAIN.<ts|tsv|arff>` and, when present, the matching `_TEST`
/// file; a split present in formats that may disagree is an error (see [`resolve_split_file`]).
pub fn load_dataset(data_dir: &Path, name: &str) -> Result<Dataset, DataError> {
    let train_path =
        resolve_split_file(data_dir, name, "TRAIN")?.ok_or_else(|| DataError::NotFound {
            name: name.to_string(),
            dir: data_dir.to_path_buf(),
        })?;
    let train = read_split(&train_path)?;
    let test = match resolve_split_file(data_dir, name, "TEST")? {
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

    /// A directory holding `files` (name, content) under `<dir>/<name>/`.
    fn data_dir(name: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join(name);
        std::fs::create_dir(&sub).unwrap();
        for (f, text) in files {
            std::fs::write(sub.join(f), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_split_in_both_ts_and_tsv_is_refused_naming_both_files() {
        let ts = "@classLabel true 1 2\n@data\n1,2:1\n3,4:2\n";
        let tsv = "1\t1\t2\n1\t3\t4\n";
        let dir = data_dir(
            "D",
            &[("D_TRAIN.tsv", tsv), ("D_TEST.ts", ts), ("D_TEST.tsv", tsv)],
        );
        let err = load_dataset(dir.path(), "D").unwrap_err();
        let sub = dir.path().join("D");
        match &err {
            DataError::Ambiguous { name, paths } => {
                assert_eq!(name, "D");
                assert_eq!(paths, &[sub.join("D_TEST.ts"), sub.join("D_TEST.tsv")]);
            }
            other => panic!("expected Ambiguous, got {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "data set D: {} and {} exist for the same split and may differ; remove or rename all but one",
                sub.join("D_TEST.ts").display(),
                sub.join("D_TEST.tsv").display()
            )
        );
        // The UEA archive ships .ts and .arff with the same series: .ts is read.
        let arff = "@relation d\n@attribute a numeric\n@attribute c {1,2}\n@data\n9,1\n";
        let dir = data_dir("D", &[("D_TRAIN.ts", ts), ("D_TRAIN.arff", arff)]);
        assert_eq!(load_dataset(dir.path(), "D").unwrap().train.n_series(), 2);
    }

    #[test]
    fn a_truncated_last_tsv_line_is_an_error_naming_the_file_and_line() {
        let rows = "1\t1\t2\t3\n2\t4\t5\t6\n1\t7\t8\t9\n";
        for (last, why) in [
            ("2\t1.5", "the file ends without a newline"),
            ("2\t1.5\n", "UCR .tsv files pad shorter series with NaN"),
        ] {
            let dir = data_dir("D", &[("D_TRAIN.tsv", &format!("{rows}{last}"))]);
            let err = load_dataset(dir.path(), "D").unwrap_err();
            let file = dir.path().join("D").join("D_TRAIN.tsv");
            assert_eq!(
                err.to_string(),
                format!(
                    "{}:4: last line has 1 value but every other line has 3: the file looks truncated ({why})",
                    file.display()
                )
            );
        }
    }

    #[test]
    fn tsv_splits_spelling_numeric_labels_differently_share_their_classes() {
        let dir = data_dir(
            "D",
            &[
                ("D_TRAIN.tsv", "1\t0.5\t1\n2\t0.25\t2\n"),
                (
                    "D_TEST.tsv",
                    "1.0000000e+00\t0.5\t1\n2.0000000e+00\t0.25\t2\n",
                ),
            ],
        );
        let d = load_dataset(dir.path(), "D").unwrap();
        assert_eq!(d.classes().unwrap(), ["1", "2"]);
        assert_eq!(d.encoded_labels(d.test.as_ref().unwrap()), Some(vec![0, 1]));
        assert!(d.warnings().is_empty());
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
