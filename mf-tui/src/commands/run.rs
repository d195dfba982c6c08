//! `mf run`: train a model on a data set's training split and score it on the test split, over fresh trials.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use mf_core::rng::derive_seed;
use mf_esn::ReservoirConfig;
use mf_rnn::{RnnConfig, TrainEvent};
use serde::Serialize;

use crate::engine::{paper, protocol, Metric, ModelKind};
use crate::eval::{reservoir_config, reservoir_score, rnn_config, rnn_score, trial_split};
use crate::tasks::{is_generated, load_dataset, Task};

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

/// The model configuration of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ModelConfig {
    /// MF-ESN or ESN.
    Reservoir(ReservoirConfig),
    /// MF-RNN or RNN.
    Trained(RnnConfig),
}

impl ModelArgs {
    /// The configuration: preset or defaults, then `--set`.
    pub fn config(&self) -> anyhow::Result<ModelConfig> {
        let params = super::params_of(&self.set)?;
        let paper = self.preset == Some(Preset::Paper);
        let missing = || {
            anyhow::anyhow!(
                "the paper has no {} preset for {} (it has: {})",
                self.model,
                self.dataset,
                paper::DATASETS.join(", ")
            )
        };
        Ok(match self.model {
            ModelKind::MfEsn | ModelKind::Esn => {
                let base = if paper {
                    let p = match self.model {
                        ModelKind::MfEsn => mf_esn::presets::mf_esn(&self.dataset),
                        _ => mf_esn::presets::esn(&self.dataset),
                    };
                    Some(p.ok_or_else(missing)?)
                } else {
                    None
                };
                ModelConfig::Reservoir(reservoir_config(self.model, base, &params)?)
            }
            ModelKind::MfRnn | ModelKind::Rnn => {
                let base = if paper {
                    let p = match self.model {
                        ModelKind::MfRnn => mf_rnn::presets::mf_rnn(&self.dataset),
                        _ => mf_rnn::presets::rnn(&self.dataset),
                    };
                    Some(p.ok_or_else(missing)?)
                } else {
                    None
                };
                ModelConfig::Trained(rnn_config(self.model, base, &params)?)
            }
        })
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

/// A published mean and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Published {
    /// Mean over 5 runs.
    pub mean: f64,
    /// Standard deviation over 5 runs.
    pub std: f64,
}

/// What `mf run` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Data set name.
    pub dataset: String,
    /// Model id (`mf-esn`, `esn`, `mf-rnn`, `rnn`).
    pub model: String,
    /// `accuracy` or `rmse`.
    pub metric: Metric,
    /// Mean test score over the trials.
    pub mean: f64,
    /// Population standard deviation of the test scores.
    pub std: f64,
    /// Test score of each trial.
    pub per_trial: Vec<f64>,
    /// Every hyper-parameter.
    pub config: ModelConfig,
    /// The run's seed.
    pub seed: u64,
    /// Seconds spent loading the data.
    pub load_s: f64,
    /// Seconds in all, loading included.
    pub wall_s: f64,
    /// The paper's Table IV entry, when there is one.
    pub paper: Option<Published>,
    /// Trainable models: epochs trained and the best epoch, per trial.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub epochs: Vec<(usize, usize)>,
}

/// Runs `args` on data from `data_dir`.
pub fn run(args: &RunArgs, data_dir: &Path) -> anyhow::Result<RunReport> {
    if args.trials == 0 {
        bail!("--trials must be at least 1");
    }
    let start = Instant::now();
    let m = &args.model;
    let config = m.config()?;
    let ds = load_dataset(data_dir, &m.dataset)?;
    let task = Task::from_dataset(&ds)?;
    let load_s = start.elapsed().as_secs_f64();
    let test = task.test()?;
    let terminal = std::io::stderr().is_terminal() && !args.json;
    let mut scores = Vec::with_capacity(args.trials);
    let mut epochs = Vec::new();
    for i in 0..args.trials {
        let seed = derive_seed(m.seed, i as u64);
        let score = match &config {
            ModelConfig::Reservoir(c) => reservoir_score(c, &task.train, test, seed),
            ModelConfig::Trained(c) => {
                let bar = if terminal {
                    let b = ProgressBar::new(c.max_epochs as u64);
                    b.set_style(
                        ProgressStyle::with_template(
                            "trial {prefix} epoch {pos} {msg} [{elapsed}]",
                        )
                        .expect("valid template"),
                    );
                    b.set_prefix(format!("{}/{}", i + 1, args.trials));
                    b
                } else {
                    ProgressBar::hidden()
                };
                let (fit, val) = trial_split(&task, seed);
                let mut on_epoch = |e: &TrainEvent| {
                    bar.set_position(e.epoch as u64);
                    bar.set_message(format!("loss {:.4} val {:.4}", e.train_loss, e.val_metric));
                };
                let r = rnn_score(
                    c,
                    &fit,
                    &val,
                    test,
                    seed,
                    &mut on_epoch,
                    &AtomicBool::new(false),
                );
                bar.finish_and_clear();
                r.map(|t| {
                    epochs.push((t.epochs, t.best_epoch));
                    t.score
                })
            }
        }
        .with_context(|| {
            format!(
                "{} on {}, trial {} (seed {seed})",
                m.model,
                m.dataset,
                i + 1
            )
        })?;
        if !score.is_finite() {
            bail!(
                "{} on {}, trial {}: the score is {score}",
                m.model,
                m.dataset,
                i + 1
            );
        }
        if !args.json {
            let trained = epochs
                .last()
                .filter(|_| epochs.len() == i + 1)
                .map_or(String::new(), |(n, best)| {
                    format!(" ({n} epochs, best {best})")
                });
            eprintln!(
                "trial {}/{}: {} {score:.4}{trained}",
                i + 1,
                args.trials,
                task.metric
            );
        }
        scores.push(score);
    }
    let (mean, std) = (protocol::mean(&scores), protocol::pop_std(&scores));
    Ok(RunReport {
        dataset: m.dataset.clone(),
        model: m.model.id().to_string(),
        metric: task.metric,
        mean,
        std,
        per_trial: scores,
        config,
        seed: m.seed,
        load_s,
        wall_s: start.elapsed().as_secs_f64(),
        // A generated set follows a paper set's process but is other data: no published number applies.
        paper: (!is_generated(&m.dataset))
            .then(|| paper::table_iv(&m.dataset, m.model))
            .flatten()
            .map(|p| Published {
                mean: p.mean,
                std: p.std,
            }),
        epochs,
    })
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

    fn args(model: ModelKind, set: &[(&str, f64)], trials: usize) -> RunArgs {
        RunArgs {
            model: ModelArgs {
                model,
                dataset: "synthetic-control".into(),
                preset: None,
                set: set.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                seed: 11,
            },
            trials,
            json: true,
        }
    }

    #[test]
    fn runs_are_reproducible_and_match_mf_esn_trials() {
        let a = args(ModelKind::MfEsn, &[("n_units", 40.0)], 2);
        let r = run(&a, Path::new("/nonexistent")).unwrap();
        assert_eq!(r.per_trial.len(), 2);
        assert_eq!(
            run(&a, Path::new("/nonexistent")).unwrap().per_trial,
            r.per_trial
        );
        // mf-esn's own trial runner, with the same seeds, is an independent path to the same numbers.
        let ds = load_dataset(Path::new("."), "synthetic-control").unwrap();
        let task = Task::from_dataset(&ds).unwrap();
        let ModelConfig::Reservoir(c) = &r.config else {
            panic!("reservoir config expected")
        };
        let t = mf_esn::run_trials(
            c,
            &task.train.seqs,
            &task.train.targets,
            &task.test().unwrap().seqs,
            &task.test().unwrap().targets,
            2,
            11,
        )
        .unwrap();
        assert_eq!(t.per_trial, r.per_trial);
        assert!((t.mean - r.mean).abs() < 1e-12 && (t.std - r.std).abs() < 1e-12);
        // Control charts are easy for a reservoir: well above the 1/6 of chance.
        assert!(r.mean > 0.6, "{}", r.mean);
        assert_eq!(r.paper, None);
    }

    #[test]
    fn presets_come_from_the_paper_and_set_overrides_them() {
        let mut a = args(ModelKind::Esn, &[("alpha", 0.5)], 1);
        a.model.dataset = "ECG5000".into();
        a.model.preset = Some(Preset::Paper);
        let ModelConfig::Reservoir(c) = a.model.config().unwrap() else {
            panic!()
        };
        let p = mf_esn::presets::esn("ECG5000").unwrap();
        assert_eq!((c.omega, c.beta, c.rho), (p.omega, p.beta, p.rho));
        assert_eq!(c.cell, mf_core::CellKind::LeakyEsn { alpha: 0.5 });
        a.model.dataset = "synthetic-control".into();
        let e = a.model.config().unwrap_err().to_string();
        assert!(e.contains("no ESN preset"), "{e}");
    }

    #[test]
    fn trainable_models_run_through_the_same_command() {
        let a = args(ModelKind::Rnn, &[("n_units", 8.0), ("max_epochs", 2.0)], 1);
        let r = run(&a, Path::new("/nonexistent")).unwrap();
        assert_eq!(r.metric, Metric::Accuracy);
        assert!((0.0..=1.0).contains(&r.mean));
        let ModelConfig::Trained(c) = &r.config else {
            panic!()
        };
        assert_eq!(c.max_epochs, 2);
    }
}
