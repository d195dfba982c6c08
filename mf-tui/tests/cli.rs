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
    let cases: [(&[&str], &str); 5] = [
        (
            &["run", "--model", "mf-esn", "--dataset", "NoSuchSet"],
            "NoSuchSet",
        ),
        // Not "kp0 = 0", the first unit's constant its degenerate log-normal draw gave.
        (
            &["run", "--model", "mf-esn", "--set", "d2d_sigma=1e300"],
            "invalid parameter d2d_sigma = 1e300: too large for the log-normal draw",
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
    assert!(
        list.contains("ECG5000")
            && list.contains("missing")
            && list.contains("mackey-glass-windows")
    );
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

// Bad input: stores, shards, failed jobs, data and thread counts.

/// Runs `mf` without a data directory argument (the caller passes `--data-dir` where it matters).
fn mf_raw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mf"))
        .args(args)
        .output()
        .expect("mf runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small spec: one data set, the ESN on two configurations, one draw, one trial.
fn tiny_spec(dir: &Path, dataset: &str) -> std::path::PathBuf {
    let spec = dir.join("tiny.toml");
    std::fs::write(
        &spec,
        format!(
            "datasets = [\"{dataset}\"]\nmodels = [\"esn\"]\ndraws = 1\ntrials = 1\nn_units = 10\nseed = 1\n\
             [grid.esn]\nalpha = [0.5, 1.0]\n"
        ),
    )
    .unwrap();
    spec
}

/// Writes the data set `Mine` (two classes, 20 series of 8 steps per split) into `data_dir`; `shift` changes
/// the values, as a different copy of the data would.
fn write_mine(data_dir: &Path, shift: f64) {
    let dir = data_dir.join("Mine");
    std::fs::create_dir_all(&dir).unwrap();
    for (split, offset) in [("TRAIN", 0.0), ("TEST", 0.25)] {
        let text: String = (0..20)
            .map(|i| {
                let class = i % 2;
                let values: Vec<String> = (0..8)
                    .map(|t| {
                        let v = if class == 0 { t as f64 } else { 8.0 - t as f64 };
                        format!("{}", v * 0.1 + offset + shift + i as f64 * 0.01)
                    })
                    .collect();
                format!("{class}\t{}\n", values.join("\t"))
            })
            .collect();
        std::fs::write(dir.join(format!("Mine_{split}.tsv")), text).unwrap();
    }
}

fn sweep_args<'a>(spec: &'a Path, results: &'a Path, data: &'a Path) -> Vec<&'a str> {
    vec![
        "sweep",
        spec.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "-j",
        "1",
    ]
}

/// The store.jsonl of the only spec under `results`.
fn the_store(results: &Path) -> std::path::PathBuf {
    let dir = std::fs::read_dir(results)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    dir.join("store.jsonl")
}

#[test]
fn a_sweep_asked_for_more_threads_than_cores_lowers_them_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(dir.path(), "synthetic-control");
    let results = dir.path().join("results");
    let o = mf(
        &[
            "sweep",
            spec.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
            "-j",
            "100000",
        ],
        dir.path(),
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("-j 100000 is more than the") && err.contains("cores available"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_sweep_whose_jobs_fail_exits_non_zero_and_table_says_there_are_no_final_results() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(dir.path(), "Mine");
    let results = dir.path().join("results");
    let data = dir.path().join("data");
    let o = mf_raw(&sweep_args(&spec, &results, &data));
    let err = stderr(&o);
    assert!(!o.status.success(), "every job failed, yet exit 0: {err}");
    assert!(err.contains("0 done, 2 failed, 0 already stored"), "{err}");
    assert!(
        err.contains("2 of 2 recorded jobs failed (2 in this run, 0 earlier)"),
        "{err}"
    );
    assert!(err.contains("--retry-failed"), "{err}");
    // Resuming without --retry-failed runs nothing but still fails, listing the earlier failures.
    let o = mf_raw(&sweep_args(&spec, &results, &data));
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("failed earlier: val Mine esn #0"), "{err}");
    assert!(err.contains("(0 in this run, 2 earlier)"), "{err}");
    // The table has nothing to show: it says so and fails instead of printing dashes.
    let o = mf_raw(&[
        "table",
        spec.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        err.contains(&format!(
            "holds no final results yet (2 of 2 validation jobs recorded, 2 of them failed): run \
             `mf sweep {} --retry-failed`",
            spec.display()
        )),
        "{err}"
    );
    // An empty store file is a store with nothing in it, not a damaged one.
    std::fs::write(the_store(&results), b"").unwrap();
    let o = mf_raw(&[
        "table",
        spec.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("holds no final results yet (it is empty)"),
        "{err}"
    );
    assert!(!err.contains("damaged") && !err.contains("later"), "{err}");
}

#[test]
fn a_retry_after_adding_missing_data_runs_the_final_job_in_the_same_run() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(dir.path(), "Mine");
    let results = dir.path().join("results");
    let data = dir.path().join("data");
    assert!(!mf_raw(&sweep_args(&spec, &results, &data)).status.success());
    write_mine(&data, 0.0);
    let mut args = sweep_args(&spec, &results, &data);
    args.push("--retry-failed");
    let o = mf_raw(&args);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("selected ESN on Mine"), "{err}");
    assert!(err.contains("3 done, 0 failed"), "{err}");
    let table = stdout(&mf_raw(&[
        "table",
        spec.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "-f",
        "csv",
    ]));
    let row = table.lines().find(|l| l.starts_with("Mine")).unwrap();
    assert!(
        row.split(',').any(|f| f.parse::<f64>().is_ok()),
        "no score: {table}"
    );
}

#[test]
fn store_repair_moves_a_damaged_line_aside_and_the_next_sweep_reruns_its_job() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(dir.path(), "synthetic-control");
    let results = dir.path().join("results");
    let run_sweep = || mf_raw(&sweep_args(&spec, &results, dir.path()));
    assert!(run_sweep().status.success());
    let store = the_store(&results);
    let text = std::fs::read_to_string(&store).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(
        lines.len(),
        5,
        "header, the sweep's session, two validation records, one final"
    );
    // Change one digit of the first record's scores: its checksum no longer matches, and records follow it.
    let first = lines
        .iter()
        .position(|l| l.contains("\"scores\":["))
        .unwrap();
    assert_eq!(first, 2, "the record after the session line");
    let at = lines[first].find("\"scores\":[").unwrap() + "\"scores\":[".len();
    let digit = if lines[first].as_bytes()[at] == b'0' {
        "1"
    } else {
        "0"
    };
    lines[first].replace_range(at..at + 1, digit);
    std::fs::write(&store, lines.join("\n") + "\n").unwrap();

    let table_args = [
        "table",
        spec.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ];
    let o = mf_raw(&table_args);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("line 3 is damaged") && err.contains("mf store repair"),
        "{err}"
    );

    let o = mf_raw(&[
        "store",
        "repair",
        spec.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    let quarantine = format!("{}.quarantine", store.display());
    assert!(
        out.contains(&format!("kept 2 records, moved 1 line to {quarantine}")),
        "{out}"
    );
    assert!(out.contains("  line 3: checksum mismatch"), "{out}");
    assert!(
        out.contains("1 job will run again on the next `mf sweep`"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&quarantine).unwrap(),
        lines[first].clone() + "\n"
    );
    // The sweep and the table work again; the sweep reran the one job.
    let o = run_sweep();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("1 done, 0 failed, 2 already stored"), "{err}");
    stdout(&mf_raw(&table_args));
    // The store is sound now: repairing it again changes nothing.
    let out = stdout(&mf_raw(&["store", "repair", store.to_str().unwrap()]));
    assert!(out.contains("nothing to repair"), "{out}");
}

#[test]
fn store_repair_of_a_damaged_session_line_says_no_job_runs_again_and_none_does() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(dir.path(), "synthetic-control");
    let results = dir.path().join("results");
    let run_sweep = || mf_raw(&sweep_args(&spec, &results, dir.path()));
    assert!(run_sweep().status.success());
    let store = the_store(&results);
    let text = std::fs::read_to_string(&store).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Line 2 is the sweep's session, which records no job: a digit added to its start time gives it a wrong
    // checksum, and the three records follow it.
    assert!(
        lines[1].contains("{\"session\":{\"started\":"),
        "{}",
        lines[1]
    );
    lines[1] = lines[1].replacen("\"started\":", "\"started\":1", 1);
    std::fs::write(&store, lines.join("\n") + "\n").unwrap();

    let out = stdout(&mf_raw(&["store", "repair", store.to_str().unwrap()]));
    assert!(out.contains("kept 3 records, moved 1 line to"), "{out}");
    assert!(out.contains("  line 2: checksum mismatch"), "{out}");
    assert!(out.contains("no job will run again"), "{out}");
    let o = run_sweep();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("0 done, 0 failed, 3 already stored"), "{err}");
}

#[test]
fn two_successful_records_of_one_job_are_an_error_naming_the_store_and_both_lines() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(dir.path(), "synthetic-control");
    let results = dir.path().join("results");
    assert!(mf_raw(&sweep_args(&spec, &results, dir.path()))
        .status
        .success());
    let store = the_store(&results);
    let text = std::fs::read_to_string(&store).unwrap();
    // Line 2 is the sweep's session; line 3 the first record.
    let line3 = text.lines().nth(2).unwrap().to_string();
    std::fs::write(&store, format!("{text}{line3}\n")).unwrap();
    let o = mf_raw(&sweep_args(&spec, &results, dir.path()));
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "{}: lines 3 and 6 both record val synthetic-control esn #0",
            store.display()
        )),
        "{err}"
    );
    let out = stdout(&mf_raw(&["store", "repair", store.to_str().unwrap()]));
    assert!(
        out.contains(
            "line 6: records val synthetic-control esn #0 again, already recorded at line 3"
        ),
        "{out}"
    );
    assert!(out.contains("no job will run again"), "{out}");
    assert!(mf_raw(&sweep_args(&spec, &results, dir.path()))
        .status
        .success());
}

#[test]
fn merge_refuses_shards_computed_from_different_data_directories() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(dir.path(), "Mine");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    write_mine(&a, 0.0);
    write_mine(&b, 0.5);
    let shard = |results: &Path, data: &Path, i: usize| {
        let shard = format!("{i}/2");
        let mut args = sweep_args(&spec, results, data);
        args.extend(["--shard", shard.as_str()]);
        let o = mf_raw(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let merge = |results: &Path| {
        mf_raw(&[
            "merge",
            "--spec",
            spec.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ])
    };
    let mixed = dir.path().join("mixed");
    shard(&mixed, &a, 0);
    shard(&mixed, &b, 1);
    let o = merge(&mixed);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("shard-0-of-2.jsonl")
            && err.contains("shard-1-of-2.jsonl")
            && err.contains("computed on different data"),
        "{err}"
    );
    assert!(!the_store(&mixed).exists(), "nothing may be merged");
    // The same data in both shards merges.
    let same = dir.path().join("same");
    shard(&same, &a, 0);
    shard(&same, &a, 1);
    let o = merge(&same);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn merge_while_a_shard_is_still_running_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(dir.path(), "synthetic-control");
    let results = dir.path().join("results");
    let mut args = sweep_args(&spec, &results, dir.path());
    args.extend(["--shard", "0/2"]);
    let o = mf_raw(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let store = the_store(&results);
    let shard0 = store.with_file_name("shard-0-of-2.jsonl");
    let hash = mf_lab::read_store(&shard0).unwrap().spec_hash;
    // Shard 1 has started: its store is open (locked) and holds no record yet.
    let shard1 = store.with_file_name("shard-1-of-2.jsonl");
    let running = mf_lab::Store::open(&shard1, &hash).unwrap();
    let merge = || {
        mf_raw(&[
            "merge",
            "--spec",
            spec.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ])
    };
    let o = merge();
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "shard 1 is still running ({} is locked by the run writing it); merge again when it ends",
            shard1.display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("again:"),
        "a running shard is not to be run again: {err}"
    );
    assert!(!store.exists(), "nothing may be merged");
    // Stopped with its jobs undone, the shard is one to run again.
    drop(running);
    let o = merge();
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("run shard 1 again"), "{err}");
}

#[test]
fn robustness_writes_the_levels_computed_when_one_fails_names_it_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    // With seed 0 and 30 units, the third draw at a spread of 20% overflows after two draws scored.
    let o = mf(
        &[
            "robustness",
            "-m",
            "mf-esn",
            "--param",
            "d2d_sigma",
            "--values",
            "0.2,0.1",
            "--draws",
            "4",
            "--seed",
            "0",
            "--set",
            "n_units=30",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].starts_with("MF-ESN  d2d_sigma = 0.1      ") && lines[0].ends_with("(4 draws)"),
        "the two draws of the failed level are not counted in the next: {err}"
    );
    assert!(
        lines[1].starts_with("MF-ESN  d2d_sigma = 0.2      failed: trial 3/4 (seed ")
            && lines[1].contains("non-finite values"),
        "{err}"
    );
    assert!(lines[2].starts_with("wrote robustness.csv"), "{err}");
    assert!(
        lines[3].starts_with(
            "error: 1 of the 2 levels failed and has no score: MF-ESN at d2d_sigma = 0.2"
        ),
        "{err}"
    );
    let summary = std::fs::read_to_string(out.join("robustness_summary.csv")).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), summary);
    assert!(summary.contains(",0.2,0,,,,,trial 3/4 (seed "), "{summary}");
    let draws = std::fs::read_to_string(out.join("robustness.csv")).unwrap();
    assert!(draws.contains(",0.2,,,,trial 3/4 (seed "), "{draws}");
    assert!(out.join("robustness.png").is_file());
}

#[test]
fn data_verify_fails_when_a_present_set_does_not_load_and_says_each_problem_once() {
    let dir = tempfile::tempdir().unwrap();
    let gun = dir.path().join("GunPoint");
    std::fs::create_dir_all(&gun).unwrap();
    std::fs::write(gun.join("GunPoint_TRAIN.ts"), "this is not a ts file\n").unwrap();
    let o = mf(&["data", "verify"], dir.path());
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = stderr(&o);
    assert!(!o.status.success(), "{out}{err}");
    assert_eq!(out.matches("GunPoint ").count(), 1, "{out}");
    assert!(out.contains("GunPoint         not loaded: "), "{out}");
    assert!(
        out.contains("ECG5000          missing (mf data fetch ECG5000)"),
        "{out}"
    );
    assert!(
        out.contains("0 loaded, 9 missing, 1 failed to load"),
        "{out}"
    );
    assert!(
        err.contains("1 data set in") && err.contains("failed to load: GunPoint"),
        "{err}"
    );
    // With every set merely missing, verify succeeds.
    let empty = tempfile::tempdir().unwrap();
    let o = mf(&["data", "verify"], empty.path());
    assert!(o.status.success(), "{}", stderr(&o));
    // A broken set of the user's own fails too, and a good one is listed with its shape.
    let own = tempfile::tempdir().unwrap();
    for (name, train) in [
        ("Mine", "1\t0.1\t0.2\n2\tx\t0.3\n"),
        ("Fine", "1\t0.1\t0.2\n2\t0.5\t0.3\n"),
    ] {
        std::fs::create_dir(own.path().join(name)).unwrap();
        std::fs::write(
            own.path().join(name).join(format!("{name}_TRAIN.tsv")),
            train,
        )
        .unwrap();
    }
    let o = mf(&["data", "verify"], own.path());
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("Fine             train     2 test     - len 2-2"),
        "{out}"
    );
    assert!(
        out.contains("Mine             not loaded: ") && out.contains("Mine_TRAIN.tsv:2"),
        "{out}"
    );
    assert!(
        stderr(&o).contains("failed to load: Mine"),
        "{}",
        stderr(&o)
    );
}

// Diverged training, configurations too large for memory, messages and progress without a terminal.

#[test]
fn a_diverged_training_is_flagged_in_the_report_and_warned_about_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "run",
        "--model",
        "rnn",
        "--set",
        "lr=1e6",
        "--set",
        "n_units=8",
        "--set",
        "max_epochs=3",
        "--trials",
        "1",
    ];
    let o = mf(&args, dir.path());
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("(3 epochs, best "), "{err}");
    assert!(err.contains(", diverged)"), "{err}");
    assert!(
        err.contains("warning: trial 1/1: training diverged: the final training loss"),
        "{err}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let o = mf(&json_args, dir.path());
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["diverged"], serde_json::json!([0]));
    assert!(report["warnings"][0]
        .as_str()
        .unwrap()
        .ends_with("try a smaller lr"));
    assert!(stderr(&o).contains("warning: trial 1/1: training diverged"));
}

#[test]
fn a_configuration_too_large_for_memory_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    for model in ["mf-esn", "mf-rnn"] {
        let o = mf(
            &[
                "run",
                "--model",
                model,
                "--set",
                "n_units=100000",
                "--trials",
                "1",
            ],
            dir.path(),
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{model}: {err}");
        assert!(
            err.contains("on synthetic-control: the configuration needs about")
                && err.contains("of memory for 300 series of up to 60 steps")
                && err.contains("lower n_units"),
            "{model}: {err}"
        );
        assert!(!err.contains("memory allocation"), "{err}");
    }
    let out = dir.path().join("export");
    let o = mf(
        &[
            "export",
            "--model",
            "esn",
            "--set",
            "n_units=100000",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the configuration needs about"),
        "{}",
        stderr(&o)
    );
    // In a sweep the job fails alone and the others run to the end.
    let spec = dir.path().join("big.toml");
    std::fs::write(
        &spec,
        "datasets = [\"synthetic-control\"]\nmodels = [\"esn\"]\ndraws = 1\ntrials = 1\nseed = 1\n\
         [grid.esn]\nn_units = [100000, 10]\n",
    )
    .unwrap();
    let results = dir.path().join("results");
    let o = mf(
        &[
            "sweep",
            spec.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
            "-j",
            "1",
        ],
        dir.path(),
    );
    let err = stderr(&o);
    assert!(o.status.code().is_some(), "killed by a signal: {err}");
    assert!(err.contains("the configuration needs about"), "{err}");
    let lines = store_lines(&results);
    let outcomes: Vec<String> = lines
        .iter()
        .filter_map(|l| key_and_scores(l))
        .map(|k| k.1)
        .collect();
    assert_eq!(outcomes.len(), 3, "{lines:?}");
    assert_eq!(
        outcomes.iter().filter(|o| o.contains("failed")).count(),
        1,
        "{outcomes:?}"
    );
}

#[test]
fn bad_input_messages_name_the_problem_in_words() {
    let dir = tempfile::tempdir().unwrap();
    // An unknown table format is not a spec error.
    let o = mf(&["table", "spec.toml", "--format", "html"], dir.path());
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains(
            "unknown table format `html` (expected markdown, csv, latex, arrow or parquet)"
        ),
        "{err}"
    );
    assert!(!err.contains("invalid spec"), "{err}");
    // A negative number is a value, checked by the analysis, not an unknown flag.
    let o = mf(&["stability", "--dt", "-1"], dir.path());
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(!err.contains("unexpected argument"), "{err}");
    assert!(err.contains("dt") && err.contains("-1"), "{err}");
    let o = mf(&["stability", "--gamma", "-0.5", "--json"], dir.path());
    assert!(stderr(&o).contains("gamma"), "{}", stderr(&o));
    // Without a terminal the dashboard says so and fails, with or without the subcommand.
    for args in [&[][..], &["dashboard"][..]] {
        let o = mf(args, dir.path());
        let err = stderr(&o);
        assert!(!o.status.success(), "{err}");
        assert!(err.contains("the dashboard needs a terminal"), "{err}");
        assert!(!err.contains("os error"), "{err}");
    }
    // A file that does not parse is not answered with where to download data sets.
    let bad = dir.path().join("Bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("Bad_TRAIN.ts"),
        "@classLabel true a\n@data\n1,2:a\n1,x:a\n",
    )
    .unwrap();
    let o = mf(&["run", "--model", "esn", "--dataset", "Bad"], dir.path());
    let err = stderr(&o);
    assert!(err.contains("Bad_TRAIN.ts:4"), "{err}");
    assert!(
        !err.contains("generated sets need no files") && !err.contains("mf data fetch"),
        "{err}"
    );
    // A training failure names its configuration in words, not as a Rust structure.
    assert!(!err.contains("RnnConfig"), "{err}");
}

#[test]
fn a_trainable_run_without_a_terminal_prints_epoch_lines_unless_json() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "run",
        "--model",
        "mf-rnn",
        "--set",
        "n_units=4",
        "--set",
        "max_epochs=12",
        "--set",
        "patience=100",
        "--trials",
        "2",
    ];
    let o = mf(&args, dir.path());
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    for trial in 1..=2 {
        // The first epoch, then (fast epochs) no other until the last.
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with(&format!("trial {trial}/2 epoch ")))
            .collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(
            lines[0].starts_with(&format!("trial {trial}/2 epoch 1/12: loss ")),
            "{err}"
        );
        assert!(
            lines[1].starts_with(&format!("trial {trial}/2 epoch 12/12: loss ")),
            "{err}"
        );
        // The reference protocol's final trials have no validation part: no NaN stands for it.
        assert!(
            !lines[1].contains("val") && !lines[1].contains("NaN") && lines[1].ends_with(" s)"),
            "{err}"
        );
    }
    // With a held-out part the validation loss and metric are printed.
    let mut fresh = args.to_vec();
    fresh.extend(["--protocol", "fresh-split"]);
    let o = mf(&fresh, dir.path());
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let last = err
        .lines()
        .find(|l| l.starts_with("trial 1/2 epoch ") && !l.contains("epoch 1/"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        last.contains(" val_loss ") && !last.contains("NaN"),
        "{err}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let o = mf(&json_args, dir.path());
    assert!(o.status.success());
    assert!(!stderr(&o).contains("epoch"), "{}", stderr(&o));
}

#[test]
fn a_data_set_name_that_is_a_directory_here_suggests_writing_it_as_a_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ok")).unwrap();
    let data = dir.path().join("data");
    let o = Command::new(env!("CARGO_BIN_EXE_mf"))
        .args(["run", "--model", "esn", "--dataset", "ok", "--data-dir"])
        .arg(&data)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("`ok` here is a path: write it as `./ok`"),
        "{err}"
    );
    // Without such a directory the hint is not given.
    let o = Command::new(env!("CARGO_BIN_EXE_mf"))
        .args([
            "run",
            "--model",
            "esn",
            "--dataset",
            "elsewhere",
            "--data-dir",
        ])
        .arg(&data)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("write it as"));
}

/// A spec of sequence tasks sweeps and tabulates: each task's metric and direction, the selected
/// hyper-parameters, no paper columns (the paper ran none of them). A trained model sweeps beside them; a
/// normalisation is refused before anything is written.
#[test]
fn a_sweep_over_sequence_tasks_selects_on_validation_and_tabulates_their_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    let spec = dir.path().join("seq.toml");
    let write = |datasets: &str, models: &str| {
        std::fs::write(
            &spec,
            format!(
                "datasets = [{datasets}]\nmodels = [{models}]\ndraws = 1\ntrials = 2\nn_units = 20\nseed = 1\n\
                 [grid.esn]\nlambda = [1e-8, 1e-4]\n"
            ),
        )
        .unwrap();
    };
    write("\"narma10\", \"memory-capacity\"", "\"esn\"");
    let o = mf_raw(&sweep_args(&spec, &results, dir.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = mf_raw(&[
        "table",
        spec.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    let table = stdout(&o);
    assert!(table.contains("| Task | ESN |\n"), "{table}");
    assert!(
        table.contains("| narma10 (↓) | **0.") && table.contains("| memory-capacity (↑) | **"),
        "{table}"
    );
    assert!(table.contains("NRMSE ↓, memory capacity ↑"), "{table}");
    // The selected lambda is the one with the better validation mean, which the store records.
    let store = std::fs::read_to_string(the_store(&results)).unwrap();
    let val = |config: usize| -> f64 {
        let line = store
            .lines()
            .find(|l| {
                l.contains("\"validation\"")
                    && l.contains("\"narma10\"")
                    && l.contains(&format!("\"config\":{config}"))
            })
            .unwrap_or_else(|| panic!("no validation record of config {config}:\n{store}"));
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["record"]["job"]["outcome"]["done"]["scores"][0]
            .as_f64()
            .unwrap()
    };
    let chosen = if val(0) < val(1) { "1e-8" } else { "0.0001" };
    let want = if val(0) < val(1) {
        "0.00000001"
    } else {
        "0.0001"
    };
    assert!(
        table.contains(&format!("| narma10 (↓) | {want} |")),
        "{chosen}: {table}"
    );
    // A trained model runs beside the reservoirs; a normalisation is refused before anything is written.
    let spec2 = dir.path().join("trained.toml");
    let body = "datasets = [\"narma10\"]\nmodels = [\"esn\", \"rnn\"]\ndraws = 1\ntrials = 1\nn_units = 10\n\
                max_epochs = 3\nseed = 1\n";
    std::fs::write(&spec2, body).unwrap();
    let o = mf_raw(&sweep_args(&spec2, &results, dir.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = mf_raw(&[
        "table",
        spec2.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    let table = stdout(&o);
    assert!(table.contains("| Task | ESN | RNN |\n"), "{table}");
    std::fs::write(&spec2, format!("{body}normalise = \"zscore\"\n")).unwrap();
    let o = mf_raw(&sweep_args(&spec2, &results, dir.path()));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("`normalise` applies"), "{}", stderr(&o));
}
