//! The Robustness view's curves (run here in queue order, or opened from `mf robustness` files), its keys,
//! the robustness form's keys and what the curves' worker reports.

use std::path::PathBuf;

use mf_lab::robustness::{FailedLevel, Point, Robustness};
use mf_lab::{JobProgress, JobStep, ModelKind};

use crate::dashboard::action::{Effect, Key};
use crate::dashboard::app::App;
use crate::dashboard::form::cycle;
use crate::dashboard::params::{fmt_value, typable};
use crate::dashboard::popup::{closes, Popup};
use crate::dashboard::robustness::{
    model_name, CurveData, CurveEntry, CurveForm, CurveId, CurveState, CURVE_FIXED_FIELDS,
};
use crate::dashboard::tabs::Tab;

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

/// Choose a curve, add one (`a`), open a file (`o`) or cancel the selected curve (`c`).
pub(in crate::dashboard) fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
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

/// A key in the robustness form: move between fields, change or type a value, queue the curve or close it.
pub(in crate::dashboard) fn curve_form_key(
    app: &mut App,
    mut form: Box<CurveForm>,
    key: Key,
) -> Vec<Effect> {
    match key {
        _ if closes(key) => return Vec::new(),
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
        Key::Down | Key::Char('j') | Key::Tab => form.field = (form.field + 1) % form.n_fields(),
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

/// Notes which draw of the curve is under way.
pub(in crate::dashboard) fn progress(
    app: &mut App,
    curve: CurveId,
    point: Point,
    progress: JobProgress,
) {
    if let Some(c) = app.robustness.get_mut(curve) {
        let of = c.request.as_ref().map_or(0, |r| r.draws);
        c.note = format!(
            "{} {} = {}: {}",
            model_name(&point.model),
            point.param,
            fmt_value(point.value),
            match progress.step {
                JobStep::Draw { index, .. } => format!("draw {index}/{of}"),
                step => step.to_string(),
            }
        );
    }
}

/// Adds a scored draw to its curve.
pub(in crate::dashboard) fn point(app: &mut App, curve: CurveId, point: Point) {
    if let Some(c) = app.robustness.get_mut(curve) {
        c.add_point(point);
    }
}

/// Closes a curve whose run returned and starts the next one queued.
pub(in crate::dashboard) fn ended(
    app: &mut App,
    curve: CurveId,
    result: Result<Robustness, String>,
) -> Vec<Effect> {
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
            c.failed = r.failed;
            match failures(&c.failed) {
                None => app.status = format!("{label}: done in {:.1} s", r.wall_s),
                // The levels that failed are not drawn: the error says which and why.
                Some(failed) => app.error(format!("{label}: {failed}")),
            }
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

/// Shows a curve read from a file of `mf robustness`, or why it cannot be shown.
pub(in crate::dashboard) fn loaded(
    app: &mut App,
    path: PathBuf,
    result: Result<CurveData, String>,
) {
    match result {
        Ok(data) => {
            app.status = match failures(&data.failed) {
                None => format!("opened {}", path.display()),
                Some(failed) => format!("opened {}; {failed}", path.display()),
            };
            app.tab = Tab::Robustness;
            app.robustness.add(|id| CurveEntry::opened(id, path, data));
        }
        Err(e) => app.error(e),
    }
}

/// `1 level failed and has no score: MF-ESN at d2d_sigma = 0.3 (trial 2/5 (seed 7): ...)`, or none.
fn failures(failed: &[FailedLevel]) -> Option<String> {
    if failed.is_empty() {
        return None;
    }
    let each: Vec<String> = failed
        .iter()
        .map(|f| {
            format!(
                "{} at {} = {} ({})",
                model_name(&f.model),
                f.param,
                fmt_value(f.value),
                f.reason
            )
        })
        .collect();
    Some(format!(
        "{} level{} failed and {} no score: {}",
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        if failed.len() == 1 { "has" } else { "have" },
        each.join("; ")
    ))
}
