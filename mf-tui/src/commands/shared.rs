//! What the sweep commands (`sweep`, `table`, `merge`, `slurm`, `store`) share: shell words for the commands
//! they suggest, the shard stores of a result directory, and writing to a file or stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use mf_lab::shard::Shard;

/// Warns that the store at `path` ends with a damaged record, which reading it ignored.
pub(super) fn warn_damaged_tail(path: &Path, reason: &dyn std::fmt::Display) {
    eprintln!(
        "warning: {} ends with a damaged record ({reason}), ignored",
        path.display()
    );
}

/// How this program was called (`argv[0]`), for the commands it suggests: the `--mf` path of a Slurm script
/// when it runs there, `mf` from a shell.
pub(super) fn this_program() -> String {
    std::env::args()
        .next()
        .map(|a| quoted(Path::new(&a)))
        .unwrap_or_else(|| "mf".into())
}

/// `p` as a shell word, quoted when it needs to be.
pub(super) fn quoted(p: &Path) -> String {
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
pub(super) fn shard_files(dir: &Path) -> anyhow::Result<Vec<(Shard, PathBuf)>> {
    Ok(mf_lab::shard::shard_files(dir)?)
}

/// Writes `text` to the file `out`, or to stdout without one.
pub(super) fn write_out(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(p) => {
            // A missing directory is created, as `mf fit`, `mf export` and `mf robustness` create theirs.
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            Ok(stdout.flush()?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_into_a_missing_directory_creates_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("tables").join("deeper").join("t.md");
        write_out(Some(&out), "| a |\n").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "| a |\n");
        // A file where the directory should be is still an error naming it.
        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "x").unwrap();
        let e = write_out(Some(&blocked.join("t.md")), "x").unwrap_err();
        assert!(format!("{e:#}").contains("file"), "{e:#}");
    }
}
