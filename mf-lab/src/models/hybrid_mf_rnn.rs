//! Hybrid MF-RNN: an MF-RNN whose layer starts from the MF-ESN's reservoir draw (same initialiser, scalings and
//! connectivity, same seed), its recurrent kernel frozen (a reservoir whose input weights, bias and readout are
//! trained) or fine-tuned with the rest (paper Sec. VII; `mf_rnn::ReservoirStart`).

use mf_core::init::SpectralInit;
use mf_rnn::{ReservoirStart, RnnConfig};

use super::hyper::{hyper_params, HyperParams, ParamInfo, Scalings, Sparsity};
use super::mf_rnn::MfRnnParams;
use super::{trainable, Configured, FittedModel, LoadError, Model, ModelKind};
use crate::grid::{Grid, Params};
use crate::LabError;

hyper_params! {
    /// The hybrid MF-RNN's hyper-parameters: the MF-RNN's, then the reservoir it starts from (the MF-ESN's
    /// scalings and sparsity) and whether its recurrent kernel stays frozen (paper Sec. VII).
    pub struct HybridMfRnnParams {
        /// The MF-RNN's hyper-parameters.
        mf_rnn: MfRnnParams = MfRnnParams::default(),
        /// The scalings of the reservoir the layer starts from (the MF-ESN's).
        scalings: Scalings = Scalings::default(),
        /// The sparsity of the reservoir the layer starts from. A frozen sparse kernel refuses w_bits,
        /// stuck_zero and stuck_max.
        sparsity: Sparsity = Sparsity::default(),
        /// Keep W_h at its reservoir draw (true: the optimiser trains W_x, the bias and the readout) or
        /// fine-tune it with the rest (false) (paper Sec. VII).
        frozen: bool = ReservoirStart::default().frozen,
    }
}

impl HybridMfRnnParams {
    /// The training configuration these hyper-parameters describe (ranges are checked by [`RnnConfig::check`]).
    pub fn config(&self) -> RnnConfig {
        RnnConfig {
            reservoir: Some(ReservoirStart {
                scalings: self.scalings.core(),
                spectral: SpectralInit::CircularLaw,
                connectivity: self.sparsity.connectivity(),
                frozen: self.frozen,
            }),
            ..self.mf_rnn.config()
        }
    }
}

/// The hybrid MF-RNN model.
#[derive(Debug)]
pub struct HybridMfRnnModel;

impl Model for HybridMfRnnModel {
    fn id(&self) -> &'static str {
        "hybrid-mf-rnn"
    }
    fn name(&self) -> &'static str {
        "Hybrid MF-RNN"
    }
    fn is_reservoir(&self) -> bool {
        false
    }
    fn params(&self) -> Vec<ParamInfo> {
        HybridMfRnnParams::info()
    }
    /// The learning rate of the paper's MF-RNN grid (Table III), frozen and fine-tuned.
    fn grid(&self) -> Grid {
        Grid::new(vec![
            ("lr".to_string(), vec![0.001, 0.01]),
            ("frozen".to_string(), vec![1.0, 0.0]),
        ])
        .expect("a valid grid")
    }
    fn quick_grid(&self) -> Grid {
        Grid::new(vec![("frozen".to_string(), vec![1.0, 0.0])]).expect("a valid grid")
    }
    /// The paper's MF-RNN selection for `dataset` (Table VI) with its MF-ESN reservoir scalings (Table V).
    fn preset(&self, dataset: &str) -> Option<Params> {
        let mut p = ModelKind::MfRnn.model().preset(dataset)?;
        let esn = ModelKind::MfEsn.model().preset(dataset)?;
        for k in ["rho", "omega", "beta"] {
            if let Some(&v) = esn.get(k) {
                p.insert(k.to_string(), v);
            }
        }
        Some(p)
    }
    fn load(&self, dir: &std::path::Path) -> Result<Box<dyn FittedModel>, LoadError> {
        trainable::load(dir)
    }
    fn configure(&self, params: &Params) -> Result<Box<dyn Configured>, LabError> {
        trainable::configure(HybridMfRnnParams::from_params(self.id(), params)?.config())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{train_rnn, CancelToken, TrialContext};
    use crate::tasks::{load_dataset, Task};
    use crate::training::TrainingProtocol;
    use std::path::Path;

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn the_frozen_hybrid_keeps_the_mf_esn_reservoir_of_its_seed() {
        let task = Task::from_dataset(&load_dataset(Path::new("."), "synthetic-control").unwrap())
            .unwrap();
        let train = task.train.select(&(0..60).collect::<Vec<_>>());
        let hybrid: ModelKind = "hybrid-mf-rnn".parse().unwrap();
        let shared = [
            ("n_units", 12.0),
            ("rho", 0.8),
            ("omega", 0.5),
            ("beta", 0.1),
        ];
        let mut kv = shared.to_vec();
        kv.extend([("max_epochs", 3.0), ("lr", 0.01), ("density", 0.5)]);
        let c = hybrid.model().configure(&params(&kv)).unwrap();
        let rc = c.as_any().downcast_ref::<RnnConfig>().unwrap();
        let cancel = CancelToken::new();
        let ctx = TrialContext {
            on_event: &|_| {},
            cancel: &cancel,
        };
        let trained = train_rnn(rc, &train, None, TrainingProtocol::Reference, 21, &ctx).unwrap();
        let w = trained.weights().unwrap().layer;
        // The MF-ESN with the same scalings and seed draws the same reservoir.
        let mut esn_kv = shared.to_vec();
        esn_kv.push(("density", 0.5));
        let esn = ModelKind::MfEsn
            .model()
            .configure(&params(&esn_kv))
            .unwrap();
        let esn = esn
            .as_any()
            .downcast_ref::<mf_esn::ReservoirConfig>()
            .unwrap()
            .clone()
            .into_params()
            .unwrap()
            .fit(&train.seqs, &train.targets, 21)
            .unwrap();
        assert_eq!(w.w_rec, esn.weights().w_rec);
        assert_ne!(w.w_in, esn.weights().w_in);
        // Fine-tuned, the kernel moves.
        kv.push(("frozen", 0.0));
        let c = hybrid.model().configure(&params(&kv)).unwrap();
        let rc = c.as_any().downcast_ref::<RnnConfig>().unwrap();
        let tuned = train_rnn(rc, &train, None, TrainingProtocol::Reference, 21, &ctx).unwrap();
        assert_ne!(tuned.weights().unwrap().layer.w_rec, esn.weights().w_rec);
    }

    #[test]
    fn hybrid_hyper_parameters_are_checked() {
        let hybrid: ModelKind = "hybrid-mf-rnn".parse().unwrap();
        for bad in [
            ("frozen", 0.5),
            ("rho", -1.0),
            ("density", 2.0),
            ("alpha", 0.5),
        ] {
            assert!(
                hybrid.model().configure(&params(&[bad])).is_err(),
                "{bad:?}"
            );
        }
        let p = hybrid.model().preset("ecg5000").unwrap();
        assert_eq!(
            p["rho"],
            ModelKind::MfEsn.model().preset("ecg5000").unwrap()["rho"]
        );
        assert_eq!(
            p["lr"],
            ModelKind::MfRnn.model().preset("ecg5000").unwrap()["lr"]
        );
    }
}
