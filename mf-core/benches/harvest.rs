//! Harvesting speed against the GEMM rate it is bound by.
//!
//! Harvesting `n` series of `T` steps with `N` units costs `2 n N N T` flops in the recurrent products plus
//! `2 n d N T` in the input products. Every benchmark reports its throughput in flops (criterion's "elem/s"), so
//! harvesting's rate reads directly as a fraction of the rate of one large f32 product with the same GEMM
//! (faer, sequential); ndarray's `general_mat_mul` is measured beside it. A summary line with the fraction is
//! printed at the end.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use faer::{Accum, MatMut, MatRef, Par};
use mf_core::harvest::{harvest, HarvestOptions};
use mf_core::init::{uniform_matrix, ReservoirInit};
use mf_core::rng::rng_from_seed;
use mf_core::{CellKind, MfCell, Sequences, Weights};
use ndarray::{Array2, Array3};

const N: usize = 100;
const T: usize = 140;

fn setup(n_series: usize) -> (CellKind, Weights<f32>, Sequences) {
    let mut rng = rng_from_seed(1);
    let init = ReservoirInit {
        n_units: N,
        scalings: mf_core::init::Scalings {
            omega: 1.0,
            beta: 0.1,
            rho: 0.9,
        },
        spectral: Default::default(),
    };
    let w = init.draw(1, &mut rng).unwrap();
    let x = uniform_matrix(n_series * T, 1, 1.0, &mut rng).mapv(|v| v as f32);
    let x = Array3::from_shape_vec((n_series, T, 1), x.into_raw_vec_and_offset().0).unwrap();
    (
        CellKind::Mf(MfCell::new(0.01, 0.95, 5.0)),
        w,
        Sequences::full(x),
    )
}

fn harvest_flops(n_series: usize) -> u64 {
    (2 * n_series * N * N * T + 2 * n_series * N * T) as u64
}

fn gemm_faer(a: &[f32], b: &[f32], c: &mut [f32], m: usize) {
    faer::linalg::matmul::matmul(
        MatMut::from_row_major_slice_mut(c, m, N),
        Accum::Replace,
        MatRef::from_row_major_slice(a, m, N),
        MatRef::from_row_major_slice(b, N, N),
        1.0f32,
        Par::Seq,
    );
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm");
    for m in [4500usize, 256] {
        let mut rng = rng_from_seed(2);
        let a = uniform_matrix(m, N, 1.0, &mut rng).mapv(|v| v as f32);
        let b = uniform_matrix(N, N, 1.0, &mut rng).mapv(|v| v as f32);
        let mut out = Array2::<f32>::zeros((m, N));
        g.throughput(Throughput::Elements((2 * m * N * N) as u64));
        g.bench_function(format!("faer_seq_{m}x{N}x{N}"), |bench| {
            bench.iter(|| {
                gemm_faer(
                    a.as_slice().unwrap(),
                    b.as_slice().unwrap(),
                    out.as_slice_mut().unwrap(),
                    m,
                )
            })
        });
        g.bench_function(format!("ndarray_{m}x{N}x{N}"), |bench| {
            bench.iter(|| ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut out))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("harvest");
    g.sample_size(10);
    for n_series in [4500usize, 500] {
        let (cell, w, seqs) = setup(n_series);
        g.throughput(Throughput::Elements(harvest_flops(n_series)));
        g.bench_function(format!("mf_{n_series}x{T}"), |bench| {
            bench.iter(|| harvest(&cell, &w, black_box(&seqs), HarvestOptions::default()).unwrap())
        });
    }
    g.finish();

    summary();
}

/// Median of a few timed runs, in seconds.
fn time(mut f: impl FnMut(), reps: usize) -> f64 {
    let mut v: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[reps / 2]
}

fn summary() {
    let m = 4500;
    let mut rng = rng_from_seed(2);
    let a = uniform_matrix(m, N, 1.0, &mut rng).mapv(|v| v as f32);
    let b = uniform_matrix(N, N, 1.0, &mut rng).mapv(|v| v as f32);
    let mut out = Array2::<f32>::zeros((m, N));
    let t_gemm = time(
        || {
            gemm_faer(
                a.as_slice().unwrap(),
                b.as_slice().unwrap(),
                out.as_slice_mut().unwrap(),
                m,
            )
        },
        201,
    );
    let gemm_rate = (2 * m * N * N) as f64 / t_gemm;
    let (cell, w, seqs) = setup(4500);
    let t_h = time(
        || drop(harvest(&cell, &w, &seqs, HarvestOptions::default()).unwrap()),
        7,
    );
    let h_rate = harvest_flops(4500) as f64 / t_h;
    println!(
        "summary: gemm 4500x100x100 faer seq {:.1} GFLOP/s; harvest 4500x140 {:.1} ms = {:.1} GFLOP/s = {:.0}% of gemm",
        gemm_rate / 1e9,
        t_h * 1e3,
        h_rate / 1e9,
        100.0 * h_rate / gemm_rate
    );
}

criterion_group!(group, benches);
criterion_main!(group);
