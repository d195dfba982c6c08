//! The add-run form: data set x model x preset (and, with one model, each of its hyper-parameters), the
//! spec it queues and its keys.

use mf_lab::{Grid, ModelKind, Spec};

use super::action::{Effect, Key};
use super::app::App;
use super::estimate::{estimate, Estimate};
use super::params::{self, fmt_value, typable, ParamField};
use super::popup::{closes, Popup};

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
    pub(super) const ALL: [Preset; 3] = [Preset::PaperGrid, Preset::PaperPreset, Preset::Quick];

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

impl App {
    /// The label and spec `form` queues over the catalog, or why it cannot be queued.
    pub(super) fn form_spec(&self, form: &Form) -> Result<(String, Spec), String> {
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
    pub(super) fn fill_form(&self, form: &mut Form) {
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

/// A key in the add-run form: move between fields, change or type a value, queue it (asking first when
/// long) or close it.
pub(super) fn on_key(app: &mut App, mut form: Form, key: Key) -> Vec<Effect> {
    match key {
        _ if closes(key) => return Vec::new(),
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
        Key::Down | Key::Char('j') | Key::Tab => form.field = (form.field + 1) % form.n_fields(),
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

/// `i` one step up or down in `0..n`, wrapping.
pub(super) fn cycle(i: usize, n: usize, up: bool) -> usize {
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
