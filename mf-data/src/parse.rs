//! Text parsers for the three archive formats: sktime/aeon `.ts`, UCR `.tsv` and Weka `.arff`.
//!
//! Each parser reads any [`BufRead`] into a [`RawSplit`], the low-level form (one `Vec<f64>` per
//! dimension per series) that [`crate::Split::from_raw`] turns into Arrow. Errors name the 1-based
//! line; the path is `<bytes>` until a path wrapper such as [`crate::read_split`] fills it in.

mod arff;
mod ts;
mod tsv;

use std::io::BufRead;

use crate::DataError;

pub use arff::parse_arff;
pub use ts::parse_ts;
pub use tsv::parse_tsv;

/// Placeholder path used in errors when parsing from memory.
pub const BYTES_PATH: &str = "<bytes>";

/// One parsed split before it is put into Arrow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawSplit {
    /// Values, indexed `[series][dim][step]`; every dimension of a series has the same length.
    pub series: Vec<Vec<Vec<f64>>>,
    /// Class label of each series, for classification files.
    pub labels: Option<Vec<String>>,
    /// Regression target of each series, for regression files.
    pub targets: Option<Vec<f64>>,
    /// Class list declared in the header (`.ts` `@classLabel`, `.arff` nominal), if any.
    pub declared_classes: Option<Vec<String>>,
}

/// File formats understood by the loaders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// sktime/aeon `.ts`.
    Ts,
    /// UCR `.tsv` (label first).
    Tsv,
    /// Weka `.arff`.
    Arff,
}

impl Format {
    /// File extension without the dot.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Ts => "ts",
            Format::Tsv => "tsv",
            Format::Arff => "arff",
        }
    }

    /// The format of a file extension (case-insensitive), if known.
    pub fn from_ext(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "ts" => Some(Format::Ts),
            "tsv" | "txt" => Some(Format::Tsv),
            "arff" => Some(Format::Arff),
            _ => None,
        }
    }

    /// All formats, in the order the loaders try them.
    pub const ALL: [Format; 3] = [Format::Ts, Format::Tsv, Format::Arff];
}

/// Parses `reader` in the given format.
pub fn parse_reader(format: Format, reader: impl BufRead) -> Result<RawSplit, DataError> {
    match format {
        Format::Ts => parse_ts(reader),
        Format::Tsv => parse_tsv(reader),
        Format::Arff => parse_arff(reader),
    }
}

/// Iterates over lines (1-based numbers), tolerating CRLF and invalid UTF-8 (replaced lossily:
/// such bytes can only sit in comments or make a number fail to parse).
struct Lines<R> {
    reader: R,
    line: usize,
    buf: Vec<u8>,
    /// Whether the line last returned ended with a newline (false for a file cut mid-line).
    newline: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Lines {
            reader,
            line: 0,
            buf: Vec::new(),
            newline: true,
        }
    }

    fn next_line(&mut self) -> Result<Option<(usize, String)>, DataError> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| DataError::Io {
                path: BYTES_PATH.into(),
                source,
            })?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        self.newline = self.buf.last() == Some(&b'\n');
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(Some((
            self.line,
            String::from_utf8_lossy(&self.buf).into_owned(),
        )))
    }
}

fn perr(line: usize, msg: impl Into<String>) -> DataError {
    DataError::parse(BYTES_PATH, line, msg)
}

/// Parses one numeric token; `?`, empty and `NaN` are missing values (NaN). Infinite values are
/// rejected because no model can use them.
fn parse_value(tok: &str, line: usize, what: impl Fn() -> String) -> Result<f64, DataError> {
    let t = tok.trim();
    if t.is_empty() || t == "?" || t.eq_ignore_ascii_case("nan") {
        return Ok(f64::NAN);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(perr(line, format!("{}: non-finite value {t:?}", what()))),
        Err(_) => Err(perr(
            line,
            format!("{}: expected a number or '?', found {:?}", what(), clip(t)),
        )),
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        let c: String = s.chars().take(40).collect();
        format!("{c}...")
    } else {
        s.to_string()
    }
}

fn parse_bool(v: &str, line: usize, key: &str) -> Result<bool, DataError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(perr(
            line,
            format!("@{key}: expected true or false, found {:?}", clip(other)),
        )),
    }
}

/// Drops trailing NaN, which UCR and UEA files use to pad unequal-length series.
fn trim_trailing_nan(v: &mut Vec<f64>) {
    while v.last().is_some_and(|x| x.is_nan()) {
        v.pop();
    }
}

fn check_label(label: &str, classes: &Option<Vec<String>>, line: usize) -> Result<(), DataError> {
    if let Some(c) = classes {
        if !c.iter().any(|x| x == label) {
            return Err(perr(
                line,
                format!(
                    "class label {:?} is not in the declared list {{{}}}",
                    clip(label),
                    c.join(",")
                ),
            ));
        }
    }
    Ok(())
}

fn finish(raw: RawSplit, last_line: usize) -> Result<RawSplit, DataError> {
    if raw.series.is_empty() {
        return Err(perr(
            last_line.max(1),
            "no series found (empty data section)",
        ));
    }
    Ok(raw)
}

/// Checks that a series has the `d` dimensions of the series before it (`n_dims`, set by the first series
/// when the header does not set it).
fn check_dims(n_dims: &mut Option<usize>, d: usize, line: usize) -> Result<(), DataError> {
    match *n_dims {
        Some(nd) if nd != d => Err(perr(line, format!("expected {nd} dimensions, found {d}"))),
        None => {
            *n_dims = Some(d);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The rule every loader of this crate (text, CSV, Parquet, Arrow IPC) applies to each series it
/// reads: at least one value must be present. A series whose every value is missing (`?`, NaN, an
/// empty cell or a null, in every dimension) has nothing to fill its gaps from, so it is refused
/// rather than read as zeros; missing values beside present ones are left to
/// [`crate::Split::fill_missing`]. `case` is the series' 1-based number in its file. The error is
/// the message alone: each loader adds the file and, where it has one, the line.
pub(crate) fn check_has_values(dims: &[Vec<f64>], case: usize) -> Result<(), String> {
    if dims.iter().flatten().all(|v| v.is_nan()) {
        return Err(format!(
            "series {case} has no values (every value is missing)"
        ));
    }
    Ok(())
}

/// The common ending of a data line: the series (refused by [`check_has_values`] when every value
/// is missing), its label (checked against the declared classes) or its target (`field`, which must
/// not be missing), then the series itself. A split with neither labels nor targets ignores `field`.
/// Each parser first refuses an empty label with its own message.
fn push_series(
    raw: &mut RawSplit,
    dims: Vec<Vec<f64>>,
    field: &str,
    line: usize,
) -> Result<(), DataError> {
    check_has_values(&dims, raw.series.len() + 1).map_err(|m| perr(line, m))?;
    if let Some(labels) = raw.labels.as_mut() {
        check_label(field, &raw.declared_classes, line)?;
        labels.push(field.to_string());
    } else if let Some(targets) = raw.targets.as_mut() {
        let v = parse_value(field, line, || "target".to_string())?;
        if v.is_nan() {
            return Err(perr(line, "target value is missing"));
        }
        targets.push(v);
    }
    raw.series.push(dims);
    Ok(())
}

/// The common ending of a format with a header (`.ts`, `.arff`): the input must have reached its `@data`
/// line and held at least one series.
fn finish_data(raw: RawSplit, in_data: bool, last_line: usize) -> Result<RawSplit, DataError> {
    if !in_data {
        return Err(perr(
            last_line.max(1),
            "expected an @data line, reached the end of input",
        ));
    }
    finish(raw, last_line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TS_OK: &str = "# comment\r\n@problemName Toy\r\n@timeStamps false\r\n@missing true\r\n@univariate false\r\n@dimensions 2\r\n@equalLength false\r\n@classLabel true a b\r\n@data\r\n1,2,3:4,5,6:a\r\n1,?:3,4:b\r\n";
    const TS_REG: &str = "@problemName R\n@univariate true\n@equalLength true\n@seriesLength 3\n@targetLabel true\n@data\n1,2,3:0.5\n4,5,6:-1.25\n";
    const TSV_OK: &str = "1\t0.5\t1.5\t2.5\n2\t3\t4\tNaN\n";
    const ARFF_UNI: &str = "% c\n@relation toy\n@attribute t1 numeric\n@attribute t2 numeric\n@attribute t3 numeric\n@attribute class {x,y}\n@data\n1,2,3,x\n4,5,?,y\n";
    const ARFF_MULTI: &str = "@relation toy\n@attribute series relational\n@attribute t1 numeric\n@attribute t2 numeric\n@end series\n@attribute class {'x','y'}\n@data\n'1,2\\n3,4',x\n\"5,6\\n7,?\",'y'\n";

    fn check_err(format: Format, text: &str, line: usize, needle: &str) {
        match parse_reader(format, text.as_bytes()) {
            Err(DataError::Parse { path, line: l, msg }) => {
                assert_eq!(path, BYTES_PATH);
                assert_eq!(l, line, "wrong line for {msg:?}");
                assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
                let shown = DataError::parse(BYTES_PATH, l, msg).to_string();
                assert!(shown.starts_with(&format!("<bytes>:{line}: ")), "{shown}");
            }
            other => panic!("expected a parse error at line {line}, got {other:?}"),
        }
    }

    #[test]
    fn ts_reads_multivariate_unequal_series_with_missing_values_and_crlf() {
        let r = parse_ts(TS_OK.as_bytes()).unwrap();
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[0], vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]);
        assert!(r.series[1][0][1].is_nan());
        assert_eq!(r.series[1][1], vec![3.0, 4.0]);
        assert_eq!(r.labels, Some(vec!["a".into(), "b".into()]));
        assert_eq!(r.declared_classes, Some(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn ts_reads_regression_targets() {
        let r = parse_ts(TS_REG.as_bytes()).unwrap();
        assert_eq!(r.targets, Some(vec![0.5, -1.25]));
        assert!(r.labels.is_none());
    }

    #[test]
    fn ts_errors_name_the_offending_line() {
        let h = "@univariate false\n@dimensions 2\n@classLabel true a b\n@data\n";
        check_err(Format::Ts, &format!("{h}1,2:3,4:a\n1,2\n"), 6, "':'");
        check_err(
            Format::Ts,
            &format!("{h}1,2:3,4:a\n1,2:3,4:5,6:a\n"),
            6,
            "expected 2 dimensions, found 3",
        );
        check_err(
            Format::Ts,
            &format!("{h}1,x:3,4:a\n"),
            5,
            "expected a number",
        );
        check_err(
            Format::Ts,
            &format!("{h}1,2:3,4:c\n"),
            5,
            "class label \"c\"",
        );
        check_err(
            Format::Ts,
            &format!("{h}1,2:3:a\n"),
            5,
            "dimension 1 has 1 values",
        );
        check_err(
            Format::Ts,
            "@equalLength true\n@classLabel true a\n@data\n1,2:a\n1,2,3:a\n",
            5,
            "@equalLength",
        );
        check_err(
            Format::Ts,
            "@seriesLength 3\n@equalLength true\n@classLabel true a\n@data\n1,2:a\n",
            5,
            "@seriesLength",
        );
        check_err(Format::Ts, "@classLabel true a\n1,2:a\n", 2, "before @data");
        check_err(Format::Ts, "@classLabel true a\n", 1, "@data");
        check_err(Format::Ts, "@classLabel true a\n@data\n", 2, "no series");
        check_err(Format::Ts, "", 1, "@data");
        check_err(Format::Ts, "@bogus 1\n@data\n", 1, "unknown header key");
        check_err(
            Format::Ts,
            "@classLabel false\n@data\n1,2\n",
            2,
            "@targetLabel true",
        );
        check_err(Format::Ts, "@univariate maybe\n", 1, "true or false");
        check_err(
            Format::Ts,
            "@targetLabel true\n@data\n1,2:inf\n",
            3,
            "non-finite",
        );
    }

    #[test]
    fn tsv_reads_labels_first_and_drops_trailing_padding() {
        let r = parse_tsv(TSV_OK.as_bytes()).unwrap();
        assert_eq!(r.labels, Some(vec!["1".into(), "2".into()]));
        assert_eq!(r.series[0][0], vec![0.5, 1.5, 2.5]);
        assert_eq!(r.series[1][0], vec![3.0, 4.0]);
        let commas = parse_tsv("1,0.5,1.5\n2 3 4\n".as_bytes()).unwrap();
        assert_eq!(commas.series[1][0], vec![3.0, 4.0]);
    }

    #[test]
    fn tsv_errors_name_the_offending_line() {
        check_err(Format::Tsv, "1\t2\t3\n1\n", 2, "at least one value");
        check_err(Format::Tsv, "1\t2\t3\n1\t2\tabc\n", 2, "value 2");
        check_err(Format::Tsv, "1\t2\nNaN\t3\n", 2, "class label");
        check_err(
            Format::Tsv,
            "1\t2\n2\tNaN\tNaN\n",
            2,
            "series 2 has no values (every value is missing)",
        );
        check_err(Format::Tsv, "", 1, "no series");
        check_err(Format::Tsv, "\n\n", 2, "no series");
    }

    #[test]
    fn a_series_with_every_value_missing_is_refused_by_every_text_format() {
        let msg = "series 2 has no values (every value is missing)";
        let ts = "@dimensions 2\n@classLabel true a b\n@data\n1,2:3,4:a\n?,?:NaN,?:b\n";
        check_err(Format::Ts, ts, 5, msg);
        check_err(
            Format::Ts,
            "@targetLabel true\n@data\n1:0.5\n?:1.5\n",
            4,
            msg,
        );
        check_err(Format::Tsv, "a\t1\t2\nb\t?\t\n", 2, msg);
        let arff = ARFF_UNI.replace("4,5,?,y", "?,?,?,y");
        check_err(Format::Arff, &arff, 9, msg);
        let arff = ARFF_MULTI.replace("5,6\\n7,?", "?,?\\n?,?");
        check_err(Format::Arff, &arff, 9, msg);
        // A dimension missing throughout beside one with values is missing values inside the
        // series, read as NaN as before.
        let r =
            parse_ts("@dimensions 2\n@classLabel true a\n@data\n?,?:3,4:a\n".as_bytes()).unwrap();
        assert!(r.series[0][0].iter().all(|v| v.is_nan()));
        assert_eq!(r.series[0][1], vec![3.0, 4.0]);
    }

    #[test]
    fn tsv_short_last_line_of_an_equal_length_file_is_a_truncation() {
        let rows = "1\t1\t2\t3\n2\t4\t5\t6\n1\t7\t8\t9\n";
        check_err(
            Format::Tsv,
            &format!("{rows}2\t1\t2"),
            4,
            "last line has 2 values but every other line has 3: the file looks truncated (the file ends without a newline)",
        );
        check_err(
            Format::Tsv,
            &format!("{rows}2\t1\t2\n\n"),
            4,
            "truncated (UCR .tsv files pad shorter series with NaN)",
        );
        // Padded shorter series, two-line files and ragged files still load.
        for ok in [
            format!("{rows}2\t1\t2\tNaN"),
            format!("{rows}2\t1\t2\t\n"),
            format!("{rows}2\t1\t2\t3\t4"),
            "1\t1\t2\t3\n1\t7\n".to_string(),
            "1\t1\t2\n2\t4\t5\t6\n1\t7\t8\t9\n2\t1\n".to_string(),
        ] {
            let r = parse_tsv(ok.as_bytes()).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
            assert!(r.series.len() >= 2, "{ok:?}");
        }
        let r = parse_tsv(format!("{rows}2\t1\t2\t\n").as_bytes()).unwrap();
        assert_eq!(r.series[3][0], vec![1.0, 2.0]);
    }

    #[test]
    fn arff_reads_univariate_and_relational_files() {
        let r = parse_arff(ARFF_UNI.as_bytes()).unwrap();
        assert_eq!(r.series[0][0], vec![1.0, 2.0, 3.0]);
        assert_eq!(r.series[1][0], vec![4.0, 5.0]);
        assert_eq!(r.labels, Some(vec!["x".into(), "y".into()]));
        let m = parse_arff(ARFF_MULTI.as_bytes()).unwrap();
        assert_eq!(m.series[0], vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        assert_eq!(m.series[1][0], vec![5.0, 6.0]);
        assert!(
            m.series[1][1][1].is_nan(),
            "interior NaN of one dimension is kept"
        );
        assert_eq!(m.labels, Some(vec!["x".into(), "y".into()]));
    }

    #[test]
    fn arff_with_numeric_class_is_regression() {
        let t = "@relation r\n@attribute a numeric\n@attribute b numeric\n@attribute target numeric\n@data\n1,2,0.5\n";
        assert_eq!(parse_arff(t.as_bytes()).unwrap().targets, Some(vec![0.5]));
    }

    #[test]
    fn arff_errors_name_the_offending_line() {
        let h = "@relation toy\n@attribute t1 numeric\n@attribute t2 numeric\n@attribute class {x,y}\n@data\n";
        check_err(
            Format::Arff,
            &format!("{h}1,2,x\n1,2\n"),
            7,
            "expected 3 values, found 2",
        );
        check_err(Format::Arff, &format!("{h}1,abc,x\n"), 6, "attribute 2");
        check_err(Format::Arff, &format!("{h}1,2,z\n"), 6, "class label \"z\"");
        let mh = "@relation toy\n@attribute s relational\n@attribute t1 numeric\n@attribute t2 numeric\n@end s\n@attribute class {x}\n@data\n";
        check_err(
            Format::Arff,
            &format!("{mh}'1,2\\n3,4',x\n'1,2',x\n"),
            9,
            "expected 2 dimensions, found 1",
        );
        check_err(
            Format::Arff,
            &format!("{mh}'1,2\\n3',x\n"),
            8,
            "dimension 1: expected 2 values",
        );
        check_err(
            Format::Arff,
            "@relation r\n@attribute s relational\n@attribute t numeric\n@data\n",
            4,
            "@end s",
        );
        check_err(
            Format::Arff,
            "@relation r\n@attribute a banana\n",
            2,
            "expected numeric",
        );
        check_err(Format::Arff, h, 5, "no series");
        check_err(Format::Arff, "", 1, "@data");
        check_err(Format::Arff, "1,2,3\n", 1, "header");
    }

    fn mutate(base: &str, edits: &[(usize, u8)]) -> Vec<u8> {
        let mut b = base.as_bytes().to_vec();
        for &(pos, byte) in edits {
            if b.is_empty() {
                break;
            }
            let p = pos % b.len();
            match byte % 3 {
                0 => b[p] = byte,
                1 => {
                    b.remove(p);
                }
                _ => b.insert(p, byte),
            }
        }
        b
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            for f in Format::ALL {
                let _ = parse_reader(f, bytes.as_slice());
            }
        }

        #[test]
        fn parsers_never_panic_on_mutated_valid_files(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)
        ) {
            for (f, text) in [(Format::Ts, TS_OK), (Format::Ts, TS_REG), (Format::Tsv, TSV_OK),
                              (Format::Arff, ARFF_UNI), (Format::Arff, ARFF_MULTI)] {
                let b = mutate(text, &edits);
                if let Ok(raw) = parse_reader(f, b.as_slice()) {
                    // Whatever parses must also build a valid Arrow split.
                    let _ = crate::Split::from_raw(&raw);
                }
            }
        }
    }
}
