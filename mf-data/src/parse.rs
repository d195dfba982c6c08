//! Text parsers for the three archive formats: sktime/aeon `.ts`, UCR `.tsv` and Weka `.arff`.
//!
//! Each parser reads any [`BufRead`] into a [`RawSplit`], the low-level form (one `Vec<f64>` per
//! dimension per series) that [`crate::Split::from_raw`] turns into Arrow. Errors name the 1-based
//! line; the path is `<bytes>` until a path wrapper such as [`crate::read_split`] fills it in.

use std::io::BufRead;

use crate::DataError;

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

// ---------------------------------------------------------------------------------------------
// .ts
// ---------------------------------------------------------------------------------------------

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
/// `@seriesLength`, labels with the declared class list.
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
        match n_dims {
            Some(nd) if nd != d => {
                return Err(perr(ln, format!("expected {nd} dimensions, found {d}")));
            }
            None => n_dims = Some(d),
            _ => {}
        }
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
        if let Some(lp) = last_part {
            let lp = lp.trim();
            if let Some(labels) = raw.labels.as_mut() {
                if lp.is_empty() {
                    return Err(perr(
                        ln,
                        "expected a class label after the last ':', found nothing",
                    ));
                }
                check_label(lp, &raw.declared_classes, ln)?;
                labels.push(lp.to_string());
            } else if let Some(targets) = raw.targets.as_mut() {
                let v = parse_value(lp, ln, || "target".to_string())?;
                if v.is_nan() {
                    return Err(perr(ln, "target value is missing"));
                }
                targets.push(v);
            }
        }
        raw.series.push(dims);
    }
    if !in_data {
        return Err(perr(
            last.max(1),
            "expected an @data line, reached the end of input",
        ));
    }
    finish(raw, last)
}

// ---------------------------------------------------------------------------------------------
// .tsv
// ---------------------------------------------------------------------------------------------

/// Parses the UCR `.tsv` format: one series per line, the class label first, values separated by
/// tabs (commas or runs of spaces are accepted too, decided per line). `NaN` or empty fields are
/// missing values; trailing ones are UCR's padding of shorter series and are dropped, so a series'
/// length is the index of its last non-NaN value plus one.
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
        if v.is_empty() {
            return Err(perr(ln, "series has no values (all missing)"));
        }
        if let Some(l) = raw.labels.as_mut() {
            l.push(label.to_string());
        }
        raw.series.push(vec![v]);
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

// ---------------------------------------------------------------------------------------------
// .arff
// ---------------------------------------------------------------------------------------------

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
/// trailing missing values are padding and are dropped.
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
        match n_dims {
            Some(nd) if nd != dims.len() => {
                return Err(perr(
                    ln,
                    format!("expected {nd} dimensions, found {}", dims.len()),
                ));
            }
            None => n_dims = Some(dims.len()),
            _ => {}
        }
        // Padding is common to all dimensions: trim to the longest non-NaN prefix.
        let len = dims
            .iter()
            .map(|d| d.iter().rposition(|x| !x.is_nan()).map_or(0, |i| i + 1))
            .max()
            .unwrap_or(0);
        if len == 0 {
            return Err(perr(ln, "series has no values (all missing)"));
        }
        let dims: Vec<Vec<f64>> = dims
            .into_iter()
            .map(|mut d| {
                d.truncate(len);
                d
            })
            .collect();
        let cf = unquote(&class_field);
        if let Some(labels) = raw.labels.as_mut() {
            if cf.is_empty() || cf == "?" {
                return Err(perr(ln, "expected a class label, found nothing"));
            }
            check_label(cf, &raw.declared_classes, ln)?;
            labels.push(cf.to_string());
        } else if let Some(targets) = raw.targets.as_mut() {
            let v = parse_value(cf, ln, || "target".to_string())?;
            if v.is_nan() {
                return Err(perr(ln, "target value is missing"));
            }
            targets.push(v);
        }
        raw.series.push(dims);
    }
    if !in_data {
        return Err(perr(
            last.max(1),
            "expected an @data line, reached the end of input",
        ));
    }
    finish(raw, last)
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
        check_err(Format::Tsv, "1\t2\n2\tNaN\tNaN\n", 2, "no values");
        check_err(Format::Tsv, "", 1, "no series");
        check_err(Format::Tsv, "\n\n", 2, "no series");
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
