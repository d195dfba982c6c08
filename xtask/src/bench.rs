//! `cargo xtask bench`: the Rust kernels against Python peers on the same problems and thread count.
//!
//! Rust side: `xtask bench-kernels --json` from a release build of xtask (in-process timings of harvesting, GEMM
//! and an MF-RNN epoch; xtask/src/kernels.rs) and `mf run` on
//! ECG5000 (the whole MF-ESN job as a user runs it). Python side: `xtask/bench/peers.py` in a virtual environment
//! at `.venv-bench` with numpy, reservoirpy, PyTorch and JAX (`jax[cpu]`), created on first use. Both sides get the
//! same thread count through the environment; JAX, whose XLA runtime sizes its thread pool by the CPU affinity,
//! runs in a process of its own under `taskset` on as many cores. The report states each speed-up against its
//! target.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{data_dir, describe, has_split, mf_binary, output, release_binary};

/// Variables that fix the thread count of rayon (and candle), OpenMP, OpenBLAS, MKL, BLIS and Accelerate.
pub(crate) const THREAD_VARS: [&str; 6] = [
    "RAYON_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
];

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Threads given to both sides (RAYON_NUM_THREADS, OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Directory holding ECG5000/ECG5000_{TRAIN,TEST}.tsv for the whole-job comparison. Default: $MF_DATA_DIR;
    /// without one the comparison is skipped.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Time the Rust side only (no virtual environment is created).
    #[arg(long)]
    skip_python: bool,
    /// Leave PyTorch out (neither installed nor timed).
    #[arg(long)]
    skip_torch: bool,
    /// Leave JAX out (neither installed nor timed).
    #[arg(long)]
    skip_jax: bool,
    /// Markdown report; the raw measurements of both sides are written beside it with a .json extension.
    #[arg(long, default_value = "results/bench.md", value_name = "FILE")]
    out: PathBuf,
    /// Timed runs per measurement, the fastest reported (3 at most for whole epochs and jobs).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Use this `mf` executable instead of building one in release.
    #[arg(long, value_name = "PATH")]
    mf: Option<PathBuf>,
    /// Seconds `pip install torch` may take before the PyTorch comparison is skipped.
    #[arg(long, default_value_t = 1800, value_name = "SECS")]
    torch_install_timeout: u64,
    /// Seconds `pip install jax[cpu]` may take before the JAX comparisons are skipped.
    #[arg(long, default_value_t = 900, value_name = "SECS")]
    jax_install_timeout: u64,
}

/// The keys of the JAX measurements in peers.py's JSON.
const JAX_KEYS: [&str; 3] = ["jax_mf_harvest", "jax_esn_harvest", "jax_mf_rnn_epoch"];

pub fn bench(root: &Path, args: &BenchArgs) -> Result<()> {
    if args.threads == 0 || args.repeats == 0 {
        bail!("--threads and --repeats must be at least 1");
    }
    // Read before anything of ours runs: other work on the machine makes every number noisy.
    let load_before = busy_cores(Duration::from_secs(2));
    let ecg = data_dir(args.data_dir.as_deref());
    let ecg = match ecg {
        Some(d) if has_split(&d, "ECG5000", "TRAIN") && has_split(&d, "ECG5000", "TEST") => Ok(d),
        Some(d) => Err(format!(
            "no ECG5000 train and test files in {}",
            d.display()
        )),
        None => Err("no data directory (--data-dir or MF_DATA_DIR)".to_string()),
    };
    let mf = mf_binary(root, args.mf.as_deref())?;
    let threads = args.threads.to_string();
    let pin = |cmd: &mut Command| {
        for var in THREAD_VARS {
            cmd.env(var, &threads);
        }
    };

    // The kernels are timed in a release build, like `mf` itself: the harness's own loops run optimised too.
    let kernels = release_binary(root, "xtask", "xtask")?;
    let mut cmd = Command::new(&kernels);
    cmd.args(["bench-kernels", "--json", "--threads", &threads])
        .args(["--repeats", &args.repeats.to_string()]);
    match &ecg {
        Ok(d) => cmd.arg("--data-dir").arg(d),
        Err(_) => cmd.arg("--skip-job"),
    };
    pin(&mut cmd);
    let text = output(&mut cmd)
        .context("the Rust measurements come from `xtask bench-kernels` (xtask/src/kernels.rs)")?;
    let rust: Value =
        serde_json::from_str(&text).context("`xtask bench-kernels --json` did not print JSON")?;

    let job = match &ecg {
        Ok(d) => mf_run_job(&mf, d, args.repeats.min(3), &pin, &rust),
        Err(why) => Err(why.clone()),
    };

    let python = if args.skip_python {
        Err("--skip-python given".to_string())
    } else {
        run_peers(root, args, ecg.as_ref().ok(), &pin).map_err(|e| format!("{e:#}"))
    };

    let report = Report {
        load: load_before,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        threads: args.threads,
        repeats: args.repeats,
        rust: &rust,
        job: &job,
        python: &python,
    }
    .markdown();
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
    }
    std::fs::write(&args.out, &report)
        .with_context(|| format!("could not write {}", args.out.display()))?;
    let raw = serde_json::json!({
        "threads": args.threads,
        "rust": rust,
        "rust_ecg5000_job": job.as_ref().map(|j| serde_json::json!({
            "seconds": j.seconds, "accuracy": j.accuracy, "source": j.source,
        })).unwrap_or_else(|e| serde_json::json!({"skipped": e})),
        "python": python.as_ref().cloned().unwrap_or_else(|e| serde_json::json!({"skipped": e})),
    });
    let raw_path = args.out.with_extension("json");
    std::fs::write(&raw_path, serde_json::to_string_pretty(&raw)? + "\n")
        .with_context(|| format!("could not write {}", raw_path.display()))?;
    println!("{report}");
    eprintln!("wrote {} and {}", args.out.display(), raw_path.display());
    Ok(())
}

/// The Rust side of the whole ECG5000 job.
#[derive(Debug, Clone, PartialEq)]
struct Job {
    /// Best wall time, seconds.
    seconds: f64,
    /// Test accuracy (one trial).
    accuracy: f64,
    /// How it was measured.
    source: String,
}

/// Times `mf run --model mf-esn --dataset ECG5000 --preset paper --trials 1` (the `wall_s` it reports: loading,
/// parsing, fitting and scoring in-process), best of `repeats` runs after a warm-up. When `mf run` is not
/// usable, falls back to the same job timed inside `bench-kernels`.
fn mf_run_job(
    mf: &Path,
    dir: &Path,
    repeats: usize,
    pin: &dyn Fn(&mut Command),
    rust: &Value,
) -> Result<Job, String> {
    let once = || -> Result<(f64, f64)> {
        let mut cmd = Command::new(mf);
        cmd.args(["run", "--model", "mf-esn", "--dataset", "ECG5000"])
            .args(["--preset", "paper", "--trials", "1", "--json", "--data-dir"])
            .arg(dir);
        pin(&mut cmd);
        let v: Value = serde_json::from_str(&output(&mut cmd)?)
            .context("`mf run --json` did not print JSON")?;
        let wall = get(&v, "/wall_s").context("`mf run --json` has no wall_s")?;
        Ok((wall, get(&v, "/mean").unwrap_or(f64::NAN)))
    };
    let timed = once().and_then(|_| (0..repeats).map(|_| once()).collect::<Result<Vec<_>>>());
    match timed {
        Ok(runs) => {
            let (seconds, accuracy) =
                runs.into_iter().fold(
                    (f64::INFINITY, f64::NAN),
                    |b, r| if r.0 < b.0 { r } else { b },
                );
            Ok(Job {
                seconds,
                accuracy,
                source: format!("`mf run` wall_s, best of {repeats}"),
            })
        }
        Err(e) => match (
            get(rust, "/ecg5000_job/timing/best_s"),
            get(rust, "/ecg5000_job/accuracy"),
        ) {
            (Some(seconds), Some(accuracy)) => Ok(Job {
                seconds,
                accuracy,
                source: format!("in `bench-kernels` (`mf run` failed: {e:#})"),
            }),
            _ => Err(format!(
                "`mf run` failed ({e:#}) and `bench-kernels` has no ECG5000 job"
            )),
        },
    }
}

/// Creates or reuses `.venv-bench`, then runs `peers.py` in it and returns its JSON: numpy, reservoirpy and
/// PyTorch in one process, JAX in a second one pinned to `args.threads` cores, its keys merged in.
fn run_peers(
    root: &Path,
    args: &BenchArgs,
    ecg: Option<&PathBuf>,
    pin: &dyn Fn(&mut Command),
) -> Result<Value> {
    let venv = root.join(".venv-bench");
    let py = venv.join("bin").join("python");
    if !py.is_file() {
        crate::run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv)).context(
            "could not create the virtual environment (is python3 with venv installed?)",
        )?;
    }
    let pip = |pkg: &str, timeout: Duration| -> Result<()> {
        let mut cmd = Command::new(&py);
        cmd.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            pkg,
        ]);
        run_with_timeout(&mut cmd, timeout)
    };
    let hour = Duration::from_secs(3600);
    if !imports(&py, "numpy") {
        pip("numpy", hour).context("numpy is needed for every peer")?;
    }
    let mut peers = Command::new(&py);
    peers
        .arg(root.join("xtask").join("bench").join("peers.py"))
        .args(["--threads", &args.threads.to_string()])
        .args(["--repeats", &args.repeats.to_string()]);
    if !imports(&py, "reservoirpy") {
        if let Err(e) = pip("reservoirpy>=0.4,<0.5", hour) {
            peers.args(["--skip-reservoirpy", &format!("install failed: {e:#}")]);
        }
    }
    if args.skip_torch {
        peers.args(["--skip-torch", "--skip-torch given"]);
    } else if !imports(&py, "torch") {
        if let Err(e) = pip("torch", Duration::from_secs(args.torch_install_timeout)) {
            peers.args(["--skip-torch", &format!("pip install torch failed: {e:#}")]);
        }
    }
    let jax_skipped = if args.skip_jax {
        Some("--skip-jax given".to_string())
    } else if !imports(&py, "jax") {
        pip("jax[cpu]", Duration::from_secs(args.jax_install_timeout))
            .err()
            .map(|e| format!("pip install jax[cpu] failed: {e:#}"))
    } else {
        None
    };
    peers.args([
        "--skip-jax",
        jax_skipped
            .as_deref()
            .unwrap_or("measured in a process of its own"),
    ]);
    if let Some(d) = ecg {
        peers.arg("--data-dir").arg(d);
    }
    pin(&mut peers);
    let mut out: Value =
        serde_json::from_str(&output(&mut peers)?).context("peers.py did not print JSON")?;
    if jax_skipped.is_none() {
        let jax = run_jax_peers(root, &py, args);
        merge_jax(
            &mut out,
            jax.map_err(|e| format!("the JAX process failed: {e:#}")),
        );
    }
    Ok(out)
}

/// Runs `peers.py --only-jax` under `taskset` on the first `args.threads` cores this process may use (XLA sizes
/// its thread pool by the affinity; peers.py sets XLA_FLAGS itself), and returns its JSON.
fn run_jax_peers(root: &Path, py: &Path, args: &BenchArgs) -> Result<Value> {
    let script = root.join("xtask").join("bench").join("peers.py");
    // Without taskset, peers.py restricts its own affinity the same way.
    let mut cmd = pinned(py, args.threads);
    cmd.arg(script)
        .arg("--only-jax")
        .args(["--threads", &args.threads.to_string()])
        .args(["--repeats", &args.repeats.to_string()]);
    serde_json::from_str(&output(&mut cmd)?).context("peers.py --only-jax did not print JSON")
}

/// Puts the JAX process's measurements (or why there are none) into the other peers' JSON.
fn merge_jax(out: &mut Value, jax: Result<Value, String>) {
    let Some(map) = out.as_object_mut() else {
        return;
    };
    match jax {
        Ok(v) => {
            for key in JAX_KEYS.iter().copied().chain(["jax"]) {
                if let Some(x) = v.get(key) {
                    map.insert(key.to_string(), x.clone());
                }
            }
        }
        Err(why) => {
            for key in JAX_KEYS {
                map.insert(key.to_string(), serde_json::json!({ "skipped": why }));
            }
        }
    }
}

/// `program` to run on the first `threads` cores this process may use (under `taskset`, when it is installed)
/// with every thread-count variable at `threads`.
pub(crate) fn pinned(program: &Path, threads: usize) -> Command {
    let cores = allowed_cores().map(|c| cpu_list(&c[..threads.min(c.len())]));
    let has_taskset = Command::new("taskset")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let mut cmd = match &cores {
        Some(list) if has_taskset => {
            let mut c = Command::new("taskset");
            c.args(["-c", list]).arg(program);
            c
        }
        _ => Command::new(program),
    };
    for var in THREAD_VARS {
        cmd.env(var, threads.to_string());
    }
    cmd
}

/// The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status), in order; none where the system
/// does not say.
pub(crate) fn allowed_cores() -> Option<Vec<usize>> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
    parse_cpu_list(list.trim()).filter(|c| !c.is_empty())
}

/// `0-2,5` as `[0, 1, 2, 5]`.
fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cores = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cores.extend(a.trim().parse::<usize>().ok()?..=b.trim().parse().ok()?),
            None => cores.push(part.trim().parse().ok()?),
        }
    }
    Some(cores)
}

/// `[0, 1]` as `0,1`, taskset's list form.
pub(crate) fn cpu_list(cores: &[usize]) -> String {
    cores
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `python -c "import <module>"` succeeds.
fn imports(py: &Path, module: &str) -> bool {
    Command::new(py)
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd`, logging it first; kills it and fails once `timeout` has passed.
fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<()> {
    let shown = describe(cmd);
    eprintln!("$ {shown}");
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("`{shown}` failed with {status}");
            }
            return Ok(());
        }
        if start.elapsed() > timeout {
            child.kill().ok();
            child.wait().ok();
            bail!("`{shown}` took longer than {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The number at a JSON pointer (`"/a/b/c"`) into a value.
fn get(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

/// A duration for people: microseconds, milliseconds or seconds.
fn secs(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// What the report is made of: both sides' raw measurements and the whole-job timing.
struct Report<'a> {
    /// Cores other work kept busy just before the measurements started, where the system reports it.
    load: Option<f64>,
    /// Logical cores of the machine.
    cores: usize,
    threads: usize,
    repeats: usize,
    rust: &'a Value,
    job: &'a Result<Job, String>,
    python: &'a Result<Value, String>,
}

/// One comparison row: Rust time, peer time and the target on the speed-up, if any.
struct Row {
    what: String,
    rust: Option<(f64, String)>,
    peer: Result<(f64, String), String>,
    target: Option<f64>,
}

impl Row {
    fn cells(&self) -> String {
        let rust = self
            .rust
            .as_ref()
            .map_or("-".into(), |(t, how)| format!("{} ({how})", secs(*t)));
        let (peer, speedup, verdict) = match (&self.peer, &self.rust) {
            (Ok((p, how)), Some((r, _))) => {
                let x = p / r;
                let verdict = match self.target {
                    Some(t) if x >= t => "**met**".to_string(),
                    Some(_) => "not met".to_string(),
                    None => "-".to_string(),
                };
                // One decimal, or two where one would round across the target and contradict the verdict.
                let shown = match self.target {
                    Some(t) if (format!("{x:.1}").parse::<f64>().unwrap_or(x) >= t) != (x >= t) => {
                        format!("{x:.2}x")
                    }
                    _ => format!("{x:.1}x"),
                };
                (format!("{} ({how})", secs(*p)), shown, verdict)
            }
            (Ok((p, how)), None) => (format!("{} ({how})", secs(*p)), "-".into(), "-".into()),
            (Err(why), _) => (format!("skipped: {why}"), "-".into(), "-".into()),
        };
        let target = self.target.map_or("-".into(), |t| format!("≥ {t}x"));
        format!(
            "| {} | {rust} | {peer} | {speedup} | {target} | {verdict} |",
            self.what
        )
    }
}

impl Report<'_> {
    /// The peers' number at `pointer`, or why it is missing: the reason peers.py gave for skipping the peer
    /// (the pointer's first key), else that it reported no such number.
    fn py(&self, pointer: &str) -> Result<f64, String> {
        let v = self.python.as_ref().map_err(Clone::clone)?;
        let peer = pointer.split('/').nth(1).unwrap_or_default();
        if let Some(why) = v
            .pointer(&format!("/{peer}/skipped"))
            .and_then(Value::as_str)
        {
            return Err(why.to_string());
        }
        get(v, pointer).ok_or_else(|| format!("peers.py reported no {pointer}"))
    }

    /// The Rust side's number at `pointer`.
    fn rs(&self, pointer: &str) -> Option<f64> {
        get(self.rust, pointer)
    }

    fn markdown(&self) -> String {
        let mut s = String::new();
        let n = self.threads;
        let nt = threads(n);
        let _ = writeln!(s, "# Speed of the Rust kernels against Python peers\n");
        let py_versions = match self.python {
            Ok(v) => {
                let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
                let sub = |k: &str| {
                    v.get(k)
                        .and_then(|x| x.get("version"))
                        .and_then(Value::as_str)
                        .unwrap_or("not run")
                        .to_string()
                };
                format!(
                    "Python {}, numpy {} ({}), reservoirpy {}, torch {}, jax {}",
                    field("python"),
                    field("numpy"),
                    field("blas"),
                    sub("reservoirpy_esn_harvest"),
                    sub("torch_mf_rnn_epoch"),
                    sub("jax")
                )
            }
            Err(why) => format!("Python peers not run: {why}"),
        };
        let _ = writeln!(
            s,
            "Measured by `cargo xtask bench` on {} ({} logical cores), commit {}. Both sides ran with {nt} \
             (RAYON_NUM_THREADS, OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads{}); every time is the best of \
             {} runs after an untimed warm-up (3 runs at most for epochs and whole jobs; JAX compiles in the \
             warm-up, so no time below includes compilation). {py_versions}.\n",
            cpu_model(),
            std::thread::available_parallelism().map_or(0, usize::from),
            commit(),
            self.jax_pinning(),
            self.repeats
        );

        let cores = self.cores;
        match self.load {
            Some(b) if b + n as f64 > cores as f64 + 0.25 => {
                let _ = writeln!(
                    s,
                    "**The machine was busy:** other work kept {b:.1} of its {cores} cores busy just before the \
                     measurements started, so with {nt} they shared cores: every time below is pessimistic and \
                     noisy.\n"
                );
            }
            Some(b) if b >= 0.25 => {
                let _ = writeln!(
                    s,
                    "Other work kept {b:.1} of the {cores} cores busy beside the measurements, on cores they did \
                     not use: it shared caches and memory bandwidth only.\n"
                );
            }
            Some(_) => {
                let _ = writeln!(s, "The machine was otherwise idle.\n");
            }
            None => {}
        }
        let _ = writeln!(s, "## Targets\n");
        let _ = writeln!(
            s,
            "| comparison | Rust | Python peer | speed-up | target | |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        let job = Row {
            what: "whole ECG5000 MF-ESN job: parse both splits, harvest 5000 series, ridge, score"
                .into(),
            rust: self
                .job
                .as_ref()
                .ok()
                .map(|j| (j.seconds, j.source.clone())),
            peer: self
                .py("/numpy_ecg5000_job/timing/best_s")
                .map(|t| (t, "numpy".into())),
            target: Some(2.5),
        };
        let _ = writeln!(s, "{}", job.cells());
        let rpy_workers = self
            .py("/reservoirpy_esn_harvest/best_workers")
            .map_or(String::new(), |w| format!(", {w} worker(s)"));
        let esn = Row {
            what: "leaky-ESN harvest, 500 x 140, N 100, alpha 0.3".into(),
            rust: self
                .rs("/esn_harvest_parallel/timing/best_s")
                .map(|t| (t, nt.clone())),
            peer: self
                .py("/reservoirpy_esn_harvest/timing/best_s")
                .map(|t| (t, format!("reservoirpy{rpy_workers}"))),
            target: Some(20.0),
        };
        let _ = writeln!(s, "{}", esn.cells());
        let esn_jax = Row {
            what: "leaky-ESN harvest, 500 x 140, N 100, alpha 0.3, vs JAX".into(),
            rust: esn.rust.clone(),
            peer: self
                .py("/jax_esn_harvest/timing/best_s")
                .map(|t| (t, format!("JAX jit + lax.scan, f32, {nt}"))),
            // XLA runs this step (one GEMM and a tanh) near its GEMM peak: level is the goal.
            target: Some(1.0),
        };
        let _ = writeln!(s, "{}", esn_jax.cells());
        let rnn = Row {
            what: "MF-RNN training epoch, 500 x 140, N 100, batch 64, 5 classes".into(),
            rust: self
                .rs("/rnn_epoch/timing/best_s")
                .map(|t| (t, format!("candle, {nt}"))),
            peer: self
                .py("/torch_mf_rnn_epoch/timing/best_s")
                .map(|t| (t, format!("PyTorch, {nt}"))),
            target: Some(3.0),
        };
        let _ = writeln!(s, "{}", rnn.cells());
        let rnn_jax = Row {
            what: "MF-RNN training epoch, 500 x 140, N 100, batch 64, 5 classes, vs JAX".into(),
            rust: rnn.rust.clone(),
            peer: self
                .py("/jax_mf_rnn_epoch/timing/best_s")
                .map(|t| (t, format!("JAX jit, lax.scan + grad + Adam, {nt}"))),
            target: Some(1.5),
        };
        let _ = writeln!(s, "{}", rnn_jax.cells());

        let _ = writeln!(s, "\n## Kernels\n");
        let _ = writeln!(
            s,
            "| measurement | Rust | Python peer | speed-up | target | |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        let harvest = |k: usize, pointer: &str, jax: bool| Row {
            what: format!(
                "MF-ESN harvest, 4500 x 140, N 100 (Rust on {}){}",
                threads(k),
                if jax { ", vs JAX" } else { "" }
            ),
            rust: self.rs(pointer).map(|t| (t, threads(k))),
            peer: if jax {
                self.py("/jax_mf_harvest/timing/best_s")
                    .map(|t| (t, format!("JAX jit + lax.scan, f32, {nt}")))
            } else {
                self.py("/numpy_mf_harvest/timing/best_s")
                    .map(|t| (t, format!("numpy f32, {nt}")))
            },
            // Against JAX on as many threads as Rust's.
            target: (jax && k == n).then_some(1.5),
        };
        for jax in [false, true] {
            let _ = writeln!(
                s,
                "{}",
                harvest(1, "/mf_harvest/timing/best_s", jax).cells()
            );
            if n > 1 {
                let _ = writeln!(
                    s,
                    "{}",
                    harvest(n, "/mf_harvest_parallel/timing/best_s", jax).cells()
                );
            }
        }
        let gemm = Row {
            what: "f32 GEMM (4500, 100) @ (100, 100)".into(),
            rust: self
                .rs("/gemm/timing/best_s")
                .map(|t| (t, "faer, 1 thread".into())),
            peer: self
                .py("/numpy_gemm/timing/best_s")
                .map(|t| (t, format!("numpy, {nt}"))),
            target: None,
        };
        let _ = writeln!(s, "{}", gemm.cells());
        let g = self.rs("/gemm_peak/m").unwrap_or(0.0);
        let peak = Row {
            what: format!("f32 GEMM {g}^3"),
            rust: self
                .rs("/gemm_peak/timing/best_s")
                .map(|t| (t, format!("faer, {nt}"))),
            peer: self
                .py("/numpy_gemm_peak/timing/best_s")
                .map(|t| (t, format!("numpy, {nt}"))),
            target: None,
        };
        let _ = writeln!(s, "{}", peak.cells());

        let _ = writeln!(s, "\n## Harvesting against its GEMM bound\n");
        let _ = writeln!(
            s,
            "Harvesting n series of T steps costs 2 n N N T + 2 n d N T flops, mostly one (n, N) @ (N, N) product per \
             step; its rate as a fraction of the rate of that product alone shows how much the element-wise MF \
             update and the step loop cost.\n"
        );
        let _ = writeln!(s, "| | harvest GFLOP/s | GEMM GFLOP/s | fraction |");
        let _ = writeln!(s, "|---|---|---|---|");
        let frac = |h: Option<f64>, g: Option<f64>| match (h, g) {
            (Some(h), Some(g)) => format!("{h:.1} | {g:.1} | {:.0}%", 100.0 * h / g),
            _ => "- | - | -".into(),
        };
        let _ = writeln!(
            s,
            "| Rust, 1 thread, vs faer sequential (4500, 100) @ (100, 100) | {} |",
            frac(self.rs("/mf_harvest/gflop_s"), self.rs("/gemm/gflop_s"))
        );
        let _ = writeln!(
            s,
            "| Rust, {nt}, vs faer {g}^3 on {nt} (peak) | {} |",
            frac(
                self.rs("/mf_harvest_parallel/gflop_s"),
                self.rs("/gemm_peak/gflop_s")
            )
        );
        let _ = writeln!(
            s,
            "| numpy, {nt}, vs numpy (4500, 100) @ (100, 100) | {} |",
            frac(
                self.py("/numpy_mf_harvest/gflop_s").ok(),
                self.py("/numpy_gemm/gflop_s").ok()
            )
        );

        let _ = writeln!(s, "\n## Against the machine's GEMM peak\n");
        let _ = writeln!(
            s,
            "Each kernel's rate, both sides counted with the same flops (a harvest's `2 n N N T + 2 n d N T`; an \
             epoch's recurrence `6 n T N (N + d + 1)`, forward product and the three gradients of \
             back-propagation through time), as a fraction of faer's {g}^3 GEMM on {nt} ({peak}); Rust's \
             element-wise kernels ran on the {simd} path.\n",
            g = self.rs("/gemm_peak/m").unwrap_or(0.0),
            peak = self
                .rs("/gemm_peak/gflop_s")
                .map_or("not measured".to_string(), |g| format!("{g:.1} GFLOP/s")),
            simd = self.rust.pointer("/simd").and_then(Value::as_str).unwrap_or("unreported"),
        );
        let _ = writeln!(
            s,
            "| kernel | Rust GFLOP/s | of peak | JAX GFLOP/s | of peak |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|");
        let peak = self.rs("/gemm_peak/gflop_s");
        let rate = |flops: Option<f64>, secs: Option<f64>| match (flops, secs, peak) {
            (Some(f), Some(t), Some(p)) if t > 0.0 && p > 0.0 => {
                let g = f / t / 1e9;
                format!("{g:.1} | {:.0}%", 100.0 * g / p)
            }
            _ => "- | -".into(),
        };
        let epoch_flops = self.rs("/rnn_epoch/flops");
        for (what, flops, rust, jax) in [
            (
                "MF-ESN harvest, 4500 x 140, N 100",
                self.rs("/mf_harvest_parallel/flops"),
                self.rs("/mf_harvest_parallel/timing/best_s"),
                self.py("/jax_mf_harvest/timing/best_s").ok(),
            ),
            (
                "leaky-ESN harvest, 500 x 140, N 100",
                self.rs("/esn_harvest_parallel/flops"),
                self.rs("/esn_harvest_parallel/timing/best_s"),
                self.py("/jax_esn_harvest/timing/best_s").ok(),
            ),
            (
                "MF-RNN training epoch, 500 x 140, N 100, batch 64",
                epoch_flops,
                self.rs("/rnn_epoch/timing/best_s"),
                self.py("/jax_mf_rnn_epoch/timing/best_s").ok(),
            ),
        ] {
            let _ = writeln!(
                s,
                "| {what}, {nt} | {} | {} |",
                rate(flops, rust),
                rate(flops, jax)
            );
        }

        let _ = writeln!(s, "\n## Notes\n");
        if let Ok(j) = self.job {
            let numpy_acc = self.py("/numpy_ecg5000_job/accuracy");
            let _ = writeln!(
                s,
                "- ECG5000 test accuracy of the timed single trials (different random reservoirs): Rust {:.3}, numpy \
                 {}.",
                j.accuracy,
                numpy_acc.map_or_else(|e| format!("not run ({e})"), |a| format!("{a:.3}"))
            );
        }
        if let Err(why) = self.job {
            let _ = writeln!(s, "- Whole-job comparison skipped: {why}.");
        }
        if let (Some(t), Some(one)) = (
            self.rs("/rnn_epoch/timing/best_s"),
            self.rs("/rnn_epoch_one_thread/timing/best_s"),
        ) {
            let _ = writeln!(
                s,
                "- MF-RNN epoch in Rust: {} on {nt}, {} on 1 thread; the table compares both sides at the same \
                 thread count. A batch's recurrence is one operation whose rows are split in chunks of 32 across \
                 threads.",
                secs(t),
                secs(one)
            );
        }
        if let Ok(d) = self.py("/reservoirpy_esn_harvest/max_abs_diff_vs_numpy") {
            let _ = writeln!(
                s,
                "- reservoirpy's last states agree with a plain numpy run of the same leaky-ESN equation to {d:.1e}."
            );
        }
        for (key, what) in [
            ("jax_mf_harvest", "MF-ESN"),
            ("jax_esn_harvest", "leaky-ESN"),
        ] {
            if let (Ok(d32), Ok(d64), Ok(own)) = (
                self.py(&format!("/{key}/max_abs_diff_vs_numpy_f32")),
                self.py(&format!("/{key}/max_abs_diff_vs_numpy_f64")),
                self.py(&format!("/{key}/numpy_f32_max_abs_diff_vs_f64")),
            ) {
                let _ = writeln!(
                    s,
                    "- JAX's {what} last states (f32, same series and weights as numpy) agree with numpy's f32 run \
                     to {d32:.1e} and with an f64 run to {d64:.1e} (numpy f32 against f64: {own:.1e})."
                );
            }
        }
        if let (Ok(first), Ok(dl), Ok(dw)) = (
            self.py("/jax_mf_rnn_epoch/first_epoch_s"),
            self.py("/jax_mf_rnn_epoch/vs_torch_same_start/max_abs_loss_diff"),
            self.py("/jax_mf_rnn_epoch/vs_torch_same_start/max_abs_weight_diff"),
        ) {
            let _ = writeln!(
                s,
                "- JAX MF-RNN epoch: one jitted step per mini-batch (forward by `lax.scan`, `jax.value_and_grad`, \
                 PyTorch's Adam update in jnp); the first epoch, which compiles, took {} and is not timed. From \
                 the same initial weights and batch order its batch losses agree with PyTorch's to {dl:.1e}, its \
                 final weights to {dw:.1e}.",
                secs(first)
            );
        }
        s
    }

    /// How JAX was held to the thread count, from what peers.py reported; empty without JAX.
    fn jax_pinning(&self) -> String {
        let Ok(v) = self.python else {
            return String::new();
        };
        let Some(jax) = v.get("jax") else {
            return String::new();
        };
        let cores = jax
            .get("cores")
            .and_then(Value::as_array)
            .map(|c| {
                let list = c.iter().map(|x| x.to_string()).collect::<Vec<_>>();
                let word = if list.len() == 1 { "core" } else { "cores" };
                format!("{word} {}", list.join(","))
            })
            .unwrap_or_else(|| "cores ?".into());
        let flags = jax
            .get("xla_flags")
            .and_then(Value::as_str)
            .filter(|f| !f.is_empty())
            .map_or("XLA_FLAGS unset".into(), |f| format!("XLA_FLAGS=\"{f}\""));
        format!("; JAX in its own process on {cores}, {flags}")
    }
}

/// `1 thread`, `2 threads`.
fn threads(n: usize) -> String {
    if n == 1 {
        "1 thread".into()
    } else {
        format!("{n} threads")
    }
}

/// How many cores were busy over `window`, from /proc/stat where there is one.
fn busy_cores(window: Duration) -> Option<f64> {
    // The first line sums every core: user nice system idle iowait irq softirq steal ...
    let sample = || -> Option<(u64, u64)> {
        let text = std::fs::read_to_string("/proc/stat").ok()?;
        let v: Vec<u64> = text
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        (v.len() == 8).then(|| (v.iter().sum(), v[3] + v[4]))
    };
    let (total0, idle0) = sample()?;
    std::thread::sleep(window);
    let (total1, idle1) = sample()?;
    let total = total1.checked_sub(total0).filter(|&t| t > 0)? as f64;
    let idle = idle1.saturating_sub(idle0) as f64;
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    Some(((total - idle) / total * cores).max(0.0))
}

/// The processor's model name, from /proc/cpuinfo where there is one.
pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown processor".into())
}

/// The short hash of HEAD, marked when the working tree has changes.
pub(crate) fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(h) if git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty()) => {
            format!("{h} (with uncommitted changes)")
        }
        Some(h) => h,
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_pointers_reach_nested_numbers() {
        let v = serde_json::json!({"a": {"b": {"c": 2.5}}, "n": 3});
        assert_eq!(get(&v, "/a/b/c"), Some(2.5));
        assert_eq!(get(&v, "/n"), Some(3.0));
        assert_eq!(get(&v, "/a/x"), None);
        assert_eq!(get(&v, "/a"), None);
    }

    #[test]
    fn busy_cores_lie_between_none_and_all() {
        if let Some(b) = busy_cores(Duration::from_millis(50)) {
            let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
            assert!((0.0..=cores + 1e-9).contains(&b), "{b}");
        }
    }

    #[test]
    fn durations_read_in_the_right_unit() {
        assert_eq!(secs(2.5e-5), "25.0 µs");
        assert_eq!(secs(0.0123), "12.3 ms");
        assert_eq!(secs(3.456), "3.46 s");
    }

    #[test]
    fn rows_state_the_speed_up_and_whether_the_target_is_met() {
        let row = |rust: f64, peer: f64| Row {
            what: "x".into(),
            rust: Some((rust, "r".into())),
            peer: Ok((peer, "p".into())),
            target: Some(2.5),
        };
        assert_eq!(
            row(0.1, 0.3).cells(),
            "| x | 100.0 ms (r) | 300.0 ms (p) | 3.0x | ≥ 2.5x | **met** |"
        );
        assert!(row(0.1, 0.2)
            .cells()
            .ends_with("| 2.0x | ≥ 2.5x | not met |"));
        let skipped = Row {
            peer: Err("no torch".into()),
            ..row(0.1, 0.2)
        };
        assert!(skipped.cells().contains("skipped: no torch | - |"));
        // 0.97 would print as 1.0x beside a verdict of "not met" against a 1x goal: two decimals then.
        let level = |rust: f64, peer: f64| Row {
            target: Some(1.0),
            ..row(rust, peer)
        };
        assert!(level(0.1, 0.097)
            .cells()
            .ends_with("| 0.97x | ≥ 1x | not met |"));
        assert!(level(0.1, 0.103)
            .cells()
            .ends_with("| 1.0x | ≥ 1x | **met** |"));
        assert!(level(0.1, 0.2)
            .cells()
            .ends_with("| 2.0x | ≥ 1x | **met** |"));
    }

    #[test]
    fn the_report_covers_every_comparison_and_says_what_was_skipped() {
        let rust = serde_json::json!({
            "mf_harvest": {"timing": {"best_s": 0.4}, "gflop_s": 20.0},
            "simd": "Avx2",
            "mf_harvest_parallel": {"timing": {"best_s": 0.2}, "gflop_s": 40.0, "flops": 8e9},
            "esn_harvest_parallel": {"timing": {"best_s": 0.01}, "flops": 0.4e9},
            "gemm": {"timing": {"best_s": 0.001}, "gflop_s": 80.0},
            "gemm_peak": {"m": 2048, "timing": {"best_s": 0.1}, "gflop_s": 160.0},
            "rnn_epoch": {"timing": {"best_s": 0.5}, "flops": 40e9},
            "rnn_epoch_one_thread": {"timing": {"best_s": 0.3}},
        });
        let python = Ok(serde_json::json!({
            "python": "3.11", "numpy": "2.0", "blas": "openblas",
            "numpy_mf_harvest": {"timing": {"best_s": 1.0}, "gflop_s": 8.0},
            "numpy_gemm": {"timing": {"best_s": 0.002}, "gflop_s": 40.0},
            "numpy_gemm_peak": {"timing": {"best_s": 0.1}},
            "numpy_ecg5000_job": {"timing": {"best_s": 1.5}, "accuracy": 0.93},
            "reservoirpy_esn_harvest": {"version": "0.4.2", "best_workers": 1, "timing": {"best_s": 1.0}},
            "torch_mf_rnn_epoch": {"skipped": "torch is not installed"},
            "jax": {"version": "0.10.2", "cores": [0, 1], "xla_flags": ""},
            "jax_mf_harvest": {"timing": {"best_s": 0.8}, "max_abs_diff_vs_numpy_f32": 3e-7,
                "max_abs_diff_vs_numpy_f64": 3.3e-7, "numpy_f32_max_abs_diff_vs_f64": 3.3e-7},
            "jax_esn_harvest": {"timing": {"best_s": 0.05}},
            "jax_mf_rnn_epoch": {"skipped": "the JAX process failed: boom"},
        }));
        let job = Ok(Job {
            seconds: 0.5,
            accuracy: 0.92,
            source: "mf run".into(),
        });
        let md = Report {
            load: Some(1.0),
            cores: 2,
            threads: 2,
            repeats: 5,
            rust: &rust,
            job: &job,
            python: &python,
        }
        .markdown();
        assert!(md.contains("| 3.0x | ≥ 2.5x | **met** |"), "{md}");
        assert!(md.contains("| 100.0x | ≥ 20x | **met** |"), "{md}");
        assert!(md.contains("skipped: torch is not installed"), "{md}");
        // The harvest rows find their Rust times through the pointers the closure is given.
        assert!(md.contains("| 400.0 ms (1 thread) |"), "{md}");
        assert!(md.contains("| 200.0 ms (2 threads) |"), "{md}");
        assert!(md.contains("| 20.0 | 80.0 | 25% |"), "{md}");
        // Both sides at the same thread count, even when one thread was faster.
        assert!(md.contains("(candle, 2 threads)"), "{md}");
        assert!(md.contains("The machine was busy"), "{md}");
        // JAX: rows beside the other peers, with the goals against it, and how it was pinned.
        assert!(md.contains("jax 0.10.2"), "{md}");
        assert!(
            md.contains("JAX in its own process on cores 0,1, XLA_FLAGS unset"),
            "{md}"
        );
        assert!(
            md.contains("| leaky-ESN harvest, 500 x 140, N 100, alpha 0.3, vs JAX | 10.0 ms (2 threads) | 50.0 ms (JAX jit + lax.scan, f32, 2 threads) | 5.0x | ≥ 1x | **met** |"),
            "{md}"
        );
        assert!(
            md.contains("(Rust on 2 threads), vs JAX | 200.0 ms (2 threads) | 800.0 ms"),
            "{md}"
        );
        assert!(
            md.contains(
                "vs JAX | 500.0 ms (candle, 2 threads) | skipped: the JAX process failed: boom |"
            ),
            "{md}"
        );
        assert!(
            md.contains("agree with numpy's f32 run to 3.0e-7 and with an f64 run to 3.3e-7"),
            "{md}"
        );
        // Every kernel against the peak (160 GFLOP/s), both sides on the same flops, and the path that ran.
        assert!(
            md.contains("faer's 2048^3 GEMM on 2 threads (160.0 GFLOP/s)"),
            "{md}"
        );
        assert!(md.contains("ran on the Avx2 path"), "{md}");
        assert!(
            md.contains(
                "| MF-ESN harvest, 4500 x 140, N 100, 2 threads | 40.0 | 25% | 10.0 | 6% |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "| leaky-ESN harvest, 500 x 140, N 100, 2 threads | 40.0 | 25% | 8.0 | 5% |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| MF-RNN training epoch, 500 x 140, N 100, batch 64, 2 threads | 80.0 | 50% | - | - |"),
            "{md}"
        );
    }

    #[test]
    fn cpu_lists_read_and_write_as_taskset_has_them() {
        assert_eq!(parse_cpu_list("0-2,5"), Some(vec![0, 1, 2, 5]));
        assert_eq!(parse_cpu_list("3"), Some(vec![3]));
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(cpu_list(&[0, 1]), "0,1");
        if let Some(c) = allowed_cores() {
            assert!(!c.is_empty());
        }
    }

    #[test]
    fn the_jax_process_results_or_its_failure_land_under_the_jax_keys() {
        let mut out =
            serde_json::json!({"numpy": "2", "jax_mf_harvest": {"skipped": "own process"}});
        merge_jax(
            &mut out,
            Ok(
                serde_json::json!({"numpy": "x", "jax": {"version": "1"}, "jax_mf_harvest": {"timing": {}}}),
            ),
        );
        assert_eq!(out["numpy"], "2");
        assert_eq!(out["jax"]["version"], "1");
        assert!(out["jax_mf_harvest"].get("skipped").is_none());
        merge_jax(&mut out, Err("crashed".into()));
        for key in JAX_KEYS {
            assert_eq!(out[key]["skipped"], "crashed");
        }
    }
}
