//! Deep MF-ESN: a stack of reservoirs read out together (paper Sec. VII, after the deep reservoirs of Gallicchio,
//! Micheli and Pedrelli, Neurocomputing 268, 2017, the paper's Ref. 11).
//!
//! Layer 1 is driven by the input series; layer `l > 1` by the states of layer `l - 1`, step by step, through its
//! own input kernel (the inter-layer kernel, scaled by `inter_scaling`). Every layer is a reservoir of the same
//! kind and hyper-parameters ([`DeepConfig::layer`]), drawn independently. The ridge readout is fitted on the
//! concatenation of every layer's state at each series' last step, `(n_series, layers * n_units)`, layer 1 first.
//!
//! One layer is the single reservoir: layer 1 is drawn from the trial's seed exactly as [`crate::MfEsn`] draws
//! its reservoir, and harvested and read out by the same code, so a one-layer deep model predicts and scores the
//! same bits. Layer `l > 1` draws from its own stream `derive_seed(seed, LAYER_STREAM + l)`, so adding a layer
//! changes none of the layers below it.
//!
//! The MF neurons' own non-idealities (`d2d_sigma`, `c2c_sigma` of [`crate::Hardware`]) apply in every layer,
//! each layer's devices drawn from that layer's seed as a single reservoir draws them from its own; the weight
//! and read-out non-idealities are not modelled across layers and are refused.

use std::sync::atomic::{AtomicBool, Ordering};

use mf_core::harvest::{harvest_with_devices, HarvestOptions};
use mf_core::integrate::harvest_integrated;
use mf_core::rng::{derive_seed, rng_from_seed};
use mf_core::seq::{accuracy, rmse};
use mf_core::variation::{Devices, UnitPhysics};
use mf_core::{CoreError, Sequences, Targets, Weights};
use ndarray::{Array2, Axis, Slice};
use serde::{Deserialize, Serialize};

use crate::hardware::Run;
use crate::model::{Prediction, Readout, ReservoirConfig};
use crate::ridge::{Ridge, RidgeClassifier};
use crate::EsnError;

/// Stream tag of the layers above the first (`derive_seed(seed, LAYER_STREAM + l)`): ASCII `layer`.
pub const LAYER_STREAM: u64 = 0x6c61_7965_7200_0000;

/// Bytes of the states of all steps that one batch of series may keep between two layers.
const CHUNK_BYTES: usize = 64 << 20;

/// Every hyper-parameter of a deep reservoir; serialises losslessly (`deny_unknown_fields`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeepConfig {
    /// Each layer's reservoir: its size `n_units` (per layer), scalings, cell, integrator and connectivity, and
    /// the readout's `lambda`. Layer 1's input scaling is `omega`. Default [`ReservoirConfig::mf_esn`].
    pub layer: ReservoirConfig,
    /// Number of layers `L` (at least 1). Default `2`.
    pub layers: usize,
    /// Input scaling of the inter-layer kernels: layer `l > 1` has `W_x ~ U(-inter_scaling, inter_scaling)`,
    /// `(n_units, n_units)`, masked by the layer's `input_density`. Default `1`, the MF-ESN's `omega`.
    pub inter_scaling: f64,
}

impl DeepConfig {
    /// A deep MF-ESN of `layers` layers with the MF-ESN defaults in every layer.
    pub fn mf_esn(layers: usize) -> Self {
        Self {
            layer: ReservoirConfig::mf_esn(),
            layers,
            inter_scaling: 1.0,
        }
    }

    /// Checks every range the model assumes. The weight and read-out non-idealities are not modelled across
    /// layers and are refused; the neurons' own (`d2d_sigma`, `c2c_sigma`) apply in every layer.
    pub fn check(&self) -> Result<(), EsnError> {
        self.layer.check()?;
        if self.layers == 0 {
            return Err(EsnError::Param {
                name: "layers",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        if !(self.inter_scaling >= 0.0 && self.inter_scaling.is_finite()) {
            return Err(EsnError::Param {
                name: "inter_scaling",
                value: self.inter_scaling,
                reason: "must be non-negative and finite",
            });
        }
        if !self.layer.hardware.without_neurons().is_ideal() {
            return Err(EsnError::Param {
                name: "hardware",
                value: f64::NAN,
                reason: "a deep reservoir models no weight or read-out non-idealities \
                         (only d2d_sigma and c2c_sigma)",
            });
        }
        Ok(())
    }

    /// Width of the readout's design matrix: `layers * n_units`.
    pub fn n_features(&self) -> usize {
        self.layers * self.layer.n_units
    }

    /// Non-zero weights for `n_inputs` inputs: every layer's recurrent and input kernels, not the biases.
    pub fn n_weights(&self, n_inputs: usize) -> usize {
        self.layer.n_weights(n_inputs)
            + (self.layers - 1) * self.layer.n_weights(self.layer.n_units)
    }

    /// The configuration of layer `l` (from 0): the shared one, with `omega = inter_scaling` above the first.
    fn layer_config(&self, l: usize) -> ReservoirConfig {
        if l == 0 {
            self.layer.clone()
        } else {
            let mut c = self.layer.clone();
            c.scalings.omega = self.inter_scaling;
            c
        }
    }

    /// The seed layer `l` (from 0) is drawn from: `seed` itself for the first, else
    /// `derive_seed(seed, LAYER_STREAM + l)`.
    pub fn layer_seed(seed: u64, l: usize) -> u64 {
        if l == 0 {
            seed
        } else {
            derive_seed(seed, LAYER_STREAM + l as u64)
        }
    }

    /// Every layer's weights for `n_inputs` inputs, drawn from `seed` (see the module documentation).
    pub fn draw(&self, n_inputs: usize, seed: u64) -> Result<Vec<Weights<f32>>, EsnError> {
        (0..self.layers)
            .map(|l| {
                let d = if l == 0 { n_inputs } else { self.layer.n_units };
                let mut rng = rng_from_seed(Self::layer_seed(seed, l));
                self.layer_config(l).draw_weights(d, &mut rng)
            })
            .collect()
    }

    /// Every layer's neuron constants when `d2d_sigma` is on, each from its layer's seed (none per layer
    /// otherwise).
    pub fn draw_units(&self, seed: u64) -> Vec<Option<UnitPhysics>> {
        let c = &self.layer;
        (0..self.layers)
            .map(|l| {
                c.hardware
                    .unit_physics(&c.cell, c.n_units, Self::layer_seed(seed, l))
            })
            .collect()
    }

    /// Every layer's devices in `run`: its constants `units[l]` and its cycle-to-cycle noise, keyed by its
    /// layer's seed.
    pub(crate) fn devices(
        &self,
        units: &[Option<UnitPhysics>],
        seed: u64,
        run: Run,
    ) -> Vec<Devices> {
        units
            .iter()
            .enumerate()
            .map(|(l, u)| {
                self.layer
                    .hardware
                    .devices(u.as_ref(), Self::layer_seed(seed, l), run)
            })
            .collect()
    }

    /// Draws the layers from `seed`, harvests every layer's last state of every training series and fits the
    /// ridge readout on their concatenation.
    pub fn fit(
        &self,
        seqs: &Sequences,
        targets: &Targets,
        seed: u64,
    ) -> Result<FittedDeep, EsnError> {
        self.fit_cancellable(seqs, targets, seed, &AtomicBool::new(false))
    }

    /// [`Self::fit`] that stops with [`EsnError::Cancelled`] once `cancel` is set.
    pub fn fit_cancellable(
        &self,
        seqs: &Sequences,
        targets: &Targets,
        seed: u64,
        cancel: &AtomicBool,
    ) -> Result<FittedDeep, EsnError> {
        self.check()?;
        check_len(seqs, targets)?;
        let weights = self.draw(seqs.n_inputs(), seed)?;
        let units = self.draw_units(seed);
        let devices = self.devices(&units, seed, Run::Fit);
        let train_states = deep_states(self, &weights, &devices, seqs, cancel)?;
        let x = train_states.mapv(f64::from);
        let lambda = self.layer.lambda;
        let readout = match targets {
            Targets::Classes { labels, n_classes } => {
                if let Some(&bad) = labels.iter().find(|&&l| l >= *n_classes) {
                    return Err(EsnError::Targets(format!(
                        "label {bad} not below n_classes = {n_classes}"
                    )));
                }
                Readout::Classifier(RidgeClassifier::fit_arrays(x.view(), labels, lambda)?)
            }
            Targets::Values(y) => {
                Readout::Regressor(Ridge::fit_arrays(x.view(), y.view(), lambda)?)
            }
        };
        Ok(FittedDeep {
            config: self.clone(),
            seed,
            weights,
            readout,
            train_states,
            units,
        })
    }
}

fn check_len(seqs: &Sequences, targets: &Targets) -> Result<(), EsnError> {
    if targets.len() != seqs.n_series() {
        return Err(EsnError::Shape {
            what: "targets".into(),
            expected: seqs.n_series().to_string(),
            got: targets.len().to_string(),
        });
    }
    Ok(())
}

/// The states of one batch of series, or why there are none.
type Part = Result<Array2<f32>, EsnError>;

/// Every layer's last state of each series of `seqs`, `(n_series, layers * n_units)`, layer 1 first.
///
/// One layer is harvested as the single reservoir is. Deeper stacks need every step of each layer below the
/// top, so series go through the stack in batches whose kept states fit in `CHUNK_BYTES`, batches dealt out to
/// threads (each series is independent of the others, and a batch's series draw the cycle-to-cycle noise of
/// their place in `seqs`, so the result does not depend on the batching). Layer `l` runs on `devices[l]`.
fn deep_states(
    cfg: &DeepConfig,
    weights: &[Weights<f32>],
    devices: &[Devices],
    seqs: &Sequences,
    cancel: &AtomicBool,
) -> Result<Array2<f32>, EsnError> {
    let c = &cfg.layer;
    // One layer's harvest: the integrator's when its neurons are ideal, else the vectorised one on their
    // devices, the batch's series starting `first` series after the noise's own first series.
    let layer = |l: usize, input: &Sequences, first: usize, opts: HarvestOptions| {
        let d = &devices[l];
        if d.is_ideal() {
            harvest_integrated(&c.cell, &c.integrator, &weights[l], input, opts, cancel)
        } else {
            let at = Devices {
                units: d.units.clone(),
                cycle: d.cycle.map(|n| n.at_series(n.first_series + first)),
            };
            harvest_with_devices(&c.cell, &weights[l], input, opts, &at, cancel)
        }
    };
    if weights.len() == 1 {
        return Ok(layer(0, seqs, 0, HarvestOptions::default())?.last);
    }
    let (n, units) = (seqs.n_series(), c.n_units);
    let per_series = seqs.max_len().max(1) * units * std::mem::size_of::<f32>();
    let chunk = (CHUNK_BYTES / per_series).clamp(1, n.max(1));
    let chunks: Vec<Vec<usize>> = (0..n)
        .collect::<Vec<_>>()
        .chunks(chunk)
        .map(<[usize]>::to_vec)
        .collect();
    let threads = mf_core::threads::available().min(chunks.len()).max(1);
    // The stack over one batch of series: each layer's last states, side by side.
    let run = |idx: &[usize]| -> Part {
        let mut out = Array2::<f32>::zeros((idx.len(), weights.len() * units));
        let mut input = seqs.select(idx);
        for l in 0..weights.len() {
            let top = l + 1 == weights.len();
            let opts = HarvestOptions {
                keep_all: !top,
                threads: 1,
            };
            // Batches are contiguous runs of series (see `chunks`): this one starts at `idx[0]`.
            let h = layer(l, &input, idx[0], opts).map_err(|e| match e {
                CoreError::NonFinite { series, step } => EsnError::NonFinite {
                    what: format!(
                        "state of layer {} of series {} at step {step}",
                        l + 1,
                        idx[series]
                    ),
                },
                e => e.into(),
            })?;
            out.slice_axis_mut(Axis(1), Slice::from(l * units..(l + 1) * units))
                .assign(&h.last);
            if let Some(all) = h.all {
                input = Sequences::new(all, input.lengths)?;
            }
        }
        Ok(out)
    };
    let done: Vec<Part> = if threads == 1 {
        chunks.iter().map(|idx| run(idx)).collect()
    } else {
        let (run, chunks) = (&run, &chunks);
        let per_thread: Vec<Vec<(usize, Part)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        for k in (t..chunks.len()).step_by(threads) {
                            if cancel.load(Ordering::Relaxed) {
                                out.push((k, Err(EsnError::Cancelled)));
                                break;
                            }
                            out.push((k, run(&chunks[k])));
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a deep harvest thread panicked"))
                .collect()
        });
        let mut all: Vec<_> = per_thread.into_iter().flatten().collect();
        all.sort_by_key(|(k, _)| *k);
        all.into_iter().map(|(_, r)| r).collect()
    };
    let mut states = Array2::<f32>::zeros((n, cfg.n_features()));
    for (idx, r) in chunks.iter().zip(done) {
        let part = r?;
        for (k, &i) in idx.iter().enumerate() {
            states.row_mut(i).assign(&part.row(k));
        }
    }
    Ok(states)
}

/// A deep reservoir with its trained readout.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedDeep {
    pub(crate) config: DeepConfig,
    pub(crate) seed: u64,
    pub(crate) weights: Vec<Weights<f32>>,
    pub(crate) readout: Readout,
    pub(crate) train_states: Array2<f32>,
    /// Each layer's neuron constants, when `d2d_sigma` is on.
    pub(crate) units: Vec<Option<UnitPhysics>>,
}

impl FittedDeep {
    /// The configuration it was fitted with.
    pub fn config(&self) -> &DeepConfig {
        &self.config
    }

    /// The seed its layers were drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Each layer's weights, layer 1 first (row convention, see `mf_core::Weights`).
    pub fn weights(&self) -> &[Weights<f32>] {
        &self.weights
    }

    /// The trained readout.
    pub fn readout(&self) -> &Readout {
        &self.readout
    }

    /// The readout's design matrix: every layer's last state of the training series, `(n_series, layers *
    /// n_units)`.
    pub fn train_states(&self) -> &Array2<f32> {
        &self.train_states
    }

    /// Every layer's last state of `seqs`, `(n_series, layers * n_units)`, layer 1 first.
    pub fn states(&self, seqs: &Sequences) -> Result<Array2<f32>, EsnError> {
        if seqs.n_inputs() != self.weights[0].n_inputs() {
            return Err(EsnError::Shape {
                what: "input dimensions".into(),
                expected: self.weights[0].n_inputs().to_string(),
                got: seqs.n_inputs().to_string(),
            });
        }
        let devices = self.config.devices(&self.units, self.seed, Run::Predict);
        deep_states(
            &self.config,
            &self.weights,
            &devices,
            seqs,
            &AtomicBool::new(false),
        )
    }

    /// Each layer's neuron constants (layer 1 first) when `d2d_sigma` is on, else none per layer.
    pub fn unit_physics(&self) -> &[Option<UnitPhysics>] {
        &self.units
    }

    /// Predicts every series of `seqs`.
    pub fn predict(&self, seqs: &Sequences) -> Result<Prediction, EsnError> {
        let x = self.states(seqs)?.mapv(f64::from);
        Ok(self.readout.predict(&x))
    }

    /// Accuracy (classification) or RMSE over every output (regression) on `seqs`.
    pub fn score(&self, seqs: &Sequences, targets: &Targets) -> Result<f64, EsnError> {
        check_len(seqs, targets)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MfEsn;
    use mf_core::fixtures::sine_classes;
    use mf_core::integrate::Integrator;
    use mf_core::sparse::Connectivity;

    fn deep(layers: usize, layer: ReservoirConfig) -> DeepConfig {
        DeepConfig {
            layer,
            layers,
            inter_scaling: 0.5,
        }
    }

    fn small() -> ReservoirConfig {
        MfEsn::params()
            .n_units(12)
            .dt(0.1)
            .gamma(0.9)
            .config()
            .clone()
    }

    #[test]
    fn one_layer_is_the_mf_esn_bit_for_bit() {
        let (train, y) = sine_classes(40, 15..=30, 1);
        let (test, y_test) = sine_classes(30, 15..=30, 2);
        for layer in [
            small(),
            ReservoirConfig {
                connectivity: Connectivity {
                    density: 0.3,
                    input_density: 1.0,
                },
                integrator: Integrator::Exact,
                ..small()
            },
        ] {
            let one = deep(1, layer.clone()).fit(&train, &y, 7).unwrap();
            let mf = layer
                .clone()
                .into_params()
                .unwrap()
                .fit(&train, &y, 7)
                .unwrap();
            assert_eq!(one.weights(), std::slice::from_ref(mf.weights()));
            assert_eq!(one.train_states(), mf.train_states());
            assert_eq!(one.readout(), mf.readout());
            assert_eq!(one.predict(&test).unwrap(), mf.predict(&test).unwrap());
            assert_eq!(
                one.score(&test, &y_test).unwrap().to_bits(),
                mf.score(&test, &y_test).unwrap().to_bits()
            );
        }
    }

    #[test]
    fn layer_one_of_a_stack_is_the_mf_esn_and_layer_two_is_driven_by_its_states() {
        let (train, y) = sine_classes(30, 15..=30, 3);
        let cfg = deep(3, small());
        let fitted = cfg.fit(&train, &y, 11).unwrap();
        assert_eq!(fitted.train_states().dim(), (30, 36));
        let mf = small().into_params().unwrap().fit(&train, &y, 11).unwrap();
        assert_eq!(fitted.weights()[0], *mf.weights());
        assert_eq!(
            fitted
                .train_states()
                .slice_axis(Axis(1), Slice::from(0..12)),
            mf.train_states()
        );
        // Layer 2 is a reservoir whose input series are layer 1's states at every step.
        let all = mf_core::harvest::harvest(
            &small().cell,
            mf.weights(),
            &train,
            HarvestOptions {
                keep_all: true,
                threads: 1,
            },
        )
        .unwrap()
        .all
        .unwrap();
        let mid = Sequences::new(all, train.lengths.clone()).unwrap();
        let two = mf_core::harvest::harvest(
            &small().cell,
            &fitted.weights()[1],
            &mid,
            HarvestOptions::default(),
        )
        .unwrap();
        assert_eq!(
            fitted
                .train_states()
                .slice_axis(Axis(1), Slice::from(12..24)),
            two.last
        );
        // The inter-layer kernel is (n_units, n_units) within the inter-layer scaling.
        let w2 = &fitted.weights()[1].w_in;
        assert_eq!(w2.dim(), (12, 12));
        assert!(w2.iter().all(|v| v.abs() <= 0.5));
        // Adding a layer changes none below it.
        let two_layers = deep(2, small()).fit(&train, &y, 11).unwrap();
        assert_eq!(two_layers.weights(), &fitted.weights()[..2]);
        assert_eq!(
            two_layers.train_states(),
            &fitted
                .train_states()
                .slice_axis(Axis(1), Slice::from(0..24))
        );
    }

    #[test]
    fn batches_and_threads_do_not_change_the_states() {
        // More series than one batch when the batch is cut small: the same states as one batch.
        let (train, y) = sine_classes(25, 15..=30, 4);
        let cfg = deep(2, small());
        let fitted = cfg.fit(&train, &y, 5).unwrap();
        let w = fitted.weights();
        let one_by_one: Vec<Array2<f32>> = (0..25)
            .map(|i| {
                let ideal = vec![Devices::default(); 2];
                deep_states(
                    &cfg,
                    w,
                    &ideal,
                    &train.select(&[i]),
                    &AtomicBool::new(false),
                )
                .unwrap()
            })
            .collect();
        for (i, row) in one_by_one.iter().enumerate() {
            assert_eq!(row.row(0), fitted.train_states().row(i));
        }
        assert_eq!(fitted.states(&train).unwrap(), *fitted.train_states());
    }

    #[test]
    fn a_deep_reservoir_learns_the_toy_task_and_counts_its_weights() {
        let (train, y) = sine_classes(60, 15..=30, 5);
        let (test, y_test) = sine_classes(40, 15..=30, 6);
        let cfg = deep(
            2,
            MfEsn::params()
                .n_units(30)
                .dt(0.1)
                .gamma(0.95)
                .config()
                .clone(),
        );
        let acc = cfg
            .fit(&train, &y, 3)
            .unwrap()
            .score(&test, &y_test)
            .unwrap();
        assert!(acc > 0.85, "{acc}");
        // Layer 1: 900 + 30, layer 2: 900 + 30 * 30.
        assert_eq!(cfg.n_weights(1), 930 + 1800);
    }

    /// `small()` with device-to-device variability and cycle-to-cycle noise in its neurons.
    fn noisy() -> ReservoirConfig {
        let mut c = small();
        c.hardware.d2d_sigma = 0.05;
        c.hardware.c2c_sigma = 0.1;
        c
    }

    #[test]
    fn noisy_neurons_in_one_layer_are_the_noisy_mf_esn_bit_for_bit() {
        let (train, y) = sine_classes(40, 15..=30, 8);
        let (test, _) = sine_classes(20, 15..=30, 9);
        let one = deep(1, noisy()).fit(&train, &y, 3).unwrap();
        let mf = noisy().into_params().unwrap().fit(&train, &y, 3).unwrap();
        assert_eq!(
            one.unit_physics(),
            std::slice::from_ref(&mf.unit_physics().cloned())
        );
        assert_eq!(one.train_states(), mf.train_states());
        assert_eq!(one.readout(), mf.readout());
        assert_eq!(one.states(&test).unwrap(), mf.states(&test).unwrap());
        // Each layer has its own devices, from its own seed.
        let three = deep(3, noisy()).fit(&train, &y, 3).unwrap();
        let units = three.unit_physics();
        assert_eq!(units[0], mf.unit_physics().cloned());
        assert!(units[1].is_some() && units[1] != units[0] && units[2] != units[1]);
    }

    #[test]
    fn noisy_stacks_give_each_series_the_same_states_in_any_batch() {
        // Series one at a time, each told its place in the batch, draw the noise the whole batch draws.
        let (train, y) = sine_classes(25, 15..=30, 10);
        let cfg = deep(2, noisy());
        let fitted = cfg.fit(&train, &y, 5).unwrap();
        let w = fitted.weights();
        let devices = cfg.devices(fitted.unit_physics(), 5, Run::Fit);
        for i in 0..25 {
            let at: Vec<Devices> = devices
                .iter()
                .map(|d| Devices {
                    units: d.units.clone(),
                    cycle: d.cycle.map(|n| n.at_series(i)),
                })
                .collect();
            let row =
                deep_states(&cfg, w, &at, &train.select(&[i]), &AtomicBool::new(false)).unwrap();
            assert_eq!(row.row(0), fitted.train_states().row(i), "series {i}");
        }
        // Noise-free neurons give other states.
        let quiet = deep(2, small()).fit(&train, &y, 5).unwrap();
        assert_ne!(quiet.train_states(), fitted.train_states());
    }

    #[test]
    fn invalid_stacks_are_refused_and_cancel_stops_the_fit() {
        let (train, y) = sine_classes(10, 15..=30, 7);
        assert!(deep(0, small()).check().is_err());
        assert!(DeepConfig {
            inter_scaling: -1.0,
            ..deep(2, small())
        }
        .check()
        .is_err());
        let mut hw = small();
        hw.hardware.adc_bits = 4;
        assert!(deep(2, hw).check().is_err());
        // The neurons' own non-idealities are modelled in every layer; the weights' are not.
        assert!(deep(2, noisy()).check().is_ok());
        let mut w = noisy();
        w.hardware.w_noise = 0.1;
        let e = deep(2, w).check().unwrap_err().to_string();
        assert!(e.contains("only d2d_sigma and c2c_sigma"), "{e}");
        assert!(matches!(
            deep(2, small()).fit_cancellable(&train, &y, 1, &AtomicBool::new(true)),
            Err(EsnError::Cancelled)
        ));
        let cfg = deep(2, small());
        let s = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<DeepConfig>(&s).unwrap(), cfg);
    }
}
