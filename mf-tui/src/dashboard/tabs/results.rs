//! The Results view: Table IV of the selected sweep, its order and its export.

use mf_lab::table::Format;
use mf_lab::ModelKind;

use super::select_run_key;
use crate::dashboard::action::{Effect, Key};
use crate::dashboard::app::App;

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

pub(in crate::dashboard) fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
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
        Key::Char('m') => export(app, Format::Markdown),
        Key::Char('v') => export(app, Format::Csv),
        Key::Char('t') => export(app, Format::Latex),
        _ => Vec::new(),
    }
}

/// Writes Table IV of the selected sweep beside its store, in `format`.
fn export(app: &mut App, format: Format) -> Vec<Effect> {
    let Some(run) = app.current() else {
        app.error("no sweep to export".into());
        return Vec::new();
    };
    let ext = match format {
        Format::Markdown => "md",
        Format::Csv => "csv",
        Format::Latex => "tex",
    };
    let path = app
        .results_dir
        .join(run.spec.short_hash())
        .join(format!("table-iv.{ext}"));
    vec![Effect::Export {
        path,
        contents: run.table().render(format),
    }]
}
