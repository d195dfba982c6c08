//! The Slurm script of a sharded sweep: both stages (the shard array, then merge, final jobs and table) as one
//! script for one `sbatch`, and the scheduler settings it is written with.

use std::path::{Path, PathBuf};

/// Scheduler settings of [`emit_slurm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmOptions {
    /// Job name (`#SBATCH --job-name`); stage 2 is named `<job_name>-final`. Default `mf-sweep`.
    pub job_name: String,
    /// CPUs per array task and for stage 2 (`--cpus-per-task`), also the sweep's thread count. Default 1, which
    /// every node has: a task asking for more CPUs than any node holds pends forever.
    pub cpus_per_task: usize,
    /// Wall-time limit of each task and of stage 2 (`--time`). Default `24:00:00`.
    pub time: String,
    /// Partition (`--partition`), if any. Default none (the cluster's default partition).
    pub partition: Option<String>,
    /// The `mf` executable to call, as the compute nodes see it. Default `mf`; `mf slurm` gives its own
    /// absolute path, so that the jobs do not depend on the `PATH` they inherit.
    pub mf: String,
    /// The working directory of every task (`#SBATCH --chdir`), against which the spec, result and data paths
    /// are resolved. Default none (Slurm then uses the directory `sbatch` is run from); `mf slurm` gives the
    /// directory it runs in.
    pub chdir: Option<PathBuf>,
    /// The data directory passed to every `mf` command (`--data-dir`). Default none: the tasks resolve it
    /// themselves (`MF_DATA_DIR`, which `sbatch` passes on, then the user cache directory).
    pub data_dir: Option<PathBuf>,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        SlurmOptions {
            job_name: "mf-sweep".into(),
            cpus_per_task: 1,
            time: "24:00:00".into(),
            partition: None,
            mf: "mf".into(),
            chdir: None,
            data_dir: None,
        }
    }
}

fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn sh_path(p: &Path) -> String {
    sh_quote(&p.display().to_string())
}

/// The scheduler lines shared by the array and stage 2: CPUs, time, partition and working directory.
fn sbatch_lines(opts: &SlurmOptions) -> String {
    let mut s = format!(
        "#SBATCH --cpus-per-task={}\n#SBATCH --time={}\n",
        opts.cpus_per_task,
        sh_quote(&opts.time)
    );
    if let Some(p) = &opts.partition {
        s.push_str(&format!("#SBATCH --partition={}\n", sh_quote(p)));
    }
    if let Some(d) = &opts.chdir {
        s.push_str(&format!("#SBATCH --chdir={}\n", sh_path(d)));
    }
    s
}

/// A Slurm script that runs the whole of `spec_path` with one `sbatch`, in `n` shards, with results under
/// `results` (relative paths are relative to [`SlurmOptions::chdir`]).
///
/// Stage 1 is the job array: task `i` runs the validation jobs of shard `i/n` (resuming where an earlier run
/// of the shard stopped, and running its failed jobs again). Stage 2 is submitted by the array's lowest task as
/// it starts, as a job depending on the array with `afterany` (it runs once every task has ended, whether it
/// succeeded or not; `afterok` would never run after a failure) and `singleton` (one stage 2 of the job name at
/// a time). It merges the shards, stops with the missing jobs of each shard when one is incomplete, runs the
/// final jobs and prints the table. Resubmitting failed shards alone (`sbatch --array=2,5 <script>`) submits
/// stage 2 again.
pub fn emit_slurm(spec_path: &Path, n: usize, results: &Path, opts: &SlurmOptions) -> String {
    let n = n.max(1);
    let spec = sh_path(spec_path);
    let results = sh_path(results);
    let mf = sh_quote(&opts.mf);
    let data = match &opts.data_dir {
        Some(d) => format!(" --data-dir {}", sh_path(d)),
        None => String::new(),
    };
    let name = sh_quote(&opts.job_name);
    let final_name = sh_quote(&format!("{}-final", opts.job_name));
    let threads = "--threads \"${SLURM_CPUS_PER_TASK:-1}\"";
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name={name}\n"));
    s.push_str(&format!("#SBATCH --array=0-{}\n", n - 1));
    s.push_str(&sbatch_lines(opts));
    s.push_str(&format!("#SBATCH --output={}-%A_%a.out\n", opts.job_name));
    s.push_str(&format!(
        "#
# Runs the spec {spec} in {n} shard{plural}; submit it once: sbatch <this script>.
#
# Stage 1, this job array: task i runs the validation jobs of shard i/{n} into its own store under {results},
#   resuming where an earlier run of the shard stopped and running its failed jobs again.
# Stage 2, submitted by the array's lowest task as it starts: once every task has ended, successful or not
#   (afterany), and no other {final_name} job runs (singleton), it merges the shards, stops with the missing
#   jobs of each shard if any shard is incomplete, runs the final jobs and prints the table into
#   {job}-final-<job id>.out.
# When a task fails, is cancelled or runs out of time, stage 2 names the incomplete shards. Resubmit them alone,
#   which submits stage 2 again:
#   sbatch --array=<i>[,<j>...] <this script>
#   or: {mf} slurm {spec} --shards {n} --results {results} --resubmit --out <this script>
set -euo pipefail
if [ \"$SLURM_ARRAY_TASK_ID\" = \"${{SLURM_ARRAY_TASK_MIN:-0}}\" ]; then
    # Stage 2: the array's job id is only known here, so this task submits it.
    if ! stage2=$(sbatch --parsable --job-name={final_name} \\
        --dependency=\"afterany:$SLURM_ARRAY_JOB_ID,singleton\" <<'STAGE2'
#!/bin/bash
{lines}#SBATCH --output={job}-final-%j.out
set -euo pipefail
{mf} merge --spec {spec} --results {results}
{mf} sweep {spec} --results {results} {threads}{data} >/dev/null
{mf} table {spec} --results {results}
STAGE2
    ); then
        echo \"could not submit stage 2; when every shard has ended, run: {mf} merge --spec {spec} --results {results} && {mf} sweep {spec} --results {results}{data}\" >&2
    else
        echo \"stage 2 is job $stage2; it runs when every task of array job $SLURM_ARRAY_JOB_ID has ended\"
    fi
fi
exec {mf} sweep {spec} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --results {results} {threads} --retry-failed{data}
",
        plural = if n == 1 { "" } else { "s" },
        job = opts.job_name,
        lines = sbatch_lines(opts),
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::{store_file_name, Shard};

    /// The lines of the script before its first command (sbatch reads `#SBATCH` only there) and the stage 2
    /// script of its here-document.
    fn script_parts(s: &str) -> (Vec<&str>, Vec<&str>) {
        let lines: Vec<&str> = s.lines().collect();
        let first_cmd = lines.iter().position(|l| !l.starts_with('#')).unwrap();
        let open = lines
            .iter()
            .position(|l| l.ends_with("<<'STAGE2'"))
            .unwrap();
        let close = lines.iter().position(|l| *l == "STAGE2").unwrap();
        (lines[..first_cmd].to_vec(), lines[open + 1..close].to_vec())
    }

    #[test]
    fn slurm_script_runs_one_shard_per_array_task() {
        let s = emit_slurm(
            Path::new("specs/table iv.toml"),
            8,
            Path::new("results"),
            &SlurmOptions {
                partition: Some("cpu".into()),
                ..SlurmOptions::default()
            },
        );
        assert!(s.starts_with("#!/bin/bash\n"));
        let (head, stage2) = script_parts(&s);
        for line in [
            "#SBATCH --array=0-7",
            "#SBATCH --partition=cpu",
            "#SBATCH --cpus-per-task=1",
        ] {
            assert!(head.contains(&line), "{line}\n{s}");
        }
        assert!(s.contains(
            "exec mf sweep 'specs/table iv.toml' --shard \"$SLURM_ARRAY_TASK_ID/8\" --results results \
             --threads \"${SLURM_CPUS_PER_TASK:-1}\" --retry-failed\n"
        ));
        // Stage 2 gets the same scheduler settings, and no array.
        assert!(stage2.contains(&"#SBATCH --partition=cpu"), "{stage2:?}");
        assert!(!stage2.iter().any(|l| l.contains("--array")));
    }

    #[test]
    fn the_script_runs_from_its_directory_with_its_data_and_executable() {
        // Points 2, 3 and 4 of the cluster trial: no --chdir, --data-dir dropped, `mf` taken from PATH.
        let opts = SlurmOptions {
            mf: "/opt/mf bin/mf".into(),
            chdir: Some("/home/u/exp".into()),
            data_dir: Some("/data/ucr".into()),
            time: "1:00:00".into(),
            ..SlurmOptions::default()
        };
        let s = emit_slurm(Path::new("spec.toml"), 3, Path::new("results"), &opts);
        let (head, stage2) = script_parts(&s);
        assert!(head.contains(&"#SBATCH --chdir=/home/u/exp"), "{s}");
        assert!(head.contains(&"#SBATCH --time=1:00:00"), "{s}");
        assert!(stage2.contains(&"#SBATCH --chdir=/home/u/exp"), "{s}");
        let commands: Vec<&str> = s
            .lines()
            .filter(|l| l.contains(" sweep ") || l.contains(" merge ") || l.contains(" table "))
            .filter(|l| !l.starts_with('#'))
            .collect();
        assert!(commands.len() >= 4, "{commands:?}");
        for c in &commands {
            let c = c
                .trim_start()
                .trim_start_matches("exec ")
                .trim_start_matches(
                    "echo \"could not submit stage 2; when every shard has ended, run: ",
                );
            assert!(c.starts_with("'/opt/mf bin/mf' "), "{c}");
        }
        for c in commands.iter().filter(|c| c.contains(" sweep ")) {
            assert!(c.contains("--data-dir /data/ucr"), "{c}");
        }
    }

    #[test]
    fn stage_two_waits_for_every_task_whatever_its_end_and_runs_the_whole_protocol() {
        // Points 5 and 6: stage 2 is part of the script, and `afterok` never ran once a shard had failed.
        let s = emit_slurm(
            Path::new("spec.toml"),
            4,
            Path::new("out"),
            &SlurmOptions::default(),
        );
        assert!(!s.contains("afterok"), "{s}");
        assert!(
            s.contains("--dependency=\"afterany:$SLURM_ARRAY_JOB_ID,singleton\""),
            "{s}"
        );
        assert!(s.contains("--job-name=mf-sweep-final"), "{s}");
        // Only the lowest task of an array (the first run or a resubmission) submits stage 2.
        assert!(s.contains("if [ \"$SLURM_ARRAY_TASK_ID\" = \"${SLURM_ARRAY_TASK_MIN:-0}\" ]"));
        let (_, stage2) = script_parts(&s);
        let commands: Vec<&str> = stage2
            .iter()
            .copied()
            .filter(|l| l.starts_with("mf "))
            .collect();
        assert_eq!(
            commands,
            [
                "mf merge --spec spec.toml --results out",
                "mf sweep spec.toml --results out --threads \"${SLURM_CPUS_PER_TASK:-1}\" >/dev/null",
                "mf table spec.toml --results out",
            ]
        );
        assert_eq!(stage2[0], "#!/bin/bash");
        assert!(stage2.contains(&"set -euo pipefail"));
    }

    #[test]
    fn a_one_shard_script_has_one_task_and_the_same_stages() {
        // Point 8: `--shards 1`; its task writes store.jsonl, which stage 2's merge then checks.
        let s = emit_slurm(
            Path::new("spec.toml"),
            1,
            Path::new("results"),
            &SlurmOptions::default(),
        );
        assert!(s.contains("#SBATCH --array=0-0\n"));
        assert!(s.contains("--shard \"$SLURM_ARRAY_TASK_ID/1\""));
        assert!(s.contains("mf merge --spec spec.toml --results results\n"));
        assert_eq!(
            store_file_name(Some(Shard::new(0, 1).unwrap())),
            "store.jsonl"
        );
    }
}
