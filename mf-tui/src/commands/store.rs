//! `mf store repair`: move the damaged lines of result stores aside so that they read again.

use std::path::PathBuf;

use anyhow::bail;

use mf_lab::spec::Spec;
use mf_lab::spec_dir;
use mf_lab::store::{repair, RepairReport};

use super::shared::shard_files;

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
