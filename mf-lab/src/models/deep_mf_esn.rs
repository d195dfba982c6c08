//! Deep MF-ESN: `layers` stacked MF reservoirs, each driven by the states of the one below, read out by one ridge
//! on every layer's last state (paper Sec. VII; `mf_esn::deep`). One layer is the MF-ESN.

use std::any::Any;

use mf_core::init::SpectralInit;
use mf_core::CellKind;
use mf_esn::{DeepConfig, ReservoirConfig};

use super::fitted::{esn_load_error, DeepFitted};
use super::hyper::{
    hyper_params, HyperParams, Integration, MfStep, Neurons, ParamInfo, Physics, Scalings, Sparsity,
};
use super::{future, Configured, DataShape, FittedModel, LoadError, Model, TrialContext};
use crate::grid::{Grid, Params};
use crate::tasks::Part;
use crate::training::TrainingProtocol;
use crate::LabError;

hyper_params! {
    /// The deep MF-ESN's hyper-parameters: the MF-ESN's, shared by every layer (`n_units` is the size of each
    /// layer, `omega` the first layer's input scaling), without the weight and read-out non-idealities; the
    /// depth and the inter-layer scaling (paper Sec. VII).
    pub struct DeepMfEsnParams {
        /// The reservoir's scalings (`omega`: the first layer's input).
        scalings: Scalings = Scalings::default(),
        /// The MF cell's step.
        step: MfStep = MfStep::default(),
        /// Ridge regularisation lambda of the readout on every layer's last state (paper Sec. VI: lambda = 1).
        lambda: f64 = ReservoirConfig::mf_esn().lambda,
        /// Units N of each layer (paper Sec. VI: 100).
        n_units: usize = ReservoirConfig::mf_esn().n_units,
        /// The device physics.
        physics: Physics = Physics::default(),
        /// Stacked MF reservoirs, each driven by the states of the one below (paper Sec. VII; 1 is the MF-ESN).
        layers: usize = 2,
        /// Input scaling of every layer above the first, whose input is the state of the layer below (paper
        /// Sec. VII).
        inter_scaling: f64 = DeepConfig::mf_esn(2).inter_scaling,
        /// Sparse connectivity (each layer's kernels, the inter-layer ones included).
        sparsity: Sparsity = Sparsity::default(),
        /// The MF cell's integrator.
        integration: Integration = Integration::default(),
        /// The neurons' own device non-idealities (in every layer, each layer's devices its own).
        neurons: Neurons = Neurons::default(),
    }
}

impl DeepMfEsnParams {
    /// The deep configuration these hyper-parameters describe (ranges are checked by [`DeepConfig::check`]).
    pub fn config(&self) -> Result<DeepConfig, LabError> {
        Ok(DeepConfig {
            layer: ReservoirConfig {
                n_units: self.n_units,
                scalings: self.scalings.core(),
                spectral: SpectralInit::CircularLaw,
                cell: CellKind::Mf(self.physics.cell(&self.step)),
                lambda: self.lambda,
                hardware: self.neurons.devices(),
                connectivity: self.sparsity.connectivity(),
                integrator: self.integration.integrator()?,
                readout: mf_esn::ReadoutFit::Ridge,
            },
            layers: self.layers,
            inter_scaling: self.inter_scaling,
        })
    }
}

/// The deep MF-ESN model.
#[derive(Debug)]
pub struct DeepMfEsnModel;

impl Model for DeepMfEsnModel {
    fn id(&self) -> &'static str {
        "deep-mf-esn"
    }
    fn name(&self) -> &'static str {
        "Deep MF-ESN"
    }
    fn is_reservoir(&self) -> bool {
        true
    }
    fn params(&self) -> Vec<ParamInfo> {
        DeepMfEsnParams::info()
    }
    /// Depth, inter-layer scaling and the step: 18 configurations, every other hyper-parameter at the MF-ESN's
    /// defaults.
    fn grid(&self) -> Grid {
        Grid::new(vec![
            ("layers".to_string(), vec![1.0, 2.0, 3.0]),
            ("inter_scaling".to_string(), vec![0.5, 1.0]),
            ("dt".to_string(), vec![0.1, 0.01, 0.001]),
        ])
        .expect("a valid grid")
    }
    fn quick_grid(&self) -> Grid {
        Grid::new(vec![("layers".to_string(), vec![1.0, 2.0, 3.0])]).expect("a valid grid")
    }
    /// The MF-ESN's selection for `dataset` (paper Table V) in every layer, with the default depth and
    /// inter-layer scaling.
    fn preset(&self, dataset: &str) -> Option<Params> {
        super::ModelKind::MfEsn.model().preset(dataset)
    }
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
        let m = mf_esn::FittedDeep::load(dir).map_err(esn_load_error)?;
        Ok(Box::new(DeepFitted(m)))
    }
    fn configure(&self, params: &Params) -> Result<Box<dyn Configured>, LabError> {
        let deep = DeepMfEsnParams::from_params(self.id(), params)?.config()?;
        deep.check()
            .map_err(|e| LabError::InvalidParams(e.to_string()))?;
        Ok(Box::new(Deep(deep)))
    }
}

/// A checked deep reservoir configuration.
#[derive(Debug, Clone, PartialEq)]
struct Deep(DeepConfig);

impl Configured for Deep {
    /// The configuration, with the count of its non-zero weights: `n_weights` as for the MF-ESN (one layer's
    /// `recurrent` and `per_input`), and `total_recurrent`, all layers' recurrent and inter-layer kernels, so
    /// that data with `d` inputs has `total_recurrent + d per_input` of them.
    fn to_json(&self) -> serde_json::Value {
        let c = &self.0;
        let mut json = serde_json::to_value(c).expect("a deep configuration serialises");
        let mut n = future::n_weights(&c.layer);
        n["total_recurrent"] = (c.n_weights(0)).into();
        json["n_weights"] = n;
        json
    }

    fn as_any(&self) -> &dyn Any {
        &self.0
    }

    /// Every layer's units: the readout reads them side by side.
    fn sequence_units(&self) -> Option<usize> {
        Some(self.0.n_features())
    }

    fn draw_sequence(
        &self,
        n_inputs: usize,
        seed: u64,
    ) -> Result<mf_esn::sequence::SequenceReservoir, LabError> {
        Ok(self.0.draw_for_sequence(n_inputs, seed)?)
    }

    /// Per layer as the MF-ESN's estimate (weights, last states, harvesting blocks), the ridge on `layers *
    /// n_units` features, and the states of every step that batches of series keep between layers (at most
    /// 64 MiB per batch in f32, a batch in flight on every core, with the next layer's input copy).
    fn memory_bytes(&self, shape: &DataShape) -> u64 {
        let c = &self.0;
        let (n, l) = (c.layer.n_units as f64, c.layers as f64);
        let f = n * l;
        let (series, eval) = (shape.n_series as f64, shape.n_eval as f64);
        let weights = l * n * n * (8.0 + 4.0 + 4.0 * 8.0) * 2.0 + shape.n_inputs as f64 * n * 12.0;
        let states = (series + eval) * f * (4.0 + 8.0);
        let ridge = (series + f) * (2.0 * f + shape.n_outputs.max(1) as f64) * 8.0;
        let blocks = 64.0 * 256.0 * n * 4.0 * 4.0;
        let all_steps = series.max(eval) * shape.max_len as f64 * n * 4.0;
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        let kept = if c.layers > 1 {
            all_steps.min(cores * 64.0 * 1048576.0) * 3.0
        } else {
            0.0
        };
        let f64_path = if c.layer.integrator.is_paper() {
            0.0
        } else {
            n * n * 8.0 * l + series.max(eval) * n * 8.0 * 3.0
        };
        (weights + states + ridge + blocks + kept + f64_path).min(u64::MAX as f64) as u64
    }

    /// Draws the layers from `seed` and fits the readout on `train`; `val` and `protocol` are not used.
    fn fit(
        &self,
        train: &Part,
        _val: Option<&Part>,
        _protocol: TrainingProtocol,
        seed: u64,
        ctx: &TrialContext<'_>,
    ) -> Result<Box<dyn FittedModel>, LabError> {
        let model = self
            .0
            .fit_cancellable(&train.seqs, &train.targets, seed, ctx.cancel.flag())?;
        Ok(Box::new(DeepFitted(model)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{CancelToken, ModelKind, TrialData};
    use crate::tasks::{load_dataset, Task};
    use crate::training::TrainingProtocol;
    use std::path::Path;

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn scores(m: ModelKind, p: &Params, seeds: &[u64]) -> Vec<f64> {
        let task = Task::from_dataset(&load_dataset(Path::new("."), "synthetic-control").unwrap())
            .unwrap();
        let data = TrialData {
            train: &task.train,
            val: None,
            eval: task.test().unwrap(),
            protocol: TrainingProtocol::Reference,
        };
        let c = m.model().configure(p).unwrap();
        let cancel = CancelToken::new();
        let ctx = TrialContext {
            on_event: &|_| {},
            cancel: &cancel,
        };
        seeds
            .iter()
            .map(|&s| c.trial(&data, s, &ctx).unwrap().score)
            .collect()
    }

    fn deep() -> ModelKind {
        "deep-mf-esn".parse().unwrap()
    }

    #[test]
    fn one_layer_scores_the_mf_esn_bit_for_bit() {
        let shared = [("n_units", 30.0), ("dt", 0.1), ("gamma", 0.95)];
        let mut one = params(&shared);
        one.insert("layers".into(), 1.0);
        // inter_scaling does not reach a single layer.
        one.insert("inter_scaling".into(), 0.3);
        let a = scores(deep(), &one, &[1, 2, 3]);
        let b = scores(ModelKind::MfEsn, &params(&shared), &[1, 2, 3]);
        assert_eq!(a, b);
        let mut two = one.clone();
        two.insert("layers".into(), 2.0);
        assert_ne!(scores(deep(), &two, &[1, 2, 3]), b);
    }

    #[test]
    fn hyper_parameters_reach_the_deep_configuration_and_are_checked() {
        let c = deep()
            .model()
            .configure(&params(&[
                ("layers", 3.0),
                ("inter_scaling", 0.4),
                ("n_units", 20.0),
                ("gamma", 0.9),
                ("density", 0.25),
                ("integrator", 1.0),
            ]))
            .unwrap();
        let d = c.as_any().downcast_ref::<DeepConfig>().unwrap();
        assert_eq!((d.layers, d.inter_scaling, d.layer.n_units), (3, 0.4, 20));
        assert_eq!(d.layer.connectivity.density, 0.25);
        assert_eq!(d.layer.integrator, mf_core::integrate::Integrator::Exact);
        let json = c.to_json();
        assert_eq!(json["layers"], 3);
        // 100 of 400 recurrent entries per layer, 20 x 20 dense inter-layer kernels twice.
        assert_eq!(json["n_weights"]["recurrent"], 100);
        assert_eq!(json["n_weights"]["total_recurrent"], 300 + 800);
        for bad in [
            ("layers", 0.0),
            ("layers", 1.5),
            ("inter_scaling", -1.0),
            ("density", 0.0),
            ("w_bits", 4.0),
            ("alpha", 0.5),
        ] {
            assert!(
                deep().model().configure(&params(&[bad])).is_err(),
                "{bad:?}"
            );
        }
        // The paper's MF-ESN selection is the preset of every layer.
        assert_eq!(
            deep().model().preset("ecg5000"),
            ModelKind::MfEsn.model().preset("ecg5000")
        );
    }
}
