//! The UCR `.tsv` format.

use std::io::BufRead;

use super::{clip, finish, parse_value, perr, push_series, trim_trailing_nan, Lines, RawSplit};
use crate::DataError;

/// Parses the UCR `.tsv` format: one series per line, the class label first, values separated by
/// tabs (commas or runs of spaces are accepted too, decided per line). `NaN` or empty fields are
/// missing values; trailing ones are UCR's padding of shorter series and are dropped, so a series'
/// length is the index of its last non-NaN value plus one. A line with no value present is an error
/// naming the series.
///
/// Because of that padding every line of a UCR file has the same number of fields. When at least
/// three series are read, all but the last have the same number of fields and the last has fewer,
/// the file was cut short (a partial download or copy) and is rejected, naming the last line;
/// files whose lines vary in width elsewhere are read as unpadded variable-length series.
pub fn parse_tsv(reader: impl BufRead) -> Result<RawSplit, DataError> {
    let mut lines = Lines::new(reader);
    let mut raw = RawSplit {
        labels: Some(Vec::new()),
        ..RawSplit::default()
    };
    let mut last = 0;
    // Field count of the series lines before the latest one, and whether they all agree.
    let mut width: Option<usize> = None;
    let mut equal_width = true;
    // Line number, field count and whether a newline ended it, for the latest series line.
    let mut latest: Option<(usize, usize, bool)> = None;
    while let Some((ln, line)) = lines.next_line()? {
        last = ln;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let tabbed = t.contains('\t');
        let fields: Vec<&str> = if tabbed {
            t.split('\t').collect()
        } else if t.contains(',') {
            t.split(',').collect()
        } else {
            t.split_whitespace().collect()
        };
        // `trim` drops empty trailing tab fields, which pad a series as NaN does: counting them
        // keeps a padded line as wide as the others.
        let n_fields = if tabbed {
            line.trim_start().trim_end_matches(' ').split('\t').count()
        } else {
            fields.len()
        };
        if let Some((_, w, _)) = latest {
            equal_width &= width.is_none_or(|x| x == w);
            width = Some(w);
        }
        latest = Some((ln, n_fields, lines.newline));
        if fields.len() < 2 {
            return Err(perr(ln, "expected a label followed by at least one value"));
        }
        let label = fields[0].trim();
        if label.is_empty() || label.eq_ignore_ascii_case("nan") || label == "?" {
            return Err(perr(
                ln,
                format!("expected a class label first, found {:?}", clip(label)),
            ));
        }
        let mut v = Vec::with_capacity(fields.len() - 1);
        for (i, f) in fields[1..].iter().enumerate() {
            v.push(parse_value(f, ln, || format!("value {}", i + 1))?);
        }
        trim_trailing_nan(&mut v);
        push_series(&mut raw, vec![v], label, ln)?;
    }
    if let (Some((ln, n, newline)), Some(w), true) = (latest, width, equal_width) {
        if n < w && raw.series.len() >= 3 {
            let end = if newline {
                "UCR .tsv files pad shorter series with NaN"
            } else {
                "the file ends without a newline"
            };
            return Err(perr(
                ln,
                format!(
                    "last line has {} value{} but every other line has {}: the file looks truncated ({end})",
                    n - 1,
                    if n == 2 { "" } else { "s" },
                    w - 1
                ),
            ));
        }
    }
    finish(raw, last)
}
