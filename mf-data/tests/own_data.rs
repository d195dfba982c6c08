//! Bring-your-own data: CSV (wide and long), Parquet and Arrow IPC copies of a `.ts` data set load to
//! exactly its arrays, and bad files are errors naming the file, the line or row, and the column.
//!
//! The copies are written from the `.ts` file's own text tokens (CSV) or from those tokens parsed by
//! Rust's `str::parse` (Parquet, IPC), never through the loaders under test; the reference is the
//! `.ts` loader.

mod common;
use common::{write_ipc, write_parquet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, LargeListBuilder, ListBuilder};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use mf_data::{load_dataset, load_path, read_table, Dataset, TableOptions};

/// The data lines of a `.ts` text as tokens: per series, per dimension, the value tokens, and the
/// label or target token.
#[derive(Debug, Clone)]
struct Tokens {
    answers: Vec<String>,
    series: Vec<Vec<Vec<String>>>,
}

fn tokens(ts: &str) -> Tokens {
    let mut data = false;
    let mut t = Tokens {
        answers: Vec::new(),
        series: Vec::new(),
    };
    for line in ts.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !data {
            data = line.eq_ignore_ascii_case("@data");
            continue;
        }
        let mut parts: Vec<&str> = line.split(':').collect();
        t.answers.push(parts.pop().unwrap().trim().to_string());
        t.series.push(
            parts
                .iter()
                .map(|p| p.split(',').map(|v| v.trim().to_string()).collect())
                .collect(),
        );
    }
    t
}

fn n_dims(t: &Tokens) -> usize {
    t.series[0].len()
}

fn max_len(t: &Tokens) -> usize {
    t.series.iter().map(|s| s[0].len()).max().unwrap()
}

/// One row per series: `<answer>,<steps...>`, shorter series padded with empty cells;
/// multivariate columns named `dim<k>_<t>`.
fn wide_csv(t: &Tokens, answer: &str) -> String {
    let (d, l) = (n_dims(t), max_len(t));
    let mut header = vec![answer.to_string()];
    for k in 0..d {
        for s in 0..l {
            header.push(if d == 1 {
                format!("t{s}")
            } else {
                format!("dim{k}_{s}")
            });
        }
    }
    let mut out = header.join(",") + "\n";
    for (a, s) in t.answers.iter().zip(&t.series) {
        let mut row = vec![a.clone()];
        for dim in s {
            row.extend(dim.iter().cloned());
            row.extend(std::iter::repeat_n(String::new(), l - dim.len()));
        }
        out += &(row.join(",") + "\n");
    }
    out
}

/// One row per step, time-major (every series' step 0, then step 1, ...) as `melt` writes it, with
/// the label first and `?` written as an empty cell.
fn long_csv(t: &Tokens, answer: &str) -> String {
    let d = n_dims(t);
    let dims: Vec<String> = (0..d).map(|k| format!("dim_{k}")).collect();
    let mut out = format!("{answer},series,time,{}\n", dims.join(","));
    for step in 0..max_len(t) {
        for (i, (a, s)) in t.answers.iter().zip(&t.series).enumerate() {
            if step < s[0].len() {
                let v: Vec<&str> = s
                    .iter()
                    .map(|dim| match dim[step].as_str() {
                        "?" => "",
                        v => v,
                    })
                    .collect();
                out += &format!("{a},s{i},{step},{}\n", v.join(","));
            }
        }
    }
    out
}

fn value(tok: &str) -> Option<f64> {
    (tok != "?").then(|| tok.parse::<f64>().unwrap())
}

/// A record batch with the answer column and one list column per dimension (`large` picks
/// `large_list`).
fn batch(t: &Tokens, answer: &str, large: bool) -> RecordBatch {
    let answer_col: ArrayRef = if answer == "target" {
        Arc::new(Float64Array::from_iter_values(
            t.answers.iter().map(|a| a.parse::<f64>().unwrap()),
        ))
    } else {
        Arc::new(StringArray::from_iter_values(t.answers.iter()))
    };
    let mut cols = vec![(answer.to_string(), answer_col)];
    for k in 0..n_dims(t) {
        let rows = t.series.iter().map(|s| s[k].iter().map(|v| value(v)));
        let col: ArrayRef = if large {
            let mut b = LargeListBuilder::new(Float64Builder::new());
            rows.for_each(|r| b.append_value(r));
            Arc::new(b.finish())
        } else {
            let mut b = ListBuilder::new(Float64Builder::new());
            rows.for_each(|r| b.append_value(r));
            Arc::new(b.finish())
        };
        cols.push((format!("dim_{k}"), col));
    }
    RecordBatch::try_from_iter(cols).unwrap()
}

/// Asserts two data sets hold the same series bit for bit, lengths, labels or targets and classes.
fn assert_same(what: &str, got: &Dataset, want: &Dataset) {
    assert_eq!(got.name, want.name, "{what}");
    assert_eq!(got.task(), want.task(), "{what}");
    for (split, g, w) in [
        ("train", Some(&got.train), Some(&want.train)),
        ("test", got.test.as_ref(), want.test.as_ref()),
    ] {
        let (g, w) = (g.unwrap(), w.unwrap());
        let (gr, wr) = (g.to_raw(), w.to_raw());
        assert_eq!(g.lengths(), w.lengths(), "{what} {split}: lengths");
        assert_eq!(gr.labels, wr.labels, "{what} {split}: labels");
        let bits = |v: &Option<Vec<f64>>| {
            v.as_ref()
                .map(|t| t.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        };
        assert_eq!(
            bits(&gr.targets),
            bits(&wr.targets),
            "{what} {split}: targets"
        );
        assert_eq!(gr.series.len(), wr.series.len(), "{what} {split}");
        for (i, (gs, ws)) in gr.series.iter().zip(&wr.series).enumerate() {
            for (k, (gd, wd)) in gs.iter().zip(ws).enumerate() {
                let gb: Vec<u64> = gd.iter().map(|x| x.to_bits()).collect();
                let wb: Vec<u64> = wd.iter().map(|x| x.to_bits()).collect();
                assert!(gb == wb, "{what} {split}: series {i} dimension {k} differs");
            }
        }
    }
}

/// Writes every copy of the pair `name` (given as `.ts` texts) under `root` and checks each loads
/// equal to the `.ts` files loaded from `ts_dir`.
fn check_copies(root: &Path, ts_dir: &Path, name: &str, train: &str, test: &str) {
    let want = load_dataset(ts_dir, name).unwrap();
    let answer = if want.classes().is_some() {
        "label"
    } else {
        "target"
    };
    let pair = [("TRAIN", tokens(train)), ("TEST", tokens(test))];
    for (kind, ext) in [
        ("wide", "csv"),
        ("long", "csv"),
        ("parquet", "parquet"),
        ("ipc", "feather"),
    ] {
        let dir = root.join(kind);
        std::fs::create_dir_all(&dir).unwrap();
        for (split, t) in &pair {
            let path = dir.join(format!("{name}_{split}.{ext}"));
            match kind {
                "wide" => std::fs::write(&path, wide_csv(t, answer)).unwrap(),
                "long" => std::fs::write(&path, long_csv(t, answer)).unwrap(),
                "parquet" => write_parquet(&path, &batch(t, answer, false)),
                _ => write_ipc(&path, &batch(t, answer, true)),
            }
        }
        let opts = TableOptions::default();
        // By directory and by training file.
        let got = load_path(&dir, &opts).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_same(&format!("{name} {kind}"), &got, &want);
        let got = load_path(&dir.join(format!("{name}_TRAIN.{ext}")), &opts).unwrap();
        assert_same(&format!("{name} {kind} by file"), &got, &want);
    }
}

/// A `.ts` pair in a data directory of its own.
fn ts_dir(root: &Path, name: &str, train: &str, test: &str) -> PathBuf {
    let dir = root.join("ts");
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join(format!("{name}_TRAIN.ts")), train).unwrap();
    std::fs::write(dir.join(name).join(format!("{name}_TEST.ts")), test).unwrap();
    dir
}

// Two dimensions, unequal lengths, missing values inside series, values whose decimal text is
// not what f32 would keep.
const TINY_TRAIN: &str = "@problemName Tiny\n@missing true\n@dimensions 2\n@equalLength false\n\
    @classLabel true a b c\n@data\n\
    0.1,0.2,0.30000000000000004,-1e-7:5,?,7,8:a\n\
    1.5,?,2.5:-0.0,1e300,3:b\n\
    9:10:a\n";
const TINY_TEST: &str = "@problemName Tiny\n@missing true\n@dimensions 2\n@equalLength false\n\
    @classLabel true a b c\n@data\n\
    0.333333333333333314829616256247,2:4,?:c\n";

const TINY_REG_TRAIN: &str = "@problemName Reg\n@targetLabel true\n@data\n\
    1,2,3:0.5\n4,?,6,7:-1.25e-3\n";
const TINY_REG_TEST: &str = "@problemName Reg\n@targetLabel true\n@data\n8,9:3\n";

#[test]
fn copies_of_a_small_embedded_set_load_to_exactly_its_ts_arrays() {
    let root = tempfile::tempdir().unwrap();
    let ts = ts_dir(root.path(), "Tiny", TINY_TRAIN, TINY_TEST);
    check_copies(root.path(), &ts, "Tiny", TINY_TRAIN, TINY_TEST);
    let reg = tempfile::tempdir().unwrap();
    let ts = ts_dir(reg.path(), "Reg", TINY_REG_TRAIN, TINY_REG_TEST);
    check_copies(reg.path(), &ts, "Reg", TINY_REG_TRAIN, TINY_REG_TEST);
}

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("MF_DATA_DIR")?);
    dir.is_dir().then_some(dir)
}

#[test]
fn copies_of_real_ucr_and_uea_sets_load_to_exactly_their_ts_arrays() {
    let Some(dir) = data_dir() else {
        println!("skipped: MF_DATA_DIR is not a directory (set it to the paper's data sets)");
        return;
    };
    // GunPoint: univariate, equal length; JapaneseVowels: 12 dimensions, lengths 7-29.
    for name in ["GunPoint", "JapaneseVowels"] {
        let read = |s: &str| std::fs::read_to_string(dir.join(name).join(format!("{name}_{s}.ts")));
        let (Ok(train), Ok(test)) = (read("TRAIN"), read("TEST")) else {
            println!("skipped {name}: not in {}", dir.display());
            continue;
        };
        let root = tempfile::tempdir().unwrap();
        check_copies(root.path(), &dir, name, &train, &test);
    }
}

/// Writes the pair with pandas (`to_parquet`, `to_feather` with their defaults: snappy and LZ4),
/// one numpy array per series in a list column per dimension; and zstd (polars' default) and brotli
/// Parquet copies.
fn pandas_copies(dir: &Path, name: &str, pair: &[(&str, Tokens)]) {
    const SCRIPT: &str = r#"
import json, sys
import numpy as np, pandas as pd
d = json.load(open(sys.argv[1]))
cols = {"label": d["labels"]}
for k, dim in enumerate(d["dims"]):
    cols[f"dim_{k}"] = [np.array([np.nan if v is None else float(v) for v in s]) for s in dim]
df = pd.DataFrame(cols)
df.to_parquet(sys.argv[2])
df.to_feather(sys.argv[3])
df.to_parquet(sys.argv[4], compression="zstd")
df.to_parquet(sys.argv[5], compression="brotli")
"#;
    let script = dir.join("write.py");
    std::fs::write(&script, SCRIPT).unwrap();
    for codec in ["zstd", "brotli"] {
        std::fs::create_dir_all(dir.join(codec)).unwrap();
    }
    for (split, t) in pair {
        let quote = |s: &str| format!("\"{s}\"");
        let labels: Vec<String> = t.answers.iter().map(|a| quote(a)).collect();
        let dims: Vec<String> = (0..n_dims(t))
            .map(|k| {
                let series: Vec<String> = t
                    .series
                    .iter()
                    .map(|s| {
                        let v: Vec<String> = s[k]
                            .iter()
                            .map(|v| if v == "?" { "null".into() } else { quote(v) })
                            .collect();
                        format!("[{}]", v.join(","))
                    })
                    .collect();
                format!("[{}]", series.join(","))
            })
            .collect();
        let json = dir.join(format!("{split}.json"));
        std::fs::write(
            &json,
            format!(
                "{{\"labels\":[{}],\"dims\":[{}]}}",
                labels.join(","),
                dims.join(",")
            ),
        )
        .unwrap();
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(&json)
            .arg(dir.join(format!("{name}_{split}.parquet")))
            .arg(dir.join(format!("{name}_{split}.feather")))
            .arg(dir.join("zstd").join(format!("{name}_{split}.parquet")))
            .arg(dir.join("brotli").join(format!("{name}_{split}.parquet")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn parquet_and_feather_files_written_by_pandas_load_equal() {
    let has_pandas = std::process::Command::new("python3")
        .args(["-c", "import pandas, pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pandas {
        println!("skipped: python3 with pandas and pyarrow is not available");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let mut sets = vec![(
        "Tiny".to_string(),
        ts_dir(root.path(), "Tiny", TINY_TRAIN, TINY_TEST),
        TINY_TRAIN.to_string(),
        TINY_TEST.to_string(),
    )];
    match data_dir() {
        Some(dir) => {
            let read =
                |s: &str| std::fs::read_to_string(dir.join(format!("GunPoint/GunPoint_{s}.ts")));
            if let (Ok(train), Ok(test)) = (read("TRAIN"), read("TEST")) {
                sets.push(("GunPoint".into(), dir.clone(), train, test));
            }
        }
        None => println!("GunPoint skipped: MF_DATA_DIR is not a directory"),
    }
    for (name, ts, train, test) in sets {
        let want = load_dataset(&ts, &name).unwrap();
        let out = root.path().join(format!("pandas-{name}"));
        std::fs::create_dir_all(&out).unwrap();
        pandas_copies(
            &out,
            &name,
            &[("TRAIN", tokens(&train)), ("TEST", tokens(&test))],
        );
        for ext in ["parquet", "feather"] {
            let path = out.join(format!("{name}_TRAIN.{ext}"));
            let got = load_path(&path, &TableOptions::default())
                .unwrap_or_else(|e| panic!("{name} {ext}: {e}"));
            assert_same(&format!("{name} pandas {ext}"), &got, &want);
        }
        // polars' default compression reads to the same arrays.
        let zstd = out.join("zstd").join(format!("{name}_TRAIN.parquet"));
        let got = load_path(&zstd, &TableOptions::default())
            .unwrap_or_else(|e| panic!("{name} zstd parquet: {e}"));
        assert_same(&format!("{name} pandas zstd parquet"), &got, &want);
        // A compression this build does not read: the error says what to do.
        let brotli = out.join("brotli").join(format!("{name}_TRAIN.parquet"));
        let e = read_table(&brotli, &TableOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&brotli.display().to_string())
                && e.contains("compressed with brotli")
                && e.contains("snappy")
                && e.contains("zstd"),
            "{e}"
        );
    }
}

/// The error of reading `text` as `<dir>/<file>`, with the path written `{path}`.
fn csv_error(file: &str, text: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    std::fs::write(&path, text).unwrap();
    let e = read_table(&path, &TableOptions::default())
        .unwrap_err()
        .to_string();
    (e, path.display().to_string())
}

#[test]
fn bad_files_are_errors_naming_the_file_the_row_and_the_column() {
    let (e, p) = csv_error("X_TRAIN.csv", "label,t0,t1\na,1,2\nb,3\n");
    assert_eq!(
        e,
        format!("{p}:3: the row has 2 fields but the header has 3")
    );

    let (e, p) = csv_error("X_TRAIN.csv", "label,t0,t1\na,1,2\nb,3,4x\n");
    assert_eq!(
        e,
        format!("{p}:3: column `t1`: expected a number, empty or '?', found \"4x\"")
    );

    // Wide value columns are steps t0, t1, ... by name: a gap is refused, naming the header line.
    let (e, p) = csv_error("X_TRAIN.csv", "label,t0,t2\na,1,2\n");
    assert_eq!(
        e,
        format!(
            "{p}:1: no column `t1`: a wide CSV has one column per step, t0 to t2 with none missing"
        )
    );

    let (e, p) = csv_error(
        "X_TRAIN.csv",
        "series,time,value,label\ns1,0,1,a\ns2,0,1,b\ns1,1,2,b\n",
    );
    assert_eq!(
        e,
        format!(
            "{p}:4: column `label`: series `s1` has label \"b\" here but \"a\" on line 2; a series \
             has one label"
        )
    );

    // A training file without its test file.
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("X_TRAIN.csv");
    std::fs::write(&train, "label,t0\na,1\n").unwrap();
    let e = load_path(&train, &TableOptions::default())
        .unwrap_err()
        .to_string();
    let test = dir.path().join("X_TEST.csv");
    assert!(
        e.starts_with(&format!("{}: test file not found", test.display())),
        "{e}"
    );

    // A Parquet file with list columns but no label column.
    let path = dir.path().join("Y_TRAIN.parquet");
    let t = tokens("@classLabel true a\n@data\n1,2:a\n");
    let b = batch(&t, "label", false);
    let no_label = b.project(&[1]).unwrap();
    write_parquet(&path, &no_label);
    let e = read_table(&path, &TableOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}: no `label` column (classification) or `target` column (regression); the columns \
             are `dim_0`",
            path.display()
        )
    );

    // A null series in an Arrow file names its row and column.
    let mut l = ListBuilder::new(Float64Builder::new());
    l.append_value([Some(1.0)]);
    l.append_null();
    let b = RecordBatch::try_from_iter([
        (
            "label",
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
        ("dim_0", Arc::new(l.finish())),
    ])
    .unwrap();
    let path = dir.path().join("Z_TRAIN.arrow");
    write_ipc(&path, &b);
    let e = read_table(&path, &TableOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}: row 2, column `dim_0`: the series is null (expected a list of values)",
            path.display()
        )
    );
}

#[test]
fn every_loader_refuses_a_series_with_every_value_missing_naming_the_file_and_the_series() {
    let dir = tempfile::tempdir().unwrap();
    let msg = "series 2 has no values (every value is missing)";
    let ts = "@dimensions 2\n@classLabel true a b\n@data\n1,2:3,4:a\n?,?:?,?:b\n";
    let arff = "@relation r\n@attribute t0 numeric\n@attribute t1 numeric\n\
                @attribute class {a,b}\n@data\n1,2,a\n?,?,b\n";
    for (file, text, line) in [
        ("A_TRAIN.ts", ts, 5),
        ("B_TRAIN.tsv", "a\t1\t2\nb\tNaN\tNaN\n", 2),
        ("C_TRAIN.arff", arff, 7),
        ("D_TRAIN.csv", "label,t0,t1\na,1,2\nb,,?\n", 3),
        (
            "E_TRAIN.csv",
            "series,time,dim_0,dim_1,label\ns1,0,1,3,a\ns2,0,,?,b\ns1,1,2,4,a\ns2,1,NaN,,b\n",
            3,
        ),
    ] {
        let (e, p) = csv_error(file, text);
        assert_eq!(e, format!("{p}:{line}: {msg}"), "{file}");
    }
    let b = batch(&tokens(ts), "label", false);
    for file in ["F_TRAIN.parquet", "G_TRAIN.feather"] {
        let path = dir.path().join(file);
        if file.ends_with("parquet") {
            write_parquet(&path, &b);
        } else {
            write_ipc(&path, &b);
        }
        let e = read_table(&path, &TableOptions::default())
            .unwrap_err()
            .to_string();
        assert_eq!(e, format!("{}: {msg}", path.display()), "{file}");
    }
}

#[test]
fn another_label_column_name_takes_effect() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("X_TRAIN.csv");
    std::fs::write(&path, "class,t0,t1\nu,1,2\nv,3,4\n").unwrap();
    // By default the label column is `label`, which this file lacks.
    let e = read_table(&path, &TableOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no `label` column"), "{e}");
    let s = read_table(&path, &TableOptions::default().label("class")).unwrap();
    assert_eq!(s.labels(), Some(vec!["u".to_string(), "v".to_string()]));
    assert_eq!(s.series(1, 0), &[3.0, 4.0]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// Whatever the text, the CSV reader answers with an error or a split that `Split` accepts (one
    /// label or target per series, no empty series), never a panic.
    #[test]
    fn the_csv_reader_never_panics(text in "(label|series|time|target|dim0_1|,|\"|\n|a|1|-|\\.|e|\\?| ){0,80}") {
        if let Ok(raw) = mf_data::frame::parse_csv(text.as_bytes(), &TableOptions::default()) {
            let n = raw.labels.as_ref().map_or(0, Vec::len)
                + raw.targets.as_ref().map_or(0, Vec::len);
            proptest::prop_assert_eq!(n, raw.series.len());
            proptest::prop_assert!(raw.series.iter().all(|s| !s.is_empty() && !s[0].is_empty()));
            proptest::prop_assert!(mf_data::Split::from_raw(&raw).is_ok());
        }
    }
}
