//! The views, one module each with its state and its keys; [`super::app`] sends a key here when no popup is
//! shown and the key is not one of every view's (`q`, `?`, `e`, switching tabs).

pub(super) mod data;
pub(super) mod queue;
pub(super) mod results;
pub(super) mod robustness;
pub(super) mod sequence;
pub(super) mod stability;

use super::action::{Effect, Key};
use super::app::App;

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
    /// A reservoir's closed-loop forecast or memory-capacity curve on a sequence task.
    Sequence,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 7] = [
        Tab::Queue,
        Tab::Live,
        Tab::Results,
        Tab::Stability,
        Tab::Data,
        Tab::Robustness,
        Tab::Sequence,
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
            Tab::Sequence => "Sequence",
        }
    }

    pub(super) fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

pub(super) fn tab_entered(app: &mut App) -> Vec<Effect> {
    if app.tab == Tab::Stability && app.stability.picture.is_none() && !app.stability.computing {
        app.stability.computing = true;
        return vec![Effect::ComputeStability(app.stability.params)];
    }
    if app.tab == Tab::Sequence && app.sequence.picture.is_none() && !app.sequence.computing {
        return sequence::compute_shown(app);
    }
    Vec::new()
}

/// `[` and `]` (and h/l outside the Queue) choose the sweep.
pub(super) fn select_run_key(app: &mut App, key: Key) -> bool {
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

/// A key of the view shown.
pub(super) fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
    match app.tab {
        Tab::Queue => queue::on_key(app, key),
        Tab::Live => {
            select_run_key(app, key);
            Vec::new()
        }
        Tab::Results => results::on_key(app, key),
        Tab::Stability => stability::on_key(app, key),
        Tab::Robustness => robustness::on_key(app, key),
        Tab::Sequence => sequence::on_key(app, key),
        Tab::Data => {
            data::on_key(app, key);
            Vec::new()
        }
    }
}
