//! The sktime/aeon `.ts` format.

use std::io::BufRead;

use super::{
    check_dims, clip, finish_data, parse_bool, parse_value, perr, push_series, Lines, RawSplit,
};
use crate::DataError;

#[derive(Default)]
struct TsHeader {
    univariate: Option<bool>,
    dimensions: Option<usize>,
    equal_length: Option<bool>,
    series_length: Option<usize>,
    class_label: Option<bool>,
    classes: Option<Vec<String>>,
    target: bool,
}

/// Parses the sktime/aeon `.ts` format.
///
/// Header keys (case-insensitive): `@problemName`, `@timeStamps` (only `false` is supported),
/// `@missing`, `@univariate`, `@dimensions`, `@equalLength`, `@seriesLength`,
/// `@classLabel true <labels..>` / `false`, `@targetLabel true` (regression) and `@data`. Lines
/// starting with `#` and blank lines are skipped. Each data line holds the dimensions separated by
/// `:`, values by `,`, `?` for a missing value, and the label or target last. Dimensions must agree
/// with `@dimensions` (or `@univariate`, or the first series), lengths with `@equalLength` and
/// `@seriesLength`, labels with the declared class list. A series with every value missing, in
/// every dimension, is an error naming the series.
pub fn parse_ts(reader: impl BufRead) -> Result<RawSplit, DataError> {
    let mut lines = Lines::new(reader);
    let mut h = TsHeader::default();
    let mut in_data = false;
    let mut raw = RawSplit::default();
    let mut n_dims: Option<usize> = None;
    let mut first_len: Option<usize> = None;
    let mut last = 0;
    while let Some((ln, line)) = lines.next_line()? {
        last = ln;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if !in_data {
            if !t.starts_with('@') {
                return Err(perr(
                    ln,
                    format!(
                        "expected a header line starting with '@' before @data, found {:?}",
                        clip(t)
                    ),
                ));
            }
            let mut parts = t[1..].splitn(2, char::is_whitespace);
            let key = parts.next().unwrap_or("").to_ascii_lowercase();
            let val = parts.next().unwrap_or("").trim();
            match key.as_str() {
                "problemname" => {}
                "timestamps" => {
                    if parse_bool(val, ln, "timeStamps")? {
                        return Err(perr(ln, "@timeStamps true is not supported"));
                    }
                }
                "missing" => {
                    parse_bool(val, ln, "missing")?;
                }
                "univariate" => h.univariate = Some(parse_bool(val, ln, "univariate")?),
                "dimensions" | "dimension" => {
                    let d: usize = val.parse().map_err(|_| {
                        perr(
                            ln,
                            format!(
                                "@dimensions: expected a positive integer, found {:?}",
                                clip(val)
                            ),
                        )
                    })?;
                    if d == 0 {
                        return Err(perr(
                            ln,
                            "@dimensions: expected a positive integer, found 0",
                        ));
                    }
                    h.dimensions = Some(d);
                }
                "equallength" => h.equal_length = Some(parse_bool(val, ln, "equalLength")?),
                "serieslength" => {
                    h.series_length = Some(val.parse().map_err(|_| {
                        perr(
                            ln,
                            format!("@seriesLength: expected an integer, found {:?}", clip(val)),
                        )
                    })?)
                }
                "classlabel" => {
                    let mut it = val.split_whitespace();
                    let flag = parse_bool(it.next().unwrap_or(""), ln, "classLabel")?;
                    h.class_label = Some(flag);
                    if flag {
                        let c: Vec<String> = it.map(str::to_string).collect();
                        if c.is_empty() {
                            return Err(perr(ln, "@classLabel true must list the class labels"));
                        }
                        h.classes = Some(c);
                    }
                }
                "targetlabel" => h.target = parse_bool(val, ln, "targetLabel")?,
                "data" => {
                    if h.class_label == Some(true) && h.target {
                        return Err(perr(
                            ln,
                            "@classLabel true and @targetLabel true are exclusive",
                        ));
                    }
                    if let (Some(true), Some(d)) = (h.univariate, h.dimensions) {
                        if d != 1 {
                            return Err(perr(ln, format!("@univariate true but @dimensions {d}")));
                        }
                    }
                    if h.univariate == Some(true) {
                        n_dims = Some(1);
                    }
                    if let Some(d) = h.dimensions {
                        n_dims = Some(d);
                    }
                    if h.class_label == Some(true) {
                        raw.labels = Some(Vec::new());
                        raw.declared_classes = h.classes.clone();
                    } else if h.target {
                        raw.targets = Some(Vec::new());
                    } else {
                        // Unlabelled series cannot train or score a model.
                        return Err(perr(
                            ln,
                            "expected @classLabel true <labels> or @targetLabel true before @data",
                        ));
                    }
                    in_data = true;
                }
                other => {
                    return Err(perr(ln, format!("unknown header key @{}", clip(other))));
                }
            }
            continue;
        }
        if t.starts_with('@') {
            return Err(perr(ln, format!("header line {:?} after @data", clip(t))));
        }
        let mut parts: Vec<&str> = t.split(':').collect();
        let has_last = raw.labels.is_some() || raw.targets.is_some();
        let last_part = if has_last {
            if parts.len() < 2 {
                return Err(perr(
                    ln,
                    "expected dimensions followed by ':' and a label or target, found no ':'",
                ));
            }
            parts.pop()
        } else {
            None
        };
        let d = parts.len();
        check_dims(&mut n_dims, d, ln)?;
        let mut dims = Vec::with_capacity(d);
        for (k, p) in parts.iter().enumerate() {
            let mut v = Vec::new();
            for tok in p.split(',') {
                v.push(parse_value(tok, ln, || format!("dimension {k}"))?);
            }
            if v.len() == 1 && v[0].is_nan() && p.trim().is_empty() {
                return Err(perr(ln, format!("dimension {k} is empty")));
            }
            dims.push(v);
        }
        let len = dims[0].len();
        if let Some((k, v)) = dims.iter().enumerate().find(|(_, v)| v.len() != len) {
            return Err(perr(
                ln,
                format!(
                    "dimension {k} has {} values but dimension 0 has {len}",
                    v.len()
                ),
            ));
        }
        if h.equal_length == Some(true) {
            if let Some(sl) = h.series_length {
                if sl != len {
                    return Err(perr(
                        ln,
                        format!("@seriesLength is {sl} but the series has {len} values"),
                    ));
                }
            }
            match first_len {
                Some(fl) if fl != len => {
                    return Err(perr(
                        ln,
                        format!(
                            "@equalLength true but the series has {len} values, the first had {fl}"
                        ),
                    ));
                }
                None => first_len = Some(len),
                _ => {}
            }
        }
        // A data line always ends with a label or a target: @data requires one of them.
        let lp = last_part.unwrap_or("").trim();
        if raw.labels.is_some() && lp.is_empty() {
            return Err(perr(
                ln,
                "expected a class label after the last ':', found nothing",
            ));
        }
        push_series(&mut raw, dims, lp, ln)?;
    }
    finish_data(raw, in_data, last)
}
