//! `mf run`: train a model on a data set's training split and score it on the test split, over fresh trials.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use mf_lab::job::{JobProgress, JobStep};
use mf_lab::models::{CancelToken, Configured, TrialScore};
pub use mf_lab::single::RunReport;
use mf_lab::single::{run_trials_on_test, ModelRequest};
use mf_lab::{Metric, ModelKind};

/// Where a run's hyper-parameters start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// The configuration the paper selected for the data set (Tables V-VIII).
    Paper,
}

/// A model on a data set with its hyper-parameters: shared by `mf run` and `mf export`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ModelArgs {
    /// Model: mf-esn, esn, mf-rnn or rnn.
    #[arg(long, short = 'm')]
    pub model: ModelKind,
    /// Data set: a name in the data directory (e.g. ECG5000) or a generated set (synthetic-control,
    /// mackey-glass, narma10).
    #[arg(long, short = 'd', default_value = "synthetic-control")]
    pub dataset: String,
    /// Start from the paper's selected hyper-parameters for this data set instead of the model's defaults.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Override one hyper-parameter, e.g. `--set rho=0.95` (repeatable). MF-ESN: omega beta rho gamma s dt
    /// lambda n_units; ESN: omega beta rho alpha lambda n_units; MF-RNN: lr gamma s dt n_units max_epochs
    /// patience batch_size; RNN: lr n_units max_epochs patience batch_size.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = super::parse_set)]
    pub set: Vec<(String, f64)>,
    /// Seed of every random draw (reservoirs, initial weights, splits, batch order).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl ModelArgs {
    /// The library's request: preset or defaults, then `--set`.
    pub fn request(&self) -> anyhow::Result<ModelRequest> {
        Ok(ModelRequest {
            model: self.model,
            dataset: self.dataset.clone(),
            preset: self.preset == Some(Preset::Paper),
            set: super::params_of(&self.set)?,
            seed: self.seed,
        })
    }

    /// The checked configuration.
    pub fn config(&self) -> anyhow::Result<Box<dyn Configured>> {
        Ok(self.request()?.configure()?)
    }
}

/// `mf run`: fit and score a model over fresh trials.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Fresh models trained and scored (trial i uses seed derive_seed(seed, i)).
    #[arg(long, default_value_t = 5)]
    pub trials: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `args` on data from `data_dir`, showing each trial's progress on standard error: a progress bar on a
/// terminal, and a line per finished trial unless `--json`.
pub fn run(args: &RunArgs, data_dir: &Path) -> anyhow::Result<RunReport> {
    let req = args.model.request()?;
    let terminal = std::io::stderr().is_terminal() && !args.json;
    let bar = if terminal {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("trial {prefix} epoch {pos} {msg} [{elapsed}]")
                .expect("valid template"),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let progress = |p: JobProgress| match p.step {
        JobStep::Draw { index, of } => {
            bar.set_prefix(format!("{index}/{of}"));
            bar.set_position(0);
        }
        JobStep::Epoch {
            epoch,
            train_loss,
            val_metric,
            ..
        } => {
            bar.set_position(epoch as u64);
            bar.set_message(format!("loss {train_loss:.4} val {val_metric:.4}"));
        }
    };
    let trials = args.trials;
    let json = args.json;
    let mut on_trial = |i: usize, metric: Metric, t: &TrialScore| {
        if json {
            return;
        }
        let trained = t.epochs.map_or(String::new(), |(n, best)| {
            format!(" ({n} epochs, best {best})")
        });
        bar.suspend(|| eprintln!("trial {}/{trials}: {metric} {:.4}{trained}", i + 1, t.score));
    };
    let report = run_trials_on_test(
        &req,
        trials,
        data_dir,
        &progress,
        &mut on_trial,
        &CancelToken::new(),
    );
    bar.finish_and_clear();
    Ok(report?)
}

/// Runs and prints (text or JSON).
pub fn run_and_print(args: &RunArgs, data_dir: &Path) -> anyhow::Result<()> {
    let r = run(args, data_dir)?;
    if args.json {
        return super::print_json(&r);
    }
    println!(
        "{} on {}: {} {:.4} ± {:.4} over {} trials ({:.2} s)",
        args.model.model,
        r.dataset,
        r.metric,
        r.mean,
        r.std,
        r.per_trial.len(),
        r.wall_s
    );
    if let Some(p) = r.paper {
        println!("paper (Table IV): {:.3} ± {:.3}", p.mean, p.std);
    }
    println!("config: {}", serde_json::to_string(&r.config)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_reports_what_the_library_computes() {
        let a = RunArgs {
            model: ModelArgs {
                model: ModelKind::Rnn,
                dataset: "synthetic-control".into(),
                preset: None,
                set: vec![("n_units".into(), 8.0), ("max_epochs".into(), 2.0)],
                seed: 11,
            },
            trials: 1,
            json: true,
        };
        let r = run(&a, Path::new("/nonexistent")).unwrap();
        assert_eq!(r.metric, Metric::Accuracy);
        assert!((0.0..=1.0).contains(&r.mean));
        assert_eq!(r.config["max_epochs"], 2);
        assert_eq!(r.epochs.len(), 1);
    }
}
