//! Storing a data set in the data directory as `.ts` files, which the by-name loader reads back
//! bit for bit.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::load::{find_split_file, load_dataset};
use crate::{DataError, Dataset, Split};

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Why a label cannot be written in a `.ts` file, if it cannot: the reader splits the class list
/// on white space and a data line on `:`, and trims the label.
fn ts_label_problem(label: &str) -> Option<&'static str> {
    if label.is_empty() {
        Some("is empty")
    } else if label.chars().any(char::is_whitespace) {
        Some("holds white space")
    } else if label.contains(':') {
        Some("holds ':'")
    } else {
        None
    }
}

/// Writes `split` in the sktime/aeon `.ts` format: values in Rust's shortest round-trip form (so
/// [`crate::parse::parse_ts`] reads back the same f64 bits), `?` for a missing value. `classes`
/// is the `@classLabel` list for classification (it must hold every label of the split); `None`
/// writes `@targetLabel true` and the split's targets.
pub fn write_ts(
    split: &Split,
    problem: &str,
    classes: Option<&[String]>,
    mut w: impl Write,
) -> std::io::Result<()> {
    let lengths = split.lengths();
    let equal = lengths.windows(2).all(|p| p[0] == p[1]);
    writeln!(w, "@problemName {problem}")?;
    writeln!(w, "@timeStamps false")?;
    writeln!(w, "@missing {}", split.n_missing() > 0)?;
    writeln!(w, "@univariate {}", split.n_dims() == 1)?;
    writeln!(w, "@dimensions {}", split.n_dims())?;
    writeln!(w, "@equalLength {equal}")?;
    if let (true, Some(l)) = (equal, lengths.first()) {
        writeln!(w, "@seriesLength {l}")?;
    }
    match classes {
        Some(c) => writeln!(w, "@classLabel true {}", c.join(" "))?,
        None => writeln!(w, "@targetLabel true")?,
    }
    writeln!(w, "@data")?;
    let labels = split.labels();
    let targets = split.targets();
    let mut line = String::new();
    for i in 0..split.n_series() {
        line.clear();
        for k in 0..split.n_dims() {
            for (t, v) in split.series(i, k).iter().enumerate() {
                if t > 0 {
                    line.push(',');
                }
                if v.is_nan() {
                    line.push('?');
                } else {
                    // Debug is the shortest text that parses back to the same bits.
                    line.push_str(&format!("{v:?}"));
                }
            }
            line.push(':');
        }
        match (&labels, &targets) {
            (Some(l), _) => line.push_str(&l[i]),
            (None, Some(t)) => line.push_str(&format!("{:?}", t[i])),
            (None, None) => unreachable!("a split has labels or targets"),
        }
        writeln!(w, "{line}")?;
    }
    w.flush()
}

/// Whether two splits hold the same series bit for bit (NaN included), lengths, and labels or
/// targets; `None` when they do, else the first difference.
pub fn same_data(a: &Split, b: &Split) -> Option<String> {
    if (a.n_series(), a.n_dims()) != (b.n_series(), b.n_dims()) {
        return Some(format!(
            "{} series of {} dimensions against {} of {}",
            a.n_series(),
            a.n_dims(),
            b.n_series(),
            b.n_dims()
        ));
    }
    if a.lengths() != b.lengths() {
        return Some("the series lengths differ".into());
    }
    for i in 0..a.n_series() {
        for k in 0..a.n_dims() {
            let bits = |s: &[f64]| s.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            if bits(a.series(i, k)) != bits(b.series(i, k)) {
                return Some(format!("series {} dimension {k} differs", i + 1));
            }
        }
    }
    if a.labels() != b.labels() {
        return Some("the labels differ".into());
    }
    let tbits = |s: &Split| {
        s.targets()
            .map(|t| t.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
    };
    if tbits(a) != tbits(b) {
        return Some("the targets differ".into());
    }
    None
}

/// Whether `name` can name a data set directory: letters, digits, `-`, `_` and `.`, not starting
/// with `.`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Stores `ds` in `data_dir` as `<name>/<name>_TRAIN.ts` (and `_TEST.ts`), where
/// [`load_dataset`] finds it by name, and checks that it reads back bit for bit (removing what it
/// wrote if not). Refuses a name already present in the data directory and labels a `.ts` file
/// cannot hold (empty, with white space or `:`). Returns the data set's directory.
pub fn import_dataset(ds: &Dataset, data_dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    if !valid_name(name) {
        return Err(DataError::Param {
            name: "name",
            msg: format!(
                "{name:?} cannot name a data set directory: use letters, digits, '-', '_' and '.', \
                 not starting with '.'"
            ),
        });
    }
    let splits: Vec<&Split> = std::iter::once(&ds.train).chain(ds.test.as_ref()).collect();
    let classes: Option<Vec<String>> = match ds.classes() {
        None => None,
        Some(_) => {
            // Every spelling of every label: numeric labels equal as numbers are one class but
            // each file must declare the spellings it uses.
            let all: BTreeSet<String> = splits
                .iter()
                .flat_map(|s| s.labels().unwrap_or_default())
                .collect();
            if let Some((l, why)) = all.iter().find_map(|l| ts_label_problem(l).map(|w| (l, w))) {
                return Err(DataError::Invalid {
                    name: ds.name.clone(),
                    msg: format!(
                        "the label {l:?} {why}, which a .ts file cannot hold; rename the class"
                    ),
                });
            }
            Some(all.into_iter().collect())
        }
    };
    for split in ["TRAIN", "TEST"] {
        if let Some(p) = find_split_file(data_dir, name, split) {
            return Err(DataError::Param {
                name: "name",
                msg: format!(
                    "a data set {name} already exists in {} ({}): choose another name or remove it",
                    data_dir.display(),
                    p.display()
                ),
            });
        }
    }
    let dir = data_dir.join(name);
    let created_dir = !dir.exists();
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let mut written = Vec::new();
    let result = (|| {
        for (split, s) in ["TRAIN", "TEST"].iter().zip(&splits) {
            let path = dir.join(format!("{name}_{split}.ts"));
            let tmp = dir.join(format!(".{name}_{split}.ts.part"));
            written.push(tmp.clone());
            let f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
            write_ts(s, name, classes.as_deref(), BufWriter::new(f)).map_err(io_err(&tmp))?;
            fs::rename(&tmp, &path).map_err(io_err(&path))?;
            written.push(path);
        }
        let back = load_dataset(data_dir, name)?;
        let pairs = [(Some(&ds.train), Some(&back.train))]
            .into_iter()
            .chain([(ds.test.as_ref(), back.test.as_ref())]);
        for (which, (a, b)) in ["training", "test"].iter().zip(pairs) {
            let diff = match (a, b) {
                (Some(a), Some(b)) => same_data(a, b),
                (None, None) => None,
                _ => Some("a split is missing".into()),
            };
            if let Some(d) = diff {
                return Err(DataError::Invalid {
                    name: name.to_string(),
                    msg: format!("the stored {which} split does not read back as imported: {d}"),
                });
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        for p in &written {
            let _ = fs::remove_file(p);
        }
        if created_dir {
            let _ = fs::remove_dir(&dir);
        }
        return Err(e);
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_ts, RawSplit};

    fn split(series: Vec<Vec<Vec<f64>>>, labels: &[&str]) -> Split {
        Split::from_raw(&RawSplit {
            series,
            labels: Some(labels.iter().map(|l| l.to_string()).collect()),
            ..RawSplit::default()
        })
        .unwrap()
    }

    #[test]
    fn written_ts_reads_back_bit_for_bit() {
        // Values whose shortest decimal forms are long or use exponents, -0, and a gap.
        let awkward = vec![
            0.1 + 0.2,
            -0.0,
            1e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            1.0 / 3.0,
        ];
        let s = split(
            vec![
                vec![awkward.clone(), awkward.clone()],
                vec![vec![5.0], vec![6.0]],
            ],
            &["1", "x.y"],
        );
        let classes = vec!["1".to_string(), "x.y".to_string()];
        let mut text = Vec::new();
        write_ts(&s, "T", Some(&classes), &mut text).unwrap();
        let back = Split::from_raw(&parse_ts(text.as_slice()).unwrap()).unwrap();
        assert_eq!(same_data(&s, &back), None);
        // The comparison itself notices a one-bit change.
        let mut v = awkward;
        v[0] = f64::from_bits(v[0].to_bits() + 1);
        let t = split(
            vec![vec![v.clone(), v], vec![vec![5.0], vec![6.0]]],
            &["1", "x.y"],
        );
        assert_eq!(
            same_data(&s, &t),
            Some("series 1 dimension 0 differs".into())
        );
    }

    #[test]
    fn an_imported_regression_set_loads_by_name_bit_for_bit() {
        let raw = |targets: Vec<f64>, series| RawSplit {
            series,
            targets: Some(targets),
            ..RawSplit::default()
        };
        let train = raw(
            vec![0.1 + 0.2, -1e-300],
            vec![vec![vec![1.0 / 3.0, f64::NAN, 2.0]], vec![vec![-0.0]]],
        );
        let test = raw(vec![7.0], vec![vec![vec![f64::MIN_POSITIVE]]]);
        let ds = Dataset::new(
            "R",
            Split::from_raw(&train).unwrap(),
            Some(Split::from_raw(&test).unwrap()),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let at = import_dataset(&ds, dir.path(), "Reg").unwrap();
        assert_eq!(at, dir.path().join("Reg"));
        let back = load_dataset(dir.path(), "Reg").unwrap();
        assert_eq!(back.task(), &crate::TaskKind::Regression);
        assert_eq!(same_data(&ds.train, &back.train), None);
        assert_eq!(
            same_data(ds.test.as_ref().unwrap(), back.test.as_ref().unwrap()),
            None
        );
        let bits: Vec<u64> = back
            .train
            .targets()
            .unwrap()
            .iter()
            .map(|t| t.to_bits())
            .collect();
        assert_eq!(bits, [(0.1 + 0.2f64).to_bits(), (-1e-300f64).to_bits()]);
    }

    #[test]
    fn import_refuses_labels_a_ts_file_cannot_hold_and_names_taken() {
        let dir = tempfile::tempdir().unwrap();
        let s = split(vec![vec![vec![1.0]]], &["a b"]);
        let ds = Dataset::new("T", s, None).unwrap();
        let e = import_dataset(&ds, dir.path(), "T")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"a b\" holds white space"), "{e}");
        assert!(!dir.path().join("T").exists());
        let ds = Dataset::new("T", split(vec![vec![vec![1.0]]], &["a"]), None).unwrap();
        assert!(import_dataset(&ds, dir.path(), "../T").is_err());
        import_dataset(&ds, dir.path(), "T").unwrap();
        let e = import_dataset(&ds, dir.path(), "T")
            .unwrap_err()
            .to_string();
        assert!(e.contains("already exists"), "{e}");
    }
}
