//! Tests of deployment on devices and hardware-aware training (`crate::hardware`) through the training loop.

use std::collections::BTreeSet;

use mf_core::MfCell;
use ndarray::{Array3, Axis};

use super::*;
use crate::hardware::{perturbed, TrainingNoise};
use crate::{CellKind, Hardware, RnnWeights};
use mf_core::Recurrent;

/// The MF cell of the other tests of the crate.
fn mf() -> CellKind {
    CellKind::Mf(MfCell::new(0.1, 0.8, 5.0))
}

/// Three classes of two-input series of 5 to 10 steps, told apart by their levels.
fn data(n: usize, seed: u64) -> (Sequences, Targets) {
    use rand::Rng;
    let mut rng = rng_from_seed(seed);
    let mut x = Array3::<f32>::from_elem((n, 10, 2), f32::NAN);
    let mut lengths = Vec::new();
    for i in 0..n {
        let len = rng.random_range(5..=10);
        for t in 0..len {
            let level = (i % 3) as f32 - 1.0;
            x[[i, t, 0]] = level + 0.4 * rng.random_range(-1.0f32..1.0);
            x[[i, t, 1]] = (t as f32 * 0.7).sin() * level;
        }
        lengths.push(len);
    }
    (
        Sequences::new(x, lengths).unwrap(),
        Targets::Classes {
            labels: (0..n).map(|i| i % 3).collect(),
            n_classes: 3,
        },
    )
}

fn config(cell: CellKind) -> RnnConfig {
    let mut c = RnnConfig::new(cell)
        .n_units(8)
        .lr(0.02)
        .seed(3)
        .max_epochs(6);
    c.batch_size = 16;
    c.patience = 6;
    c
}

fn fit(c: &RnnConfig, train: &(Sequences, Targets), val: &(Sequences, Targets)) -> TrainedRnn {
    super::train(c, (&train.0, &train.1), (&val.0, &val.1), &mut |_| {}).unwrap()
}

fn losses(m: &TrainedRnn) -> Vec<(u64, u64)> {
    m.history()
        .iter()
        .map(|e| (e.train_loss.to_bits(), e.val_loss.to_bits()))
        .collect()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn distinct(a: &ndarray::Array2<f32>) -> usize {
    a.iter().map(|v| v.to_bits()).collect::<BTreeSet<_>>().len()
}

/// The readout of each series' last state computed with `mf-core`'s element-wise update of the cell from the
/// arrays `w`, the state read through `adc` bits over `[lo, hi]` when given: an implementation independent of
/// candle's.
fn by_hand(
    cell: CellKind,
    w: &RnnWeights,
    seq: &Sequences,
    adc: Option<(u32, f32, f32)>,
) -> Vec<Vec<f32>> {
    let kind = cell;
    (0..seq.n_series())
        .map(|i| {
            let mut h = ndarray::Array2::<f32>::zeros((1, w.layer.n_units()));
            for t in 0..seq.lengths[i] {
                let x_t = seq.x.slice(ndarray::s![i..i + 1, t, ..]);
                let pre = x_t.dot(&w.layer.w_in) + h.dot(&w.layer.w_rec) + &w.layer.bias;
                kind.update(pre.view(), h.view_mut());
            }
            if let Some((bits, lo, hi)) = adc {
                let top = ((1u32 << bits) - 1) as f32;
                h.mapv_inplace(|v| {
                    lo + ((v - lo) / (hi - lo) * top).round().clamp(0.0, top) * (hi - lo) / top
                });
            }
            (h.dot(&w.readout_weight) + &w.readout_bias)
                .index_axis(Axis(0), 0)
                .to_vec()
        })
        .collect()
}

#[test]
fn with_everything_off_training_is_the_plain_loop_bit_for_bit() {
    let train = data(40, 1);
    for cell in [mf(), CellKind::Tanh] {
        let mut c = config(cell);
        c.restore_best = false;
        // The explicit defaults are the configuration of before: the same JSON, so the same spec hashes.
        c.hardware = Hardware::default();
        c.train_w_noise = 0.0;
        let json = serde_json::to_value(&c).unwrap();
        assert!(json.get("hardware").is_none() && json.get("train_w_noise").is_none());
        let m = train_with(
            &c,
            (&train.0, &train.1),
            None,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        // The loop as it stands without any hardware: Adam on the plain batch loss, same draws.
        let dev = Device::Cpu;
        let head = Head::for_targets(&train.1).unwrap();
        let model = Model::new(c.cell, 2, c.n_units, head.n_outputs(), c.seed, &dev).unwrap();
        let adam = ParamsAdamW {
            lr: c.lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            weight_decay: 0.0,
        };
        let mut opt = AdamW::new(model.vars.to_vec(), adam).unwrap();
        let mut rng = rng_from_seed(derive_seed(c.seed, 1));
        let mut order: Vec<usize> = (0..40).collect();
        let mut epoch_losses = Vec::new();
        for _ in 0..c.max_epochs {
            order.shuffle(&mut rng);
            let mut total = 0.0;
            for chunk in order.chunks(c.batch_size) {
                let batch = Batch::new(&train.0, chunk, &dev).unwrap();
                let y = target_tensor(&train.1, &batch.order, head, &dev).unwrap();
                let out = outputs(&c.cell, &model.params(), &batch).unwrap();
                let l = loss(&out, &y, head, c.regression_loss).unwrap();
                total += l.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
                    * chunk.len() as f64;
                opt.backward_step(&l).unwrap();
            }
            epoch_losses.push(total / 40.0);
        }
        let got: Vec<f64> = m.history().iter().map(|e| e.train_loss).collect();
        assert_eq!(got.len(), c.max_epochs, "{cell:?}: stopped early");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&epoch_losses), "{cell:?}");
        for (v, w) in model.vars.iter().zip(&m.model.vars) {
            assert_eq!(flat(v.as_tensor()), flat(w.as_tensor()), "{cell:?}");
        }
        assert_eq!(m.weights().unwrap(), m.trained_weights().unwrap());
    }
}

#[test]
fn the_noisy_gradient_is_the_multiplier_times_the_gradient_at_the_perturbed_weights() {
    let dev = Device::Cpu;
    let (x, y) = data(12, 2);
    for cell in [mf(), CellKind::Tanh] {
        let c = config(cell);
        let head = Head::for_targets(&y).unwrap();
        let model = Model::new(cell, 2, 6, 3, 5, &dev).unwrap();
        // Larger weights than the MF initialisation's, so that the recurrent kernel matters.
        model.vars[0]
            .set(&(model.vars[0].as_tensor() * 10.0).unwrap())
            .unwrap();
        model.vars[1]
            .set(&(model.vars[1].as_tensor() * 10.0).unwrap())
            .unwrap();
        let p = model.params();
        let m = TrainingNoise::new(0.3, 7).unwrap().draw(&p).unwrap();
        let batch = Batch::new(&x, &(0..12).collect::<Vec<_>>(), &dev).unwrap();
        let yt = target_tensor(&y, &batch.order, head, &dev).unwrap();
        // What the training loop differentiates.
        let grads = batch_loss(&c, head, &p, Some(&m), &batch, &yt)
            .unwrap()
            .backward()
            .unwrap();
        let clean = batch_loss(&c, head, &p, None, &batch, &yt)
            .unwrap()
            .backward()
            .unwrap();
        // The loss in f64, step by step, at weights given as f64 arrays.
        let f64s = |t: &Tensor| t.to_dtype(DType::F64).unwrap();
        let b64 = Batch {
            order: batch.order.clone(),
            active: batch.active.clone(),
            stacked: f64s(&batch.stacked),
        };
        let loss64 = |k: &[Vec<f64>], r: &[Vec<f64>]| -> f64 {
            let p64 = Params {
                kernel: Tensor::new(k.to_vec(), &dev).unwrap(),
                recurrent: Tensor::new(r.to_vec(), &dev).unwrap(),
                bias: f64s(&p.bias),
                ro_weight: f64s(&p.ro_weight),
                ro_bias: f64s(&p.ro_bias),
            };
            let out = outputs(&cell, &p64, &b64).unwrap();
            loss(&out, &yt, head, c.regression_loss)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        // The perturbed weights exactly as the forward pass saw them.
        let noisy = perturbed(&p, &m).unwrap();
        let k0 = f64s(&noisy.kernel).to_vec2::<f64>().unwrap();
        let r0 = f64s(&noisy.recurrent).to_vec2::<f64>().unwrap();
        let eps = 1e-6;
        for (which, var, mult) in [(0, &model.vars[0], &m[0]), (1, &model.vars[1], &m[1])] {
            let got = grads.get(var).unwrap().to_vec2::<f32>().unwrap();
            let plain = clean.get(var).unwrap().to_vec2::<f32>().unwrap();
            let mult = mult.to_vec2::<f32>().unwrap();
            let mut want = got.iter().map(|r| vec![0f64; r.len()]).collect::<Vec<_>>();
            for i in 0..want.len() {
                for j in 0..want[i].len() {
                    let (mut kp, mut rp) = (k0.clone(), r0.clone());
                    let (mut km, mut rm) = (k0.clone(), r0.clone());
                    if which == 0 {
                        kp[i][j] += eps;
                        km[i][j] -= eps;
                    } else {
                        rp[i][j] += eps;
                        rm[i][j] -= eps;
                    }
                    let fd = (loss64(&kp, &rp) - loss64(&km, &rm)) / (2.0 * eps);
                    want[i][j] = f64::from(mult[i][j]) * fd;
                }
            }
            let scale = want.iter().flatten().fold(0f64, |a, v| a.max(v.abs()));
            assert!(scale > 1e-4, "{cell:?} {which}: gradient {scale}");
            let (mut err, mut moved) = (0f64, 0f64);
            for ((g, w), q) in got
                .iter()
                .flatten()
                .zip(want.iter().flatten())
                .zip(plain.iter().flatten())
            {
                err = err.max((f64::from(*g) - w).abs());
                moved = moved.max((f64::from(*q) - w).abs());
            }
            assert!(
                err <= 1e-3 * scale,
                "{cell:?} {which}: error {err} of {scale}"
            );
            // The noise changed the gradient far beyond that tolerance.
            assert!(moved > 1e-2 * scale, "{cell:?} {which}: {moved} of {scale}");
        }
    }
}

#[test]
fn the_injected_noise_has_the_requested_relative_std_and_is_fresh_for_every_batch() {
    let model = Model::new(mf(), 100, 100, 2, 1, &Device::Cpu).unwrap();
    let p = model.params_detached();
    for sigma in [0.05, 0.2] {
        let mut noise = TrainingNoise::new(sigma, 9).unwrap();
        let first = noise.draw(&p).unwrap();
        let second = noise.draw(&p).unwrap();
        for m in first.iter().chain(&second) {
            let rel: Vec<f64> = flat(m).iter().map(|&v| f64::from(v) - 1.0).collect();
            let n = rel.len() as f64;
            let mean = rel.iter().sum::<f64>() / n;
            let sd = (rel.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
            // 10^4 draws: the sample sd is within about 0.7% of sigma, the mean within 0.01 sigma.
            assert!((sd / sigma - 1.0).abs() < 0.03, "sd {sd} for {sigma}");
            assert!(mean.abs() < 0.03 * sigma, "mean {mean}");
        }
        assert_ne!(flat(&first[1]), flat(&second[1]));
        // The same seed draws the same multipliers; the perturbation is w times them, element by element.
        let again = TrainingNoise::new(sigma, 9).unwrap().draw(&p).unwrap();
        assert_eq!(flat(&again[0]), flat(&first[0]));
        let q = perturbed(&p, &first).unwrap();
        let want: Vec<f32> = flat(&p.recurrent)
            .iter()
            .zip(flat(&first[1]))
            .map(|(w, m)| w * m)
            .collect();
        assert_eq!(flat(&q.recurrent), want);
        assert_eq!(flat(&q.bias), flat(&p.bias));
    }
    assert!(TrainingNoise::new(0.0, 9).is_none());
}

#[test]
fn training_with_injected_noise_is_seeded_and_evaluates_on_the_exact_weights() {
    let (train, val) = (data(48, 3), data(24, 4));
    let mut c = config(mf());
    c.max_epochs = 8;
    c.patience = 8;
    let plain = fit(&c, &train, &val);
    c.train_w_noise = 0.1;
    let a = fit(&c, &train, &val);
    let b = fit(&c, &train, &val);
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(a.weights().unwrap(), b.weights().unwrap());
    assert_ne!(losses(&a), losses(&plain), "the noise took no effect");
    // No device noise at prediction: the weights predicted with are the trained ones, every time.
    assert_eq!(a.weights().unwrap(), a.trained_weights().unwrap());
    assert_eq!(a.outputs(&val.0).unwrap(), a.outputs(&val.0).unwrap());
    // The validation losses early stopping watched were those of the exact weights: the restored best epoch's
    // recorded loss is what the exact weights give now.
    let (now, _) = a.evaluate(&val.0, &val.1).unwrap();
    let best = a.history()[a.best_epoch() - 1].val_loss;
    assert!((now - best).abs() < 1e-6, "{now} vs {best}");
    // And the outputs are those of the exact weights by an independent implementation.
    let want = by_hand(mf(), &a.trained_weights().unwrap(), &val.0, None);
    for (row, w) in a.outputs(&val.0).unwrap().rows().into_iter().zip(&want) {
        for (x, y) in row.iter().zip(w) {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }
    let mut bad = c.clone();
    for v in [-0.1, f64::NAN, f64::INFINITY] {
        bad.train_w_noise = v;
        let e = bad.check().unwrap_err().to_string();
        assert!(e.contains("train_w_noise"), "{e}");
    }
    assert!(
        describe(&c).contains("train_w_noise 0.1"),
        "{}",
        describe(&c)
    );
}

#[test]
fn without_a_validation_set_injected_noise_stops_on_the_exact_training_loss() {
    let train = data(48, 13);
    let mut c = config(mf());
    c.max_epochs = 12;
    c.patience = 3;
    c.train_w_noise = 0.2;
    let run = |c: &RnnConfig| {
        let mut events = Vec::new();
        let m = train_with(
            c,
            (&train.0, &train.1),
            None,
            &mut |e| events.push(e.clone()),
            &AtomicBool::new(false),
        )
        .unwrap();
        (m, events)
    };
    let (m, events) = run(&c);
    let exact: Vec<f64> = events.iter().map(|e| e.exact_train_loss.unwrap()).collect();
    // Improvement is strict on the exact loss, and the best epoch is its lowest.
    let mut low = f64::INFINITY;
    for (e, &l) in events.iter().zip(&exact) {
        assert_eq!(e.improved, l < low, "epoch {}", e.epoch);
        low = low.min(l);
    }
    let best = 1
        + (0..exact.len())
            .min_by(|&i, &j| exact[i].total_cmp(&exact[j]))
            .unwrap();
    assert_eq!(m.best_epoch(), best);
    // The restored weights give that epoch's exact loss on the training set.
    let (now, _) = m.evaluate(&train.0, &train.1).unwrap();
    assert!(
        (now - exact[best - 1]).abs() < 1e-6,
        "{now} vs {}",
        exact[best - 1]
    );
    assert!(events.iter().zip(&exact).any(|(e, &l)| e.train_loss != l));
    // Off, there is no exact loss and the history's serialised form is what it was.
    c.train_w_noise = 0.0;
    let (m0, _) = run(&c);
    assert!(m0.history().iter().all(|e| e.exact_train_loss.is_none()));
    let json = serde_json::to_string(&m0.history()[0]).unwrap();
    assert!(!json.contains("exact"), "{json}");
}

#[test]
fn deployment_noise_programs_the_trained_weights_once_from_the_seed() {
    let (train, val) = (data(48, 5), data(24, 6));
    let c = config(mf());
    let ideal = fit(&c, &train, &val);
    let mut noisy = c.clone();
    noisy.hardware.w_noise = 0.1;
    let dep = fit(&noisy, &train, &val);
    // Training never saw the devices.
    assert_eq!(losses(&dep), losses(&ideal));
    assert_eq!(dep.trained_weights().unwrap(), ideal.weights().unwrap());
    // The weights predicted with are the shared device model's programming of the trained ones, from the seed.
    let mut want = ideal.weights().unwrap();
    let devices = Hardware {
        w_noise: 0.1,
        ..Hardware::default()
    };
    devices.program_matrices(
        &mut [want.layer.w_in.view_mut(), want.layer.w_rec.view_mut()],
        c.seed,
    );
    let got = dep.weights().unwrap();
    assert_eq!(got, want);
    assert_ne!(got.layer.w_rec, ideal.weights().unwrap().layer.w_rec);
    // Predictions change, and are those of the programmed weights.
    let (out, out0) = (dep.outputs(&val.0).unwrap(), ideal.outputs(&val.0).unwrap());
    assert_ne!(out, out0);
    for (row, w) in out
        .rows()
        .into_iter()
        .zip(by_hand(mf(), &got, &val.0, None))
    {
        for (x, y) in row.iter().zip(&w) {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }
    // The same seed programs the same devices; another seed other ones.
    assert_eq!(fit(&noisy, &train, &val).outputs(&val.0).unwrap(), out);
    let other = fit(&noisy.clone().seed(4), &train, &val);
    let ratio = |m: &TrainedRnn| -> Vec<f32> {
        let (w, t) = (m.weights().unwrap(), m.trained_weights().unwrap());
        w.layer
            .w_rec
            .iter()
            .zip(&t.layer.w_rec)
            .map(|(a, b)| a / b)
            .collect()
    };
    assert_ne!(ratio(&other), ratio(&dep));
}

#[test]
fn k_bit_deployment_leaves_at_most_two_to_the_k_values_per_matrix() {
    let (train, val) = (data(48, 7), data(12, 8));
    for cell in [mf(), CellKind::Tanh] {
        let mut c = config(cell);
        c.hardware.w_bits = 3;
        c.hardware.readout_bits = 2;
        let m = fit(&c, &train, &val);
        let (w, t) = (m.weights().unwrap(), m.trained_weights().unwrap());
        assert!(
            distinct(&t.layer.w_rec) > 40,
            "the test needs many trained values"
        );
        for (q, a, bits) in [
            (&w.layer.w_in, &t.layer.w_in, 3),
            (&w.layer.w_rec, &t.layer.w_rec, 3),
            (&w.readout_weight, &t.readout_weight, 2),
        ] {
            assert!(distinct(q) <= 1 << bits, "{cell:?}: {} values", distinct(q));
            let (lo, hi) = a
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            let half = (hi - lo) / ((1u32 << bits) - 1) as f32 / 2.0;
            for (x, y) in q.iter().zip(a) {
                assert!((x - y).abs() <= half * 1.0001, "{x} vs {y}");
            }
        }
        assert_eq!(w.layer.bias, t.layer.bias);
        assert_eq!(w.readout_bias, t.readout_bias);
    }
}

#[test]
fn the_adc_quantises_the_state_the_readout_reads() {
    let (train, val) = (data(48, 9), data(30, 10));
    for cell in [mf(), CellKind::Tanh] {
        let mut c = config(cell);
        c.hardware.adc_bits = 2;
        let m = fit(&c, &train, &val);
        let w = m.weights().unwrap();
        assert_eq!(w, m.trained_weights().unwrap());
        let (lo, hi) = cell.state_range();
        let want = by_hand(cell, &w, &val.0, Some((2, lo as f32, hi as f32)));
        let exact = by_hand(cell, &w, &val.0, None);
        let out = m.outputs(&val.0).unwrap();
        let mut s = m.stream().unwrap();
        let mut changed = 0;
        for i in 0..val.0.n_series() {
            s.reset();
            for row in val.0.series(i).rows() {
                s.push(row.as_slice().unwrap()).unwrap();
            }
            // The batch and the stream both read the quantised state.
            for (x, y) in out
                .row(i)
                .iter()
                .chain(&s.outputs())
                .zip(want[i].iter().cycle())
            {
                assert!(
                    (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                    "{cell:?} {i}: {x} vs {y}"
                );
            }
            changed += usize::from(want[i] != exact[i]);
        }
        assert!(changed > 0, "{cell:?}: the ADC changed nothing");
    }
}

#[test]
fn a_saved_model_on_devices_predicts_the_same_numbers_bit_for_bit() {
    let (train, val) = (data(32, 11), data(12, 12));
    let mut c = config(mf());
    c.hardware = Hardware {
        w_bits: 5,
        w_noise: 0.05,
        stuck_zero: 0.02,
        stuck_max: 0.01,
        adc_bits: 6,
        readout_bits: 5,
        ..Hardware::default()
    };
    c.train_w_noise = 0.05;
    let m = fit(&c, &train, &val);
    let dir = tempfile::tempdir().unwrap();
    m.save(dir.path()).unwrap();
    let json = std::fs::read_to_string(dir.path().join("model.json")).unwrap();
    assert!(json.contains("\"hardware\"") && json.contains("\"train_w_noise\""));
    let back = TrainedRnn::load(dir.path()).unwrap();
    assert_eq!(back.config(), &c);
    assert_eq!(back.weights().unwrap(), m.weights().unwrap());
    assert_eq!(
        back.trained_weights().unwrap(),
        m.trained_weights().unwrap()
    );
    assert_ne!(m.weights().unwrap(), m.trained_weights().unwrap());
    assert_eq!(back.outputs(&val.0).unwrap(), m.outputs(&val.0).unwrap());
}

#[test]
fn frozen_sparse_kernels_refuse_per_device_non_idealities() {
    let mut c = config(mf());
    c.reservoir = Some(crate::ReservoirStart {
        connectivity: mf_core::sparse::Connectivity {
            density: 0.5,
            input_density: 1.0,
        },
        ..crate::ReservoirStart::default()
    });
    assert!(c.check().is_ok());
    c.hardware.w_noise = 0.1;
    assert!(
        c.check().is_ok(),
        "relative noise keeps absent devices at zero"
    );
    c.hardware.stuck_zero = 0.1;
    let e = c.check().unwrap_err().to_string();
    assert!(e.contains("density") && e.contains("stuck_zero"), "{e}");
    c.reservoir.as_mut().unwrap().frozen = false;
    assert!(c.check().is_ok());
}
