//! The trainable models on memristive devices, through the experiment library: `mf robustness` draws curves of
//! MF-RNN against the deployment non-idealities (the device model is `mf_core::devices::Hardware`, the one every
//! model shares).

use std::path::Path;

use mf_lab::models::CancelToken;
use mf_lab::robustness::{run_robustness, RobustnessRequest};
use mf_lab::single::run_trials_on_test;
use mf_lab::ModelKind;

#[test]
fn robustness_curves_of_the_mf_rnn_retrain_the_same_models_and_deploy_them() {
    let req = RobustnessRequest {
        models: vec![ModelKind::MfRnn],
        dataset: "synthetic-control".into(),
        preset: false,
        set: [("n_units", 8.0), ("max_epochs", 3.0), ("lr", 0.01)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        param: "w_noise".into(),
        values: vec![0.0, 1.0],
        draws: 2,
        seed: 9,
        protocol: Default::default(),
    };
    let none = Path::new("/nonexistent");
    let out = run_robustness(&req, none, &|_, _| {}, &mut |_| {}, &CancelToken::new()).unwrap();
    assert_eq!(out.levels.len(), 2);
    for level in &out.levels {
        let run = run_trials_on_test(
            &req.point(ModelKind::MfRnn, level.value),
            2,
            none,
            &|_| {},
            &mut |_, _, _| {},
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!((level.mean, level.std), (run.mean, run.std), "{level:?}");
    }
    // At 0 the point is the ideal model: the run without the parameter set at all.
    let mut ideal = req.point(ModelKind::MfRnn, 0.0);
    ideal.set.remove("w_noise");
    let run = run_trials_on_test(
        &ideal,
        2,
        none,
        &|_| {},
        &mut |_, _, _| {},
        &CancelToken::new(),
    )
    .unwrap();
    let at = |v: f64| -> Vec<f64> {
        out.points
            .iter()
            .filter(|p| p.value == v)
            .map(|p| p.score)
            .collect()
    };
    assert_eq!(at(0.0), run.per_trial);
    assert!(run.config.get("hardware").is_none(), "{}", run.config);
    // Devices with a relative noise of 1 lose accuracy.
    assert_ne!(at(1.0), at(0.0));
}
