//! Headless commands of the `mf` binary: `sweep`, `table`, `merge`, `slurm` and `store repair`.
//!
//! Each command has its clap argument struct and a `run_*` function returning `anyhow::Result<()>`. Progress of
//! `sweep` goes to stderr: a progress bar with ETA when stderr is a terminal, one plain line per event
//! otherwise (logs of batch jobs).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

use mf_lab::job::{validation_jobs, Evaluator, JobKey, Stage};
use mf_lab::protocol::mean;
use mf_lab::run::{run, worker_threads, Control, Counts, Event, RunOptions};
use mf_lab::shard::{emit_slurm, merge, Shard, SlurmOptions};
use mf_lab::spec::Spec;
use mf_lab::store::{read_store, repair, Outcome, Record, RepairReport};
use mf_lab::table::{Format, ResultTable};
use mf_lab::{open_spec_store, spec_dir, LabError};

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
    /// Instead of running, print a Slurm job-array script that runs the spec in this many shards (each array
    /// task runs `mf sweep --shard $SLURM_ARRAY_TASK_ID/N`); `mf slurm` offers every scheduler option.
    #[arg(long, value_name = "SHARDS", conflicts_with = "shard")]
    pub emit_slurm: Option<usize>,
}

/// `mf table`: render a spec's results beside the paper's.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct TableArgs {
    /// Experiment spec (TOML).
    pub spec: PathBuf,
    /// Directory holding one result directory per spec hash.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Store file to read instead of `<results>/<hash>/store.jsonl`.
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Output format: markdown, csv or latex.
    #[arg(long, short = 'f', default_value = "markdown")]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// `mf merge`: join shard stores into one store.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct MergeArgs {
    /// Store files to merge. Default with `--spec`: every `shard-*.jsonl` of the spec's result directory.
    pub inputs: Vec<PathBuf>,
    /// Merge the shards of this spec (and default `--out` to its `store.jsonl`).
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Directory holding one result directory per spec hash (with `--spec`).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Output store (created or appended to). Required without `--spec`.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// `mf slurm`: print a Slurm job-array script running a spec in shards.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct SlurmArgs {
    /// Experiment spec (TOML), as the compute nodes will see its path.
    pub spec: PathBuf,
    /// Number of shards (array tasks).
    #[arg(long)]
    pub shards: usize,
    /// Result directory, as the compute nodes will see it.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// CPUs per array task.
    #[arg(long, default_value_t = 4)]
    pub cpus_per_task: usize,
    /// Wall-time limit per task.
    #[arg(long, default_value = "24:00:00")]
    pub time: String,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Job name.
    #[arg(long, default_value = "mf-sweep")]
    pub job_name: String,
    /// The `mf` executable on the compute nodes.
    #[arg(long, default_value = "mf")]
    pub mf: String,
    /// Write the script here instead of stdout.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// `mf store`: look after result stores.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum StoreCommand {
    /// Move the damaged lines of a store to a quarantine file beside it (`store.jsonl.quarantine`) and keep
    /// the rest, so that `sweep`, `table`, `merge` and the dashboard read it again; the jobs whose records
    /// moved run again on the next `mf sweep`.
    Repair {
        /// A store file (`store.jsonl`, `shard-<i>-of-<n>.jsonl`), or an experiment spec (`.toml`), meaning
        /// every store of its result directory.
        target: PathBuf,
        /// Directory holding one result directory per spec hash (with a spec).
        #[arg(long, default_value = "results")]
        results: PathBuf,
    },
}

/// Runs or resumes the sweep of `args.spec` with `evaluator`, storing into `<results>/<hash>/`. Prints the
/// Table IV of the results to stdout when an unsharded run ends. Fails (exit status non-zero) when any job of
/// the run's store is recorded as failed, this run's or an earlier one's.
pub fn run_sweep(args: SweepArgs, evaluator: Arc<dyn Evaluator>) -> anyhow::Result<()> {
    if let Some(shards) = args.emit_slurm {
        return run_slurm(SlurmArgs {
            spec: args.spec,
            shards,
            results: args.results,
            cpus_per_task: if args.threads == 0 { 4 } else { args.threads },
            time: "24:00:00".into(),
            partition: None,
            job_name: "mf-sweep".into(),
            mf: "mf".into(),
            out: None,
        });
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
    if args.shard.is_some_and(|s| s.count > 1) {
        eprintln!(
            "shard {} finished; when every shard has: mf merge --spec {} --results {} && mf sweep {} --results {}",
            args.shard.expect("checked"),
            args.spec.display(),
            args.results.display(),
            args.spec.display(),
            args.results.display()
        );
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

/// Renders the results of `args.spec` (Table IV and the hyper-parameter tables) in the chosen format.
pub fn run_table(args: TableArgs) -> anyhow::Result<()> {
    let format = args.format;
    let spec = Spec::load(&args.spec)?;
    let path = args
        .store
        .clone()
        .unwrap_or_else(|| spec_dir(&args.results, &spec).join("store.jsonl"));
    if !path.exists() {
        let shards = shard_files(&spec_dir(&args.results, &spec)).unwrap_or_default();
        if !shards.is_empty() {
            bail!(
                "{} does not exist but {} shard stores do: run `mf merge --spec {}` first",
                path.display(),
                shards.len(),
                args.spec.display()
            );
        }
        bail!(
            "{} does not exist: run `mf sweep {}` first",
            path.display(),
            args.spec.display()
        );
    }
    let no_finals = |what: String, retry: bool| {
        anyhow::anyhow!(
            "{} holds no final results yet ({what}): run `mf sweep {}{}` to finish the sweep",
            path.display(),
            args.spec.display(),
            if retry { " --retry-failed" } else { "" }
        )
    };
    let contents = match read_store(&path) {
        Ok(c) => c,
        Err(LabError::EmptyStore { .. }) => return Err(no_finals("it is empty".into(), false)),
        Err(e) => return Err(e.into()),
    };
    if contents.spec_hash != spec.hash() {
        bail!(
            "{} holds results of spec {}, not of {}",
            path.display(),
            contents.spec_hash,
            spec.hash()
        );
    }
    if let Some(t) = &contents.damaged_tail {
        eprintln!(
            "warning: {} ends with a damaged record ({}), ignored",
            path.display(),
            t.reason
        );
    }
    let table = ResultTable::build(&spec, &contents.records);
    let finals = table
        .rows
        .iter()
        .flat_map(|r| &r.cells)
        .filter(|c| c.ours.as_ref().is_some_and(|o| o.summary.is_ok()))
        .count();
    if finals == 0 {
        let count = |stage: Stage, failed: bool| {
            contents
                .records
                .values()
                .filter(|r| r.key.stage == stage && r.is_failed() == failed)
                .count()
        };
        let (val_done, val_failed) = (
            count(Stage::Validation, false),
            count(Stage::Validation, true),
        );
        let final_failed = count(Stage::Final, true);
        let mut what = format!(
            "{} of {} validation jobs recorded, {val_failed} of them failed",
            val_done + val_failed,
            validation_jobs(&spec).len()
        );
        if final_failed > 0 {
            what.push_str(&format!("; {final_failed} final jobs failed"));
        }
        return Err(no_finals(what, val_failed + final_failed > 0));
    }
    write_out(args.out.as_deref(), &table.render(format))
}

/// Merges shard stores (see [`MergeArgs`]).
pub fn run_merge(args: MergeArgs) -> anyhow::Result<()> {
    let (inputs, out) = match &args.spec {
        Some(spec_path) => {
            let spec = Spec::load(spec_path)?;
            let dir = spec_dir(&args.results, &spec);
            let inputs = if args.inputs.is_empty() {
                shard_files(&dir)?
            } else {
                args.inputs.clone()
            };
            (
                inputs,
                args.out.clone().unwrap_or_else(|| dir.join("store.jsonl")),
            )
        }
        None => {
            let Some(out) = args.out.clone() else {
                bail!("`mf merge` needs --out or --spec")
            };
            (args.inputs.clone(), out)
        }
    };
    if inputs.is_empty() {
        bail!("no stores to merge");
    }
    let report = merge(&inputs, &out)?;
    for path in &report.empty {
        eprintln!(
            "warning: {} holds no records, not even a header; skipped",
            path.display()
        );
    }
    for (path, t) in &report.damaged_tails {
        eprintln!(
            "warning: {} ends with a damaged record ({}), ignored",
            path.display(),
            t.reason
        );
    }
    for key in &report.conflicts {
        eprintln!("warning: inputs disagree on {key}; kept the first input's record");
    }
    eprintln!(
        "merged {} stores into {}: {} records added, {} duplicates",
        inputs.len(),
        out.display(),
        report.added,
        report.duplicates
    );
    Ok(())
}

/// Runs a `mf store` command.
pub fn run_store(cmd: &StoreCommand) -> anyhow::Result<()> {
    let StoreCommand::Repair { target, results } = cmd;
    let is_spec = target.extension().is_some_and(|e| e == "toml");
    let (files, spec_hash) = if is_spec {
        let spec = Spec::load(target)?;
        let dir = spec_dir(results, &spec);
        let mut files: Vec<PathBuf> = Some(dir.join("store.jsonl"))
            .filter(|p| p.is_file())
            .into_iter()
            .collect();
        if dir.is_dir() {
            files.extend(shard_files(&dir)?);
        }
        if files.is_empty() {
            bail!(
                "{} has no store under {}: nothing to repair",
                target.display(),
                results.display()
            );
        }
        (files, Some(spec.hash()))
    } else {
        // The spec of a store's result directory lies beside it; it rewrites a damaged header.
        let beside = target
            .parent()
            .map(|d| d.join("spec.toml"))
            .and_then(|p| Spec::load(&p).ok())
            .map(|s| s.hash());
        (vec![target.clone()], beside)
    };
    for path in &files {
        let r = repair(path, spec_hash.as_deref())?;
        print!("{}", repair_text(&r));
    }
    Ok(())
}

/// What `mf store repair` says about one store.
fn repair_text(r: &RepairReport) -> String {
    let jobs = |n: usize| format!("{n} job{}", if n == 1 { "" } else { "s" });
    if r.moved.is_empty() && !r.header_rewritten {
        return format!(
            "{}: nothing to repair ({} records, none damaged)\n",
            r.path.display(),
            r.kept
        );
    }
    let mut s = format!(
        "{}: kept {} records, moved {} line{} to {}\n",
        r.path.display(),
        r.kept,
        r.moved.len(),
        if r.moved.len() == 1 { "" } else { "s" },
        r.quarantine.display()
    );
    for (line, why) in &r.moved {
        s.push_str(&format!("  line {line}: {why}\n"));
    }
    if r.header_rewritten {
        s.push_str("  the header was written anew for the spec\n");
    }
    s.push_str(&match r.rerun {
        0 => "no job will run again\n".to_string(),
        n => format!("{} will run again on the next `mf sweep`\n", jobs(n)),
    });
    s
}

/// Prints (or writes) the Slurm array script of [`SlurmArgs`].
pub fn run_slurm(args: SlurmArgs) -> anyhow::Result<()> {
    if args.shards == 0 {
        bail!("--shards must be at least 1");
    }
    Spec::load(&args.spec).context("the spec must be valid before it is scheduled")?;
    let opts = SlurmOptions {
        job_name: args.job_name.clone(),
        cpus_per_task: args.cpus_per_task,
        time: args.time.clone(),
        partition: args.partition.clone(),
        mf: args.mf.clone(),
    };
    write_out(
        args.out.as_deref(),
        &emit_slurm(&args.spec, args.shards, &args.results, &opts),
    )
}

/// The `shard-*.jsonl` files of a result directory, sorted.
fn shard_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("shard-") && name.ends_with(".jsonl") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn write_out(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            Ok(stdout.flush()?)
        }
    }
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
                    .map(|(k, v)| format!("{k}={v}"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use mf_lab::testing::{small_spec, FakeEvaluator};

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
        assert_eq!(t.format, Format::Csv);
        assert!(Cli::try_parse_from(["mf", "table", "s.toml", "-f", "xls"]).is_err());
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
                SweepArgs {
                    spec: spec_path.clone(),
                    results: results.clone(),
                    shard: Some(Shard::new(i, 2).unwrap()),
                    threads: 2,
                    retry_failed: false,
                    emit_slurm: None,
                },
                eval.clone(),
            )
            .unwrap();
        }
        let out = dir.path().join("table.csv");
        let table = |out: &Path| TableArgs {
            spec: spec_path.clone(),
            results: results.clone(),
            store: None,
            format: Format::Csv,
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
        })
        .unwrap();
        let args = SweepArgs {
            spec: spec_path.clone(),
            results: results.clone(),
            shard: None,
            threads: 2,
            retry_failed: false,
            emit_slurm: None,
        };
        run_sweep(args, eval).unwrap();
        run_table(table(&out)).unwrap();
        let csv = std::fs::read_to_string(&out).unwrap();
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
