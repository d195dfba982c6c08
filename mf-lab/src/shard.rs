//! Sharding a sweep across machines through an existing scheduler, and merging the shards' stores.
//!
//! # Sharding rule
//!
//! Shard `i/n` owns validation job number `j` of [`super::validation_jobs`] (canonical order: data sets as
//! listed, models as listed, grid order) when `j mod n == i`. Round-robin spreads each grid over all shards, so
//! the expensive and cheap models are shared evenly. A sharded run executes only validation jobs, into
//! `shard-<i>-of-<n>.jsonl` beside the spec; final jobs need every validation record of their pair, so they are
//! a second stage: [`merge`] the shards into `store.jsonl`, then run the spec unsharded, which finds every
//! validation job done and runs only the final jobs. Seeds do not depend on the shard, so the merged results
//! are exactly those of one unsharded run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::job::JobKey;
use crate::store::{read_store, Outcome, Record, Recovered, Store};
use crate::LabError;

/// One slice of a sharded sweep: `index` in `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// This shard's number, `0 <= index < count`.
    pub index: usize,
    /// How many shards the sweep is split into.
    pub count: usize,
}

impl Shard {
    /// A shard, or an error unless `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Self, LabError> {
        if index >= count {
            return Err(LabError::InvalidShard(format!("{index}/{count}")));
        }
        Ok(Shard { index, count })
    }

    /// Whether validation job number `job_index` (canonical order) belongs to this shard.
    pub fn owns(&self, job_index: usize) -> bool {
        job_index % self.count == self.index
    }

    /// The store file name of this shard: `shard-<i>-of-<n>.jsonl`.
    pub fn file_name(&self) -> String {
        format!("shard-{}-of-{}.jsonl", self.index, self.count)
    }
}

/// The store file of a run: `store.jsonl` unsharded (or with a single shard), else [`Shard::file_name`].
pub fn store_file_name(shard: Option<Shard>) -> String {
    match shard.filter(|s| s.count > 1) {
        Some(s) => s.file_name(),
        None => "store.jsonl".to_string(),
    }
}

impl FromStr for Shard {
    type Err = LabError;
    /// Parses `i/n`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || LabError::InvalidShard(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let i = i.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Shard::new(i, n).map_err(|_| bad())
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Scheduler settings of [`emit_slurm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmOptions {
    /// Job name (`#SBATCH --job-name`). Default `mf-sweep`.
    pub job_name: String,
    /// CPUs per array task (`--cpus-per-task`), also the sweep's thread count. Default 4.
    pub cpus_per_task: usize,
    /// Wall-time limit (`--time`). Default `24:00:00`.
    pub time: String,
    /// Partition (`--partition`), if any. Default none.
    pub partition: Option<String>,
    /// The `mf` executable to call. Default `mf`.
    pub mf: String,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        SlurmOptions {
            job_name: "mf-sweep".into(),
            cpus_per_task: 4,
            time: "24:00:00".into(),
            partition: None,
            mf: "mf".into(),
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

/// A Slurm job-array script running the validation stage of `spec_path` in `n` shards, with results under
/// `results`. Its comments give the second stage (merge, then the unsharded run of the final jobs).
pub fn emit_slurm(spec_path: &Path, n: usize, results: &Path, opts: &SlurmOptions) -> String {
    let n = n.max(1);
    let spec = sh_quote(&spec_path.display().to_string());
    let results = sh_quote(&results.display().to_string());
    let mf = sh_quote(&opts.mf);
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name={}\n", opts.job_name));
    s.push_str(&format!("#SBATCH --array=0-{}\n", n - 1));
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", opts.cpus_per_task));
    s.push_str(&format!("#SBATCH --time={}\n", opts.time));
    if let Some(p) = &opts.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    s.push_str(&format!("#SBATCH --output={}-%A_%a.out\n", opts.job_name));
    s.push_str("#\n");
    s.push_str("# Stage 1 (this array): the validation jobs, shard i of n, each into its own store file.\n");
    s.push_str("# A task that is killed or times out resumes where it stopped when resubmitted.\n");
    s.push_str("# Stage 2, once every task has finished (e.g. sbatch --dependency=afterok:<array job id>):\n");
    s.push_str(&format!(
        "#   {mf} merge --spec {spec} --results {results}\n"
    ));
    s.push_str(&format!("#   {mf} sweep {spec} --results {results}\n"));
    s.push_str("set -euo pipefail\n");
    s.push_str(&format!(
        "{mf} sweep {spec} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --results {results} --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"\n",
        opts.cpus_per_task
    ));
    s
}

/// What [`merge`] did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergeReport {
    /// Records appended to the output.
    pub added: usize,
    /// Records found in more than one input (or already in the output) and kept once.
    pub duplicates: usize,
    /// Keys whose successful records differ between inputs; the first input's record was kept.
    pub conflicts: Vec<JobKey>,
    /// Damaged tails of inputs, ignored (inputs are never modified).
    pub damaged_tails: Vec<(PathBuf, Recovered)>,
    /// Inputs holding no records, not even a complete header (a shard that stopped as it started), skipped.
    pub empty: Vec<PathBuf>,
}

/// The first data fingerprint met for each data set, and the store it was met in.
#[derive(Default)]
struct Fingerprints(BTreeMap<String, (PathBuf, String)>);

impl Fingerprints {
    /// Notes the fingerprint of `rec` (read from `path`), or fails if its data set was seen with another one.
    fn check(&mut self, path: &Path, rec: &Record) -> Result<(), LabError> {
        let Some(fp) = &rec.fingerprint else {
            return Ok(());
        };
        match self.0.get(&rec.key.dataset) {
            None => {
                self.0
                    .insert(rec.key.dataset.clone(), (path.to_path_buf(), fp.clone()));
                Ok(())
            }
            Some((_, seen)) if seen == fp => Ok(()),
            Some((first, seen)) => Err(LabError::DataMismatch {
                dataset: rec.key.dataset.clone(),
                first: first.clone(),
                first_fingerprint: seen.clone(),
                second: path.to_path_buf(),
                second_fingerprint: fp.clone(),
            }),
        }
    }
}

/// Joins the stores `inputs` into the store `output` (created if absent, appended to otherwise): checks that
/// every store belongs to the same spec, keeps one record per key (a successful record over a failure; among
/// successes the first input's), and appends the output's missing keys in key order. `output` may be one of
/// the inputs; empty inputs are skipped. Returns what it did; fails with [`LabError::SpecMismatch`] on stores
/// of different specs, and with [`LabError::DataMismatch`] when two stores (the output included) recorded
/// different data fingerprints for one data set. Nothing is written when it fails.
pub fn merge(inputs: &[PathBuf], output: &Path) -> Result<MergeReport, LabError> {
    let mut report = MergeReport::default();
    let mut spec_hash: Option<(PathBuf, String)> = None;
    let mut chosen: BTreeMap<JobKey, Record> = BTreeMap::new();
    let mut fingerprints = Fingerprints::default();
    for path in inputs {
        let contents = match read_store(path) {
            Ok(c) => c,
            Err(LabError::EmptyStore { .. }) => {
                report.empty.push(path.clone());
                continue;
            }
            Err(e) => return Err(e),
        };
        match &spec_hash {
            None => spec_hash = Some((path.clone(), contents.spec_hash.clone())),
            Some((_, h)) if *h != contents.spec_hash => {
                return Err(LabError::SpecMismatch {
                    path: path.clone(),
                    expected: h.clone(),
                    found: contents.spec_hash,
                })
            }
            Some(_) => {}
        }
        if let Some(t) = contents.damaged_tail {
            report.damaged_tails.push((path.clone(), t));
        }
        for (key, rec) in contents.records {
            fingerprints.check(path, &rec)?;
            match chosen.get(&key) {
                None => {
                    chosen.insert(key, rec);
                }
                Some(prev) => {
                    report.duplicates += 1;
                    match (&prev.outcome, &rec.outcome) {
                        (Outcome::Failed { .. }, Outcome::Done { .. }) => {
                            chosen.insert(key, rec);
                        }
                        (Outcome::Done { .. }, Outcome::Done { .. })
                            if prev.outcome != rec.outcome =>
                        {
                            report.conflicts.push(key);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let Some((_, hash)) = spec_hash else {
        return Err(LabError::InvalidSpec(
            "nothing to merge: no input store holds records".into(),
        ));
    };
    if output.exists() && !inputs.iter().any(|p| p.as_path() == output) {
        // An empty output is started afresh by Store::open below, which also reports any other problem.
        if let Ok(c) = read_store(output) {
            for rec in c.records.values() {
                fingerprints.check(output, rec)?;
            }
        }
    }
    let (mut out, _) = Store::open(output, &hash)?;
    for (key, rec) in chosen {
        let replace = match out.get(&key) {
            None => true,
            Some(existing) => existing.is_failed() && !rec.is_failed(),
        };
        if replace {
            out.append(rec)?;
            report.added += 1;
        } else if !inputs.iter().any(|p| p.as_path() == output) {
            report.duplicates += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{validation_jobs, Evaluator, Job, JobError, JobOutcome, JobProgress, Stage};
    use crate::models::CancelToken;
    use crate::run::{run, Control, RunOptions};
    use crate::spec::Spec;
    use crate::testing::{small_spec, FakeEvaluator};

    #[test]
    fn shards_parse_and_partition_the_job_list() {
        let s: Shard = "2/5".parse().unwrap();
        assert_eq!((s.index, s.count), (2, 5));
        assert_eq!(s.to_string(), "2/5");
        for bad in ["5/5", "1", "a/2", "0/0", "-1/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let n = 4;
        for j in 0..50 {
            let owners = (0..n)
                .filter(|&i| Shard::new(i, n).unwrap().owns(j))
                .count();
            assert_eq!(owners, 1, "job {j} must have exactly one owner");
        }
    }

    #[test]
    fn merged_shards_equal_one_unsharded_run() {
        let spec = small_spec();
        let eval = FakeEvaluator::default();
        let control = Control::new();
        let hash = spec.hash();

        let whole_dir = tempfile::tempdir().unwrap();
        let (mut whole, _) = Store::open(&whole_dir.path().join("store.jsonl"), &hash).unwrap();
        run(
            &spec,
            &mut whole,
            &eval,
            &RunOptions::default(),
            &control,
            &mut |_| {},
        )
        .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let n = 3;
        let mut files = Vec::new();
        for i in 0..n {
            let shard = Shard::new(i, n).unwrap();
            let path = dir.path().join(store_file_name(Some(shard)));
            let (mut store, _) = Store::open(&path, &hash).unwrap();
            let opts = RunOptions {
                threads: 2,
                shard: Some(shard),
                ..RunOptions::default()
            };
            run(&spec, &mut store, &eval, &opts, &control, &mut |_| {}).unwrap();
            assert!(store.records().keys().all(|k| k.stage == Stage::Validation));
            files.push(path);
        }
        let merged_path = dir.path().join("store.jsonl");
        let report = merge(&files, &merged_path).unwrap();
        assert_eq!(report.added, validation_jobs(&spec).len());
        assert_eq!((report.duplicates, report.conflicts.len()), (0, 0));

        // Stage 2: the unsharded run finds the validation done and runs only the final jobs.
        let (mut merged, _) = Store::open(&merged_path, &hash).unwrap();
        let s = run(
            &spec,
            &mut merged,
            &eval,
            &RunOptions::default(),
            &control,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(s.counts.done, spec.datasets.len() * spec.models.len());
        assert_eq!(merged.records(), whole.records());
    }

    #[test]
    fn merging_twice_adds_nothing_and_prefers_successes() {
        let spec = small_spec();
        let hash = spec.hash();
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jsonl");
        let b = dir.path().join("b.jsonl");
        let failing = FakeEvaluator {
            fail_config: Some(0),
            ..FakeEvaluator::default()
        };
        let opts = RunOptions {
            shard: Some(Shard::new(0, 2).unwrap()),
            ..RunOptions::default()
        };
        let (mut sa, _) = Store::open(&a, &hash).unwrap();
        run(
            &spec,
            &mut sa,
            &failing,
            &opts,
            &Control::new(),
            &mut |_| {},
        )
        .unwrap();
        drop(sa);
        // b holds every job (a single shard runs everything), all successful.
        let (mut sb, _) = Store::open(&b, &hash).unwrap();
        let all = RunOptions {
            shard: Some(Shard::new(0, 1).unwrap()),
            ..RunOptions::default()
        };
        run(
            &spec,
            &mut sb,
            &FakeEvaluator::default(),
            &all,
            &Control::new(),
            &mut |_| {},
        )
        .unwrap();
        drop(sb);
        let out = dir.path().join("out.jsonl");
        let r1 = merge(&[a.clone(), b.clone()], &out).unwrap();
        assert!(r1.duplicates > 0);
        assert!(read_store(&out)
            .unwrap()
            .records
            .values()
            .all(|r| !r.is_failed()));
        let r2 = merge(&[a, b], &out).unwrap();
        assert_eq!(r2.added, 0);
    }

    #[test]
    fn stores_of_different_specs_do_not_merge() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jsonl");
        let b = dir.path().join("b.jsonl");
        drop(Store::open(&a, "one").unwrap());
        drop(Store::open(&b, "two").unwrap());
        let err = merge(&[a, b], &dir.path().join("out.jsonl")).unwrap_err();
        assert!(matches!(err, LabError::SpecMismatch { .. }));
    }

    /// A fake evaluator reporting that it computed on the data whose fingerprint is `.0`.
    struct OnData(&'static str, FakeEvaluator);

    impl Evaluator for OnData {
        fn evaluate(
            &self,
            job: &Job,
            progress: &dyn Fn(JobProgress),
            cancel: &CancelToken,
        ) -> Result<JobOutcome, JobError> {
            self.1.evaluate(job, progress, cancel)
        }
        fn data_fingerprint(&self, _dataset: &str) -> Option<String> {
            Some(self.0.to_string())
        }
    }

    /// Runs shard `i` of `n` of `spec` on data `fingerprint` into `dir`, returning its store file.
    fn shard_on(spec: &Spec, dir: &Path, i: usize, n: usize, fingerprint: &'static str) -> PathBuf {
        let shard = Shard::new(i, n).unwrap();
        let path = dir.join(store_file_name(Some(shard)));
        let (mut store, _) = Store::open(&path, &spec.hash()).unwrap();
        let opts = RunOptions {
            threads: 1,
            shard: Some(shard),
            ..RunOptions::default()
        };
        let eval = OnData(fingerprint, FakeEvaluator::default());
        run(spec, &mut store, &eval, &opts, &Control::new(), &mut |_| {}).unwrap();
        path
    }

    #[test]
    fn shards_computed_on_different_data_do_not_merge_and_the_error_names_both() {
        let spec = small_spec();
        let dir = tempfile::tempdir().unwrap();
        let a = shard_on(&spec, dir.path(), 0, 2, "aaaaaaaaaaaaaaaa");
        let b = shard_on(&spec, dir.path(), 1, 2, "bbbbbbbbbbbbbbbb");
        let out = dir.path().join("store.jsonl");
        let err = merge(&[a.clone(), b.clone()], &out).unwrap_err();
        assert!(matches!(err, LabError::DataMismatch { .. }), "{err:?}");
        let msg = err.to_string();
        for p in [&a, &b] {
            assert!(msg.contains(&p.display().to_string()), "{msg}");
        }
        assert!(!out.exists(), "nothing is written when the merge fails");
    }

    #[test]
    fn shards_on_the_same_data_merge_and_keep_their_fingerprint() {
        let spec = small_spec();
        let dir = tempfile::tempdir().unwrap();
        let a = shard_on(&spec, dir.path(), 0, 2, "same");
        let b = shard_on(&spec, dir.path(), 1, 2, "same");
        let out = dir.path().join("store.jsonl");
        merge(&[a, b.clone()], &out).unwrap();
        let merged = read_store(&out).unwrap();
        assert!(merged
            .records
            .values()
            .all(|r| r.fingerprint.as_deref() == Some("same")));
        // The merged store is checked too: a shard recomputed on other data does not join it.
        let c = dir.path().join("late");
        std::fs::create_dir(&c).unwrap();
        let c = shard_on(&spec, &c, 1, 2, "other");
        let err = merge(std::slice::from_ref(&c), &out)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&out.display().to_string()) && err.contains(&c.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn an_empty_shard_store_is_skipped() {
        let spec = small_spec();
        let dir = tempfile::tempdir().unwrap();
        let a = shard_on(&spec, dir.path(), 0, 2, "same");
        let empty = dir.path().join("shard-1-of-2.jsonl");
        std::fs::write(&empty, b"").unwrap();
        let report = merge(&[a, empty.clone()], &dir.path().join("store.jsonl")).unwrap();
        assert_eq!(report.empty, vec![empty]);
        assert!(report.added > 0);
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
        assert!(s.contains("#SBATCH --array=0-7\n"));
        assert!(s.contains("#SBATCH --partition=cpu\n"));
        assert!(s.contains(
            "mf sweep 'specs/table iv.toml' --shard \"$SLURM_ARRAY_TASK_ID/8\" --results results"
        ));
        // Every #SBATCH line precedes the first command, as sbatch requires.
        let first_cmd = s.lines().position(|l| !l.starts_with('#')).unwrap();
        assert!(s.lines().skip(first_cmd).all(|l| !l.starts_with("#SBATCH")));
    }
}
