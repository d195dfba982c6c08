//! Records the source commit the `mf` binary is built from (`MF_COMMIT`), so that result stores say which code
//! computed them: `git rev-parse --short=12 HEAD`, with `-dirty` when a tracked file the binary is built from (the
//! manifests, the lock file, the crates' directories) differs from it, or `unknown` outside a git checkout. It
//! reruns when the checkout's HEAD, current branch, packed refs or index, or any crate's files, change.

use std::path::Path;
use std::process::Command;

/// What the binary is built from, relative to the workspace root.
const SOURCES: [&str; 10] = [
    "Cargo.toml",
    "Cargo.lock",
    "mf-paper",
    "mf-core",
    "mf-data",
    "mf-esn",
    "mf-rnn",
    "mf-lab",
    "mf-plot",
    "mf-tui",
];

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest)
        .parent()
        .expect("mf-tui sits in the workspace");
    let commit = match git(root, &["rev-parse", "--short=12", "HEAD"]) {
        Some(head) if !head.is_empty() => {
            let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
            status.extend(SOURCES);
            let dirty = git(root, &status).is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{head}-dirty")
            } else {
                head
            }
        }
        _ => "unknown".to_string(),
    };
    println!("cargo:rustc-env=MF_COMMIT={commit}");
    if let Some(git_dir) = git(root, &["rev-parse", "--absolute-git-dir"]) {
        // A commit moves the branch HEAD points to, not HEAD itself.
        let mut watched = vec!["HEAD".to_string(), "index".into(), "packed-refs".into()];
        watched.extend(git(root, &["symbolic-ref", "-q", "HEAD"]));
        for file in watched {
            println!("cargo:rerun-if-changed={git_dir}/{file}");
        }
    }
    for source in SOURCES {
        println!("cargo:rerun-if-changed={}", root.join(source).display());
    }
}
