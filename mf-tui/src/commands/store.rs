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
    s.push_str(&match (r.rerun, r.unreadable) {
        (0, 0) => "no job will run again\n".to_string(),
        (n, 0) => format!("{} will run again on the next `mf sweep`\n", jobs(n)),
        (n, u) => format!(
            "{} will run again on the next `mf sweep`, and any job recorded only on the {u} moved line{} too \
             damaged to say which job {} recorded\n",
            jobs(n),
            if u == 1 { "" } else { "s" },
            if u == 1 { "it" } else { "they" },
        ),
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rerun: usize, unreadable: usize) -> RepairReport {
        RepairReport {
            path: "s.jsonl".into(),
            quarantine: "s.jsonl.quarantine".into(),
            moved: vec![(2, "checksum mismatch".into())],
            kept: 3,
            rerun,
            unreadable,
            header_rewritten: false,
        }
    }

    /// The last line of the text of a repair that moved lines.
    fn verdict(rerun: usize, unreadable: usize) -> String {
        repair_text(&report(rerun, unreadable))
            .lines()
            .last()
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_repair_says_how_many_jobs_run_again_and_which_lines_may_add_to_them() {
        assert_eq!(verdict(0, 0), "no job will run again");
        assert_eq!(verdict(1, 0), "1 job will run again on the next `mf sweep`");
        assert_eq!(
            verdict(3, 0),
            "3 jobs will run again on the next `mf sweep`"
        );
        assert_eq!(
            verdict(0, 1),
            "0 jobs will run again on the next `mf sweep`, and any job recorded only on the 1 moved line too \
             damaged to say which job it recorded"
        );
        assert_eq!(
            verdict(1, 2),
            "1 job will run again on the next `mf sweep`, and any job recorded only on the 2 moved lines too \
             damaged to say which job they recorded"
        );
    }
}
