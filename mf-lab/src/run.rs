//! The run queue: executes a spec's pending jobs on worker threads, storing each result as it arrives.
//!
//! The calling thread coordinates: it owns the [`Store`], hands jobs to workers through a shared queue, receives
//! their results through a channel, appends them to the store, and enqueues a pair's final job as soon as its
//! last validation record arrives. Validation jobs of every pair are queued first, in canonical order; final
//! jobs follow as their selections become known. Progress leaves through the `on_event` callback, called on the
//! coordinating thread only.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::job::{
    validation_jobs, Evaluator, Job, JobError, JobKey, JobOutcome, JobProgress, Stage,
};
use crate::models::CancelToken;
use crate::models::ModelKind;
use crate::protocol::{select, Selection, SelectionState};
use crate::shard::Shard;
use crate::spec::Spec;
use crate::store::{Outcome, Record, Session, Store};
use crate::LabError;

/// How a run executes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunOptions {
    /// Worker threads; 0 (the default) uses every available core, and more than the cores available are
    /// lowered to their number ([`worker_threads`]).
    pub threads: usize,
    /// Run only this slice of the validation jobs (and no final jobs). Default: None, everything.
    pub shard: Option<Shard>,
    /// Run again jobs whose stored record is a failure. Default: false (a failure counts as done).
    pub retry_failed: bool,
}

/// Pause and cancel switches, shared with whoever drives the run (a key handler, a signal handler).
///
/// Pausing stops workers from starting new jobs; running jobs finish. Cancelling starts no more jobs and stops
/// the running ones through their [`CancelToken`] (a trainable model within one epoch); a job stopped so is not
/// stored and runs again when the spec is resumed. [`run`] then returns with [`RunSummary::cancelled`] set.
#[derive(Debug, Default)]
pub struct Control {
    paused: AtomicBool,
    cancelled: AtomicBool,
    token: CancelToken,
}

impl Control {
    /// A control neither paused nor cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Stops starting new jobs until [`Control::resume`].
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }
    /// Starts new jobs again.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
    /// Starts no more jobs and stops the running ones; the run returns once they have stopped.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.token.cancel();
    }
    /// The token handed to every job of the run.
    pub fn token(&self) -> &CancelToken {
        &self.token
    }
    /// Whether paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }
    /// Whether cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// Job counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Jobs this run expects to execute (grows never, shrinks when a pair turns out unselectable).
    pub total: usize,
    /// Jobs finished successfully in this run.
    pub done: usize,
    /// Jobs failed in this run.
    pub failed: usize,
    /// Jobs running now.
    pub running: usize,
    /// Jobs skipped because the store already had them.
    pub skipped: usize,
    /// Estimated time to finish all `total` jobs, from this run's throughput so far.
    pub eta: Option<Duration>,
}

impl Counts {
    /// Jobs finished (successfully or not) in this run.
    pub fn finished(&self) -> usize {
        self.done + self.failed
    }
}

/// A progress event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The plan, before any job starts.
    Planned(Counts),
    /// A worker started a job.
    Started {
        /// The job.
        key: JobKey,
        /// Counts after the start.
        counts: Counts,
    },
    /// A running job reported progress.
    Progress {
        /// The job.
        key: JobKey,
        /// Its report.
        progress: JobProgress,
    },
    /// A job finished and its record is stored.
    Finished {
        /// The stored record.
        record: Record,
        /// Counts after it.
        counts: Counts,
    },
    /// A job failed; its failure is stored.
    Failed {
        /// The job.
        key: JobKey,
        /// The evaluator's message.
        message: String,
        /// Counts after it.
        counts: Counts,
    },
    /// A pair's configuration was selected and its final job queued.
    Selected {
        /// Data set.
        dataset: String,
        /// Model.
        model: ModelKind,
        /// The selection.
        selection: Selection,
    },
    /// Every validation job of a pair failed: it gets no final job.
    Unselectable {
        /// Data set.
        dataset: String,
        /// Model.
        model: ModelKind,
        /// Why.
        reason: String,
    },
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    /// Final counts.
    pub counts: Counts,
    /// Whether the run stopped because of [`Control::cancel`].
    pub cancelled: bool,
    /// Jobs stopped by the cancellation before they finished (not stored; they run again on resume).
    pub interrupted: usize,
}

enum Msg {
    Started(JobKey),
    Progress(JobKey, JobProgress),
    /// The job, its result, the time it took, and the fingerprint of its data when it succeeded.
    Done(
        Box<Job>,
        Result<JobOutcome, JobError>,
        Duration,
        Option<String>,
    ),
}

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

struct Shared<'a> {
    queue: Mutex<Queue>,
    wake: Condvar,
    control: &'a Control,
}

/// The worker threads a run starts when `requested` (0: every core): never more than the cores available to
/// this process, as the jobs are CPU-bound and each thread costs a stack.
pub fn worker_threads(requested: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match requested {
        0 => cores,
        n => n.min(cores),
    }
}

/// Runs every pending job of `spec` (or of `opts.shard`'s slice) with `evaluator`, appending results to
/// `store`, which must be open for `spec` (see [`crate::prepare_spec_dir`]).
///
/// Jobs already in the store are skipped (failed ones too, unless `opts.retry_failed`). A failed job is stored
/// as failed and the others continue. A pair's selection waits for every validation job of the pair that this
/// run executes, retried failures included, so a retry that makes a pair selectable queues its final job.
/// Returns when every job is done, or after [`Control::cancel`] once the running jobs are stored; an error
/// writing the store stops the run and is returned.
pub fn run(
    spec: &Spec,
    store: &mut Store,
    evaluator: &dyn Evaluator,
    opts: &RunOptions,
    control: &Control,
    on_event: &mut dyn FnMut(Event),
) -> Result<RunSummary, LabError> {
    let needs_run = |store: &Store, key: &JobKey| match store.get(key) {
        None => true,
        Some(r) => opts.retry_failed && r.is_failed(),
    };
    let shard = opts.shard.filter(|s| s.count > 1);
    let mut counts = Counts::default();
    let mut initial = VecDeque::new();
    // Validation jobs of each pair that this run executes and that have not finished yet.
    let mut pending: BTreeMap<(String, ModelKind), usize> = BTreeMap::new();
    for (i, job) in validation_jobs(spec).into_iter().enumerate() {
        if shard.is_some_and(|s| !s.owns(i)) {
            continue;
        }
        if needs_run(store, &job.key) {
            *pending
                .entry((job.key.dataset.clone(), job.key.model))
                .or_default() += 1;
            initial.push_back(job);
        } else {
            counts.skipped += 1;
        }
    }
    // Pairs whose final job this run still has to queue, and whose selection is not known yet.
    let mut awaiting: BTreeSet<(String, ModelKind)> = BTreeSet::new();
    let mut announcements = Vec::new();
    if shard.is_none() {
        for dataset in &spec.datasets {
            for &model in &spec.models {
                if pending.contains_key(&(dataset.clone(), model)) {
                    // Records about to be replaced (retried failures) must not decide the selection.
                    awaiting.insert((dataset.clone(), model));
                    continue;
                }
                match select(spec, store.records(), dataset, model) {
                    SelectionState::Incomplete { .. } => {
                        awaiting.insert((dataset.clone(), model));
                    }
                    SelectionState::Unselectable { reason } => {
                        announcements.push(Event::Unselectable {
                            dataset: dataset.clone(),
                            model,
                            reason,
                        });
                    }
                    SelectionState::Selected(sel) => {
                        let job = Job::final_of(spec, dataset, model, sel.config)
                            .expect("selection within the grid");
                        if needs_run(store, &job.key) {
                            initial.push_back(job);
                        } else {
                            counts.skipped += 1;
                        }
                    }
                }
            }
        }
    }
    counts.total = initial.len() + awaiting.len();
    on_event(Event::Planned(counts));
    for e in announcements {
        on_event(e);
    }

    // Resuming on other data would mix two data sets under one name in the selection: refuse before running.
    let datasets: BTreeSet<&str> = initial.iter().map(|j| j.key.dataset.as_str()).collect();
    for dataset in datasets {
        let stored = store
            .records()
            .values()
            .filter(|r| r.key.dataset == dataset)
            .find_map(|r| r.fingerprint.clone());
        if let (Some(stored), Some(now)) = (stored, evaluator.data_fingerprint(dataset)) {
            if stored != now {
                return Err(LabError::DataChanged {
                    store: store.path().to_path_buf(),
                    dataset: dataset.to_string(),
                    stored,
                    now,
                });
            }
        }
    }
    let threads = worker_threads(opts.threads);
    if !initial.is_empty() {
        // Who computes the records about to be stored: the provenance of every table made from them.
        store.begin_session(&Session::now(threads, shard.map(|s| s.to_string())))?;
    }
    let mut in_flight = initial.len();
    let shared = Shared {
        queue: Mutex::new(Queue {
            jobs: initial,
            closed: false,
        }),
        wake: Condvar::new(),
        control,
    };
    let (tx, rx) = mpsc::channel::<Msg>();
    let started = Instant::now();
    let mut fatal: Option<LabError> = None;
    let mut stopping = false;
    let mut interrupted = 0;

    std::thread::scope(|scope| {
        let close = |shared: &Shared, drain: bool| -> usize {
            let mut q = shared.queue.lock().expect("queue lock");
            q.closed = true;
            let drained = if drain { q.jobs.drain(..).count() } else { 0 };
            shared.wake.notify_all();
            drained
        };
        // Every worker is started even when few jobs are queued now: final jobs join the queue later. A thread
        // the system refuses leaves the run to the workers already started.
        let mut started_workers = 0;
        let mut refused = None;
        // Each worker's jobs share the cores with the other workers' (a harvest started inside a job takes its
        // worker's share), so the run never has more busy threads than cores.
        let budget = mf_core::threads::share(threads);
        for i in 0..threads.max(1) {
            let tx = tx.clone();
            let shared = &shared;
            match std::thread::Builder::new()
                .name(format!("mf-worker-{i}"))
                .spawn_scoped(scope, move || {
                    mf_core::threads::with_budget(budget, || worker(shared, evaluator, tx))
                }) {
                Ok(_) => started_workers += 1,
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        if let (0, Some(e)) = (started_workers, refused) {
            close(&shared, true);
            fatal = Some(LabError::Spawn(e));
            return;
        }
        loop {
            if in_flight == 0 {
                close(&shared, false);
                break;
            }
            if !stopping && control.is_cancelled() {
                stopping = true;
                in_flight -= close(&shared, true);
                continue;
            }
            let msg = match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            match msg {
                Msg::Started(key) => {
                    counts.running += 1;
                    on_event(Event::Started { key, counts });
                }
                Msg::Progress(key, progress) => on_event(Event::Progress { key, progress }),
                Msg::Done(job, result, measured, fingerprint) => {
                    in_flight -= 1;
                    counts.running -= 1;
                    if fatal.is_some() {
                        continue;
                    }
                    if control.is_cancelled() && result.as_ref().is_err_and(|e| e.cancelled) {
                        interrupted += 1;
                        continue;
                    }
                    let (outcome, wall) = checked_outcome(&job, result, measured);
                    let mut record = Record::new(&job, outcome, wall.as_secs_f64());
                    if !record.is_failed() {
                        record.fingerprint = fingerprint;
                    }
                    let record = match store.append(record) {
                        Ok(stored) => stored,
                        Err(e) => {
                            fatal = Some(e);
                            stopping = true;
                            in_flight -= close(&shared, true);
                            continue;
                        }
                    };
                    match &record.outcome {
                        Outcome::Done { .. } => counts.done += 1,
                        Outcome::Failed { .. } => counts.failed += 1,
                    }
                    counts.eta = eta(&counts, started.elapsed());
                    let key = record.key.clone();
                    match &record.outcome {
                        Outcome::Failed { message } => on_event(Event::Failed {
                            key: key.clone(),
                            message: message.clone(),
                            counts,
                        }),
                        Outcome::Done { .. } => on_event(Event::Finished { record, counts }),
                    }
                    let pair = (key.dataset.clone(), key.model);
                    if key.stage != Stage::Validation || stopping || !awaiting.contains(&pair) {
                        continue;
                    }
                    if let Some(n) = pending.get_mut(&pair) {
                        *n = n.saturating_sub(1);
                        if *n > 0 {
                            continue;
                        }
                    }
                    match select(spec, store.records(), &key.dataset, key.model) {
                        SelectionState::Incomplete { .. } => {}
                        SelectionState::Unselectable { reason } => {
                            awaiting.remove(&pair);
                            counts.total -= 1;
                            on_event(Event::Unselectable {
                                dataset: pair.0,
                                model: pair.1,
                                reason,
                            });
                        }
                        SelectionState::Selected(selection) => {
                            awaiting.remove(&pair);
                            let job = Job::final_of(spec, &pair.0, pair.1, selection.config)
                                .expect("selection within the grid");
                            on_event(Event::Selected {
                                dataset: pair.0,
                                model: pair.1,
                                selection,
                            });
                            if needs_run(store, &job.key) {
                                in_flight += 1;
                                let mut q = shared.queue.lock().expect("queue lock");
                                q.jobs.push_back(job);
                                shared.wake.notify_one();
                            } else {
                                counts.total -= 1;
                                counts.skipped += 1;
                            }
                        }
                    }
                }
            }
        }
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    counts.eta = None;
    Ok(RunSummary {
        counts,
        cancelled: stopping || control.is_cancelled(),
        interrupted,
    })
}

fn worker(shared: &Shared<'_>, evaluator: &dyn Evaluator, tx: mpsc::Sender<Msg>) {
    loop {
        let job = {
            let mut q = shared.queue.lock().expect("queue lock");
            loop {
                if q.closed && (q.jobs.is_empty() || shared.control.is_cancelled()) {
                    return;
                }
                if !shared.control.is_paused() && !shared.control.is_cancelled() {
                    if let Some(job) = q.jobs.pop_front() {
                        break job;
                    }
                }
                // Pause and cancel flip without notifying the queue, so the wait polls.
                q = shared
                    .wake
                    .wait_timeout(q, Duration::from_millis(50))
                    .expect("queue lock")
                    .0;
            }
        };
        let _ = tx.send(Msg::Started(job.key.clone()));
        let t0 = Instant::now();
        let progress = |p: JobProgress| {
            let _ = tx.send(Msg::Progress(job.key.clone(), p));
        };
        // A panicking evaluator fails its job instead of taking the sweep down.
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            evaluator.evaluate(&job, &progress, shared.control.token())
        }))
        .unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(JobError::new(format!("evaluator panicked: {msg}")))
        });
        let fingerprint = result
            .is_ok()
            .then(|| evaluator.data_fingerprint(&job.key.dataset))
            .flatten();
        let _ = tx.send(Msg::Done(Box::new(job), result, t0.elapsed(), fingerprint));
    }
}

/// Turns an evaluator result into a storable outcome: the wrong number of scores, or a non-finite score (which
/// JSON cannot hold and selection could not rank), fails the job.
fn checked_outcome(
    job: &Job,
    result: Result<JobOutcome, JobError>,
    measured: Duration,
) -> (Outcome, Duration) {
    match result {
        Err(e) => (Outcome::Failed { message: e.message }, measured),
        Ok(o) if o.scores.len() != job.seeds.len() => (
            Outcome::Failed {
                message: format!(
                    "evaluator returned {} scores for {} seeds",
                    o.scores.len(),
                    job.seeds.len()
                ),
            },
            measured,
        ),
        Ok(o) => match o.scores.iter().position(|s| !s.is_finite()) {
            Some(i) => (
                Outcome::Failed {
                    message: format!("non-finite score {} for seed {i}", o.scores[i]),
                },
                o.wall,
            ),
            None => (
                Outcome::Done {
                    metric: o.metric,
                    scores: o.scores,
                    diverged: o.diverged,
                },
                o.wall,
            ),
        },
    }
}

fn eta(counts: &Counts, elapsed: Duration) -> Option<Duration> {
    let finished = counts.finished();
    if finished == 0 {
        return None;
    }
    let remaining = counts.total.saturating_sub(finished);
    Some(elapsed.mul_f64(remaining as f64 / finished as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{small_spec, FakeEvaluator};
    use crate::Metric;
    use std::sync::atomic::AtomicUsize;

    fn run_all(spec: &Spec, store: &mut Store, eval: &dyn Evaluator, threads: usize) -> RunSummary {
        let opts = RunOptions {
            threads,
            ..RunOptions::default()
        };
        run(spec, store, eval, &opts, &Control::new(), &mut |_| {}).unwrap()
    }

    fn open(dir: &std::path::Path, spec: &Spec) -> Store {
        Store::open(&dir.join("store.jsonl"), &spec.hash())
            .unwrap()
            .0
    }

    #[test]
    fn a_run_stores_every_validation_and_final_job() {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let mut store = open(dir.path(), &spec);
        let eval = FakeEvaluator::default();
        let s = run_all(&spec, &mut store, &eval, 3);
        let n_val = validation_jobs(&spec).len();
        let n_pairs = spec.datasets.len() * spec.models.len();
        assert_eq!(s.counts.done, n_val + n_pairs);
        assert_eq!(store.records().len(), n_val + n_pairs);
        assert_eq!(eval.calls(), n_val + n_pairs);
        // Each final job assesses the configuration the fake evaluator makes best.
        for (key, rec) in store.records() {
            if key.stage == Stage::Final {
                let expected = FakeEvaluator::best_config(&spec, &key.dataset, key.model);
                assert_eq!(key.config, expected, "{key}");
                assert_eq!(rec.seeds.len(), spec.trials);
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_the_number_of_threads() {
        let spec = small_spec();
        let eval = FakeEvaluator::default();
        let d1 = tempfile::tempdir().unwrap();
        let d4 = tempfile::tempdir().unwrap();
        let mut s1 = open(d1.path(), &spec);
        let mut s4 = open(d4.path(), &spec);
        run_all(&spec, &mut s1, &eval, 1);
        run_all(&spec, &mut s4, &eval, 4);
        assert_eq!(s1.records(), s4.records());
    }

    #[test]
    fn an_interrupted_run_resumes_without_recomputing() {
        let spec = small_spec();
        let eval = FakeEvaluator::default();
        let reference = tempfile::tempdir().unwrap();
        let mut full = open(reference.path(), &spec);
        run_all(&spec, &mut full, &eval, 2);

        let dir = tempfile::tempdir().unwrap();
        let total = validation_jobs(&spec).len() + spec.datasets.len() * spec.models.len();
        // Cancel once half of the jobs are stored, then drop the store as a crash would.
        let first = {
            let mut store = open(dir.path(), &spec);
            let control = Control::new();
            let stored = AtomicUsize::new(0);
            let opts = RunOptions {
                threads: 2,
                ..RunOptions::default()
            };
            let s = run(&spec, &mut store, &eval, &opts, &control, &mut |e| {
                if let Event::Finished { .. } = e {
                    if stored.fetch_add(1, Ordering::SeqCst) + 1 >= total / 2 {
                        control.cancel();
                    }
                }
            })
            .unwrap();
            assert!(s.cancelled);
            store.records().clone()
        };
        assert!(
            first.len() >= total / 2 && first.len() < total,
            "{} of {total}",
            first.len()
        );
        let calls_before = eval.calls();

        let mut store = open(dir.path(), &spec);
        let s = run_all(&spec, &mut store, &eval, 2);
        assert_eq!(s.counts.skipped, first.len());
        assert_eq!(s.counts.done, total - first.len());
        assert_eq!(
            eval.calls() - calls_before,
            total - first.len(),
            "a stored job was recomputed"
        );
        for (k, r) in &first {
            assert_eq!(store.get(k), Some(r), "a stored record changed");
        }
        assert_eq!(store.records(), full.records());

        // A third run finds nothing to do.
        let calls = eval.calls();
        let s = run_all(&spec, &mut store, &eval, 2);
        assert_eq!((s.counts.total, s.counts.skipped), (0, total));
        assert_eq!(eval.calls(), calls);
    }

    #[test]
    fn failed_jobs_are_stored_and_the_others_continue() {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let mut store = open(dir.path(), &spec);
        let eval = FakeEvaluator {
            fail_config: Some(1),
            ..FakeEvaluator::default()
        };
        let mut failures = Vec::new();
        let opts = RunOptions {
            threads: 2,
            ..RunOptions::default()
        };
        let s = run(&spec, &mut store, &eval, &opts, &Control::new(), &mut |e| {
            if let Event::Failed { key, message, .. } = e {
                failures.push((key, message));
            }
        })
        .unwrap();
        assert!(s.counts.failed > 0);
        assert_eq!(s.counts.failed, failures.len());
        assert!(failures
            .iter()
            .all(|(k, m)| k.config == 1 && m.contains("configured")));
        // Every pair still got a final job, of a configuration that did not fail.
        let finals: Vec<_> = store
            .records()
            .keys()
            .filter(|k| k.stage == Stage::Final)
            .collect();
        assert_eq!(finals.len(), spec.datasets.len() * spec.models.len());
        assert!(finals.iter().all(|k| k.config != 1));

        // Rerunning skips the failures unless asked to retry them.
        let calls = eval.calls();
        run_all(&spec, &mut store, &eval, 2);
        assert_eq!(eval.calls(), calls);
        let fixed = FakeEvaluator::default();
        let opts = RunOptions {
            threads: 2,
            retry_failed: true,
            ..RunOptions::default()
        };
        let s = run(
            &spec,
            &mut store,
            &fixed,
            &opts,
            &Control::new(),
            &mut |_| {},
        )
        .unwrap();
        // The retried jobs ran, and so did the final job of each pair whose best configuration was the failed one.
        let reselected = spec
            .datasets
            .iter()
            .flat_map(|d| spec.models.iter().map(move |&m| (d, m)))
            .filter(|&(d, m)| FakeEvaluator::best_config(&spec, d, m) == 1)
            .count();
        assert_eq!(s.counts.done, failures.len() + reselected);
        assert!(store.records().values().all(|r| !r.is_failed()));
    }

    /// Records the thread budget each job sees.
    struct BudgetProbe(Mutex<Vec<usize>>, FakeEvaluator);

    impl Evaluator for BudgetProbe {
        fn evaluate(
            &self,
            job: &Job,
            progress: &dyn Fn(JobProgress),
            cancel: &CancelToken,
        ) -> Result<JobOutcome, JobError> {
            self.0.lock().unwrap().push(mf_core::threads::available());
            self.1.evaluate(job, progress, cancel)
        }
    }

    #[test]
    fn workers_split_the_cores_so_jobs_never_oversubscribe_them() {
        let cores = mf_core::threads::cores();
        for workers in [1, 2, 3] {
            let dir = tempfile::tempdir().unwrap();
            let spec = small_spec();
            let mut store = open(dir.path(), &spec);
            let probe = BudgetProbe(Mutex::new(Vec::new()), FakeEvaluator::default());
            run_all(&spec, &mut store, &probe, workers);
            let seen = probe.0.into_inner().unwrap();
            assert!(!seen.is_empty());
            let started = worker_threads(workers);
            for b in seen {
                assert_eq!(
                    b,
                    (cores / started).max(1),
                    "{workers} workers on {cores} cores"
                );
                assert!(b * started <= cores.max(started));
            }
        }
        // Outside a run the budget is every core again.
        assert_eq!(mf_core::threads::available(), cores);
    }

    /// Fails every validation job on one data set, as when its files are missing.
    struct MissingData(&'static str, FakeEvaluator);

    impl Evaluator for MissingData {
        fn evaluate(
            &self,
            job: &Job,
            progress: &dyn Fn(JobProgress),
            cancel: &CancelToken,
        ) -> Result<JobOutcome, JobError> {
            if job.key.dataset == self.0 {
                return Err(JobError::new(format!("{} not found", self.0)));
            }
            self.1.evaluate(job, progress, cancel)
        }
    }

    fn final_keys(store: &Store) -> Vec<JobKey> {
        store
            .records()
            .keys()
            .filter(|k| k.stage == Stage::Final)
            .cloned()
            .collect()
    }

    #[test]
    fn a_retry_that_makes_a_pair_selectable_queues_its_final_job_in_the_same_run() {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let mut store = open(dir.path(), &spec);
        let missing = MissingData("FloodModeling1", FakeEvaluator::default());
        let mut unselectable = 0;
        let s = run(
            &spec,
            &mut store,
            &missing,
            &RunOptions::default(),
            &Control::new(),
            &mut |e| unselectable += usize::from(matches!(e, Event::Unselectable { .. })),
        )
        .unwrap();
        assert_eq!(unselectable, spec.models.len());
        assert!(s.counts.failed > 0);
        assert_eq!(
            final_keys(&store).len(),
            spec.models.len(),
            "finals of SyntheticControl only"
        );

        // The data is there now: one retry runs the failed jobs and the finals they make possible.
        let eval = FakeEvaluator::default();
        let retry = RunOptions {
            retry_failed: true,
            ..RunOptions::default()
        };
        let mut events = Vec::new();
        let s = run(
            &spec,
            &mut store,
            &eval,
            &retry,
            &Control::new(),
            &mut |e| events.push(e),
        )
        .unwrap();
        assert_eq!(s.counts.failed, 0);
        assert_eq!(s.counts.done, s.counts.total);
        assert!(!events
            .iter()
            .any(|e| matches!(e, Event::Unselectable { .. })));
        let n_pairs = spec.datasets.len() * spec.models.len();
        assert_eq!(final_keys(&store).len(), n_pairs);
        for k in final_keys(&store) {
            assert_eq!(
                k.config,
                FakeEvaluator::best_config(&spec, &k.dataset, k.model)
            );
        }
        // Nothing is left for a second run.
        let calls = eval.calls();
        let s = run(
            &spec,
            &mut store,
            &eval,
            &retry,
            &Control::new(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((s.counts.total, eval.calls()), (0, calls));
    }

    #[test]
    fn a_retried_configuration_that_turns_out_best_gets_the_final_job() {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let best = FakeEvaluator::best_config(&spec, "SyntheticControl", ModelKind::Esn);
        let mut store = open(dir.path(), &spec);
        let failing = FakeEvaluator {
            fail_config: Some(best),
            ..FakeEvaluator::default()
        };
        run_all(&spec, &mut store, &failing, 2);
        let retry = RunOptions {
            threads: 2,
            retry_failed: true,
            ..RunOptions::default()
        };
        run(
            &spec,
            &mut store,
            &FakeEvaluator::default(),
            &retry,
            &Control::new(),
            &mut |_| {},
        )
        .unwrap();
        let key = JobKey {
            stage: Stage::Final,
            dataset: "SyntheticControl".into(),
            model: ModelKind::Esn,
            config: best,
        };
        assert!(
            store.get(&key).is_some_and(|r| !r.is_failed()),
            "{key} missing"
        );
    }

    #[test]
    fn worker_threads_never_exceed_the_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(worker_threads(0), cores);
        assert_eq!(worker_threads(1), 1);
        assert_eq!(worker_threads(100_000), cores);
        assert_eq!(worker_threads(usize::MAX), cores);
    }

    /// A fake evaluator that reports a fixed data fingerprint.
    struct Fingerprinted(FakeEvaluator);

    impl Evaluator for Fingerprinted {
        fn evaluate(
            &self,
            job: &Job,
            progress: &dyn Fn(JobProgress),
            cancel: &CancelToken,
        ) -> Result<JobOutcome, JobError> {
            self.0.evaluate(job, progress, cancel)
        }
        fn data_fingerprint(&self, dataset: &str) -> Option<String> {
            Some(format!("fp-{dataset}"))
        }
    }

    /// A fake evaluator whose data has fingerprint `.1` for every data set.
    struct OnData(FakeEvaluator, &'static str);

    impl Evaluator for OnData {
        fn evaluate(
            &self,
            job: &Job,
            progress: &dyn Fn(JobProgress),
            cancel: &CancelToken,
        ) -> Result<JobOutcome, JobError> {
            self.0.evaluate(job, progress, cancel)
        }
        fn data_fingerprint(&self, _dataset: &str) -> Option<String> {
            Some(self.1.to_string())
        }
    }

    #[test]
    fn resuming_on_other_data_is_refused_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let mut store = open(dir.path(), &spec);
        // Half the validation jobs, on data "a".
        let half = RunOptions {
            threads: 1,
            shard: Some(Shard::new(0, 2).unwrap()),
            ..RunOptions::default()
        };
        let a = OnData(FakeEvaluator::default(), "a");
        run(&spec, &mut store, &a, &half, &Control::new(), &mut |_| {}).unwrap();
        let stored = store.records().len();
        assert!(stored > 0);
        // Resuming on data "b" fails, naming the data set and both fingerprints, and stores nothing.
        let b = OnData(FakeEvaluator::default(), "b");
        let opts = RunOptions {
            threads: 1,
            ..RunOptions::default()
        };
        let err = run(&spec, &mut store, &b, &opts, &Control::new(), &mut |_| {}).unwrap_err();
        assert!(
            matches!(&err, LabError::DataChanged { stored, now, .. } if stored == "a" && now == "b")
        );
        let msg = err.to_string();
        assert!(msg.contains("--data-dir"), "{msg}");
        assert_eq!(store.records().len(), stored);
        // On the same data it resumes.
        run(&spec, &mut store, &a, &opts, &Control::new(), &mut |_| {}).unwrap();
        assert!(store.records().len() > stored);
    }

    #[test]
    fn successful_records_carry_the_data_fingerprint_and_failures_none() {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let mut store = open(dir.path(), &spec);
        let eval = Fingerprinted(FakeEvaluator {
            fail_config: Some(0),
            ..FakeEvaluator::default()
        });
        run_all(&spec, &mut store, &eval, 2);
        for r in store.records().values() {
            let expected = (!r.is_failed()).then(|| format!("fp-{}", r.key.dataset));
            assert_eq!(r.fingerprint, expected, "{}", r.key);
        }
        // They read back so.
        drop(store);
        let store = open(dir.path(), &spec);
        assert!(store.records().values().any(|r| r.fingerprint.is_some()));
    }

    #[test]
    fn panics_and_bad_scores_fail_only_their_job() {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let mut store = open(dir.path(), &spec);
        let eval = FakeEvaluator {
            panic_config: Some(0),
            nan_config: Some(2),
            ..FakeEvaluator::default()
        };
        let s = run_all(&spec, &mut store, &eval, 2);
        assert!(s.counts.failed > 0 && s.counts.done > 0);
        for r in store.records().values() {
            if let Outcome::Failed { message } = &r.outcome {
                let expected = if r.key.config == 0 {
                    "panicked"
                } else {
                    "non-finite"
                };
                assert!(message.contains(expected), "{message}");
            }
        }
    }

    #[test]
    fn a_paused_run_starts_nothing_until_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let mut store = open(dir.path(), &spec);
        let eval = FakeEvaluator::default();
        let control = Control::new();
        control.pause();
        std::thread::scope(|scope| {
            let c = &control;
            let e = &eval;
            scope.spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                assert_eq!(e.calls(), 0, "a job started while paused");
                c.resume();
            });
            let opts = RunOptions {
                threads: 2,
                ..RunOptions::default()
            };
            let s = run(&spec, &mut store, &eval, &opts, &control, &mut |_| {}).unwrap();
            assert!(!s.cancelled);
        });
        assert!(eval.calls() > 0);
    }

    #[test]
    fn events_count_up_to_the_total_and_report_progress() {
        let dir = tempfile::tempdir().unwrap();
        let spec = small_spec();
        let mut store = open(dir.path(), &spec);
        let eval = FakeEvaluator::default();
        let mut events = Vec::new();
        let opts = RunOptions {
            threads: 2,
            ..RunOptions::default()
        };
        run(&spec, &mut store, &eval, &opts, &Control::new(), &mut |e| {
            events.push(e)
        })
        .unwrap();
        let Event::Planned(plan) = &events[0] else {
            panic!("first event is the plan")
        };
        let last = events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::Finished { counts, .. } => Some(*counts),
                _ => None,
            })
            .unwrap();
        assert_eq!(last.finished(), plan.total);
        assert_eq!(last.eta, Some(Duration::ZERO));
        assert!(events.iter().any(|e| matches!(e, Event::Progress { .. })));
        let selected = events
            .iter()
            .filter(|e| matches!(e, Event::Selected { .. }))
            .count();
        assert_eq!(selected, spec.datasets.len() * spec.models.len());
        assert!(matches!(
            events.iter().find_map(|e| match e {
                Event::Selected { selection, .. } => Some(selection.metric),
                _ => None,
            }),
            Some(Metric::Accuracy | Metric::Rmse)
        ));
    }

    const KILL_CHILD_ENV: &str = "MF_ENGINE_SIGKILL_CHILD_DIR";

    /// Run in a child process by the test below: a slow sweep that gets killed.
    fn slow_sweep_in(dir: &std::path::Path) {
        let spec = small_spec();
        let mut store = open(dir, &spec);
        let eval = FakeEvaluator {
            delay: Duration::from_millis(30),
            ..FakeEvaluator::default()
        };
        run_all(&spec, &mut store, &eval, 2);
    }

    #[test]
    fn a_sweep_killed_with_sigkill_resumes_from_its_store() {
        if let Some(dir) = std::env::var_os(KILL_CHILD_ENV) {
            slow_sweep_in(std::path::Path::new(&dir));
            return;
        }
        let spec = small_spec();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.jsonl");
        // Re-run this very test in a child process, which sweeps instead of spawning.
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "run::tests::a_sweep_killed_with_sigkill_resumes_from_its_store",
                "--test-threads=1",
            ])
            .env(KILL_CHILD_ENV, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        let lines =
            || std::fs::read(&path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
        // The header, the run's session line, then at least 5 records.
        while lines() < 7 && t0.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        // `Child::kill` is SIGKILL on Unix: no destructor, no flush runs in the child.
        child.kill().unwrap();
        child.wait().unwrap();

        let (mut store, _report) = Store::open(&path, &spec.hash()).unwrap();
        let kept = store.records().clone();
        let total = validation_jobs(&spec).len() + spec.datasets.len() * spec.models.len();
        assert!(
            kept.len() >= 5 && kept.len() < total,
            "{} of {total} stored",
            kept.len()
        );

        let eval = FakeEvaluator::default();
        let s = run_all(&spec, &mut store, &eval, 2);
        assert_eq!(s.counts.skipped, kept.len());
        assert_eq!(
            eval.calls(),
            total - kept.len(),
            "a stored job was recomputed"
        );
        let reference = tempfile::tempdir().unwrap();
        let mut full = open(reference.path(), &spec);
        run_all(&spec, &mut full, &FakeEvaluator::default(), 1);
        assert_eq!(store.records(), full.records());
    }
}
