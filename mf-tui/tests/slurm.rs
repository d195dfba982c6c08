//! The Slurm path of the real `mf` binary without a cluster: the script is run task by task with bash, against a
//! fake `sbatch` (and `sinfo`) that records what it is given, the way Slurm would run it. Each test names the point
//! of the cluster trial (issue "Scale-out on a real Slurm cluster") it guards; `.ci/slurm.sh` runs the same path
//! on a real Slurm cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Four ESN configurations on the generated data set: four validation jobs and one final job, in milliseconds.
const SPEC: &str = r#"datasets = ["synthetic-control"]
models = ["esn"]
draws = 2
trials = 2
n_units = 20
seed = 5
[grid.esn]
alpha = [0.2, 0.4, 0.7, 1.0]
"#;

fn mf_exe() -> PathBuf {
    std::fs::canonicalize(env!("CARGO_BIN_EXE_mf")).unwrap()
}

/// Runs `mf args` in `dir` with `PATH` led by `bin` (the fake Slurm commands), when given.
fn mf_in(dir: &Path, args: &[&str], bin: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mf"));
    c.args(args)
        .current_dir(dir)
        .env_remove("SLURM_ARRAY_JOB_ID");
    if let Some(bin) = bin {
        c.env("PATH", path_with(bin));
    }
    c.output().expect("mf runs")
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn ok(o: &Output) -> (String, String) {
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "failed: {:?}\n{out}\n{err}", o.status);
    (out, err)
}

fn failed(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "should have failed:\n{err}");
    err
}

/// A directory holding `spec.toml`.
fn experiment() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let exp = std::fs::canonicalize(dir.path()).unwrap().join("exp");
    std::fs::create_dir(&exp).unwrap();
    std::fs::write(exp.join("spec.toml"), SPEC).unwrap();
    (dir, exp)
}

/// Fake `sbatch` and `sinfo` in `<dir>/bin`. `sbatch` records each call in `<dir>/calls/<n>.args` (one
/// argument a line) and the script it reads from standard input, when it is given no script file, in
/// `<dir>/calls/<n>.sh`; it prints job id 100 + n. `sinfo` reports nodes of 2 CPUs, `squeue` the job ids in
/// `<dir>/bin/queued`, if any.
fn fake_slurm(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(dir.join("calls")).unwrap();
    let calls = dir.join("calls");
    let sbatch = format!(
        r#"#!/bin/bash
set -eu
n=$(( $(ls "{calls}" | grep -c '\.args$' || true) + 1 ))
printf '%s\n' "$@" > "{calls}/$n.args"
last="${{@: -1}}"
if [ ! -f "$last" ]; then cat > "{calls}/$n.sh"; fi
echo $((100 + n))
"#,
        calls = calls.display()
    );
    for (name, text) in [
        ("sbatch", sbatch.as_str()),
        ("sinfo", "#!/bin/bash\necho 2\n"),
        (
            "squeue",
            "#!/bin/bash\ncat \"$(dirname \"$0\")/queued\" 2>/dev/null || true\n",
        ),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// The recorded `sbatch` calls, in order: arguments, and the script read from standard input if any.
fn sbatch_calls(dir: &Path) -> Vec<(Vec<String>, Option<PathBuf>)> {
    let calls = dir.join("calls");
    (1..)
        .map(|n| {
            (
                calls.join(format!("{n}.args")),
                calls.join(format!("{n}.sh")),
            )
        })
        .take_while(|(a, _)| a.exists())
        .map(|(a, s)| {
            let args = std::fs::read_to_string(a).unwrap();
            (
                args.lines().map(String::from).collect(),
                s.exists().then_some(s),
            )
        })
        .collect()
}

/// The `#SBATCH --chdir` of a script.
fn chdir_of(script: &str) -> PathBuf {
    let line = script
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --chdir="))
        .unwrap_or_else(|| panic!("no #SBATCH --chdir:\n{script}"));
    PathBuf::from(line)
}

/// Runs array task `task` of the script at `script` as Slurm would: in its `--chdir`, with the array's
/// variables, the fake `sbatch` first on `PATH`.
fn run_task(script: &Path, task: usize, min: usize, array_job: u32, bin: &Path) -> Output {
    let text = std::fs::read_to_string(script).unwrap();
    Command::new("bash")
        .arg(script)
        .current_dir(chdir_of(&text))
        .env("PATH", path_with(bin))
        .env("SLURM_ARRAY_TASK_ID", task.to_string())
        .env("SLURM_ARRAY_TASK_MIN", min.to_string())
        .env("SLURM_ARRAY_JOB_ID", array_job.to_string())
        .env("SLURM_CPUS_PER_TASK", "1")
        .output()
        .unwrap()
}

/// Runs the stage 2 script that an array task submitted, in its `--chdir`.
fn run_stage2(script: &Path) -> Output {
    let text = std::fs::read_to_string(script).unwrap();
    Command::new("bash")
        .arg(script)
        .current_dir(chdir_of(&text))
        .env("SLURM_CPUS_PER_TASK", "1")
        .output()
        .unwrap()
}

/// The table of a single-process sweep of `SPEC`, run in a directory of its own, without its provenance header.
fn single_process_table() -> String {
    let (_dir, exp) = experiment();
    ok(&mf_in(&exp, &["sweep", "spec.toml", "-j", "2"], None));
    without_provenance(&ok(&mf_in(&exp, &["table", "spec.toml"], None)).0)
}

/// A Markdown table without the provenance paragraph `mf table` starts with (the sessions that computed the
/// records differ between a sharded and a single run; the tables must not).
fn without_provenance(table: &str) -> String {
    let at = table.find("Provenance.").expect("a provenance header");
    let rest = &table[at..];
    let end = rest
        .find("\n\n")
        .expect("the header ends with a blank line");
    format!("{}{}", &table[..at], &rest[end + 2..])
}

/// The one store file named `name` under `<exp>/results/<hash>/`.
fn store(exp: &Path, name: &str) -> PathBuf {
    let dir = std::fs::read_dir(exp.join("results"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    dir.join(name)
}

#[test]
fn one_sbatch_runs_the_whole_spec_and_a_resubmitted_shard_completes_it() {
    // Points 2, 5 and 6: --chdir, stage 2 in the script, afterany instead of afterok.
    let (dir, exp) = experiment();
    let bin = fake_slurm(dir.path());
    ok(&mf_in(
        &exp,
        &["slurm", "spec.toml", "--shards", "3", "--out", "job.sh"],
        None,
    ));
    let script = exp.join("job.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    assert_eq!(chdir_of(&text), exp, "{text}");
    // Tasks 0 and 2 run; task 1 fails (here: never runs).
    for task in [0, 2] {
        ok(&run_task(&script, task, 0, 7, &bin));
    }
    let calls = sbatch_calls(dir.path());
    assert_eq!(
        calls.len(),
        1,
        "only the lowest task submits stage 2: {calls:?}"
    );
    let (args, stage2) = &calls[0];
    assert!(
        args.contains(&"--dependency=afterany:7,singleton".to_string()),
        "{args:?}"
    );
    assert!(
        args.contains(&"--job-name=mf-sweep-final".to_string()),
        "{args:?}"
    );
    let stage2 = stage2.clone().expect("stage 2 came on standard input");
    // Stage 2 runs once every task has ended, and stops at the incomplete shard 1.
    let err = failed(&run_stage2(&stage2));
    assert!(
        err.contains("shard 1/3: 1 of 1 validation jobs missing"),
        "{err}"
    );
    assert!(err.contains("sbatch --array=1 "), "{err}");
    // Shard 1 resubmitted alone is the lowest task of its array: it submits stage 2 again, which completes.
    ok(&run_task(&script, 1, 1, 8, &bin));
    let calls = sbatch_calls(dir.path());
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1]
        .0
        .contains(&"--dependency=afterany:8,singleton".to_string()));
    let (table, _) = ok(&run_stage2(calls[1].1.as_ref().unwrap()));
    assert!(
        without_provenance(&table).ends_with(&single_process_table()),
        "{table}"
    );
    // Stage 2 prints the table once: the sweep's own copy is discarded for `mf table`'s, with its provenance.
    assert_eq!(table.matches("Test scores:").count(), 1, "{table}");
    // The final table, rendered again, is byte-identical to a single-process run's but for the provenance.
    assert_eq!(
        without_provenance(&ok(&mf_in(&exp, &["table", "spec.toml"], None)).0),
        single_process_table()
    );
}

#[test]
fn a_one_shard_script_runs_its_task_and_stage_two() {
    // Point 8: `--shards 1` wrote store.jsonl itself, and stage 2's `mf merge` found no stores to merge.
    let (dir, exp) = experiment();
    let bin = fake_slurm(dir.path());
    ok(&mf_in(
        &exp,
        &["slurm", "spec.toml", "--shards", "1", "--out", "job.sh"],
        None,
    ));
    ok(&run_task(&exp.join("job.sh"), 0, 0, 3, &bin));
    let calls = sbatch_calls(dir.path());
    let o = run_stage2(calls[0].1.as_ref().unwrap());
    let (table, err) = ok(&o);
    assert!(err.contains("nothing to merge"), "{err}");
    assert!(
        without_provenance(&table).ends_with(&single_process_table()),
        "{table}"
    );
}

#[test]
fn the_script_runs_in_its_directory_with_the_data_directory_and_this_mf() {
    // Points 2, 3 and 4: no --chdir, --data-dir dropped, 4 CPUs by default, `mf` looked up in PATH.
    let (_dir, exp) = experiment();
    let data = exp.join("data");
    std::fs::create_dir(&data).unwrap();
    let (script, _) = ok(&mf_in(
        &exp,
        &["--data-dir", "data", "slurm", "spec.toml", "--shards", "2"],
        None,
    ));
    assert!(
        script.contains(&format!("#SBATCH --chdir={}\n", exp.display())),
        "{script}"
    );
    assert!(script.contains("#SBATCH --cpus-per-task=1\n"), "{script}");
    let mf = mf_exe().display().to_string();
    let sweeps: Vec<&str> = script
        .lines()
        .filter(|l| l.contains(&format!("{mf} sweep ")) && !l.starts_with('#'))
        .collect();
    assert!(sweeps.len() >= 2, "{script}");
    for l in sweeps {
        assert!(l.contains(&format!("--data-dir {}", data.display())), "{l}");
    }
    assert!(
        !script.contains("\nmf ") && !script.contains("exec mf "),
        "{script}"
    );
}

#[test]
fn emit_slurm_takes_the_scheduler_options_and_only_with_emit_slurm() {
    // Point 4: `--emit-slurm` could not set --mf, --time or --partition.
    let (_dir, exp) = experiment();
    let (script, _) = ok(&mf_in(
        &exp,
        &[
            "sweep",
            "spec.toml",
            "--emit-slurm",
            "2",
            "--mf",
            "/opt/mf/bin/mf",
            "--time",
            "2:00:00",
            "--partition",
            "short",
            "-j",
            "2",
        ],
        None,
    ));
    for line in [
        "#SBATCH --time=2:00:00\n",
        "#SBATCH --partition=short\n",
        "#SBATCH --cpus-per-task=2\n",
        "exec /opt/mf/bin/mf sweep spec.toml --shard",
    ] {
        assert!(script.contains(line), "{line}\n{script}");
    }
    let err = failed(&mf_in(
        &exp,
        &["sweep", "spec.toml", "--time", "1:00:00"],
        None,
    ));
    assert!(err.contains("--emit-slurm"), "{err}");
    assert!(!exp.join("results").exists(), "nothing ran");
}

#[test]
fn merge_copies_each_record_line_of_the_shards_as_it_is() {
    // Point 1: merged records came out one ULP off their shard's bytes.
    let (_dir, exp) = experiment();
    for i in 0..2 {
        let shard = format!("{i}/2");
        ok(&mf_in(
            &exp,
            &["sweep", "spec.toml", "--shard", &shard],
            None,
        ));
    }
    ok(&mf_in(&exp, &["merge", "--spec", "spec.toml"], None));
    let lines = |p: PathBuf| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .skip(1)
            .map(String::from)
            .collect()
    };
    let mut shards = lines(store(&exp, "shard-0-of-2.jsonl"));
    shards.extend(lines(store(&exp, "shard-1-of-2.jsonl")));
    let mut merged = lines(store(&exp, "store.jsonl"));
    shards.sort();
    merged.sort();
    assert_eq!(merged, shards);
}

#[test]
fn an_incomplete_merge_names_each_shards_gaps_and_fails_unless_partial() {
    // Points 5 and 7: merging incomplete shards said nothing, and `mf table` then printed dashes.
    let (_dir, exp) = experiment();
    ok(&mf_in(
        &exp,
        &["sweep", "spec.toml", "--shard", "0/2"],
        None,
    ));
    let err = failed(&mf_in(&exp, &["merge", "--spec", "spec.toml"], None));
    assert!(
        err.contains("shard 1/2: 2 of 2 validation jobs missing, 0 failed"),
        "{err}"
    );
    assert!(err.contains("2 of the 4 validation jobs missing"), "{err}");
    assert!(err.contains("--partial"), "{err}");
    let err = failed(&mf_in(&exp, &["table", "spec.toml"], None));
    assert!(err.contains("no final results yet"), "{err}");
    let (_, err) = ok(&mf_in(
        &exp,
        &["merge", "--spec", "spec.toml", "--partial"],
        None,
    ));
    assert!(
        err.contains("warning:") && err.contains("incomplete"),
        "{err}"
    );
}

#[test]
fn hints_name_the_mf_that_runs_the_jobs() {
    // Point 9: the closing hint said `mf merge` whatever --mf was.
    let (_dir, exp) = experiment();
    let (_, err) = ok(&mf_in(
        &exp,
        &[
            "slurm",
            "spec.toml",
            "--shards",
            "2",
            "--mf",
            "/opt/x/mf",
            "--out",
            "job.sh",
        ],
        None,
    ));
    assert!(err.contains("sbatch job.sh"), "{err}");
    assert!(
        err.contains("/opt/x/mf slurm spec.toml --shards 2"),
        "{err}"
    );
    assert!(!err.contains("`mf "), "{err}");
    // A shard run names the mf it was run as.
    let (_, err) = ok(&mf_in(
        &exp,
        &["sweep", "spec.toml", "--shard", "0/2"],
        None,
    ));
    let mf = env!("CARGO_BIN_EXE_mf");
    assert!(
        err.contains(&format!("{mf} merge --spec spec.toml")),
        "{err}"
    );
}

#[test]
fn submit_and_resubmit_call_sbatch_with_the_incomplete_shards() {
    let (dir, exp) = experiment();
    let bin = fake_slurm(dir.path());
    // More CPUs than any node has would pend forever (`Reason=PartitionConfig`): refused before sbatch.
    let err = failed(&mf_in(
        &exp,
        &[
            "slurm",
            "spec.toml",
            "--shards",
            "2",
            "--submit",
            "--cpus-per-task",
            "4",
        ],
        Some(&bin),
    ));
    assert!(err.contains("more than any node has (2)"), "{err}");
    assert!(sbatch_calls(dir.path()).is_empty());
    let (id, _) = ok(&mf_in(
        &exp,
        &["slurm", "spec.toml", "--shards", "2", "--submit"],
        Some(&bin),
    ));
    assert_eq!(id.trim(), "101");
    let script = store(&exp, "mf-sweep.sbatch");
    assert_eq!(
        sbatch_calls(dir.path())[0].0,
        ["--parsable", &script.display().to_string()]
    );
    // Shard 0 ran, shard 1 did not: only shard 1 is resubmitted, with the same script.
    ok(&run_task(&script, 0, 0, 101, &bin));
    // Not while the first array still runs: the shard would run twice.
    std::fs::write(bin.join("queued"), "101_1\n").unwrap();
    let err = failed(&mf_in(
        &exp,
        &["slurm", "spec.toml", "--shards", "2", "--resubmit"],
        Some(&bin),
    ));
    assert!(err.contains("still queued or running (101_1)"), "{err}");
    std::fs::remove_file(bin.join("queued")).unwrap();
    let (id, err) = ok(&mf_in(
        &exp,
        &["slurm", "spec.toml", "--shards", "2", "--resubmit"],
        Some(&bin),
    ));
    assert_eq!(id.trim(), "103", "{err}");
    assert!(
        err.contains("shard 1/2: 2 of 2 validation jobs missing"),
        "{err}"
    );
    let calls = sbatch_calls(dir.path());
    assert_eq!(
        calls[2].0,
        ["--parsable", "--array=1", &script.display().to_string()]
    );
    ok(&run_task(&script, 1, 1, 103, &bin));
    let (_, err) = ok(&mf_in(
        &exp,
        &["slurm", "spec.toml", "--shards", "2", "--resubmit"],
        Some(&bin),
    ));
    assert!(err.contains("nothing to resubmit"), "{err}");
}
