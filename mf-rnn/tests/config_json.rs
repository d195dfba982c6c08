//! The JSON of training configurations, byte for byte: saved models' `model.json` and the result stores hold it,
//! so a refactoring of the config types must not move a key or a number. (The hybrid start's scalings are written
//! `omega`, `beta`, `rho` since they are one `mf_core::init::Scalings`; descriptions written before, `rho` first,
//! still read: see the last test.)

use mf_core::init::SpectralInit;
use mf_core::sparse::Connectivity;
use mf_core::MfCell;
use mf_rnn::{CellKind, Hardware, RegressionLoss, ReservoirStart, RnnConfig};

/// Every deployment non-ideality on, training noise, and a fine-tuned sparse reservoir start.
fn non_ideal() -> RnnConfig {
    let mut c = RnnConfig::new(CellKind::Mf(MfCell::new(0.05, 0.9, 4.0)))
        .lr(0.01)
        .seed(7)
        .n_units(30);
    c.regression_loss = RegressionLoss::Mae;
    c.restore_best = false;
    c.hardware = Hardware {
        w_bits: 6,
        w_noise: 0.05,
        stuck_zero: 0.01,
        stuck_max: 0.02,
        adc_bits: 8,
        readout_bits: 10,
        ..Hardware::default()
    };
    c.train_w_noise = 0.1;
    c.reservoir = Some(ReservoirStart {
        spectral: SpectralInit::Exact,
        connectivity: Connectivity {
            density: 0.5,
            input_density: 0.25,
        },
        frozen: false,
        ..ReservoirStart::default()
    });
    c
}

fn check<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
    value: &T,
    want: &str,
) {
    let json = serde_json::to_string(value).unwrap();
    assert_eq!(json, want);
    assert_eq!(&serde_json::from_str::<T>(want).unwrap(), value);
}

#[test]
fn the_default_configs_serialise_as_they_always_have() {
    check(
        &RnnConfig::new(CellKind::Tanh),
        r#"{"cell":{"kind":"tanh"},"n_units":100,"lr":0.001,"batch_size":64,"max_epochs":5000,"patience":10,"restore_best":true,"regression_loss":"mse","seed":0}"#,
    );
    check(
        &RnnConfig::new(CellKind::Mf(MfCell::new(0.01, 1.0, 5.0))),
        r#"{"cell":{"kind":"mf","dt":0.01,"gamma":1.0,"s":5.0,"physics":{"kp0":0.0001,"kd0":0.5,"eta_p":10.0,"eta_d":1.0,"a":0.35,"b":1.15}},"n_units":100,"lr":0.001,"batch_size":64,"max_epochs":5000,"patience":10,"restore_best":true,"regression_loss":"mse","seed":0}"#,
    );
    let mut hybrid = RnnConfig::new(CellKind::Mf(MfCell::new(0.01, 1.0, 5.0)));
    hybrid.reservoir = Some(ReservoirStart::default());
    check(
        &hybrid,
        r#"{"cell":{"kind":"mf","dt":0.01,"gamma":1.0,"s":5.0,"physics":{"kp0":0.0001,"kd0":0.5,"eta_p":10.0,"eta_d":1.0,"a":0.35,"b":1.15}},"n_units":100,"lr":0.001,"batch_size":64,"max_epochs":5000,"patience":10,"restore_best":true,"regression_loss":"mse","seed":0,"reservoir":{"omega":1.0,"beta":0.001,"rho":0.9,"spectral":"circular-law","frozen":true}}"#,
    );
}

#[test]
fn a_non_ideal_config_serialises_as_it_always_has() {
    check(
        &non_ideal(),
        r#"{"cell":{"kind":"mf","dt":0.05,"gamma":0.9,"s":4.0,"physics":{"kp0":0.0001,"kd0":0.5,"eta_p":10.0,"eta_d":1.0,"a":0.35,"b":1.15}},"n_units":30,"lr":0.01,"batch_size":64,"max_epochs":5000,"patience":10,"restore_best":false,"regression_loss":"mae","seed":7,"reservoir":{"omega":1.0,"beta":0.001,"rho":0.9,"spectral":"exact","connectivity":{"density":0.5,"input_density":0.25},"frozen":false},"hardware":{"w_bits":6,"w_noise":0.05,"stuck_zero":0.01,"stuck_max":0.02,"adc_bits":8,"readout_bits":10},"train_w_noise":0.1}"#,
    );
    let mut tanh = RnnConfig::new(CellKind::Tanh);
    tanh.hardware.adc_bits = 4;
    check(
        &tanh,
        r#"{"cell":{"kind":"tanh"},"n_units":100,"lr":0.001,"batch_size":64,"max_epochs":5000,"patience":10,"restore_best":true,"regression_loss":"mse","seed":0,"hardware":{"adc_bits":4}}"#,
    );
}

#[test]
fn a_hybrid_start_written_with_rho_first_still_reads() {
    let old = r#"{"cell":{"kind":"mf","dt":0.01,"gamma":1.0,"s":5.0,"physics":{"kp0":0.0001,"kd0":0.5,"eta_p":10.0,"eta_d":1.0,"a":0.35,"b":1.15}},"n_units":100,"lr":0.001,"batch_size":64,"max_epochs":5000,"patience":10,"restore_best":true,"regression_loss":"mse","seed":0,"reservoir":{"rho":0.5,"omega":2.0,"beta":0.25,"spectral":"circular-law","frozen":true}}"#;
    let c: RnnConfig = serde_json::from_str(old).unwrap();
    let s = c.reservoir.unwrap().scalings;
    assert_eq!((s.omega, s.beta, s.rho), (2.0, 0.25, 0.5));
    // An unknown key beside the flattened scalings is still refused.
    let typo = old.replace("\"rho\"", "\"extra\":1.0,\"rho\"");
    assert!(serde_json::from_str::<RnnConfig>(&typo).is_err());
}
