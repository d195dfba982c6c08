//! `cargo xtask bench-sequence`: the states of one long signal against JAX and reservoirpy, at 1 and 2 threads.
//!
//! A sequence task drives one reservoir along one long series and keeps every state for its readout: a chain of
//! `T` small products `(1, N) @ (N, N)`, bound by latency, not by GEMM throughput. Measured here for one series
//! of 10^5 steps and one input channel, `N = 100`, every state kept:
//! - Rust: `mf_esn::sequence::SequenceReservoir::drive` (the path of `mf run --dataset narma10`, the forecasters
//!   and the Python package's), the leaky-ESN cell (`alpha = 0.3`) and the MF cell (`dt = 0.01`, `gamma = 0.95`,
//!   `s = 5`), its states written into a `(T, N)` array; timed in a release build of xtask
//!   (`xtask bench-sequence-kernels`), as a process of its own;
//! - JAX: the same two cells as `lax.scan` under `jax.jit`, the states as the scan's outputs;
//! - reservoirpy 0.4: `Reservoir.run` on the whole signal, the leaky-ESN cell (`xtask/bench/sequence_peers.py`).
//!
//! Each side runs under `taskset` on the first `t` allowed cores with every thread-count variable at `t`. Times
//! are the best of several runs after an untimed warm-up. Writes `results/bench-sequence.md` and `.json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use mf_core::init::uniform_matrix;
use mf_core::rng::rng_from_seed;
use mf_core::{CellKind, MfCell};
use mf_esn::ReservoirConfig;
use ndarray::Array2;
use serde_json::{json, Value};

/// `cargo xtask bench-sequence`.
#[derive(Debug, Clone, clap::Args)]
pub struct SequenceBenchArgs {
    /// Thread counts to measure at, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Timed runs per measurement, the fastest kept.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Steps of the signal.
    #[arg(long, default_value_t = 100_000)]
    pub steps: usize,
    /// The report (Markdown; the raw numbers go beside it as `.json`).
    #[arg(long, default_value = "results/bench-sequence.md")]
    pub out: PathBuf,
}

/// `xtask bench-sequence-kernels`: the Rust side, in this process.
#[derive(Debug, Clone, clap::Args)]
pub struct SequenceKernelsArgs {
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    #[arg(long, default_value_t = 100_000)]
    pub steps: usize,
    #[arg(long, default_value_t = 100)]
    pub units: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The leaky-ESN (`alpha = 0.3`) and MF (`dt = 0.01`, `gamma = 0.95`, `s = 5`) reservoirs of the measurement.
fn configs(units: usize) -> [(&'static str, ReservoirConfig); 2] {
    let mut esn = ReservoirConfig::esn();
    esn.n_units = units;
    esn.cell = CellKind::LeakyEsn { alpha: 0.3 };
    let mut mf = ReservoirConfig::mf_esn();
    mf.n_units = units;
    mf.cell = CellKind::Mf(MfCell::new(0.01, 0.95, 5.0));
    [("long_esn", esn), ("long_mf", mf)]
}

/// Times driving each reservoir along one signal of `args.steps` steps, every state kept; prints JSON.
pub fn kernels(args: &SequenceKernelsArgs) -> Result<()> {
    let mut rng = rng_from_seed(args.seed);
    let u: Array2<f64> = uniform_matrix(args.steps, 1, 1.0, &mut rng);
    let mut out = serde_json::Map::new();
    for (key, config) in configs(args.units) {
        let reservoir = config
            .into_params()?
            .draw_for_sequence(1, args.seed)
            .context("drawing the reservoir")?;
        let mut states = Array2::<f64>::zeros((args.steps, args.units));
        let mut run = || -> Result<f64> {
            let mut r = reservoir.clone();
            let start = Instant::now();
            r.drive(u.view(), |t, h| {
                states.row_mut(t).assign(&h);
                Ok(())
            })?;
            Ok(start.elapsed().as_secs_f64())
        };
        run()?; // warm-up
        let runs = (0..args.repeats.max(1))
            .map(|_| run())
            .collect::<Result<Vec<_>>>()?;
        let best = runs.iter().copied().fold(f64::INFINITY, f64::min);
        if !states.iter().all(|v| v.is_finite()) {
            bail!("{key}: a state is not finite");
        }
        out.insert(
            key.into(),
            json!({"timing": {"best_s": best, "runs_s": runs}, "last_state_mean": states.row(args.steps - 1).mean()}),
        );
    }
    let simd = mf_core::harvest::VectorStep::new(&CellKind::Tanh).simd();
    out.insert("simd".into(), json!(format!("{simd:?}")));
    println!("{}", Value::Object(out));
    Ok(())
}

/// Runs both sides at every thread count and writes the report.
pub fn bench_sequence(root: &Path, args: &SequenceBenchArgs) -> Result<()> {
    if args.threads.contains(&0) || args.repeats == 0 {
        bail!("--threads and --repeats must be at least 1");
    }
    let cores = crate::bench::allowed_cores().unwrap_or_else(|| vec![0]);
    let kernels = crate::release_binary(root, "xtask", "xtask")?;
    let py = root.join(".venv-bench").join("bin").join("python");
    if !py.is_file() {
        bail!(
            "{} is missing: `cargo xtask bench` creates it (numpy, reservoirpy, JAX), or \
             `python3 -m venv .venv-bench && .venv-bench/bin/pip install numpy 'reservoirpy>=0.4,<0.5' 'jax[cpu]'`",
            py.display()
        );
    }
    let mut raw = Vec::new();
    for &t in &args.threads {
        if t > cores.len() {
            bail!("{t} threads asked, {} cores allowed", cores.len());
        }
        eprintln!("bench-sequence: Rust on {t} thread(s)");
        let mut rust = crate::bench::pinned(&kernels, t);
        rust.args([
            "bench-sequence-kernels",
            "--repeats",
            &args.repeats.to_string(),
        ])
        .args(["--steps", &args.steps.to_string()]);
        let rust: Value = serde_json::from_str(&crate::output(&mut rust)?)
            .context("bench-sequence-kernels did not print JSON")?;
        eprintln!("bench-sequence: Python peers on {t} thread(s)");
        let mut peers = crate::bench::pinned(&py, t);
        peers
            .arg(root.join("xtask").join("bench").join("sequence_peers.py"))
            .args([
                "--threads",
                &t.to_string(),
                "--repeats",
                &args.repeats.to_string(),
            ])
            .args(["--steps", &args.steps.to_string()]);
        let python: Value = serde_json::from_str(&crate::output(&mut peers)?)
            .context("sequence_peers.py did not print JSON")?;
        raw.push(json!({"threads": t, "rust": rust, "python": python}));
    }
    let report = markdown(&raw, args.steps);
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, &report)?;
    let raw_path = args.out.with_extension("json");
    std::fs::write(
        &raw_path,
        serde_json::to_string_pretty(&Value::Array(raw))? + "\n",
    )?;
    println!("{report}");
    eprintln!("wrote {} and {}", args.out.display(), raw_path.display());
    Ok(())
}

fn at(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

/// The report: one table row per (kernel, peer, thread count), with the speed-up and whether the target is met.
fn markdown(raw: &[Value], steps: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# One long signal: every state of {steps} steps, N = 100\n"
    );
    let first = raw.first().cloned().unwrap_or(Value::Null);
    let version = |k: &str| {
        first
            .pointer(&format!("/python/{k}/version"))
            .and_then(Value::as_str)
            .unwrap_or("not run")
            .to_string()
    };
    let _ = writeln!(
        s,
        "Measured by `cargo xtask bench-sequence` on {}, commit {}: each side under `taskset` on as many cores as \
         threads, best of several runs after an untimed warm-up (JAX compiles in the warm-up). The Rust step ran \
         its {} path. Python {}, numpy {}, reservoirpy {}, JAX {}.\n",
        crate::bench::cpu_model(),
        crate::bench::commit(),
        first.pointer("/rust/simd").and_then(Value::as_str).unwrap_or("?"),
        first.pointer("/python/python").and_then(Value::as_str).unwrap_or("?"),
        first.pointer("/python/numpy").and_then(Value::as_str).unwrap_or("?"),
        version("reservoirpy_long_esn"),
        version("jax_long_esn"),
    );
    let _ = writeln!(
        s,
        "| kernel | threads | Rust | peer | speed-up | target | |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    let rows = [
        (
            "leaky-ESN, alpha 0.3",
            "/rust/long_esn",
            "reservoirpy_long_esn",
            "reservoirpy",
            10.0,
        ),
        (
            "leaky-ESN, alpha 0.3",
            "/rust/long_esn",
            "jax_long_esn",
            "JAX jit + lax.scan, f32",
            1.5,
        ),
        (
            "MF, dt 0.01",
            "/rust/long_mf",
            "jax_long_mf",
            "JAX jit + lax.scan, f32",
            1.5,
        ),
    ];
    for (what, rust, peer, name, target) in rows {
        for r in raw {
            let t = r["threads"].as_u64().unwrap_or(0);
            let ours = at(r, &format!("{rust}/timing/best_s"));
            let theirs = at(r, &format!("/python/{peer}/timing/best_s"));
            let skipped = r
                .pointer(&format!("/python/{peer}/skipped"))
                .and_then(Value::as_str);
            let (peer_cell, speedup, verdict): (String, String, &str) =
                match (ours, theirs, skipped) {
                    (_, _, Some(why)) => (format!("skipped: {why}"), "-".into(), "-"),
                    (Some(o), Some(p), None) => {
                        let x = p / o;
                        (
                            format!("{:.1} ms ({name})", p * 1e3),
                            format!("{x:.2}x"),
                            if x >= target { "**met**" } else { "not met" },
                        )
                    }
                    _ => ("-".into(), "-".into(), "-"),
                };
            let ours = ours.map_or("-".into(), |o| format!("{:.1} ms", o * 1e3));
            let _ = writeln!(
                s,
                "| {what} | {t} | {ours} | {peer_cell} | {speedup} | ≥ {target}x | {verdict} |"
            );
        }
    }
    let diffs: Vec<String> = ["reservoirpy_long_esn", "jax_long_esn", "jax_long_mf"]
        .iter()
        .filter_map(|k| {
            at(&first, &format!("/python/{k}/max_abs_diff_vs_numpy"))
                .map(|d| format!("{k} {d:.1e}"))
        })
        .collect();
    if !diffs.is_empty() {
        let _ = writeln!(
            s,
            "\nThe peers' last states agree with a plain numpy loop of the same equation to: {}.",
            diffs.join(", ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_states_each_speed_up_and_the_skipped_peers() {
        let raw = vec![json!({
            "threads": 1,
            "rust": {"long_esn": {"timing": {"best_s": 0.1}}, "long_mf": {"timing": {"best_s": 0.2}}},
            "python": {
                "reservoirpy_long_esn": {"skipped": "not installed"},
                "jax_long_esn": {"timing": {"best_s": 0.3}, "version": "0.10.2"},
                "jax_long_mf": {"timing": {"best_s": 0.2}, "version": "0.10.2"},
            },
        })];
        let md = markdown(&raw, 1000);
        assert!(
            md.contains("| leaky-ESN, alpha 0.3 | 1 | 100.0 ms | skipped: not installed | - |"),
            "{md}"
        );
        assert!(md.contains("| 3.00x | ≥ 1.5x | **met** |"), "{md}");
        assert!(md.contains("| MF, dt 0.01 | 1 | 200.0 ms | 200.0 ms (JAX jit + lax.scan, f32) | 1.00x | ≥ 1.5x | not met |"), "{md}");
    }
}
