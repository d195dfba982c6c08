//! The real `mf` binary: headless commands on generated data, errors for bad input, and a sweep killed with
//! SIGKILL that resumes without losing or changing a finished record.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mf(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mf"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("mf runs")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "mf failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn run_prints_json_with_every_field_and_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "run",
        "--model",
        "esn",
        "--dataset",
        "synthetic-control",
        "--set",
        "n_units=40",
        "--trials",
        "2",
        "--seed",
        "4",
        "--json",
    ];
    let a: serde_json::Value = serde_json::from_str(&stdout(&mf(&args, dir.path()))).unwrap();
    for key in [
        "dataset",
        "model",
        "metric",
        "mean",
        "std",
        "per_trial",
        "config",
        "seed",
        "wall_s",
    ] {
        assert!(a.get(key).is_some(), "missing {key}: {a}");
    }
    assert_eq!(a["metric"], "accuracy");
    assert_eq!(a["config"]["n_units"], 40);
    assert_eq!(a["per_trial"].as_array().unwrap().len(), 2);
    let b: serde_json::Value = serde_json::from_str(&stdout(&mf(&args, dir.path()))).unwrap();
    assert_eq!(a["per_trial"], b["per_trial"]);
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["run", "--model", "mf-esn", "--dataset", "NoSuchSet"],
            "NoSuchSet",
        ),
        (
            &["run", "--model", "esn", "--set", "gamma=0.5"],
            "no hyper-parameter `gamma`",
        ),
        (&["run", "--model", "lstm"], "unknown model"),
        (&["run", "--model", "mf-esn", "--set", "rho"], "key=value"),
    ];
    for (args, expected) in cases {
        let o = mf(args, dir.path());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn data_info_stability_and_export_work_without_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let info: serde_json::Value = serde_json::from_str(&stdout(&mf(
        &["data", "info", "synthetic-control", "--json"],
        dir.path(),
    )))
    .unwrap();
    assert_eq!(info["n_train"], 300);
    let list = stdout(&mf(&["data", "list"], dir.path()));
    assert!(list.contains("ECG5000") && list.contains("missing") && list.contains("mackey-glass"));
    let st: serde_json::Value = serde_json::from_str(&stdout(&mf(
        &[
            "stability",
            "--dt",
            "0.1",
            "--gamma",
            "0.5",
            "--s",
            "5",
            "--norm",
            "1",
            "--eigs",
            "--json",
        ],
        dir.path(),
    )))
    .unwrap();
    assert_eq!(st["eigenvalues"].as_array().unwrap().len(), 100);
    assert!(st["theorem_v6"]["holds"].is_boolean());
    let out = dir.path().join("export");
    let o = mf(
        &[
            "export",
            "--model",
            "mf-esn",
            "--set",
            "n_units=10",
            "--seed",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    stdout(&o);
    assert!(out.join("jacobian.npy").is_file() && out.join("config.json").is_file());
}

const SPEC: &str = r#"
datasets = ["synthetic-control"]
models = ["mf-esn"]
draws = 2
trials = 2
n_units = 60
seed = 9
[grid.mf-esn]
rho = [0.8, 0.9, 0.95, 0.99]
gamma = [0.5, 0.8, 0.95, 1.0]
dt = [0.1, 0.01, 0.001]
"#;

fn store_lines(results: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(results) else {
        return Vec::new();
    };
    for e in rd.flatten() {
        let p = e.path().join("store.jsonl");
        if p.is_file() {
            let text = std::fs::read_to_string(p).unwrap();
            return text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(String::from)
                .collect();
        }
    }
    Vec::new()
}

/// The key and outcome of a job line (not its wall time), for comparing two runs; None for the header.
fn key_and_scores(line: &str) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let job = v.get("record")?.get("job")?;
    Some((job.get("key")?.to_string(), job.get("outcome")?.to_string()))
}

#[test]
fn a_sweep_killed_with_sigkill_resumes_and_loses_nothing_finished() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let killed = dir.path().join("killed");
    let sweep = |results: &Path| {
        Command::new(env!("CARGO_BIN_EXE_mf"))
            .args([
                "sweep",
                spec.to_str().unwrap(),
                "--results",
                results.to_str().unwrap(),
                "-j",
                "2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = sweep(&killed);
    let start = Instant::now();
    while store_lines(&killed).len() < 6 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the sweep stored nothing"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = store_lines(&killed);
    assert!(
        before.len() < 1 + 48,
        "the sweep finished before the kill; make the grid larger"
    );
    // Resume to the end, and run the same spec uninterrupted elsewhere.
    assert!(sweep(&killed).wait().unwrap().success());
    let fresh = dir.path().join("fresh");
    assert!(sweep(&fresh).wait().unwrap().success());
    let after = store_lines(&killed);
    let clean = store_lines(&fresh);
    // Every record stored before the kill is still there, unchanged (a torn last line may have been dropped).
    for line in &before[..before.len() - 1] {
        assert!(after.contains(line), "lost record: {line}");
    }
    // Same jobs, same scores as the uninterrupted run: 48 validation jobs and one final job.
    let mut a: Vec<_> = after.iter().filter_map(|l| key_and_scores(l)).collect();
    let mut b: Vec<_> = clean.iter().filter_map(|l| key_and_scores(l)).collect();
    a.sort();
    b.sort();
    assert_eq!(b.len(), 49, "{b:?}");
    assert_eq!(a, b);
}

#[test]
fn sweep_emits_a_slurm_array_script_for_its_shards() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let script = stdout(&mf(
        &["sweep", spec.to_str().unwrap(), "--emit-slurm", "8"],
        dir.path(),
    ));
    assert!(script.starts_with("#!"), "{script}");
    assert!(script.contains("--array=0-7"), "{script}");
    assert!(script.contains("--shard"), "{script}");
    // Nothing ran.
    assert!(!dir.path().join("results").exists());
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_mf_quietly_instead_of_panicking() {
    use std::os::unix::process::ExitStatusExt;
    // The reader is gone before mf starts, so its first line of output meets a closed pipe, as in `mf ... | head`
    // once head has exited.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mf"))
        .args([
            "stability",
            "--dt",
            "0.1",
            "--gamma",
            "0.8",
            "--s",
            "5",
            "--rho",
            "0.9",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?} {stderr}",
        out.status
    );
}

#[test]
fn a_misspelled_grid_key_fails_the_sweep_before_anything_runs_or_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("typo.toml");
    std::fs::write(
        &spec,
        "datasets = [\"synthetic-control\"]\nmodels = [\"mf-esn\"]\n[grid.mf-esn]\nrhoo = [0.9]\n",
    )
    .unwrap();
    let results = dir.path().join("results");
    let o = mf(
        &[
            "sweep",
            spec.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`rhoo`") && err.contains("rho"), "{err}");
    assert!(
        !results.exists(),
        "nothing may be written for a refused spec"
    );
}
