//! `mf predict`: a model written by `mf fit` on new series, read from a file in any format `--dataset` reads
//! (CSV wide or long, Parquet, Arrow IPC, `.ts`, `.tsv`, `.arff`), or sample by sample from standard input
//! (`--stream`).
//!
//! Output (stdout), CSV by default:
//!
//! - from a file, one row per series (1-based, in file order): `series,label,score_<class>...` for
//!   classification (the predicted label as the data set writes it, then one score per class: probabilities for
//!   MF-RNN and RNN, the ridge readout's decision values for MF-ESN and ESN, `-inf` for a class the readout never
//!   saw), or `series,value` (`value_1,...` for several outputs) for regression; with `--format json` one
//!   document with the metric, the classes and a `predictions` array;
//! - with `--stream`, the same after each line read, with a `step` column after `series` (or only after each
//!   series' last step with `--at-end`); with `--format json` one JSON object per line.
//!
//! The metric (accuracy or RMSE) against the file's labels or targets goes to stderr.
//!
//! A model fitted with `--normalise zscore` scales every value with the training statistics saved in its
//! `model.json`, in a file and in a stream alike: give the values as the data set writes them.
//!
//! A sequence model (`mf fit` on a sequence task or a signal of one's own) runs along one signal from where its
//! fit left it: `--stream` reads one step per line and prints `step,value...` after each, `step` counting the
//! steps after the fitted signal (a forecaster's prediction is of the step after the line's, a map's of the
//! line's own); with `--online` the readout learns each target as it arrives (a forecaster's sample is its own
//! target; a map's line gives its targets after its inputs); `--horizon H` then generates a forecaster's next `H`
//! steps in closed loop.

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use mf_lab::saved::{ModelStream, Predictions, SavedModel};
use mf_lab::sequence_model::{SequenceKind, SequenceModel};
use mf_lab::{Metric, ModelKind};
use serde::Serialize;

/// Output format of `mf predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// JSON: one document for a file, one object per line with --stream.
    Json,
}

/// `mf predict`: predict with a saved model.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct PredictArgs {
    /// A model directory written by `mf fit`. A model fitted with `--normalise zscore` scales the values given
    /// to it with its saved training statistics.
    pub model: PathBuf,
    /// A file of series with their labels or targets, in any format --dataset reads: CSV (wide or long),
    /// Parquet, Arrow IPC (.arrow, .feather, .ipc) with a `label` or `target` column, or .ts, .tsv, .arff as the
    /// UCR/UEA archives write them.
    #[arg(
        long,
        short = 'i',
        required_unless_present_any = ["stream", "horizon"],
        conflicts_with_all = ["stream", "horizon"]
    )]
    pub input: Option<PathBuf>,
    /// Read series from standard input, one time step per line (one value per input dimension, separated by
    /// commas or spaces; a blank line ends a series, `#` starts a comment) and print the prediction after each
    /// line.
    #[arg(long)]
    pub stream: bool,
    /// With --stream: print only each series' prediction after its last step (at a blank line and at the end of
    /// the input).
    #[arg(long, requires = "stream")]
    pub at_end: bool,
    /// Sequence models, with --stream: learn online, each target as it arrives (a forecaster's line is the
    /// sample that its last prediction was of; a map's line gives the step's targets after its inputs). The
    /// readout is refitted after every line: recursive least squares with `readout = rls`, the ridge's
    /// normal equations solved again otherwise.
    #[arg(long, requires = "stream")]
    pub online: bool,
    /// Sequence models that forecast: generate the next H steps in closed loop, each prediction fed back as the
    /// next input (after the samples of --stream, when given).
    #[arg(long, value_name = "H", value_parser = parse_horizon)]
    pub horizon: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// The CSV header: `series[,step]`, then `label,score_<class>...` or `value` / `value_<k>...`.
fn header(model: &SavedModel, step: bool) -> String {
    let d = model.description();
    let mut cols = vec!["series".to_string()];
    if step {
        cols.push("step".into());
    }
    match d.metric {
        Metric::Accuracy => {
            cols.push("label".into());
            cols.extend(
                d.classes
                    .iter()
                    .map(|c| field(&format!("score_{c}")).into_owned()),
            );
        }
        _ if d.n_outputs == 1 => cols.push("value".into()),
        _ => cols.extend((1..=d.n_outputs).map(|k| format!("value_{k}"))),
    }
    cols.join(",")
}

/// Row `i` of `p` as CSV fields after `series[,step]`.
fn csv_row(model: &SavedModel, p: &Predictions, i: usize) -> String {
    let mut cols: Vec<String> = Vec::new();
    match p {
        Predictions::Classes { classes, scores } => {
            cols.push(field(&model.description().classes[classes[i]]).into_owned());
            cols.extend(scores.row(i).iter().map(f64::to_string));
        }
        Predictions::Values(v) => cols.extend(v.row(i).iter().map(f64::to_string)),
    }
    cols.join(",")
}

/// One prediction in JSON: `{"series", ["step",] "label", "scores"}` or `{"series", ["step",] "values"}`.
#[derive(Debug, Serialize)]
struct JsonRow<'a> {
    series: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scores: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Vec<f64>>,
}

/// Row `i` of `p` for JSON.
fn json_row<'a>(
    model: &'a SavedModel,
    p: &Predictions,
    i: usize,
    series: usize,
    step: Option<usize>,
) -> JsonRow<'a> {
    let mut row = JsonRow {
        series,
        step,
        label: None,
        scores: None,
        values: None,
    };
    match p {
        Predictions::Classes { classes, scores } => {
            row.label = Some(&model.description().classes[classes[i]]);
            row.scores = Some(scores.row(i).to_vec());
        }
        Predictions::Values(v) => row.values = Some(v.row(i).to_vec()),
    }
    row
}

/// `mf predict --input FILE --format json`.
#[derive(Debug, Serialize)]
struct JsonDocument<'a> {
    model: ModelKind,
    input: String,
    metric: Metric,
    score: f64,
    n_series: usize,
    classes: &'a [String],
    predictions: Vec<JsonRow<'a>>,
}

/// Predicts every series of the file at `path` and writes the predictions to `out`; returns the metric against
/// the file's labels or targets, and the number of series.
pub fn predict_file(
    model: &SavedModel,
    path: &Path,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<(f64, usize)> {
    let input = model.read_input(path)?;
    let p = model
        .predict(&input.seqs)
        .with_context(|| format!("predicting the series of {}", path.display()))?;
    let score = mf_lab::saved::score(&p, &input.truth)?;
    let d = model.description();
    match format {
        Format::Csv => {
            writeln!(out, "{}", header(model, false))?;
            for i in 0..p.len() {
                writeln!(out, "{},{}", i + 1, csv_row(model, &p, i))?;
            }
        }
        Format::Json => {
            let doc = JsonDocument {
                model: d.model,
                input: path.display().to_string(),
                metric: d.metric,
                score,
                n_series: p.len(),
                classes: &d.classes,
                predictions: (0..p.len())
                    .map(|i| json_row(model, &p, i, i + 1, None))
                    .collect(),
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    out.flush()?;
    Ok((score, p.len()))
}

/// The numbers of one line of the stream, separated by commas or white space, each with its text.
fn parse_values(line: &str) -> impl Iterator<Item = Result<(&str, f64), String>> {
    line.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<f64>()
                .map(|v| (t, v))
                .map_err(|_| format!("`{t}` is not a number"))
        })
}

/// The values of one line of the stream, read as the data files are (as f64, then rounded to f32).
fn parse_sample(line: &str) -> Result<Vec<f32>, String> {
    parse_values(line)
        .map(|r| {
            let (t, v) = r?;
            // A finite value beyond f32's range would reach the model as infinity.
            if v.is_finite() && (v as f32).is_infinite() {
                return Err(format!(
                    "`{t}` is beyond the range of f32 (about ±3.4e38), in which the models compute"
                ));
            }
            Ok(v as f32)
        })
        .collect()
}

/// Reads samples from `input`, one time step per line, and writes the prediction after each line (or, with
/// `at_end`, after each series' last line) to `out`. A blank line ends a series; `#` starts a comment.
pub fn predict_stream(
    model: &SavedModel,
    input: impl BufRead,
    at_end: bool,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut stream = model.stream()?;
    let mut series = 1;
    if format == Format::Csv {
        writeln!(out, "{}", header(model, true))?;
        out.flush()?;
    }
    let emit = |stream: &ModelStream<'_>, series: usize, out: &mut dyn Write| {
        let p = stream.predict();
        let step = stream.steps();
        match format {
            Format::Csv => writeln!(out, "{series},{step},{}", csv_row(model, &p, 0))?,
            Format::Json => {
                let row = json_row(model, &p, 0, series, Some(step));
                writeln!(out, "{}", serde_json::to_string(&row)?)?;
            }
        }
        out.flush()?;
        anyhow::Ok(())
    };
    for (n, line) in input.lines().enumerate() {
        let line = line.context("reading standard input")?;
        let text = line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            // A blank line ends the series; a comment line does not.
            if line.trim().is_empty() && stream.steps() > 0 {
                if at_end {
                    emit(&stream, series, out)?;
                }
                stream.reset();
                series += 1;
            }
            continue;
        }
        let sample = parse_sample(text)
            .map_err(|e| anyhow::anyhow!("standard input, line {}: {e}", n + 1))?;
        if let Err(e) = stream.push(&sample) {
            bail!("standard input, line {}: {e}", n + 1);
        }
        if !at_end {
            emit(&stream, series, out)?;
        }
    }
    if at_end && stream.steps() > 0 {
        emit(&stream, series, out)?;
    }
    Ok(())
}

/// `--horizon`: a whole number of steps, at least 1.
fn parse_horizon(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(h) if h >= 1 => Ok(h),
        _ => Err(format!("`{s}` is not a number of steps of at least 1")),
    }
}

/// The CSV header of a sequence model's rows: `step,value` or `step,value_1,...`.
fn sequence_header(n_outputs: usize) -> String {
    if n_outputs == 1 {
        "step,value".into()
    } else {
        std::iter::once("step".to_string())
            .chain((1..=n_outputs).map(|k| format!("value_{k}")))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One row of a sequence model's output.
fn sequence_row(
    format: Format,
    step: usize,
    values: &[f64],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        Format::Csv => {
            let v: Vec<String> = values.iter().map(f64::to_string).collect();
            writeln!(out, "{step},{}", v.join(","))?;
        }
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::json!({ "step": step, "values": values })
        )?,
    }
    Ok(())
}

/// A sequence model along `input` (with `--stream`, one step per line; `#` starts a comment, blank lines are
/// skipped), then `--horizon` steps generated; see the module's text.
pub fn predict_sequence(
    model: &mut SequenceModel,
    args: &PredictArgs,
    input: impl BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let dir = args.model.display();
    if args.input.is_some() {
        bail!(
            "{dir} holds a sequence model: give it one step per line on standard input (--stream), or generate \
             with --horizon H"
        );
    }
    if args.at_end {
        bail!("--at-end prints each series' last prediction: {dir} holds a sequence model, which runs along one signal");
    }
    let d = model.description().clone();
    let forecaster = d.kind == SequenceKind::Forecaster;
    if args.horizon.is_some() && !forecaster {
        bail!(
            "--horizon generates a forecaster's continuation: {dir} maps {} inputs to {} other targets ({})",
            d.n_inputs,
            d.n_outputs,
            d.dataset
        );
    }
    if args.format == Format::Csv {
        writeln!(out, "{}", sequence_header(d.n_outputs))?;
        out.flush()?;
    }
    let mut step = 0;
    if args.stream {
        let width = if !forecaster && args.online {
            d.n_inputs + d.n_outputs
        } else {
            d.n_inputs
        };
        for (n, line) in input.lines().enumerate() {
            let line = line.context("reading standard input")?;
            let text = line.split('#').next().unwrap_or("").trim();
            if text.is_empty() {
                continue;
            }
            let at = |e: String| anyhow::anyhow!("standard input, line {}: {e}", n + 1);
            let values: Vec<f64> = parse_values(text)
                .map(|r| r.map(|(_, v)| v))
                .collect::<Result<_, _>>()
                .map_err(at)?;
            if values.len() != width {
                return Err(at(format!(
                    "{} value{}, the model takes {width} per line ({})",
                    values.len(),
                    if values.len() == 1 { "" } else { "s" },
                    if forecaster {
                        "the next sample".to_string()
                    } else if args.online {
                        format!("{} inputs, then {} targets", d.n_inputs, d.n_outputs)
                    } else {
                        format!("{} inputs", d.n_inputs)
                    }
                )));
            }
            let (x, y) = values.split_at(d.n_inputs);
            let target = (!forecaster && args.online).then_some(y);
            let p = model
                .step(x, target, args.online)
                .map_err(|e| at(e.to_string()))?;
            step += 1;
            sequence_row(
                args.format,
                step + usize::from(forecaster),
                &p.to_vec(),
                out,
            )?;
            out.flush()?;
        }
    }
    if let Some(h) = args.horizon {
        // After streamed lines, the prediction of step `step + 1` is printed already: the horizon's rows are the
        // `h` steps after it.
        let skip = usize::from(step > 0);
        let generated = model.generate(h + skip)?;
        for (k, row) in generated.rows().into_iter().enumerate().skip(skip) {
            sequence_row(args.format, step + 1 + k, &row.to_vec(), out)?;
        }
        out.flush()?;
    }
    Ok(())
}

/// `mf predict`: load the model, then predict from the file or from standard input.
pub fn run_predict(args: &PredictArgs) -> anyhow::Result<()> {
    if SequenceModel::is_in(&args.model) {
        let mut model = SequenceModel::load(&args.model)?;
        let stdout = std::io::stdout();
        return predict_sequence(
            &mut model,
            args,
            std::io::stdin().lock(),
            &mut stdout.lock(),
        );
    }
    let model = SavedModel::load(&args.model)?;
    if args.online || args.horizon.is_some() {
        bail!(
            "--online and --horizon run sequence models (`mf fit` on a sequence task or a signal with --target); \
             {} holds a model of whole series",
            args.model.display()
        );
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match &args.input {
        Some(path) => {
            let (score, n) = predict_file(&model, path, args.format, &mut out)?;
            eprintln!(
                "{} {score:.4} on the {n} series of {}",
                model.description().metric.title(),
                path.display()
            );
        }
        None => predict_stream(
            &model,
            std::io::stdin().lock(),
            args.at_end,
            args.format,
            &mut out,
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_parse_from_commas_or_spaces_as_the_files_read_them() {
        assert_eq!(parse_sample("1, 2.5\t-3e-1").unwrap(), vec![1.0, 2.5, -0.3]);
        assert_eq!(parse_sample("0.1").unwrap(), vec![0.1f64 as f32]);
        assert_eq!(parse_sample("1,x").unwrap_err(), "`x` is not a number");
        assert_eq!(
            parse_sample("1e39").unwrap_err(),
            "`1e39` is beyond the range of f32 (about ±3.4e38), in which the models compute"
        );
        assert_eq!(parse_sample("3e38").unwrap(), [3e38f32]);
    }

    #[test]
    fn fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(field("a"), "a");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
