//! The paper's future work (Sec. VII) through the fitted reservoir's whole life: a sparse MF-ESN advanced by the
//! exact integrator fits, streams, saves and loads as the paper's MF-ESN does.

use mf_core::fixtures::sine_classes;
use mf_core::integrate::Integrator;
use mf_core::sparse::Connectivity;
use mf_core::Recurrent;

use mf_esn::{FittedReservoir, MfEsn, Prediction};

fn model(integrator: Integrator) -> FittedReservoir {
    let (x, y) = sine_classes(30, 12..=20, 0);
    MfEsn::params()
        .n_units(16)
        .dt(0.2)
        .gamma(0.9)
        .connectivity(Connectivity {
            density: 0.25,
            input_density: 0.5,
        })
        .integrator(integrator)
        .fit(&x, &y, 4)
        .unwrap()
}

#[test]
fn the_stream_of_another_integrator_follows_the_batch_states() {
    let (x, _) = sine_classes(30, 12..=20, 0);
    for integ in [Integrator::Exact, Integrator::Euler { substeps: 3 }] {
        let m = model(integ);
        let batch = m.states(&x).unwrap();
        for i in [0, 7, 29] {
            let mut s = m.stream();
            for t in 0..x.lengths[i] {
                s.push(&[x.x[[i, t, 0]]]).unwrap();
            }
            let Prediction::Classes(c) = s.predict() else {
                unreachable!()
            };
            let Prediction::Classes(want) = m.predict(&x.select(&[i])).unwrap() else {
                unreachable!()
            };
            assert_eq!(c, want, "{integ:?} series {i}");
            let d = m
                .readout()
                .decision(&batch.row(i).insert_axis(ndarray::Axis(0)).mapv(f64::from));
            assert!(
                (s.decision()[0] - d[[0, 0]]).abs() < 1e-4,
                "{integ:?} series {i}"
            );
        }
    }
}

#[test]
fn a_saved_sparse_exact_model_loads_and_predicts_the_same_bits() {
    let (x, _) = sine_classes(30, 12..=20, 0);
    let m = model(Integrator::Exact);
    assert_eq!(m.weights().w_rec.iter().filter(|&&v| v != 0.0).count(), 64);
    assert_eq!(m.config().n_weights(1), 64 + 8);
    let dir = tempfile::tempdir().unwrap();
    m.save(dir.path()).unwrap();
    let back = FittedReservoir::load(dir.path()).unwrap();
    assert_eq!(back.config(), m.config());
    assert_eq!(back.predict(&x).unwrap(), m.predict(&x).unwrap());
    assert_eq!(back.states(&x).unwrap(), m.states(&x).unwrap());
}
