//! Headless commands of the `mf` binary: `sweep`, `table`, `merge`, `slurm` and `store repair`.
//!
//! `mf table --format arrow|parquet --out FILE` writes every job record of the store as one typed data frame
//! (columns: `mf_lab::export`) instead of the rendered tables.
//!
//! Each command has its clap argument struct and a `run_*` function returning `anyhow::Result<()>`. Progress of
//! `sweep` goes to stderr: a progress bar with ETA when stderr is a terminal, one plain line per event
//! otherwise (logs of batch jobs).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

use mf_lab::export::{export_records, FrameFormat};
use mf_lab::job::{validation_jobs, Evaluator, JobKey, Stage};
use mf_lab::protocol::mean;
use mf_lab::provenance::Provenance;
use mf_lab::run::{run, worker_threads, Control, Counts, Event, RunOptions};
use mf_lab::shard::{emit_slurm, merge, Shard, SlurmOptions};
use mf_lab::spec::Spec;
use mf_lab::store::{read_store, repair, Outcome, Record, RepairReport, StoreContents};
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

/// Scheduler settings of `mf slurm` and `mf sweep --emit-slurm`.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct SchedulerArgs {
    /// CPUs of each array task and of stage 2, also their sweeps' thread count. Default 1, which every node
    /// has (`mf sweep --emit-slurm`: -j when given); a task asking for more CPUs than any node has never starts.
    #[arg(long, value_name = "N", help_heading = "Slurm")]
    pub cpus_per_task: Option<usize>,
    /// Wall-time limit of each array task and of stage 2. Default 24:00:00.
    #[arg(long, value_name = "TIME", help_heading = "Slurm")]
    pub time: Option<String>,
    /// Slurm partition. Default: the cluster's default partition.
    #[arg(long, help_heading = "Slurm")]
    pub partition: Option<String>,
    /// Job name of the array; stage 2 is named `<name>-final`. Default mf-sweep.
    #[arg(long, value_name = "NAME", help_heading = "Slurm")]
    pub job_name: Option<String>,
    /// The `mf` executable the jobs run, as the compute nodes see it. Default: the absolute path of this `mf`.
    #[arg(long, value_name = "PATH", help_heading = "Slurm")]
    pub mf: Option<String>,
}

impl SchedulerArgs {
    fn is_set(&self) -> bool {
        *self != SchedulerArgs::default()
    }

    /// The script settings: these flags over the defaults, with `chdir` the current directory and `data_dir`
    /// made absolute against it.
    fn options(&self, data_dir: Option<&Path>) -> anyhow::Result<SlurmOptions> {
        let d = SlurmOptions::default();
        let cwd = std::env::current_dir().context("reading the current directory")?;
        let cpus_per_task = self.cpus_per_task.unwrap_or(d.cpus_per_task);
        if cpus_per_task == 0 {
            bail!("--cpus-per-task must be at least 1");
        }
        let mf = match &self.mf {
            Some(mf) => mf.clone(),
            None => std::env::current_exe()
                .and_then(std::fs::canonicalize)
                .context("finding the path of this mf (give it with --mf)")?
                .display()
                .to_string(),
        };
        Ok(SlurmOptions {
            job_name: self.job_name.clone().unwrap_or(d.job_name),
            cpus_per_task,
            time: self.time.clone().unwrap_or(d.time),
            partition: self.partition.clone(),
            mf,
            // Canonical when it exists, so that the script names the directory plainly.
            data_dir: data_dir.map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| cwd.join(p))),
            chdir: Some(cwd),
        })
    }
}

/// Output format of `mf table`: the paper's tables rendered as text, or every job record as a data-frame file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Table IV and Tables V-VIII in Markdown, CSV or LaTeX.
    Table(Format),
    /// One row per job record, as an Arrow IPC or Parquet file.
    Frame(FrameFormat),
}

impl FromStr for TableFormat {
    type Err = String;
    /// `markdown` (`md`), `csv`, `latex` (`tex`), `arrow` (`ipc`, `feather`) or `parquet`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(f) = s.parse::<Format>() {
            return Ok(TableFormat::Table(f));
        }
        if let Ok(f) = s.parse::<FrameFormat>() {
            return Ok(TableFormat::Frame(f));
        }
        Err(format!(
            "unknown table format `{s}` (expected markdown, csv, latex, arrow or parquet)"
        ))
    }
}

/// `mf table`: render a spec's results beside the paper's, or write every job record as a data frame.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct TableArgs {
    /// Experiment spec (TOML). Several specs (e.g. one of the reservoir models and one of the trainable models)
    /// make one table with every spec's models as columns and each spec's provenance in the header; a model may
    /// be in only one of them.
    #[arg(required = true, num_args = 1..)]
    pub specs: Vec<PathBuf>,
    /// Directory holding one result directory per spec hash.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Store file to read instead of `<results>/<hash>/store.jsonl`; with several specs, one `--store` per spec,
    /// in the specs' order.
    #[arg(long)]
    pub store: Vec<PathBuf>,
    /// Output format: markdown, csv or latex (Table IV and Tables V-VIII), or arrow or parquet (every job record
    /// of the store as one typed data frame for pandas or polars: data set, model, phase, configuration, one
    /// column per hyper-parameter, seeds, metric, scores, outcome, failure, wall seconds, protocol,
    /// normalisation, data fingerprint; needs --out).
    #[arg(long, short = 'f', default_value = "markdown")]
    pub format: TableFormat,
    /// Write to this file instead of stdout (required for arrow and parquet).
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
    /// With `--spec`: accept a merged store that lacks validation jobs (or holds failed ones). Without it
    /// `mf merge` names them shard by shard and fails.
    #[arg(long)]
    pub partial: bool,
}

/// `mf slurm`: write the Slurm script that runs a whole spec in shards, and optionally submit it.
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
    /// Scheduler settings.
    #[command(flatten)]
    pub slurm: SchedulerArgs,
    /// Write the script here instead of stdout. With --submit or --resubmit, default
    /// `<results>/<spec hash>/<job name>.sbatch`.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Write the script and submit it with `sbatch`: the shard array, then stage 2.
    #[arg(long)]
    pub submit: bool,
    /// Submit again, as one array, the shards whose validation jobs are not all done (missing or failed), with
    /// the script at --out (written first if absent); stage 2 follows them. Run it once the array has ended.
    #[arg(long, conflicts_with = "submit")]
    pub resubmit: bool,
    /// The data directory given on the command line (`mf --data-dir`), passed on to every task.
    #[arg(skip)]
    pub data_dir: Option<PathBuf>,
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

/// Renders the results of `args.specs` (Table IV and the hyper-parameter tables, one table for all the specs) in
/// the chosen format.
pub fn run_table(args: TableArgs) -> anyhow::Result<()> {
    let format = match args.format {
        TableFormat::Table(f) => f,
        TableFormat::Frame(f) => return export_table(&args, f),
    };
    if !args.store.is_empty() && args.store.len() != args.specs.len() {
        bail!(
            "{} specs but {} --store files: give one store per spec, in the specs' order, or none",
            args.specs.len(),
            args.store.len()
        );
    }
    let mut tables = Vec::new();
    let mut provenances = Vec::new();
    for (i, spec_path) in args.specs.iter().enumerate() {
        let (table, provenance) = spec_table(spec_path, args.store.get(i), &args.results)?;
        tables.push(table);
        provenances.push(provenance);
    }
    let table = ResultTable::join(tables)?;
    // The header says where the numbers come from: spec, store and the sessions that computed them.
    write_out(
        args.out.as_deref(),
        &(Provenance::headers(&provenances, format) + &table.render(format)),
    )
}

/// The results table of the spec at `spec_path` from its store (`store`, else the spec's store under `results`),
/// with its provenance; an error when the store is missing, of another spec, or holds no final result.
fn spec_table(
    spec_path: &Path,
    store: Option<&PathBuf>,
    results: &Path,
) -> anyhow::Result<(ResultTable, Provenance)> {
    let (spec, path, contents) = spec_store(spec_path, store, results)?;
    let no_finals = |what: String, retry: bool| {
        anyhow::anyhow!(
            "{} holds no final results yet ({what}): run `mf sweep {}{}` to finish the sweep",
            path.display(),
            spec_path.display(),
            if retry { " --retry-failed" } else { "" }
        )
    };
    let Some(contents) = contents else {
        return Err(no_finals("it is empty".into(), false));
    };
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
    let provenance = Provenance::of(&spec, &contents);
    Ok((table, provenance))
}

/// The spec at `spec_path`, the path of its store (`store`, else the spec's store under `results`) and what the
/// store holds (`None` when it is empty). An error when the store is missing (naming `mf merge` when shard stores
/// exist, else `mf sweep`) or holds the results of another spec; a damaged last record is warned about.
fn spec_store(
    spec_path: &Path,
    store: Option<&PathBuf>,
    results: &Path,
) -> anyhow::Result<(Spec, PathBuf, Option<StoreContents>)> {
    let spec = Spec::load(spec_path)?;
    let path = store
        .cloned()
        .unwrap_or_else(|| spec_dir(results, &spec).join("store.jsonl"));
    if !path.exists() {
        let shards = shard_files(&spec_dir(results, &spec)).unwrap_or_default();
        if !shards.is_empty() {
            bail!(
                "{} does not exist but {} shard stores do: run `mf merge --spec {}` first",
                path.display(),
                shards.len(),
                spec_path.display()
            );
        }
        bail!(
            "{} does not exist: run `mf sweep {}` first",
            path.display(),
            spec_path.display()
        );
    }
    let contents = match read_store(&path) {
        Ok(c) => c,
        Err(LabError::EmptyStore { .. }) => return Ok((spec, path, None)),
        Err(e) => return Err(e.into()),
    };
    if contents.spec_hash != spec.hash() {
        bail!(
            "{} holds results of spec {}, not of {} ({})",
            path.display(),
            contents.spec_hash,
            spec.hash(),
            spec_path.display()
        );
    }
    if let Some(t) = &contents.damaged_tail {
        warn_damaged_tail(&path, &t.reason);
    }
    Ok((spec, path, Some(contents)))
}

/// Warns that the store at `path` ends with a damaged record, which reading it ignored.
fn warn_damaged_tail(path: &Path, reason: &dyn std::fmt::Display) {
    eprintln!(
        "warning: {} ends with a damaged record ({reason}), ignored",
        path.display()
    );
}

/// `mf table --format arrow|parquet`: every job record of the spec's store, written to `--out`.
fn export_table(args: &TableArgs, format: FrameFormat) -> anyhow::Result<()> {
    let Some(out) = &args.out else {
        bail!(
            "--format {format} writes a binary file: give its path with --out (e.g. --out results.{})",
            format.extension()
        );
    };
    let [spec_path] = args.specs.as_slice() else {
        bail!(
            "--format {format} writes the job records of one spec: give one spec, not {}",
            args.specs.len()
        );
    };
    let (spec, path, contents) = spec_store(spec_path, args.store.first(), &args.results)?;
    let Some(contents) = contents else {
        bail!("{} holds no job records yet", path.display())
    };
    let rows = export_records(&spec, &contents, format, out)
        .with_context(|| format!("exporting the records of {}", path.display()))?;
    eprintln!(
        "wrote {rows} job records of {} to {} ({format})",
        path.display(),
        out.display()
    );
    Ok(())
}

/// Merges shard stores (see [`MergeArgs`]). With a spec, then checks that the merged store holds a successful
/// record of every validation job, and fails naming what each shard lacks unless `--partial`.
pub fn run_merge(args: MergeArgs) -> anyhow::Result<()> {
    let mf = this_program();
    let spec = args.spec.as_deref().map(Spec::load).transpose()?;
    let (inputs, out) = match &spec {
        Some(spec) => {
            let dir = spec_dir(&args.results, spec);
            let inputs = if args.inputs.is_empty() {
                shard_files(&dir)?.into_iter().map(|(_, p)| p).collect()
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
        if spec.is_none() || !out.is_file() {
            bail!(
                "no stores to merge: no shard store (shard-<i>-of-<n>.jsonl) and no {}; has any shard run?",
                out.display()
            );
        }
        // A sweep of one shard writes store.jsonl itself; there is nothing to join, only to check.
        eprintln!(
            "no shard stores beside {}: nothing to merge, checking it",
            out.display()
        );
    } else {
        let report = merge(&inputs, &out)?;
        for path in &report.empty {
            eprintln!(
                "warning: {} holds no records, not even a header; skipped",
                path.display()
            );
        }
        for (path, t) in &report.damaged_tails {
            warn_damaged_tail(path, &t.reason);
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
    }
    let (Some(spec), Some(spec_path)) = (&spec, &args.spec) else {
        return Ok(());
    };
    let records = match read_store(&out) {
        Ok(c) => c.records,
        Err(LabError::EmptyStore { .. }) => Default::default(),
        Err(e) => return Err(e.into()),
    };
    // Jobs are attributed to the shards of the inputs' split (the largest, should several have been merged).
    let count = inputs
        .iter()
        .filter_map(|p| p.file_name()?.to_str().and_then(Shard::from_file_name))
        .map(|s| s.count)
        .max()
        .unwrap_or(1);
    let gaps = mf_lab::shard::gaps(spec, count, &records);
    let total = validation_jobs(spec).len();
    if gaps.is_empty() {
        eprintln!(
            "complete: every one of the {total} validation jobs is recorded as done; `{mf} sweep {} --results {}` \
             runs the final jobs",
            quoted(spec_path),
            quoted(&args.results)
        );
        return Ok(());
    }
    for g in &gaps {
        let first: Vec<String> = g
            .missing
            .iter()
            .chain(&g.failed)
            .take(3)
            .map(|k| k.to_string())
            .collect();
        let more = g.missing.len() + g.failed.len() - first.len();
        eprintln!(
            "{g} ({}{})",
            first.join(", "),
            if more > 0 {
                format!(", {more} more")
            } else {
                String::new()
            }
        );
    }
    let missing: usize = gaps.iter().map(|g| g.missing.len()).sum();
    let failed: usize = gaps.iter().map(|g| g.failed.len()).sum();
    let indices: Vec<String> = gaps.iter().map(|g| g.shard.index.to_string()).collect();
    let what = format!(
        "{} is incomplete: {missing} of the {total} validation jobs missing and {failed} failed, in {} of {count} \
         shard{}",
        out.display(),
        gaps.len(),
        if count == 1 { "" } else { "s" }
    );
    if args.partial {
        eprintln!("warning: {what}; accepted (--partial)");
        return Ok(());
    }
    let spec_q = quoted(spec_path);
    let rerun = if count == 1 {
        format!("run the sweep again: `{mf} sweep {spec_q} --retry-failed`")
    } else {
        let shards = indices.join(",");
        format!(
            "run shard{} {shards} again: under Slurm `sbatch --array={shards} <the script>` or `{mf} slurm {spec_q} \
             --shards {count} --resubmit --out <the script>`, by hand `{mf} sweep {spec_q} --shard {}/{count} \
             --retry-failed` and so on",
            if gaps.len() == 1 { "" } else { "s" },
            indices[0]
        )
    };
    bail!("{what}; {rerun}; then merge again, or accept the gaps: `{mf} merge --spec {spec_q} --partial`")
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
            files.extend(shard_files(&dir)?.into_iter().map(|(_, p)| p));
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

/// Writes the Slurm script of [`SlurmArgs`] (to stdout or `--out`), or submits it (`--submit`), or resubmits
/// the incomplete shards (`--resubmit`).
pub fn run_slurm(args: SlurmArgs) -> anyhow::Result<()> {
    if args.shards == 0 {
        bail!("--shards must be at least 1");
    }
    let spec = Spec::load(&args.spec).context("the spec must be valid before it is scheduled")?;
    let opts = args.slurm.options(args.data_dir.as_deref())?;
    let script = emit_slurm(&args.spec, args.shards, &args.results, &opts);
    let (spec_q, results_q) = (quoted(&args.spec), quoted(&args.results));
    let mf = quoted(Path::new(&opts.mf));
    let n = args.shards;
    if !args.submit && !args.resubmit {
        write_out(args.out.as_deref(), &script)?;
        let file = args
            .out
            .as_deref()
            .map(quoted)
            .unwrap_or_else(|| "<the script>".into());
        eprintln!(
            "submit it once: `sbatch {file}` runs the {n} shard{} as an array, then stage 2 (merge, final jobs, \
             table); if a shard fails: `{mf} slurm {spec_q} --shards {n} --results {results_q} --resubmit --out {file}`",
            if n == 1 { "" } else { "s" }
        );
        return Ok(());
    }
    let dir = spec_dir(&args.results, &spec);
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| dir.join(format!("{}.sbatch", opts.job_name)));
    // Absolute, so that the messages (and sbatch's own) name it wherever they are read.
    let path = opts.chdir.as_deref().unwrap_or(Path::new("")).join(path);
    let mut array = None;
    if args.resubmit {
        if let Some(queued) = queued_jobs(&opts.job_name) {
            bail!(
                "jobs named {} are still queued or running ({queued}): resubmit once they have ended, or \
                 cancel them first (scancel --name={})",
                opts.job_name,
                opts.job_name
            );
        }
        let records = mf_lab::shard::stored_records(&dir, &spec.hash())?;
        let gaps = mf_lab::shard::gaps(&spec, n, &records);
        if gaps.is_empty() {
            eprintln!(
                "every shard of {spec_q} is complete: nothing to resubmit; stage 2 by hand: {mf} merge --spec \
                 {spec_q} --results {results_q} && {mf} sweep {spec_q} --results {results_q}"
            );
            return Ok(());
        }
        for g in &gaps {
            eprintln!("{g}");
        }
        array = Some(
            gaps.iter()
                .map(|g| g.shard.index.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if args.resubmit && path.is_file() {
        eprintln!("resubmitting with {}", path.display());
    } else {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        write_out(Some(&path), &script)?;
        eprintln!("wrote {}", path.display());
    }
    check_cpus(opts.cpus_per_task, opts.partition.as_deref())?;
    let mut sbatch = std::process::Command::new("sbatch");
    sbatch.arg("--parsable");
    if let Some(a) = &array {
        sbatch.arg(format!("--array={a}"));
    }
    sbatch.arg(&path);
    let out = sbatch
        .output()
        .context("running sbatch (is this a Slurm submit host?)")?;
    if !out.status.success() {
        bail!(
            "sbatch {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    let tasks = array.unwrap_or_else(|| format!("0-{}", n - 1));
    println!("{id}");
    eprintln!(
        "submitted job {id}: shard task{} {tasks}, then stage 2 (job name {}-final), which merges the shards, \
         runs the final jobs and prints the table into {}-final-<job id>.out in {}; follow them with \
         `squeue -u $USER`",
        if tasks.contains([',', '-']) { "s" } else { "" },
        opts.job_name,
        opts.job_name,
        opts.chdir.as_deref().unwrap_or(Path::new(".")).display()
    );
    Ok(())
}

/// The ids of this user's jobs named `name` that are pending or running, if there are any and `squeue` can tell.
fn queued_jobs(name: &str) -> Option<String> {
    let out = std::process::Command::new("squeue")
        .args(["--noheader", "--me", "--format=%i"])
        .arg(format!("--name={name}"))
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// Fails when no node (of `partition`) has `cpus` CPUs, as such a task would pend forever; says nothing when
/// `sinfo` cannot tell.
fn check_cpus(cpus: usize, partition: Option<&str>) -> anyhow::Result<()> {
    let mut sinfo = std::process::Command::new("sinfo");
    sinfo.args(["--noheader", "--format=%c"]);
    if let Some(p) = partition {
        sinfo.arg(format!("--partition={p}"));
    }
    let Ok(out) = sinfo.output() else {
        return Ok(());
    };
    let most = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches('+').parse::<usize>().ok())
        .max();
    match most {
        Some(most) if out.status.success() && cpus > most => bail!(
            "--cpus-per-task {cpus} is more than any node{} has ({most}): the tasks would never start; \
             lower it",
            partition.map(|p| format!(" of partition {p}")).unwrap_or_default()
        ),
        _ => Ok(()),
    }
}

/// How this program was called (`argv[0]`), for the commands it suggests: the `--mf` path of a Slurm script
/// when it runs there, `mf` from a shell.
fn this_program() -> String {
    std::env::args()
        .next()
        .map(|a| quoted(Path::new(&a)))
        .unwrap_or_else(|| "mf".into())
}

/// `p` as a shell word, quoted when it needs to be.
fn quoted(p: &Path) -> String {
    let s = p.display().to_string();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The shard stores of a result directory, sorted.
fn shard_files(dir: &Path) -> anyhow::Result<Vec<(Shard, PathBuf)>> {
    Ok(mf_lab::shard::shard_files(dir)?)
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

    /// `mf sweep SPEC --results RESULTS` with `threads` workers, on `shard` if given.
    fn sweep_args(spec: &Path, results: &Path, shard: Option<Shard>, threads: usize) -> SweepArgs {
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
        let text = std::fs::read_to_string(&out).unwrap();
        // The provenance comes first, as `#` comment lines; then the CSV.
        assert!(text.starts_with("# Spec "), "{text}");
        let csv: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
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

    #[test]
    fn table_writes_every_job_record_as_arrow_or_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let spec_path = dir.path().join("spec.toml");
        let spec = small_spec();
        std::fs::write(&spec_path, spec.to_toml()).unwrap();
        let results = dir.path().join("results");
        let args = |format: TableFormat, out: Option<PathBuf>| TableArgs {
            specs: vec![spec_path.clone()],
            results: results.clone(),
            store: vec![],
            format,
            out,
        };
        let parquet = TableFormat::Frame(FrameFormat::Parquet);
        let out = dir.path().join("records.parquet");
        let e = run_table(args(parquet, Some(out.clone())))
            .unwrap_err()
            .to_string();
        assert!(e.contains("run `mf sweep"), "{e}");
        let eval: Arc<dyn Evaluator> = Arc::new(FakeEvaluator::default());
        run_sweep(sweep_args(&spec_path, &results, None, 2), eval).unwrap();
        let e = run_table(args(parquet, None)).unwrap_err().to_string();
        assert!(e.contains("give its path with --out"), "{e}");
        let store = read_store(&spec_dir(&results, &spec).join("store.jsonl")).unwrap();
        for format in [FrameFormat::Arrow, FrameFormat::Parquet] {
            let out = dir.path().join(format!("records.{}", format.extension()));
            run_table(args(TableFormat::Frame(format), Some(out.clone()))).unwrap();
            let batches = mf_lab::export::read_frame(&out, format).unwrap();
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            assert_eq!(rows, store.records.len());
            let schema = batches[0].schema();
            for name in [
                "dataset", "model", "phase", "config", "omega", "score", "outcome",
            ] {
                assert!(
                    schema.field_with_name(name).is_ok(),
                    "{format}: no column {name}"
                );
            }
        }
        // The store of another spec is refused, as `mf table` refuses it: its columns would be misread.
        let mut other = spec.clone();
        other.seed += 1;
        let other_path = dir.path().join("other.toml");
        std::fs::write(&other_path, other.to_toml()).unwrap();
        let e = run_table(TableArgs {
            specs: vec![other_path],
            results: results.clone(),
            store: vec![spec_dir(&results, &spec).join("store.jsonl")],
            format: parquet,
            out: Some(dir.path().join("other.parquet")),
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(&format!("holds results of spec {}", spec.hash())),
            "{e}"
        );
    }

    #[test]
    fn table_of_two_specs_has_every_model_and_each_provenance_and_equals_the_one_spec_table() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        let eval: Arc<dyn Evaluator> = Arc::new(FakeEvaluator::default());
        let whole = small_spec();
        let mut paths = Vec::new();
        for (name, models) in [
            ("all", vec!["esn", "mf-esn", "rnn", "mf-rnn"]),
            ("reservoirs", vec!["esn", "mf-esn"]),
            ("trainable", vec!["rnn", "mf-rnn"]),
        ] {
            let mut spec = whole.clone();
            spec.models = models.iter().map(|m| m.parse().unwrap()).collect();
            let path = dir.path().join(format!("{name}.toml"));
            std::fs::write(&path, spec.to_toml()).unwrap();
            run_sweep(sweep_args(&path, &results, None, 1), eval.clone()).unwrap();
            paths.push(path);
        }
        let render = |specs: &[PathBuf], store: Vec<PathBuf>, format: Format| {
            let out = dir.path().join("table.out");
            run_table(TableArgs {
                specs: specs.to_vec(),
                results: results.clone(),
                store,
                format: TableFormat::Table(format),
                out: Some(out.clone()),
            })
            .map(|()| std::fs::read_to_string(&out).unwrap())
        };
        // The body of the table without the provenance paragraph(s).
        let body = |text: &str| text[text.find("| Task").unwrap()..].to_string();
        let one = render(&paths[..1], vec![], Format::Markdown).unwrap();
        // Given in either order, the two specs make the four-model table of the one spec; the fake scores depend
        // on the job only, not on the spec it belongs to.
        for specs in [&paths[1..], &[paths[2].clone(), paths[1].clone()][..]] {
            let two = render(specs, vec![], Format::Markdown).unwrap();
            assert_eq!(body(&two), body(&one));
            assert!(
                two.contains("Provenance of the esn, mf-esn columns."),
                "{two}"
            );
            assert!(
                two.contains("Provenance of the rnn, mf-rnn columns."),
                "{two}"
            );
            assert_eq!(two.matches("Session 1:").count(), 2, "{two}");
        }
        let csv = render(&paths[1..], vec![], Format::Csv).unwrap();
        assert!(
            csv.starts_with("# Provenance of the esn, mf-esn columns.\n# Spec "),
            "{csv}"
        );
        // A model in two specs, and a store count that is not one per spec, are refused.
        let e = render(&paths[..2], vec![], Format::Markdown)
            .unwrap_err()
            .to_string();
        assert!(e.contains("in two of the specs"), "{e}");
        let e = render(
            &paths[1..],
            vec![dir.path().join("x.jsonl")],
            Format::Markdown,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("one store per spec"), "{e}");
    }
}
