//! Reservoir models: a fixed random recurrent layer (MF cell or leaky tanh) with a ridge readout on the last state.

use linfa::ParamGuard;
use std::sync::atomic::AtomicBool;

use mf_core::harvest::{harvest_with_devices, HarvestOptions};
use mf_core::init::{ReservoirInit, Scalings, SpectralInit};
use mf_core::integrate::{harvest_integrated, Integrator};
use mf_core::rng::{derive_seed, rng_from_seed};
use mf_core::seq::{accuracy, rmse};
use mf_core::sparse::Connectivity;
use mf_core::variation::{Devices, UnitPhysics};
use mf_core::{CellKind, MfCell, Physics, Sequences, Targets, Weights};
use ndarray::{Array2, ArrayBase, Data, Ix2};
use serde::{Deserialize, Serialize};

use crate::hardware::{Hardware, Run};
use crate::ridge::{check_lambda, Ridge, RidgeClassifier};
use crate::EsnError;

/// Every hyper-parameter of a reservoir model; serialises losslessly (`deny_unknown_fields`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservoirConfig {
    /// Number of reservoir units `N`. Default `100` (paper Sec. VI).
    pub n_units: usize,
    /// Input scaling `omega`, bias scaling `beta` and spectral radius `rho` (paper Sec. IV-A, Table III). Default
    /// `1`, `0.001`, `0.9` for MF-ESN ([`Scalings::MF_ESN`]) and `1`, `0.1`, `0.99` for ESN ([`Scalings::ESN`]).
    /// Serialised flat: `omega`, `beta`, `rho`.
    #[serde(flatten)]
    pub scalings: Scalings,
    /// How `rho` is reached: circular-law scaling (default, the reference's) or exact rescaling (the paper's text).
    #[serde(default)]
    pub spectral: SpectralInit,
    /// The recurrent update: MF cell (default for MF-ESN: `dt = 0.01`, `gamma = 1`, `s = 5`, Table II physics) or
    /// leaky ESN (default for ESN: `alpha = 0.1`) (paper eqs. 8-12; the leaky-integrator ESN of Sec. VI).
    pub cell: CellKind,
    /// Ridge regularisation `lambda` of the readout. Default `1` (paper Sec. VI: Tikhonov regulariser `lambda = 1`).
    pub lambda: f64,
    /// Non-idealities of a memristive implementation: quantised, noisy and stuck weight devices, ADC read-out,
    /// readout precision, and the MF neurons' device-to-device variability and cycle-to-cycle noise (see
    /// [`Hardware`]). Default: all off, the ideal model; left out of the serialised form when off.
    #[serde(default, skip_serializing_if = "Hardware::is_ideal")]
    pub hardware: Hardware,
    /// Which connections of `W_h` and `W_x` exist (paper Sec. VII; see [`Connectivity`]): the densities of both
    /// kernels, the spectral scaling keeping its meaning. Default dense (both densities 1), the paper's reservoir;
    /// left out of the serialised form when dense.
    #[serde(default, skip_serializing_if = "Connectivity::is_dense")]
    pub connectivity: Connectivity,
    /// How the MF cell advances over one input step (paper Sec. VII; see [`Integrator`]): Euler substeps or the
    /// exact solution of the device equation. Default one Euler step, the paper's eq. 12; left out of the
    /// serialised form when default. Other integrators run a slower f64 harvest.
    #[serde(default, skip_serializing_if = "Integrator::is_paper")]
    pub integrator: Integrator,
    /// How the readout is fitted: closed-form ridge (the default, paper Sec. VI) or recursive least squares on a
    /// sequence task ([`ReadoutFit::Rls`]); left out of the serialised form when ridge.
    #[serde(default, skip_serializing_if = "ReadoutFit::is_ridge")]
    pub readout: ReadoutFit,
}

/// How a reservoir's readout is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ReadoutFit {
    /// Closed-form ridge regression with penalty `lambda` and an unpenalised intercept (paper Sec. VI).
    #[default]
    Ridge,
    /// Recursive least squares over the rows in time order, from `P = I / lambda`, with forgetting factor
    /// `forgetting` in `(0, 1]` (1 forgets nothing: then it is the ridge with the bias penalised too); see
    /// [`crate::sequence::Rls`]. Sequence tasks only: a series data set's rows have no order to forget along.
    Rls {
        /// The forgetting factor `lambda_f`.
        forgetting: f64,
    },
}

impl ReadoutFit {
    /// True for the closed-form ridge, the default.
    pub fn is_ridge(&self) -> bool {
        *self == ReadoutFit::Ridge
    }
}

impl ReservoirConfig {
    /// The MF-ESN defaults (see each field).
    pub fn mf_esn() -> Self {
        Self {
            n_units: 100,
            scalings: Scalings::MF_ESN,
            spectral: SpectralInit::CircularLaw,
            cell: CellKind::Mf(MfCell::new(0.01, 1.0, 5.0)),
            lambda: 1.0,
            hardware: Hardware::default(),
            connectivity: Connectivity::default(),
            integrator: Integrator::default(),
            readout: ReadoutFit::Ridge,
        }
    }

    /// The leaky-ESN defaults (see each field).
    pub fn esn() -> Self {
        Self {
            n_units: 100,
            scalings: Scalings::ESN,
            spectral: SpectralInit::CircularLaw,
            cell: CellKind::LeakyEsn { alpha: 0.1 },
            lambda: 1.0,
            hardware: Hardware::default(),
            connectivity: Connectivity::default(),
            integrator: Integrator::default(),
            readout: ReadoutFit::Ridge,
        }
    }

    /// The reservoir scalings as `mf-core`'s initialiser.
    pub fn init(&self) -> ReservoirInit {
        ReservoirInit {
            n_units: self.n_units,
            scalings: self.scalings,
            spectral: self.spectral,
        }
    }

    /// Checks every range the model assumes.
    pub fn check(&self) -> Result<(), EsnError> {
        if self.n_units == 0 {
            return Err(EsnError::Param {
                name: "n_units",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        for (name, v) in self.scalings.named() {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(EsnError::Param {
                    name,
                    value: v,
                    reason: "must be non-negative and finite",
                });
            }
        }
        self.cell.check()?;
        self.hardware.check()?;
        self.connectivity.check()?;
        // Quantisation and stuck devices act on every entry of a kernel, so on a sparse one they would put
        // conductance where no device is: refused until absent devices are modelled.
        let sparse = self.connectivity.density < 1.0 || self.connectivity.input_density < 1.0;
        if sparse && self.hardware.per_device() {
            return Err(EsnError::Param {
                name: "density",
                value: self
                    .connectivity
                    .density
                    .min(self.connectivity.input_density),
                reason:
                    "sparse kernels cannot be combined with w_bits, stuck_zero or stuck_max yet",
            });
        }
        self.integrator.check_cell(&self.cell)?;
        self.check_neurons()?;
        check_lambda(self.lambda)?;
        if let ReadoutFit::Rls { forgetting } = self.readout {
            if !(forgetting > 0.0 && forgetting <= 1.0) {
                return Err(EsnError::Param {
                    name: "forgetting",
                    value: forgetting,
                    reason: "must be in (0, 1] (1 forgets nothing)",
                });
            }
            if self.lambda <= 0.0 {
                return Err(EsnError::Param {
                    name: "lambda",
                    value: self.lambda,
                    reason:
                        "recursive least squares starts from P = I / lambda: it must be positive",
                });
            }
        }
        Ok(())
    }

    /// The neurons' own non-idealities need an MF cell (the leaky ESN's tanh neuron is no device) advanced by the
    /// paper's step (the vectorised harvest is where they are modelled), and a `d2d_sigma` whose log-normal draw
    /// gives every neuron positive, finite constants ([`UnitPhysics::check_sigma`]): a degenerate draw would
    /// otherwise surface at fit time as a unit's `kp0 = 0`, a constant the user never set.
    fn check_neurons(&self) -> Result<(), EsnError> {
        let Some((name, value)) = self.hardware.neuron_non_ideality() else {
            return Ok(());
        };
        let CellKind::Mf(cell) = &self.cell else {
            return Err(EsnError::Param {
                name,
                value,
                reason: "only the MF cell is a device; the leaky ESN's tanh cell has no device non-idealities",
            });
        };
        UnitPhysics::check_sigma(&cell.physics, self.hardware.d2d_sigma)?;
        if !self.integrator.is_paper() {
            return Err(EsnError::Param {
                name,
                value,
                reason: "device variability and cycle-to-cycle noise run with the paper's Euler step only \
                         (integrator 0, substeps 1)",
            });
        }
        Ok(())
    }

    /// Draws the reservoir's weights for `n_inputs` inputs: the initialiser's draw with the kernels masked to
    /// [`Self::connectivity`] (the initialiser's own draw, bit for bit, when dense).
    pub fn draw_weights<R: rand::Rng + ?Sized>(
        &self,
        n_inputs: usize,
        rng: &mut R,
    ) -> Result<Weights<f32>, EsnError> {
        Ok(self.connectivity.draw(&self.init(), n_inputs, rng)?)
    }

    /// The reservoir drawn from `seed` for `n_inputs` inputs, as every fitted or driven reservoir of this
    /// configuration has it: the weights ([`Self::draw_weights`]) programmed into the weight devices, each MF
    /// neuron's own constants (with `d2d_sigma`), and the neurons' devices in `run`.
    pub(crate) fn draw_reservoir(
        &self,
        n_inputs: usize,
        seed: u64,
        run: Run,
    ) -> Result<(Weights<f32>, Option<UnitPhysics>, Devices), EsnError> {
        let mut weights = self.draw_weights(n_inputs, &mut rng_from_seed(seed))?;
        self.hardware.program(&mut weights, seed);
        let units = self.hardware.unit_physics(&self.cell, self.n_units, seed);
        let devices = self.hardware.devices(units.as_ref(), seed, run);
        Ok((weights, units, devices))
    }

    /// Non-zero weights of the reservoir for `n_inputs` inputs: recurrent and input kernels, not the bias.
    pub fn n_weights(&self, n_inputs: usize) -> usize {
        self.connectivity.n_weights(n_inputs, self.n_units)
    }

    /// Checks the configuration and returns it as fittable parameters.
    pub fn into_params(self) -> Result<ReservoirValidParams, EsnError> {
        ReservoirParams(ReservoirValidParams(self)).check()
    }
}

/// Unchecked reservoir hyper-parameters with consuming setters; [`ParamGuard::check`] validates them.
#[derive(Debug, Clone, PartialEq)]
pub struct ReservoirParams(ReservoirValidParams);

/// Checked reservoir hyper-parameters, ready to [`fit`](ReservoirValidParams::fit).
#[derive(Debug, Clone, PartialEq)]
pub struct ReservoirValidParams(ReservoirConfig);

/// Entry point of the memristive-friendly echo state network (paper Sec. IV-A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfEsn;

/// Entry point of the leaky echo state network baseline (paper Sec. VI: leaky-integrator neurons, its Ref. 46).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Esn;

impl MfEsn {
    /// MF-ESN parameters with the defaults of [`ReservoirConfig::mf_esn`].
    pub fn params() -> ReservoirParams {
        ReservoirParams(ReservoirValidParams(ReservoirConfig::mf_esn()))
    }
}

impl Esn {
    /// Leaky-ESN parameters with the defaults of [`ReservoirConfig::esn`].
    pub fn params() -> ReservoirParams {
        ReservoirParams(ReservoirValidParams(ReservoirConfig::esn()))
    }
}

impl ReservoirParams {
    /// The configuration as set so far (unchecked).
    pub fn config(&self) -> &ReservoirConfig {
        &self.0 .0
    }

    fn mf(&mut self) -> &mut MfCell {
        let cfg = &mut self.0 .0;
        if !matches!(cfg.cell, CellKind::Mf(_)) {
            cfg.cell = ReservoirConfig::mf_esn().cell;
        }
        match &mut cfg.cell {
            CellKind::Mf(c) => c,
            _ => unreachable!("set to an MF cell just above"),
        }
    }

    /// Number of units `N` (default 100, paper Sec. VI).
    pub fn n_units(mut self, n: usize) -> Self {
        self.0 .0.n_units = n;
        self
    }

    /// Input scaling `omega` (default 1, Table III).
    pub fn omega(mut self, v: f64) -> Self {
        self.0 .0.scalings.omega = v;
        self
    }

    /// Bias scaling `beta` (default 0.001 MF-ESN, 0.1 ESN, Table III).
    pub fn beta(mut self, v: f64) -> Self {
        self.0 .0.scalings.beta = v;
        self
    }

    /// Spectral radius `rho` (default 0.9 MF-ESN, 0.99 ESN, Table III).
    pub fn rho(mut self, v: f64) -> Self {
        self.0 .0.scalings.rho = v;
        self
    }

    /// How the readout is fitted (default the closed-form ridge; see [`ReadoutFit`]).
    pub fn readout(mut self, v: ReadoutFit) -> Self {
        self.0 .0.readout = v;
        self
    }

    /// How `rho` is reached (default circular law, the paper's Ref. 47; see [`SpectralInit`]).
    pub fn spectral(mut self, v: SpectralInit) -> Self {
        self.0 .0.spectral = v;
        self
    }

    /// Ridge regularisation `lambda` (default 1, paper Sec. VI).
    pub fn lambda(mut self, v: f64) -> Self {
        self.0 .0.lambda = v;
        self
    }

    /// The hardware non-idealities (default: none, see [`Hardware`]).
    pub fn hardware(mut self, v: Hardware) -> Self {
        self.0 .0.hardware = v;
        self
    }

    /// Which connections exist (default dense, see [`Connectivity`]).
    pub fn connectivity(mut self, v: Connectivity) -> Self {
        self.0 .0.connectivity = v;
        self
    }

    /// How the MF cell advances over a step (default the paper's Euler step, see [`Integrator`]).
    pub fn integrator(mut self, v: Integrator) -> Self {
        self.0 .0.integrator = v;
        self
    }

    /// The recurrent cell, replacing the current one.
    pub fn cell(mut self, cell: CellKind) -> Self {
        self.0 .0.cell = cell;
        self
    }

    /// MF stabiliser `gamma` (default 1, eq. 12); turns a non-MF cell into the default MF cell first.
    pub fn gamma(mut self, v: f64) -> Self {
        self.mf().gamma = v;
        self
    }

    /// MF RESCALE slope `s` (default 5, eq. 8); turns a non-MF cell into the default MF cell first.
    pub fn s(mut self, v: f64) -> Self {
        self.mf().s = v;
        self
    }

    /// MF discretisation step `dt` (default 0.01, eq. 12); turns a non-MF cell into the default MF cell first.
    pub fn dt(mut self, v: f64) -> Self {
        self.mf().dt = v;
        self
    }

    /// MF device constants (default Table II); turns a non-MF cell into the default MF cell first.
    pub fn physics(mut self, v: Physics) -> Self {
        self.mf().physics = v;
        self
    }

    /// Leaking rate `alpha` of the leaky ESN (default 0.1); makes the cell a leaky ESN.
    pub fn alpha(mut self, v: f64) -> Self {
        self.0 .0.cell = CellKind::LeakyEsn { alpha: v };
        self
    }

    /// Checks and fits in one call, see [`ReservoirValidParams::fit`].
    pub fn fit(
        &self,
        seqs: &Sequences,
        targets: &Targets,
        seed: u64,
    ) -> Result<FittedReservoir, EsnError> {
        self.check_ref()?.fit(seqs, targets, seed)
    }
}

impl ParamGuard for ReservoirParams {
    type Checked = ReservoirValidParams;
    type Error = EsnError;

    fn check_ref(&self) -> Result<&Self::Checked, Self::Error> {
        self.0 .0.check()?;
        Ok(&self.0)
    }

    fn check(self) -> Result<Self::Checked, Self::Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// The readout of a fitted reservoir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Readout {
    /// `+1/-1` ridge classifier (classification tasks).
    Classifier(RidgeClassifier),
    /// Multi-output ridge regression (regression tasks).
    Regressor(Ridge),
}

impl Readout {
    /// Decision values on last states `x` `(n_series, n_units)`: for a classifier one column per class seen in
    /// training (a single column for two classes, positive for the second), else the regression's outputs.
    pub fn decision<D: Data<Elem = f64>>(&self, x: &ArrayBase<D, Ix2>) -> Array2<f64> {
        match self {
            Readout::Classifier(c) => c.decision(x),
            Readout::Regressor(r) => r.decision(x),
        }
    }

    /// What the readout predicts from last states `x` `(n_series, n_units)`.
    pub fn predict<D: Data<Elem = f64>>(&self, x: &ArrayBase<D, Ix2>) -> Prediction {
        match self {
            Readout::Classifier(c) => Prediction::Classes(c.predict_classes(x)),
            Readout::Regressor(r) => Prediction::Values(r.decision(x)),
        }
    }
}

/// What a fitted model predicts.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// One class index per series.
    Classes(Vec<usize>),
    /// Real values, `(n_series, n_outputs)`.
    Values(Array2<f64>),
}

/// A reservoir with its trained readout.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedReservoir {
    pub(crate) config: ReservoirConfig,
    pub(crate) seed: u64,
    pub(crate) weights: Weights<f32>,
    pub(crate) readout: Readout,
    pub(crate) train_states: Array2<f32>,
    /// Each unit's device constants, when `d2d_sigma` is on.
    pub(crate) units: Option<UnitPhysics>,
}

impl ReservoirValidParams {
    /// The checked configuration.
    pub fn config(&self) -> &ReservoirConfig {
        &self.0
    }

    /// Draws the reservoir from `seed`, harvests the last state of every training series and fits the ridge readout.
    /// With non-idealities on, the drawn weights are programmed into devices ([`Hardware::program`]), each MF
    /// neuron gets its own constants ([`Hardware::unit_physics`]) and noisy rates ([`Hardware::cycle_noise`],
    /// the fitting run's), the states pass the ADC and the fitted coefficients are quantised ([`Hardware`]).
    ///
    /// Fails with [`EsnError::NonFinite`] if any state is not finite.
    pub fn fit(
        &self,
        seqs: &Sequences,
        targets: &Targets,
        seed: u64,
    ) -> Result<FittedReservoir, EsnError> {
        self.fit_cancellable(seqs, targets, seed, &AtomicBool::new(false))
    }

    /// [`Self::fit`] that stops with [`EsnError::Cancelled`] once `cancel` is set (checked during harvesting).
    pub fn fit_cancellable(
        &self,
        seqs: &Sequences,
        targets: &Targets,
        seed: u64,
        cancel: &AtomicBool,
    ) -> Result<FittedReservoir, EsnError> {
        let cfg = &self.0;
        if targets.len() != seqs.n_series() {
            return Err(EsnError::Shape {
                what: "targets".into(),
                expected: seqs.n_series().to_string(),
                got: targets.len().to_string(),
            });
        }
        if !cfg.readout.is_ridge() {
            return Err(EsnError::Param {
                name: "readout",
                value: 1.0,
                reason: "recursive least squares fits a readout along one long signal (the sequence tasks); a \
                         data set of separate series is fitted by the closed-form ridge",
            });
        }
        let (weights, units, devices) = cfg.draw_reservoir(seqs.n_inputs(), seed, Run::Fit)?;
        let mut train_states = states(cfg, &weights, &devices, seqs, cancel)?;
        cfg.hardware.read_states(&cfg.cell, train_states.view_mut());
        let x = train_states.mapv(f64::from);
        let mut readout = match targets {
            Targets::Classes { labels, n_classes } => {
                if let Some(&bad) = labels.iter().find(|&&l| l >= *n_classes) {
                    return Err(EsnError::Targets(format!(
                        "label {bad} not below n_classes = {n_classes}"
                    )));
                }
                Readout::Classifier(RidgeClassifier::fit_arrays(x.view(), labels, cfg.lambda)?)
            }
            Targets::Values(y) => {
                Readout::Regressor(Ridge::fit_arrays(x.view(), y.view(), cfg.lambda)?)
            }
        };
        readout.quantise(cfg.hardware.readout_bits);
        Ok(FittedReservoir {
            config: cfg.clone(),
            seed,
            weights,
            readout,
            train_states,
            units,
        })
    }
}

/// Last states of `seqs`, `(n_series, n_units)` of the reservoir of `cfg` with `weights` on the neurons'
/// `devices`, checked finite. Ideal neurons take the integrator's harvest (the paper's step runs the vectorised
/// one); non-ideal ones the vectorised harvest with their devices (`ReservoirConfig::check` allows them with the
/// paper's step only).
fn states(
    cfg: &ReservoirConfig,
    weights: &Weights<f32>,
    devices: &Devices,
    seqs: &Sequences,
    cancel: &AtomicBool,
) -> Result<Array2<f32>, EsnError> {
    let opts = HarvestOptions::default();
    let h = if devices.is_ideal() {
        harvest_integrated(&cfg.cell, &cfg.integrator, weights, seqs, opts, cancel)?
    } else {
        harvest_with_devices(&cfg.cell, weights, seqs, opts, devices, cancel)?
    };
    if let Some((i, _)) = h
        .last
        .rows()
        .into_iter()
        .enumerate()
        .find(|(_, r)| r.iter().any(|v| !v.is_finite()))
    {
        return Err(EsnError::NonFinite {
            what: format!("last reservoir state of series {i}"),
        });
    }
    Ok(h.last)
}

impl FittedReservoir {
    /// The configuration it was fitted with.
    pub fn config(&self) -> &ReservoirConfig {
        &self.config
    }

    /// The seed its reservoir was drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The reservoir weights (row convention, see `mf_core::Weights`).
    pub fn weights(&self) -> &Weights<f32> {
        &self.weights
    }

    /// The trained readout.
    pub fn readout(&self) -> &Readout {
        &self.readout
    }

    /// Number of inputs per time step the reservoir takes.
    pub fn n_inputs(&self) -> usize {
        self.weights.n_inputs()
    }

    /// The last states of the training series, `(n_series, n_units)`, the readout's design matrix (through the
    /// ADC when `adc_bits` is set).
    pub fn train_states(&self) -> &Array2<f32> {
        &self.train_states
    }

    /// Each MF neuron's device constants when `d2d_sigma` is on (see [`Hardware::unit_physics`]), else none.
    pub fn unit_physics(&self) -> Option<&UnitPhysics> {
        self.units.as_ref()
    }

    /// The neurons' devices in `run`: their constants and the run's cycle-to-cycle noise.
    pub fn devices(&self, run: Run) -> Devices {
        self.config
            .hardware
            .devices(self.units.as_ref(), self.seed, run)
    }

    /// The last states of `seqs`, `(n_series, n_units)`, as the readout reads them (through the ADC when
    /// `adc_bits` is set). With cycle-to-cycle noise, the prediction run's noise (see [`Run`]): series `i` of
    /// `seqs` draws as series `i` of that run, so the same series at the same place draws the same noise.
    pub fn states(&self, seqs: &Sequences) -> Result<Array2<f32>, EsnError> {
        let devices = self.devices(Run::Predict);
        let mut h = states(
            &self.config,
            &self.weights,
            &devices,
            seqs,
            &AtomicBool::new(false),
        )?;
        self.config
            .hardware
            .read_states(&self.config.cell, h.view_mut());
        Ok(h)
    }

    /// One step of one series, `pre` and `h` each `(1, n_units)`, on the neurons' non-ideal devices: unit `j`
    /// with its own constants and the prediction run's factors of series `series` at step `step`, in f64
    /// ([`mf_core::variation::update_scalar`], the harvest's reference). Returns false, changing nothing, when
    /// the neurons are ideal.
    pub(crate) fn step_devices(
        &self,
        pre: ndarray::ArrayView2<'_, f32>,
        h: ndarray::ArrayViewMut2<'_, f32>,
        series: usize,
        step: usize,
    ) -> bool {
        let devices = self.devices(Run::Predict);
        let CellKind::Mf(cell) = &self.config.cell else {
            return false;
        };
        if devices.is_ideal() {
            return false;
        }
        step_on_devices(cell, &devices, pre, h, series, step);
        true
    }

    /// Predicts every series of `seqs`.
    pub fn predict(&self, seqs: &Sequences) -> Result<Prediction, EsnError> {
        let x = self.states(seqs)?.mapv(f64::from);
        Ok(self.readout.predict(&x))
    }

    /// Accuracy (classification) or RMSE over every output (regression) on `seqs`.
    pub fn score(&self, seqs: &Sequences, targets: &Targets) -> Result<f64, EsnError> {
        if targets.len() != seqs.n_series() {
            return Err(EsnError::Shape {
                what: "targets".into(),
                expected: seqs.n_series().to_string(),
                got: targets.len().to_string(),
            });
        }
        match (self.predict(seqs)?, targets) {
            (Prediction::Classes(p), Targets::Classes { labels, .. }) => Ok(accuracy(&p, labels)),
            (Prediction::Values(p), Targets::Values(y)) => {
                if p.dim() != y.dim() {
                    return Err(EsnError::Shape {
                        what: "regression targets".into(),
                        expected: format!("{} x {}", p.nrows(), p.ncols()),
                        got: format!("{} x {}", y.nrows(), y.ncols()),
                    });
                }
                Ok(rmse(&p, y))
            }
            _ => Err(EsnError::Targets(
                "task kind differs from the one the model was fitted on".into(),
            )),
        }
    }
}

/// Scores of repeated trials with fresh reservoirs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialReport {
    /// Test score of each trial (accuracy or RMSE), in trial order.
    pub per_trial: Vec<f64>,
    /// Mean of `per_trial`.
    pub mean: f64,
    /// Population standard deviation of `per_trial` (paper Table IV).
    pub std: f64,
}

impl TrialReport {
    /// Summarises a list of scores.
    pub fn from_scores(per_trial: Vec<f64>) -> Self {
        let n = per_trial.len() as f64;
        let mean = per_trial.iter().sum::<f64>() / n;
        let std = (per_trial.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        Self {
            per_trial,
            mean,
            std,
        }
    }
}

/// Fits `n_trials` models on the training split and scores each on the test split: the final assessment of
/// paper Sec. VI, averaged over five trials in the paper. Trial `i` draws its reservoir from `derive_seed(seed, i)`.
pub fn run_trials(
    config: &ReservoirConfig,
    train: &Sequences,
    train_targets: &Targets,
    test: &Sequences,
    test_targets: &Targets,
    n_trials: usize,
    seed: u64,
) -> Result<TrialReport, EsnError> {
    if n_trials == 0 {
        return Err(EsnError::Param {
            name: "n_trials",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    let params = config.clone().into_params()?;
    let scores = (0..n_trials as u64)
        .map(|i| {
            params
                .fit(train, train_targets, derive_seed(seed, i))?
                .score(test, test_targets)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrialReport::from_scores(scores))
}

/// One step of MF neurons on their own devices: each unit `j` with its constants (`devices.units`, else the
/// nominal physics) and the cycle-to-cycle factors of (`series`, `step`, `j`), from the pre-activations `pre` of
/// one series, `(1, n_units)`. Shared by the single and the deep reservoir's streams.
pub(crate) fn step_on_devices(
    cell: &mf_core::MfCell,
    devices: &mf_core::variation::Devices,
    pre: ndarray::ArrayView2<'_, f32>,
    mut h: ndarray::ArrayViewMut2<'_, f32>,
    series: usize,
    step: usize,
) {
    for (j, (h, &u)) in h.iter_mut().zip(pre.iter()).enumerate() {
        let p = devices
            .units
            .as_ref()
            .map_or(cell.physics, |units| units.physics(&cell.physics, j));
        let (fp, fd) = devices
            .cycle
            .map_or((1.0, 1.0), |c| c.factors(series, step, j));
        *h = mf_core::variation::update_scalar(
            cell,
            &p,
            f64::from(u),
            f64::from(*h),
            f64::from(fp),
            f64::from(fd),
        ) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mf_core::fixtures::sine_classes;
    use mf_core::variation::Devices;
    use mf_core::Recurrent;

    /// The state after the last step, one series at a time in f64 from the scalar update rule.
    fn reference_state(
        cell: &CellKind,
        w: &Weights<f64>,
        x: ndarray::ArrayView2<'_, f32>,
        len: usize,
    ) -> Vec<f64> {
        let n = w.n_units();
        let mut h = vec![0.0; n];
        for t in 0..len {
            let pre: Vec<f64> = (0..n)
                .map(|j| {
                    let mut p = w.bias[j];
                    for k in 0..w.n_inputs() {
                        p += f64::from(x[[t, k]]) * w.w_in[[k, j]];
                    }
                    for (k, hk) in h.iter().enumerate() {
                        p += hk * w.w_rec[[k, j]];
                    }
                    p
                })
                .collect();
            h = (0..n).map(|j| cell.update_scalar(pre[j], h[j])).collect();
        }
        h
    }

    #[test]
    fn fitted_model_uses_the_seeded_reservoir_and_a_ridge_on_its_last_states() {
        let (seqs, targets) = sine_classes(40, 20..=30, 1);
        for params in [
            MfEsn::params().n_units(20).dt(0.1).gamma(0.95),
            Esn::params().n_units(20).alpha(0.3),
        ] {
            let model = params.fit(&seqs, &targets, 9).unwrap();
            let want = params
                .config()
                .init()
                .draw(1, &mut rng_from_seed(9))
                .unwrap();
            assert_eq!(model.weights(), &want);
            let w64 = want.to_f64();
            for i in [0, 7, 39] {
                let h =
                    reference_state(&params.config().cell, &w64, seqs.series(i), seqs.lengths[i]);
                for (a, b) in model.train_states().row(i).iter().zip(&h) {
                    assert!((f64::from(*a) - b).abs() < 1e-4, "series {i}: {a} vs {b}");
                }
            }
            let Targets::Classes { labels, .. } = &targets else {
                unreachable!()
            };
            let x = model.train_states().mapv(f64::from);
            let clf = RidgeClassifier::fit_arrays(x.view(), labels, 1.0).unwrap();
            assert_eq!(model.readout(), &Readout::Classifier(clf.clone()));
            assert_eq!(
                model.predict(&seqs).unwrap(),
                Prediction::Classes(clf.predict_classes(&x))
            );
        }
    }

    #[test]
    fn models_learn_a_separable_toy_task() {
        let (train, y_train) = sine_classes(60, 20..=30, 2);
        let (test, y_test) = sine_classes(40, 20..=30, 3);
        let mf = MfEsn::params()
            .n_units(50)
            .dt(0.1)
            .gamma(0.95)
            .fit(&train, &y_train, 4)
            .unwrap();
        assert!(mf.score(&test, &y_test).unwrap() > 0.85);
        let esn = Esn::params()
            .n_units(50)
            .alpha(1.0)
            .rho(0.9)
            .lambda(0.01)
            .fit(&train, &y_train, 4)
            .unwrap();
        let acc = esn.score(&test, &y_test).unwrap();
        assert!(acc > 0.85, "esn accuracy {acc}");
    }

    #[test]
    fn regression_scores_are_the_rmse_of_the_ridge_predictions() {
        let (seqs, _) = sine_classes(30, 20..=30, 5);
        let y = Array2::from_shape_fn((30, 2), |(i, j)| {
            seqs.x[[i, 0, 0]] as f64 * (j as f64 + 1.0)
        });
        let targets = Targets::Values(y.clone());
        let model = MfEsn::params().n_units(10).fit(&seqs, &targets, 1).unwrap();
        let Prediction::Values(p) = model.predict(&seqs).unwrap() else {
            panic!("regression predicts values")
        };
        let want = ((&p - &y).mapv(|e| e * e).sum() / 60.0).sqrt();
        assert!((model.score(&seqs, &targets).unwrap() - want).abs() < 1e-12);
    }

    #[test]
    fn non_finite_inputs_give_a_non_finite_error() {
        let (mut seqs, targets) = sine_classes(6, 20..=30, 6);
        seqs.x[[3, 2, 0]] = f32::NAN;
        let err = MfEsn::params()
            .n_units(5)
            .fit(&seqs, &targets, 0)
            .unwrap_err();
        assert!(matches!(err, EsnError::NonFinite { .. }), "{err}");
    }

    #[test]
    fn invalid_hyper_parameters_are_rejected_by_check() {
        assert!(MfEsn::params().gamma(0.0).check().is_err());
        assert!(MfEsn::params().dt(-1.0).check().is_err());
        assert!(Esn::params().alpha(1.5).check().is_err());
        assert!(Esn::params().rho(f64::NAN).check().is_err());
        assert!(MfEsn::params().n_units(0).check().is_err());
        assert!(MfEsn::params().lambda(-0.1).check().is_err());
        assert!(MfEsn::params().check().is_ok() && Esn::params().check().is_ok());
    }

    #[test]
    fn config_round_trips_through_json_and_rejects_unknown_fields() {
        let p = MfEsn::params()
            .n_units(7)
            .omega(0.3)
            .beta(0.2)
            .rho(0.7)
            .gamma(0.8)
            .s(2.0)
            .dt(0.05)
            .lambda(3.0)
            .spectral(SpectralInit::Exact)
            .physics(Physics {
                kp0: 2e-4,
                ..Physics::default()
            });
        for cfg in [
            p.config().clone(),
            Esn::params().alpha(0.7).config().clone(),
        ] {
            let s = serde_json::to_string(&cfg).unwrap();
            assert_eq!(serde_json::from_str::<ReservoirConfig>(&s).unwrap(), cfg);
            let bad = s.replacen('{', "{\"extra\":1,", 1);
            assert!(serde_json::from_str::<ReservoirConfig>(&bad).is_err());
        }
    }

    #[test]
    fn trials_use_derived_seeds_and_report_the_population_std() {
        let (train, y_train) = sine_classes(30, 20..=30, 7);
        let (test, y_test) = sine_classes(20, 20..=30, 8);
        let cfg = ReservoirConfig {
            n_units: 15,
            ..ReservoirConfig::esn()
        };
        let rep = run_trials(&cfg, &train, &y_train, &test, &y_test, 3, 11).unwrap();
        let params = cfg.clone().into_params().unwrap();
        for (i, s) in rep.per_trial.iter().enumerate() {
            let m = params
                .fit(&train, &y_train, derive_seed(11, i as u64))
                .unwrap();
            assert_eq!(*s, m.score(&test, &y_test).unwrap());
        }
        let r = TrialReport::from_scores(vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(r.mean, 2.5);
        assert!((r.std - 1.25f64.sqrt()).abs() < 1e-15);
    }

    fn distinct<'a>(v: impl IntoIterator<Item = &'a f32>) -> usize {
        let mut bits: Vec<u32> = v.into_iter().map(|x| x.to_bits()).collect();
        bits.sort_unstable();
        bits.dedup();
        bits.len()
    }

    #[test]
    fn sparse_kernels_refuse_per_device_non_idealities() {
        let mut c = ReservoirConfig::mf_esn();
        c.connectivity.density = 0.1;
        c.hardware.w_noise = 0.1;
        assert!(c.check().is_ok(), "noise keeps absent weights at zero");
        c.hardware.w_bits = 4;
        assert!(c.check().is_err());
        c.hardware.w_bits = 0;
        c.hardware.stuck_max = 0.1;
        assert!(c.check().is_err());
        c.connectivity.density = 1.0;
        assert!(c.check().is_ok());
    }

    #[test]
    fn with_every_non_ideality_off_the_model_is_bit_for_bit_the_ideal_pipeline() {
        let (seqs, targets) = sine_classes(40, 20..=30, 12);
        let (test, y_test) = sine_classes(20, 20..=30, 13);
        let off = Hardware {
            w_bits: 0,
            w_noise: 0.0,
            stuck_zero: 0.0,
            stuck_max: 0.0,
            adc_bits: 0,
            readout_bits: 0,
            d2d_sigma: 0.0,
            c2c_sigma: 0.0,
        };
        for params in [
            MfEsn::params().n_units(20).dt(0.1),
            Esn::params().n_units(20).alpha(0.3),
        ] {
            let model = params
                .clone()
                .hardware(off)
                .fit(&seqs, &targets, 5)
                .unwrap();
            // The pipeline as it was before non-idealities existed: draw, harvest, ridge.
            let cfg = params.config();
            let w = cfg.init().draw(1, &mut rng_from_seed(5)).unwrap();
            let opts = HarvestOptions::default();
            let h = mf_core::harvest::harvest(&cfg.cell, &w, &seqs, opts).unwrap();
            let Targets::Classes { labels, .. } = &targets else {
                unreachable!()
            };
            let clf =
                RidgeClassifier::fit_arrays(h.last.mapv(f64::from).view(), labels, 1.0).unwrap();
            assert_eq!(model.weights(), &w);
            let bits = |a: &Array2<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(model.train_states()), bits(&h.last));
            assert_eq!(model.readout(), &Readout::Classifier(clf.clone()));
            let ht = mf_core::harvest::harvest(&cfg.cell, &w, &test, opts).unwrap();
            assert_eq!(bits(&model.states(&test).unwrap()), bits(&ht.last));
            let p = clf.predict_classes(&ht.last.mapv(f64::from));
            let Targets::Classes { labels: yt, .. } = &y_test else {
                unreachable!()
            };
            assert_eq!(
                model.score(&test, &y_test).unwrap().to_bits(),
                accuracy(&p, yt).to_bits()
            );
            // Nor does the configuration change: no `hardware` key, so spec hashes and saved files stay as they were.
            let json = serde_json::to_value(model.config()).unwrap();
            assert!(json.get("hardware").is_none(), "{json}");
            assert_eq!(model.config(), cfg);
        }
    }

    #[test]
    fn non_idealities_reach_the_weights_the_states_and_the_readout_and_are_seeded() {
        let (seqs, targets) = sine_classes(40, 20..=30, 14);
        let (test, _) = sine_classes(20, 20..=30, 15);
        let hw = Hardware {
            w_bits: 3,
            w_noise: 0.0,
            stuck_zero: 0.0,
            stuck_max: 0.0,
            adc_bits: 2,
            readout_bits: 4,
            d2d_sigma: 0.0,
            c2c_sigma: 0.0,
        };
        for params in [
            MfEsn::params().n_units(20).dt(0.1).hardware(hw),
            Esn::params().n_units(20).alpha(0.3).hardware(hw),
        ] {
            let model = params.fit(&seqs, &targets, 8).unwrap();
            assert!(distinct(&model.weights().w_in) <= 8);
            assert!(distinct(&model.weights().w_rec) <= 8);
            assert!(distinct(model.train_states()) <= 4);
            let states = model.states(&test).unwrap();
            assert!(distinct(&states) <= 4);
            let Readout::Classifier(c) = model.readout() else {
                unreachable!()
            };
            let mut coef: Vec<u64> = c.ridge.coef.iter().map(|v| v.to_bits()).collect();
            coef.sort_unstable();
            coef.dedup();
            assert!(coef.len() <= 16, "{}", coef.len());
            // Prediction reads the states through the same ADC.
            assert_eq!(
                model.predict(&test).unwrap(),
                model.readout().predict(&states.mapv(f64::from))
            );
            assert_eq!(model, params.fit(&seqs, &targets, 8).unwrap());
        }
        let noisy = MfEsn::params().n_units(20).hardware(Hardware {
            w_noise: 0.1,
            stuck_zero: 0.05,
            ..Hardware::default()
        });
        let a = noisy.fit(&seqs, &targets, 3).unwrap();
        assert_eq!(a, noisy.fit(&seqs, &targets, 3).unwrap());
        assert_ne!(
            a.weights(),
            noisy.fit(&seqs, &targets, 4).unwrap().weights()
        );
        // The ideal reservoir of the same seed is drawn first, then programmed: same bias, other weights.
        let ideal = MfEsn::params().n_units(20).fit(&seqs, &targets, 3).unwrap();
        assert_eq!(a.weights().bias, ideal.weights().bias);
        assert_ne!(a.weights().w_rec, ideal.weights().w_rec);
    }

    #[test]
    fn non_idealities_serialise_when_on_and_are_checked() {
        let cfg = MfEsn::params()
            .hardware(Hardware {
                w_noise: 0.05,
                adc_bits: 6,
                ..Hardware::default()
            })
            .config()
            .clone();
        let s = serde_json::to_string(&cfg).unwrap();
        assert!(
            s.contains(r#""hardware":{"w_noise":0.05,"adc_bits":6}"#),
            "{s}"
        );
        assert_eq!(serde_json::from_str::<ReservoirConfig>(&s).unwrap(), cfg);
        let bad = s.replace("adc_bits", "adc_bitz");
        assert!(serde_json::from_str::<ReservoirConfig>(&bad).is_err());
        let too_many = Hardware {
            adc_bits: 30,
            ..Hardware::default()
        };
        assert!(Esn::params().hardware(too_many).check().is_err());
    }

    /// An MF-ESN whose neurons vary from device to device and are noisy from step to step.
    fn noisy_neurons(d2d: f64, c2c: f64) -> ReservoirParams {
        MfEsn::params().n_units(20).dt(0.05).hardware(Hardware {
            d2d_sigma: d2d,
            c2c_sigma: c2c,
            ..Hardware::default()
        })
    }

    #[test]
    fn neuron_devices_reach_the_harvest_with_the_fit_and_prediction_runs_noise() {
        let (seqs, targets) = sine_classes(40, 20..=30, 16);
        let (test, _) = sine_classes(20, 20..=30, 17);
        let params = noisy_neurons(0.05, 0.1);
        let model = params.fit(&seqs, &targets, 6).unwrap();
        let cfg = params.config();
        // The neurons' constants are the d2d stream's draw of the seed; the weights are the ideal draw.
        let units = cfg.hardware.unit_physics(&cfg.cell, 20, 6).unwrap();
        assert_eq!(model.unit_physics(), Some(&units));
        let w = cfg.init().draw(1, &mut rng_from_seed(6)).unwrap();
        assert_eq!(model.weights(), &w);
        let run = |seqs: &Sequences, run| {
            let devices = Devices {
                units: Some(units.clone()),
                cycle: cfg.hardware.cycle_noise(6, run),
            };
            let stop = AtomicBool::new(false);
            let opts = HarvestOptions::default();
            harvest_with_devices(&cfg.cell, &w, seqs, opts, &devices, &stop)
                .unwrap()
                .last
        };
        assert_eq!(model.train_states(), &run(&seqs, Run::Fit));
        assert_eq!(model.states(&test).unwrap(), run(&test, Run::Predict));
        // Prediction is another run of the devices than fitting: the training series see other noise.
        assert_ne!(&model.states(&seqs).unwrap(), model.train_states());
        // Seeded: the same seed gives the same model, another seed other devices.
        assert_eq!(model, params.fit(&seqs, &targets, 6).unwrap());
        let other = params.fit(&seqs, &targets, 7).unwrap();
        assert_ne!(other.unit_physics(), model.unit_physics());
        // Each non-ideality on its own moves the states off the ideal model's.
        let ideal = noisy_neurons(0.0, 0.0).fit(&seqs, &targets, 6).unwrap();
        assert!(ideal.unit_physics().is_none());
        for alone in [noisy_neurons(0.05, 0.0), noisy_neurons(0.0, 0.1)] {
            let m = alone.fit(&seqs, &targets, 6).unwrap();
            assert_ne!(m.train_states(), ideal.train_states());
            assert_eq!(m.weights(), ideal.weights());
        }
    }

    #[test]
    fn neuron_devices_are_checked_and_refused_without_an_mf_cell_or_the_papers_step() {
        for (d2d, c2c) in [
            (-0.1, 0.0),
            (0.0, -0.1),
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
        ] {
            let e = noisy_neurons(d2d, c2c).check().unwrap_err().to_string();
            let name = if d2d != 0.0 { "d2d_sigma" } else { "c2c_sigma" };
            assert!(e.contains(name), "{e}");
        }
        for hw in [
            Hardware {
                d2d_sigma: 0.1,
                ..Hardware::default()
            },
            Hardware {
                c2c_sigma: 0.1,
                ..Hardware::default()
            },
        ] {
            let e = Esn::params().hardware(hw).check().unwrap_err().to_string();
            assert!(e.contains("tanh cell has no device"), "{e}");
            let exact = MfEsn::params().hardware(hw).integrator(Integrator::Exact);
            let e = exact.check().unwrap_err().to_string();
            assert!(e.contains("Euler step only"), "{e}");
            assert!(MfEsn::params().hardware(hw).check().is_ok());
        }
        // A d2d_sigma whose log-normal draw degenerates is refused by name, before any unit is drawn.
        for (sigma, shown) in [(1e155, "1e155"), (1e300, "1e300")] {
            let e = noisy_neurons(sigma, 0.0).check().unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("invalid parameter d2d_sigma = {shown}: too large")),
                "{e}"
            );
        }
        assert!(noisy_neurons(1e100, 0.0).check().is_ok());
        // Serialised only when on, and read back.
        let cfg = noisy_neurons(0.05, 0.1).config().clone();
        let s = serde_json::to_string(&cfg).unwrap();
        assert!(
            s.contains(r#""hardware":{"d2d_sigma":0.05,"c2c_sigma":0.1}"#),
            "{s}"
        );
        assert_eq!(serde_json::from_str::<ReservoirConfig>(&s).unwrap(), cfg);
    }

    #[test]
    fn streaming_noisy_neurons_gives_the_batch_states_series_after_series() {
        let (seqs, targets) = sine_classes(12, 20..=30, 18);
        let model = noisy_neurons(0.05, 0.1).fit(&seqs, &targets, 8).unwrap();
        let states = model.states(&seqs).unwrap();
        let mut stream = model.stream();
        for i in 0..12 {
            for row in seqs.series(i).rows() {
                stream.push(row.as_slice().unwrap()).unwrap();
            }
            for (a, b) in stream.state().iter().zip(states.row(i)) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "series {i}: {a} vs {b}"
                );
            }
            stream.reset();
        }
        // Without the resets' count the stream would draw series 0's noise again, which differs.
        let mut again = model.stream();
        for row in seqs.series(3).rows() {
            again.push(row.as_slice().unwrap()).unwrap();
        }
        let gap = again
            .state()
            .iter()
            .zip(states.row(3))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(gap > 1e-4, "{gap}");
    }

    #[test]
    fn models_are_send_and_sync() {
        fn is<T: Send + Sync>() {}
        is::<ReservoirParams>();
        is::<ReservoirValidParams>();
        is::<FittedReservoir>();
        is::<Ridge>();
        is::<RidgeClassifier>();
        is::<EsnError>();
    }
}
