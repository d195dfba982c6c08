//! The Queue view's keys: choose a sweep and a job, open a failure, add, pause, cancel or run again.

use super::select_run_key;
use crate::dashboard::action::{Effect, Key};
use crate::dashboard::app::App;
use crate::dashboard::form::Form;
use crate::dashboard::popup::Popup;
use crate::dashboard::runs::{JobState, RunState};

pub(in crate::dashboard) fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
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
