//! The dashboard's state, composed of one part per view, and [`update`], which sends each [`Action`] to the
//! part it concerns.
//!
//! [`update`] is a pure function of the state and one [`Action`]: it never touches files, threads or the
//! terminal. Everything with a side effect leaves as an [`Effect`] and comes back, if it has a result, as an
//! [`Action`].

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use mf_lab::Spec;

use super::action::{Action, Effect, Key};
use super::data::{DatasetSummary, ReservoirTrace, StabilityParams};
use super::popup::{self, Popup};
use super::runs::{self, RunEntry, RunId, RunState};
use super::tabs::results::SortKey;
use super::tabs::robustness::{self, RobustnessView};
use super::tabs::sequence::{self, SequenceView};
use super::tabs::stability::{self, StabilityView};
use super::tabs::{self, tab_entered, Tab};

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
    /// Sequence view state.
    pub sequence: SequenceView,
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
            sequence: SequenceView::default(),
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

    pub(super) fn run_mut(&mut self, id: RunId) -> Option<&mut RunEntry> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    pub(super) fn error(&mut self, msg: String) {
        self.status = format!("error: {msg}");
        self.log_error(msg.clone());
        self.show(Popup::errors(vec![msg]));
    }

    pub(super) fn log_error(&mut self, msg: String) {
        self.errors.push(msg);
        let extra = self.errors.len().saturating_sub(MAX_ERRORS);
        self.errors.drain(..extra);
    }

    /// Shows `popup`, or queues it behind the one shown. Errors join an error popup shown or queued, so that
    /// several errors (e.g. two bad spec files at start-up) are all seen.
    pub(super) fn show(&mut self, popup: Popup) {
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

    pub(super) fn start_next(&mut self) -> Vec<Effect> {
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

    /// A new sweep's id.
    pub(super) fn next_run_id(&mut self) -> RunId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
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
            runs::restored(app, sweeps);
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
            runs::store_opened(app, run, records);
            Vec::new()
        }
        Action::Engine { run, event } => {
            runs::on_event(app, run, event);
            Vec::new()
        }
        Action::RunEnded { run, result } => runs::run_ended(app, run, result),
        Action::StabilityComputed { params, result } => {
            stability::computed(app, params, result);
            Vec::new()
        }
        Action::SequenceComputed { params, result } => {
            sequence::computed(app, params, result);
            Vec::new()
        }
        Action::CurveProgress {
            curve,
            point,
            progress,
        } => {
            robustness::progress(app, curve, point, progress);
            Vec::new()
        }
        Action::CurvePoint { curve, point } => {
            robustness::point(app, curve, point);
            Vec::new()
        }
        Action::CurveEnded { curve, result } => robustness::ended(app, curve, result),
        Action::CurveLoaded { path, result } => {
            robustness::loaded(app, path, result);
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

/// A key: to the popup shown if any, else one of every view's, else to the view shown.
fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
    if let Some(popup) = app.popup.take() {
        let effects = popup::on_key(app, popup, key);
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
    tabs::on_key(app, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::estimate::estimate;
    use crate::dashboard::form::{Confirm, Form, ModelChoice, Preset, FORM_FIXED_FIELDS};
    use crate::dashboard::robustness::CurveForm;
    use crate::dashboard::runs::diverged_note;
    use mf_lab::{Counts, ModelKind, RunSummary};

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
