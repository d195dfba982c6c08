//! `mf`: memristive-friendly recurrent networks from the command line. Without a command it opens the dashboard.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use mf_lab::eval::ModelEvaluator;
use mf_tui::commands::data::{run_data, DataCommand};
use mf_tui::commands::export::{export, ExportArgs};
use mf_tui::commands::fit::{run_fit, FitArgs};
use mf_tui::commands::forecast::{run_forecast, ForecastArgs};
use mf_tui::commands::merge::{run_merge, MergeArgs};
use mf_tui::commands::params::{run_params, ParamsArgs};
use mf_tui::commands::predict::{run_predict, PredictArgs};
use mf_tui::commands::robustness::{run_robustness_command, RobustnessArgs};
use mf_tui::commands::run::{run_and_print, RunArgs};
use mf_tui::commands::slurm::{run_slurm, SlurmArgs};
use mf_tui::commands::stability::{run_stability, StabilityArgs};
use mf_tui::commands::store::{run_store, StoreCommand};
use mf_tui::commands::sweep::{run_sweep, SweepArgs};
use mf_tui::commands::table::{run_table, TableArgs};
use mf_tui::dashboard::{run_dashboard, DashboardConfig};

/// Memristive-friendly echo state networks and recurrent networks (Pistolesi et al., APL Machine Learning 3,
/// 016117, 2025): run models, sweep the paper's grids, tabulate against the paper, analyse stability.
///
/// Without a command, `mf` opens the dashboard: queue runs and sweeps, watch training live, read Table IV,
/// explore stability and the data sets, run or open robustness curves. It works without any data directory on the
/// generated sets.
#[derive(Debug, Parser)]
#[command(name = "mf", version, propagate_version = true)]
struct Cli {
    /// Data directory holding <Name>/<Name>_TRAIN.{ts,tsv,arff}. Default: $MF_DATA_DIR, else the user cache
    /// directory (e.g. ~/.cache/memristive/datasets).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Results directory of the dashboard (one sub-directory per spec hash).
    #[arg(long, default_value = "results", value_name = "DIR")]
    results: PathBuf,
    /// Worker threads of the dashboard's sweeps; 0 uses every core.
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, inspect, download and check data sets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Every hyper-parameter of each model: name, kind, default and meaning (what --set and spec grids take).
    ///
    /// Example: mf params --model mf-esn
    Params(ParamsArgs),
    /// Train a model on a data set's training split and score it on the test split over fresh trials.
    ///
    /// Example: mf run --model mf-esn --dataset ECG5000 --preset paper --trials 5
    Run(RunArgs),
    /// Train one model (the first trial of `mf run` with the same arguments) and save it to a directory; on a
    /// sequence task or a signal of one's own (--target), a reservoir driven to the signal's end with its readout.
    ///
    /// Examples: mf fit --model mf-esn --dataset ECG5000 --preset paper --out models/ecg; mf fit --model esn
    /// --dataset mackey-glass --set lambda=1e-6 --out models/mg
    Fit(FitArgs),
    /// Closed-loop generation on a sequence task (mackey-glass, lorenz): fit teacher-forced, then feed the model's
    /// output back; prints NRMSE at the horizon or the valid prediction time, writes both continuations (CSV, PNG).
    ///
    /// Example: mf forecast --model esn --dataset mackey-glass --set alpha=1 --set omega=0.1 --horizon 84 --plot
    /// forecast.png
    Forecast(ForecastArgs),
    /// Predict with a model saved by `mf fit`: the series of a file in any format --dataset reads (CSV,
    /// Parquet, Arrow IPC/Feather, .ts/.tsv/.arff), or samples from stdin; a sequence model goes on from its
    /// signal's end, sample by sample (--stream, learning with --online) or in closed loop (--horizon).
    ///
    /// Examples: mf predict models/ecg --input ECG5000_TEST.ts; mf predict models/mine --input data/Mine_TEST.csv;
    /// printf '0.1\n0.3\n' | mf predict models/ecg --stream; mf predict models/mg --horizon 84; tail -f
    /// readings.txt | mf predict models/mg --stream --online
    Predict(PredictArgs),
    /// Fit a model and write its weights, readout, data, predictions (and reservoir states, MF Jacobian) as .npy
    /// files.
    Export(ExportArgs),
    /// Test score against one hyper-parameter's values (hardware non-idealities such as w_noise, adc_bits or the
    /// MF neurons' d2d_sigma and c2c_sigma), over fresh draws, one curve per model: CSV files and a PNG figure.
    ///
    /// Example: mf robustness -m mf-esn -m esn --dataset ECG5000 --preset paper --param w_noise --values
    /// 0,0.05,0.1,0.2 --draws 5 --out results/robustness
    Robustness(RobustnessArgs),
    /// The stability results of the paper's Sec. V (Lemma V.1, Theorems V.3, V.4, V.6) for one MF cell.
    Stability(StabilityArgs),
    /// Run or resume the grid search and final assessment of an experiment spec (TOML).
    Sweep(SweepArgs),
    /// Render a spec's results as the paper's Table IV (and Tables V-VIII) beside the paper's numbers, or
    /// write every job record as a data frame (--format arrow|parquet --out FILE).
    Table(TableArgs),
    /// Join the stores of `mf sweep --shard` runs.
    Merge(MergeArgs),
    /// Write (or submit) the Slurm script that runs a whole spec in shards with one `sbatch`.
    Slurm(SlurmArgs),
    /// Look after result stores: `mf store repair` moves damaged lines aside so that a store reads again.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Open the dashboard (the same as `mf` without a command), optionally queueing spec files.
    Dashboard {
        /// Spec files to queue at start-up.
        specs: Vec<PathBuf>,
    },
}

/// Restores the default action of SIGPIPE, which the Rust runtime ignores: with it ignored, `mf ... | head` makes
/// every later `println!` fail and panic ("Broken pipe"). With the default, `mf` ends quietly when its reader
/// goes away, like other command-line tools.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; setting a signal's disposition to its
    // default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The text of an error for the terminal: its message, then each cause the message does not already hold (the
/// library's errors spell out their sources, `anyhow`'s context does not), so nothing is said twice.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = format!("error: {e}");
    let mut shown = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !shown.contains(&c) {
            text.push_str(&format!("\n  caused by: {c}"));
            shown.push_str(&c);
        }
    }
    text
}

fn main() -> std::process::ExitCode {
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli() -> anyhow::Result<()> {
    quiet_on_closed_pipe();
    mf_lab::store::set_program_commit(env!("MF_COMMIT"));
    let cli = Cli::parse();
    let data_dir = mf_lab::data::resolve_data_dir(cli.data_dir.as_deref());
    let evaluator = || Arc::new(ModelEvaluator::new(data_dir.clone()));
    match cli.command {
        Some(Command::Data(cmd)) => run_data(&cmd, &data_dir),
        Some(Command::Params(args)) => run_params(&args),
        Some(Command::Run(args)) => run_and_print(&args, &data_dir),
        Some(Command::Fit(args)) => run_fit(&args, &data_dir),
        Some(Command::Forecast(args)) => run_forecast(&args),
        Some(Command::Predict(args)) => run_predict(&args),
        Some(Command::Export(args)) => {
            let files = export(&args, &data_dir)?;
            eprintln!("wrote {} files to {}", files.len(), args.out.display());
            Ok(())
        }
        Some(Command::Stability(args)) => run_stability(&args),
        Some(Command::Robustness(args)) => run_robustness_command(&args, &data_dir),
        Some(Command::Sweep(mut args)) => {
            args.data_dir = cli.data_dir.clone();
            run_sweep(args, evaluator())
        }
        Some(Command::Table(args)) => run_table(args),
        Some(Command::Merge(args)) => run_merge(args),
        Some(Command::Slurm(mut args)) => {
            args.data_dir = cli.data_dir.clone();
            run_slurm(args)
        }
        Some(Command::Store(cmd)) => run_store(&cmd),
        Some(Command::Dashboard { specs }) => {
            dashboard(&cli.results, cli.threads, &data_dir, specs)
        }
        None => dashboard(&cli.results, cli.threads, &data_dir, Vec::new()),
    }
}

fn dashboard(
    results: &std::path::Path,
    threads: usize,
    data_dir: &std::path::Path,
    specs: Vec<PathBuf>,
) -> anyhow::Result<()> {
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        bail!(
            "the dashboard needs a terminal, and standard input or output is not one; without a terminal use the \
             headless commands (`mf run`, `mf sweep`, `mf table`, ...; `mf --help` lists them)"
        );
    }
    let mut config = DashboardConfig::new(
        results.to_path_buf(),
        Arc::new(ModelEvaluator::new(data_dir.to_path_buf())),
        mf_tui::catalog::catalog(data_dir),
    );
    config.trace = mf_tui::catalog::mf_trace(0);
    config.threads = threads;
    config.specs = specs;
    config.data_dir = data_dir.to_path_buf();
    run_dashboard(config).context("the dashboard failed")
}

#[cfg(test)]
mod tests {
    use super::error_text;
    use mf_lab::{LabError, ResultExt};

    #[test]
    fn an_error_says_each_cause_once_and_keeps_causes_its_message_lacks() {
        // The library's errors spell out their sources: the cause is not repeated.
        let io = LabError::Io {
            path: "/data/X_TRAIN.csv".into(),
            source: std::io::Error::other("gone"),
        };
        let lab = Err::<(), _>(io)
            .context_with(|| "loading data set X".into())
            .unwrap_err();
        let text = error_text(&anyhow::Error::from(lab));
        assert_eq!(text, "error: loading data set X: /data/X_TRAIN.csv: gone");
        // `anyhow`'s context does not: its cause follows.
        let e = anyhow::Error::from(std::io::Error::other("disk full")).context("writing out.csv");
        assert_eq!(
            error_text(&e),
            "error: writing out.csv\n  caused by: disk full"
        );
    }
}
