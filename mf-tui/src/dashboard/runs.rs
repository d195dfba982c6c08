//! The sweeps of the queue: their state, their jobs and what the engine reports about them.
//!
//! The Queue, Live and Results tabs all show the selected [`RunEntry`]; the engine's notifications reach it
//! here, whichever tab is shown.

use std::collections::BTreeMap;
use std::time::Duration;

use mf_lab::table::ResultTable;
use mf_lab::{
    select, validation_jobs, Counts, Event, Job, JobKey, JobStep, Metric, Outcome, Record,
    RunSummary, SelectionState, Spec, Stage,
};

use super::action::{Effect, StoredSweep};
use super::app::App;
use super::popup::Popup;

/// Identifies one queued sweep for the lifetime of the dashboard.
pub type RunId = u64;

/// Where a sweep stands.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Waiting for the sweep before it.
    Queued,
    /// Its jobs are running.
    Running,
    /// Running jobs finish; no new ones start.
    Paused,
    /// Every job ran.
    Finished,
    /// Cancelled; stored jobs stay stored.
    Cancelled,
    /// The run stopped with an error.
    Failed(String),
    /// Found in the store at start-up; `complete` says whether every job has a record.
    Stored {
        /// Every job has a record.
        complete: bool,
    },
}

impl RunState {
    /// A one-word description.
    pub fn label(&self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Finished => "finished",
            RunState::Cancelled => "cancelled",
            RunState::Failed(_) => "failed",
            RunState::Stored { complete: true } => "stored",
            RunState::Stored { complete: false } => "unfinished",
        }
    }

    pub(super) fn is_active(&self) -> bool {
        matches!(self, RunState::Running | RunState::Paused)
    }
}

/// Where one job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobState {
    /// Running now.
    Running,
    /// Failed (its message is in [`JobRow::note`]).
    Failed,
    /// Not started.
    Pending,
    /// Finished and stored.
    Done,
}

/// One job of a sweep as the Queue view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    /// Its state.
    pub state: JobState,
    /// Fraction done, from progress events.
    pub fraction: f64,
    /// The latest progress note, or the failure message.
    pub note: String,
    /// When it started (dashboard time).
    pub started: Option<Duration>,
    /// How long it ran, once finished.
    pub elapsed: Option<Duration>,
    /// Mean score once done.
    pub score: Option<f64>,
}

impl JobRow {
    fn pending() -> Self {
        JobRow {
            state: JobState::Pending,
            fraction: 0.0,
            note: String::new(),
            started: None,
            elapsed: None,
            score: None,
        }
    }
}

/// Training curves of one job, parsed from its progress notes (`loss=<x>` and `val=<x>` tokens).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Curves {
    /// `(step, loss)` points.
    pub loss: Vec<(f64, f64)>,
    /// `(step, validation score)` points.
    pub val: Vec<(f64, f64)>,
}

/// One queued sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    /// Its id.
    pub id: RunId,
    /// Short description, e.g. `SyntheticControl x MF-ESN (paper grid)`.
    pub label: String,
    /// The resolved spec it runs.
    pub spec: Spec,
    /// Its state.
    pub state: RunState,
    /// Latest engine counts.
    pub counts: Counts,
    /// When it started (dashboard time).
    pub started: Option<Duration>,
    /// Run again jobs stored as failed.
    pub retry_failed: bool,
    /// Every job of the sweep known so far (validation jobs, then final jobs once selected).
    pub jobs: BTreeMap<JobKey, JobRow>,
    /// Records of finished jobs (from the store and from events).
    pub records: BTreeMap<JobKey, Record>,
    /// Training curves by job.
    pub curves: BTreeMap<JobKey, Curves>,
    /// The job the Live view follows (the latest started).
    pub follow: Option<JobKey>,
    /// When the sweep's clock stopped (dashboard time): the current pause began, or the run ended. None
    /// while it runs.
    pub stopped_since: Option<Duration>,
    /// Time spent paused in earlier pauses; not counted in [`RunEntry::elapsed`].
    pub paused_for: Duration,
}

impl RunEntry {
    pub(super) fn new(id: RunId, label: String, spec: Spec) -> Self {
        let jobs = validation_jobs(&spec)
            .into_iter()
            .map(|j| (j.key, JobRow::pending()))
            .collect();
        RunEntry {
            id,
            label,
            spec,
            state: RunState::Queued,
            counts: Counts::default(),
            started: None,
            retry_failed: false,
            jobs,
            records: BTreeMap::new(),
            curves: BTreeMap::new(),
            follow: None,
            stopped_since: None,
            paused_for: Duration::ZERO,
        }
    }

    /// How long the sweep has run at dashboard time `now`, pauses left out: the clock stops while the
    /// sweep is paused and when it ends. None before it starts.
    pub fn elapsed(&self, now: Duration) -> Option<Duration> {
        let end = self.stopped_since.unwrap_or(now);
        self.started
            .map(|s| end.saturating_sub(s).saturating_sub(self.paused_for))
    }

    pub(super) fn pause(&mut self, now: Duration) {
        self.state = RunState::Paused;
        self.stopped_since.get_or_insert(now);
    }

    pub(super) fn resume(&mut self, now: Duration) {
        self.state = RunState::Running;
        if let Some(since) = self.stopped_since.take() {
            self.paused_for += now.saturating_sub(since);
        }
    }

    /// The jobs as the Queue view lists them: running and failed first, then pending, then finished; within
    /// a state by stage, data set, model and configuration number (#10 after #9).
    pub fn job_order(&self) -> Vec<(&JobKey, &JobRow)> {
        let mut jobs: Vec<_> = self.jobs.iter().collect();
        jobs.sort_by(|(ka, a), (kb, b)| {
            (a.state, ka.stage, &ka.dataset, ka.model, ka.config).cmp(&(
                b.state,
                kb.stage,
                &kb.dataset,
                kb.model,
                kb.config,
            ))
        });
        jobs
    }

    /// Jobs in each state: `(running, failed, pending, done)`.
    pub fn tally(&self) -> (usize, usize, usize, usize) {
        let mut t = (0, 0, 0, 0);
        for row in self.jobs.values() {
            match row.state {
                JobState::Running => t.0 += 1,
                JobState::Failed => t.1 += 1,
                JobState::Pending => t.2 += 1,
                JobState::Done => t.3 += 1,
            }
        }
        t
    }

    /// The best mean validation score so far, with its job, by the data set's metric.
    pub fn best_validation(&self) -> Option<(f64, Metric, &JobKey)> {
        let mut best: Option<(f64, Metric, &JobKey)> = None;
        for (k, r) in &self.records {
            let Outcome::Done { metric, scores, .. } = &r.outcome else {
                continue;
            };
            if k.stage != Stage::Validation || scores.is_empty() {
                continue;
            }
            let m = scores.iter().sum::<f64>() / scores.len() as f64;
            if best.is_none_or(|(b, _, _)| metric.strictly_better(m, b)) {
                best = Some((m, *metric, k));
            }
        }
        best
    }

    /// Table IV of this sweep's records.
    pub fn table(&self) -> ResultTable {
        ResultTable::build(&self.spec, &self.records)
    }

    fn absorb(&mut self, record: Record, now: Duration) {
        let row = self
            .jobs
            .entry(record.key.clone())
            .or_insert_with(JobRow::pending);
        match &record.outcome {
            Outcome::Done {
                scores, diverged, ..
            } => {
                row.state = JobState::Done;
                row.fraction = 1.0;
                row.score =
                    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
                row.note = diverged_note(diverged, scores.len());
            }
            Outcome::Failed { message } => {
                row.state = JobState::Failed;
                row.note = message.clone();
            }
        }
        row.elapsed = row
            .started
            .map(|s| now.saturating_sub(s))
            .or(Some(Duration::from_secs_f64(record.wall_s.max(0.0))));
        self.records.insert(record.key.clone(), record);
    }

    /// Adds the final job of every pair whose selection is known from the records.
    fn add_final_jobs(&mut self) {
        for d in self.spec.datasets.clone() {
            for &m in &self.spec.models {
                if let SelectionState::Selected(s) = select(&self.spec, &self.records, &d, m) {
                    if let Some(job) = Job::final_of(&self.spec, &d, m, s.config) {
                        self.jobs.entry(job.key).or_insert_with(JobRow::pending);
                    }
                }
            }
        }
    }

    fn complete(&self) -> bool {
        self.spec.datasets.iter().all(|d| {
            self.spec
                .models
                .iter()
                .all(|&m| match select(&self.spec, &self.records, d, m) {
                    SelectionState::Incomplete { .. } => false,
                    SelectionState::Unselectable { .. } => true,
                    SelectionState::Selected(s) => Job::final_of(&self.spec, d, m, s.config)
                        .is_none_or(|j| self.records.contains_key(&j.key)),
                })
        })
    }
}

/// The note of a finished job whose training diverged in some trials (empty when none did).
pub fn diverged_note(diverged: &[usize], of: usize) -> String {
    match diverged {
        [] => String::new(),
        [i] if of == 1 => format!("diverged (trial {})", i + 1),
        _ => format!(
            "diverged in {} of {of} trials ({})",
            diverged.len(),
            diverged
                .iter()
                .map(|i| (i + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Lists the sweeps found at start-up and offers to resume the unfinished ones.
pub(super) fn restored(app: &mut App, sweeps: Vec<StoredSweep>) {
    let mut unfinished = Vec::new();
    for s in sweeps {
        let id = app.next_run_id();
        let label = format!(
            "stored {} ({})",
            s.spec.datasets.join(", "),
            s.spec.short_hash()
        );
        let mut entry = RunEntry::new(id, label, s.spec);
        for (_, r) in s.records {
            entry.absorb(r, Duration::ZERO);
        }
        entry.add_final_jobs();
        let complete = entry.complete();
        entry.state = RunState::Stored { complete };
        if !complete {
            unfinished.push(id);
        }
        app.runs.push(entry);
    }
    if !unfinished.is_empty() {
        app.show(Popup::ResumeOffer(unfinished));
    }
}

/// Takes in the records a sweep's store already held when it opened.
pub(super) fn store_opened(app: &mut App, run: RunId, records: BTreeMap<JobKey, Record>) {
    let now = app.now;
    if let Some(entry) = app.run_mut(run) {
        for (_, r) in records {
            entry.absorb(r, now);
        }
        entry.add_final_jobs();
    }
}

/// Closes a sweep whose run returned and starts the next one queued.
pub(super) fn run_ended(
    app: &mut App,
    run: RunId,
    result: Result<RunSummary, String>,
) -> Vec<Effect> {
    let now = app.now;
    let Some(entry) = app.run_mut(run) else {
        return Vec::new();
    };
    // The clock stops at the end (or stays stopped where a pause stopped it).
    entry.stopped_since.get_or_insert(now);
    for row in entry.jobs.values_mut() {
        if row.state == JobState::Running {
            row.state = JobState::Pending;
            row.started = None;
            row.fraction = 0.0;
        }
    }
    let label = entry.label.clone();
    match result {
        Ok(summary) => {
            entry.counts = summary.counts;
            entry.state = if summary.cancelled {
                RunState::Cancelled
            } else {
                RunState::Finished
            };
            app.status = format!(
                "{label}: {} ({} done, {} failed)",
                if summary.cancelled {
                    "cancelled"
                } else {
                    "finished"
                },
                summary.counts.done,
                summary.counts.failed
            );
        }
        Err(e) => {
            entry.state = RunState::Failed(e.clone());
            app.error(format!("{label}: {e}"));
        }
    }
    app.start_next()
}

/// Applies one engine event to its sweep.
pub(super) fn on_event(app: &mut App, run: RunId, event: Event) {
    let now = app.now;
    let mut status = None;
    let mut failure = None;
    let Some(entry) = app.run_mut(run) else {
        return;
    };
    match event {
        Event::Planned(c) => entry.counts = c,
        Event::Started { key, counts } => {
            entry.counts = counts;
            let row = entry
                .jobs
                .entry(key.clone())
                .or_insert_with(JobRow::pending);
            row.state = JobState::Running;
            row.started = Some(now);
            row.fraction = 0.0;
            entry.follow = Some(key);
        }
        Event::Progress { key, progress } => {
            if let JobStep::Epoch {
                epoch,
                train_loss,
                val_metric,
                ..
            } = progress.step
            {
                let curves = entry.curves.entry(key.clone()).or_default();
                if train_loss.is_finite() {
                    curves.loss.push((epoch as f64, train_loss));
                }
                if val_metric.is_finite() {
                    curves.val.push((epoch as f64, val_metric));
                }
            }
            if let Some(row) = entry.jobs.get_mut(&key) {
                row.fraction = progress.fraction.clamp(0.0, 1.0);
                row.note = progress.step.to_string();
            }
        }
        Event::Finished { record, counts } => {
            entry.counts = counts;
            entry.absorb(record, now);
        }
        Event::Failed {
            key,
            message,
            counts,
        } => {
            entry.counts = counts;
            failure = Some(format!("job {key} failed: {message}"));
            // The engine stores the failure; mirror it so selection sees every configuration.
            let job = match key.stage {
                Stage::Validation => {
                    Job::validation(&entry.spec, &key.dataset, key.model, key.config)
                }
                Stage::Final => Job::final_of(&entry.spec, &key.dataset, key.model, key.config),
            };
            if let Some(job) = job {
                let outcome = Outcome::Failed {
                    message: message.clone(),
                };
                entry
                    .records
                    .insert(key.clone(), Record::new(&job, outcome, 0.0));
            }
            let row = entry
                .jobs
                .entry(key.clone())
                .or_insert_with(JobRow::pending);
            row.state = JobState::Failed;
            row.elapsed = row.started.map(|s| now.saturating_sub(s));
            row.note = message;
        }
        Event::Selected {
            dataset,
            model,
            selection,
        } => {
            if let Some(job) = Job::final_of(&entry.spec, &dataset, model, selection.config) {
                entry.jobs.entry(job.key).or_insert_with(JobRow::pending);
            }
            status = Some(format!(
                "{dataset} {model}: selected configuration #{} ({:.4})",
                selection.config, selection.score
            ));
        }
        Event::Unselectable {
            dataset,
            model,
            reason,
        } => status = Some(format!("{dataset} {model}: nothing selectable ({reason})")),
    }
    if let Some(s) = status {
        app.status = s;
    }
    if let Some(f) = failure {
        app.status = f.clone();
        app.log_error(f);
    }
}
