//! The Sequence view: one reservoir on a sequence task, drawn. On Mackey-Glass and Lorenz-63 the true signal and
//! the reservoir's closed-loop continuation after the first switch of `mf forecast` (teacher-forced fit on the
//! training and validation segments, then its own output fed back), with the task's forecast metric over every
//! start; on the memory capacity, the curve `MC_k` against the delay `k` with its sum and the bound `N`.
//! `j`/`k` choose a setting and `h`/`l` change it; every change computes a new picture on a worker thread
//! ([`Effect::ComputeSequence`]).

use mf_lab::models::CancelToken;
use mf_lab::sequence::{forecast, run_sequence, SequenceTask, FORECAST_STARTS};
use mf_lab::single::ModelRequest;
use mf_lab::training::TrainingProtocol;
use mf_lab::{ModelKind, Normalise};

use crate::dashboard::action::{Effect, Key};
use crate::dashboard::app::App;

/// The tasks the view draws.
pub const TASKS: [SequenceTask; 3] = [
    SequenceTask::MackeyGlass,
    SequenceTask::Lorenz,
    SequenceTask::MemoryCapacity,
];
/// The models it offers: the registered models that run sequence tasks (the reservoir models).
pub fn models() -> Vec<ModelKind> {
    mf_lab::sequence::reservoir_models()
        .into_iter()
        .filter_map(|id| id.parse().ok())
        .collect()
}
const UNITS: [usize; 5] = [25, 50, 100, 200, 400];
const LAMBDAS: [f64; 5] = [1e-8, 1e-6, 1e-4, 1e-2, 1.0];

/// What the view computes: a model of the task with these settings (the model's defaults otherwise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequenceParams {
    /// The task.
    pub task: SequenceTask,
    /// The model.
    pub model: ModelKind,
    /// Reservoir units (per layer).
    pub n_units: usize,
    /// The ridge readout's regularisation.
    pub lambda: f64,
    /// The reservoir's seed.
    pub seed: u64,
}

impl Default for SequenceParams {
    /// An ESN of 100 units on Mackey-Glass at lambda 1e-6, seed 0.
    fn default() -> Self {
        SequenceParams {
            task: SequenceTask::MackeyGlass,
            model: ModelKind::Esn,
            n_units: 100,
            lambda: 1e-6,
            seed: 0,
        }
    }
}

impl SequenceParams {
    /// The horizon of the forecast drawn: Jaeger's 84 steps on Mackey-Glass, 10 Lyapunov times on Lorenz-63.
    pub fn horizon(&self) -> usize {
        match self.task {
            SequenceTask::Lorenz => 550,
            _ => 84,
        }
    }

    fn request(&self) -> ModelRequest {
        ModelRequest {
            model: self.model,
            dataset: self.task.name().to_string(),
            preset: false,
            set: [
                ("n_units".to_string(), self.n_units as f64),
                ("lambda".to_string(), self.lambda),
            ]
            .into_iter()
            .collect(),
            seed: self.seed,
            protocol: TrainingProtocol::default(),
            normalise: Normalise::None,
        }
    }
}

/// What the view draws.
#[derive(Debug, Clone, PartialEq)]
pub enum SequencePicture {
    /// A closed-loop forecast: the first channel of the true continuation and of the generated one after the
    /// first switch, and the metric over every start.
    Forecast {
        /// `nrmse@84` or `vpt`.
        metric: String,
        /// Its value.
        value: f64,
        /// The signal's first channel, `horizon` steps after the switch.
        truth: Vec<f64>,
        /// The reservoir's generation.
        generated: Vec<f64>,
    },
    /// The memory capacity: `MC_k` for `k = 1..=2N`, its sum, and `N`.
    Memory {
        /// `MC_1..MC_2N`.
        curve: Vec<f64>,
        /// Their sum.
        total: f64,
        /// The units the readout reads (the bound).
        units: usize,
    },
}

/// Computes the picture of `params` (a forecast with [`FORECAST_STARTS`] starts, or one reservoir's memory
/// capacity), as `mf forecast` and `mf run` compute them.
pub fn compute(params: &SequenceParams) -> Result<SequencePicture, String> {
    let req = params.request();
    let cancel = CancelToken::new();
    match params.task {
        SequenceTask::MemoryCapacity => {
            let r = run_sequence(&req, params.task, 1, &cancel).map_err(|e| e.to_string())?;
            let layers = r.config["layers"].as_u64().unwrap_or(1) as usize;
            Ok(SequencePicture::Memory {
                curve: r.curve,
                total: r.mean,
                units: params.n_units * layers,
            })
        }
        task => {
            let f = forecast(&req, task, params.horizon(), FORECAST_STARTS, &cancel)
                .map_err(|e| e.to_string())?;
            let first = |rows: &[Vec<f64>]| rows.iter().map(|r| r[0]).collect();
            Ok(SequencePicture::Forecast {
                metric: f.metric,
                value: f.value,
                truth: first(&f.truth),
                generated: first(&f.generated),
            })
        }
    }
}

/// The Sequence view's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SequenceView {
    /// The settings shown.
    pub params: SequenceParams,
    /// Selected setting: 0 task, 1 model, 2 units, 3 lambda, 4 seed.
    pub field: usize,
    /// The latest picture (for `params` unless `computing`).
    pub picture: Option<Result<SequencePicture, String>>,
    /// A computation for `params` is under way.
    pub computing: bool,
}

/// The number of settings.
pub const FIELDS: usize = 5;

/// Shows a computed picture if it belongs to the settings shown (an older one is dropped).
pub(in crate::dashboard) fn computed(
    app: &mut App,
    params: SequenceParams,
    result: Result<SequencePicture, String>,
) {
    if params == app.sequence.params {
        app.sequence.computing = false;
        if let Err(e) = &result {
            app.status = format!("error: sequence: {e}");
        }
        app.sequence.picture = Some(result);
    }
}

/// The effect that computes the picture of the settings shown.
pub(in crate::dashboard) fn compute_shown(app: &mut App) -> Vec<Effect> {
    app.sequence.computing = true;
    vec![Effect::ComputeSequence(app.sequence.params)]
}

/// `i` of `len` stepped by one up or down, staying inside.
fn step(i: usize, len: usize, up: bool) -> usize {
    if up {
        (i + 1).min(len - 1)
    } else {
        i.saturating_sub(1)
    }
}

/// `j`/`k` choose a setting, `h`/`l` change it; every change asks for a new picture.
pub(in crate::dashboard) fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
    let st = &mut app.sequence;
    let p = &mut st.params;
    match key {
        Key::Down | Key::Char('j') => st.field = (st.field + 1) % FIELDS,
        Key::Up | Key::Char('k') => st.field = (st.field + FIELDS - 1) % FIELDS,
        Key::Left | Key::Char('h') | Key::Right | Key::Char('l') => {
            let up = matches!(key, Key::Right | Key::Char('l'));
            let at = |found: Option<usize>| found.unwrap_or(0);
            match st.field {
                0 => {
                    p.task =
                        TASKS[step(at(TASKS.iter().position(|t| *t == p.task)), TASKS.len(), up)]
                }
                1 => {
                    let models = models();
                    p.model = models[step(
                        at(models.iter().position(|m| *m == p.model)),
                        models.len(),
                        up,
                    )]
                }
                2 => {
                    p.n_units = UNITS[step(
                        at(UNITS.iter().position(|n| *n >= p.n_units)),
                        UNITS.len(),
                        up,
                    )]
                }
                3 => {
                    p.lambda = LAMBDAS[step(
                        at(LAMBDAS.iter().position(|l| *l >= p.lambda)),
                        LAMBDAS.len(),
                        up,
                    )]
                }
                _ => {
                    p.seed = if up {
                        p.seed + 1
                    } else {
                        p.seed.saturating_sub(1)
                    }
                }
            }
            return compute_shown(app);
        }
        _ => {}
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The picture is what `mf forecast` and `mf run` report for the same settings.
    #[test]
    fn the_pictures_are_the_commands_numbers() {
        let cancel = CancelToken::new();
        let p = SequenceParams {
            n_units: 25,
            ..Default::default()
        };
        let SequencePicture::Forecast {
            metric,
            value,
            truth,
            generated,
        } = compute(&p).unwrap()
        else {
            panic!("a forecast")
        };
        let f = forecast(&p.request(), p.task, 84, FORECAST_STARTS, &cancel).unwrap();
        assert_eq!((metric.as_str(), value), ("nrmse@84", f.value));
        assert_eq!((truth.len(), generated.len()), (84, 84));
        assert_eq!(generated[5], f.generated[5][0]);
        let mc = SequenceParams {
            task: SequenceTask::MemoryCapacity,
            model: "deep-mf-esn".parse().unwrap(),
            ..p
        };
        let SequencePicture::Memory {
            curve,
            total,
            units,
        } = compute(&mc).unwrap()
        else {
            panic!("a memory curve")
        };
        let r = run_sequence(&mc.request(), mc.task, 1, &cancel).unwrap();
        assert_eq!(
            (total, units),
            (r.mean, 25 * r.config["layers"].as_u64().unwrap() as usize)
        );
        assert_eq!(curve.len(), 2 * units);
        assert!((curve.iter().sum::<f64>() - total).abs() < 1e-9);
    }
}
