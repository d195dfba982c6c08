//! Reproducible pipelines for the workspace: `cargo xtask <task>`.
//!
//! Every command is printed before it runs, so a log shows exactly what was done.

#![forbid(unsafe_code)]

mod bench;
mod fig6;
#[cfg(test)]
mod invariants;
mod kernels;
mod readme_results;
mod reproduce;
mod sequence_bench;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Reproducible pipelines of the memristive workspace"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Formatting check, clippy with warnings denied, then the whole test suite.
    Ci,
    /// Time the Rust kernels (`bench-kernels`, `mf run`) against numpy, reservoirpy and PyTorch peers on the same
    /// problems and thread count, and write a Markdown report with the speed-ups and their targets.
    Bench(bench::BenchArgs),
    /// Time the numerical kernels in-process: MF-ESN and ESN harvesting, the MF-ESN harvest with every hardware
    /// non-ideality on against the ideal one, GEMM rates, an MF-RNN epoch and, when the data directory holds
    /// ECG5000, the whole MF-ESN job. `bench` runs it from a release build.
    BenchKernels(kernels::KernelsArgs),
    /// Time the states of one long signal (10^5 steps, N = 100; the leaky-ESN and MF cells) against JAX and
    /// reservoirpy at 1 and 2 threads, and write `results/bench-sequence.md`.
    BenchSequence(sequence_bench::SequenceBenchArgs),
    /// The Rust side of `bench-sequence`, in-process (run by it from a release build).
    #[command(hide = true)]
    BenchSequenceKernels(sequence_bench::SequenceKernelsArgs),
    /// Rebuild the paper's results: grid search and final assessment of every model on every data set found
    /// (`mf sweep`), Table IV and the hyper-parameter tables (`mf table`), and the Fig. 6 spectra.
    Reproduce(reproduce::ReproduceArgs),
    /// Draw only the Fig. 6 spectra (the last step of `reproduce`).
    Fig6(reproduce::Fig6Args),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root();
    match cli.task {
        Task::Ci => ci(&root),
        Task::Bench(args) => bench::bench(&root, &args),
        Task::BenchKernels(args) => kernels::bench_kernels(&args),
        Task::BenchSequence(args) => sequence_bench::bench_sequence(&root, &args),
        Task::BenchSequenceKernels(args) => sequence_bench::kernels(&args),
        Task::Reproduce(args) => reproduce::reproduce(&root, &args),
        Task::Fig6(args) => reproduce::fig6_only(&root, &args),
    }
}

/// The repository root: xtask's manifest lives one level below it.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

fn ci(root: &Path) -> Result<()> {
    run(root, "cargo", &["fmt", "--all", "--", "--check"])?;
    run(
        root,
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run(root, "cargo", &["test", "--workspace"])
}

/// Runs `program args` in `dir`, logging it first, and fails if it fails.
fn run(dir: &Path, program: &str, args: &[&str]) -> Result<()> {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir);
    run_cmd(&mut cmd)
}

/// How a command is shown in the log: environment variables it sets, program and arguments.
fn describe(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Runs `cmd` with inherited output, logging it first, and fails if it fails.
fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = describe(cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed with {status}");
    }
    Ok(())
}

/// Runs `cmd`, logging it first, and returns its standard output; its standard error goes to ours. Fails with
/// the command line when the command fails.
fn output(cmd: &mut Command) -> Result<String> {
    let shown = describe(cmd);
    eprintln!("$ {shown}");
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed with {}", out.status);
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{shown}` printed invalid UTF-8"))
}

/// Builds the `mf` binary in release and returns its path, or returns `given` unchanged when set.
fn mf_binary(root: &Path, given: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        if !p.is_file() {
            bail!("{} is not a file", p.display());
        }
        return Ok(p.to_path_buf());
    }
    release_binary(root, "mf-tui", "mf")
}

/// Builds binary `bin` of package `package` in release and returns its path.
fn release_binary(root: &Path, package: &str, bin: &str) -> Result<PathBuf> {
    run(
        root,
        "cargo",
        &["build", "--release", "--package", package, "--bin", bin],
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    let exe = target
        .join("release")
        .join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    if !exe.is_file() {
        bail!("the build succeeded but {} is missing", exe.display());
    }
    Ok(exe)
}

/// The data directory: the flag, else `MF_DATA_DIR` (as `mf` resolves it), else none.
fn data_dir(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("MF_DATA_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Whether `<dir>/<name>/<name>_<split>.{ts,tsv,arff}` exists.
fn has_split(dir: &Path, name: &str, split: &str) -> bool {
    ["ts", "tsv", "arff"].iter().any(|ext| {
        dir.join(name)
            .join(format!("{name}_{split}.{ext}"))
            .is_file()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_logged_with_the_variables_they_set() {
        let mut cmd = Command::new("mf");
        cmd.args(["run", "--json"]).env("RAYON_NUM_THREADS", "2");
        assert_eq!(describe(&cmd), "RAYON_NUM_THREADS=2 mf run --json");
    }

    #[test]
    fn the_command_line_parses_every_task() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        for line in [
            "cargo-xtask bench --threads 1 --skip-python --out x.md",
            "cargo-xtask bench-kernels --json --threads 2 --repeats 3 --skip-job",
            "cargo-xtask reproduce --quick --models mf-esn,esn --data-dir d",
            "cargo-xtask fig6 --out-dir figs",
            "cargo-xtask ci",
        ] {
            Cli::try_parse_from(line.split(' ')).unwrap();
        }
    }

    #[test]
    fn split_files_are_found_in_any_supported_format() {
        let dir = std::env::temp_dir().join(format!("xtask-split-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("Coffee")).unwrap();
        std::fs::write(dir.join("Coffee").join("Coffee_TRAIN.tsv"), "1\t2\n").unwrap();
        assert!(has_split(&dir, "Coffee", "TRAIN"));
        assert!(!has_split(&dir, "Coffee", "TEST"));
        assert!(!has_split(&dir, "Wafer", "TRAIN"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
