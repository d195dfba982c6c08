//! `mf fit`: train one model on a data set's training split (the first trial of `mf run` with the same
//! arguments), score it on the test split, and write it to a directory that `mf predict` reads (layout:
//! `mf_lab::saved`). On a sequence task or a signal of one's own (`--target`) it saves a sequence model
//! (`mf_lab::sequence_model`): `mf run`'s first trial driven to the signal's end, which `mf predict --stream`
//! continues sample by sample and `mf predict --horizon` generates from.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use mf_lab::models::{CancelToken, TrialEvent};
use mf_lab::saved::{SavedModel, DESCRIPTION_FILE, WEIGHTS_DIR};
use mf_lab::sequence::SequenceData;
use mf_lab::sequence_model::{SequenceKind, SequenceModel};
use mf_lab::tasks::{load_dataset, Task};
use mf_lab::Normalise;

use super::run::{parse_normalise, ModelArgs};

/// `mf fit`: train one model and save it.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Directory to write the model into (created if needed): model.json and weights/.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Input normalisation: `none` (the default) or `zscore` (each input dimension minus its mean over the
    /// training split, divided by its standard deviation there). The statistics are saved with the model, and
    /// `mf predict` scales new series with them: give it series as the data set writes them.
    #[arg(long, default_value = "none", value_parser = parse_normalise)]
    pub normalise: Normalise,
    /// Treat `--dataset FILE` as one long signal of your own (CSV, Parquet or Arrow, one row per step) and fit a
    /// sequence model predicting this column one step ahead (repeatable); as `mf run --target`.
    #[arg(long, value_name = "COLUMN")]
    pub target: Vec<String>,
    /// Replace a model already in the directory.
    #[arg(long)]
    pub force: bool,
    /// Print the model's description (model.json) to stdout.
    #[arg(long)]
    pub json: bool,
}

/// What `mf fit` made: a model of whole series, or a sequence model.
#[derive(Debug)]
pub enum Fitted {
    /// A series data set's.
    Series(Box<SavedModel>),
    /// A sequence task's or a signal's.
    Sequence(Box<SequenceModel>),
}

/// Trains the model of `args` and writes it to `args.out`; progress goes to stderr.
pub fn fit(args: &FitArgs, data_dir: &Path) -> anyhow::Result<Fitted> {
    let out = &args.out;
    if !args.force && (out.join(DESCRIPTION_FILE).exists() || out.join(WEIGHTS_DIR).exists()) {
        bail!(
            "{} already holds a model; --force replaces it",
            out.display()
        );
    }
    let m = &args.model;
    let mut req = m.request()?;
    req.normalise = args.normalise;
    if let Some(data) = SequenceData::from_dataset(&m.dataset, &args.target, args.normalise)? {
        let model = SequenceModel::fit(&req, &data, &CancelToken::new())?;
        model
            .save(out)
            .with_context(|| format!("saving the model to {}", out.display()))?;
        return Ok(Fitted::Sequence(Box::new(model)));
    }
    let ds = load_dataset(data_dir, &m.dataset)?;
    for w in ds.warnings() {
        eprintln!("warning: {}: {w}", m.dataset);
    }
    let task = Task::from_dataset(&ds)?;
    let on_event = |e: TrialEvent| match e {
        TrialEvent::Epoch {
            epoch,
            max_epochs,
            train_loss,
            val_loss,
            ..
        } if epoch == 1 || epoch % 10 == 0 => {
            let val = if val_loss.is_nan() {
                String::new()
            } else {
                format!(", validation loss {val_loss:.4}")
            };
            eprintln!("epoch {epoch}/{max_epochs}: training loss {train_loss:.4}{val}");
        }
        TrialEvent::Epoch { .. } => {}
    };
    let model = SavedModel::fit(&req, &task, &on_event, &CancelToken::new())?;
    model
        .save(out)
        .with_context(|| format!("saving the model to {}", out.display()))?;
    Ok(Fitted::Series(Box::new(model)))
}

/// `mf fit`: fit, save, and report the test score.
pub fn run_fit(args: &FitArgs, data_dir: &Path) -> anyhow::Result<()> {
    let model = match fit(args, data_dir)? {
        Fitted::Series(m) => m,
        Fitted::Sequence(m) => return report_sequence(args, &m),
    };
    let d = model.description();
    let score = match d.test_score {
        Some(s) => format!("test {} {s:.4}", d.metric.title()),
        None => format!("{} has no test split", d.dataset),
    };
    let epochs = d
        .epochs
        .map(|(e, best)| format!(", {e} epochs (best {best})"))
        .unwrap_or_default();
    let normalised = d
        .normalise
        .as_ref()
        .map(|s| format!(", inputs normalised by {}", s.method))
        .unwrap_or_default();
    eprintln!(
        "fitted {} on {} ({} series{normalised}){epochs}: {score}",
        d.model, d.dataset, d.n_train
    );
    if let Some(why) = &d.diverged {
        eprintln!("warning: {why}");
    }
    eprintln!(
        "wrote {} (mf predict {} --input FILE)",
        args.out.display(),
        args.out.display()
    );
    if args.json {
        super::print_json(d)?;
    }
    Ok(())
}

/// `mf fit` on a sequence task: what was fitted and how to use it.
fn report_sequence(args: &FitArgs, model: &SequenceModel) -> anyhow::Result<()> {
    let d = model.description();
    let (kind, usage) = match d.kind {
        SequenceKind::Forecaster => (
            "forecaster",
            "--horizon H generates its continuation; --stream [--online] takes its next samples",
        ),
        SequenceKind::Map => (
            "map",
            "--stream [--online] takes each step's inputs (and, online, its targets)",
        ),
    };
    let score = d
        .test_score
        .map(|s| format!(": test NRMSE (one step ahead) {s:.4}"))
        .unwrap_or_default();
    eprintln!(
        "fitted {} on {} ({kind}, {} inputs, {} outputs; readout fitted on {} steps after a washout of {}){score}",
        d.model, d.dataset, d.n_inputs, d.n_outputs, d.fitted_rows, d.washout
    );
    eprintln!(
        "wrote {} (mf predict {}: {usage})",
        args.out.display(),
        args.out.display()
    );
    if args.json {
        super::print_json(d)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        fit: FitArgs,
    }

    #[test]
    fn a_model_fitted_with_zscore_keeps_its_statistics_and_scales_raw_series() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m");
        let out_arg = out.display().to_string();
        let args = Cli::try_parse_from([
            "mf",
            "--model",
            "esn",
            "--dataset",
            "narma10-windows",
            "--set",
            "n_units=12",
            "--normalise",
            "zscore",
            "--out",
            &out_arg,
        ])
        .unwrap()
        .fit;
        let nowhere = Path::new("/nonexistent");
        assert!(matches!(fit(&args, nowhere).unwrap(), Fitted::Series(_)));
        let model = SavedModel::load(&out).unwrap();
        let d = model.description();
        let s = d.normalise.as_ref().expect("the statistics are saved");
        // The statistics are those of the training split, computed here directly in f64.
        let task = Task::from_dataset(&load_dataset(nowhere, "narma10-windows").unwrap()).unwrap();
        let train = &task.train.seqs;
        let values: Vec<f64> = (0..train.n_series())
            .flat_map(|i| (0..train.lengths[i]).map(move |t| f64::from(train.x[[i, t, 0]])))
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        assert!((s.mean[0] - mean).abs() <= 1e-12 * mean.abs().max(1.0));
        assert!((s.std[0] - var.sqrt()).abs() <= 1e-12 * var.sqrt());
        // Given the raw test split, the saved model scores what was recorded at fitting time.
        let test = task.test().unwrap();
        let p = model.predict(&test.seqs).unwrap();
        assert_eq!(
            mf_lab::saved::score(&p, &test.targets).unwrap(),
            d.test_score.unwrap()
        );
    }

    #[test]
    fn a_sequence_task_saves_a_sequence_model_and_the_memory_capacity_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m");
        let out_arg = out.display().to_string();
        let parse = |task: &str| {
            Cli::try_parse_from([
                "mf",
                "--model",
                "esn",
                "--dataset",
                task,
                "--set",
                "n_units=20",
                "--out",
                &out_arg,
                "--force",
            ])
            .unwrap()
            .fit
        };
        let nowhere = Path::new("/nonexistent");
        for (task, kind) in [
            ("mackey-glass", SequenceKind::Forecaster),
            ("narma10", SequenceKind::Map),
        ] {
            let Fitted::Sequence(m) = fit(&parse(task), nowhere).unwrap() else {
                panic!("{task}: a sequence model")
            };
            assert_eq!(m.description().kind, kind);
            assert_eq!(
                SequenceModel::load(&out).unwrap().description(),
                m.description()
            );
        }
        let e = fit(&parse("memory-capacity"), nowhere)
            .unwrap_err()
            .to_string();
        assert!(e.contains("memory capacity") && e.contains("mf run"), "{e}");
    }
}
