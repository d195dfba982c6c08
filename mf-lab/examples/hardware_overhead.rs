//! What the hardware non-idealities cost: the fit (draw, program, harvest, ADC, ridge, readout quantisation) and
//! the test scoring of MF-ESN and ESN with the paper's ECG5000 presets, every non-ideality off against every one
//! on (for MF-ESN the neurons' `d2d_sigma` and `c2c_sigma` too), alternated over repetitions; prints the medians
//! and their ratio.
//!
//! ```sh
//! MF_DATA_DIR=/path/to/datasets cargo run --release -p mf-lab --example hardware_overhead [-- REPEATS]
//! ```

use std::error::Error;
use std::time::Instant;

use mf_core::rng::derive_seed;
use mf_lab::single::ModelRequest;
use mf_lab::tasks::{load_dataset, Task};
use mf_lab::ModelKind;

/// Every non-ideality on, at levels of the robustness study.
const ALL_ON: [(&str, f64); 6] = [
    ("w_bits", 8.0),
    ("w_noise", 0.05),
    ("stuck_zero", 0.01),
    ("stuck_max", 0.01),
    ("adc_bits", 8.0),
    ("readout_bits", 8.0),
];

/// The MF neuron's own device non-idealities, on for MF-ESN only (the leaky ESN's tanh cell is no device).
const NEURONS_ON: [(&str, f64); 2] = [("d2d_sigma", 0.05), ("c2c_sigma", 0.05)];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn Error>> {
    let repeats: usize = std::env::args().nth(1).map_or(Ok(9), |a| a.parse())?;
    let data_dir = mf_data::resolve_data_dir(None);
    let task = Task::from_dataset(&load_dataset(&data_dir, "ECG5000")?)?;
    let test = task.test()?;
    println!(
        "ECG5000: {} training and {} test series, {repeats} repetitions (median)",
        task.train.len(),
        test.len()
    );
    for model in [ModelKind::MfEsn, ModelKind::Esn] {
        let params = |on: bool| -> Result<mf_esn::ReservoirValidParams, Box<dyn Error>> {
            let req = ModelRequest {
                model,
                dataset: "ECG5000".into(),
                preset: true,
                set: if on {
                    let neurons = if model == ModelKind::MfEsn {
                        &NEURONS_ON[..]
                    } else {
                        &[]
                    };
                    ALL_ON
                        .iter()
                        .chain(neurons)
                        .map(|(k, v)| (k.to_string(), *v))
                        .collect()
                } else {
                    Default::default()
                },
                seed: 0,
                protocol: Default::default(),
                normalise: Default::default(),
            };
            let c = req.configure()?;
            let rc = c
                .as_any()
                .downcast_ref::<mf_esn::ReservoirConfig>()
                .expect("a reservoir model")
                .clone();
            Ok(rc.into_params()?)
        };
        let (off, on) = (params(false)?, params(true)?);
        let (mut fit, mut score) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
        for r in 0..repeats {
            for (k, p) in [&off, &on].into_iter().enumerate() {
                let seed = derive_seed(0, r as u64);
                let t = Instant::now();
                let m = p.fit(&task.train.seqs, &task.train.targets, seed)?;
                fit[k].push(t.elapsed().as_secs_f64());
                let t = Instant::now();
                let s = m.score(&test.seqs, &test.targets)?;
                score[k].push(t.elapsed().as_secs_f64());
                std::hint::black_box(s);
            }
        }
        // The added steps alone, free of the harvest's timing noise: programming the weights of one draw and
        // reading the training and test states through the ADC.
        let hw = on.config().hardware;
        let cell = &on.config().cell;
        let m = off.fit(&task.train.seqs, &task.train.targets, 0)?;
        let states = [m.train_states().clone(), m.states(&test.seqs)?];
        let mut extra = Vec::new();
        for r in 0..repeats {
            let t = Instant::now();
            let mut w = m.weights().clone();
            hw.program(&mut w, r as u64);
            for s in &states {
                let mut s = s.clone();
                hw.read_states(cell, s.view_mut());
                std::hint::black_box(&s);
            }
            extra.push(t.elapsed().as_secs_f64());
            std::hint::black_box(&w);
        }
        println!(
            "{model}: programming the weights and the ADC over every state: {:.2} ms",
            median(extra) * 1e3
        );
        let [fit_off, fit_on] = fit.map(median);
        let [score_off, score_on] = score.map(median);
        println!(
            "{model}: fit {:.1} ms off, {:.1} ms on (ratio {:.3}); test scoring {:.1} ms off, {:.1} ms on \
             (ratio {:.3})",
            fit_off * 1e3,
            fit_on * 1e3,
            fit_on / fit_off,
            score_off * 1e3,
            score_on * 1e3,
            score_on / score_off
        );
    }
    Ok(())
}
