//! The Robustness view's state: curves of a test score against one hyper-parameter's levels, run here through
//! [`mf_lab::robustness::run_robustness`] or read from the CSV files `mf robustness` writes; the form that asks
//! for a curve; and the reader of those files.
//!
//! # Files
//!
//! `mf robustness --out DIR` writes `DIR/robustness.csv` (every draw:
//! `dataset,metric,model,param,value,draw,seed,score,failed`) and `DIR/robustness_summary.csv` (per model and
//! level: `dataset,metric,model,param,value,n,mean,std,min,max,failed`); a level that failed is one row in each,
//! without a score and with its reason in `failed` (files written before levels could fail have no `failed`
//! column, and read as well). [`read_curve`] takes either file, or the directory (its summary, else its draws).
//! Draws are summarised as the library does (mean and population standard deviation). Anything that could be
//! misread is refused with the file, line and column: a header that is not one of the two, a row with another
//! number of fields, a value that is not a finite number, a second data set, metric or hyper-parameter in one
//! file, a repeated draw or level, a summary whose mean is outside its range, a failed level with a score.

use std::path::{Path, PathBuf};

use mf_lab::protocol::{mean, pop_std};
use mf_lab::robustness::{FailedLevel, Level, Point, RobustnessRequest};
use mf_lab::Metric;
use mf_lab::{ModelKind, Params};

use super::data::DatasetSummary;
use super::params::{self, fmt_value, fmt_values, parse_values, ParamField};

/// Identifies one curve for the lifetime of the dashboard.
pub type CurveId = u64;

/// Where a curve stands.
#[derive(Debug, Clone, PartialEq)]
pub enum CurveState {
    /// Waiting for the curve before it.
    Queued,
    /// Its draws are running.
    Running,
    /// Every draw ran.
    Done,
    /// Cancelled; the draws scored before stay shown.
    Cancelled,
    /// The run stopped with this error.
    Failed(String),
    /// Read from a file.
    Opened,
}

impl CurveState {
    /// A one-word description.
    pub fn label(&self) -> &'static str {
        match self {
            CurveState::Queued => "queued",
            CurveState::Running => "running",
            CurveState::Done => "done",
            CurveState::Cancelled => "cancelled",
            CurveState::Failed(_) => "failed",
            CurveState::Opened => "file",
        }
    }
}

/// One robustness curve (one line per model).
#[derive(Debug, Clone, PartialEq)]
pub struct CurveEntry {
    /// Its id.
    pub id: CurveId,
    /// Short description, e.g. `ECG5000 MF-ESN: w_noise = 0, 0.1`.
    pub label: String,
    /// What runs, for a curve run here.
    pub request: Option<RobustnessRequest>,
    /// The file it was read from, for an opened curve.
    pub path: Option<PathBuf>,
    /// Its state.
    pub state: CurveState,
    /// The data set.
    pub dataset: String,
    /// The score's metric, once known (from the result or the file).
    pub metric: Option<Metric>,
    /// The hyper-parameter varied.
    pub param: String,
    /// Every scored draw so far.
    pub points: Vec<Point>,
    /// Mean and spread per model and level: from the draws while running, then the library's.
    pub levels: Vec<Level>,
    /// The models and levels that failed and have no score, once the run ended (or as the file says).
    pub failed: Vec<FailedLevel>,
    /// Fraction of the draws done.
    pub fraction: f64,
    /// The latest progress note.
    pub note: String,
    /// A cancel was asked for: the run's end is a cancellation, not a failure.
    pub cancelling: bool,
}

impl CurveEntry {
    /// A curve to run.
    pub fn queued(id: CurveId, label: String, request: RobustnessRequest) -> Self {
        CurveEntry {
            id,
            label,
            dataset: request.dataset.clone(),
            param: request.param.clone(),
            request: Some(request),
            path: None,
            state: CurveState::Queued,
            metric: None,
            points: Vec::new(),
            levels: Vec::new(),
            failed: Vec::new(),
            fraction: 0.0,
            note: String::new(),
            cancelling: false,
        }
    }

    /// A curve read from `path`.
    pub fn opened(id: CurveId, path: PathBuf, data: CurveData) -> Self {
        CurveEntry {
            id,
            label: format!("{} ({})", path.display(), data.dataset),
            request: None,
            path: Some(path),
            state: CurveState::Opened,
            dataset: data.dataset,
            metric: Some(data.metric),
            param: data.param,
            points: data.points,
            levels: data.levels,
            failed: data.failed,
            fraction: 1.0,
            note: String::new(),
            cancelling: false,
        }
    }

    /// Whether its run is under way.
    pub fn is_running(&self) -> bool {
        self.state == CurveState::Running
    }

    /// The models of its levels in the order they first appear.
    pub fn models(&self) -> Vec<String> {
        let mut m: Vec<String> = Vec::new();
        for l in &self.levels {
            if !m.contains(&l.model) {
                m.push(l.model.clone());
            }
        }
        m
    }

    /// A draw was scored: it joins the points and its level is summarised again.
    pub fn add_point(&mut self, point: Point) {
        self.points.push(point);
        self.levels = levels_of(&self.points);
        if let Some(req) = &self.request {
            let total = (req.models.len() * req.values.len() * req.draws).max(1);
            self.fraction = (self.points.len() as f64 / total as f64).min(1.0);
        }
    }
}

/// A model id as tables name it (`mf-esn` as `MF-ESN`); an id this build does not know stays as it is.
pub fn model_name(id: &str) -> String {
    id.parse::<ModelKind>()
        .map_or_else(|_| id.to_string(), |m| m.to_string())
}

/// The draws summarised per model and level, in the order each (model, level) first appears: mean, population
/// standard deviation, lowest and highest score, as `mf_lab::robustness` summarises them.
pub fn levels_of(points: &[Point]) -> Vec<Level> {
    let mut groups: Vec<(&str, f64, Vec<f64>)> = Vec::new();
    for p in points {
        match groups
            .iter_mut()
            .find(|(m, v, _)| *m == p.model && *v == p.value)
        {
            Some((_, _, scores)) => scores.push(p.score),
            None => groups.push((&p.model, p.value, vec![p.score])),
        }
    }
    let param = points.first().map_or(String::new(), |p| p.param.clone());
    groups
        .into_iter()
        .map(|(model, value, scores)| Level {
            model: model.to_string(),
            param: param.clone(),
            value,
            n: scores.len(),
            mean: mean(&scores),
            std: pop_std(&scores),
            min: scores.iter().copied().fold(f64::INFINITY, f64::min),
            max: scores.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
        .collect()
}

/// What a file of `mf robustness` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveData {
    /// The data set.
    pub dataset: String,
    /// The metric.
    pub metric: Metric,
    /// The hyper-parameter varied.
    pub param: String,
    /// Every draw (empty for a summary file).
    pub points: Vec<Point>,
    /// Mean and spread per model and level.
    pub levels: Vec<Level>,
    /// The models and levels that failed and have no score.
    pub failed: Vec<FailedLevel>,
}

pub use mf_lab::robustness::{LEVEL_COLUMNS, POINT_COLUMNS};

/// The column a file may lack: files written before a level could fail have none.
const FAILED: &str = "failed";

/// Reads a curve from a file written by `mf robustness`, or from its output directory (its
/// `robustness_summary.csv`, else its `robustness.csv`).
pub fn read_curve(path: &Path) -> Result<CurveData, String> {
    let file = if path.is_dir() {
        let summary = path.join("robustness_summary.csv");
        let draws = path.join("robustness.csv");
        match (summary.is_file(), draws.is_file()) {
            (true, _) => summary,
            (false, true) => draws,
            (false, false) => {
                return Err(format!(
                    "{}: neither robustness_summary.csv nor robustness.csv is there",
                    path.display()
                ))
            }
        }
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    parse_curve(&file.display().to_string(), &text)
}

/// Splits one CSV line into fields; a field may be quoted (`"a,b"`, with `""` for a quote).
fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            c => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("a quoted field does not end".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Parses the text of a file written by `mf robustness`; `path` names it in errors.
pub fn parse_curve(path: &str, text: &str) -> Result<CurveData, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hl, header)) = lines.next() else {
        return Err(format!("{path}: the file is empty"));
    };
    let header = split_line(header).map_err(|e| format!("{path} line {hl}: {e}"))?;
    let is_points = header.iter().any(|h| h == "score");
    let expected: &[&str] = if is_points {
        &POINT_COLUMNS
    } else if header.iter().any(|h| h == "mean") {
        &LEVEL_COLUMNS
    } else {
        return Err(format!(
            "{path} line {hl}: not a file of mf robustness: the header has neither `score` (robustness.csv: {}) \
             nor `mean` (robustness_summary.csv: {})",
            POINT_COLUMNS.join(","),
            LEVEL_COLUMNS.join(",")
        ));
    };
    for (i, h) in header.iter().enumerate() {
        if !expected.contains(&h.as_str()) {
            return Err(format!(
                "{path} line {hl}, column {}: unknown column `{h}` (expected {})",
                i + 1,
                expected.join(",")
            ));
        }
        if header[..i].contains(h) {
            return Err(format!("{path} line {hl}: column `{h}` appears twice"));
        }
    }
    if let Some(missing) = expected
        .iter()
        .find(|c| **c != FAILED && !header.iter().any(|h| h == *c))
    {
        return Err(format!(
            "{path} line {hl}: no column `{missing}` (expected {})",
            expected.join(",")
        ));
    }
    let col = |name: &str| header.iter().position(|h| h == name).expect("checked");
    let failed_col = header.iter().position(|h| h == FAILED);
    let mut first: Option<(usize, String, String, String)> = None;
    let mut points: Vec<(usize, Point)> = Vec::new();
    let mut levels: Vec<(usize, Level)> = Vec::new();
    let mut failed: Vec<(usize, FailedLevel)> = Vec::new();
    let mut metric = Metric::Accuracy;
    for (n, line) in lines {
        let fields = split_line(line).map_err(|e| format!("{path} line {n}: {e}"))?;
        if fields.len() != header.len() {
            return Err(format!(
                "{path} line {n}: {} fields, the header has {}",
                fields.len(),
                header.len()
            ));
        }
        let get = |name: &str| fields[col(name)].trim();
        let number = |name: &str| -> Result<f64, String> {
            let t = get(name);
            let v: f64 = t
                .parse()
                .map_err(|_| format!("{path} line {n}, column `{name}`: `{t}` is not a number"))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(format!(
                    "{path} line {n}, column `{name}`: `{t}` is not a finite number"
                ))
            }
        };
        let whole = |name: &str| -> Result<u64, String> {
            let t = get(name);
            t.parse().map_err(|_| {
                format!("{path} line {n}, column `{name}`: `{t}` is not a whole number")
            })
        };
        let (dataset, metric_text, param) = (get("dataset"), get("metric"), get("param"));
        match &first {
            None => {
                metric = Metric::from_name(metric_text).ok_or_else(|| {
                    format!(
                        "{path} line {n}, column `metric`: `{metric_text}` is none of {}",
                        Metric::ALL.map(Metric::name).join(", ")
                    )
                })?;
                first = Some((n, dataset.into(), metric_text.into(), param.into()));
            }
            Some((l, d, m, p)) => {
                for (name, want, got) in [
                    ("dataset", d, dataset),
                    ("metric", m, metric_text),
                    ("param", p, param),
                ] {
                    if want != got {
                        return Err(format!(
                            "{path} line {n}, column `{name}`: `{got}`, but line {l} has `{want}` (a file holds \
                             one curve)"
                        ));
                    }
                }
            }
        }
        let model = get("model").to_string();
        if model.is_empty() {
            return Err(format!("{path} line {n}, column `model`: empty"));
        }
        let value = number("value")?;
        // A (model, value) is scored or failed, never both: its rows so far say which.
        let scored_on = points
            .iter()
            .find(|(_, q)| q.model == model && q.value == value)
            .map(|(l, _)| *l)
            .or_else(|| {
                levels
                    .iter()
                    .find(|(_, q)| q.model == model && q.value == value)
                    .map(|(l, _)| *l)
            });
        let failed_on = failed
            .iter()
            .find(|(_, f)| f.model == model && f.value == value)
            .map(|(l, _)| *l);
        if let Some(l) = failed_on {
            return Err(format!(
                "{path} line {n}: {model} at {param} = {value} again (failed on line {l})"
            ));
        }
        let reason = failed_col.map_or("", |c| fields[c].trim());
        if !reason.is_empty() {
            if let Some(l) = scored_on {
                return Err(format!(
                    "{path} line {n}: {model} at {param} = {value} failed, but line {l} scores it"
                ));
            }
            let stats: &[&str] = if is_points {
                &["score"]
            } else {
                &["mean", "std", "min", "max"]
            };
            if let Some(c) = stats.iter().find(|c| !get(c).is_empty()) {
                return Err(format!(
                    "{path} line {n}, column `{c}`: `{}`, but the level failed and has no score",
                    get(c)
                ));
            }
            if !is_points && !matches!(get("n"), "" | "0") {
                return Err(format!(
                    "{path} line {n}, column `n`: `{}`, but the level failed and has no draw",
                    get("n")
                ));
            }
            failed.push((
                n,
                FailedLevel {
                    model,
                    param: param.to_string(),
                    value,
                    reason: reason.to_string(),
                },
            ));
            continue;
        }
        if is_points {
            let p = Point {
                model,
                param: param.to_string(),
                value,
                draw: whole("draw")? as usize,
                seed: whole("seed")?,
                score: number("score")?,
            };
            if let Some((l, _)) = points
                .iter()
                .find(|(_, q)| q.model == p.model && q.value == p.value && q.draw == p.draw)
            {
                return Err(format!(
                    "{path} line {n}: draw {} of {} at {param} = {value} again (first on line {l})",
                    p.draw, p.model
                ));
            }
            points.push((n, p));
        } else {
            let level = Level {
                model,
                param: param.to_string(),
                value,
                n: whole("n")? as usize,
                mean: number("mean")?,
                std: number("std")?,
                min: number("min")?,
                max: number("max")?,
            };
            if level.n == 0 {
                return Err(format!("{path} line {n}, column `n`: no draw"));
            }
            if level.std < 0.0 {
                return Err(format!("{path} line {n}, column `std`: negative"));
            }
            let slack = 1e-9 * level.min.abs().max(level.max.abs()).max(1.0);
            if !(level.min <= level.max
                && level.min - slack <= level.mean
                && level.mean <= level.max + slack)
            {
                return Err(format!(
                    "{path} line {n}: mean {} is outside [min, max] = [{}, {}]",
                    level.mean, level.min, level.max
                ));
            }
            if let Some((l, _)) = levels
                .iter()
                .find(|(_, q)| q.model == level.model && q.value == level.value)
            {
                return Err(format!(
                    "{path} line {n}: {} at {param} = {value} again (first on line {l})",
                    level.model
                ));
            }
            levels.push((n, level));
        }
    }
    let Some((_, dataset, _, param)) = first else {
        return Err(format!("{path}: no rows below the header"));
    };
    let points: Vec<Point> = points.into_iter().map(|(_, p)| p).collect();
    let levels = if is_points {
        levels_of(&points)
    } else {
        levels.into_iter().map(|(_, l)| l).collect()
    };
    Ok(CurveData {
        dataset,
        metric,
        param,
        points,
        levels,
        failed: failed.into_iter().map(|(_, f)| f).collect(),
    })
}

/// Levels worth trying for hyper-parameters that model hardware non-idealities (those of
/// `results/robustness/run.sh`); other hyper-parameters start from their current value alone.
pub fn suggested_levels(name: &str) -> Option<&'static str> {
    match name {
        "w_noise" => Some("0, 0.02, 0.05, 0.1, 0.2, 0.5"),
        "stuck_zero" | "stuck_max" => Some("0, 0.01, 0.05, 0.1, 0.2"),
        n if n.ends_with("_bits") => Some("0, 2, 3, 4, 6, 8, 12"),
        _ => None,
    }
}

/// The robustness form: a model, a data set, where the hyper-parameters start, the one varied with its levels,
/// the draws and the seed, then every other hyper-parameter of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveForm {
    /// Selected field: 0 model, 1 data set, 2 start, 3 varied hyper-parameter, 4 levels, 5 draws, 6 seed, then
    /// [`CurveForm::params`].
    pub field: usize,
    /// Index into [`ModelKind::table_order`].
    pub model: usize,
    /// Index into the catalog's loaded data sets.
    pub dataset: usize,
    /// Start from the paper's selection for the data set (Tables V-VIII) instead of the model's defaults.
    pub preset: bool,
    /// Index into the model's `param_names()`: the hyper-parameter varied.
    pub param: usize,
    /// Its levels, separated by commas.
    pub values: String,
    /// Fresh models per level.
    pub draws: String,
    /// Seed of every draw.
    pub seed: String,
    /// Every other hyper-parameter of the model, one value each, set over the preset or defaults when changed.
    pub params: Vec<ParamField>,
    /// Why the form cannot run as it stands.
    pub error: Option<String>,
}

/// The fields of [`CurveForm`] before its hyper-parameters.
pub const CURVE_FIXED_FIELDS: usize = 7;

impl CurveForm {
    /// The form for the first data set, MF-ESN (else the first model) varying `w_noise` (else its first hardware
    /// non-ideality, else its first hyper-parameter), 5 draws, seed 0.
    pub fn new(datasets: &[DatasetSummary]) -> CurveForm {
        let order = ModelKind::table_order();
        let model = order
            .iter()
            .position(|m| *m == ModelKind::MfEsn)
            .unwrap_or(0);
        let mut form = CurveForm {
            field: 0,
            model,
            dataset: 0,
            preset: false,
            param: 0,
            values: String::new(),
            draws: "5".into(),
            seed: "0".into(),
            params: Vec::new(),
            error: None,
        };
        form.choose_model(model, datasets);
        form
    }

    /// The model chosen.
    pub fn model_kind(&self) -> ModelKind {
        let order = ModelKind::table_order();
        order[self.model.min(order.len() - 1)]
    }

    /// The hyper-parameter varied.
    pub fn param_name(&self) -> &'static str {
        let names = self.model_kind().model().param_names();
        names[self.param.min(names.len() - 1)]
    }

    /// Every field: the fixed ones, then the hyper-parameters.
    pub fn n_fields(&self) -> usize {
        CURVE_FIXED_FIELDS + self.params.len()
    }

    /// The values the hyper-parameters start from: the model's defaults, with the paper's selection over them
    /// when asked for and known.
    fn fill(&self, datasets: &[DatasetSummary]) -> (Params, Params) {
        let m = self.model_kind();
        let defaults = params::defaults(m);
        let mut fill = defaults.clone();
        if self.preset {
            if let Some(p) = datasets
                .get(self.dataset)
                .and_then(|d| m.model().preset(&d.name))
            {
                fill.extend(p);
            }
        }
        (defaults, fill)
    }

    /// Fills the hyper-parameter fields again, keeping the values the user changed when `keep` holds.
    fn refill(&mut self, datasets: &[DatasetSummary], keep: bool) {
        let (defaults, fill) = self.fill(datasets);
        let axes: Vec<(String, Vec<f64>)> =
            fill.iter().map(|(k, v)| (k.clone(), vec![*v])).collect();
        let mut fields = params::fields(self.model_kind(), &axes, &defaults, &[self.param_name()]);
        if keep {
            for f in &mut fields {
                if let Some(old) = self.params.iter().find(|o| o.name == f.name && o.edited()) {
                    f.text = old.text.clone();
                }
            }
        }
        self.params = fields;
    }

    /// Chooses model `model` (an index into [`ModelKind::table_order`]): the varied hyper-parameter stays when the
    /// model has it, and every field is filled again.
    pub fn choose_model(&mut self, model: usize, datasets: &[DatasetSummary]) {
        let previous =
            (!self.params.is_empty() || !self.values.is_empty()).then(|| self.param_name());
        self.model = model;
        let names = self.model_kind().model().param_names();
        self.param = previous
            .and_then(|p| names.iter().position(|n| *n == p))
            .or_else(|| names.iter().position(|n| *n == "w_noise"))
            .or_else(|| names.iter().position(|n| suggested_levels(n).is_some()))
            .unwrap_or(0);
        self.params.clear();
        self.refill(datasets, false);
        self.values = self.suggested_values(datasets);
    }

    /// Chooses the varied hyper-parameter: its levels are suggested again; the other fields keep their changes.
    pub fn choose_param(&mut self, param: usize, datasets: &[DatasetSummary]) {
        self.param = param;
        self.refill(datasets, true);
        self.values = self.suggested_values(datasets);
    }

    /// The data set or the start changed: fields are filled again, keeping the user's changes.
    pub fn fill_again(&mut self, datasets: &[DatasetSummary]) {
        self.refill(datasets, true);
    }

    fn suggested_values(&self, datasets: &[DatasetSummary]) -> String {
        let name = self.param_name();
        suggested_levels(name).map_or_else(
            || {
                self.fill(datasets)
                    .1
                    .get(name)
                    .map_or(String::new(), |v| fmt_value(*v))
            },
            str::to_string,
        )
    }

    /// The curve the form asks for, checked through the model seam as `mf robustness` checks it (the same
    /// messages), with its label.
    pub fn request(
        &self,
        datasets: &[DatasetSummary],
    ) -> Result<(String, RobustnessRequest), String> {
        let model = self.model_kind();
        let dataset = datasets
            .get(self.dataset)
            .ok_or("no data set in the catalog")?
            .name
            .clone();
        let param = self.param_name();
        let values = parse_values(param, &self.values)?;
        if values.is_empty() {
            return Err(format!("no value given for {param}"));
        }
        let draws: usize = self
            .draws
            .trim()
            .parse()
            .map_err(|_| format!("draws: `{}` is not a whole number", self.draws.trim()))?;
        if draws == 0 {
            return Err("draws must be at least 1".into());
        }
        let seed = params::parse_seed(&self.seed)?;
        let mut set = Params::new();
        let mut changed = Vec::new();
        for f in &self.params {
            let v = f.values()?;
            match v[..] {
                [] => {}
                [x] if f.edited() => {
                    set.insert(f.name.clone(), x);
                    changed.push(format!("{}={}", f.name, fmt_value(x)));
                }
                [_] => {}
                _ => {
                    return Err(format!(
                        "{}: one value only (the curve varies {param})",
                        f.name
                    ))
                }
            }
        }
        let req = RobustnessRequest {
            models: vec![model],
            dataset: dataset.clone(),
            preset: self.preset,
            set,
            param: param.to_string(),
            values: values.clone(),
            draws,
            seed,
            protocol: Default::default(),
        };
        for &v in &values {
            req.point(model, v)
                .configure()
                .map_err(|e| format!("{model} with {param} = {v}: {e}"))?;
        }
        let mut label = format!(
            "{dataset} {model}: {param} = {}, {draws} draws",
            fmt_values(&values)
        );
        if self.preset {
            label.push_str(", paper preset");
        }
        if !changed.is_empty() {
            label.push_str(&format!("; {}", changed.join(" ")));
        }
        Ok((label, req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINTS: &str = "dataset,metric,model,param,value,draw,seed,score\n\
        Toy,accuracy,mf-esn,w_noise,0,0,11,0.8\n\
        Toy,accuracy,mf-esn,w_noise,0,1,12,0.9\n\
        Toy,accuracy,mf-esn,w_noise,0.5,0,11,0.5\n\
        Toy,accuracy,mf-esn,w_noise,0.5,1,12,0.7\n";

    #[test]
    fn draws_are_summarised_per_level_in_closed_form() {
        let c = parse_curve("p.csv", POINTS).unwrap();
        assert_eq!((c.dataset.as_str(), c.param.as_str()), ("Toy", "w_noise"));
        assert_eq!(c.metric, Metric::Accuracy);
        assert_eq!(c.points.len(), 4);
        let l = &c.levels;
        assert_eq!(l.len(), 2);
        // Two draws a and b: mean (a + b) / 2, population std |a - b| / 2.
        for (level, (a, b)) in l.iter().zip([(0.8, 0.9), (0.5, 0.7)]) {
            assert!((level.mean - (a + b) / 2.0).abs() < 1e-12, "{level:?}");
            assert!(
                (level.std - f64::abs(a - b) / 2.0).abs() < 1e-12,
                "{level:?}"
            );
            assert_eq!((level.min, level.max, level.n), (a, b, 2));
        }
        assert_eq!((l[0].value, l[1].value), (0.0, 0.5));
    }

    #[test]
    fn a_summary_reads_as_written() {
        let text = "dataset,metric,model,param,value,n,mean,std,min,max\n\
                    Toy,rmse,esn,adc_bits,4,3,0.25,0.01,0.24,0.26\r\n";
        let c = parse_curve("s.csv", text).unwrap();
        assert_eq!(c.metric, Metric::Rmse);
        assert_eq!(
            c.levels,
            vec![Level {
                model: "esn".into(),
                param: "adc_bits".into(),
                value: 4.0,
                n: 3,
                mean: 0.25,
                std: 0.01,
                min: 0.24,
                max: 0.26
            }]
        );
    }

    #[test]
    fn files_that_could_be_misread_are_refused_with_line_and_column() {
        let cases = [
            (POINTS.replace("0.9\n", "x\n"), "line 3, column `score`: `x` is not a number"),
            (POINTS.replace("0.9\n", "inf\n"), "line 3, column `score`: `inf` is not a finite"),
            (POINTS.replace(",12,0.9", ",12,0.9,1"), "line 3: 9 fields, the header has 8"),
            (POINTS.replace("Toy,accuracy,mf-esn,w_noise,0.5,0", "Toy,accuracy,mf-esn,adc_bits,0.5,0"),
             "line 4, column `param`: `adc_bits`, but line 2 has `w_noise`"),
            (POINTS.replace("0.5,1,12", "0.5,0,12"), "line 5: draw 0 of mf-esn at w_noise = 0.5 again (first on line 4)"),
            (POINTS.replace("accuracy,mf-esn,w_noise,0,0", "f1,mf-esn,w_noise,0,0"), "line 2, column `metric`"),
            (POINTS.replace("seed,", "sed,"), "line 1, column 7: unknown column `sed`"),
            ("a,b\n1,2\n".to_string(), "line 1: not a file of mf robustness"),
            ("dataset,metric,model,param,value,draw,seed,score\n".to_string(), "no rows below the header"),
            ("dataset,metric,model,param,value,n,mean,std,min,max\nT,rmse,esn,p,1,2,0.9,0.1,0.1,0.2\n".to_string(),
             "line 2: mean 0.9 is outside [min, max]"),
            ("dataset,metric,model,param,value,n,mean,std,min\n".to_string(), "line 1: no column `max`"),
        ];
        for (text, want) in cases {
            let e = parse_curve("f.csv", &text).unwrap_err();
            assert!(
                e.starts_with("f.csv") && e.contains(want),
                "{e}\nwanted: {want}"
            );
        }
    }

    #[test]
    fn a_failed_level_reads_as_failed_in_both_files_and_old_files_still_read() {
        let reason =
            "trial 2/2 (seed 12): non-finite values in reservoir state of series 0 at step 3";
        let draws = format!(
            "dataset,metric,model,param,value,draw,seed,score,failed\n\
             Toy,accuracy,mf-esn,d2d_sigma,0,0,11,0.8,\n\
             Toy,accuracy,mf-esn,d2d_sigma,0,1,12,0.9,\n\
             Toy,accuracy,mf-esn,d2d_sigma,5,,,,\"{reason}, once\"\n"
        );
        let summary = format!(
            "dataset,metric,model,param,value,n,mean,std,min,max,failed\n\
             Toy,accuracy,mf-esn,d2d_sigma,0,2,0.85,0.05,0.8,0.9,\n\
             Toy,accuracy,mf-esn,d2d_sigma,5,0,,,,,\"{reason}, once\"\n"
        );
        for text in [draws, summary] {
            let c = parse_curve("f.csv", &text).unwrap();
            assert_eq!(c.levels.len(), 1, "{text}");
            assert_eq!(c.levels[0].value, 0.0);
            assert_eq!(
                c.failed,
                vec![FailedLevel {
                    model: "mf-esn".into(),
                    param: "d2d_sigma".into(),
                    value: 5.0,
                    reason: format!("{reason}, once"),
                }]
            );
        }
        // Files written before a level could fail have no `failed` column.
        assert!(parse_curve("p.csv", POINTS).unwrap().failed.is_empty());
    }

    #[test]
    fn a_failed_level_with_a_score_is_refused() {
        let points = "dataset,metric,model,param,value,draw,seed,score,failed\n\
                      Toy,accuracy,esn,w_noise,0,0,11,0.8,\n";
        let levels = "dataset,metric,model,param,value,n,mean,std,min,max,failed\n\
                      Toy,rmse,esn,w_noise,0,2,0.25,0.01,0.24,0.26,\n";
        let cases = [
            (format!("{points}Toy,accuracy,esn,w_noise,1,,,0.5,boom\n"), "line 3, column `score`: `0.5`, but the level failed"),
            (format!("{points}Toy,accuracy,esn,w_noise,0,,,,boom\n"), "line 3: esn at w_noise = 0 failed, but line 2 scores it"),
            (format!("{points}Toy,accuracy,esn,w_noise,1,,,,boom\nToy,accuracy,esn,w_noise,1,0,11,0.5,\n"),
             "line 4: esn at w_noise = 1 again (failed on line 3)"),
            (format!("{levels}Toy,rmse,esn,w_noise,1,3,,,,,boom\n"), "line 3, column `n`: `3`, but the level failed"),
            (format!("{levels}Toy,rmse,esn,w_noise,1,0,0.2,,,,boom\n"), "line 3, column `mean`: `0.2`"),
        ];
        for (text, want) in cases {
            let e = parse_curve("f.csv", &text).unwrap_err();
            assert!(e.contains(want), "{e}\nwanted: {want}");
        }
    }

    #[test]
    fn quoted_fields_keep_their_commas() {
        assert_eq!(
            split_line(r#"a,"b,c","d""e""#).unwrap(),
            ["a", "b,c", "d\"e"]
        );
        assert!(split_line(r#"a,"b"#).is_err());
    }
}
