//! `mf run`: train a model on a data set's training split and score it on the test split, over fresh trials.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use mf_lab::job::{JobProgress, JobStep};
use mf_lab::models::{CancelToken, Configured, TrialEvent, TrialScore};
use mf_lab::sequence::{run_sequence_with, select_and_run_with, SequenceData};
pub use mf_lab::single::RunReport;
use mf_lab::single::{run_trials_on_test, ModelRequest};
use mf_lab::training::TrainingProtocol;
use mf_lab::{Metric, ModelKind, Normalise};

/// Where a run's hyper-parameters start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// The configuration the paper selected for the data set (Tables V-VIII).
    Paper,
}

/// A model on a data set with its hyper-parameters: shared by `mf run` and `mf export`.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ModelArgs {
    /// Model: mf-esn, esn, mf-rnn, rnn, deep-mf-esn or hybrid-mf-rnn.
    #[arg(long, short = 'm')]
    pub model: ModelKind,
    /// Data set: a name in the data directory (e.g. ECG5000), a generated set (synthetic-control,
    /// mackey-glass-windows, narma10-windows), a sequence task (narma10, mackey-glass, lorenz, memory-capacity:
    /// one long signal with a target at every step; every model; `mf run` prints nrmse, vpt or mc), or a
    /// path to your own training file (data/X_TRAIN.csv, .parquet, .arrow, .feather; X_TEST beside it) or to a
    /// directory holding one such pair (`mf data import --help`).
    #[arg(long, short = 'd', default_value = "synthetic-control")]
    pub dataset: String,
    /// Start from the paper's selected hyper-parameters for this data set instead of the model's defaults.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Override one hyper-parameter, e.g. `--set rho=0.95` or `--set integrator=exact` (repeatable).
    /// `mf params --model MODEL` lists every hyper-parameter of a model with its kind, default and meaning.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = super::parse_set)]
    pub set: Vec<(String, f64)>,
    /// Seed of every random draw (reservoirs, initial weights, splits, batch order).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Trainable models: `reference` (the authors' protocol: each final model trains on the whole training
    /// split, stops when its training loss has not improved for `patience` epochs, and keeps its last weights)
    /// or `fresh-split` (holds out a fresh 20% of the training split, stops on its loss and restores the best
    /// weights). Reservoir models ignore it.
    #[arg(long, default_value = "reference", value_parser = parse_protocol)]
    pub protocol: TrainingProtocol,
}

fn parse_protocol(s: &str) -> Result<TrainingProtocol, String> {
    s.parse().map_err(|e: mf_lab::LabError| e.to_string())
}

/// Parses `--normalise`.
pub fn parse_normalise(s: &str) -> Result<Normalise, String> {
    s.parse().map_err(|e: mf_lab::LabError| e.to_string())
}

impl ModelArgs {
    /// The library's request: preset or defaults, then `--set`; no input normalisation (`mf run` and `mf fit`
    /// set theirs from `--normalise`).
    pub fn request(&self) -> anyhow::Result<ModelRequest> {
        Ok(ModelRequest {
            model: self.model,
            dataset: self.dataset.clone(),
            preset: self.preset == Some(Preset::Paper),
            set: super::params_of(&self.set)?,
            seed: self.seed,
            protocol: self.protocol,
            normalise: Normalise::None,
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
    /// Input normalisation: `none` (the values as the data set holds them, the paper's setting) or `zscore`
    /// (each input dimension minus its mean over the training split, divided by its standard deviation there;
    /// the test split is scaled with the training statistics).
    #[arg(long, default_value = "none", value_parser = parse_normalise)]
    pub normalise: Normalise,
    /// Treat `--dataset FILE` as one long signal of your own (CSV, Parquet or Arrow; one row per time step, one
    /// column per channel, an optional increasing `time` column) and predict this column one step ahead
    /// (repeatable for several). Segments: washout 100, then 60/20/20 of the rest in time order; with
    /// `--normalise zscore` every channel is scaled by its training-segment statistics. NRMSE.
    #[arg(long, value_name = "COLUMN")]
    pub target: Vec<String>,
    /// Sequence tasks: search this hyper-parameter over comma-separated values, e.g. `--grid rho=0.8,0.9,0.99`
    /// (repeatable; the configurations are every combination, the first axis outermost). Each is scored over
    /// `--draws` reservoirs fitted on the training segment and scored on the validation segment; the best then
    /// runs the `--trials` on test. Series data sets are searched with a spec and `mf sweep`.
    #[arg(long = "grid", value_name = "KEY=V1,V2,...", value_parser = parse_axis)]
    pub grid: Vec<(String, Vec<f64>)>,
    /// Sequence tasks with `--grid`: reservoirs per configuration in the selection.
    #[arg(long, default_value_t = 3)]
    pub draws: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses one `--grid key=v1,v2,...` argument (choices by their spelling).
fn parse_axis(s: &str) -> Result<(String, Vec<f64>), String> {
    let (k, values) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not key=v1,v2,..."))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("`{s}` has an empty key"));
    }
    let values = values
        .split(',')
        .map(|v| mf_lab::grid::parse_value(k, v).map_err(|e| format!("{e} in `{s}`")))
        .collect::<Result<Vec<f64>, String>>()?;
    Ok((k.to_string(), values))
}

/// When a run without a terminal prints a trainable trial's epoch: the first epoch, then once both
/// [`EpochLines::EPOCHS`] epochs and [`EpochLines::EVERY`] have passed since the last line (whichever is rarer),
/// and a trial's last epoch when it has not been printed.
#[derive(Debug, Default)]
struct EpochLines {
    /// The epoch and time of the last line printed.
    printed: Option<(usize, Duration)>,
    /// The latest epoch's line while it is not printed.
    latest: Option<String>,
}

impl EpochLines {
    const EPOCHS: usize = 10;
    const EVERY: Duration = Duration::from_secs(5);

    /// Records epoch `epoch`'s `line`, reached `elapsed` into the trial; returns it when it is due.
    fn epoch(&mut self, epoch: usize, elapsed: Duration, line: String) -> Option<String> {
        let due = self
            .printed
            .is_none_or(|(e, t)| epoch >= e + Self::EPOCHS && elapsed >= t + Self::EVERY);
        if due {
            self.printed = Some((epoch, elapsed));
            self.latest = None;
            Some(line)
        } else {
            self.latest = Some(line);
            None
        }
    }

    /// The trial ended: its last epoch's line if it was not printed; the next trial starts afresh.
    fn finish(&mut self) -> Option<String> {
        self.printed = None;
        self.latest.take()
    }
}

/// A loss or score for a progress line: 4 decimals, or scientific notation when it is huge.
fn value_text(x: f64) -> String {
    if x.abs() >= 1e5 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

/// Runs `args` on data from `data_dir`, showing each trial's progress on standard error unless `--json`: a
/// progress bar on a terminal, else plain epoch lines of trainable trials (`EpochLines`); and a line per
/// finished trial.
pub fn run(args: &RunArgs, data_dir: &Path) -> anyhow::Result<RunReport> {
    if !args.grid.is_empty() {
        anyhow::bail!(
            "--grid searches the sequence tasks ({}); a series data set is searched with a spec and `mf sweep`",
            mf_lab::sequence::SEQUENCE_TASKS.map(|(n, _)| n).join(", ")
        );
    }
    let mut req = args.model.request()?;
    req.normalise = args.normalise;
    let terminal = std::io::stderr().is_terminal() && !args.json;
    let plain_lines = !terminal && !args.json;
    let max_epochs = args
        .model
        .config()
        .ok()
        .and_then(|c| c.to_json()["max_epochs"].as_u64());
    let lines = RefCell::new(EpochLines::default());
    let trial_start = RefCell::new(Instant::now());
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
    let trials = args.trials;
    let progress = |p: JobProgress| match p.step {
        JobStep::Draw { index, of } => {
            bar.set_prefix(format!("{index}/{of}"));
            bar.set_position(0);
            *trial_start.borrow_mut() = Instant::now();
        }
        JobStep::Epoch {
            trial,
            epoch,
            train_loss,
            val_loss,
            val_metric,
        } => {
            bar.set_position(epoch as u64);
            // Without a validation part (the reference protocol's final trials) there is no validation loss or
            // metric: print what exists instead of NaN.
            let has_val = !(val_loss.is_nan() && val_metric.is_nan());
            let val = if has_val {
                format!(
                    " val_loss {} val {}",
                    value_text(val_loss),
                    value_text(val_metric)
                )
            } else {
                String::new()
            };
            bar.set_message(if has_val {
                format!(
                    "loss {} val {}",
                    value_text(train_loss),
                    value_text(val_metric)
                )
            } else {
                format!("loss {}", value_text(train_loss))
            });
            if plain_lines {
                let of = max_epochs.map_or(String::new(), |m| format!("/{m}"));
                let elapsed = trial_start.borrow().elapsed();
                let line = format!(
                    "trial {trial}/{trials} epoch {epoch}{of}: loss {}{val} ({:.1} s)",
                    value_text(train_loss),
                    elapsed.as_secs_f64()
                );
                if let Some(line) = lines.borrow_mut().epoch(epoch, elapsed, line) {
                    eprintln!("{line}");
                }
            }
        }
    };
    let json = args.json;
    let mut on_trial = |i: usize, metric: Metric, t: &TrialScore| {
        if json {
            return;
        }
        if let Some(line) = lines.borrow_mut().finish() {
            eprintln!("{line}");
        }
        let trained = t.epochs.map_or(String::new(), |(n, best)| {
            let diverged = if t.diverged.is_some() {
                ", diverged"
            } else {
                ""
            };
            format!(" ({n} epochs, best {best}{diverged})")
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

/// Runs and prints (text or JSON); warnings (a diverged training) go to standard error either way.
pub fn run_and_print(args: &RunArgs, data_dir: &Path) -> anyhow::Result<()> {
    if let Some(data) =
        SequenceData::from_dataset(&args.model.dataset, &args.target, args.normalise)?
    {
        return run_sequence_and_print(args, data);
    }
    let r = run(args, data_dir)?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
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
    if let Some(p) = r.protocol {
        println!("training protocol: {p}");
    }
    if !r.normalise.is_none() {
        println!(
            "input normalisation: {} (training-split statistics)",
            r.normalise
        );
    }
    println!("config: {}", serde_json::to_string(&r.config)?);
    Ok(())
}

/// `mf run` on a sequence task: fresh reservoirs (or trained models) on one long signal, the task's metric (text
/// or JSON). A trained model's epochs go to stderr (the first and every tenth).
fn run_sequence_and_print(args: &RunArgs, data: SequenceData) -> anyhow::Result<()> {
    // A signal of the user's own was normalised as it was read; a generated task refused --normalise there.
    let req = args.model.request()?;
    let cancel = CancelToken::new();
    let on_event = |trial: Option<usize>, e: TrialEvent| {
        let TrialEvent::Epoch {
            epoch,
            max_epochs,
            train_loss,
            val_loss,
            ..
        } = e;
        if epoch == 1 || epoch % 10 == 0 {
            let what = trial.map_or("selection".to_string(), |t| {
                format!("trial {t}/{}", args.trials)
            });
            let val = if val_loss.is_nan() {
                String::new()
            } else {
                format!(", validation loss {val_loss:.5}")
            };
            eprintln!("{what}: epoch {epoch}/{max_epochs}: training loss {train_loss:.5}{val}");
        }
    };
    let r = if args.grid.is_empty() {
        run_sequence_with(&req, data, args.trials, &on_event, &cancel)?
    } else {
        let grid = mf_lab::Grid::new(args.grid.clone()).map_err(|e| {
            anyhow::anyhow!(
                "--grid: {}",
                e.to_string().trim_start_matches("invalid spec: ")
            )
        })?;
        select_and_run_with(
            &req,
            data,
            &grid,
            args.draws,
            args.trials,
            &on_event,
            &cancel,
        )?
    };
    if args.json {
        return super::print_json(&r);
    }
    let [w, tr, va, te] = r.segments;
    println!(
        "{} on {}: {} {:.4} ± {:.4} over {} trials ({:.2} s; {} is {})",
        args.model.model,
        r.dataset,
        r.metric.name(),
        r.mean,
        r.std,
        r.per_trial.len(),
        r.wall_s,
        r.metric.name(),
        if r.higher_is_better {
            "higher-better"
        } else {
            "lower-better"
        }
    );
    println!("signal: {}", r.signal);
    let fitted = if args.model.model.is_reservoir() {
        "readout fitted on train and validation"
    } else {
        "trained on train and validation by truncated back-propagation through time"
    };
    println!("segments: washout {w}, train {tr}, validation {va}, test {te} ({fitted})");
    if let Some(sel) = &r.selection {
        let chosen: Vec<String> = sel
            .selected
            .iter()
            .map(|(k, v)| format!("{k}={}", mf_lab::grid::value_text(k, *v)))
            .collect();
        println!(
            "selected on validation ({} configurations x {} draws): {}",
            sel.scores.len(),
            sel.draws,
            chosen.join(" ")
        );
    }
    if !r.curve.is_empty() {
        let shown: Vec<String> = r.curve.iter().take(10).map(|v| format!("{v:.3}")).collect();
        println!(
            "MC_k, k = 1..{}: {}{}",
            r.curve.len(),
            shown.join(" "),
            if r.curve.len() > 10 { " ..." } else { "" }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_lines_come_every_ten_epochs_or_five_seconds_whichever_is_rarer_and_at_the_end() {
        let s = Duration::from_secs;
        let mut l = EpochLines::default();
        let mut printed = Vec::new();
        // Fast epochs, 0.1 s each: the 5 seconds are rarer.
        for e in 1..=120 {
            if l.epoch(e, s(e as u64) / 10, e.to_string()).is_some() {
                printed.push(e);
            }
        }
        printed.extend(l.finish().map(|x| x.parse::<usize>().unwrap()));
        assert_eq!(printed, [1, 51, 101, 120]);
        // Slow epochs, 2 s each: the 10 epochs are rarer. The next trial starts afresh.
        printed.clear();
        for e in 1..=25 {
            if l.epoch(e, s(2 * e as u64), e.to_string()).is_some() {
                printed.push(e);
            }
        }
        assert_eq!(printed, [1, 11, 21]);
        assert_eq!(l.finish().as_deref(), Some("25"));
        // A last epoch already printed is not printed twice.
        assert_eq!(l.epoch(1, s(0), "1".into()).as_deref(), Some("1"));
        assert_eq!(l.finish(), None);
        assert_eq!(value_text(4.2295e6), "4.230e6");
        assert_eq!(value_text(0.61746), "0.6175");
    }

    #[test]
    fn grid_arguments_parse_choices_and_numbers_or_explain() {
        assert_eq!(
            parse_axis("rho=0.8, 0.9"),
            Ok(("rho".to_string(), vec![0.8, 0.9]))
        );
        assert_eq!(
            parse_axis("integrator=euler,exact"),
            Ok(("integrator".to_string(), vec![0.0, 1.0]))
        );
        assert!(parse_axis("rho").unwrap_err().contains("key=v1,v2"));
        assert!(parse_axis("rho=0.1,x")
            .unwrap_err()
            .contains("not a number"));
    }

    #[test]
    fn the_command_reports_what_the_library_computes() {
        let a = RunArgs {
            model: ModelArgs {
                model: ModelKind::Rnn,
                dataset: "synthetic-control".into(),
                preset: None,
                set: vec![("n_units".into(), 8.0), ("max_epochs".into(), 2.0)],
                seed: 11,
                protocol: Default::default(),
            },
            trials: 1,
            normalise: Normalise::None,
            grid: vec![],
            draws: 3,
            target: vec![],
            json: true,
        };
        let r = run(&a, Path::new("/nonexistent")).unwrap();
        assert_eq!(r.metric, Metric::Accuracy);
        assert!((0.0..=1.0).contains(&r.mean));
        assert_eq!(r.config["max_epochs"], 2);
        assert_eq!(r.epochs.len(), 1);
    }

    #[test]
    fn normalise_is_parsed_and_reaches_the_trials() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            run: RunArgs,
        }
        let parse = |extra: &[&str]| {
            let mut argv = vec![
                "mf",
                "--model",
                "mf-esn",
                "--dataset",
                "mackey-glass-windows",
            ];
            argv.extend_from_slice(extra);
            argv.extend_from_slice(&["--set", "n_units=10", "--trials", "1", "--json"]);
            Cli::try_parse_from(argv).map(|c| c.run)
        };
        let none = parse(&[]).unwrap();
        assert_eq!(none.normalise, Normalise::None);
        let z = parse(&["--normalise", "zscore"]).unwrap();
        assert_eq!(z.normalise, Normalise::Zscore);
        let e = parse(&["--normalise", "minmax"]).unwrap_err().to_string();
        assert!(e.contains("expected none or zscore"), "{e}");
        // The library's run with the same request, normalised by hand, is an independent path to the score.
        let (a, b) = (
            run(&none, Path::new("/nonexistent")).unwrap(),
            run(&z, Path::new("/nonexistent")).unwrap(),
        );
        assert_eq!(b.normalise, Normalise::Zscore);
        assert_ne!(a.per_trial, b.per_trial, "zscore must change the inputs");
        let mut req = z.model.request().unwrap();
        req.normalise = Normalise::Zscore;
        let lib = mf_lab::single::run_trials_on_test(
            &req,
            1,
            Path::new("/nonexistent"),
            &|_| {},
            &mut |_, _, _| {},
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(lib.per_trial, b.per_trial);
        assert!(serde_json::to_value(&a).unwrap().get("normalise").is_none());
        assert_eq!(serde_json::to_value(&b).unwrap()["normalise"], "zscore");
    }
}
