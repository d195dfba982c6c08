//! A long signal of the user's own, read from a CSV, Parquet or Arrow IPC table with one row per
//! time step and one column per channel, as a next-step prediction task (see [`load_signal`]).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use arrow_array::{Array, RecordBatch};
use arrow_schema::Schema;
use ndarray::Array2;

use super::Signal;
use crate::frame::{
    clip, is_number, is_pandas_index, numbers, read_ipc_batches, read_parquet, table_err,
    TableFormat,
};
use crate::DataError;

/// The names a time index column may have (see [`load_signal`]).
pub const TIME_COLUMNS: [&str; 2] = ["time", "t"];

/// The file extensions [`load_signal`] reads (case-insensitive).
pub const SIGNAL_EXTENSIONS: [&str; 6] = ["csv", "parquet", "pq", "arrow", "feather", "ipc"];

/// Column names listed in full up to this many; longer lists end with the count.
const LISTED_COLUMNS: usize = 32;

/// Loads one long signal from a table of the user's own, as a next-step prediction task.
///
/// Layout: one row per time step, in time order, and one column per channel, every cell a finite
/// number.
///
/// - **CSV** (`.csv`): a header row of channel names (each non-empty), then one line per step;
///   white space around cells is ignored and blank lines are skipped.
/// - **Parquet** (`.parquet`, `.pq`) and **Arrow IPC** (`.arrow`, `.feather`, `.ipc`; the file
///   format as pandas' `to_feather` and polars write it, or a stream): one integer or float
///   column per channel, in schema order, read as [`crate::frame`] reads them (Parquet
///   uncompressed, snappy or zstd; IPC uncompressed or LZ4). Integers beyond 2^53 are refused, as
///   f64 would round them. pandas' index columns (`__index_level_0__`) are ignored.
///
/// `target` names the columns to predict, at least one, in the order the targets take. The task
/// is next-step prediction: with `T` rows, row `t` of [`Signal::inputs`] holds every channel at
/// step `t` (the target columns included, in file order) and row `t` of [`Signal::targets`] holds
/// the target columns at step `t + 1`, so the signal has `T - 1` steps.
///
/// Time index: a column named `time` or `t` ([`TIME_COLUMNS`]) that is not a target is the time
/// index, not a channel. Its values must be strictly increasing (the rows are in time order; the
/// spacing is not checked to be even); it is then dropped from the inputs. A file with both a
/// `time` and a `t` column, neither a target, is refused as ambiguous. Naming `time` or `t` as a
/// target makes it an ordinary channel.
///
/// The signal's name is the file name without its extension; [`Signal::source`] names the file,
/// its row count, the columns, the time index, the inputs and the targets.
///
/// Errors name the file; the place, where there is one: the 1-based line of the file (CSV; the
/// header is line 1, blank lines count) or the 1-based row of the table (Parquet, IPC); and the
/// column, as in
///
/// ```text
/// data/s.csv:3: column `b`: expected a number, found "high"
/// data/s.parquet: row 3, column `b`: missing value (null): a signal needs a value at every step
/// ```
///
/// They are:
///
/// - an extension other than [`SIGNAL_EXTENSIONS`] (listing them);
/// - an empty file (line 1) or a header with an unnamed or repeated column (the header line, or
///   no row in Parquet and IPC);
/// - no target, a target named twice, or a target that is not a column (listing the columns);
/// - a column that is not numeric (Parquet, IPC: the column's type is named, there is no row);
/// - a missing value: an empty cell, `?`, `NA`, `N/A`, `null` or `None` (CSV), a null (Parquet,
///   IPC), or a CSV row with too few or too many cells;
/// - a value that is not a number, or one that is not finite (`NaN`, `inf`);
/// - a time index that does not increase (the row where it fails, naming the previous one);
/// - a header only, or a single row: a signal needs at least 2 rows.
pub fn load_signal(path: &Path, target: &[String]) -> Result<Signal, DataError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let format = TableFormat::from_ext(ext).ok_or_else(|| {
        let found = if ext.is_empty() {
            "no extension".to_string()
        } else {
            format!("unknown extension `.{ext}`")
        };
        table_err(
            path,
            format!(
                "{found}: a signal is read from one of .{}",
                SIGNAL_EXTENSIONS.join(", .")
            ),
        )
    })?;
    let (table, layout) = match format {
        TableFormat::Csv => {
            let f = File::open(path).map_err(|source| DataError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            read_csv(f, path, target)?
        }
        TableFormat::Parquet => {
            let (schema, batches) = read_parquet(path)?;
            read_batches(&schema, &batches, path, target)?
        }
        TableFormat::Ipc => {
            let (schema, batches) = read_ipc_batches(path)?;
            read_batches(&schema, &batches, path, target)?
        }
    };
    signal_of(&table, &layout, path)
}

/// Where a value sits in the file, for error messages.
#[derive(Debug)]
enum Places {
    /// CSV: the header's line and each data row's line, 1-based lines of the file.
    Lines { header: usize, rows: Vec<usize> },
    /// Parquet and IPC: data row `r` (0-based) is row `r + 1` of the table.
    Rows,
}

impl Places {
    /// An error about `path` at data row `row` (0-based; `None` for the header or the whole
    /// table) and `column`.
    fn fault(
        &self,
        path: &Path,
        row: Option<usize>,
        column: Option<&str>,
        msg: impl Into<String>,
    ) -> DataError {
        let msg = msg.into();
        match self {
            Places::Lines { header, rows } => DataError::Parse {
                path: path.display().to_string(),
                line: row.map_or(*header, |r| rows[r]),
                msg: match column {
                    Some(c) => format!("column `{c}`: {msg}"),
                    None => msg,
                },
            },
            Places::Rows => DataError::Table {
                path: path.to_path_buf(),
                row: row.map(|r| r + 1),
                column: column.map(str::to_string),
                msg,
            },
        }
    }

    /// `line 3` or `row 2`, for data row `r` (0-based).
    fn name(&self, r: usize) -> String {
        match self {
            Places::Lines { rows, .. } => format!("line {}", rows[r]),
            Places::Rows => format!("row {}", r + 1),
        }
    }
}

/// A table as read: every column's values, all finite and of one length, and where they sit.
#[derive(Debug)]
struct Table {
    names: Vec<String>,
    columns: Vec<Vec<f64>>,
    places: Places,
}

/// Which columns are what, by position in the file.
#[derive(Debug)]
struct Layout {
    time: Option<usize>,
    inputs: Vec<usize>,
    targets: Vec<usize>,
}

/// `a`, `b`, `c` (at most [`LISTED_COLUMNS`] of them, then the count).
fn list(names: &[String]) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(LISTED_COLUMNS)
        .map(|n| format!("`{}`", clip(n)))
        .collect();
    if names.len() > LISTED_COLUMNS {
        format!("{}, ... ({} in all)", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}

/// Checks the column names against the target and finds the time index. An error names the
/// column it concerns, if one.
fn layout(names: &[String], target: &[String]) -> Result<Layout, (Option<String>, String)> {
    for (i, n) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|m| m == n) {
            return Err((
                Some(n.clone()),
                format!(
                    "appears twice (columns {} and {}): every channel needs a name of its own",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    if target.is_empty() {
        return Err((
            None,
            format!(
                "no target: name at least one column to predict; the columns are {}",
                list(names)
            ),
        ));
    }
    let mut targets = Vec::with_capacity(target.len());
    for (k, t) in target.iter().enumerate() {
        if target[..k].contains(t) {
            return Err((Some(t.clone()), "is named twice as a target".into()));
        }
        match names.iter().position(|n| n == t) {
            Some(i) => targets.push(i),
            None => {
                return Err((
                    Some(t.clone()),
                    format!("no such column to predict; the columns are {}", list(names)),
                ))
            }
        }
    }
    let candidates: Vec<usize> = (0..names.len())
        .filter(|i| TIME_COLUMNS.contains(&names[*i].as_str()) && !targets.contains(i))
        .collect();
    if candidates.len() > 1 {
        let msg = "both `time` and `t` could be the time index: rename the one that is a \
                   channel, or name it as a target";
        return Err((None, msg.into()));
    }
    let time = candidates.first().copied();
    let inputs = (0..names.len()).filter(|&i| Some(i) != time).collect();
    Ok(Layout {
        time,
        inputs,
        targets,
    })
}

/// Cell texts read as missing rather than as a malformed number.
const MISSING: [&str; 5] = ["?", "na", "n/a", "null", "none"];

/// One CSV cell (already trimmed) as a finite number, or what is wrong with it.
fn cell(t: &str) -> Result<f64, String> {
    if t.is_empty() {
        return Err("missing value (empty cell): a signal needs a value at every step".into());
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("non-finite value {t:?}")),
        Err(_) if MISSING.iter().any(|m| t.eq_ignore_ascii_case(m)) => Err(format!(
            "missing value {t:?}: a signal needs a value at every step"
        )),
        Err(_) => Err(format!("expected a number, found {:?}", clip(t))),
    }
}

/// The 1-based line on which the record of `data` at `pos` starts. The csv crate places a record
/// where its reader stopped after the previous one, before the blank lines it skips; they are
/// counted here.
fn start_line(data: &[u8], pos: Option<&csv::Position>) -> usize {
    let Some(p) = pos else { return 1 };
    let rest = data.get(p.byte() as usize..).unwrap_or_default();
    let blank = rest
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|&&b| b == b'\n')
        .count();
    p.line() as usize + blank
}

/// Reads a CSV table: its header, checked against `target`, then every row. `path` only names
/// the file in errors. The text is read whole, to place every row on its line.
fn read_csv(
    mut reader: impl Read,
    path: &Path,
    target: &[String],
) -> Result<(Table, Layout), DataError> {
    let mut data = Vec::new();
    reader
        .read_to_end(&mut data)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let file = path.display().to_string();
    let perr = |line: usize, msg: String| DataError::parse(&file, line, msg);
    // The csv crate's own message places the record by its reader's count of lines, which
    // misses blank lines: say it again without the place.
    let csv_err = |e: csv::Error, names: &[String]| {
        let msg = match e.kind() {
            csv::ErrorKind::Utf8 { err, .. } => {
                let column = match names.get(err.field()) {
                    Some(n) => format!("column `{n}`"),
                    None => format!("field {}", err.field() + 1),
                };
                format!("{column}: the text is not UTF-8 (save the file as UTF-8)")
            }
            _ => e.to_string(),
        };
        perr(start_line(&data, e.position()), msg)
    };
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(&data[..])
        .into_records();
    let header = match records.next() {
        None => {
            return Err(perr(
                1,
                "empty file: expected a header row naming the channels".into(),
            ))
        }
        Some(r) => r.map_err(|e| csv_err(e, &[]))?,
    };
    let header_line = start_line(&data, header.position());
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, n)| match i {
            0 => n.trim_start_matches('\u{feff}').to_string(),
            _ => n.to_string(),
        })
        .collect();
    if let Some(i) = names.iter().position(String::is_empty) {
        return Err(perr(
            header_line,
            format!(
                "column {} has no name: the header row names every channel (pandas writes its \
                 index so: save with index=False)",
                i + 1
            ),
        ));
    }
    let mut places = Places::Lines {
        header: header_line,
        rows: Vec::new(),
    };
    let layout =
        layout(&names, target).map_err(|(c, m)| places.fault(path, None, c.as_deref(), m))?;
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut lines = Vec::new();
    for rec in records {
        let rec = rec.map_err(|e| csv_err(e, &names))?;
        let line = start_line(&data, rec.position());
        if rec.len() != names.len() {
            let what = if rec.len() < names.len() {
                "missing values: "
            } else {
                ""
            };
            return Err(perr(
                line,
                format!(
                    "{what}the row has {} cell{} but the header has {}",
                    rec.len(),
                    if rec.len() == 1 { "" } else { "s" },
                    names.len()
                ),
            ));
        }
        for ((col, name), text) in columns.iter_mut().zip(&names).zip(rec.iter()) {
            col.push(cell(text).map_err(|m| perr(line, format!("column `{name}`: {m}")))?);
        }
        lines.push(line);
    }
    if let Places::Lines { rows, .. } = &mut places {
        *rows = lines;
    }
    Ok((
        Table {
            names,
            columns,
            places,
        },
        layout,
    ))
}

/// Reads a Parquet or Arrow IPC table: its schema, checked against `target`, then every numeric
/// column. `path` only names the file in errors.
fn read_batches(
    schema: &Schema,
    batches: &[RecordBatch],
    path: &Path,
    target: &[String],
) -> Result<(Table, Layout), DataError> {
    let places = Places::Rows;
    let kept: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !is_pandas_index(schema.field(i).name()))
        .collect();
    let names: Vec<String> = kept
        .iter()
        .map(|&i| schema.field(i).name().clone())
        .collect();
    let layout =
        layout(&names, target).map_err(|(c, m)| places.fault(path, None, c.as_deref(), m))?;
    let mut columns = Vec::with_capacity(kept.len());
    for (&i, name) in kept.iter().zip(&names) {
        let dt = schema.field(i).data_type();
        if !is_number(dt) {
            return Err(places.fault(
                path,
                None,
                Some(name),
                format!("is {dt}, expected numbers (an integer or float column)"),
            ));
        }
        let mut values = Vec::new();
        for b in batches {
            let col = b.column(i);
            let offset = values.len();
            let v = numbers(col)
                .map_err(|(r, m)| places.fault(path, Some(offset + r), Some(name), m))?;
            if let Some(r) = v.iter().position(|x| !x.is_finite()) {
                let msg = if col.is_null(r) {
                    "missing value (null): a signal needs a value at every step".to_string()
                } else {
                    format!("non-finite value {}", v[r])
                };
                return Err(places.fault(path, Some(offset + r), Some(name), msg));
            }
            values.extend(v);
        }
        columns.push(values);
    }
    Ok((
        Table {
            names,
            columns,
            places,
        },
        layout,
    ))
}

/// The next-step task of a checked table: inputs at rows `0..T-1`, targets at rows `1..T`.
fn signal_of(table: &Table, layout: &Layout, path: &Path) -> Result<Signal, DataError> {
    let Table {
        names,
        columns,
        places,
    } = table;
    let n_rows = columns.first().map_or(0, Vec::len);
    match n_rows {
        0 => {
            return Err(places.fault(
                path,
                None,
                None,
                "only a header, no rows: a signal needs at least 2 rows (time steps)",
            ))
        }
        1 => {
            return Err(places.fault(
                path,
                Some(0),
                None,
                "only 1 row: a signal needs at least 2, as the inputs at each step predict the \
                 targets at the next",
            ))
        }
        _ => {}
    }
    if let Some(i) = layout.time {
        let t = &columns[i];
        if let Some(r) = (1..n_rows).find(|&r| t[r] <= t[r - 1]) {
            return Err(places.fault(
                path,
                Some(r),
                Some(&names[i]),
                format!(
                    "time {} does not come after {} on {}: the time index must be strictly \
                     increasing",
                    t[r],
                    t[r - 1],
                    places.name(r - 1)
                ),
            ));
        }
    }
    let n_steps = n_rows - 1;
    let inputs = Array2::from_shape_fn((n_steps, layout.inputs.len()), |(t, c)| {
        columns[layout.inputs[c]][t]
    });
    let targets = Array2::from_shape_fn((n_steps, layout.targets.len()), |(t, c)| {
        columns[layout.targets[c]][t + 1]
    });
    let pick = |cols: &[usize]| {
        let picked: Vec<String> = cols.iter().map(|&i| names[i].clone()).collect();
        list(&picked)
    };
    let time = match layout.time {
        Some(i) => format!(
            "; `{}` is the time index (strictly increasing), not an input",
            names[i]
        ),
        None => String::new(),
    };
    let source = format!(
        "{}: {n_rows} rows of columns {}{time}; inputs {} at step t, targets {} at step t+1 \
         (next-step prediction), {n_steps} steps",
        path.display(),
        list(names),
        pick(&layout.inputs),
        pick(&layout.targets),
    );
    let name = path.file_stem().map_or_else(
        || "signal".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    Signal::new(name, source, inputs, targets)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::Float64Builder;
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use ndarray::array;

    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The signal of a CSV text read as `dir/s.csv` (no file is opened) with targets `target`.
    fn csv(text: &str, target: &[&str]) -> Result<Signal, DataError> {
        let path = Path::new("dir/s.csv");
        let (table, layout) = read_csv(text.as_bytes(), path, &names(target))?;
        signal_of(&table, &layout, path)
    }

    fn csv_error(text: &str, target: &[&str]) -> String {
        csv(text, target).unwrap_err().to_string()
    }

    /// The signal of record batches read as `dir/s.parquet`.
    fn columnar(cols: Vec<(&str, ArrayRef)>, target: &[&str]) -> Result<Signal, DataError> {
        let b =
            RecordBatch::try_from_iter(cols.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap();
        let path = Path::new("dir/s.parquet");
        let (table, layout) =
            read_batches(&b.schema(), std::slice::from_ref(&b), path, &names(target))?;
        signal_of(&table, &layout, path)
    }

    fn f64s(v: &[f64]) -> ArrayRef {
        Arc::new(Float64Array::from(v.to_vec()))
    }

    #[test]
    fn inputs_are_every_channel_now_and_targets_the_target_channels_one_step_later() {
        let s = csv("a,b,c\n1,10,100\n2,20,200\n3,30,300\n4,40,400\n", &["b"]).unwrap();
        assert_eq!(
            s.inputs(),
            array![[1.0, 10.0, 100.0], [2.0, 20.0, 200.0], [3.0, 30.0, 300.0]]
        );
        assert_eq!(s.targets(), array![[20.0], [30.0], [40.0]]);
        assert_eq!(s.name(), "s");
        assert_eq!(
            s.source(),
            "dir/s.csv: 4 rows of columns `a`, `b`, `c`; inputs `a`, `b`, `c` at step t, targets \
             `b` at step t+1 (next-step prediction), 3 steps"
        );
        // Targets come in the order given, inputs in file order.
        let s = csv("a,b,c\n1,10,100\n2,20,200\n", &["c", "a"]).unwrap();
        assert_eq!(s.inputs(), array![[1.0, 10.0, 100.0]]);
        assert_eq!(s.targets(), array![[200.0, 2.0]]);
    }

    #[test]
    fn a_time_or_t_column_is_an_index_dropped_from_the_inputs_unless_it_is_a_target() {
        let s = csv("x,time,y\n1,0.0,5\n2,0.5,6\n3,2,7\n", &["y"]).unwrap();
        assert_eq!(s.inputs(), array![[1.0, 5.0], [2.0, 6.0]]);
        assert_eq!(s.targets(), array![[6.0], [7.0]]);
        assert!(
            s.source().contains("`time` is the time index"),
            "{}",
            s.source()
        );
        let s = csv("t,y\n1,5\n2,6\n", &["y"]).unwrap();
        assert_eq!(s.inputs(), array![[5.0]]);
        // As a target, `t` is a channel like any other, and need not increase.
        let s = csv("t,y\n2,5\n1,6\n", &["t"]).unwrap();
        assert_eq!(s.inputs(), array![[2.0, 5.0]]);
        assert_eq!(s.targets(), array![[1.0]]);
        // With `time` a target, `t` is the index.
        let s = csv("time,t,y\n7,1,5\n8,2,6\n", &["time"]).unwrap();
        assert_eq!(s.inputs(), array![[7.0, 5.0]]);
    }

    #[test]
    fn a_time_index_that_does_not_increase_is_refused_naming_both_lines() {
        let e = csv_error("time,y\n0,1\n1,2\n1,3\n", &["y"]);
        assert_eq!(
            e,
            "dir/s.csv:4: column `time`: time 1 does not come after 1 on line 3: the time index \
             must be strictly increasing"
        );
        let e = columnar(
            vec![
                ("t", Arc::new(Int64Array::from(vec![3, 2])) as ArrayRef),
                ("y", f64s(&[1.0, 2.0])),
            ],
            &["y"],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "dir/s.parquet: row 2, column `t`: time 2 does not come after 3 on row 1: the time \
             index must be strictly increasing"
        );
        let e = csv_error("time,t,y\n0,0,1\n1,1,2\n", &["y"]);
        assert!(e.starts_with("dir/s.csv:1: both `time` and `t`"), "{e}");
    }

    #[test]
    fn bad_csv_cells_are_refused_naming_the_line_and_the_column() {
        for (text, want) in [
            (
                "a,b\n1,2\n3,x\n",
                "dir/s.csv:3: column `b`: expected a number, found \"x\"",
            ),
            (
                "a,b\n1,2\n,4\n",
                "dir/s.csv:3: column `a`: missing value (empty cell): a signal needs a value at \
                 every step",
            ),
            (
                "a,b\n1,NA\n3,4\n",
                "dir/s.csv:2: column `b`: missing value \"NA\": a signal needs a value at every \
                 step",
            ),
            (
                "a,b\n1,2\n3,4\n5,inf\n",
                "dir/s.csv:4: column `b`: non-finite value \"inf\"",
            ),
            (
                "a,b\n1,2\n3,NaN\n",
                "dir/s.csv:3: column `b`: non-finite value \"NaN\"",
            ),
            (
                "a,b\n1,2\n3\n",
                "dir/s.csv:3: missing values: the row has 1 cell but the header has 2",
            ),
            (
                "a,b\n1,2\n3,4,5\n",
                "dir/s.csv:3: the row has 3 cells but the header has 2",
            ),
            // Blank lines are skipped but counted, with either line ending.
            (
                "a,b\n\n1,2\n\n\n3,?\n",
                "dir/s.csv:6: column `b`: missing value \"?\": a signal needs a value at every \
                 step",
            ),
            (
                "\r\na,b\r\n1,2\r\n\r\n3,?",
                "dir/s.csv:5: column `b`: missing value \"?\": a signal needs a value at every \
                 step",
            ),
        ] {
            assert_eq!(csv_error(text, &["b"]), want, "{text:?}");
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_naming_its_line() {
        let path = Path::new("dir/s.csv");
        let e = read_csv(&b"a,b\n1,2\n\n3,\xff\n"[..], path, &names(&["b"]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "dir/s.csv:4: column `b`: the text is not UTF-8 (save the file as UTF-8)"
        );
    }

    #[test]
    fn bad_headers_and_targets_are_refused_naming_the_columns() {
        for (text, target, want) in [
            (
                "",
                &["b"][..],
                "dir/s.csv:1: empty file: expected a header row naming the channels",
            ),
            (
                "a,b,a\n1,2,3\n",
                &["b"],
                "dir/s.csv:1: column `a`: appears twice (columns 1 and 3): every channel needs a \
                 name of its own",
            ),
            (
                "a,,c\n1,2,3\n",
                &["a"],
                "dir/s.csv:1: column 2 has no name: the header row names every channel (pandas \
                 writes its index so: save with index=False)",
            ),
            (
                "a,b\n1,2\n",
                &["z"],
                "dir/s.csv:1: column `z`: no such column to predict; the columns are `a`, `b`",
            ),
            (
                "a,b\n1,2\n",
                &[],
                "dir/s.csv:1: no target: name at least one column to predict; the columns are \
                 `a`, `b`",
            ),
            (
                "a,b\n1,2\n",
                &["b", "b"],
                "dir/s.csv:1: column `b`: is named twice as a target",
            ),
            (
                "a,b\n",
                &["b"],
                "dir/s.csv:1: only a header, no rows: a signal needs at least 2 rows (time steps)",
            ),
            (
                "a,b\n1,2\n",
                &["b"],
                "dir/s.csv:2: only 1 row: a signal needs at least 2, as the inputs at each step \
                 predict the targets at the next",
            ),
        ] {
            assert_eq!(csv_error(text, target), want, "{text:?} {target:?}");
        }
    }

    #[test]
    fn bad_columnar_values_are_refused_naming_the_row_and_the_column() {
        let mut nulls = Float64Builder::new();
        nulls.append_value(1.0);
        nulls.append_null();
        let nulls: ArrayRef = Arc::new(nulls.finish());
        let text: ArrayRef = Arc::new(StringArray::from(vec!["1", "2"]));
        let big: ArrayRef = Arc::new(Int64Array::from(vec![1, i64::MAX]));
        for (bad, want) in [
            (
                nulls,
                "dir/s.parquet: row 2, column `b`: missing value (null): a signal needs a value \
                 at every step",
            ),
            (
                f64s(&[1.0, f64::NEG_INFINITY]),
                "dir/s.parquet: row 2, column `b`: non-finite value -inf",
            ),
            (
                f64s(&[f64::NAN, 1.0]),
                "dir/s.parquet: row 1, column `b`: non-finite value NaN",
            ),
            (
                text,
                "dir/s.parquet: column `b`: is Utf8, expected numbers (an integer or float column)",
            ),
            (
                big,
                "dir/s.parquet: row 2, column `b`: integer 9223372036854775807 is too large for \
                 an exact f64",
            ),
        ] {
            let e = columnar(vec![("a", f64s(&[1.0, 2.0])), ("b", bad)], &["a"])
                .unwrap_err()
                .to_string();
            assert_eq!(e, want);
        }
        let e = columnar(vec![("a", f64s(&[1.0]))], &["a"])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("dir/s.parquet: row 1: only 1 row"), "{e}");
        let e = columnar(vec![("a", f64s(&[]))], &["a"])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("dir/s.parquet: only a header, no rows"),
            "{e}"
        );
        let e = columnar(vec![("a", f64s(&[1.0, 2.0]))], &["b"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "dir/s.parquet: column `b`: no such column to predict; the columns are `a`"
        );
    }

    #[test]
    fn integer_columns_and_pandas_index_columns_are_read_as_documented() {
        let s = columnar(
            vec![
                (
                    "__index_level_0__",
                    Arc::new(Int64Array::from(vec![9, 3, 5])) as ArrayRef,
                ),
                ("a", Arc::new(Int64Array::from(vec![1, 2, 3]))),
                ("b", f64s(&[0.5, 0.25, 0.125])),
            ],
            &["b"],
        )
        .unwrap();
        assert_eq!(s.inputs(), array![[1.0, 0.5], [2.0, 0.25]]);
        assert_eq!(s.targets(), array![[0.25], [0.125]]);
    }

    #[test]
    fn long_column_lists_are_cut_with_the_count() {
        let many: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        let l = list(&many);
        assert!(
            l.starts_with("`c0`, `c1`") && l.ends_with("`c31`, ... (40 in all)"),
            "{l}"
        );
    }
}
