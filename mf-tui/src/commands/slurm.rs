//! `mf slurm`: write the Slurm script that runs a whole spec in shards, submit it, or resubmit the shards that
//! did not finish; its scheduler settings are also those of `mf sweep --emit-slurm`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use mf_lab::shard::{emit_slurm, SlurmOptions};
use mf_lab::spec::Spec;
use mf_lab::spec_dir;

use super::shared::{quoted, write_out};

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
    pub(super) fn is_set(&self) -> bool {
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
