//! The Data view's keys: the selected row among the data sets, loaded ones then unloadable ones.

use crate::dashboard::action::Key;
use crate::dashboard::app::App;

/// `j`/`k` move through the data sets.
pub(in crate::dashboard) fn on_key(app: &mut App, key: Key) {
    let n = app.datasets.len() + app.unloadable.len();
    match key {
        Key::Down | Key::Char('j') => {
            app.dataset_sel = (app.dataset_sel + 1).min(n.saturating_sub(1))
        }
        Key::Up | Key::Char('k') => app.dataset_sel = app.dataset_sel.saturating_sub(1),
        _ => {}
    }
}
