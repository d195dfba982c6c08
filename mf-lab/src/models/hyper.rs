//! Typed hyper-parameters: one struct per model, built from shared groups, from which every name, default,
//! kind and help text is derived.
//!
//! A model's hyper-parameters are one struct declared with `hyper_params!`: each field is a value (a number,
//! a count, a bit count or a choice) or a group of them (the MF cell's step, the device physics, the hardware
//! non-idealities, ...). The field's doc comment is its help text and the expression after `=` its default. The
//! macro derives, from that one declaration, the list of [`ParamInfo`] (`mf params`, `--set`, the dashboard's
//! form fields, spec and grid name checks), reading a configuration by name ([`HyperParams::from_params`]: a
//! grid point, a preset, a `--set` list), and serde both ways as a flat table (`integrator = "exact"`,
//! `frozen = true`; unknown names refused).
//!
//! Values arrive as numbers (a grid point is a `Params` map of `f64`, so that store keys and spec hashes stay
//! as they were); each field's type turns the number into its value once, with the message naming the field
//! ([`ParamValue::from_number`]). Ranges that involve several fields are checked by the model crate's own
//! configuration (`ReservoirConfig::check`, `RnnConfig::check`), which the models' `configure` calls.
//!
//! Adding a hyper-parameter is one field (with its doc comment and default) in a group or a model's struct, plus
//! the line of that model's `config` that uses it.

use serde::Serialize;

use crate::grid::Params;
use crate::LabError;

/// What kind of value a hyper-parameter takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// A finite real number.
    Real,
    /// A positive whole number (`n_units`, `max_epochs`, ...), at most `max` when there is one.
    Count {
        /// The largest value accepted, when there is one.
        max: Option<usize>,
    },
    /// A bit count of a device non-ideality: a whole number from 0 (off) to `mf_core::devices::MAX_BITS`.
    Bits,
    /// One of named choices, each kept as a number (store keys and spec hashes hold the number; specs, `--set`
    /// and the dashboard take either).
    Choice(&'static [(&'static str, f64)]),
}

impl ParamKind {
    /// The kind in a few words, for help tables.
    pub fn describe(&self) -> String {
        match self {
            ParamKind::Real => "real".to_string(),
            ParamKind::Count { max: None } => "count".to_string(),
            ParamKind::Count { max: Some(m) } => format!("count <= {m}"),
            ParamKind::Bits => format!("bits 0..{}", mf_core::devices::MAX_BITS),
            ParamKind::Choice(c) => c
                .iter()
                .map(|(s, v)| format!("{s} ({v})"))
                .collect::<Vec<_>>()
                .join(" | "),
        }
    }
}

/// One hyper-parameter of a model: what `mf params`, `--set`, the dashboard and spec checks know of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    /// The name in specs, `--set` and store keys (`rho`).
    pub name: &'static str,
    /// The field's doc comment: what it is, with its source in the paper.
    pub help: String,
    /// The kind of value it takes.
    pub kind: ParamKind,
    /// The model's default, as the number a grid point keeps.
    pub default: f64,
}

/// A value a hyper-parameter field holds, read from the number a grid point keeps.
pub trait ParamValue: Copy + Serialize {
    /// The kind of value.
    const KIND: ParamKind;
    /// The value of hyper-parameter `name` from `v`, or the error naming it.
    fn from_number(name: &str, v: f64) -> Result<Self, LabError>;
    /// The number a grid point keeps for the value.
    fn number(self) -> f64;
}

fn not_finite(name: &str, v: f64) -> Result<(), LabError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(LabError::InvalidParams(format!(
            "hyper-parameter {name} = {v} is not finite"
        )))
    }
}

impl ParamValue for f64 {
    const KIND: ParamKind = ParamKind::Real;
    fn from_number(name: &str, v: f64) -> Result<Self, LabError> {
        not_finite(name, v)?;
        Ok(v)
    }
    fn number(self) -> f64 {
        self
    }
}

/// A positive whole number.
impl ParamValue for usize {
    const KIND: ParamKind = ParamKind::Count { max: None };
    fn from_number(name: &str, v: f64) -> Result<Self, LabError> {
        not_finite(name, v)?;
        if v < 1.0 || v.fract() != 0.0 {
            return Err(LabError::InvalidParams(format!(
                "{name} must be a positive whole number, not {v}"
            )));
        }
        Ok(v as usize)
    }
    fn number(self) -> f64 {
        self as f64
    }
}

/// A bit count of a device non-ideality: a whole number from 0 (off) to `mf_core::devices::MAX_BITS`, the one
/// limit of every model's quantisers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Bits(pub u32);

impl ParamValue for Bits {
    const KIND: ParamKind = ParamKind::Bits;
    fn from_number(name: &str, v: f64) -> Result<Self, LabError> {
        let max = mf_core::devices::MAX_BITS;
        if !(0.0..=f64::from(max)).contains(&v) || v.fract() != 0.0 {
            return Err(LabError::InvalidParams(format!(
                "{name} must be a whole number of bits from 0 (off) to {max}, not {v}"
            )));
        }
        Ok(Bits(v as u32))
    }
    fn number(self) -> f64 {
        f64::from(self.0)
    }
}

/// The most Euler substeps per time step.
pub const MAX_SUBSTEPS: usize = 1000;

/// The number `k` of Euler substeps of `dt / k` per time step: a count up to [`MAX_SUBSTEPS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Substeps(pub usize);

impl ParamValue for Substeps {
    const KIND: ParamKind = ParamKind::Count {
        max: Some(MAX_SUBSTEPS),
    };
    fn from_number(name: &str, v: f64) -> Result<Self, LabError> {
        // Each substep is a whole pass of the cell over every unit: 1000 already take seconds per data set,
        // and a count typed with too many zeros would run for ever.
        if v > MAX_SUBSTEPS as f64 {
            return Err(LabError::InvalidParams(format!(
                "{name} must be at most {MAX_SUBSTEPS} (each substep is one more pass of the cell per time \
                 step; for a finer solution use integrator = exact), not {}",
                if v >= 1e6 {
                    format!("{v:e}")
                } else {
                    v.to_string()
                }
            )));
        }
        usize::from_number(name, v).map(Substeps)
    }
    fn number(self) -> f64 {
        self.0 as f64
    }
}

/// The MF cell's integrator (paper Sec. VII; `mf_core::integrate::Integrator`): the paper's Euler step (eq. 12,
/// kept as 0) or the exact solution of the device equation (kept as 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegratorChoice {
    /// Forward Euler, `substeps` steps of `dt / substeps`.
    #[default]
    Euler,
    /// The exact solution over `dt` with the drive held.
    Exact,
}

/// How a reservoir's readout is fitted (`mf_esn::ReadoutFit`): closed-form ridge (kept as 0) or recursive least
/// squares (kept as 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadoutChoice {
    /// Closed-form ridge (paper Sec. VI).
    #[default]
    Ridge,
    /// Recursive least squares, row by row in time order.
    Rls,
}

/// The choices of [`ReadoutChoice`].
const READOUT_CHOICES: &[(&str, f64)] = &[("ridge", 0.0), ("rls", 1.0)];

impl ParamValue for ReadoutChoice {
    const KIND: ParamKind = ParamKind::Choice(READOUT_CHOICES);
    fn from_number(name: &str, v: f64) -> Result<Self, LabError> {
        Ok(match choice(name, v, READOUT_CHOICES)? {
            0 => ReadoutChoice::Ridge,
            _ => ReadoutChoice::Rls,
        })
    }
    fn number(self) -> f64 {
        match self {
            ReadoutChoice::Ridge => 0.0,
            ReadoutChoice::Rls => 1.0,
        }
    }
}

/// The choices of a yes/no hyper-parameter.
const BOOL_CHOICES: &[(&str, f64)] = &[("false", 0.0), ("true", 1.0)];
/// The choices of [`IntegratorChoice`].
const INTEGRATOR_CHOICES: &[(&str, f64)] = &[("euler", 0.0), ("exact", 1.0)];

fn choice(name: &str, v: f64, choices: &[(&str, f64)]) -> Result<usize, LabError> {
    choices.iter().position(|&(_, x)| x == v).ok_or_else(|| {
        LabError::InvalidParams(format!(
            "{name} must be {}, not {v}",
            choices
                .iter()
                .map(|(s, x)| format!("{s} ({x})"))
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    })
}

impl ParamValue for IntegratorChoice {
    const KIND: ParamKind = ParamKind::Choice(INTEGRATOR_CHOICES);
    fn from_number(name: &str, v: f64) -> Result<Self, LabError> {
        Ok(match choice(name, v, INTEGRATOR_CHOICES)? {
            0 => IntegratorChoice::Euler,
            _ => IntegratorChoice::Exact,
        })
    }
    fn number(self) -> f64 {
        match self {
            IntegratorChoice::Euler => 0.0,
            IntegratorChoice::Exact => 1.0,
        }
    }
}

impl ParamValue for bool {
    const KIND: ParamKind = ParamKind::Choice(BOOL_CHOICES);
    fn from_number(name: &str, v: f64) -> Result<Self, LabError> {
        Ok(choice(name, v, BOOL_CHOICES)? == 1)
    }
    fn number(self) -> f64 {
        f64::from(u8::from(self))
    }
}

/// A field of a hyper-parameter struct: one value ([`ParamValue`]) under the field's name, or a group of them
/// under their own names. `hyper_params!` implements it for the structs it declares.
pub trait Part {
    /// Appends what each hyper-parameter is, `self` giving the defaults; a value is called `name` and described
    /// by `help`, a group uses its own fields' names and docs.
    fn describe(&self, name: &'static str, help: &'static str, out: &mut Vec<ParamInfo>);
    /// Sets hyper-parameter `key` to `v` when it is one of this part's (`Some`, with the value's error), or
    /// `None` when it is not.
    fn set(&mut self, name: &'static str, key: &str, v: f64) -> Option<Result<(), LabError>>;
    /// Appends each hyper-parameter's value as a grid point keeps it.
    fn numbers(&self, name: &'static str, out: &mut Params);
    /// Appends each hyper-parameter's value as a person writes it (choices by their spelling).
    fn values(&self, name: &'static str, out: &mut serde_json::Map<String, serde_json::Value>);
}

impl<T: ParamValue> Part for T {
    fn describe(&self, name: &'static str, help: &'static str, out: &mut Vec<ParamInfo>) {
        out.push(ParamInfo {
            name,
            help: tidy(help),
            kind: T::KIND,
            default: self.number(),
        });
    }
    fn set(&mut self, name: &'static str, key: &str, v: f64) -> Option<Result<(), LabError>> {
        (key == name).then(|| T::from_number(name, v).map(|x| *self = x))
    }
    fn numbers(&self, name: &'static str, out: &mut Params) {
        out.insert(name.to_string(), self.number());
    }
    fn values(&self, name: &'static str, out: &mut serde_json::Map<String, serde_json::Value>) {
        out.insert(
            name.to_string(),
            serde_json::to_value(self).expect("a hyper-parameter value serialises"),
        );
    }
}

/// A doc comment as one line of help: the lines joined, extra spaces dropped.
fn tidy(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A model's hyper-parameter struct: every name, default and help text, and reading a configuration by name.
pub trait HyperParams: Part + Default + Clone + std::fmt::Debug {
    /// Every hyper-parameter, in the order of the declaration, with the model's defaults.
    fn info() -> Vec<ParamInfo> {
        let mut out = Vec::new();
        Self::default().describe("", "", &mut out);
        out
    }

    /// The defaults with `params` set: refuses a name the struct does not have (naming `model` and listing the
    /// names it has) and a value its field does not take.
    fn from_params(model: &str, params: &Params) -> Result<Self, LabError> {
        let mut p = Self::default();
        for (k, &v) in params {
            match p.set("", k, v) {
                Some(result) => result?,
                None => {
                    let names: Vec<&str> = Self::info().iter().map(|i| i.name).collect();
                    return Err(LabError::InvalidParams(format!(
                        "{model} has no hyper-parameter `{k}` (it has: {})",
                        names.join(", ")
                    )));
                }
            }
        }
        Ok(p)
    }

    /// Every hyper-parameter's value as a grid point keeps it.
    fn to_params(&self) -> Params {
        let mut out = Params::new();
        self.numbers("", &mut out);
        out
    }
}

impl<T: Part + Default + Clone + std::fmt::Debug> HyperParams for T {}

/// Serialises a hyper-parameter struct as a flat table, choices by their spelling.
pub fn serialize<T: Part, S: serde::Serializer>(p: &T, serializer: S) -> Result<S::Ok, S::Error> {
    let mut map = serde_json::Map::new();
    p.values("", &mut map);
    map.serialize(serializer)
}

/// Reads a hyper-parameter struct from a flat table: numbers, booleans and choices by their spelling; every
/// hyper-parameter not named keeps its default; an unknown name is refused.
pub fn deserialize<'de, T: HyperParams, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    use serde::de::Error;
    let table = <std::collections::BTreeMap<String, serde_json::Value>>::deserialize(deserializer)?;
    let mut params = Params::new();
    for (k, v) in table {
        let number = match &v {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::Bool(b) => Some(f64::from(u8::from(*b))),
            serde_json::Value::String(s) => {
                Some(crate::grid::parse_value(&k, s).map_err(D::Error::custom)?)
            }
            _ => None,
        }
        .ok_or_else(|| D::Error::custom(format!("{k}: `{v}` is not a hyper-parameter value")))?;
        params.insert(k, number);
    }
    T::from_params("the model", &params).map_err(D::Error::custom)
}

use serde::Deserialize;

/// Declares a hyper-parameter struct: each field a [`ParamValue`] or another such struct (a group), with its
/// doc comment as help text and its default after `=`. Implements `Default`, [`Part`] (and so
/// [`HyperParams`]) and serde as a flat table.
///
/// ```text
/// hyper_params! {
///     /// The scalings of a random reservoir.
///     pub struct Scalings {
///         /// Input scaling `omega` (paper Sec. IV-A, Table III).
///         omega: f64 = 1.0,
///     }
/// }
/// ```
macro_rules! hyper_params {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $field:ident : $ty:ty = $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            $(
                $(#[doc = $doc])*
                pub $field: $ty,
            )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $($field: $default,)* }
            }
        }

        impl $crate::models::hyper::Part for $name {
            fn describe(
                &self,
                _name: &'static str,
                _help: &'static str,
                out: &mut Vec<$crate::models::hyper::ParamInfo>,
            ) {
                $(self.$field.describe(stringify!($field), concat!($($doc, "\n"),*), out);)*
            }
            fn set(
                &mut self,
                _name: &'static str,
                key: &str,
                v: f64,
            ) -> Option<Result<(), $crate::LabError>> {
                $(
                    if let Some(done) = self.$field.set(stringify!($field), key, v) {
                        return Some(done);
                    }
                )*
                None
            }
            fn numbers(&self, _name: &'static str, out: &mut $crate::grid::Params) {
                $(self.$field.numbers(stringify!($field), out);)*
            }
            fn values(
                &self,
                _name: &'static str,
                out: &mut serde_json::Map<String, serde_json::Value>,
            ) {
                $(self.$field.values(stringify!($field), out);)*
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::models::hyper::serialize(self, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::models::hyper::deserialize(d)
            }
        }
    };
}
pub(crate) use hyper_params;

hyper_params! {
    /// The scalings of a random reservoir (paper Sec. III-IV, Table III); each model gives its own defaults.
    pub struct Scalings {
        /// Input scaling omega: W_x ~ U(-omega, omega) (paper Sec. IV-A, Table III).
        omega: f64 = mf_core::init::Scalings::MF_ESN.omega,
        /// Bias scaling beta: bias ~ U(-beta, beta) (Table III).
        beta: f64 = mf_core::init::Scalings::MF_ESN.beta,
        /// Spectral radius rho of the recurrent kernel (Table III).
        rho: f64 = mf_core::init::Scalings::MF_ESN.rho,
    }
}

impl Scalings {
    /// The leaky ESN's defaults (Table III).
    pub fn esn() -> Self {
        let c = mf_core::init::Scalings::ESN;
        Scalings {
            omega: c.omega,
            beta: c.beta,
            rho: c.rho,
        }
    }
    /// As the initialiser of `mf-core` takes them.
    pub fn core(&self) -> mf_core::init::Scalings {
        mf_core::init::Scalings {
            omega: self.omega,
            beta: self.beta,
            rho: self.rho,
        }
    }
}

hyper_params! {
    /// The MF cell's step (paper eq. 12) and its RESCALE slope (eq. 8).
    pub struct MfStep {
        /// Stabiliser gamma of the MF cell, h <- gamma h + dt (...) (paper eq. 12, Table III).
        gamma: f64 = 1.0,
        /// Slope s of the RESCALE sigmoid (paper eq. 8, Table III).
        s: f64 = 5.0,
        /// Time step dt of the MF cell (paper eq. 12, Table III).
        dt: f64 = 0.01,
    }
}

hyper_params! {
    /// The device physics of the MF cell (paper Table II) and the RESCALE bounds (eq. 8).
    pub struct Physics {
        /// Potentiation rate at zero input, Kp0 (paper Table II).
        kp0: f64 = mf_core::Physics::default().kp0,
        /// Depression rate at zero input, Kd0 (paper Table II).
        kd0: f64 = mf_core::Physics::default().kd0,
        /// Potentiation exponent eta_p (paper Table II).
        eta_p: f64 = mf_core::Physics::default().eta_p,
        /// Depression exponent eta_d (paper Table II).
        eta_d: f64 = mf_core::Physics::default().eta_d,
        /// Lower RESCALE bound a (paper eq. 8).
        a: f64 = mf_core::Physics::default().a,
        /// Upper RESCALE bound b (paper eq. 8).
        b: f64 = mf_core::Physics::default().b,
    }
}

impl Physics {
    /// The MF cell with `step` and these physics.
    pub fn cell(&self, step: &MfStep) -> mf_core::MfCell {
        let mut cell = mf_core::MfCell::new(step.dt, step.gamma, step.s);
        cell.physics = mf_core::Physics {
            kp0: self.kp0,
            kd0: self.kd0,
            eta_p: self.eta_p,
            eta_d: self.eta_d,
            a: self.a,
            b: self.b,
        };
        cell
    }
}

hyper_params! {
    /// The weight and read-out non-idealities of a memristive implementation (`mf_core::devices::Hardware`),
    /// each off at 0.
    pub struct Hardware {
        /// Conductance levels of a weight device: k bits quantise W_x and W_h to 2^k levels (0 = exact weights).
        w_bits: Bits = Bits(0),
        /// Relative programming noise sigma: each weight becomes w (1 + sigma n), n ~ N(0, 1) (0 = off).
        w_noise: f64 = 0.0,
        /// Fraction of weight devices stuck at zero conductance (0 = none).
        stuck_zero: f64 = 0.0,
        /// Fraction of weight devices stuck at the highest conductance (0 = none).
        stuck_max: f64 = 0.0,
        /// ADC: k bits quantise the states the readout reads over the cell's state range (0 = exact).
        adc_bits: Bits = Bits(0),
        /// Readout weight precision: k bits quantise the readout's weights (0 = exact).
        readout_bits: Bits = Bits(0),
    }
}

hyper_params! {
    /// The MF neurons' own device non-idealities (`mf_core::variation`), each off at 0. MF cell only.
    pub struct Neurons {
        /// Device-to-device spread: relative standard deviation of each unit's kp0, kd0, eta_p, eta_d
        /// (log-normal, mean the nominal value; 0 = identical neurons).
        d2d_sigma: f64 = 0.0,
        /// Cycle-to-cycle noise: relative noise of Kp and Kd at every step (0 = noise-free).
        c2c_sigma: f64 = 0.0,
    }
}

impl Neurons {
    /// The model crates' hardware with these neurons and ideal weights and read-out.
    pub fn devices(&self) -> mf_core::devices::Hardware {
        Hardware::default().devices(Some(self))
    }
}

impl Hardware {
    /// The model crates' hardware, with the neurons' non-idealities of `neurons` (none when `None`).
    pub fn devices(&self, neurons: Option<&Neurons>) -> mf_core::devices::Hardware {
        let n = neurons.cloned().unwrap_or_default();
        mf_core::devices::Hardware {
            w_bits: self.w_bits.0,
            w_noise: self.w_noise,
            stuck_zero: self.stuck_zero,
            stuck_max: self.stuck_max,
            adc_bits: self.adc_bits.0,
            readout_bits: self.readout_bits.0,
            d2d_sigma: n.d2d_sigma,
            c2c_sigma: n.c2c_sigma,
        }
    }
}

hyper_params! {
    /// Sparse connectivity (paper Sec. VII; `mf_core::sparse::Connectivity`); 1 is the paper's dense reservoir.
    pub struct Sparsity {
        /// Fraction of the recurrent kernel's N^2 entries kept, in (0, 1] (paper Sec. VII; 1 = dense).
        density: f64 = 1.0,
        /// Fraction of the N units each input drives, in (0, 1] (paper Sec. VII; 1 = dense).
        input_density: f64 = 1.0,
    }
}

impl Sparsity {
    /// As `mf-core` takes it.
    pub fn connectivity(&self) -> mf_core::sparse::Connectivity {
        mf_core::sparse::Connectivity {
            density: self.density,
            input_density: self.input_density,
        }
    }
}

hyper_params! {
    /// How the MF cell advances over one input step (paper Sec. VII; `mf_core::integrate::Integrator`).
    pub struct Integration {
        /// The MF cell's integrator: euler (the paper's eq. 12) or exact (the exact solution of the device
        /// equation over dt, the drive held).
        integrator: IntegratorChoice = IntegratorChoice::Euler,
        /// Euler substeps k of dt / k per time step (1 = the paper's eq. 12; euler only).
        substeps: Substeps = Substeps(1),
    }
}

impl Integration {
    /// As `mf-core` takes it; refuses substeps with the exact integrator.
    pub fn integrator(&self) -> Result<mf_core::integrate::Integrator, LabError> {
        use mf_core::integrate::Integrator;
        match (self.integrator, self.substeps.0) {
            (IntegratorChoice::Euler, substeps) => Ok(Integrator::Euler { substeps }),
            (IntegratorChoice::Exact, 1) => Ok(Integrator::Exact),
            (IntegratorChoice::Exact, n) => Err(LabError::InvalidParams(format!(
                "substeps = {n} applies to the Euler integrator (integrator = euler) only"
            ))),
        }
    }
}

hyper_params! {
    /// How a reservoir's readout is fitted.
    pub struct Readout {
        /// The readout's fit: ridge (closed form, paper Sec. VI) or rls (recursive least squares from
        /// P = I / lambda, row by row in time order; sequence tasks only).
        readout: ReadoutChoice = ReadoutChoice::Ridge,
        /// The recursive least squares readout's forgetting factor, in (0, 1] (1 forgets nothing; readout = rls
        /// only).
        forgetting: f64 = 1.0,
    }
}

impl Readout {
    /// As the model crate takes it; refuses a forgetting factor with the ridge, which has none.
    pub fn fit(&self) -> Result<mf_esn::ReadoutFit, LabError> {
        match self.readout {
            ReadoutChoice::Ridge if self.forgetting != 1.0 => {
                Err(LabError::InvalidParams(format!(
                    "forgetting = {} applies to readout = rls only",
                    self.forgetting
                )))
            }
            ReadoutChoice::Ridge => Ok(mf_esn::ReadoutFit::Ridge),
            ReadoutChoice::Rls => Ok(mf_esn::ReadoutFit::Rls {
                forgetting: self.forgetting,
            }),
        }
    }
}

hyper_params! {
    /// How a trainable model's training runs and stops (paper Sec. VI).
    pub struct Training {
        /// The most epochs of training (paper Sec. VI).
        max_epochs: usize = mf_rnn::RnnConfig::new(mf_rnn::CellKind::Tanh).max_epochs,
        /// Epochs without improvement before early stopping (paper Sec. VI).
        patience: usize = mf_rnn::RnnConfig::new(mf_rnn::CellKind::Tanh).patience,
        /// Series per mini-batch (paper Sec. VI).
        batch_size: usize = mf_rnn::RnnConfig::new(mf_rnn::CellKind::Tanh).batch_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    hyper_params! {
        /// A model of the tests.
        pub struct Toy {
            /// A real number.
            x: f64 = 0.5,
            /// A group.
            step: MfStep = MfStep::default(),
            /// A choice.
            integrator: IntegratorChoice = IntegratorChoice::Euler,
            /// A count.
            n: usize = 3,
            /// A yes/no.
            frozen: bool = true,
        }
    }

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn the_declaration_gives_names_in_order_defaults_kinds_and_help() {
        let info = Toy::info();
        let names: Vec<&str> = info.iter().map(|i| i.name).collect();
        assert_eq!(
            names,
            ["x", "gamma", "s", "dt", "integrator", "n", "frozen"]
        );
        assert_eq!(info[0].help, "A real number.");
        assert_eq!(info[3].default, 0.01);
        assert_eq!(info[4].kind, ParamKind::Choice(INTEGRATOR_CHOICES));
        assert_eq!(info[6].default, 1.0);
        assert!(info[3].help.contains("eq. 12"), "{}", info[3].help);
    }

    #[test]
    fn a_grid_point_sets_fields_by_name_and_bad_names_and_values_are_refused_naming_them() {
        let p = Toy::from_params(
            "toy",
            &params(&[("dt", 0.1), ("integrator", 1.0), ("n", 7.0)]),
        )
        .unwrap();
        assert_eq!(p.step.dt, 0.1);
        assert_eq!(p.integrator, IntegratorChoice::Exact);
        assert_eq!(p.n, 7);
        assert_eq!(p.to_params()["dt"], 0.1);
        assert_eq!(Toy::from_params("toy", &p.to_params()).unwrap(), p);
        let e = Toy::from_params("toy", &params(&[("rho", 0.1)]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("toy has no hyper-parameter `rho` (it has: x, gamma"),
            "{e}"
        );
        for (bad, says) in [
            (("n", 2.5), "n must be a positive whole number, not 2.5"),
            (("n", 0.0), "positive whole number"),
            (
                ("integrator", 2.0),
                "integrator must be euler (0) or exact (1), not 2",
            ),
            (("frozen", 0.5), "frozen must be false (0) or true (1)"),
            (("x", f64::NAN), "x = NaN is not finite"),
        ] {
            let e = Toy::from_params("toy", &params(&[bad]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn serde_writes_a_flat_table_with_choices_by_name_and_reads_numbers_too() {
        let p = Toy::from_params("toy", &params(&[("integrator", 1.0)])).unwrap();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["integrator"], "exact");
        assert_eq!(json["frozen"], true);
        assert_eq!(json["gamma"], 1.0);
        assert_eq!(serde_json::from_value::<Toy>(json).unwrap(), p);
        let old: Toy = toml::from_str("integrator = 1\nfrozen = 0\ndt = 0.1").unwrap();
        assert_eq!(old.integrator, IntegratorChoice::Exact);
        assert!(!old.frozen);
        assert_eq!(old.step.dt, 0.1);
        let e = toml::from_str::<Toy>("rho = 1").unwrap_err().to_string();
        assert!(e.contains("no hyper-parameter `rho`"), "{e}");
        let e = toml::from_str::<Toy>("integrator = \"rk4\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a choice of integrator"), "{e}");
    }

    #[test]
    fn substeps_are_bounded_with_the_reason() {
        let e = Substeps::from_number("substeps", 1e300)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 1000") && e.contains("1e300"), "{e}");
        assert_eq!(
            Substeps::from_number("substeps", 1000.0).unwrap(),
            Substeps(1000)
        );
        let exact = Integration {
            integrator: IntegratorChoice::Exact,
            substeps: Substeps(3),
        };
        assert!(exact
            .integrator()
            .unwrap_err()
            .to_string()
            .contains("Euler integrator"));
    }
}
