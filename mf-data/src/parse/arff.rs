//! The Weka `.arff` format.

use std::io::BufRead;

use super::{check_dims, clip, finish_data, parse_value, perr, push_series, Lines, RawSplit};
use crate::DataError;

#[derive(Debug, Clone, PartialEq)]
enum AttrType {
    Numeric,
    Nominal(Vec<String>),
    /// A relational attribute with this many inner attributes (time steps).
    Relational(usize),
    Other,
}

/// Splits on `sep` outside single or double quotes.
fn split_quoted(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                let _ = q;
            }
            Some(q) if c == q => {
                quote = None;
                cur.push(c);
            }
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c == sep => out.push(std::mem::take(&mut cur)),
            None => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn unquote(s: &str) -> &str {
    let t = s.trim();
    if t.len() >= 2
        && ((t.starts_with('\'') && t.ends_with('\'')) || (t.starts_with('"') && t.ends_with('"')))
    {
        &t[1..t.len() - 1]
    } else {
        t
    }
}

fn parse_attr_type(rest: &str, ln: usize) -> Result<(String, String), DataError> {
    // `rest` is "<name> <type...>", the name possibly quoted.
    let rest = rest.trim();
    let (name, ty) = if let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
        match rest[1..].find(q) {
            Some(end) => (
                rest[1..1 + end].to_string(),
                rest[end + 2..].trim().to_string(),
            ),
            None => return Err(perr(ln, "@attribute: unterminated quoted name")),
        }
    } else {
        let mut p = rest.splitn(2, char::is_whitespace);
        (
            p.next().unwrap_or("").to_string(),
            p.next().unwrap_or("").trim().to_string(),
        )
    };
    if name.is_empty() || ty.is_empty() {
        return Err(perr(ln, "@attribute: expected a name and a type"));
    }
    Ok((name, ty))
}

fn classify_type(ty: &str, ln: usize) -> Result<AttrType, DataError> {
    if let Some(inner) = ty.strip_prefix('{') {
        let inner = inner
            .strip_suffix('}')
            .ok_or_else(|| perr(ln, "@attribute: nominal list misses its closing '}'"))?;
        let vals: Vec<String> = split_quoted(inner, ',')
            .iter()
            .map(|s| unquote(s).to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if vals.is_empty() {
            return Err(perr(ln, "@attribute: empty nominal list"));
        }
        return Ok(AttrType::Nominal(vals));
    }
    match ty.split_whitespace().next().unwrap_or("").to_ascii_lowercase().as_str() {
        "numeric" | "real" | "integer" => Ok(AttrType::Numeric),
        "relational" => Ok(AttrType::Relational(0)),
        "string" | "date" => Ok(AttrType::Other),
        other => Err(perr(
            ln,
            format!("@attribute: expected numeric, real, integer, {{..}}, relational, string or date, found {:?}", clip(other)),
        )),
    }
}

/// Parses the Weka `.arff` format as written by the UCR/UEA archives.
///
/// `@relation`, `@attribute` (numeric/real/integer, nominal `{a,b}`, `relational ... @end name`
/// for multivariate series) and `@data`, with `%` comments. The last attribute is the class
/// (nominal) or regression target (numeric). Univariate files have one numeric attribute per time
/// step. Multivariate files have one relational attribute whose value is a quoted string holding
/// one row per dimension, rows separated by the two characters `\n`. Missing values are `?`;
/// trailing missing values are padding and are dropped; a series with no value present in any
/// dimension is an error naming the series.
pub fn parse_arff(reader: impl BufRead) -> Result<RawSplit, DataError> {
    let mut lines = Lines::new(reader);
    let mut attrs: Vec<(String, AttrType)> = Vec::new();
    let mut rel_open: Option<(String, usize)> = None;
    let mut in_data = false;
    let mut raw = RawSplit::default();
    let mut n_dims: Option<usize> = None;
    let mut last = 0;
    let mut seen_relation = false;
    while let Some((ln, line)) = lines.next_line()? {
        last = ln;
        let t = line.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        if !in_data {
            if !t.starts_with('@') {
                return Err(perr(
                    ln,
                    format!(
                        "expected a header line starting with '@', found {:?}",
                        clip(t)
                    ),
                ));
            }
            let mut p = t[1..].splitn(2, char::is_whitespace);
            let key = p.next().unwrap_or("").to_ascii_lowercase();
            let rest = p.next().unwrap_or("");
            match key.as_str() {
                "relation" => seen_relation = true,
                "attribute" => {
                    let (name, ty) = parse_attr_type(rest, ln)?;
                    let at = classify_type(&ty, ln)?;
                    if let Some((_, n)) = rel_open.as_mut() {
                        if at != AttrType::Numeric {
                            return Err(perr(
                                ln,
                                "relational attribute: expected numeric inner attributes",
                            ));
                        }
                        *n += 1;
                    } else if at == AttrType::Relational(0) {
                        rel_open = Some((name, 0));
                    } else {
                        attrs.push((name, at));
                    }
                }
                "end" => {
                    let (name, n) = rel_open
                        .take()
                        .ok_or_else(|| perr(ln, "@end without an open relational attribute"))?;
                    if n == 0 {
                        return Err(perr(
                            ln,
                            format!("relational attribute {name} has no inner attributes"),
                        ));
                    }
                    attrs.push((name, AttrType::Relational(n)));
                }
                "data" => {
                    if !seen_relation {
                        return Err(perr(ln, "expected @relation before @data"));
                    }
                    if let Some((name, _)) = &rel_open {
                        return Err(perr(ln, format!("expected @end {name} before @data")));
                    }
                    if attrs.len() < 2 {
                        return Err(perr(
                            ln,
                            "expected at least one series attribute and a class attribute",
                        ));
                    }
                    let (_, class_ty) = &attrs[attrs.len() - 1];
                    match class_ty {
                        AttrType::Nominal(c) => {
                            raw.labels = Some(Vec::new());
                            raw.declared_classes = Some(c.clone());
                        }
                        AttrType::Numeric => raw.targets = Some(Vec::new()),
                        _ => {
                            return Err(perr(
                                ln,
                                "the last attribute must be nominal (class) or numeric (target)",
                            ))
                        }
                    }
                    let series_attrs = &attrs[..attrs.len() - 1];
                    let n_rel = series_attrs
                        .iter()
                        .filter(|(_, a)| matches!(a, AttrType::Relational(_)))
                        .count();
                    if n_rel > 1 || (n_rel == 1 && series_attrs.len() != 1) {
                        return Err(perr(ln, "expected either one relational attribute or only numeric series attributes"));
                    }
                    if n_rel == 0 && series_attrs.iter().any(|(_, a)| *a != AttrType::Numeric) {
                        return Err(perr(ln, "series attributes must be numeric"));
                    }
                    in_data = true;
                }
                other => return Err(perr(ln, format!("unknown header key @{}", clip(other)))),
            }
            continue;
        }
        let fields = split_quoted(t, ',');
        let series_attrs = &attrs[..attrs.len() - 1];
        let (dims, class_field) = if let [(_, AttrType::Relational(n_steps))] = series_attrs {
            if fields.len() != 2 {
                return Err(perr(
                    ln,
                    format!(
                        "expected a quoted series and a class value, found {} fields",
                        fields.len()
                    ),
                ));
            }
            let s = unquote(&fields[0]);
            let mut dims = Vec::new();
            for (k, row) in s.split("\\n").enumerate() {
                let mut v = Vec::with_capacity(*n_steps);
                for tok in row.split(',') {
                    v.push(parse_value(tok, ln, || format!("dimension {k}"))?);
                }
                if v.len() != *n_steps {
                    return Err(perr(
                        ln,
                        format!(
                            "dimension {k}: expected {n_steps} values, found {}",
                            v.len()
                        ),
                    ));
                }
                dims.push(v);
            }
            (dims, fields[1].clone())
        } else {
            let want = series_attrs.len() + 1;
            if fields.len() != want {
                return Err(perr(
                    ln,
                    format!("expected {want} values, found {}", fields.len()),
                ));
            }
            let mut v = Vec::with_capacity(want - 1);
            for (i, f) in fields[..want - 1].iter().enumerate() {
                v.push(parse_value(f, ln, || format!("attribute {}", i + 1))?);
            }
            (vec![v], fields[want - 1].clone())
        };
        check_dims(&mut n_dims, dims.len(), ln)?;
        // Padding is common to all dimensions: trim to the longest non-NaN prefix.
        let len = dims
            .iter()
            .map(|d| d.iter().rposition(|x| !x.is_nan()).map_or(0, |i| i + 1))
            .max()
            .unwrap_or(0);
        let dims: Vec<Vec<f64>> = dims
            .into_iter()
            .map(|mut d| {
                d.truncate(len);
                d
            })
            .collect();
        let cf = unquote(&class_field);
        if raw.labels.is_some() && (cf.is_empty() || cf == "?") {
            return Err(perr(ln, "expected a class label, found nothing"));
        }
        push_series(&mut raw, dims, cf, ln)?;
    }
    finish_data(raw, in_data, last)
}
