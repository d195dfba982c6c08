//! The dashboard's state, the messages that change it and the effects it asks the runtime to perform.
//!
//! [`update`] is a pure function of the state and one [`Action`]: it never touches files, threads or the
//! terminal. Everything with a side effect leaves as an [`Effect`] and comes back, if it has a result, as an
//! [`Action`].

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use mf_lab::robustness::{Point, Robustness, RobustnessRequest};
use mf_lab::table::{Format, ResultTable};
use mf_lab::{
    select, validation_jobs, Counts, Event, Grid, Job, JobKey, JobProgress, JobStep, Metric,
    ModelKind, Outcome, Record, RunSummary, SelectionState, Spec, Stage,
};

use super::data::{DatasetSummary, ReservoirTrace, StabilityParams, StabilityPicture};
use super::estimate::{estimate, Estimate};
use super::params::{self, fmt_value, typable, ParamField};
use super::robustness::{
    CurveData, CurveEntry, CurveForm, CurveId, CurveState, CURVE_FIXED_FIELDS,
};

/// Identifies one queued sweep for the lifetime of the dashboard.
pub type RunId = u64;

/// The views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Sweeps and their jobs.
    Queue,
    /// Curves of the followed job, grid-search progress and a reservoir trace.
    Live,
    /// Table IV.
    Results,
    /// Jacobian spectrum and the paper's stability verdicts.
    Stability,
    /// Data sets.
    Data,
    /// Test score against one hyper-parameter's levels, run here or read from `mf robustness` files.
    Robustness,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 6] = [
        Tab::Queue,
        Tab::Live,
        Tab::Results,
        Tab::Stability,
        Tab::Data,
        Tab::Robustness,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Queue => "Queue",
            Tab::Live => "Live",
            Tab::Results => "Results",
            Tab::Stability => "Stability",
            Tab::Data => "Data",
            Tab::Robustness => "Robustness",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// A key press, independent of the terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Tab.
    Tab,
    /// Shift-Tab.
    BackTab,
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
}

/// A sweep found in the results directory when the dashboard opens.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSweep {
    /// Its spec (from `spec.toml`).
    pub spec: Spec,
    /// Its records (from `store.jsonl`).
    pub records: BTreeMap<JobKey, Record>,
}

/// A message to [`update`]: a key, a tick of the clock, or the result of an [`Effect`].
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A key was pressed.
    Key(Key),
    /// Time since the dashboard opened (drives elapsed times and redraws).
    Tick(Duration),
    /// The terminal's size in cells, `(width, height)`; bounds the scrolling of long messages.
    Resize(u16, u16),
    /// Sweeps found in the results directory at start-up.
    Restored(Vec<StoredSweep>),
    /// A spec file was read ([`Effect::LoadSpec`]); an `Err` carries the message to show.
    SpecLoaded(Result<Spec, String>),
    /// A sweep's store is open; these records were already in it (those jobs are skipped).
    StoreOpened {
        /// The sweep.
        run: RunId,
        /// The records found.
        records: BTreeMap<JobKey, Record>,
    },
    /// An engine event of a sweep.
    Engine {
        /// The sweep.
        run: RunId,
        /// The event.
        event: Event,
    },
    /// A sweep's run returned (or could not start).
    RunEnded {
        /// The sweep.
        run: RunId,
        /// What it did, or why it stopped.
        result: Result<RunSummary, String>,
    },
    /// A stability picture was computed ([`Effect::ComputeStability`]).
    StabilityComputed {
        /// The configuration it belongs to.
        params: StabilityParams,
        /// The picture, or why there is none.
        result: Result<StabilityPicture, String>,
    },
    /// A file was written ([`Effect::Export`]).
    Exported(Result<PathBuf, String>),
    /// A draw of a robustness curve started ([`Effect::StartCurve`]).
    CurveProgress {
        /// The curve.
        curve: CurveId,
        /// The model id, the level and the draw (its score is not known yet).
        point: Point,
        /// Progress inside the (model, level).
        progress: JobProgress,
    },
    /// A draw of a robustness curve was scored.
    CurvePoint {
        /// The curve.
        curve: CurveId,
        /// The draw.
        point: Point,
    },
    /// A robustness curve's run returned: every level, or why it stopped.
    CurveEnded {
        /// The curve.
        curve: CurveId,
        /// The curves, or the error.
        result: Result<Robustness, String>,
    },
    /// A file of `mf robustness` was read ([`Effect::LoadCurve`]).
    CurveLoaded {
        /// The file or directory asked for.
        path: PathBuf,
        /// What it holds, or why it cannot be shown.
        result: Result<CurveData, String>,
    },
    /// Something outside the dashboard went wrong; shown as an error.
    Error(String),
}

/// A side effect the runtime performs for [`update`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Open the sweep's store (answer with [`Action::StoreOpened`]), then run it on worker threads, sending
    /// [`Action::Engine`] events and finally [`Action::RunEnded`].
    StartRun {
        /// The sweep.
        run: RunId,
        /// What to run.
        spec: Spec,
        /// Run again jobs stored as failed.
        retry_failed: bool,
    },
    /// Stop starting new jobs of the sweep.
    Pause(RunId),
    /// Start new jobs of the sweep again.
    Resume(RunId),
    /// Stop the sweep once its running jobs are stored.
    Cancel(RunId),
    /// Read and parse a spec file; answer with [`Action::SpecLoaded`].
    LoadSpec(PathBuf),
    /// Write `contents` to `path`; answer with [`Action::Exported`].
    Export {
        /// The file.
        path: PathBuf,
        /// Its contents.
        contents: String,
    },
    /// Compute the stability picture; answer with [`Action::StabilityComputed`].
    ComputeStability(StabilityParams),
    /// Run a robustness curve on a worker thread, sending [`Action::CurveProgress`] and [`Action::CurvePoint`]
    /// as draws start and end, then [`Action::CurveEnded`].
    StartCurve {
        /// The curve.
        curve: CurveId,
        /// What to run.
        request: RobustnessRequest,
    },
    /// Stop the curve's run (it ends with [`Action::CurveEnded`]).
    CancelCurve(CurveId),
    /// Read a file (or output directory) of `mf robustness`; answer with [`Action::CurveLoaded`].
    LoadCurve(PathBuf),
    /// Close the dashboard.
    Quit,
}

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

    fn is_active(&self) -> bool {
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
    fn new(id: RunId, label: String, spec: Spec) -> Self {
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

    fn pause(&mut self, now: Duration) {
        self.state = RunState::Paused;
        self.stopped_since.get_or_insert(now);
    }

    fn resume(&mut self, now: Duration) {
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

/// How the Results table is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// The paper's row order.
    Paper,
    /// By data set name.
    Name,
    /// By our mean score of one model column (best first).
    Model(ModelKind),
}

impl SortKey {
    /// The next order: paper order, name, then each of `models` (the columns shown), then paper order again.
    pub fn next(self, models: &[ModelKind]) -> SortKey {
        let model = |i: usize| models.get(i).map_or(SortKey::Paper, |m| SortKey::Model(*m));
        match self {
            SortKey::Paper => SortKey::Name,
            SortKey::Name => model(0),
            SortKey::Model(m) => match models.iter().position(|x| *x == m) {
                Some(i) => model(i + 1),
                None => model(0),
            },
        }
    }

    /// A short description for the interface.
    pub fn label(self) -> String {
        match self {
            SortKey::Paper => "paper order".into(),
            SortKey::Name => "name".into(),
            SortKey::Model(m) => format!("{m} score"),
        }
    }
}

/// Which grid the add-run form uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The paper's Table III grid.
    PaperGrid,
    /// The hyper-parameters the paper selected (Tables V-VIII): a one-configuration grid.
    PaperPreset,
    /// A two-value grid per model, for a quick look.
    Quick,
}

impl Preset {
    const ALL: [Preset; 3] = [Preset::PaperGrid, Preset::PaperPreset, Preset::Quick];

    /// Its name in the form.
    pub fn label(self) -> &'static str {
        match self {
            Preset::PaperGrid => "paper grid",
            Preset::PaperPreset => "paper preset",
            Preset::Quick => "quick grid",
        }
    }
}

/// The models of the add-run form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    /// The paper's four ([`ModelKind::TABLE_ORDER`]).
    Paper,
    /// Every registered model ([`ModelKind::table_order`]).
    Every,
    /// One model, whose every hyper-parameter the form shows.
    One(ModelKind),
}

impl ModelChoice {
    /// Every choice in the order `h`/`l` step through them: the paper's four, every model, then each model.
    pub fn options() -> Vec<ModelChoice> {
        let mut o = vec![ModelChoice::Paper, ModelChoice::Every];
        o.extend(ModelKind::table_order().into_iter().map(ModelChoice::One));
        o
    }

    /// The models chosen, in table order.
    pub fn models(self) -> Vec<ModelKind> {
        match self {
            ModelChoice::Paper => ModelKind::TABLE_ORDER.to_vec(),
            ModelChoice::Every => ModelKind::table_order(),
            ModelChoice::One(m) => vec![m],
        }
    }

    /// Its name in the form.
    pub fn label(self) -> String {
        match self {
            ModelChoice::Paper => format!("the paper's {} models", ModelKind::TABLE_ORDER.len()),
            ModelChoice::Every => format!("all {} models", ModelKind::all().len()),
            ModelChoice::One(m) => m.to_string(),
        }
    }
}

/// The add-run form: data set x model x preset; with one model, every hyper-parameter of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    /// Selected field: 0 data set, 1 model, 2 preset, 3 seed, then [`Form::params`].
    pub field: usize,
    /// Index into the catalog; `None` means every data set.
    pub dataset: Option<usize>,
    /// The models.
    pub models: ModelChoice,
    /// Index into the presets.
    pub preset: usize,
    /// The spec's seed, as typed: every reservoir draw, initialisation and shuffle of the run derives from it.
    pub seed: String,
    /// With one model, one field per hyper-parameter (`param_names()`), filled from the preset: a searched axis
    /// lists its values, the others hold the paper's selection or the model's default. Each field is an axis of
    /// the sweep's grid: several values are searched, an empty field leaves the default.
    pub params: Vec<ParamField>,
    /// Why the form cannot be queued as it stands, checked through the model seam at every change.
    pub error: Option<String>,
}

/// The fields of [`Form`] before its hyper-parameters.
pub const FORM_FIXED_FIELDS: usize = 4;

/// The field of [`Form`] holding the seed, the one typed field before the hyper-parameters.
const FORM_SEED_FIELD: usize = 3;

impl Form {
    /// The default form: the first data set (if any), the paper's four models, the paper grid, the default
    /// seed of a spec.
    pub fn new(has_datasets: bool) -> Form {
        Form {
            field: 0,
            dataset: has_datasets.then_some(0),
            models: ModelChoice::Paper,
            preset: 0,
            seed: Spec::new(Vec::new()).seed.to_string(),
            params: Vec::new(),
            error: None,
        }
    }

    /// Every field: the fixed ones, then the hyper-parameters.
    pub fn n_fields(&self) -> usize {
        FORM_FIXED_FIELDS + self.params.len()
    }

    /// The text of the selected field, if it is typed (the seed or a hyper-parameter).
    fn text_mut(&mut self) -> Option<&mut String> {
        match self.field {
            FORM_SEED_FIELD => Some(&mut self.seed),
            f if f >= FORM_FIXED_FIELDS => Some(&mut self.params[f - FORM_FIXED_FIELDS].text),
            _ => None,
        }
    }
}

/// A long run from the form, waiting for the user's yes.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    /// The sweep's label.
    pub label: String,
    /// What would be queued.
    pub spec: Spec,
    /// Its size and rough duration.
    pub estimate: Estimate,
    /// The form it came from (`n` goes back to it).
    pub form: Form,
}

/// A window over the current view. `Esc` and `q` close every one of them but [`Popup::SpecPath`] and
/// [`Popup::CurvePath`], where `q` is a character of the path.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    /// Every key.
    Help,
    /// Errors to acknowledge, in full: the view wraps them to its width, and `j`/`k` scroll them by
    /// `scroll` rows.
    Error {
        /// The messages, in the order shown.
        messages: Vec<String>,
        /// Rows scrolled past.
        scroll: usize,
    },
    /// The add-run form.
    Form(Form),
    /// The robustness form.
    CurveForm(Box<CurveForm>),
    /// Typing the path of a file (or output directory) of `mf robustness` to show.
    CurvePath(String),
    /// The form's run is long: its job count and estimated duration, to confirm before queueing.
    Confirm(Box<Confirm>),
    /// Typing a spec file path.
    SpecPath(String),
    /// Unfinished sweeps were found: resume them?
    ResumeOffer(Vec<RunId>),
}

impl Popup {
    /// An error popup showing `messages` from the top.
    pub fn errors(messages: Vec<String>) -> Popup {
        Popup::Error {
            messages,
            scroll: 0,
        }
    }
}

/// The Stability view's state.
#[derive(Debug, Clone, PartialEq)]
pub struct StabilityView {
    /// The configuration shown.
    pub params: StabilityParams,
    /// Selected parameter: 0 dt, 1 gamma, 2 s, 3 rho.
    pub field: usize,
    /// The latest picture (for `params` unless `computing`).
    pub picture: Option<Result<StabilityPicture, String>>,
    /// A computation for `params` is under way.
    pub computing: bool,
}

/// The Robustness view's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RobustnessView {
    /// Every curve, run here (in queue order) or opened.
    pub curves: Vec<CurveEntry>,
    /// The curve shown.
    pub selected: usize,
    next_id: CurveId,
}

impl RobustnessView {
    /// The curve shown.
    pub fn current(&self) -> Option<&CurveEntry> {
        self.curves.get(self.selected)
    }

    fn get_mut(&mut self, id: CurveId) -> Option<&mut CurveEntry> {
        self.curves.iter_mut().find(|c| c.id == id)
    }

    fn add(&mut self, make: impl FnOnce(CurveId) -> CurveEntry) {
        self.next_id += 1;
        self.curves.push(make(self.next_id));
        self.selected = self.curves.len() - 1;
    }

    /// Starts the first queued curve unless one runs.
    fn start_next(&mut self) -> Vec<Effect> {
        if self.curves.iter().any(|c| c.is_running()) {
            return Vec::new();
        }
        let Some(c) = self
            .curves
            .iter_mut()
            .find(|c| c.state == CurveState::Queued)
        else {
            return Vec::new();
        };
        c.state = CurveState::Running;
        vec![Effect::StartCurve {
            curve: c.id,
            request: c.request.clone().expect("a queued curve has a request"),
        }]
    }
}

/// The whole dashboard state; [`super::view`] draws it and [`update`] changes it.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// The view shown.
    pub tab: Tab,
    /// Time since the dashboard opened.
    pub now: Duration,
    /// Where results are stored (exports go there too).
    pub results_dir: PathBuf,
    /// Every sweep, in queue order.
    pub runs: Vec<RunEntry>,
    /// Selected sweep (Queue, Live and Results show it).
    pub selected: usize,
    /// Selected row of the Queue view's job list ([`RunEntry::job_order`]); Enter opens its failure.
    pub job_sel: usize,
    /// Data sets of the catalog that loaded.
    pub datasets: Vec<DatasetSummary>,
    /// Data sets of the catalog that could not be loaded, each with its [`DatasetSummary::error`].
    pub unloadable: Vec<DatasetSummary>,
    /// Selected row in the Data view: the loaded data sets, then the unloadable ones.
    pub dataset_sel: usize,
    /// Reservoir trace for the Live view.
    pub trace: Option<ReservoirTrace>,
    /// Results ordering.
    pub sort: SortKey,
    /// Stability view state.
    pub stability: StabilityView,
    /// Robustness view state.
    pub robustness: RobustnessView,
    /// A popup over the view.
    pub popup: Option<Popup>,
    /// Popups waiting for the one shown to close (e.g. an error arriving while the form is open).
    pub queued_popups: VecDeque<Popup>,
    /// The status line.
    pub status: String,
    /// Every error and job failure so far, oldest first (the latest [`MAX_ERRORS`]); `e` shows them.
    pub errors: Vec<String>,
    /// The terminal's size, `(width, height)`, from [`Action::Resize`]. Default 80 x 24.
    pub screen: (u16, u16),
    /// Set once the user quits.
    pub quit: bool,
    next_id: RunId,
}

/// Errors kept for `e`.
pub const MAX_ERRORS: usize = 200;

impl App {
    /// A dashboard over `datasets` (those with an [`DatasetSummary::error`] are listed as unloadable),
    /// storing results under `results_dir`.
    pub fn new(results_dir: PathBuf, datasets: Vec<DatasetSummary>) -> Self {
        let (unloadable, datasets) = datasets.into_iter().partition(|d| d.error.is_some());
        App {
            tab: Tab::Queue,
            now: Duration::ZERO,
            results_dir,
            runs: Vec::new(),
            selected: 0,
            job_sel: 0,
            datasets,
            unloadable,
            dataset_sel: 0,
            trace: None,
            sort: SortKey::Paper,
            stability: StabilityView {
                params: StabilityParams::default(),
                field: 0,
                picture: None,
                computing: false,
            },
            robustness: RobustnessView::default(),
            popup: None,
            queued_popups: VecDeque::new(),
            status: "press ? for keys".into(),
            errors: Vec::new(),
            screen: (80, 24),
            quit: false,
            next_id: 1,
        }
    }

    /// The selected sweep.
    pub fn current(&self) -> Option<&RunEntry> {
        self.runs.get(self.selected)
    }

    /// Whether a sweep is running or paused (the next sweep waits for it).
    pub fn busy(&self) -> bool {
        self.runs.iter().any(|r| r.state.is_active())
    }

    fn run_mut(&mut self, id: RunId) -> Option<&mut RunEntry> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    fn error(&mut self, msg: String) {
        self.status = format!("error: {msg}");
        self.log_error(msg.clone());
        self.show(Popup::errors(vec![msg]));
    }

    fn log_error(&mut self, msg: String) {
        self.errors.push(msg);
        let extra = self.errors.len().saturating_sub(MAX_ERRORS);
        self.errors.drain(..extra);
    }

    /// Shows `popup`, or queues it behind the one shown. Errors join an error popup shown or queued, so that
    /// several errors (e.g. two bad spec files at start-up) are all seen.
    fn show(&mut self, popup: Popup) {
        let Popup::Error { messages: more, .. } = popup else {
            if self.popup.is_none() {
                self.popup = Some(popup);
            } else {
                self.queued_popups.push_back(popup);
            }
            return;
        };
        let shown = self.popup.is_some();
        let waiting = self
            .popup
            .iter_mut()
            .chain(self.queued_popups.iter_mut())
            .find_map(|p| match p {
                Popup::Error { messages, .. } => Some(messages),
                _ => None,
            });
        match waiting {
            Some(messages) => messages.extend(more),
            None if shown => self.queued_popups.push_back(Popup::errors(more)),
            None => self.popup = Some(Popup::errors(more)),
        }
    }

    /// Adds a sweep to the queue and starts it if nothing runs.
    pub fn enqueue(&mut self, label: String, spec: Spec, retry_failed: bool) -> Vec<Effect> {
        let spec = spec.resolved();
        if let Err(e) = spec.check() {
            self.error(e.to_string());
            return Vec::new();
        }
        let missing: Vec<&String> = spec
            .datasets
            .iter()
            .filter(|d| !self.datasets.is_empty() && !self.datasets.iter().any(|s| &s.name == *d))
            .collect();
        if !missing.is_empty() {
            // The evaluator may still resolve it; say so rather than refuse.
            self.status = format!(
                "warning: data set {} not in the catalog",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        } else {
            self.status = format!("queued {label}");
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut entry = RunEntry::new(id, label, spec);
        entry.retry_failed = retry_failed;
        self.runs.push(entry);
        if self.runs.len() == 1 {
            self.selected = 0;
        }
        self.start_next()
    }

    fn start_next(&mut self) -> Vec<Effect> {
        if self.busy() {
            return Vec::new();
        }
        let now = self.now;
        let Some(entry) = self.runs.iter_mut().find(|r| r.state == RunState::Queued) else {
            return Vec::new();
        };
        entry.state = RunState::Running;
        entry.started = Some(now);
        entry.stopped_since = None;
        entry.paused_for = Duration::ZERO;
        vec![Effect::StartRun {
            run: entry.id,
            spec: entry.spec.clone(),
            retry_failed: entry.retry_failed,
        }]
    }

    fn form_spec(&self, form: &Form) -> Result<(String, Spec), String> {
        let datasets: Vec<String> = match form.dataset {
            Some(i) => vec![self
                .datasets
                .get(i)
                .ok_or("no data set in the catalog")?
                .name
                .clone()],
            None if self.datasets.is_empty() => return Err("no data set in the catalog".into()),
            None => self.datasets.iter().map(|d| d.name.clone()).collect(),
        };
        let preset = Preset::ALL[form.preset];
        let models = form.models.models();
        let mut spec = match preset {
            Preset::PaperGrid => Spec::paper_grid(datasets, models),
            Preset::Quick => Spec::quick(datasets, models),
            Preset::PaperPreset => Spec::paper_preset(datasets, models),
        }
        .map_err(|e| e.to_string())?;
        let default_seed = spec.seed;
        spec.seed = params::parse_seed(&form.seed)?;
        let d = form
            .dataset
            .and_then(|i| self.datasets.get(i))
            .map_or("all data sets".to_string(), |d| d.name.clone());
        let mut label = format!("{d} x {} ({}", form.models.label(), preset.label());
        if let ModelChoice::One(m) = form.models {
            let grid = field_grid(m, &form.params, &spec)?;
            spec.grid.insert(m, grid);
            spec.check().map_err(|e| e.to_string())?;
            let edited: Vec<String> = form
                .params
                .iter()
                .filter(|f| f.edited())
                .map(|f| format!("{}={}", f.name, f.text.replace(' ', "")))
                .collect();
            if !edited.is_empty() {
                label.push_str(&format!("; {}", edited.join(" ")));
            }
        }
        if spec.seed != default_seed {
            label.push_str(&format!("; seed {}", spec.seed));
        }
        label.push(')');
        Ok((label, spec))
    }

    /// Fills the hyper-parameter fields of `form` from its preset (one model only: several have none), and
    /// checks it.
    fn fill_form(&self, form: &mut Form) {
        form.params = match form.models {
            ModelChoice::One(m) => {
                let fill: Vec<(String, Vec<f64>)> = match Preset::ALL[form.preset] {
                    Preset::PaperGrid => m.paper_grid().axes().to_vec(),
                    Preset::Quick => m.model().quick_grid().axes().to_vec(),
                    Preset::PaperPreset => form
                        .dataset
                        .and_then(|i| self.datasets.get(i))
                        .and_then(|d| m.model().preset(&d.name))
                        .map(|p| p.into_iter().map(|(k, v)| (k, vec![v])).collect())
                        .unwrap_or_default(),
                };
                let mut defaults = params::defaults(m);
                // A job whose grid leaves `n_units` out takes the spec's.
                defaults.insert("n_units".into(), Spec::new(Vec::new()).n_units as f64);
                params::fields(m, &fill, &defaults, &[])
            }
            _ => Vec::new(),
        };
        form.field = form.field.min(form.n_fields() - 1);
        form.error = self.form_spec(form).err();
    }

    fn export(&mut self, format: Format) -> Vec<Effect> {
        let Some(run) = self.current() else {
            self.error("no sweep to export".into());
            return Vec::new();
        };
        let ext = match format {
            Format::Markdown => "md",
            Format::Csv => "csv",
            Format::Latex => "tex",
        };
        let path = self
            .results_dir
            .join(run.spec.short_hash())
            .join(format!("table-iv.{ext}"));
        vec![Effect::Export {
            path,
            contents: run.table().render(format),
        }]
    }
}

/// The grid of model `m` from the form's fields: the axes of the preset's grid (`spec`'s) in their order, then
/// every other field that lists several values or one other than the default. Each configuration is checked by
/// the model as its job would build it (with the spec's `n_units` unless set): an invalid value gives the
/// message `mf run --set` gives, prefixed by the configuration when the grid has several.
fn field_grid(m: ModelKind, fields: &[ParamField], spec: &Spec) -> Result<Grid, String> {
    let base = spec.grid_for(m);
    let in_base = |f: &&ParamField| base.axes().iter().any(|(n, _)| *n == f.name);
    let mut order: Vec<&ParamField> = base
        .axes()
        .iter()
        .filter_map(|(n, _)| fields.iter().find(|f| f.name == *n))
        .collect();
    order.extend(fields.iter().filter(|f| !in_base(f)));
    let mut axes = Vec::new();
    for f in order {
        let values = f.values()?;
        let keep = match values[..] {
            [] => false,
            [v] => in_base(&f) || Some(v) != f.default,
            _ => true,
        };
        if keep {
            axes.push((f.name.clone(), values));
        }
    }
    let grid = Grid::new(axes).map_err(|e| e.to_string())?;
    for p in grid.configs() {
        let mut job = p.clone();
        job.entry("n_units".into()).or_insert(spec.n_units as f64);
        if let Err(e) = m.model().configure(&job) {
            if grid.len() == 1 {
                return Err(e.to_string());
            }
            let values: Vec<String> = p
                .iter()
                .map(|(k, v)| format!("{k} = {}", fmt_value(*v)))
                .collect();
            return Err(format!("{m} with {}: {e}", values.join(", ")));
        }
    }
    Ok(grid)
}

/// Applies one action to the state and returns the effects the runtime must perform. Does no I/O.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(k) => on_key(app, k),
        Action::Tick(now) => {
            app.now = now;
            Vec::new()
        }
        Action::Resize(width, height) => {
            app.screen = (width, height);
            Vec::new()
        }
        Action::Restored(sweeps) => {
            let mut unfinished = Vec::new();
            for s in sweeps {
                let id = app.next_id;
                app.next_id += 1;
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
            Vec::new()
        }
        Action::SpecLoaded(Ok(spec)) => {
            let label = format!(
                "{} x {}",
                spec.datasets.join(", "),
                spec.models
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            app.enqueue(label, spec, false)
        }
        Action::SpecLoaded(Err(e)) => {
            app.error(e);
            Vec::new()
        }
        Action::StoreOpened { run, records } => {
            let now = app.now;
            if let Some(entry) = app.run_mut(run) {
                for (_, r) in records {
                    entry.absorb(r, now);
                }
                entry.add_final_jobs();
            }
            Vec::new()
        }
        Action::Engine { run, event } => {
            on_event(app, run, event);
            Vec::new()
        }
        Action::RunEnded { run, result } => {
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
        Action::StabilityComputed { params, result } => {
            if params == app.stability.params {
                app.stability.computing = false;
                if let Err(e) = &result {
                    app.status = format!("error: stability: {e}");
                }
                app.stability.picture = Some(result);
            }
            Vec::new()
        }
        Action::CurveProgress {
            curve,
            point,
            progress,
        } => {
            if let Some(c) = app.robustness.get_mut(curve) {
                let of = c.request.as_ref().map_or(0, |r| r.draws);
                c.note = format!(
                    "{} {} = {}: {}",
                    super::robustness::model_name(&point.model),
                    point.param,
                    fmt_value(point.value),
                    match progress.step {
                        JobStep::Draw { index, .. } => format!("draw {index}/{of}"),
                        step => step.to_string(),
                    }
                );
            }
            Vec::new()
        }
        Action::CurvePoint { curve, point } => {
            if let Some(c) = app.robustness.get_mut(curve) {
                c.add_point(point);
            }
            Vec::new()
        }
        Action::CurveEnded { curve, result } => {
            let Some(c) = app.robustness.get_mut(curve) else {
                return Vec::new();
            };
            let label = c.label.clone();
            match result {
                Ok(r) => {
                    c.state = CurveState::Done;
                    c.fraction = 1.0;
                    c.note.clear();
                    c.metric = Some(r.metric);
                    c.dataset = r.dataset;
                    c.points = r.points;
                    c.levels = r.levels;
                    app.status = format!("{label}: done in {:.1} s", r.wall_s);
                }
                Err(_) if c.cancelling => {
                    c.state = CurveState::Cancelled;
                    app.status = format!("{label}: cancelled");
                }
                Err(e) => {
                    c.state = CurveState::Failed(e.clone());
                    app.error(format!("{label}: {e}"));
                }
            }
            app.robustness.start_next()
        }
        Action::CurveLoaded { path, result } => {
            match result {
                Ok(data) => {
                    app.status = format!("opened {}", path.display());
                    app.tab = Tab::Robustness;
                    app.robustness.add(|id| CurveEntry::opened(id, path, data));
                }
                Err(e) => app.error(e),
            }
            Vec::new()
        }
        Action::Exported(Ok(path)) => {
            app.status = format!("wrote {}", path.display());
            Vec::new()
        }
        Action::Exported(Err(e)) | Action::Error(e) => {
            app.error(e);
            Vec::new()
        }
    }
}

fn on_event(app: &mut App, run: RunId, event: Event) {
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

fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
    if let Some(popup) = app.popup.take() {
        let effects = on_popup_key(app, popup, key);
        if app.popup.is_none() {
            app.popup = app.queued_popups.pop_front();
        }
        return effects;
    }
    match key {
        Key::Char('q') => {
            app.quit = true;
            return vec![Effect::Quit];
        }
        Key::Char('?') => {
            app.popup = Some(Popup::Help);
            return Vec::new();
        }
        Key::Char('e') => {
            if app.errors.is_empty() {
                app.status = "no error so far".into();
            } else {
                app.popup = Some(Popup::errors(app.errors.iter().rev().cloned().collect()));
            }
            return Vec::new();
        }
        Key::Tab => {
            app.tab = Tab::ALL[(app.tab.index() + 1) % Tab::ALL.len()];
            return tab_entered(app);
        }
        Key::BackTab => {
            app.tab = Tab::ALL[(app.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()];
            return tab_entered(app);
        }
        Key::Char(c @ '1'..='9') if (c as usize - '1' as usize) < Tab::ALL.len() => {
            app.tab = Tab::ALL[c as usize - '1' as usize];
            return tab_entered(app);
        }
        _ => {}
    }
    match app.tab {
        Tab::Queue => queue_key(app, key),
        Tab::Live => {
            select_run_key(app, key);
            Vec::new()
        }
        Tab::Results => results_key(app, key),
        Tab::Stability => stability_key(app, key),
        Tab::Robustness => robustness_key(app, key),
        Tab::Data => {
            let n = app.datasets.len() + app.unloadable.len();
            match key {
                Key::Down | Key::Char('j') => {
                    app.dataset_sel = (app.dataset_sel + 1).min(n.saturating_sub(1))
                }
                Key::Up | Key::Char('k') => app.dataset_sel = app.dataset_sel.saturating_sub(1),
                _ => {}
            }
            Vec::new()
        }
    }
}

fn robustness_key(app: &mut App, key: Key) -> Vec<Effect> {
    let rb = &mut app.robustness;
    let n = rb.curves.len();
    match key {
        Key::Down | Key::Char('j') | Key::Char(']') => {
            rb.selected = (rb.selected + 1).min(n.saturating_sub(1))
        }
        Key::Up | Key::Char('k') | Key::Char('[') => rb.selected = rb.selected.saturating_sub(1),
        Key::Char('a') => {
            if app.datasets.is_empty() {
                app.error("no data set in the catalog: a robustness curve needs one".into());
                return Vec::new();
            }
            let mut form = CurveForm::new(&app.datasets);
            form.error = form.request(&app.datasets).err();
            app.popup = Some(Popup::CurveForm(Box::new(form)));
        }
        Key::Char('o') => app.popup = Some(Popup::CurvePath(String::new())),
        Key::Char('c') => {
            let Some(c) = rb.curves.get_mut(rb.selected) else {
                return Vec::new();
            };
            match c.state {
                CurveState::Running => {
                    c.cancelling = true;
                    app.status = "cancelling the curve: the draw under way stops".into();
                    return vec![Effect::CancelCurve(c.id)];
                }
                CurveState::Queued => {
                    let id = c.id;
                    rb.curves.retain(|c| c.id != id);
                    rb.selected = rb.selected.min(rb.curves.len().saturating_sub(1));
                    app.status = "removed from the queue".into();
                }
                _ => app.status = "the curve is not running".into(),
            }
        }
        _ => {}
    }
    Vec::new()
}

fn tab_entered(app: &mut App) -> Vec<Effect> {
    if app.tab == Tab::Stability && app.stability.picture.is_none() && !app.stability.computing {
        app.stability.computing = true;
        return vec![Effect::ComputeStability(app.stability.params)];
    }
    Vec::new()
}

/// `[` and `]` (and h/l outside the Queue) choose the sweep.
fn select_run_key(app: &mut App, key: Key) -> bool {
    let n = app.runs.len();
    match key {
        Key::Char(']') | Key::Right | Key::Char('l') if n > 0 => {
            app.selected = (app.selected + 1).min(n - 1);
            app.job_sel = 0;
            true
        }
        Key::Char('[') | Key::Left | Key::Char('h') => {
            app.selected = app.selected.saturating_sub(1);
            app.job_sel = 0;
            true
        }
        _ => false,
    }
}

fn queue_key(app: &mut App, key: Key) -> Vec<Effect> {
    if select_run_key(app, key) {
        return Vec::new();
    }
    let current = app.current().map(|r| (r.id, r.state.clone()));
    match key {
        Key::Down | Key::Char('j') => {
            let n = app.current().map_or(0, |r| r.jobs.len());
            app.job_sel = (app.job_sel + 1).min(n.saturating_sub(1));
            Vec::new()
        }
        Key::Up | Key::Char('k') => {
            app.job_sel = app.job_sel.saturating_sub(1);
            Vec::new()
        }
        Key::Enter => {
            let failure = app.current().and_then(|r| {
                let jobs = r.job_order();
                let (key, row) = jobs.get(app.job_sel)?;
                Some((key.to_string(), row.state, row.note.clone()))
            });
            match failure {
                Some((key, JobState::Failed, note)) => {
                    app.popup = Some(Popup::errors(vec![format!("job {key} failed: {note}")]));
                }
                Some((key, ..)) => {
                    app.status = format!("job {key} has not failed: nothing to open")
                }
                None => {}
            }
            Vec::new()
        }
        Key::Char('a') => {
            let mut form = Form::new(!app.datasets.is_empty());
            app.fill_form(&mut form);
            app.popup = Some(Popup::Form(form));
            Vec::new()
        }
        Key::Char('o') => {
            app.popup = Some(Popup::SpecPath(String::new()));
            Vec::new()
        }
        Key::Char('p') => match current {
            Some((id, RunState::Running)) => {
                let now = app.now;
                app.run_mut(id).expect("selected").pause(now);
                app.status = "paused: running jobs finish, no new ones start".into();
                vec![Effect::Pause(id)]
            }
            Some((id, RunState::Paused)) => {
                let now = app.now;
                app.run_mut(id).expect("selected").resume(now);
                app.status = "resumed".into();
                vec![Effect::Resume(id)]
            }
            _ => {
                app.status = "nothing running to pause".into();
                Vec::new()
            }
        },
        Key::Char('c') => match current {
            Some((id, s)) if s.is_active() => {
                app.status =
                    "cancelling: running jobs stop and run again when the sweep is resumed".into();
                vec![Effect::Cancel(id)]
            }
            Some((id, RunState::Queued)) => {
                app.runs.retain(|r| r.id != id);
                app.selected = app.selected.min(app.runs.len().saturating_sub(1));
                app.status = "removed from the queue".into();
                Vec::new()
            }
            _ => Vec::new(),
        },
        Key::Char('r') => match current {
            Some((_, s)) if s.is_active() || s == RunState::Queued => {
                app.status = "already queued".into();
                Vec::new()
            }
            Some((_, s)) => {
                let entry = app.current().expect("selected");
                let (label, spec) = (entry.label.clone(), entry.spec.clone());
                // Jobs already stored are skipped by the engine; failed ones run again.
                let retry = !matches!(s, RunState::Stored { .. } | RunState::Cancelled);
                app.enqueue(label, spec, retry)
            }
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn on_popup_key(app: &mut App, popup: Popup, key: Key) -> Vec<Effect> {
    let closes = matches!(key, Key::Esc | Key::Char('q'));
    match popup {
        Popup::Help => {
            if !(closes || matches!(key, Key::Enter | Key::Char('?'))) {
                app.popup = Some(popup);
            }
            Vec::new()
        }
        Popup::Error { messages, scroll } => {
            let last = super::view::error_scroll_max(&messages, app.screen);
            let scroll = match key {
                _ if closes => return Vec::new(),
                Key::Enter | Key::Char('?') => return Vec::new(),
                Key::Down | Key::Char('j') => (scroll + 1).min(last),
                Key::Up | Key::Char('k') => scroll.saturating_sub(1).min(last),
                _ => scroll,
            };
            app.popup = Some(Popup::Error { messages, scroll });
            Vec::new()
        }
        Popup::Confirm(c) => match key {
            Key::Char('y') | Key::Enter => app.enqueue(c.label, c.spec, false),
            Key::Char('n') => {
                app.popup = Some(Popup::Form(c.form));
                Vec::new()
            }
            _ if closes => Vec::new(),
            _ => {
                app.popup = Some(Popup::Confirm(c));
                Vec::new()
            }
        },
        Popup::ResumeOffer(ids) => match key {
            Key::Char('y') | Key::Enter => {
                let mut effects = Vec::new();
                for id in ids {
                    if let Some(e) = app.run_mut(id) {
                        e.state = RunState::Queued;
                    }
                }
                effects.extend(app.start_next());
                app.status = "resuming unfinished sweeps".into();
                effects
            }
            Key::Char('n') => Vec::new(),
            _ if closes => Vec::new(),
            _ => {
                app.popup = Some(Popup::ResumeOffer(ids));
                Vec::new()
            }
        },
        Popup::SpecPath(mut path) => match key {
            Key::Esc => Vec::new(),
            Key::Enter if !path.trim().is_empty() => {
                vec![Effect::LoadSpec(PathBuf::from(path.trim()))]
            }
            Key::Backspace => {
                path.pop();
                app.popup = Some(Popup::SpecPath(path));
                Vec::new()
            }
            Key::Char(c) => {
                path.push(c);
                app.popup = Some(Popup::SpecPath(path));
                Vec::new()
            }
            _ => {
                app.popup = Some(Popup::SpecPath(path));
                Vec::new()
            }
        },
        Popup::Form(mut form) => {
            match key {
                _ if closes => return Vec::new(),
                Key::Enter => {
                    return match app.form_spec(&form) {
                        Ok((label, spec)) => {
                            let estimate = estimate(&spec, &app.datasets);
                            if estimate.is_long() {
                                app.popup = Some(Popup::Confirm(Box::new(Confirm {
                                    label,
                                    spec,
                                    estimate,
                                    form,
                                })));
                                Vec::new()
                            } else {
                                app.enqueue(label, spec, false)
                            }
                        }
                        Err(e) => {
                            // The message stays in the form, beside the values to fix.
                            app.status = format!("error: {e}");
                            app.log_error(e.clone());
                            form.error = Some(e);
                            app.popup = Some(Popup::Form(form));
                            Vec::new()
                        }
                    };
                }
                Key::Down | Key::Char('j') | Key::Tab => {
                    form.field = (form.field + 1) % form.n_fields()
                }
                Key::Up | Key::Char('k') | Key::BackTab => {
                    form.field = (form.field + form.n_fields() - 1) % form.n_fields()
                }
                Key::Left | Key::Char('h') | Key::Right | Key::Char('l')
                    if form.field < FORM_SEED_FIELD =>
                {
                    let up = matches!(key, Key::Right | Key::Char('l'));
                    let refill = match form.field {
                        0 => {
                            form.dataset = cycle_option(form.dataset, app.datasets.len(), up);
                            Preset::ALL[form.preset] == Preset::PaperPreset
                        }
                        1 => {
                            let options = ModelChoice::options();
                            let i = options.iter().position(|c| *c == form.models).unwrap_or(0);
                            form.models = options[cycle(i, options.len(), up)];
                            true
                        }
                        _ => {
                            form.preset = cycle(form.preset, Preset::ALL.len(), up);
                            true
                        }
                    };
                    if refill {
                        app.fill_form(&mut form);
                    } else {
                        form.error = app.form_spec(&form).err();
                    }
                }
                Key::Char(c) if form.field >= FORM_SEED_FIELD && typable(c) => {
                    if let Some(text) = form.text_mut() {
                        text.push(c);
                    }
                    form.error = app.form_spec(&form).err();
                }
                Key::Backspace if form.field >= FORM_SEED_FIELD => {
                    if let Some(text) = form.text_mut() {
                        text.pop();
                    }
                    form.error = app.form_spec(&form).err();
                }
                _ => {}
            }
            app.popup = Some(Popup::Form(form));
            Vec::new()
        }
        Popup::CurveForm(mut form) => {
            match key {
                _ if closes => return Vec::new(),
                Key::Enter => match form.request(&app.datasets) {
                    Ok((label, request)) => {
                        app.status = format!("queued {label}");
                        app.tab = Tab::Robustness;
                        app.robustness
                            .add(|id| CurveEntry::queued(id, label, request));
                        return app.robustness.start_next();
                    }
                    Err(e) => {
                        app.status = format!("error: {e}");
                        app.log_error(e.clone());
                        form.error = Some(e);
                    }
                },
                Key::Down | Key::Char('j') | Key::Tab => {
                    form.field = (form.field + 1) % form.n_fields()
                }
                Key::Up | Key::Char('k') | Key::BackTab => {
                    form.field = (form.field + form.n_fields() - 1) % form.n_fields()
                }
                Key::Left | Key::Char('h') | Key::Right | Key::Char('l') if form.field < 4 => {
                    let up = matches!(key, Key::Right | Key::Char('l'));
                    let ds = &app.datasets;
                    match form.field {
                        0 => {
                            let n = ModelKind::table_order().len();
                            form.choose_model(cycle(form.model, n, up), ds);
                        }
                        1 => {
                            form.dataset = cycle(form.dataset, ds.len().max(1), up);
                            form.fill_again(ds);
                        }
                        2 => {
                            form.preset = !form.preset;
                            form.fill_again(ds);
                        }
                        _ => {
                            let n = form.model_kind().model().param_names().len();
                            form.choose_param(cycle(form.param, n, up), ds);
                        }
                    }
                    form.error = form.request(ds).err();
                }
                Key::Char(c) if form.field >= 4 && typable(c) => {
                    if let Some(text) = curve_text(&mut form) {
                        text.push(c);
                    }
                    form.error = form.request(&app.datasets).err();
                }
                Key::Backspace if form.field >= 4 => {
                    if let Some(text) = curve_text(&mut form) {
                        text.pop();
                    }
                    form.error = form.request(&app.datasets).err();
                }
                _ => {}
            }
            app.popup = Some(Popup::CurveForm(form));
            Vec::new()
        }
        Popup::CurvePath(mut path) => match key {
            Key::Esc => Vec::new(),
            Key::Enter if !path.trim().is_empty() => {
                vec![Effect::LoadCurve(PathBuf::from(path.trim()))]
            }
            Key::Backspace => {
                path.pop();
                app.popup = Some(Popup::CurvePath(path));
                Vec::new()
            }
            Key::Char(c) => {
                path.push(c);
                app.popup = Some(Popup::CurvePath(path));
                Vec::new()
            }
            _ => {
                app.popup = Some(Popup::CurvePath(path));
                Vec::new()
            }
        },
    }
}

/// The text field of the robustness form that is selected (levels, draws, seed or a hyper-parameter).
fn curve_text(form: &mut CurveForm) -> Option<&mut String> {
    match form.field {
        4 => Some(&mut form.values),
        5 => Some(&mut form.draws),
        6 => Some(&mut form.seed),
        f => form
            .params
            .get_mut(f - CURVE_FIXED_FIELDS)
            .map(|p| &mut p.text),
    }
}

/// `i` one step up or down in `0..n`, wrapping.
fn cycle(i: usize, n: usize, up: bool) -> usize {
    if up {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    }
}

/// Cycles through None (all) and `Some(0..n)`.
fn cycle_option(v: Option<usize>, n: usize, up: bool) -> Option<usize> {
    cycle(v.map_or(0, |i| i + 1), n + 1, up).checked_sub(1)
}

fn results_key(app: &mut App, key: Key) -> Vec<Effect> {
    if select_run_key(app, key) {
        return Vec::new();
    }
    match key {
        Key::Char('s') => {
            // The models of the sweep shown, in table order; every registered one without a sweep.
            let models: Vec<ModelKind> = ModelKind::table_order()
                .into_iter()
                .filter(|m| app.current().is_none_or(|r| r.spec.models.contains(m)))
                .collect();
            app.sort = app.sort.next(&models);
            app.status = format!("sorted by {}", app.sort.label());
            Vec::new()
        }
        Key::Char('m') => app.export(Format::Markdown),
        Key::Char('v') => app.export(Format::Csv),
        Key::Char('t') => app.export(Format::Latex),
        _ => Vec::new(),
    }
}

/// The values each stability parameter steps through.
const DT_STEPS: [f64; 5] = [0.001, 0.01, 0.05, 0.1, 0.5];

fn stability_key(app: &mut App, key: Key) -> Vec<Effect> {
    let st = &mut app.stability;
    let p = &mut st.params;
    match key {
        Key::Down | Key::Char('j') => st.field = (st.field + 1) % 4,
        Key::Up | Key::Char('k') => st.field = (st.field + 3) % 4,
        Key::Left | Key::Char('h') | Key::Right | Key::Char('l') => {
            let up = matches!(key, Key::Right | Key::Char('l'));
            let sign = if up { 1.0 } else { -1.0 };
            match st.field {
                0 => {
                    let i = DT_STEPS
                        .iter()
                        .position(|d| *d >= p.dt)
                        .unwrap_or(DT_STEPS.len() - 1);
                    let i = if up {
                        (i + 1).min(DT_STEPS.len() - 1)
                    } else {
                        i.saturating_sub(1)
                    };
                    p.dt = DT_STEPS[i];
                }
                1 => p.gamma = round2((p.gamma + sign * 0.05).clamp(0.05, 1.0)),
                2 => p.s = round2((p.s + sign).clamp(1.0, 10.0)),
                _ => p.rho = round2((p.rho + sign * 0.1).clamp(0.1, 5.0)),
            }
            st.computing = true;
            return vec![Effect::ComputeStability(*p)];
        }
        _ => {}
    }
    Vec::new()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_key_cycles_through_every_model_shown_and_back() {
        let models = ModelKind::table_order();
        let mut k = SortKey::Paper;
        let mut seen = Vec::new();
        for _ in 0..models.len() + 2 {
            k = k.next(&models);
            seen.push(k);
        }
        assert_eq!(seen[0], SortKey::Name);
        let sorted: Vec<SortKey> = models.iter().map(|m| SortKey::Model(*m)).collect();
        assert_eq!(seen[1..=models.len()], sorted[..]);
        assert_eq!(seen.last(), Some(&SortKey::Paper));
        // Every registered model is among them, the future-work ones included.
        for m in ModelKind::all() {
            assert!(seen.contains(&SortKey::Model(*m)), "{m}");
        }
    }

    #[test]
    fn the_results_sort_steps_through_the_models_of_the_sweep_shown() {
        let mut app = app();
        let deep: ModelKind = "deep-mf-esn".parse().unwrap();
        let spec =
            Spec::quick(vec!["SyntheticControl".into()], vec![deep, ModelKind::Esn]).unwrap();
        app.enqueue("x".into(), spec, false);
        app.tab = Tab::Results;
        let mut seen = Vec::new();
        for _ in 0..4 {
            key(&mut app, Key::Char('s'));
            seen.push(app.sort);
        }
        assert_eq!(
            seen,
            [
                SortKey::Name,
                SortKey::Model(ModelKind::Esn),
                SortKey::Model(deep),
                SortKey::Paper
            ]
        );
    }

    fn synthetic_control() -> DatasetSummary {
        DatasetSummary {
            name: "SyntheticControl".into(),
            n_train: 300,
            n_test: 300,
            length: (60, 60),
            ..DatasetSummary::default()
        }
    }

    fn app() -> App {
        App::new(PathBuf::from("/results"), vec![synthetic_control()])
    }

    fn key(app: &mut App, k: Key) -> Vec<Effect> {
        update(app, Action::Key(k))
    }

    /// Types `text` into the selected field of the open form and returns the form.
    fn type_in_form(app: &mut App, text: &str) -> Form {
        for c in text.chars() {
            key(app, Key::Char(c));
        }
        open_form(app)
    }

    /// The add-run form shown.
    fn open_form(app: &App) -> Form {
        let Some(Popup::Form(form)) = app.popup.clone() else {
            panic!("{:?}", app.popup)
        };
        form
    }

    #[test]
    fn q_and_esc_close_every_popup_without_quitting() {
        let form = Form::new(true);
        let spec = Spec::quick(vec!["SyntheticControl".into()], vec![ModelKind::Esn]).unwrap();
        let popups = [
            Popup::Help,
            Popup::errors(vec!["bad".into()]),
            Popup::Form(form.clone()),
            Popup::Confirm(Box::new(Confirm {
                label: "x".into(),
                estimate: estimate(&spec, &[]),
                spec,
                form,
            })),
            Popup::ResumeOffer(vec![1]),
            Popup::SpecPath(String::new()),
            Popup::CurveForm(Box::new(CurveForm::new(&[synthetic_control()]))),
            Popup::CurvePath(String::new()),
        ];
        // A form whose selected field takes typed values still closes on q.
        let mut one = Form::new(true);
        one.models = ModelChoice::One(ModelKind::MfEsn);
        app().fill_form(&mut one);
        one.field = FORM_FIXED_FIELDS + 2;
        let mut curve = CurveForm::new(&[synthetic_control()]);
        curve.field = 4;
        let popups = popups
            .into_iter()
            .chain([Popup::Form(one), Popup::CurveForm(Box::new(curve))]);
        for p in popups {
            for k in [Key::Esc, Key::Char('q')] {
                if k == Key::Char('q') && matches!(p, Popup::SpecPath(_) | Popup::CurvePath(_)) {
                    // A path may hold a q: there it is typed.
                    continue;
                }
                let mut app = app();
                app.popup = Some(p.clone());
                let effects = key(&mut app, k);
                assert_eq!(
                    (&app.popup, effects, app.quit),
                    (&None, vec![], false),
                    "{p:?} {k:?}"
                );
            }
        }
        let mut app = app();
        app.popup = Some(Popup::SpecPath("a".into()));
        key(&mut app, Key::Char('q'));
        assert_eq!(app.popup, Some(Popup::SpecPath("aq".into())));
    }

    #[test]
    fn an_untouched_form_of_one_model_queues_the_spec_of_its_preset() {
        let app = app();
        let d = vec!["SyntheticControl".to_string()];
        for m in ModelKind::table_order() {
            for (i, preset) in Preset::ALL.iter().enumerate() {
                let mut form = Form::new(true);
                form.models = ModelChoice::One(m);
                form.preset = i;
                app.fill_form(&mut form);
                let want = match preset {
                    Preset::PaperGrid => Spec::paper_grid(d.clone(), vec![m]),
                    Preset::Quick => Spec::quick(d.clone(), vec![m]),
                    Preset::PaperPreset => Spec::paper_preset(d.clone(), vec![m]),
                };
                match want {
                    Ok(want) => {
                        let got = app.form_spec(&form).unwrap().1;
                        assert_eq!(got.resolved(), want.resolved(), "{m} {preset:?}");
                    }
                    Err(e) => assert_eq!(form.error, Some(e.to_string()), "{m} {preset:?}"),
                }
            }
        }
    }

    #[test]
    fn a_field_changed_in_the_form_joins_the_grid_and_the_label() {
        let mut app = app();
        key(&mut app, Key::Char('a'));
        // Model: past "the paper's four" and "every model" to the first single model.
        key(&mut app, Key::Char('j'));
        key(&mut app, Key::Char('l'));
        key(&mut app, Key::Char('l'));
        let Some(Popup::Form(form)) = &app.popup else {
            panic!("{:?}", app.popup)
        };
        let m = ModelKind::table_order()[0];
        assert_eq!(form.models, ModelChoice::One(m));
        let i = form
            .params
            .iter()
            .position(|p| p.name == "n_units")
            .unwrap();
        // From the model field to the hyper-parameter, past the preset and the seed.
        for _ in 1..FORM_FIXED_FIELDS + i {
            key(&mut app, Key::Char('j'));
        }
        for _ in 0..3 {
            key(&mut app, Key::Backspace);
        }
        let form = type_in_form(&mut app, "20, 30");
        let (label, spec) = app.form_spec(&form).unwrap();
        assert!(label.ends_with("; n_units=20,30)"), "{label}");
        let grid = &spec.grid[&m];
        let base = m.paper_grid();
        assert_eq!(grid.len(), base.len() * 2);
        assert_eq!(
            grid.axes().last().unwrap(),
            &("n_units".to_string(), vec![20.0, 30.0])
        );
        assert_eq!(grid.axes()[..grid.axes().len() - 1], base.axes()[..]);
    }

    #[test]
    fn the_seed_typed_in_the_form_is_the_specs_and_a_bad_one_is_refused() {
        let mut app = app();
        key(&mut app, Key::Char('a'));
        // To the seed field, past the data set, model and preset.
        for _ in 0..3 {
            key(&mut app, Key::Char('j'));
        }
        let default = app.form_spec(&open_form(&app)).unwrap();
        while !open_form(&app).seed.is_empty() {
            key(&mut app, Key::Backspace);
        }
        let form = type_in_form(&mut app, "2025");
        let (label, spec) = app.form_spec(&form).unwrap();
        assert_eq!(spec.seed, 2025);
        assert_ne!(default.1.seed, 2025);
        assert_ne!(spec.hash(), default.1.hash());
        assert!(label.ends_with("; seed 2025)"), "{label}");
        // Only the seed changed.
        assert_eq!(spec.grid, default.1.grid);
        assert_eq!(
            type_in_form(&mut app, ".").error.as_deref(),
            Some(format!("seed: `2025.` is not a whole number from 0 to {}", u64::MAX).as_str())
        );
    }

    #[test]
    fn the_default_form_asks_before_queueing_over_a_thousand_jobs() {
        let mut app = app();
        key(&mut app, Key::Char('a'));
        // The default: the first data set, every model, the paper grid.
        assert!(key(&mut app, Key::Enter).is_empty());
        let Some(Popup::Confirm(c)) = &app.popup else {
            panic!("{:?}", app.popup)
        };
        assert_eq!(c.estimate.jobs(), 1446);
        assert!(c.estimate.duration > Duration::from_secs(60));
        assert!(app.runs.is_empty());
        // n goes back to the form; the quick grid queues at once.
        key(&mut app, Key::Char('n'));
        assert!(matches!(app.popup, Some(Popup::Form(_))));
        // Up wraps to the seed, then the preset.
        key(&mut app, Key::Up);
        key(&mut app, Key::Up);
        key(&mut app, Key::Char('h'));
        let effects = key(&mut app, Key::Enter);
        assert!(
            matches!(effects.as_slice(), [Effect::StartRun { .. }]),
            "{effects:?}"
        );
        // Confirming queues the long one.
        key(&mut app, Key::Char('a'));
        key(&mut app, Key::Enter);
        assert!(
            key(&mut app, Key::Char('y')).is_empty(),
            "waits for the first sweep"
        );
        assert_eq!(app.runs.len(), 2);
        assert_eq!(app.runs[1].jobs.len(), 1442);
    }

    #[test]
    fn startup_errors_all_show_and_wait_behind_the_resume_offer() {
        let mut app = app();
        app.show(Popup::ResumeOffer(vec![1]));
        update(&mut app, Action::SpecLoaded(Err("a.toml: bad".into())));
        update(&mut app, Action::SpecLoaded(Err("b.toml: worse".into())));
        assert_eq!(app.status, "error: b.toml: worse");
        assert!(matches!(app.popup, Some(Popup::ResumeOffer(_))));
        key(&mut app, Key::Char('n'));
        assert_eq!(
            app.popup,
            Some(Popup::errors(vec![
                "a.toml: bad".into(),
                "b.toml: worse".into()
            ]))
        );
        key(&mut app, Key::Esc);
        assert_eq!(app.popup, None);
        // e shows them again, newest first.
        key(&mut app, Key::Char('e'));
        assert_eq!(
            app.popup,
            Some(Popup::errors(vec![
                "b.toml: worse".into(),
                "a.toml: bad".into()
            ]))
        );
    }

    #[test]
    fn a_long_error_scrolls_as_far_as_its_last_row_and_no_further() {
        let mut app = app();
        update(&mut app, Action::Resize(100, 20));
        let long: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
        update(&mut app, Action::Error(long.join("\n")));
        for _ in 0..100 {
            key(&mut app, Key::Char('j'));
        }
        // 18 rows of body, 16 inside the border: the last of 40 rows is at the bottom.
        let Some(Popup::Error { scroll, .. }) = app.popup else {
            panic!("{:?}", app.popup)
        };
        assert_eq!(scroll, 40 - 16);
        key(&mut app, Key::Char('k'));
        assert!(matches!(app.popup, Some(Popup::Error { scroll: 23, .. })));
    }

    #[test]
    fn the_sweep_clock_stops_while_paused() {
        let mut app = app();
        let mut spec = Spec::new(vec!["SyntheticControl".into()]);
        spec.models = vec![ModelKind::Rnn];
        app.enqueue("x".into(), spec, false);
        let at = |app: &mut App, s: u64| {
            update(app, Action::Tick(Duration::from_secs(s)));
            app.runs[0].elapsed(app.now).unwrap().as_secs()
        };
        assert_eq!(at(&mut app, 10), 10);
        key(&mut app, Key::Char('p'));
        assert_eq!(at(&mut app, 70), 10);
        key(&mut app, Key::Char('p'));
        assert_eq!(at(&mut app, 75), 15);
        key(&mut app, Key::Char('p'));
        update(
            &mut app,
            Action::RunEnded {
                run: 1,
                result: Ok(RunSummary {
                    counts: Counts::default(),
                    cancelled: true,
                    interrupted: 0,
                }),
            },
        );
        assert_eq!(at(&mut app, 90), 15);
    }

    #[test]
    fn unloadable_data_sets_are_listed_apart_and_not_offered() {
        let bad = DatasetSummary {
            name: "Coffee".into(),
            error: Some("parse error".into()),
            ..DatasetSummary::default()
        };
        let mut app = App::new(PathBuf::from("/r"), vec![bad, synthetic_control()]);
        assert_eq!(app.datasets.len(), 1);
        assert_eq!(app.unloadable[0].name, "Coffee");
        app.tab = Tab::Data;
        key(&mut app, Key::Char('j'));
        key(&mut app, Key::Char('j'));
        assert_eq!(app.dataset_sel, 1);
    }

    #[test]
    fn the_note_of_a_diverged_job_names_its_trials() {
        assert_eq!(diverged_note(&[], 5), "");
        assert_eq!(diverged_note(&[0], 1), "diverged (trial 1)");
        assert_eq!(
            diverged_note(&[1, 4], 5),
            "diverged in 2 of 5 trials (2, 5)"
        );
    }
}
