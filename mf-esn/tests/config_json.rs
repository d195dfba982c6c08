//! The JSON of reservoir configurations, byte for byte: saved models' `model.json` and the result stores hold it,
//! so a refactoring of the config types must not move a key or a number.

use mf_core::init::SpectralInit;
use mf_core::integrate::Integrator;
use mf_core::sparse::Connectivity;
use mf_core::{CellKind, MfCell};
use mf_esn::{DeepConfig, Hardware, ReservoirConfig};

/// Every non-ideality on, a sparse exact-spectrum kernel and the exact integrator.
fn non_ideal() -> ReservoirConfig {
    let mut c = ReservoirConfig::mf_esn();
    c.cell = CellKind::Mf(MfCell::new(0.05, 0.9, 4.0));
    c.spectral = SpectralInit::Exact;
    c.hardware = Hardware {
        w_bits: 6,
        w_noise: 0.05,
        stuck_zero: 0.01,
        stuck_max: 0.02,
        adc_bits: 8,
        readout_bits: 10,
        d2d_sigma: 0.03,
        c2c_sigma: 0.04,
    };
    c.connectivity = Connectivity {
        density: 0.5,
        input_density: 0.25,
    };
    c.integrator = Integrator::Exact;
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
        &ReservoirConfig::mf_esn(),
        r#"{"n_units":100,"omega":1.0,"beta":0.001,"rho":0.9,"spectral":"circular-law","cell":{"kind":"mf","dt":0.01,"gamma":1.0,"s":5.0,"physics":{"kp0":0.0001,"kd0":0.5,"eta_p":10.0,"eta_d":1.0,"a":0.35,"b":1.15}},"lambda":1.0}"#,
    );
    check(
        &ReservoirConfig::esn(),
        r#"{"n_units":100,"omega":1.0,"beta":0.1,"rho":0.99,"spectral":"circular-law","cell":{"kind":"leaky-esn","alpha":0.1},"lambda":1.0}"#,
    );
    check(
        &DeepConfig::mf_esn(3),
        r#"{"layer":{"n_units":100,"omega":1.0,"beta":0.001,"rho":0.9,"spectral":"circular-law","cell":{"kind":"mf","dt":0.01,"gamma":1.0,"s":5.0,"physics":{"kp0":0.0001,"kd0":0.5,"eta_p":10.0,"eta_d":1.0,"a":0.35,"b":1.15}},"lambda":1.0},"layers":3,"inter_scaling":1.0}"#,
    );
}

#[test]
fn a_non_ideal_config_serialises_as_it_always_has() {
    check(
        &non_ideal(),
        r#"{"n_units":100,"omega":1.0,"beta":0.001,"rho":0.9,"spectral":"exact","cell":{"kind":"mf","dt":0.05,"gamma":0.9,"s":4.0,"physics":{"kp0":0.0001,"kd0":0.5,"eta_p":10.0,"eta_d":1.0,"a":0.35,"b":1.15}},"lambda":1.0,"hardware":{"w_bits":6,"w_noise":0.05,"stuck_zero":0.01,"stuck_max":0.02,"adc_bits":8,"readout_bits":10,"d2d_sigma":0.03,"c2c_sigma":0.04},"connectivity":{"density":0.5,"input_density":0.25},"integrator":{"kind":"exact"}}"#,
    );
    let mut esn = ReservoirConfig::esn();
    esn.hardware.adc_bits = 4;
    esn.integrator = Integrator::Euler { substeps: 3 };
    check(
        &esn,
        r#"{"n_units":100,"omega":1.0,"beta":0.1,"rho":0.99,"spectral":"circular-law","cell":{"kind":"leaky-esn","alpha":0.1},"lambda":1.0,"hardware":{"adc_bits":4},"integrator":{"kind":"euler","substeps":3}}"#,
    );
    let mut deep = DeepConfig::mf_esn(2);
    deep.layer = non_ideal();
    deep.layer.hardware = deep.layer.hardware.without_neurons();
    check(
        &deep,
        r#"{"layer":{"n_units":100,"omega":1.0,"beta":0.001,"rho":0.9,"spectral":"exact","cell":{"kind":"mf","dt":0.05,"gamma":0.9,"s":4.0,"physics":{"kp0":0.0001,"kd0":0.5,"eta_p":10.0,"eta_d":1.0,"a":0.35,"b":1.15}},"lambda":1.0,"hardware":{"w_bits":6,"w_noise":0.05,"stuck_zero":0.01,"stuck_max":0.02,"adc_bits":8,"readout_bits":10},"connectivity":{"density":0.5,"input_density":0.25},"integrator":{"kind":"exact"}},"layers":2,"inter_scaling":1.0}"#,
    );
}
