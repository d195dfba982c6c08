//! A long signal of your own, read by `load_signal` from CSV, Parquet and Arrow IPC files: one row
//! per step, one column per channel, next-step targets. The same numbers in every format give the
//! same signal bit for bit, and bad files are errors naming the file, the line or row, and the
//! column.
//!
//! The Parquet and IPC files are written as `own_data.rs` writes them (arrow's `ArrowWriter` and
//! IPC `FileWriter`), and by pandas where python3 has pandas and pyarrow; the CSV text from Rust's
//! shortest round-trip formatting of the same `f64`s.

mod common;
use common::{write_ipc, write_parquet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::Float64Builder;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_ipc::writer::{FileWriter, IpcWriteOptions, StreamWriter};
use arrow_ipc::CompressionType;
use mf_data::{load_signal, DataError, Signal};

/// Feather as pyarrow writes it by default: the IPC file format, LZ4-compressed.
fn write_feather_lz4(path: &Path, b: &RecordBatch) {
    let f = std::fs::File::create(path).unwrap();
    let opts = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::LZ4_FRAME))
        .unwrap();
    let mut w = FileWriter::try_new_with_options(f, &b.schema(), opts).unwrap();
    w.write(b).unwrap();
    w.finish().unwrap();
}

fn write_ipc_stream(path: &Path, b: &RecordBatch) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = StreamWriter::try_new(f, &b.schema()).unwrap();
    w.write(b).unwrap();
    w.finish().unwrap();
}

/// Writes a record batch to a file in one of the columnar formats.
type Writer = fn(&Path, &RecordBatch);

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(cols.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap()
}

fn f64s(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

fn targets(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Writes `text` to `<dir>/<file>` and returns the path.
fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Asserts two signals hold the same inputs and targets, bit for bit.
fn assert_same_bits(what: &str, got: &Signal, want: &Signal) {
    assert_eq!(got.inputs().dim(), want.inputs().dim(), "{what}");
    assert_eq!(got.targets().dim(), want.targets().dim(), "{what}");
    let bits = |s: &Signal| -> Vec<u64> {
        s.inputs()
            .iter()
            .chain(s.targets().iter())
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(bits(got), bits(want), "{what}");
}

#[test]
fn a_csv_with_three_channels_predicts_the_target_one_step_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        [0.5, 1.0, -3.0],
        [0.25, 2.0, -2.0],
        [0.125, 4.0, -1.0],
        [0.0625, 8.0, 0.0],
        [0.03125, 16.0, 1.0],
    ];
    let mut text = "a,b,c\n".to_string();
    for r in &rows {
        text += &format!("{},{},{}\n", r[0], r[1], r[2]);
    }
    let path = file(dir.path(), "sensors.csv", &text);
    let s = load_signal(&path, &targets(&["b"])).unwrap();
    assert_eq!(s.inputs().dim(), (4, 3));
    assert_eq!(s.targets().dim(), (4, 1));
    for t in 0..4 {
        assert_eq!(s.inputs().row(t).to_vec(), rows[t].to_vec(), "step {t}");
        assert_eq!(s.targets()[[t, 0]], rows[t + 1][1], "step {t}");
    }
    assert_eq!(s.name(), "sensors");
    assert_eq!(
        s.source(),
        format!(
            "{}: 5 rows of columns `a`, `b`, `c`; inputs `a`, `b`, `c` at step t, targets `b` at \
             step t+1 (next-step prediction), 4 steps",
            path.display()
        )
    );
}

#[test]
fn a_time_column_is_dropped_from_the_inputs_and_must_increase() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "s.csv",
        "a,time,b\n1,0.0,10\n2,0.1,20\n3,0.25,30\n",
    );
    let s = load_signal(&path, &targets(&["a", "b"])).unwrap();
    assert_eq!(s.inputs().row(0).to_vec(), [1.0, 10.0]);
    assert_eq!(s.inputs().row(1).to_vec(), [2.0, 20.0]);
    assert_eq!(s.targets().row(1).to_vec(), [3.0, 30.0]);
    assert!(
        s.source()
            .contains("`time` is the time index (strictly increasing), not an input"),
        "{}",
        s.source()
    );
    let path = file(
        dir.path(),
        "back.csv",
        "a,time,b\n1,0.0,10\n2,0.1,20\n3,0.05,30\n",
    );
    let e = load_signal(&path, &targets(&["b"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}:4: column `time`: time 0.05 does not come after 0.1 on line 3: the time index \
             must be strictly increasing",
            path.display()
        )
    );
    // In a Feather file the index is checked by row.
    let b = batch(vec![
        ("t", Arc::new(Int64Array::from(vec![0, 1, 1])) as ArrayRef),
        ("x", f64s(&[1.0, 2.0, 3.0])),
    ]);
    let path = dir.path().join("s.feather");
    write_ipc(&path, &b);
    let e = load_signal(&path, &targets(&["x"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}: row 3, column `t`: time 1 does not come after 1 on row 2: the time index must be \
             strictly increasing",
            path.display()
        )
    );
}

/// Awkward doubles: not exact in decimal, subnormal, huge, negative zero, and many digits.
fn awkward(n: usize, k: usize) -> Vec<f64> {
    (0..n)
        .map(|t| match (t + k) % 6 {
            0 => 0.1 * (t as f64 + 1.0),
            1 => 1.0 / 3.0 + t as f64,
            2 => 5e-324 * (t as f64 + 1.0),
            3 => -1.7976931348623157e308 / (t as f64 + 1.0),
            4 => -0.0,
            _ => ((t * 7 + k) as f64).sin(),
        })
        .collect()
}

#[test]
fn parquet_feather_and_csv_files_with_the_same_data_give_bit_identical_signals() {
    let dir = tempfile::tempdir().unwrap();
    let n = 50;
    let time: Vec<i64> = (0..n as i64).map(|t| 3 * t - 7).collect();
    let (a, b, c) = (awkward(n, 0), awkward(n, 2), awkward(n, 5));
    let count: Vec<i64> = (0..n as i64).map(|t| t * t - 100).collect();
    let rb = batch(vec![
        ("a", f64s(&a)),
        ("time", Arc::new(Int64Array::from(time.clone())) as ArrayRef),
        ("b", f64s(&b)),
        ("count", Arc::new(Int64Array::from(count.clone()))),
        ("c", f64s(&c)),
    ]);
    let mut text = "a,time,b,count,c\n".to_string();
    for t in 0..n {
        text += &format!("{},{},{},{},{}\n", a[t], time[t], b[t], count[t], c[t]);
    }
    let target = targets(&["c", "a"]);
    let csv = load_signal(&file(dir.path(), "s.csv", &text), &target).unwrap();
    assert_eq!(csv.inputs().dim(), (n - 1, 4));
    assert_eq!(csv.targets().dim(), (n - 1, 2));
    for t in 0..n - 1 {
        // Inputs in file order without the index; targets in the order given, one step later.
        let want = [a[t], b[t], count[t] as f64, c[t]];
        let got = csv.inputs().row(t).to_vec();
        assert!(
            got.iter()
                .zip(&want)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "step {t}: {got:?} vs {want:?}"
        );
        assert_eq!(csv.targets()[[t, 0]].to_bits(), c[t + 1].to_bits());
        assert_eq!(csv.targets()[[t, 1]].to_bits(), a[t + 1].to_bits());
    }
    let writers: [(&str, Writer); 5] = [
        ("s.parquet", write_parquet),
        ("s.pq", write_parquet),
        ("s.feather", write_ipc),
        ("s.arrow", write_feather_lz4),
        ("s.ipc", write_ipc_stream),
    ];
    for (name, write) in writers {
        let path = dir.path().join(name);
        write(&path, &rb);
        let got = load_signal(&path, &target).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same_bits(name, &got, &csv);
        assert!(
            got.source().starts_with(&path.display().to_string()),
            "{}",
            got.source()
        );
    }
}

#[test]
fn files_written_by_pandas_give_the_same_signal_in_every_format() {
    let has_pandas = std::process::Command::new("python3")
        .args(["-c", "import pandas, pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pandas {
        println!("skipped: python3 with pandas and pyarrow is not available");
        return;
    }
    // pandas' defaults: snappy Parquet, LZ4 Feather, and CSV floats written to round-trip; a
    // non-default index is stored as `__index_level_0__` in Parquet and ignored.
    const SCRIPT: &str = r#"
import sys
import numpy as np, pandas as pd
t = np.arange(300) * 0.01
df = pd.DataFrame(
    {"time": t, "x": np.sin(7 * t) / 3, "y": np.cos(3 * t) ** 3, "n": np.arange(300) % 7}
)
df.to_csv(sys.argv[1] + "/p.csv", index=False)
df.to_feather(sys.argv[1] + "/p.feather")
df.to_parquet(sys.argv[1] + "/p.parquet")
df.set_index(pd.Index(np.arange(300) * 2)).to_parquet(sys.argv[1] + "/indexed.parquet")
"#;
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target = targets(&["y"]);
    let csv = load_signal(&dir.path().join("p.csv"), &target).unwrap();
    assert_eq!(csv.inputs().dim(), (299, 3));
    for name in ["p.feather", "p.parquet", "indexed.parquet"] {
        let got =
            load_signal(&dir.path().join(name), &target).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same_bits(name, &got, &csv);
    }
}

/// The error of loading `<dir>/<name>` holding `text`, with the path written `{p}`.
fn csv_error(name: &str, text: &str, target: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), name, text);
    let e = load_signal(&path, &targets(target)).unwrap_err();
    e.to_string().replace(&path.display().to_string(), "{p}")
}

#[test]
fn bad_csv_files_are_refused_naming_the_file_the_line_and_the_column() {
    for (text, target, want) in [
        (
            "a,b\n1,2\n3,high\n",
            &["b"][..],
            "{p}:3: column `b`: expected a number, found \"high\"",
        ),
        (
            "a,b\n1,2\n3,4\n,6\n",
            &["b"],
            "{p}:4: column `a`: missing value (empty cell): a signal needs a value at every step",
        ),
        (
            "a,b\n1,2\n3\n",
            &["b"],
            "{p}:3: missing values: the row has 1 cell but the header has 2",
        ),
        (
            "a,b\n1,2\n3,-inf\n",
            &["b"],
            "{p}:3: column `b`: non-finite value \"-inf\"",
        ),
        (
            "a,b\n1,2\n",
            &["b"],
            "{p}:2: only 1 row: a signal needs at least 2, as the inputs at each step predict the \
             targets at the next",
        ),
        (
            "a,b\n",
            &["b"],
            "{p}:1: only a header, no rows: a signal needs at least 2 rows (time steps)",
        ),
        (
            "",
            &["b"],
            "{p}:1: empty file: expected a header row naming the channels",
        ),
        (
            "a,b,b\n1,2,3\n4,5,6\n",
            &["a"],
            "{p}:1: column `b`: appears twice (columns 2 and 3): every channel needs a name of its \
             own",
        ),
        (
            "a,b\n1,2\n3,4\n",
            &["B"],
            "{p}:1: column `B`: no such column to predict; the columns are `a`, `b`",
        ),
        (
            "a,b\n1,2\n3,4\n",
            &[],
            "{p}:1: no target: name at least one column to predict; the columns are `a`, `b`",
        ),
    ] {
        assert_eq!(csv_error("s.csv", text, target), want, "{text:?}");
    }
}

#[test]
fn bad_parquet_and_feather_files_are_refused_naming_the_file_the_row_and_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut nulls = Float64Builder::new();
    nulls.append_value(1.0);
    nulls.append_value(2.0);
    nulls.append_null();
    let cases: Vec<(&str, RecordBatch, &str)> = vec![
        (
            "null.parquet",
            batch(vec![
                ("a", f64s(&[1.0, 2.0, 3.0])),
                ("b", Arc::new(nulls.finish())),
            ]),
            "{p}: row 3, column `b`: missing value (null): a signal needs a value at every step",
        ),
        (
            "nan.feather",
            batch(vec![
                ("a", f64s(&[1.0, f64::NAN, 3.0])),
                ("b", f64s(&[1.0, 2.0, 3.0])),
            ]),
            "{p}: row 2, column `a`: non-finite value NaN",
        ),
        (
            "inf.parquet",
            batch(vec![
                ("a", f64s(&[1.0, 2.0, 3.0])),
                ("b", f64s(&[1.0, 2.0, f64::INFINITY])),
            ]),
            "{p}: row 3, column `b`: non-finite value inf",
        ),
        (
            "text.feather",
            batch(vec![
                ("a", f64s(&[1.0, 2.0])),
                ("b", Arc::new(StringArray::from(vec!["1", "x"])) as ArrayRef),
            ]),
            "{p}: column `b`: is Utf8, expected numbers (an integer or float column)",
        ),
        (
            "one.parquet",
            batch(vec![("a", f64s(&[1.0])), ("b", f64s(&[2.0]))]),
            "{p}: row 1: only 1 row: a signal needs at least 2, as the inputs at each step \
             predict the targets at the next",
        ),
        (
            "empty.feather",
            batch(vec![("a", f64s(&[])), ("b", f64s(&[]))]),
            "{p}: only a header, no rows: a signal needs at least 2 rows (time steps)",
        ),
        (
            "dup.parquet",
            batch(vec![
                ("a", f64s(&[1.0, 2.0])),
                ("b", f64s(&[1.0, 2.0])),
                ("a", f64s(&[3.0, 4.0])),
            ]),
            "{p}: column `a`: appears twice (columns 1 and 3): every channel needs a name of its \
             own",
        ),
    ];
    for (name, b, want) in cases {
        let path = dir.path().join(name);
        if name.ends_with(".parquet") {
            write_parquet(&path, &b);
        } else {
            write_ipc(&path, &b);
        }
        let e = load_signal(&path, &targets(&["b"]))
            .unwrap_err()
            .to_string()
            .replace(&path.display().to_string(), "{p}");
        assert_eq!(e, want, "{name}");
    }
    let path = dir.path().join("ok.feather");
    write_ipc(
        &path,
        &batch(vec![("a", f64s(&[1.0, 2.0])), ("b", f64s(&[3.0, 4.0]))]),
    );
    let e = load_signal(&path, &targets(&["c"]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}: column `c`: no such column to predict; the columns are `a`, `b`",
            path.display()
        )
    );
}

#[test]
fn other_extensions_and_missing_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = csv_error("s.xlsx", "a,b\n1,2\n", &["b"]);
    assert_eq!(
        e,
        "{p}: unknown extension `.xlsx`: a signal is read from one of .csv, .parquet, .pq, \
         .arrow, .feather, .ipc"
    );
    let e = csv_error("signal", "a,b\n1,2\n", &["b"]);
    assert!(
        e.starts_with("{p}: no extension: a signal is read from"),
        "{e}"
    );
    // The extension is matched without regard to case.
    let path = file(dir.path(), "S.CSV", "a,b\n1,2\n3,4\n");
    assert_eq!(load_signal(&path, &targets(&["b"])).unwrap().len(), 1);
    let missing = dir.path().join("none.csv");
    assert!(matches!(
        load_signal(&missing, &targets(&["b"])),
        Err(DataError::Io { path, .. }) if path == missing
    ));
}
