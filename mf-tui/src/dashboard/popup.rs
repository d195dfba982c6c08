//! The windows over the views and a key handler for each.

use std::path::PathBuf;

use super::action::{Effect, Key};
use super::app::App;
use super::form::{self, Confirm, Form};
use super::robustness::CurveForm;
use super::runs::{RunId, RunState};
use super::tabs::robustness::curve_form_key;

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

/// Whether `key` closes a popup (`Esc` and `q`; a path popup reads `q` as a character of the path).
pub(super) fn closes(key: Key) -> bool {
    matches!(key, Key::Esc | Key::Char('q'))
}

/// A key while `popup` is shown; it was taken from `app` and is put back unless the key closes it.
pub(super) fn on_key(app: &mut App, popup: Popup, key: Key) -> Vec<Effect> {
    match popup {
        Popup::Help => {
            help_key(app, key);
            Vec::new()
        }
        Popup::Error { messages, scroll } => {
            error_key(app, messages, scroll, key);
            Vec::new()
        }
        Popup::Confirm(c) => confirm_key(app, c, key),
        Popup::ResumeOffer(ids) => resume_key(app, ids, key),
        Popup::SpecPath(path) => path_key(app, path, key, Popup::SpecPath, Effect::LoadSpec),
        Popup::Form(form) => form::on_key(app, form, key),
        Popup::CurveForm(form) => curve_form_key(app, form, key),
        Popup::CurvePath(path) => path_key(app, path, key, Popup::CurvePath, Effect::LoadCurve),
    }
}

/// The help closes on `Esc`, `q`, Enter and `?`.
fn help_key(app: &mut App, key: Key) {
    if !(closes(key) || matches!(key, Key::Enter | Key::Char('?'))) {
        app.popup = Some(Popup::Help);
    }
}

/// `j`/`k` scroll the errors as far as their last row; `Esc`, `q`, Enter and `?` close them.
fn error_key(app: &mut App, messages: Vec<String>, scroll: usize, key: Key) {
    let last = super::view::error_scroll_max(&messages, app.screen);
    let scroll = match key {
        _ if closes(key) => return,
        Key::Enter | Key::Char('?') => return,
        Key::Down | Key::Char('j') => (scroll + 1).min(last),
        Key::Up | Key::Char('k') => scroll.saturating_sub(1).min(last),
        _ => scroll,
    };
    app.popup = Some(Popup::Error { messages, scroll });
}

/// `y` (or Enter) queues the long run, `n` goes back to its form.
fn confirm_key(app: &mut App, c: Box<Confirm>, key: Key) -> Vec<Effect> {
    match key {
        Key::Char('y') | Key::Enter => app.enqueue(c.label, c.spec, false),
        Key::Char('n') => {
            app.popup = Some(Popup::Form(c.form));
            Vec::new()
        }
        _ if closes(key) => Vec::new(),
        _ => {
            app.popup = Some(Popup::Confirm(c));
            Vec::new()
        }
    }
}

/// `y` (or Enter) queues the unfinished sweeps again, `n` leaves them stored.
fn resume_key(app: &mut App, ids: Vec<RunId>, key: Key) -> Vec<Effect> {
    match key {
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
        _ if closes(key) => Vec::new(),
        _ => {
            app.popup = Some(Popup::ResumeOffer(ids));
            Vec::new()
        }
    }
}

/// Typing a path: Enter asks the runtime to `load` it, `Esc` closes; `q` is a character of the path.
/// `shown` rebuilds the popup (a spec path or a curve path).
fn path_key(
    app: &mut App,
    mut path: String,
    key: Key,
    shown: fn(String) -> Popup,
    load: fn(PathBuf) -> Effect,
) -> Vec<Effect> {
    match key {
        Key::Esc => return Vec::new(),
        Key::Enter if !path.trim().is_empty() => return vec![load(PathBuf::from(path.trim()))],
        Key::Backspace => {
            path.pop();
        }
        Key::Char(c) => path.push(c),
        _ => {}
    }
    app.popup = Some(shown(path));
    Vec::new()
}
