//! The in-memory data set: one Arrow [`RecordBatch`] per split.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float64Array, ListArray, RecordBatch, StringArray, UInt32Array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Schema};
use ndarray::Array3;

use crate::parse::RawSplit;
use crate::DataError;

/// Name of the label column (classification).
pub const LABEL_COLUMN: &str = "label";
/// Name of the target column (regression).
pub const TARGET_COLUMN: &str = "target";
/// Name of the length column.
pub const LENGTH_COLUMN: &str = "length";

/// Name of the column holding dimension `k`.
pub fn dim_column(k: usize) -> String {
    format!("dim_{k}")
}

/// What is predicted from a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKind {
    /// One label per series.
    Classification {
        /// The distinct labels of train and test, sorted by their original strings (byte order,
        /// as `np.unique` sorts strings in the reference code); a label's index in this list is
        /// its encoded class.
        classes: Vec<String>,
    },
    /// One real target per series.
    Regression,
}

/// One split (train or test) of a data set.
///
/// The batch has one `List<Float64>` column per dimension (`dim_0`, `dim_1`, ...), then either a
/// `label` (`Utf8`) or a `target` (`Float64`) column, then a `length` (`UInt32`) column. Values are
/// kept as `Float64` so the text is stored without loss (regression targets and ridge solves use
/// f64); [`Split::to_ndarray`] converts to f32 in its single copy. Every dimension of one series has
/// the same length; a missing value inside a series is NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    batch: RecordBatch,
    n_dims: usize,
}

impl Split {
    /// Builds a split from parsed text.
    pub fn from_raw(raw: &RawSplit) -> Result<Split, DataError> {
        Self::build(raw, None)
    }

    /// As [`Split::from_raw`]; `n_dims` gives the dimension count when `raw` has no series.
    fn build(raw: &RawSplit, n_dims: Option<usize>) -> Result<Split, DataError> {
        let invalid = |msg: String| DataError::Invalid {
            name: String::new(),
            msg,
        };
        let n = raw.series.len();
        let n_dims = raw.series.first().map(|s| s.len()).or(n_dims).unwrap_or(0);
        if n_dims == 0 {
            return Err(invalid("no series or no dimensions".into()));
        }
        let mut lengths = Vec::with_capacity(n);
        for (i, s) in raw.series.iter().enumerate() {
            if s.len() != n_dims {
                return Err(invalid(format!(
                    "series {i} has {} dimensions, expected {n_dims}",
                    s.len()
                )));
            }
            let l = s[0].len();
            if s.iter().any(|d| d.len() != l) {
                return Err(invalid(format!(
                    "series {i} has dimensions of different lengths"
                )));
            }
            if l > u32::MAX as usize {
                return Err(invalid(format!("series {i} is too long")));
            }
            lengths.push(l);
        }
        let item = Arc::new(Field::new("item", DataType::Float64, false));
        let mut fields = Vec::with_capacity(n_dims + 2);
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(n_dims + 2);
        for k in 0..n_dims {
            let values: Vec<f64> = raw
                .series
                .iter()
                .flat_map(|s| s[k].iter().copied())
                .collect();
            let list = ListArray::try_new(
                item.clone(),
                OffsetBuffer::from_lengths(lengths.iter().copied()),
                Arc::new(Float64Array::from(values)),
                None,
            )
            .map_err(|e| invalid(e.to_string()))?;
            fields.push(Field::new(
                dim_column(k),
                DataType::List(item.clone()),
                false,
            ));
            cols.push(Arc::new(list));
        }
        match (&raw.labels, &raw.targets) {
            (Some(l), None) if l.len() == n => {
                fields.push(Field::new(LABEL_COLUMN, DataType::Utf8, false));
                cols.push(Arc::new(StringArray::from_iter_values(l.iter())));
            }
            (None, Some(t)) if t.len() == n => {
                fields.push(Field::new(TARGET_COLUMN, DataType::Float64, false));
                cols.push(Arc::new(Float64Array::from(t.clone())));
            }
            _ => {
                return Err(invalid(
                    "expected exactly one of labels or targets, one per series".into(),
                ))
            }
        }
        fields.push(Field::new(LENGTH_COLUMN, DataType::UInt32, false));
        cols.push(Arc::new(UInt32Array::from_iter_values(
            lengths.iter().map(|&l| l as u32),
        )));
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Split { batch, n_dims })
    }

    /// Wraps a batch read back from IPC, checking its layout.
    pub fn from_batch(batch: RecordBatch) -> Result<Split, DataError> {
        let invalid = |msg: &str| DataError::Invalid {
            name: String::new(),
            msg: msg.to_string(),
        };
        let mut n_dims = 0;
        while let Some(c) = batch.column_by_name(&dim_column(n_dims)) {
            let list = c
                .as_any()
                .downcast_ref::<ListArray>()
                .ok_or_else(|| invalid("dimension column is not a list"))?;
            if list
                .values()
                .as_any()
                .downcast_ref::<Float64Array>()
                .is_none()
            {
                return Err(invalid("dimension column is not a list of float64"));
            }
            n_dims += 1;
        }
        if n_dims == 0 {
            return Err(invalid("no dim_0 column"));
        }
        let has_label = batch
            .column_by_name(LABEL_COLUMN)
            .is_some_and(|c| c.as_any().downcast_ref::<StringArray>().is_some());
        let has_target = batch
            .column_by_name(TARGET_COLUMN)
            .is_some_and(|c| c.as_any().downcast_ref::<Float64Array>().is_some());
        if has_label == has_target {
            return Err(invalid(
                "expected exactly one of a label or a target column",
            ));
        }
        let lengths = batch
            .column_by_name(LENGTH_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
            .ok_or_else(|| invalid("no uint32 length column"))?;
        for k in 0..n_dims {
            let list = batch
                .column_by_name(&dim_column(k))
                .and_then(|c| c.as_any().downcast_ref::<ListArray>());
            let list = list.ok_or_else(|| invalid("dimension column missing"))?;
            for i in 0..batch.num_rows() {
                if list.value_length(i) as u32 != lengths.value(i) {
                    return Err(invalid("length column disagrees with the series"));
                }
            }
        }
        Ok(Split { batch, n_dims })
    }

    /// The Arrow batch (layout in the type's documentation).
    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    /// Number of series.
    pub fn n_series(&self) -> usize {
        self.batch.num_rows()
    }

    /// Number of dimensions (input channels) per time step.
    pub fn n_dims(&self) -> usize {
        self.n_dims
    }

    fn length_array(&self) -> &UInt32Array {
        self.batch
            .column_by_name(LENGTH_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
            .expect("layout checked at construction")
    }

    fn dim_array(&self, k: usize) -> (&[i32], &[f64]) {
        let list = self
            .batch
            .column_by_name(&dim_column(k))
            .and_then(|c| c.as_any().downcast_ref::<ListArray>())
            .expect("layout checked at construction");
        let values = list
            .values()
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("layout checked at construction");
        (list.value_offsets(), values.values())
    }

    /// Length (number of time steps) of each series.
    pub fn lengths(&self) -> Vec<usize> {
        self.length_array()
            .values()
            .iter()
            .map(|&l| l as usize)
            .collect()
    }

    /// Longest series length.
    pub fn max_len(&self) -> usize {
        self.length_array()
            .values()
            .iter()
            .copied()
            .max()
            .unwrap_or(0) as usize
    }

    /// Values of series `i`, dimension `k` (length `lengths()[i]`).
    ///
    /// # Panics
    /// If `i >= n_series()` or `k >= n_dims()`.
    pub fn series(&self, i: usize, k: usize) -> &[f64] {
        let (off, vals) = self.dim_array(k);
        &vals[off[i] as usize..off[i + 1] as usize]
    }

    fn fill<T: Copy>(&self, nan: T, conv: impl Fn(f64) -> T) -> (Array3<T>, Vec<usize>) {
        let lengths = self.lengths();
        let (n, t, d) = (self.n_series(), self.max_len(), self.n_dims);
        let mut out = Array3::from_elem((n, t, d), nan);
        for k in 0..d {
            let (off, vals) = self.dim_array(k);
            for i in 0..n {
                let s = &vals[off[i] as usize..off[i + 1] as usize];
                for (step, &v) in s.iter().enumerate() {
                    out[[i, step, k]] = conv(v);
                }
            }
        }
        (out, lengths)
    }

    /// All series as an array of shape `(n_series, max_len, n_dims)` in f32, NaN after each
    /// series' end, with the lengths.
    pub fn to_ndarray(&self) -> (Array3<f32>, Vec<usize>) {
        self.fill(f32::NAN, |v| v as f32)
    }

    /// As [`Split::to_ndarray`], in f64.
    pub fn to_ndarray_f64(&self) -> (Array3<f64>, Vec<usize>) {
        self.fill(f64::NAN, |v| v)
    }

    /// Class label of each series, for classification splits.
    pub fn labels(&self) -> Option<Vec<String>> {
        let a = self
            .batch
            .column_by_name(LABEL_COLUMN)?
            .as_any()
            .downcast_ref::<StringArray>()?;
        Some((0..a.len()).map(|i| a.value(i).to_string()).collect())
    }

    /// Regression target of each series, for regression splits.
    pub fn targets(&self) -> Option<Vec<f64>> {
        let a = self
            .batch
            .column_by_name(TARGET_COLUMN)?
            .as_any()
            .downcast_ref::<Float64Array>()?;
        Some(a.values().to_vec())
    }

    /// Number of missing (NaN) values inside series (before their ends).
    pub fn n_missing(&self) -> usize {
        (0..self.n_dims)
            .map(|k| self.dim_array(k).1.iter().filter(|v| v.is_nan()).count())
            .sum()
    }

    /// A copy with the interior NaN of every series replaced as `fill` says, so models never see
    /// NaN inside a series. Lengths are unchanged.
    pub fn fill_missing(&self, fill: FillMissing) -> Split {
        let mut raw = self.to_raw();
        for s in &mut raw.series {
            for d in s.iter_mut() {
                fill_nan(d, fill);
            }
        }
        Split::from_raw(&raw).expect("same layout as a valid split")
    }

    /// The split back in the low-level form.
    pub fn to_raw(&self) -> RawSplit {
        let n = self.n_series();
        let series = (0..n)
            .map(|i| {
                (0..self.n_dims)
                    .map(|k| self.series(i, k).to_vec())
                    .collect()
            })
            .collect();
        RawSplit {
            series,
            labels: self.labels(),
            targets: self.targets(),
            declared_classes: None,
        }
    }

    /// The series at `indices` (in that order), for fit/validation subsets.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn take(&self, indices: &[usize]) -> Split {
        let raw = self.to_raw();
        let sub = RawSplit {
            series: indices.iter().map(|&i| raw.series[i].clone()).collect(),
            labels: raw
                .labels
                .map(|l| indices.iter().map(|&i| l[i].clone()).collect()),
            targets: raw.targets.map(|t| indices.iter().map(|&i| t[i]).collect()),
            declared_classes: None,
        };
        Split::build(&sub, Some(self.n_dims)).expect("same layout as a valid split")
    }
}

/// How [`Split::fill_missing`] replaces NaN inside a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillMissing {
    /// Linear interpolation between the nearest known neighbours; leading (trailing) NaN take
    /// the first (last) known value; an all-NaN dimension becomes zeros.
    Linear,
    /// Replace by 0.
    Zero,
}

/// Replaces NaN in `v` in place (see [`FillMissing`]).
pub fn fill_nan(v: &mut [f64], fill: FillMissing) {
    match fill {
        FillMissing::Zero => v.iter_mut().filter(|x| x.is_nan()).for_each(|x| *x = 0.0),
        FillMissing::Linear => {
            let known: Vec<usize> = (0..v.len()).filter(|&i| !v[i].is_nan()).collect();
            if known.is_empty() {
                v.iter_mut().for_each(|x| *x = 0.0);
                return;
            }
            let (first, last) = (known[0], known[known.len() - 1]);
            let (fv, lv) = (v[first], v[last]);
            v[..first].iter_mut().for_each(|x| *x = fv);
            v[last + 1..].iter_mut().for_each(|x| *x = lv);
            for w in known.windows(2) {
                let (a, b) = (w[0], w[1]);
                for i in a + 1..b {
                    let f = (i - a) as f64 / (b - a) as f64;
                    v[i] = v[a] + f * (v[b] - v[a]);
                }
            }
        }
    }
}

/// A data set with its predefined train and (optional) test split.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Data set name, e.g. `ECG5000`.
    pub name: String,
    /// Training split.
    pub train: Split,
    /// Test split, when available (Wafer's is not on these machines).
    pub test: Option<Split>,
    task: TaskKind,
    /// The numeric value of each class, parallel to the class list, when every label of both
    /// splits is a finite number: labels are then matched by value (`1` is `1.0000000e+00`).
    class_values: Option<Vec<f64>>,
    /// Classes found only in the test split, sorted.
    test_only: Vec<String>,
}

impl Dataset {
    /// Joins splits into a data set, checking they agree on dimensions and task kind; the class
    /// list is the sorted union of the labels of both splits.
    ///
    /// When every label of both splits parses as a finite number, labels equal as numbers are one
    /// class (one file may write `1` where the other writes `1.0000000e+00`), named by its
    /// first spelling in the training split. Classes of the test split absent from the training
    /// split are kept (so the test split still encodes) and listed by
    /// [`Dataset::test_only_classes`].
    pub fn new(
        name: impl Into<String>,
        train: Split,
        test: Option<Split>,
    ) -> Result<Dataset, DataError> {
        let name = name.into();
        let invalid = |msg: String| DataError::Invalid {
            name: name.clone(),
            msg,
        };
        let train_labels = train.labels();
        let mut class_values = None;
        let mut test_only = Vec::new();
        let task = match &train_labels {
            Some(l) => {
                let test_labels = match &test {
                    Some(t) => t.labels().ok_or_else(|| {
                        invalid("train is classification but test is regression".into())
                    })?,
                    None => Vec::new(),
                };
                let classes = label_classes(l, &test_labels);
                test_only = classes
                    .iter()
                    .filter(|c| !c.in_train)
                    .map(|c| c.name.clone())
                    .collect();
                class_values = classes.iter().map(|c| c.value).collect();
                TaskKind::Classification {
                    classes: classes.into_iter().map(|c| c.name).collect(),
                }
            }
            None => {
                if test.as_ref().is_some_and(|t| t.targets().is_none()) {
                    return Err(invalid(
                        "train is regression but test is classification".into(),
                    ));
                }
                TaskKind::Regression
            }
        };
        if let Some(t) = &test {
            if t.n_dims() != train.n_dims() {
                return Err(invalid(format!(
                    "train has {} dimensions, test has {}",
                    train.n_dims(),
                    t.n_dims()
                )));
            }
        }
        Ok(Dataset {
            name,
            train,
            test,
            task,
            class_values,
            test_only,
        })
    }

    /// Classes that occur in the test split but never in the training split, sorted: a model
    /// cannot learn them, so the test score is capped. Empty for regression.
    pub fn test_only_classes(&self) -> &[String] {
        &self.test_only
    }

    /// What a user should be told about the data set itself, one sentence each (today: classes
    /// found only in the test split).
    pub fn warnings(&self) -> Vec<String> {
        if self.test_only.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "{} class{} only in the test split, never in the training split: {}",
            self.test_only.len(),
            if self.test_only.len() == 1 { "" } else { "es" },
            self.test_only.join(", ")
        )]
    }

    /// Classification (with the class list) or regression.
    pub fn task(&self) -> &TaskKind {
        &self.task
    }

    /// Sorted class list, for classification data sets.
    pub fn classes(&self) -> Option<&[String]> {
        match &self.task {
            TaskKind::Classification { classes } => Some(classes),
            TaskKind::Regression => None,
        }
    }

    /// Number of classes (0 for regression).
    pub fn n_classes(&self) -> usize {
        self.classes().map_or(0, <[String]>::len)
    }

    /// Number of dimensions per time step.
    pub fn n_dims(&self) -> usize {
        self.train.n_dims()
    }

    /// Each label of `split` as its index in [`Dataset::classes`]; `None` for regression or when
    /// a label is not in the class list (a split from another data set). Numeric labels match by
    /// value (see [`Dataset::new`]).
    pub fn encoded_labels(&self, split: &Split) -> Option<Vec<usize>> {
        let classes = self.classes()?;
        split
            .labels()?
            .iter()
            .map(|l| {
                classes.binary_search(l).ok().or_else(|| {
                    let values = self.class_values.as_ref()?;
                    let v = label_value(l)?;
                    values.iter().position(|&c| c == v)
                })
            })
            .collect()
    }

    /// Shortest and longest series over both splits.
    pub fn length_range(&self) -> (usize, usize) {
        let mut all = self.train.lengths();
        if let Some(t) = &self.test {
            all.extend(t.lengths());
        }
        (
            all.iter().copied().min().unwrap_or(0),
            all.iter().copied().max().unwrap_or(0),
        )
    }
}

/// One class of a data set while its list is built.
struct Class {
    name: String,
    value: Option<f64>,
    in_train: bool,
}

/// A label's value when it is a finite number.
fn label_value(label: &str) -> Option<f64> {
    label.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The classes of `train` then `test` labels, sorted by name. Labels are matched by value when all
/// of them are finite numbers, else by text; a class is named by its first spelling, train first.
fn label_classes(train: &[String], test: &[String]) -> Vec<Class> {
    let all = || train.iter().chain(test);
    let numeric = all().all(|l| label_value(l).is_some());
    let mut classes: Vec<Class> = Vec::new();
    if numeric {
        // Keyed by bits, with -0 folded onto 0 so that values equal as numbers share a key.
        let mut seen = std::collections::HashSet::new();
        for (i, l) in all().enumerate() {
            let v = label_value(l).expect("checked numeric");
            if seen.insert((v + 0.0).to_bits()) {
                classes.push(Class {
                    name: l.clone(),
                    value: Some(v),
                    in_train: i < train.len(),
                });
            }
        }
    } else {
        let in_train: BTreeSet<&String> = train.iter().collect();
        let names: BTreeSet<&String> = all().collect();
        classes = names
            .into_iter()
            .map(|l| Class {
                name: l.clone(),
                value: None,
                in_train: in_train.contains(l),
            })
            .collect();
    }
    // Byte order of the names, as `np.unique` sorts strings in the reference code.
    classes.sort_by(|a, b| a.name.cmp(&b.name));
    classes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_ts, parse_tsv};

    fn toy() -> Dataset {
        let ts = "@dimensions 2\n@classLabel true b a c\n@data\n1,2,3:4,5,6:b\n7,?:9,10:a\n";
        let test = "@dimensions 2\n@classLabel true b a c\n@data\n1:2:c\n";
        let tr = Split::from_raw(&parse_ts(ts.as_bytes()).unwrap()).unwrap();
        let te = Split::from_raw(&parse_ts(test.as_bytes()).unwrap()).unwrap();
        Dataset::new("Toy", tr, Some(te)).unwrap()
    }

    #[test]
    fn to_ndarray_places_each_value_at_series_step_dim_and_pads_with_nan() {
        let d = toy();
        let (x, lens) = d.train.to_ndarray();
        assert_eq!(x.dim(), (2, 3, 2));
        assert_eq!(lens, vec![3, 2]);
        assert_eq!(
            (x[[0, 2, 0]], x[[0, 2, 1]], x[[1, 0, 0]], x[[1, 1, 1]]),
            (3.0, 6.0, 7.0, 10.0)
        );
        assert!(x[[1, 1, 0]].is_nan() && x[[1, 2, 0]].is_nan() && x[[1, 2, 1]].is_nan());
        let (x64, _) = d.train.to_ndarray_f64();
        assert!(x
            .iter()
            .zip(x64.iter())
            .all(|(a, b)| (a.is_nan() && b.is_nan()) || *a as f64 == *b));
    }

    #[test]
    fn classes_are_the_sorted_union_of_train_and_test_labels() {
        let d = toy();
        assert_eq!(d.classes().unwrap(), ["a", "b", "c"]);
        assert_eq!(d.encoded_labels(&d.train), Some(vec![1, 0]));
        assert_eq!(d.encoded_labels(d.test.as_ref().unwrap()), Some(vec![2]));
        // String order, like np.unique: "10" sorts before "9".
        let s = Split::from_raw(&parse_tsv("9\t1\n10\t2\n".as_bytes()).unwrap()).unwrap();
        let d = Dataset::new("T", s, None).unwrap();
        assert_eq!(d.classes().unwrap(), ["10", "9"]);
    }

    fn tsv(text: &str) -> Split {
        Split::from_raw(&parse_tsv(text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn numeric_labels_equal_as_numbers_are_one_class_named_as_in_the_training_split() {
        let train = tsv("1\t0.5\n2\t0.25\n1\t0.75\n");
        let test = tsv("1.0000000e+00\t0.5\n2.0000000e+00\t0.25\n");
        let d = Dataset::new("T", train, Some(test)).unwrap();
        assert_eq!(d.classes().unwrap(), ["1", "2"]);
        assert_eq!(d.encoded_labels(&d.train), Some(vec![0, 1, 0]));
        assert_eq!(d.encoded_labels(d.test.as_ref().unwrap()), Some(vec![0, 1]));
        assert!(d.test_only_classes().is_empty() && d.warnings().is_empty());
        // One label that is not a number: every label is text again.
        let d = Dataset::new("T", tsv("1\t0.5\nx\t1\n"), Some(tsv("1.0\t0.5\n"))).unwrap();
        assert_eq!(d.classes().unwrap(), ["1", "1.0", "x"]);
    }

    #[test]
    fn classes_found_only_in_the_test_split_are_reported() {
        let d = Dataset::new(
            "T",
            tsv("1\t0.5\n2\t0.25\n"),
            Some(tsv("1.0\t0.5\n3.0\t1\n4\t2\n")),
        )
        .unwrap();
        assert_eq!(d.classes().unwrap(), ["1", "2", "3.0", "4"]);
        assert_eq!(d.test_only_classes(), ["3.0", "4"]);
        assert_eq!(
            d.warnings(),
            ["2 classes only in the test split, never in the training split: 3.0, 4"]
        );
        assert_eq!(
            d.encoded_labels(d.test.as_ref().unwrap()),
            Some(vec![0, 2, 3])
        );
        let d = toy();
        assert_eq!(d.test_only_classes(), ["c"]);
        assert_eq!(
            d.warnings(),
            ["1 class only in the test split, never in the training split: c"]
        );
    }

    #[test]
    fn fill_missing_interpolates_linearly_and_holds_the_ends() {
        let mut v = vec![f64::NAN, 1.0, f64::NAN, f64::NAN, 4.0, f64::NAN];
        fill_nan(&mut v, FillMissing::Linear);
        assert_eq!(v, vec![1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        let mut z = vec![1.0, f64::NAN];
        fill_nan(&mut z, FillMissing::Zero);
        assert_eq!(z, vec![1.0, 0.0]);
        let d = toy();
        assert_eq!(d.train.n_missing(), 1);
        let f = d.train.fill_missing(FillMissing::Linear);
        assert_eq!(f.n_missing(), 0);
        assert_eq!(f.series(1, 0), &[7.0, 7.0]);
        assert_eq!(f.lengths(), d.train.lengths());
    }

    #[test]
    fn take_selects_series_with_their_labels() {
        let d = toy();
        let t = d.train.take(&[1]);
        assert_eq!(t.labels(), Some(vec!["a".to_string()]));
        assert_eq!(t.series(0, 1), &[9.0, 10.0]);
    }

    #[test]
    fn splits_of_different_tasks_or_dimensions_are_rejected() {
        let c = Split::from_raw(&parse_tsv("1\t2\n".as_bytes()).unwrap()).unwrap();
        let r = Split::from_raw(&parse_ts("@targetLabel true\n@data\n1,2:3\n".as_bytes()).unwrap())
            .unwrap();
        assert!(Dataset::new("X", c.clone(), Some(r.clone())).is_err());
        assert!(Dataset::new("X", r, Some(c)).is_err());
        let one_dim = Split::from_raw(&parse_tsv("1\t2\n".as_bytes()).unwrap()).unwrap();
        assert!(Dataset::new("X", toy().train, Some(one_dim)).is_err());
        let empty = toy().train.take(&[]);
        assert_eq!((empty.n_series(), empty.n_dims()), (0, 2));
        assert_eq!(empty.to_ndarray().0.dim(), (0, 0, 2));
    }

    #[test]
    fn dataset_and_split_are_send_and_sync() {
        fn is<T: Send + Sync>() {}
        is::<Dataset>();
        is::<Split>();
        is::<DataError>();
    }
}
