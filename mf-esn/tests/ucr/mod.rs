//! A minimal reader for the UCR `.tsv` and sktime `.ts` files of the paper's data sets, for real-data checks only.

use std::path::Path;

use mf_core::{Sequences, Targets};
use ndarray::{Array2, Array3};

/// One split of a data set.
#[derive(Debug)]
pub struct Split {
    /// The series, `(n_series, max_len, n_inputs)` with their lengths.
    pub seqs: Sequences,
    /// Class indices (labels sorted numerically when they are all numbers) or real targets `(n_series, 1)`.
    pub targets: Targets,
}

struct Raw {
    series: Vec<Vec<Vec<f32>>>,
    labels: Vec<String>,
}

fn parse_tsv(text: &str) -> Result<Raw, String> {
    let mut raw = Raw {
        series: Vec::new(),
        labels: Vec::new(),
    };
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut it = line.split(['\t', ',']);
        raw.labels
            .push(it.next().unwrap_or_default().trim().to_string());
        let v = it
            .map(|s| {
                s.trim()
                    .parse::<f32>()
                    .map_err(|e| format!("line {}: {e}", n + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        raw.series
            .push(vec![v.into_iter().filter(|v| !v.is_nan()).collect()]);
    }
    Ok(raw)
}

fn parse_ts(text: &str) -> Result<Raw, String> {
    let mut raw = Raw {
        series: Vec::new(),
        labels: Vec::new(),
    };
    let mut data = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            data |= line.eq_ignore_ascii_case("@data");
            continue;
        }
        if !data {
            continue;
        }
        let mut fields: Vec<&str> = line.split(':').collect();
        let label = fields.pop().ok_or(format!("line {}: empty", n + 1))?;
        raw.labels.push(label.trim().to_string());
        let dims = fields
            .iter()
            .map(|f| {
                f.split(',')
                    .map(str::trim)
                    .take_while(|s| *s != "?" && !s.is_empty())
                    .map(|s| s.parse::<f32>().map_err(|e| format!("line {}: {e}", n + 1)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        raw.series.push(dims);
    }
    Ok(raw)
}

fn read(path: &Path) -> Result<Raw, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "ts") {
        parse_ts(&text)
    } else {
        parse_tsv(&text)
    }
}

fn to_seqs(raw: &Raw) -> Sequences {
    let d = raw.series[0].len();
    let lengths: Vec<usize> = raw
        .series
        .iter()
        .map(|s| s.iter().map(Vec::len).min().unwrap_or(0))
        .collect();
    let t = *lengths.iter().max().unwrap();
    let mut x = Array3::<f32>::zeros((raw.series.len(), t, d));
    for (i, s) in raw.series.iter().enumerate() {
        for (k, dim) in s.iter().enumerate() {
            for (j, v) in dim.iter().take(lengths[i]).enumerate() {
                x[[i, j, k]] = *v;
            }
        }
    }
    Sequences::new(x, lengths).expect("lengths within the array")
}

/// Reads `<dir>/<name>/<name>_{TRAIN,TEST}.{ts,tsv}`; `None` when the files are absent.
pub fn load(dir: &Path, name: &str, regression: bool) -> Option<(Split, Split)> {
    let find = |split: &str| {
        ["ts", "tsv"]
            .iter()
            .map(|e| dir.join(name).join(format!("{name}_{split}.{e}")))
            .find(|p| p.exists())
    };
    let (train, test) = (
        read(&find("TRAIN")?).unwrap(),
        read(&find("TEST")?).unwrap(),
    );
    let targets = |raw: &Raw, classes: &[String]| {
        if regression {
            let v: Vec<f64> = raw
                .labels
                .iter()
                .map(|l| l.parse().expect("numeric target"))
                .collect();
            Targets::Values(Array2::from_shape_vec((v.len(), 1), v).unwrap())
        } else {
            let labels = raw
                .labels
                .iter()
                .map(|l| classes.iter().position(|c| c == l).unwrap())
                .collect();
            Targets::Classes {
                labels,
                n_classes: classes.len(),
            }
        }
    };
    let mut classes: Vec<String> = train.labels.iter().chain(&test.labels).cloned().collect();
    classes.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    classes.dedup();
    let tr = Split {
        seqs: to_seqs(&train),
        targets: targets(&train, &classes),
    };
    let te = Split {
        seqs: to_seqs(&test),
        targets: targets(&test, &classes),
    };
    Some((tr, te))
}
