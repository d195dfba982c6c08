//! One training epoch of the MF-RNN on an ECG5000-sized problem (500 series of 140 steps, 1 input, 5 classes,
//! N = 100, batch 64), and one MF time step (forward + backward) fused against unfused.
//!
//! Run with `cargo bench -p mf-rnn --bench epoch`; the epoch uses candle's thread count, so set
//! `RAYON_NUM_THREADS` to compare thread counts (see the crate docs on threads).

use candle_core::{Device, Tensor, Var};
use criterion::{criterion_group, criterion_main, Criterion};
use mf_core::{MfCell, Sequences, Targets};
use mf_rnn::{cell, train, CellKind, RnnConfig};
use ndarray::Array3;

fn problem(n: usize) -> (Sequences, Targets) {
    let x = Array3::from_shape_fn((n, 140, 1), |(i, t, _)| {
        ((i % 5) as f32 * 0.3 + t as f32 * 0.05).sin()
    });
    let labels = (0..n).map(|i| i % 5).collect();
    (
        Sequences::full(x),
        Targets::Classes {
            labels,
            n_classes: 5,
        },
    )
}

fn epoch(c: &mut Criterion) {
    let (x, y) = problem(500);
    // A single validation series keeps the measured time that of the training pass.
    let (vx, vy) = problem(5);
    let config = RnnConfig::new(CellKind::Mf(MfCell::new(0.1, 0.95, 1.0))).max_epochs(1);
    let mut g = c.benchmark_group("epoch");
    g.sample_size(10);
    g.bench_function("mf_rnn_ecg5000_sized", |b| {
        b.iter(|| train(&config, (&x, &y), (&vx, &vy), &mut |_| {}).unwrap())
    });
    let tanh = RnnConfig {
        cell: CellKind::Tanh,
        ..config.clone()
    };
    g.bench_function("rnn_ecg5000_sized", |b| {
        b.iter(|| train(&tanh, (&x, &y), (&vx, &vy), &mut |_| {}).unwrap())
    });
    g.finish();
}

fn step(c: &mut Criterion) {
    let dev = Device::Cpu;
    let mf = MfCell::new(0.1, 0.95, 1.0);
    let pre = Var::from_tensor(&Tensor::randn(0f32, 1.0, (64, 100), &dev).unwrap()).unwrap();
    let h = Tensor::randn(0f32, 0.3, (64, 100), &dev).unwrap();
    let mut g = c.benchmark_group("mf_step_64x100_fwd_bwd");
    g.bench_function("fused", |b| {
        b.iter(|| {
            cell::mf_step(&mf, pre.as_tensor(), &h)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap()
        })
    });
    g.bench_function("unfused", |b| {
        b.iter(|| {
            cell::mf_step_unfused(&mf, pre.as_tensor(), &h)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, epoch, step);
criterion_main!(benches);
