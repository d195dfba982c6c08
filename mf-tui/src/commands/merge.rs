//! `mf merge`: join the stores of `mf sweep --shard` runs and check that every validation job is recorded.

use std::path::PathBuf;

use anyhow::bail;

use mf_lab::job::validation_jobs;
use mf_lab::shard::{merge, Shard};
use mf_lab::spec::Spec;
use mf_lab::store::read_store;
use mf_lab::{spec_dir, LabError};

use super::shared::{quoted, shard_files, this_program, warn_damaged_tail};

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
        let report = match &spec {
            Some(spec) => mf_lab::shard::merge_for_spec(spec, &inputs, &out)?,
            None => merge(&inputs, &out)?,
        };
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
