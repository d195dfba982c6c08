//! Parquet and Arrow IPC: a label or target column and one list column per dimension.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_ipc::reader::{FileReader, StreamReader};
use arrow_schema::{DataType, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{find_answer, table_err, Answer, TableFormat, TableOptions};
use crate::parse::{check_has_values, RawSplit};
use crate::DataError;

/// Largest integer magnitude every value up to which is exact in f64.
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// An error at a place in the table, before the path is known.
struct At {
    row: Option<usize>,
    column: Option<String>,
    msg: String,
}

impl At {
    fn into_error(self, path: &Path) -> DataError {
        DataError::Table {
            path: path.to_path_buf(),
            row: self.row,
            column: self.column,
            msg: self.msg,
        }
    }
}

fn at(row: Option<usize>, column: &str, msg: impl Into<String>) -> At {
    At {
        row,
        column: Some(column.to_string()),
        msg: msg.into(),
    }
}

/// Reads the split in a Parquet or Arrow IPC file.
pub(super) fn read_columnar(
    path: &Path,
    format: TableFormat,
    opts: &TableOptions,
) -> Result<RawSplit, DataError> {
    let (schema, batches) = match format {
        TableFormat::Parquet => read_parquet(path)?,
        _ => read_ipc_batches(path)?,
    };
    split_of(&schema, &batches, opts).map_err(|e| e.into_error(path))
}

/// What to write instead of a compression this build does not read.
const PARQUET_CODECS: &str = "snappy (pandas' default), zstd (polars' default) or uncompressed";
const IPC_CODECS: &str = "lz4 (Feather's default) or uncompressed";

/// Says what an unreadable compression is and how to write a file this build reads (`instead`).
fn hint(msg: String, instead: &str) -> String {
    let codec = ["zstd", "brotli", "gzip", "flate2", "lz4", "lzo"]
        .into_iter()
        .find(|c| msg.to_ascii_lowercase().contains(c));
    match codec {
        Some(c) if msg.contains("feature") || msg.contains("not supported") => format!(
            "the file is compressed with {c}, which this build does not read; write it with {instead}"
        ),
        _ => msg,
    }
}

pub(crate) fn read_parquet(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>), DataError> {
    let f = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |msg: String| table_err(path, hint(msg, PARQUET_CODECS));
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| bad(format!("parquet: {e}")))?;
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(|e| bad(format!("parquet: {e}")))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("parquet: {e}")))?;
    Ok((schema, batches))
}

/// The Arrow IPC file format, or the stream format when the file does not start with the file
/// format's magic bytes.
pub(crate) fn read_ipc_batches(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>), DataError> {
    let open = || {
        File::open(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let bad =
        |e: arrow_schema::ArrowError| table_err(path, hint(format!("arrow ipc: {e}"), IPC_CODECS));
    let mut magic = [0u8; 6];
    let is_file = open()?.read_exact(&mut magic).is_ok() && &magic == b"ARROW1";
    if is_file {
        let r = FileReader::try_new(BufReader::new(open()?), None).map_err(bad)?;
        let schema = r.schema();
        let batches = r.collect::<Result<Vec<_>, _>>().map_err(bad)?;
        Ok((schema, batches))
    } else {
        let r = StreamReader::try_new(BufReader::new(open()?), None).map_err(bad)?;
        let schema = r.schema();
        let batches = r.collect::<Result<Vec<_>, _>>().map_err(bad)?;
        Ok((schema, batches))
    }
}

/// A split from Arrow record batches laid out as the module documentation says (a label or
/// target column and one list column per dimension). Errors name the 1-based row over all batches
/// and the column; their path is `<batches>`.
pub fn split_from_batches(
    schema: &Schema,
    batches: &[RecordBatch],
    opts: &TableOptions,
) -> Result<RawSplit, DataError> {
    split_of(schema, batches, opts).map_err(|e| e.into_error(Path::new("<batches>")))
}

/// Whether a column is the index pandas stores beside the data (`__index_level_0__`).
pub(crate) fn is_pandas_index(name: &str) -> bool {
    name.strip_prefix("__index_level_")
        .and_then(|r| r.strip_suffix("__"))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn is_number(dt: &DataType) -> bool {
    dt.is_integer() || matches!(dt, DataType::Float32 | DataType::Float64)
}

fn split_of(schema: &Schema, batches: &[RecordBatch], opts: &TableOptions) -> Result<RawSplit, At> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let answer = find_answer(&names, opts).map_err(|msg| At {
        row: None,
        column: None,
        msg,
    })?;
    let mut dims = Vec::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if i == answer.index() || is_pandas_index(f.name()) {
            continue;
        }
        let item = match f.data_type() {
            DataType::List(it) | DataType::LargeList(it) | DataType::FixedSizeList(it, _) => it,
            dt => {
                return Err(at(
                    None,
                    f.name(),
                    format!(
                    "is {dt}, expected a list of numbers: Parquet and Arrow files hold one list \
                         column per dimension besides `{}`",
                    names[answer.index()]
                ),
                ))
            }
        };
        if !is_number(item.data_type()) {
            return Err(at(
                None,
                f.name(),
                format!(
                    "is a list of {}, expected a list of numbers",
                    item.data_type()
                ),
            ));
        }
        dims.push(i);
    }
    if dims.is_empty() {
        return Err(At {
            row: None,
            column: None,
            msg: "no list column: Parquet and Arrow files hold one list column of values per \
                  dimension"
                .into(),
        });
    }
    let answer_name = names[answer.index()];
    let mut raw = RawSplit::default();
    let mut offset = 0;
    for b in batches {
        let col = b.column(answer.index());
        match answer {
            Answer::Label(_) => raw
                .labels
                .get_or_insert_with(Vec::new)
                .extend(labels_of(col).map_err(|(r, m)| at(Some(offset + r + 1), answer_name, m))?),
            Answer::Target(_) => raw.targets.get_or_insert_with(Vec::new).extend(
                targets_of(col).map_err(|(r, m)| at(Some(offset + r + 1), answer_name, m))?,
            ),
        }
        for r in 0..b.num_rows() {
            let row = offset + r + 1;
            let mut series: Vec<Vec<f64>> = Vec::with_capacity(dims.len());
            for &d in &dims {
                let name = names[d];
                let v = list_at(b.column(d), r).map_err(|m| at(Some(row), name, m))?;
                if v.is_empty() {
                    return Err(at(Some(row), name, "the series is empty"));
                }
                if let Some(first) = series.first() {
                    if first.len() != v.len() {
                        return Err(at(
                            Some(row),
                            name,
                            format!(
                                "has {} values but `{}` has {}: every dimension of a series has \
                                 the same length",
                                v.len(),
                                names[dims[0]],
                                first.len()
                            ),
                        ));
                    }
                }
                series.push(v);
            }
            // The row is the series' number, which the message names: no `row` to repeat it.
            check_has_values(&series, row).map_err(|msg| At {
                row: None,
                column: None,
                msg,
            })?;
            raw.series.push(series);
        }
        offset += b.num_rows();
    }
    Ok(raw)
}

/// The values of row `r` of a list column: null elements are missing (NaN), infinite ones errors.
fn list_at(col: &ArrayRef, r: usize) -> Result<Vec<f64>, String> {
    if col.is_null(r) {
        return Err("the series is null (expected a list of values)".into());
    }
    let items = match col.data_type() {
        DataType::List(_) => col.as_list::<i32>().value(r),
        DataType::LargeList(_) => col.as_list::<i64>().value(r),
        DataType::FixedSizeList(..) => col.as_fixed_size_list().value(r),
        dt => return Err(format!("is {dt}, expected a list")),
    };
    let values = numbers(&items).map_err(|(i, m)| format!("step {}: {m}", i + 1))?;
    if let Some(i) = values.iter().position(|v| v.is_infinite()) {
        return Err(format!("step {}: non-finite value {}", i + 1, values[i]));
    }
    Ok(values)
}

/// Every element of a numeric array as f64 (nulls and NaN as NaN); integers beyond 2^53 are
/// refused since f64 would round them. Errors carry the 0-based element index.
pub(crate) fn numbers(a: &ArrayRef) -> Result<Vec<f64>, (usize, String)> {
    macro_rules! ints {
        ($t:ty) => {{
            let p = a.as_primitive::<$t>();
            (0..p.len())
                .map(|i| {
                    if p.is_null(i) {
                        return Ok(f64::NAN);
                    }
                    let v = p.value(i) as f64;
                    if v.abs() > EXACT_INT {
                        return Err((
                            i,
                            format!("integer {} is too large for an exact f64", p.value(i)),
                        ));
                    }
                    Ok(v)
                })
                .collect()
        }};
    }
    macro_rules! floats {
        ($t:ty) => {{
            let p = a.as_primitive::<$t>();
            Ok((0..p.len())
                .map(|i| {
                    let v = f64::from(p.value(i));
                    // One NaN for every missing value, whatever its payload.
                    if p.is_null(i) || v.is_nan() {
                        f64::NAN
                    } else {
                        v
                    }
                })
                .collect())
        }};
    }
    match a.data_type() {
        DataType::Float64 => floats!(Float64Type),
        DataType::Float32 => floats!(Float32Type),
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        dt => Err((0, format!("{dt} is not a number type"))),
    }
}

/// The labels of a column of text, integers, finite floats or a dictionary of them, trimmed.
/// Errors carry the 0-based row.
fn labels_of(col: &ArrayRef) -> Result<Vec<String>, (usize, String)> {
    let text: Vec<Option<String>> = match col.data_type() {
        DataType::Utf8 => col
            .as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect(),
        DataType::LargeUtf8 => col
            .as_string::<i64>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect(),
        DataType::Utf8View => col
            .as_string_view()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect(),
        DataType::Dictionary(..) => {
            let d = col.as_any_dictionary();
            if d.values().is_empty() {
                // Every row is null (or there is none): nothing to look up.
                return match col.len() {
                    0 => Ok(Vec::new()),
                    _ => Err((0, "the label is missing (null)".to_string())),
                };
            }
            let values =
                labels_of(d.values()).map_err(|(_, m)| (0, format!("in the dictionary: {m}")))?;
            let keys = d.normalized_keys();
            (0..col.len())
                .map(|r| (!col.is_null(r)).then(|| values[keys[r]].clone()))
                .collect()
        }
        dt if is_number(dt) => {
            let v = numbers(col)?;
            v.iter()
                .enumerate()
                .map(|(r, x)| {
                    if col.is_null(r) {
                        Ok(None)
                    } else if x.is_finite() {
                        Ok(Some(x.to_string()))
                    } else {
                        Err((r, format!("the label {x} is not a finite number")))
                    }
                })
                .collect::<Result<_, _>>()?
        }
        dt => {
            return Err((
                0,
                format!("is {dt}, expected text or numbers for class labels"),
            ))
        }
    };
    text.into_iter()
        .enumerate()
        .map(|(r, s)| match s.as_deref().map(str::trim) {
            None => Err((r, "the label is missing (null)".to_string())),
            Some("") => Err((r, "the label is empty".to_string())),
            Some(t) => Ok(t.to_string()),
        })
        .collect()
}

/// The regression targets of a numeric column. Errors carry the 0-based row.
fn targets_of(col: &ArrayRef) -> Result<Vec<f64>, (usize, String)> {
    if !is_number(col.data_type()) {
        return Err((
            0,
            format!(
                "is {}, expected numbers for regression targets",
                col.data_type()
            ),
        ));
    }
    let v = numbers(col)?;
    if let Some(r) = v.iter().position(|x| !x.is_finite()) {
        let why = if col.is_null(r) || v[r].is_nan() {
            "the target is missing".to_string()
        } else {
            format!("non-finite target {}", v[r])
        };
        return Err((r, why));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{
        Float32Builder, LargeListBuilder, ListBuilder, StringDictionaryBuilder,
    };
    use arrow_array::types::Int32Type;
    use arrow_array::{Float64Array, Int64Array, StringArray};
    use arrow_schema::Field;

    use super::*;

    fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(cols.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap()
    }

    fn read(b: &RecordBatch) -> Result<RawSplit, DataError> {
        split_from_batches(
            &b.schema(),
            std::slice::from_ref(b),
            &TableOptions::default(),
        )
    }

    #[test]
    fn list_columns_of_any_width_read_with_nulls_as_missing_values() {
        let mut f32s = ListBuilder::new(Float32Builder::new());
        f32s.append_value([Some(0.1f32), None, Some(3.0)]);
        f32s.append_value([Some(-2.5f32)]);
        let mut large = LargeListBuilder::new(arrow_array::builder::Int64Builder::new());
        large.append_value([Some(7i64), Some(8), Some(9)]);
        large.append_value([None]);
        let mut dict = StringDictionaryBuilder::<Int32Type>::new();
        dict.append_value("b");
        dict.append_value(" a ");
        let b = batch(vec![
            ("dim_0", Arc::new(f32s.finish()) as ArrayRef),
            ("label", Arc::new(dict.finish())),
            ("dim_1", Arc::new(large.finish())),
            ("__index_level_0__", Arc::new(Int64Array::from(vec![5, 6]))),
        ]);
        let r = read(&b).unwrap();
        assert_eq!(r.labels.as_deref().unwrap(), ["b", "a"]);
        // f32 widens to f64 exactly.
        assert_eq!(r.series[0][0][0], f64::from(0.1f32));
        assert!(r.series[0][0][1].is_nan());
        assert_eq!(r.series[0][1], vec![7.0, 8.0, 9.0]);
        assert!(r.series[1][1][0].is_nan());
    }

    #[test]
    fn errors_name_the_row_and_column() {
        let mut l = ListBuilder::new(arrow_array::builder::Float64Builder::new());
        l.append_value([Some(1.0)]);
        l.append_value([Some(1.0), Some(f64::INFINITY)]);
        let b = batch(vec![
            (
                "label",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            ("x", Arc::new(l.finish())),
        ]);
        assert_eq!(
            read(&b).unwrap_err().to_string(),
            "<batches>: row 2, column `x`: step 2: non-finite value inf"
        );
        let b = batch(vec![
            (
                "target",
                Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
            ),
            ("x", Arc::new(Float64Array::from(vec![1.0]))),
        ]);
        let e = read(&b).unwrap_err().to_string();
        assert!(
            e.starts_with("<batches>: column `x`: is Float64, expected a list"),
            "{e}"
        );
        let field = Field::new("x", DataType::Float64, true);
        let schema = Schema::new(vec![field]);
        let e = split_from_batches(&schema, &[], &TableOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("<batches>: no `label` column"), "{e}");
    }

    #[test]
    fn a_series_with_every_value_missing_in_every_dimension_is_refused() {
        // Row 1 misses all of `dim_1` but not `dim_0`; row 2 misses everything, as null or NaN.
        let mut d0 = ListBuilder::new(arrow_array::builder::Float64Builder::new());
        d0.append_value([Some(1.0), None]);
        d0.append_value([None, Some(f64::NAN)]);
        let mut d1 = ListBuilder::new(Float32Builder::new());
        d1.append_value([None, Some(f32::NAN)]);
        d1.append_value([None, None]);
        let b = batch(vec![
            (
                "label",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            ("dim_0", Arc::new(d0.finish())),
            ("dim_1", Arc::new(d1.finish())),
        ]);
        assert_eq!(
            read(&b).unwrap_err().to_string(),
            "<batches>: series 2 has no values (every value is missing)"
        );
        // The first row alone loads, its missing dimension as NaN, as before.
        let r = read(&b.slice(0, 1)).unwrap();
        assert_eq!(r.series[0][0][0], 1.0);
        assert!(r.series[0][1].iter().all(|v| v.is_nan()));
    }

    #[test]
    fn pandas_index_columns_are_recognised_by_their_exact_name() {
        assert!(is_pandas_index("__index_level_0__"));
        assert!(is_pandas_index("__index_level_12__"));
        assert!(!is_pandas_index("__index_level__"));
        assert!(!is_pandas_index("index"));
    }
}
