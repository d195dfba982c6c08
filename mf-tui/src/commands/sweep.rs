//! `mf sweep`: run (or resume) a spec's grid search and final assessment, or print the Slurm script that runs
//! it in shards.
//!
//! Progress goes to stderr: a progress bar with ETA when stderr is a terminal, one plain line per event
//! otherwise (logs of batch jobs).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};

use mf_lab::job::{Evaluator, JobKey};
use mf_lab::open_spec_store;
use mf_lab::protocol::mean;
use mf_lab::run::{run, worker_threads, Control, Counts, Event, RunOptions};
use mf_lab::shard::Shard;
use mf_lab::spec::Spec;
use mf_lab::store::{Outcome, Record};
use mf_lab::table::{Format, ResultTable};

use super::shared::{quoted, this_program};
use super::slurm::{run_slurm, SchedulerArgs, SlurmArgs};

/// `mf sweep`: run (or resume) a spec's grid search and final assessment.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct SweepArgs {
    /// Experiment spec (TOML).
    pub spec: PathBuf,
    /// Directory holding one result directory per spec hash.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Run only slice `i/n` of the validation jobs (job j belongs to shard j mod n), into
    /// `shard-<i>-of-<n>.jsonl`. Final jobs run afterwards, unsharded, after `mf merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Worker threads; 0 uses every available core (more than the cores are lowered to their number).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub threads: usize,
    /// Run again the jobs stored as failed.
    #[arg(long)]
    pub retry_failed: bool,
    /// Instead of running, print the Slurm script that runs the whole spec in this many shards with one
    /// `sbatch` (as `mf slurm SPEC --shards N` does; the Slurm options below apply).
    #[arg(long, value_name = "SHARDS", conflicts_with = "shard")]
    pub emit_slurm: Option<usize>,
    /// Scheduler settings of `--emit-slurm`.
    #[command(flatten)]
    pub slurm: SchedulerArgs,
    /// The data directory given on the command line (`mf --data-dir`), passed on by `--emit-slurm`.
    #[arg(skip)]
    pub data_dir: Option<PathBuf>,
}

/// Runs or resumes the sweep of `args.spec` with `evaluator`, storing into `<results>/<hash>/`. Prints the
/// Table IV of the results to stdout when an unsharded run ends. Fails (exit status non-zero) when any job of
/// the run's store is recorded as failed, this run's or an earlier one's.
pub fn run_sweep(args: SweepArgs, evaluator: Arc<dyn Evaluator>) -> anyhow::Result<()> {
    if let Some(shards) = args.emit_slurm {
        let mut slurm = args.slurm;
        if slurm.cpus_per_task.is_none() && args.threads > 0 {
            slurm.cpus_per_task = Some(args.threads);
        }
        return run_slurm(SlurmArgs {
            spec: args.spec,
            shards,
            results: args.results,
            slurm,
            out: None,
            submit: false,
            resubmit: false,
            data_dir: args.data_dir,
        });
    }
    if args.slurm.is_set() {
        bail!("--cpus-per-task, --time, --partition, --job-name and --mf go with --emit-slurm");
    }
    let spec = Spec::load(&args.spec)?;
    let (mut store, report) = open_spec_store(&args.results, &spec, args.shard)?;
    eprintln!("spec {} -> {}", spec.short_hash(), store.path().display());
    if let Some(r) = &report.recovered {
        eprintln!(
            "recovered: removed a damaged last record ({} bytes at offset {}: {})",
            r.bytes, r.offset, r.reason
        );
    }
    let threads = worker_threads(args.threads);
    if args.threads > threads {
        eprintln!(
            "-j {} is more than the {threads} cores available: running {threads} worker threads",
            args.threads
        );
    }
    let opts = RunOptions {
        threads,
        shard: args.shard,
        retry_failed: args.retry_failed,
    };
    let control = Control::new();
    let mut reporter = Reporter::new(std::io::stderr().is_terminal());
    let summary = run(
        &spec,
        &mut store,
        evaluator.as_ref(),
        &opts,
        &control,
        &mut |e| reporter.event(e),
    )?;
    reporter.finish();
    let c = summary.counts;
    eprintln!(
        "{} done, {} failed, {} already stored{}",
        c.done,
        c.failed,
        c.skipped,
        if summary.cancelled { ", cancelled" } else { "" }
    );
    if let Some(shard) = args.shard.filter(|s| s.count > 1) {
        let mf = this_program();
        let (spec, results) = (quoted(&args.spec), quoted(&args.results));
        let data = match &args.data_dir {
            Some(d) => format!(" --data-dir {}", quoted(d)),
            None => String::new(),
        };
        if std::env::var_os("SLURM_ARRAY_JOB_ID").is_some() {
            eprintln!(
                "shard {shard} finished; stage 2 of the Slurm script merges the shards once every task has ended \
                 (by hand: {mf} merge --spec {spec} --results {results} && {mf} sweep {spec} --results {results}{data})"
            );
        } else {
            eprintln!(
                "shard {shard} finished; when every shard has: {mf} merge --spec {spec} --results {results} && \
                 {mf} sweep {spec} --results {results}{data}"
            );
        }
    } else if !summary.cancelled {
        print!(
            "{}",
            ResultTable::build(&spec, store.records()).table_iv(Format::Markdown)
        );
    }
    let failed: Vec<&Record> = store.records().values().filter(|r| r.is_failed()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    // This run's failures were reported as they happened; the earlier ones are listed here.
    let earlier: Vec<&&Record> = failed
        .iter()
        .filter(|r| !reporter.failed.contains(&r.key))
        .collect();
    for r in earlier.iter().take(10) {
        if let Outcome::Failed { message } = &r.outcome {
            eprintln!("failed earlier: {}: {message}", r.key);
        }
    }
    if earlier.len() > 10 {
        eprintln!("failed earlier: {} more", earlier.len() - 10);
    }
    bail!(
        "{} of {} recorded jobs failed ({} in this run, {} earlier): fix the cause, then `mf sweep {} --retry-failed`",
        failed.len(),
        store.records().len(),
        failed.len() - earlier.len(),
        earlier.len(),
        args.spec.display()
    )
}

/// Turns run events into a progress bar or plain lines.
struct Reporter {
    bar: Option<ProgressBar>,
    /// The jobs that failed in this run, already reported.
    failed: std::collections::BTreeSet<JobKey>,
}

impl Reporter {
    fn new(terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} eta {eta_precise} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Reporter {
            bar,
            failed: Default::default(),
        }
    }

    fn line(&self, s: String) {
        match &self.bar {
            Some(bar) => bar.println(s),
            None => eprintln!("{s}"),
        }
    }

    fn counts(&self, c: &Counts) {
        if let Some(bar) = &self.bar {
            bar.set_length(c.total as u64);
            bar.set_position(c.finished() as u64);
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Planned(c) => {
                self.counts(&c);
                self.line(format!(
                    "{} jobs to run, {} already stored",
                    c.total, c.skipped
                ));
            }
            Event::Started { key, counts } => {
                self.counts(&counts);
                if let Some(bar) = &self.bar {
                    bar.set_message(key.to_string());
                }
            }
            Event::Progress { key, progress } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{key}: {}", progress.step));
                }
            }
            Event::Finished { record, counts } => {
                self.counts(&counts);
                if self.bar.is_none() {
                    let score = match &record.outcome {
                        Outcome::Done { metric, scores, .. } => {
                            format!("{metric} {:.4}", mean(scores))
                        }
                        Outcome::Failed { .. } => "failed".into(),
                    };
                    self.line(format!(
                        "[{}/{}] {} {score} ({:.1}s){}",
                        counts.finished(),
                        counts.total,
                        record.key,
                        record.wall_s,
                        eta_text(counts.eta)
                    ));
                }
            }
            Event::Failed {
                key,
                message,
                counts,
            } => {
                self.counts(&counts);
                self.line(format!(
                    "[{}/{}] {key} failed: {message}",
                    counts.finished(),
                    counts.total
                ));
                self.failed.insert(key);
            }
            Event::Selected {
                dataset,
                model,
                selection,
            } => {
                let params: Vec<String> = selection
                    .params
                    .iter()
                    .map(|(k, v)| format!("{k}={}", mf_lab::grid::value_text(k, *v)))
                    .collect();
                self.line(format!(
                    "selected {model} on {dataset}: #{} ({}) validation {} {:.4}",
                    selection.config,
                    params.join(", "),
                    selection.metric,
                    selection.score
                ));
            }
            Event::Unselectable {
                dataset,
                model,
                reason,
            } => {
                self.line(format!("no selection for {model} on {dataset}: {reason}"));
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn eta_text(eta: Option<Duration>) -> String {
    match eta {
        Some(d) => {
            let s = d.as_secs();
            format!(", eta {}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        }
        None => String::new(),
    }
}

/// `mf sweep SPEC --results RESULTS` with `threads` workers, on `shard` if given; the tests of every sweep
/// command build their sweeps with it.
#[cfg(test)]
pub(super) fn sweep_args(
    spec: &std::path::Path,
    results: &std::path::Path,
    shard: Option<Shard>,
    threads: usize,
) -> SweepArgs {
    SweepArgs {
        spec: spec.to_path_buf(),
        results: results.to_path_buf(),
        shard,
        threads,
        retry_failed: false,
        emit_slurm: None,
        slurm: SchedulerArgs::default(),
        data_dir: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::merge::{run_merge, MergeArgs};
    use crate::commands::table::{run_table, TableArgs, TableFormat};
    use clap::Parser;
    use mf_lab::export::FrameFormat;
    use mf_lab::spec_dir;
    use mf_lab::store::read_store;
    use mf_lab::testing::{small_spec, FakeEvaluator};
    use std::path::Path;

    #[derive(Debug, Parser)]
    enum Cli {
        Sweep(SweepArgs),
        Table(TableArgs),
        Merge(MergeArgs),
        Slurm(SlurmArgs),
    }

    #[test]
    fn arguments_parse_with_their_defaults() {
        let Cli::Sweep(a) =
            Cli::try_parse_from(["mf", "sweep", "s.toml", "--shard", "1/4"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(a.shard, Some(Shard::new(1, 4).unwrap()));
        assert_eq!(
            (a.results.as_path(), a.threads, a.retry_failed),
            (Path::new("results"), 0, false)
        );
        assert!(Cli::try_parse_from(["mf", "sweep", "s.toml", "--shard", "4/4"]).is_err());
        let Cli::Table(t) = Cli::try_parse_from(["mf", "table", "s.toml", "-f", "csv"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(t.format, TableFormat::Table(Format::Csv));
        let Cli::Table(t) =
            Cli::try_parse_from(["mf", "table", "s.toml", "-f", "parquet", "-o", "r.parquet"])
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(t.format, TableFormat::Frame(FrameFormat::Parquet));
        let e = Cli::try_parse_from(["mf", "table", "s.toml", "-f", "xls"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "unknown table format `xls` (expected markdown, csv, latex, arrow or parquet)"
            ),
            "{e}"
        );
        assert!(matches!(
            Cli::try_parse_from(["mf", "merge", "--spec", "s.toml"]).unwrap(),
            Cli::Merge(_)
        ));
        assert!(matches!(
            Cli::try_parse_from(["mf", "slurm", "s.toml", "--shards", "3"]).unwrap(),
            Cli::Slurm(_)
        ));
    }

    #[test]
    fn sharded_sweeps_merge_and_table_through_the_commands() {
        let dir = tempfile::tempdir().unwrap();
        let spec_path = dir.path().join("spec.toml");
        let spec = small_spec();
        std::fs::write(&spec_path, spec.to_toml()).unwrap();
        let results = dir.path().join("results");
        let eval: Arc<dyn Evaluator> = Arc::new(FakeEvaluator::default());
        for i in 0..2 {
            run_sweep(
                sweep_args(&spec_path, &results, Some(Shard::new(i, 2).unwrap()), 2),
                eval.clone(),
            )
            .unwrap();
        }
        let out = dir.path().join("table.csv");
        let table = |out: &Path| TableArgs {
            specs: vec![spec_path.clone()],
            results: results.clone(),
            store: vec![],
            format: TableFormat::Table(Format::Csv),
            out: Some(out.to_path_buf()),
        };
        // Before the merge there is no store.jsonl, and the error says to merge.
        let err = run_table(table(&out)).unwrap_err().to_string();
        assert!(err.contains("mf merge"), "{err}");
        run_merge(MergeArgs {
            inputs: vec![],
            spec: Some(spec_path.clone()),
            results: results.clone(),
            out: None,
            partial: false,
        })
        .unwrap();
        let args = sweep_args(&spec_path, &results, None, 2);
        run_sweep(args, eval).unwrap();
        run_table(table(&out)).unwrap();
        // The CSV is the plain table; the provenance is the file beside it.
        let csv = std::fs::read_to_string(&out).unwrap();
        let side = super::super::table::provenance_file(&out);
        let provenance = std::fs::read_to_string(&side).unwrap();
        assert!(provenance.starts_with("Spec "), "{provenance}");
        assert_eq!(csv.lines().count(), 1 + 2 * 4);
        assert!(
            csv.lines()
                .skip(1)
                .all(|l| l.split(',').nth(3).unwrap().parse::<f64>().is_ok()),
            "{csv}"
        );
        let store = spec_dir(&results, &spec).join("store.jsonl");
        assert!(read_store(&store).unwrap().damaged_tail.is_none());
    }
}
