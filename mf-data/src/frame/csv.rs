//! CSV, wide (one row per series) or long (one row per time step); layouts in the module above.

use std::collections::HashMap;
use std::io::Read;

use super::{clip, find_answer, parse_cell, Answer, TableOptions};
use crate::parse::{check_has_values, RawSplit, BYTES_PATH};
use crate::DataError;

fn perr(line: usize, msg: impl Into<String>) -> DataError {
    DataError::parse(BYTES_PATH, line, msg)
}

fn csv_err(e: csv::Error) -> DataError {
    let line = e.position().map_or(1, |p| p.line() as usize);
    perr(line, e.to_string())
}

/// What is predicted for one series, as read from its row(s).
#[derive(Debug, Clone, PartialEq)]
enum Answered {
    Label(String),
    Target(f64),
}

/// The label or target in column `col` of a row.
fn answer_of(
    rec: &csv::StringRecord,
    answer: Answer,
    names: &[String],
    line: usize,
) -> Result<Answered, DataError> {
    let col = answer.index();
    let cell = rec[col].trim();
    let name = &names[col];
    match answer {
        Answer::Label(_) => {
            if cell.is_empty() {
                return Err(perr(line, format!("column `{name}`: the label is empty")));
            }
            Ok(Answered::Label(cell.to_string()))
        }
        Answer::Target(_) => match parse_cell(cell) {
            Ok(v) if v.is_nan() => Err(perr(
                line,
                format!("column `{name}`: the target is missing"),
            )),
            Ok(v) => Ok(Answered::Target(v)),
            Err(m) => Err(perr(line, format!("column `{name}`: {m}"))),
        },
    }
}

/// A run of ASCII digits as a number (`None` for anything else, or one too large).
fn index(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `dim<k>_<t>` as `(k, t)`.
fn dim_step(name: &str) -> Option<(usize, usize)> {
    let (k, t) = name.strip_prefix("dim")?.split_once('_')?;
    Some((index(k)?, index(t)?))
}

/// `t<k>` as `k`.
fn step(name: &str) -> Option<usize> {
    index(name.strip_prefix('t')?)
}

/// Sorts the `(step, column)` pairs of one dimension by step, refusing two columns for one step
/// (`t1` and `t01`); `of` ends that message (` of dimension 1`, or nothing when univariate).
fn by_step(
    mut cols: Vec<(usize, usize)>,
    names: &[String],
    of: &str,
    header_line: usize,
) -> Result<Vec<(usize, usize)>, DataError> {
    cols.sort_unstable();
    if let Some(w) = cols.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(perr(
            header_line,
            format!(
                "columns `{}` and `{}` are both step {}{of}",
                names[w[0].1], names[w[1].1], w[0].0
            ),
        ));
    }
    Ok(cols)
}

/// The value columns of a univariate wide file in step order: every one is named `t<k>`, and the
/// steps run from `t0` to the last without a gap, so no column is silently taken for another step.
fn univariate_steps(
    steps: &[usize],
    names: &[String],
    answer: Answer,
    header_line: usize,
) -> Result<Vec<usize>, DataError> {
    let mut cols = Vec::with_capacity(steps.len());
    for &i in steps {
        let Some(k) = step(&names[i]) else {
            let long = if matches!(names[i].as_str(), "series" | "time") {
                "; a long CSV has both a `series` and a `time` column"
            } else {
                ""
            };
            return Err(perr(
                header_line,
                format!(
                    "column `{}` is not named t<k>: besides `{}`, a wide CSV names its value \
                     columns t0, t1, ... by step (multivariate: dim<k>_<t>){long}",
                    clip(&names[i]),
                    names[answer.index()]
                ),
            ));
        };
        cols.push((k, i));
    }
    let cols = by_step(cols, names, "", header_line)?;
    // Sorted and distinct, the steps are 0..n exactly when each stands at its own position.
    if let Some(gap) = cols.iter().enumerate().position(|(t, p)| p.0 != t) {
        let last = cols.last().expect("a gap needs a column").0;
        return Err(perr(
            header_line,
            format!(
                "no column `t{gap}`: a wide CSV has one column per step, t0 to t{last} with none \
                 missing"
            ),
        ));
    }
    Ok(cols.into_iter().map(|p| p.1).collect())
}

/// The value columns of a multivariate wide file, per dimension in step order: every one is named
/// `dim<k>_<t>`, the dimensions run from 0 without a gap and all have the same steps.
fn multivariate_steps(
    steps: &[usize],
    names: &[String],
    header_line: usize,
) -> Result<Vec<Vec<usize>>, DataError> {
    let parsed: Vec<Option<(usize, usize)>> = steps.iter().map(|&i| dim_step(&names[i])).collect();
    let first = steps
        .iter()
        .zip(&parsed)
        .find_map(|(&i, p)| p.map(|_| i))
        .expect("called with a dim<k>_<t> column");
    if let Some((&i, _)) = steps.iter().zip(&parsed).find(|p| p.1.is_none()) {
        return Err(perr(
            header_line,
            format!(
                "column `{}` is not named dim<k>_<t> like column `{}`: a multivariate wide CSV \
                 names every value column dim<k>_<t> (dimension k from 0, step t)",
                clip(&names[i]),
                names[first]
            ),
        ));
    }
    let n_dims = parsed
        .iter()
        .flatten()
        .map(|p| p.0)
        .max()
        .expect("one at least")
        + 1;
    let mut dims: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n_dims];
    for (&i, p) in steps.iter().zip(&parsed) {
        let (k, t) = p.expect("all parsed");
        dims[k].push((t, i));
    }
    if let Some(k) = dims.iter().position(Vec::is_empty) {
        return Err(perr(
            header_line,
            format!(
                "no column dim{k}_<t>, but dimensions up to {} have columns",
                n_dims - 1
            ),
        ));
    }
    let dims = dims
        .into_iter()
        .enumerate()
        .map(|(k, d)| by_step(d, names, &format!(" of dimension {k}"), header_line))
        .collect::<Result<Vec<_>, _>>()?;
    for (k, d) in dims.iter().enumerate() {
        let ts: Vec<usize> = d.iter().map(|p| p.0).collect();
        let ts0: Vec<usize> = dims[0].iter().map(|p| p.0).collect();
        if ts != ts0 {
            let missing = ts0
                .iter()
                .find(|t| !ts.contains(t))
                .map(|t| format!("dim{k}_{t}"))
                .or_else(|| {
                    ts.iter()
                        .find(|t| !ts0.contains(t))
                        .map(|t| format!("dim0_{t}"))
                })
                .expect("the step sets differ");
            return Err(perr(
                header_line,
                format!("no column `{missing}`: every dimension needs the same steps"),
            ));
        }
    }
    // As in a univariate file, the steps run from 0 to the last without a gap.
    if let Some(gap) = dims[0].iter().enumerate().position(|(t, p)| p.0 != t) {
        let last = dims[0].last().expect("a gap needs a column").0;
        return Err(perr(
            header_line,
            format!(
                "no column `dim0_{gap}`: a multivariate wide CSV has one column per dimension and step, \
                 dim<k>_0 to dim<k>_{last} with none missing"
            ),
        ));
    }
    Ok(dims
        .into_iter()
        .map(|d| d.into_iter().map(|p| p.1).collect())
        .collect())
}

/// Parses a CSV split, wide or long (long when the header has both `series` and `time`; see the
/// module documentation). Errors name the 1-based line and the column; the path is `<bytes>`
/// until [`super::read_table`] fills it in.
pub fn parse_csv(reader: impl Read, opts: &TableOptions) -> Result<RawSplit, DataError> {
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader)
        .into_records();
    let header = match records.next() {
        None => return Err(perr(1, "empty file: expected a header row")),
        Some(r) => r.map_err(csv_err)?,
    };
    let header_line = header.position().map_or(1, |p| p.line() as usize);
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let n = if i == 0 {
                n.trim_start_matches('\u{feff}')
            } else {
                n
            };
            n.to_string()
        })
        .collect();
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(perr(
                header_line,
                format!(
                    "column {} has no name (pandas writes its index so: save with index=False)",
                    i + 1
                ),
            ));
        }
        if let Some(j) = names[..i].iter().position(|m| m == n) {
            return Err(perr(
                header_line,
                format!(
                    "column `{n}` appears twice (columns {} and {})",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let answer = find_answer(&refs, opts).map_err(|m| perr(header_line, m))?;
    let has = |c: &str| names.iter().position(|n| n == c);
    let rows = Rows {
        records,
        names: &names,
    };
    let raw = match (has("series"), has("time")) {
        (Some(s), Some(t)) => long(rows, answer, s, t, header_line)?,
        _ => wide(rows, answer, header_line)?,
    };
    if raw.series.is_empty() {
        return Err(perr(
            header_line,
            "no series found (the file has only a header)",
        ));
    }
    Ok(raw)
}

/// The data rows after the header, each checked to be as wide as the header.
struct Rows<'a, R: Read> {
    records: csv::StringRecordsIntoIter<R>,
    names: &'a [String],
}

impl<R: Read> Iterator for Rows<'_, R> {
    type Item = Result<(usize, csv::StringRecord), DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rec = match self.records.next()? {
            Ok(r) => r,
            Err(e) => return Some(Err(csv_err(e))),
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if rec.len() != self.names.len() {
            return Some(Err(perr(
                line,
                format!(
                    "the row has {} fields but the header has {}",
                    rec.len(),
                    self.names.len()
                ),
            )));
        }
        Some(Ok((line, rec)))
    }
}

fn push_answer(raw: &mut RawSplit, a: Answered) {
    match a {
        Answered::Label(l) => raw.labels.get_or_insert_with(Vec::new).push(l),
        Answered::Target(t) => raw.targets.get_or_insert_with(Vec::new).push(t),
    }
}

fn wide<R: Read>(
    rows: Rows<'_, R>,
    answer: Answer,
    header_line: usize,
) -> Result<RawSplit, DataError> {
    let names = rows.names;
    let steps: Vec<usize> = (0..names.len()).filter(|&i| i != answer.index()).collect();
    if steps.is_empty() {
        return Err(perr(header_line, "no value columns besides the label"));
    }
    // Column indices of each dimension, in step order.
    let layout = if steps.iter().any(|&i| dim_step(&names[i]).is_some()) {
        multivariate_steps(&steps, names, header_line)?
    } else {
        vec![univariate_steps(&steps, names, answer, header_line)?]
    };
    let mut raw = RawSplit::default();
    for row in rows {
        let (line, rec) = row?;
        let a = answer_of(&rec, answer, names, line)?;
        let mut dims = Vec::with_capacity(layout.len());
        for cols in &layout {
            let mut v = Vec::with_capacity(cols.len());
            for &c in cols {
                v.push(
                    parse_cell(&rec[c])
                        .map_err(|m| perr(line, format!("column `{}`: {m}", names[c])))?,
                );
            }
            dims.push(v);
        }
        check_has_values(&dims, raw.series.len() + 1).map_err(|m| perr(line, m))?;
        // Trailing empty cells pad a shorter series, as UCR .tsv files pad them.
        let len = dims
            .iter()
            .map(|v| v.iter().rposition(|x| !x.is_nan()).map_or(0, |p| p + 1))
            .max()
            .unwrap_or(0);
        dims.iter_mut().for_each(|v| v.truncate(len));
        push_answer(&mut raw, a);
        raw.series.push(dims);
    }
    Ok(raw)
}

/// One series of a long file while it is gathered.
struct LongSeries {
    id: String,
    answer: Answered,
    first_line: usize,
    /// `(time, line, values per dimension)`.
    steps: Vec<(f64, usize, Vec<f64>)>,
}

fn long<R: Read>(
    rows: Rows<'_, R>,
    answer: Answer,
    series_col: usize,
    time_col: usize,
    header_line: usize,
) -> Result<RawSplit, DataError> {
    let names = rows.names;
    let values: Vec<usize> = (0..names.len())
        .filter(|&i| i != answer.index() && i != series_col && i != time_col)
        .collect();
    if values.is_empty() {
        return Err(perr(
            header_line,
            "no value columns besides `series`, `time` and the label",
        ));
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut all: Vec<LongSeries> = Vec::new();
    for row in rows {
        let (line, rec) = row?;
        let id = rec[series_col].trim();
        if id.is_empty() {
            return Err(perr(line, "column `series`: the series name is empty"));
        }
        let time = match parse_cell(&rec[time_col]) {
            Ok(t) if !t.is_nan() => t,
            Ok(_) => return Err(perr(line, "column `time`: the time is missing")),
            Err(m) => return Err(perr(line, format!("column `time`: {m}"))),
        };
        let a = answer_of(&rec, answer, names, line)?;
        let mut v = Vec::with_capacity(values.len());
        for &c in &values {
            v.push(
                parse_cell(&rec[c])
                    .map_err(|m| perr(line, format!("column `{}`: {m}", names[c])))?,
            );
        }
        let i = *index.entry(id.to_string()).or_insert_with(|| {
            all.push(LongSeries {
                id: id.to_string(),
                answer: a.clone(),
                first_line: line,
                steps: Vec::new(),
            });
            all.len() - 1
        });
        let s = &mut all[i];
        if s.answer != a {
            let (what, here, there) = match (&a, &s.answer) {
                (Answered::Label(h), Answered::Label(t)) => {
                    ("label", format!("{h:?}"), format!("{t:?}"))
                }
                (Answered::Target(h), Answered::Target(t)) => {
                    ("target", h.to_string(), t.to_string())
                }
                _ => unreachable!("one column gives one kind"),
            };
            return Err(perr(
                line,
                format!(
                    "column `{}`: series `{}` has {what} {here} here but {there} on line {}; a \
                     series has one {what}",
                    names[answer.index()],
                    clip(id),
                    s.first_line
                ),
            ));
        }
        s.steps.push((time, line, v));
    }
    let mut raw = RawSplit::default();
    for (i, mut s) in all.into_iter().enumerate() {
        s.steps.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(w) = s.steps.windows(2).find(|w| w[0].0 == w[1].0) {
            let (a, b) = (w[0].1.min(w[1].1), w[0].1.max(w[1].1));
            return Err(perr(
                b,
                format!(
                    "column `time`: series `{}` has time {} on lines {a} and {b}",
                    clip(&s.id),
                    w[0].0
                ),
            ));
        }
        let dims: Vec<Vec<f64>> = (0..values.len())
            .map(|k| s.steps.iter().map(|st| st.2[k]).collect())
            .collect();
        check_has_values(&dims, i + 1).map_err(|m| perr(s.first_line, m))?;
        push_answer(&mut raw, s.answer);
        raw.series.push(dims);
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RawSplit, DataError> {
        parse_csv(text.as_bytes(), &TableOptions::default())
    }

    #[test]
    fn a_wide_file_reads_one_series_per_row_and_drops_trailing_padding() {
        let r = parse("label,t0,t1,t2\na,1,2,3\nb,4,,\nc,,?,6\n").unwrap();
        assert_eq!(r.labels.as_deref().unwrap(), ["a", "b", "c"]);
        assert_eq!(r.series[0], vec![vec![1.0, 2.0, 3.0]]);
        assert_eq!(r.series[1], vec![vec![4.0]]);
        let c = &r.series[2][0];
        assert!(c[0].is_nan() && c[1].is_nan() && c[2] == 6.0);
    }

    #[test]
    fn wide_columns_are_ordered_by_their_step_number_not_their_place() {
        let r = parse("label,t3,t2,t1,t0\na,4,3,2,1\n").unwrap();
        assert_eq!(r.series[0], vec![vec![1.0, 2.0, 3.0, 4.0]]);
        // Numbers, not text: sorted as text (as a spreadsheet may write them) t10 comes third.
        let mut cols: Vec<String> = (0..=10).map(|k| format!("t{k}")).collect();
        cols.sort();
        let row: Vec<&str> = cols.iter().map(|c| &c[1..]).collect();
        let r = parse(&format!("label,{}\nx,{}\n", cols.join(","), row.join(","))).unwrap();
        assert_eq!(
            r.series[0],
            vec![(0..=10).map(f64::from).collect::<Vec<_>>()]
        );
        // Padding is judged in step order: the empty `t2` is the last step, wherever it stands.
        let r = parse("label,t2,t0,t1\na,,1,2\nb,3,?,?\n").unwrap();
        assert_eq!(r.series[0], vec![vec![1.0, 2.0]]);
        assert_eq!(r.series[1][0][2], 3.0);
    }

    #[test]
    fn wide_value_columns_must_be_t0_to_the_last_step_once_each() {
        for (header, want) in [
            (
                "label,t0,t2,t5",
                "<bytes>:1: no column `t1`: a wide CSV has one column per step, t0 to t5 with none \
                 missing",
            ),
            (
                "t2,label,t1",
                "<bytes>:1: no column `t0`: a wide CSV has one column per step, t0 to t2 with none \
                 missing",
            ),
            (
                "label,t0,t1,t01",
                "<bytes>:1: columns `t1` and `t01` are both step 1",
            ),
            (
                "label,foo,bar",
                "<bytes>:1: column `foo` is not named t<k>: besides `label`, a wide CSV names its \
                 value columns t0, t1, ... by step (multivariate: dim<k>_<t>)",
            ),
            (
                "label,dim0_0,dim0_2,dim1_0,dim1_2",
                "<bytes>:1: no column `dim0_1`: a multivariate wide CSV has one column per dimension \
                 and step, dim<k>_0 to dim<k>_2 with none missing",
            ),
            (
                "target,t0,t1,t",
                "<bytes>:1: column `t` is not named t<k>: besides `target`, a wide CSV names its \
                 value columns t0, t1, ... by step (multivariate: dim<k>_<t>)",
            ),
            (
                "series,value,label",
                "<bytes>:1: column `series` is not named t<k>: besides `label`, a wide CSV names \
                 its value columns t0, t1, ... by step (multivariate: dim<k>_<t>); a long CSV has \
                 both a `series` and a `time` column",
            ),
        ] {
            let e = parse(&format!("{header}\n")).unwrap_err().to_string();
            assert_eq!(e, want, "{header}");
        }
    }

    #[test]
    fn a_series_with_every_value_missing_is_refused_naming_its_number() {
        let e = parse("label,t0,t1\na,1,2\nb,,?\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "<bytes>:3: series 2 has no values (every value is missing)"
        );
        let e = parse("series,time,value,label\ns1,0,1,a\ns2,1,?,b\ns2,0,,b\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "<bytes>:3: series 2 has no values (every value is missing)"
        );
        // A dimension missing throughout beside one with values keeps its NaN, as before.
        let r = parse("dim0_0,dim1_0,dim0_1,dim1_1,label\n,1,?,2,a\n").unwrap();
        assert!(r.series[0][0].iter().all(|v| v.is_nan()));
        assert_eq!(r.series[0][1], vec![1.0, 2.0]);
    }

    #[test]
    fn a_multivariate_wide_file_orders_dimensions_and_steps_by_their_names() {
        // Columns deliberately out of order: the names decide.
        let r = parse("dim1_1,dim0_0,label,dim1_0,dim0_1\n4,1,x,3,2\n").unwrap();
        assert_eq!(r.series[0], vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        let e = parse("dim0_0,dim0_1,dim1_0,label\n1,2,3,x\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "<bytes>:1: no column `dim1_1`: every dimension needs the same steps"
        );
        let e = parse("dim0_0,t1,label\n1,2,x\n").unwrap_err().to_string();
        assert!(
            e.starts_with("<bytes>:1: column `t1` is not named dim<k>_<t>"),
            "{e}"
        );
    }

    #[test]
    fn a_long_file_groups_rows_by_series_and_sorts_them_by_time() {
        let text = "series,time,value,label\ns2,1,20,b\ns1,1,11,a\ns1,0,10,a\ns2,0,,b\ns1,2,12,a\n";
        let r = parse(text).unwrap();
        assert_eq!(r.labels.as_deref().unwrap(), ["b", "a"]);
        assert!(r.series[0][0][0].is_nan() && r.series[0][0][1] == 20.0);
        assert_eq!(r.series[1], vec![vec![10.0, 11.0, 12.0]]);
        let e = parse("series,time,value,label\ns,0,1,a\ns,0,2,a\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "<bytes>:3: column `time`: series `s` has time 0 on lines 2 and 3"
        );
    }

    #[test]
    fn a_target_column_makes_a_regression_split() {
        let r = parse("target,t0,t1\n0.5,1,2\n-1e-3,3,4\n").unwrap();
        assert_eq!(r.targets, Some(vec![0.5, -1e-3]));
        assert!(r.labels.is_none());
        let e = parse("target,t0\n,1\n").unwrap_err().to_string();
        assert_eq!(e, "<bytes>:2: column `target`: the target is missing");
    }

    #[test]
    fn unnamed_and_repeated_columns_are_refused() {
        let e = parse(",label,a\n0,x,1\n").unwrap_err().to_string();
        assert!(e.starts_with("<bytes>:1: column 1 has no name"), "{e}");
        let e = parse("label,t0,t0\nx,1,2\n").unwrap_err().to_string();
        assert_eq!(e, "<bytes>:1: column `t0` appears twice (columns 2 and 3)");
        assert!(parse("").is_err());
        assert!(parse("label,t0\n")
            .unwrap_err()
            .to_string()
            .contains("only a header"));
    }
}
