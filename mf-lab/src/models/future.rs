//! The paper's future work (Sec. VII) that reservoir models share: the count of non-zero weights that
//! configuration reports carry, and tests of the sparse connectivity (`hyper::Sparsity`) and the MF cell's
//! integrator (`hyper::Integration`) through the models.

use mf_esn::ReservoirConfig;

/// The non-zero weights of `c`'s reservoir (recurrent and input kernels; biases are not synapses), for reports:
/// `recurrent` in all, `per_input` for each input dimension, so that data with `d` inputs has
/// `recurrent + d per_input` of them. Dense kernels count every entry.
pub(super) fn n_weights(c: &ReservoirConfig) -> serde_json::Value {
    serde_json::json!({
        "recurrent": c.connectivity.recurrent_weights(c.n_units),
        "per_input": c.connectivity.weights_per_input(c.n_units),
    })
}

#[cfg(test)]
mod tests {
    use crate::grid::Params;
    use crate::models::{CancelToken, ModelKind, TrialContext, TrialData};
    use crate::tasks::{load_dataset, Task};
    use crate::training::TrainingProtocol;
    use mf_core::integrate::Integrator;
    use mf_esn::ReservoirConfig;
    use std::path::Path;

    fn params(kv: &[(&str, f64)]) -> Params {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn config(m: ModelKind, kv: &[(&str, f64)]) -> ReservoirConfig {
        let c = m.model().configure(&params(kv)).unwrap();
        c.as_any()
            .downcast_ref::<ReservoirConfig>()
            .unwrap()
            .clone()
    }

    /// Test scores on synthetic control of three reservoir draws.
    fn scores(m: ModelKind, kv: &[(&str, f64)]) -> Vec<f64> {
        let task = Task::from_dataset(&load_dataset(Path::new("."), "synthetic-control").unwrap())
            .unwrap();
        let data = TrialData {
            train: &task.train,
            val: None,
            eval: task.test().unwrap(),
            protocol: TrainingProtocol::Reference,
        };
        let c = m.model().configure(&params(kv)).unwrap();
        let cancel = CancelToken::new();
        let ctx = TrialContext {
            on_event: &|_| {},
            cancel: &cancel,
        };
        (0..3)
            .map(|s| c.trial(&data, s, &ctx).unwrap().score)
            .collect()
    }

    #[test]
    fn density_one_is_the_dense_model_bit_for_bit_and_a_sparse_one_differs() {
        for m in [ModelKind::MfEsn, ModelKind::Esn] {
            let base = [("n_units", 40.0)];
            let dense = scores(m, &base);
            let one = [("n_units", 40.0), ("density", 1.0), ("input_density", 1.0)];
            assert_eq!(scores(m, &one), dense, "{m}");
            assert_eq!(config(m, &one), config(m, &base));
            let sparse = [("n_units", 40.0), ("density", 0.1)];
            assert_ne!(scores(m, &sparse), dense, "{m}");
        }
    }

    #[test]
    fn reports_count_the_non_zero_weights() {
        let c = ModelKind::MfEsn
            .model()
            .configure(&params(&[
                ("n_units", 50.0),
                ("density", 0.1),
                ("input_density", 0.2),
            ]))
            .unwrap();
        let json = c.to_json();
        assert_eq!(json["n_weights"]["recurrent"], 250);
        assert_eq!(json["n_weights"]["per_input"], 10);
        assert_eq!(json["connectivity"]["density"], 0.1);
        let dense = ModelKind::Esn.model().configure(&Params::new()).unwrap();
        assert_eq!(dense.to_json()["n_weights"]["recurrent"], 10_000);
        // The dense configuration serialises as before: no connectivity, no integrator.
        assert!(dense.to_json().get("connectivity").is_none());
        assert!(dense.to_json().get("integrator").is_none());
    }

    #[test]
    fn integrator_and_substeps_set_the_mf_cells_integrator() {
        let paper = config(ModelKind::MfEsn, &[]);
        assert_eq!(
            config(ModelKind::MfEsn, &[("integrator", 0.0), ("substeps", 1.0)]),
            paper
        );
        assert_eq!(
            config(ModelKind::MfEsn, &[("substeps", 4.0)]).integrator,
            Integrator::Euler { substeps: 4 }
        );
        assert_eq!(
            config(ModelKind::MfEsn, &[("integrator", 1.0), ("substeps", 1.0)]).integrator,
            Integrator::Exact
        );
        for bad in [
            &[("integrator", 2.0)][..],
            &[("integrator", 1.0), ("substeps", 3.0)],
            &[("substeps", 0.0)],
            &[("substeps", 2.5)],
            &[("substeps", 1001.0)],
            &[("substeps", 1e300)],
        ] {
            assert!(
                ModelKind::MfEsn.model().configure(&params(bad)).is_err(),
                "{bad:?}"
            );
        }
        assert!(ModelKind::Esn
            .model()
            .configure(&params(&[("integrator", 1.0)]))
            .is_err());
    }

    #[test]
    fn euler_substeps_approach_the_exact_integrators_scores() {
        // At dt = 0.1 the paper's single step and the exact solution differ; many substeps close the gap.
        let base = [("n_units", 30.0), ("dt", 0.1), ("gamma", 0.9)];
        let with = |extra: (&str, f64)| {
            let mut kv = base.to_vec();
            kv.push(extra);
            scores(ModelKind::MfEsn, &kv)
        };
        let exact = with(("integrator", 1.0));
        let gap = |s: &[f64]| {
            s.iter()
                .zip(&exact)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
        };
        assert_eq!(with(("substeps", 1.0)), scores(ModelKind::MfEsn, &base));
        assert!(gap(&with(("substeps", 200.0))) <= gap(&with(("substeps", 1.0))));
    }
}
