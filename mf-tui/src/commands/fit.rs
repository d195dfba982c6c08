//! `mf fit`: train one model on a data set's training split (the first trial of `mf run` with the same
//! arguments), score it on the test split, and write it to a directory that `mf predict` reads (layout:
//! `mf_lab::saved`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use mf_lab::models::{CancelToken, TrialEvent};
use mf_lab::saved::{SavedModel, DESCRIPTION_FILE, WEIGHTS_DIR};
use mf_lab::tasks::{load_dataset, Task};

use super::run::ModelArgs;

/// `mf fit`: train one model and save it.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Directory to write the model into (created if needed): model.json and weights/.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Replace a model already in the directory.
    #[arg(long)]
    pub force: bool,
    /// Print the model's description (model.json) to stdout.
    #[arg(long)]
    pub json: bool,
}

/// Trains the model of `args` and writes it to `args.out`; progress goes to stderr.
pub fn fit(args: &FitArgs, data_dir: &Path) -> anyhow::Result<SavedModel> {
    let out = &args.out;
    if !args.force && (out.join(DESCRIPTION_FILE).exists() || out.join(WEIGHTS_DIR).exists()) {
        bail!(
            "{} already holds a model; --force replaces it",
            out.display()
        );
    }
    let m = &args.model;
    let req = m.request()?;
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
    Ok(model)
}

/// `mf fit`: fit, save, and report the test score.
pub fn run_fit(args: &FitArgs, data_dir: &Path) -> anyhow::Result<()> {
    let model = fit(args, data_dir)?;
    let d = model.description();
    let score = match d.test_score {
        Some(s) => format!("test {} {s:.4}", super::predict::metric_name(d.metric)),
        None => format!("{} has no test split", d.dataset),
    };
    let epochs = d
        .epochs
        .map(|(e, best)| format!(", {e} epochs (best {best})"))
        .unwrap_or_default();
    eprintln!(
        "fitted {} on {} ({} series){epochs}: {score}",
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
