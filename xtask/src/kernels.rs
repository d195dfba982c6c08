//! `cargo xtask bench-kernels`: in-process speed of the numerical kernels behind the models, on inputs generated
//! from a seed. `cargo xtask bench` runs it from a release build of xtask, as a process of its own whose thread
//! count is pinned through the environment.
//!
//! Measured, each as the best wall time of several runs after an untimed warm-up:
//! - MF-ESN state harvesting of an ECG5000-sized batch (4500 series of 140 steps, 1 input, `N = 100`,
//!   `dt = 0.01`, `gamma = 0.95`, `s = 5`), on one thread (the library call) and split across the thread pool;
//! - leaky-ESN harvesting (`alpha = 0.3`) of 500 series of 140 steps, the same two ways;
//! - the cost of the hardware non-idealities: the MF-ESN harvest above with every one on (weights quantised,
//!   noisy and stuck, the MF neurons' device-to-device variability and cycle-to-cycle noise, states through the
//!   ADC) against the ideal harvest, both timed back to back in each of several rounds, as the median ratio;
//! - the f32 GEMM that bounds harvesting: faer's sequential `(4500, 100) @ (100, 100)`, and one large square
//!   product on every thread of the pool to show the machine's peak;
//! - one MF-RNN training epoch on ECG5000-sized synthetic data (500 series, 140 steps, 5 classes, batch 64);
//! - optionally, the whole ECG5000 MF-ESN job with the paper's preset (load and parse the text files, fit, score).
//!
//! Harvesting `n` series of `T` steps with `d` inputs and `N` units costs `2 n N N T + 2 n d N T` flops, so its rate
//! reads as a fraction of the GEMM rate.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use faer::{Accum, MatMut, MatRef, Par};
use mf_core::harvest::{harvest, harvest_with_devices, HarvestOptions};

/// Each measured harvest stays on its thread; the parallel measurements split the batch themselves.
const ONE_THREAD: HarvestOptions = HarvestOptions {
    keep_all: false,
    threads: 1,
};
use mf_core::init::{uniform_matrix, ReservoirInit};
use mf_core::rng::rng_from_seed;
use mf_core::{CellKind, MfCell, Sequences, Targets, Weights};
use mf_rnn::{train, RnnConfig};
use ndarray::{Array2, Array3};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// What [`run_bench`] measures and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchOptions {
    /// Timed runs per measurement, the fastest kept, after one untimed warm-up. Default 5 (3 at most for the
    /// slower whole-epoch and whole-job measurements).
    pub repeats: usize,
    /// Threads of the parallel measurements. Default 0: `RAYON_NUM_THREADS` when set, else every core.
    pub threads: usize,
    /// Seed of every generated input and weight. Default 1.
    pub seed: u64,
    /// Recurrent units `N`. Default 100 (paper Sec. VI).
    pub n_units: usize,
    /// Steps per series. Default 140 (ECG5000).
    pub n_steps: usize,
    /// Series of the MF-ESN harvest. Default 4500 (ECG5000's test split).
    pub mf_series: usize,
    /// Series of the leaky-ESN harvest. Default 500 (ECG5000's training split).
    pub esn_series: usize,
    /// Training series of the MF-RNN epoch; 0 skips it. Default 500 (ECG5000's training split).
    pub rnn_series: usize,
    /// Side of the large square GEMM. Default 2048.
    pub big_gemm: usize,
    /// Data directory holding ECG5000: when given, the whole MF-ESN job is timed too. Default none.
    pub ecg5000_dir: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            repeats: 5,
            threads: 0,
            seed: 1,
            n_units: 100,
            n_steps: 140,
            mf_series: 4500,
            esn_series: 500,
            rnn_series: 500,
            big_gemm: 2048,
            ecg5000_dir: None,
        }
    }
}

impl BenchOptions {
    /// Small sizes that run in well under a second, for the tests that check the plumbing.
    #[cfg(test)]
    pub fn quick() -> Self {
        Self {
            repeats: 1,
            n_units: 16,
            n_steps: 12,
            mf_series: 40,
            esn_series: 20,
            rnn_series: 20,
            big_gemm: 64,
            ..Self::default()
        }
    }

    /// The thread count the parallel measurements use.
    pub fn resolved_threads(&self) -> usize {
        if self.threads > 0 {
            return self.threads;
        }
        std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
    }
}

/// Wall times of one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Fastest run, seconds.
    pub best_s: f64,
    /// Median run, seconds.
    pub median_s: f64,
    /// Timed runs (each may be the mean of several calls when one call is shorter than a few milliseconds).
    pub runs: usize,
}

impl Timing {
    /// The fastest, the median and the count of `samples` (seconds, at least one).
    fn of(samples: &[f64]) -> Self {
        Timing {
            best_s: samples.iter().copied().fold(f64::INFINITY, f64::min),
            median_s: median(samples.to_vec()),
            runs: samples.len(),
        }
    }
}

/// Harvesting a batch of series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarvestBench {
    /// The cell, e.g. `mf dt=0.01 gamma=0.95 s=5`.
    pub cell: String,
    /// Series in the batch.
    pub n_series: usize,
    /// Steps per series.
    pub n_steps: usize,
    /// Inputs per step.
    pub n_inputs: usize,
    /// Recurrent units.
    pub n_units: usize,
    /// Threads: 1 for the library call, else the batch split into that many parts harvested in parallel.
    pub threads: usize,
    /// `2 n N N T + 2 n d N T`.
    pub flops: f64,
    /// Wall times.
    pub timing: Timing,
    /// `flops / best_s / 1e9`.
    pub gflop_s: f64,
}

/// One f32 matrix product `(m, k) @ (k, n)` with faer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GemmBench {
    /// Rows of the left factor.
    pub m: usize,
    /// Inner dimension.
    pub k: usize,
    /// Columns of the right factor.
    pub n: usize,
    /// Threads (1: faer's sequential kernel, as harvesting uses).
    pub threads: usize,
    /// Wall times.
    pub timing: Timing,
    /// `2 m k n / best_s / 1e9`.
    pub gflop_s: f64,
}

/// One MF-RNN training epoch (forward, BPTT, Adam over every mini-batch, then a 5-series validation pass), timed
/// as training reports it in its epoch event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochBench {
    /// Training series.
    pub n_series: usize,
    /// Steps per series.
    pub n_steps: usize,
    /// Recurrent units.
    pub n_units: usize,
    /// Classes of the softmax head.
    pub n_classes: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// The `RAYON_NUM_THREADS` candle's CPU kernels ran with.
    pub threads: usize,
    /// Wall times.
    pub timing: Timing,
    /// [`epoch_flops`] of the training pass.
    pub flops: f64,
    /// `flops / best_s / 1e9`.
    pub gflop_s: f64,
}

/// The flops of one training epoch's recurrence over `n` series of `t` steps, `d` inputs and `units` units:
/// the forward product `[x 1] W_xb + h W_h` and, in back-propagation through time, the gradients of `W_xb`,
/// `W_h` and the previous state, `6 n t N (N + d + 1)` (the readout, the loss and Adam are left out).
pub fn epoch_flops(n: usize, t: usize, d: usize, units: usize) -> f64 {
    6.0 * n as f64 * t as f64 * units as f64 * (units + d + 1) as f64
}

/// The whole ECG5000 MF-ESN job with the paper's preset, one trial: read and parse both splits, draw the
/// reservoir, harvest the training split, fit the ridge readout, harvest and score the test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobBench {
    /// The data directory read.
    pub data_dir: PathBuf,
    /// Training series.
    pub n_train: usize,
    /// Test series.
    pub n_test: usize,
    /// Test accuracy of the timed fit (a check that the work was done).
    pub accuracy: f64,
    /// Wall times.
    pub timing: Timing,
}

/// The MF-ESN harvest with every hardware non-ideality on against the ideal harvest, same data, sizes and
/// reservoir draw, one thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverheadBench {
    /// The non-idealities switched on.
    pub hardware: mf_esn::Hardware,
    /// Series harvested.
    pub n_series: usize,
    /// Steps per series.
    pub n_steps: usize,
    /// Recurrent units.
    pub n_units: usize,
    /// The ideal harvest.
    pub ideal: Timing,
    /// The harvest on the programmed weights and the non-ideal neurons, then the ADC on its states (the weights
    /// are programmed and the neurons' constants drawn once, before timing, as a fit does).
    pub all_on: Timing,
    /// Median over the rounds of `all_on / ideal`, both timed back to back in each round (in alternating
    /// order), so that load from other processes affects both alike.
    pub ratio: f64,
    /// The same median ratio in the calling thread's CPU time, which other processes' load does not inflate;
    /// none where the platform does not report it (it is read from Linux's `/proc/thread-self/schedstat`).
    pub cpu_ratio: Option<f64>,
}

/// Everything [`run_bench`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchReport {
    /// Threads of the parallel measurements.
    pub threads: usize,
    /// The instruction-set path the element-wise kernels dispatched to at run time (`Avx512`, `Avx2`, `Baseline`).
    pub simd: String,
    /// The options the report was produced with.
    pub options: BenchOptions,
    /// MF-ESN harvest, one thread (the library call).
    pub mf_harvest: HarvestBench,
    /// MF-ESN harvest, the batch split across `threads`.
    pub mf_harvest_parallel: HarvestBench,
    /// Leaky-ESN harvest, one thread.
    pub esn_harvest: HarvestBench,
    /// Leaky-ESN harvest, the batch split across `threads`.
    pub esn_harvest_parallel: HarvestBench,
    /// The MF-ESN harvest with every hardware non-ideality on against the ideal one.
    pub hardware_overhead: OverheadBench,
    /// faer's sequential GEMM at the shape of one harvest step over the whole MF batch.
    pub gemm: GemmBench,
    /// A large square GEMM on `threads` threads: the machine's peak.
    pub gemm_peak: GemmBench,
    /// `mf_harvest.gflop_s / gemm.gflop_s`: how close one-thread harvesting comes to its GEMM bound.
    pub mf_harvest_fraction_of_gemm: f64,
    /// `mf_harvest_parallel.gflop_s / gemm_peak.gflop_s`.
    pub mf_harvest_parallel_fraction_of_peak: f64,
    /// MF-RNN epoch with candle on `threads` threads; none when skipped.
    pub rnn_epoch: Option<EpochBench>,
    /// MF-RNN epoch with candle on one thread (for the scaling); none when skipped or when `threads` is 1.
    pub rnn_epoch_one_thread: Option<EpochBench>,
    /// The whole ECG5000 MF-ESN job; none without a data directory.
    pub ecg5000_job: Option<JobBench>,
}

/// Runs every measurement of `opts`. Takes seconds to a minute at the default sizes.
pub fn run_bench(opts: &BenchOptions) -> anyhow::Result<BenchReport> {
    if opts.repeats == 0 {
        bail!("repeats must be at least 1");
    }
    if opts.n_units == 0 || opts.n_steps == 0 || opts.mf_series == 0 || opts.esn_series == 0 {
        bail!("every size must be at least 1");
    }
    let threads = opts.resolved_threads();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("could not start the thread pool")?;

    // Harvesting and the GEMMs it is compared with take turns, one timed run each per round, so that their ratio
    // does not depend on when the machine was busier.
    let mf = CellKind::Mf(MfCell::new(0.01, 0.95, 5.0));
    let (w, seqs) = reservoir_problem(opts, opts.mf_series, 0)?;
    let n = opts.n_units;
    let g = opts.big_gemm.max(1);
    let (mut h1, mut hp, mut g1, mut gp) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..opts.repeats {
        h1.push(harvest_bench(&mf, &w, &seqs, 1, 1, &pool)?);
        g1.push(gemm_bench(opts.mf_series, n, n, 1, 1, opts.seed, &pool));
        hp.push(harvest_bench(&mf, &w, &seqs, threads, 1, &pool)?);
        gp.push(gemm_bench(g, g, g, threads, 1, opts.seed, &pool));
    }
    let mf_harvest = fastest(h1, |b| &mut b.timing);
    let mf_harvest_parallel = fastest(hp, |b| &mut b.timing);
    let gemm = fastest(g1, |b| &mut b.timing);
    let gemm_peak = fastest(gp, |b| &mut b.timing);
    let hardware_overhead = overhead_bench(&mf, &w, &seqs, opts)?;
    drop(seqs);

    let esn = CellKind::LeakyEsn { alpha: 0.3 };
    let (w, seqs) = reservoir_problem(opts, opts.esn_series, 1)?;
    let esn_harvest = harvest_bench(&esn, &w, &seqs, 1, opts.repeats, &pool)?;
    let esn_harvest_parallel = harvest_bench(&esn, &w, &seqs, threads, opts.repeats, &pool)?;
    drop(seqs);

    let (rnn_epoch, rnn_epoch_one_thread) = if opts.rnn_series == 0 {
        (None, None)
    } else {
        let at_threads = epoch_bench(opts, threads)?;
        let one = if threads > 1 {
            Some(epoch_bench(opts, 1)?)
        } else {
            None
        };
        (Some(at_threads), one)
    };

    let ecg5000_job = match &opts.ecg5000_dir {
        Some(dir) => Some(ecg5000_job(dir, opts)?),
        None => None,
    };

    Ok(BenchReport {
        threads,
        simd: format!("{:?}", mf_core::fastmath::Simd::detect()),
        options: opts.clone(),
        mf_harvest_fraction_of_gemm: mf_harvest.gflop_s / gemm.gflop_s,
        mf_harvest_parallel_fraction_of_peak: mf_harvest_parallel.gflop_s / gemm_peak.gflop_s,
        mf_harvest,
        mf_harvest_parallel,
        esn_harvest,
        esn_harvest_parallel,
        hardware_overhead,
        gemm,
        gemm_peak,
        rnn_epoch,
        rnn_epoch_one_thread,
        ecg5000_job,
    })
}

/// The measurement with the fastest run among `runs` (one timed run each), its timing's median and run count
/// taken over all of them.
fn fastest<T>(runs: Vec<T>, timing: impl Fn(&mut T) -> &mut Timing) -> T {
    let mut runs = runs;
    let mut best: Vec<f64> = runs.iter_mut().map(|r| timing(r).best_s).collect();
    let i = (0..best.len())
        .min_by(|&a, &b| best[a].total_cmp(&best[b]))
        .expect("at least one run");
    best.sort_by(f64::total_cmp);
    let mut out = runs.swap_remove(i);
    let t = timing(&mut out);
    t.median_s = best[best.len() / 2];
    t.runs = best.len();
    out
}

/// Times `f`: one untimed warm-up call, then `repeats` timed runs. When one call is shorter than
/// `MIN_SAMPLE_S`, each run averages enough calls to last that long, so the clock's resolution does not matter.
fn time_runs(repeats: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Timing> {
    const MIN_SAMPLE_S: f64 = 0.02;
    let t0 = Instant::now();
    f()?;
    let once = t0.elapsed().as_secs_f64();
    let calls = if once >= MIN_SAMPLE_S {
        1
    } else {
        ((MIN_SAMPLE_S / once.max(1e-9)).ceil() as usize).clamp(1, 100_000)
    };
    let mut samples = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        for _ in 0..calls {
            f()?;
        }
        samples.push(t.elapsed().as_secs_f64() / calls as f64);
    }
    Ok(Timing::of(&samples))
}

/// A reservoir drawn as MF-ESN and ESN draw theirs (`omega = 1`, `beta = 0.1`, `rho = 0.9`) and `n_series`
/// uniform single-input series, all from the seed's stream `stream`.
fn reservoir_problem(
    opts: &BenchOptions,
    n_series: usize,
    stream: u64,
) -> anyhow::Result<(Weights<f32>, Sequences)> {
    let mut rng = rng_from_seed(mf_core::rng::derive_seed(opts.seed, stream));
    let init = ReservoirInit {
        n_units: opts.n_units,
        scalings: mf_core::init::Scalings {
            omega: 1.0,
            beta: 0.1,
            rho: 0.9,
        },
        spectral: Default::default(),
    };
    let w = init.draw(1, &mut rng)?;
    let x = uniform_matrix(n_series * opts.n_steps, 1, 1.0, &mut rng).mapv(|v| v as f32);
    let x = Array3::from_shape_vec((n_series, opts.n_steps, 1), x.into_raw_vec_and_offset().0)
        .context("series shape")?;
    Ok((w, Sequences::full(x)))
}

fn cell_name(cell: &CellKind) -> String {
    match cell {
        CellKind::Mf(c) => format!("mf dt={} gamma={} s={}", c.dt, c.gamma, c.s),
        CellKind::LeakyEsn { alpha } => format!("leaky-esn alpha={alpha}"),
        CellKind::Tanh => "tanh".into(),
    }
}

/// Harvests `seqs` on one thread, or split into `threads` contiguous parts harvested in parallel on `pool`
/// (the parts are cut before timing; gathering the last states into one array is timed).
fn harvest_bench(
    cell: &CellKind,
    w: &Weights<f32>,
    seqs: &Sequences,
    threads: usize,
    repeats: usize,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<HarvestBench> {
    let (n, t, d) = seqs.x.dim();
    let units = w.n_units();
    let parts: Vec<Sequences> = if threads <= 1 {
        Vec::new()
    } else {
        let per = n.div_ceil(threads);
        (0..n)
            .collect::<Vec<_>>()
            .chunks(per)
            .map(|idx| seqs.select(idx))
            .collect()
    };
    let timing = time_runs(repeats, || {
        if threads <= 1 {
            std::hint::black_box(harvest(cell, w, seqs, ONE_THREAD)?);
            return Ok(());
        }
        let lasts = pool.install(|| {
            parts
                .par_iter()
                .map(|p| harvest(cell, w, p, ONE_THREAD).map(|h| h.last))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let views: Vec<_> = lasts.iter().map(|a| a.view()).collect();
        std::hint::black_box(ndarray::concatenate(ndarray::Axis(0), &views)?);
        Ok(())
    })?;
    let flops = (2 * n * units * units * t + 2 * n * d * units * t) as f64;
    Ok(HarvestBench {
        cell: cell_name(cell),
        n_series: n,
        n_steps: t,
        n_inputs: d,
        n_units: units,
        threads: threads.max(1),
        flops,
        gflop_s: flops / timing.best_s / 1e9,
        timing,
    })
}

/// Every non-ideality on, at levels of the robustness studies: 8-bit weights with 5% programming noise and 1% of
/// the devices stuck at each end, 8-bit ADC and readout, 5% device-to-device spread and 5% cycle-to-cycle noise of
/// the MF neurons.
pub const ALL_ON: mf_esn::Hardware = mf_esn::Hardware {
    w_bits: 8,
    w_noise: 0.05,
    stuck_zero: 0.01,
    stuck_max: 0.01,
    adc_bits: 8,
    readout_bits: 8,
    d2d_sigma: 0.05,
    c2c_sigma: 0.05,
};

/// The calling thread's CPU time in seconds, where Linux reports it.
fn thread_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 * 1e-9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// [`OverheadBench`]: `opts.repeats` rounds (at least 3), each timing the ideal harvest of `w` over `seqs` and
/// the harvest with [`ALL_ON`] back to back, after one untimed warm-up of each (which also sets how many calls a
/// timed sample averages).
fn overhead_bench(
    cell: &CellKind,
    w: &Weights<f32>,
    seqs: &Sequences,
    opts: &BenchOptions,
) -> anyhow::Result<OverheadBench> {
    let hw = ALL_ON;
    let seed = opts.seed;
    let mut programmed = w.clone();
    hw.program(&mut programmed, seed);
    let units = hw.unit_physics(cell, w.n_units(), seed);
    let devices = hw.devices(units.as_ref(), seed, mf_esn::hardware::Run::Predict);
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let ideal = || -> anyhow::Result<()> {
        std::hint::black_box(harvest(cell, w, seqs, ONE_THREAD)?);
        Ok(())
    };
    let all_on = || -> anyhow::Result<()> {
        let mut h = harvest_with_devices(cell, &programmed, seqs, ONE_THREAD, &devices, &cancel)?;
        hw.read_states(cell, h.last.view_mut());
        std::hint::black_box(h);
        Ok(())
    };
    // The kernel updates a thread's CPU time at scheduler ticks (a few milliseconds apart): each sample runs
    // enough calls to last `MIN_SAMPLE_S`, and reports the wall and CPU seconds per call.
    const MIN_SAMPLE_S: f64 = 0.05;
    let calls = |f: &dyn Fn() -> anyhow::Result<()>| -> anyhow::Result<usize> {
        let t = Instant::now();
        f()?;
        let once = t.elapsed().as_secs_f64();
        Ok(((MIN_SAMPLE_S / once.max(1e-9)).ceil() as usize).clamp(1, 100_000))
    };
    let timed =
        |f: &dyn Fn() -> anyhow::Result<()>, n: usize| -> anyhow::Result<(f64, Option<f64>)> {
            let (t, c) = (Instant::now(), thread_cpu_s());
            for _ in 0..n {
                f()?;
            }
            let cpu = c.and_then(|c| Some((thread_cpu_s()? - c) / n as f64));
            Ok((t.elapsed().as_secs_f64() / n as f64, cpu))
        };
    let (n_ideal, n_on) = (calls(&ideal)?, calls(&all_on)?);
    let rounds = opts.repeats.max(3);
    let (mut ideal_s, mut on_s, mut ratios, mut cpu_ratios) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let (i, o) = if round % 2 == 0 {
            let i = timed(&ideal, n_ideal)?;
            (i, timed(&all_on, n_on)?)
        } else {
            let o = timed(&all_on, n_on)?;
            (timed(&ideal, n_ideal)?, o)
        };
        ideal_s.push(i.0);
        on_s.push(o.0);
        ratios.push(o.0 / i.0);
        if let (Some(ci), Some(co)) = (i.1, o.1) {
            if ci > 0.0 {
                cpu_ratios.push(co / ci);
            }
        }
    }
    let (n, t, _) = seqs.x.dim();
    Ok(OverheadBench {
        hardware: hw,
        n_series: n,
        n_steps: t,
        n_units: w.n_units(),
        ideal: Timing::of(&ideal_s),
        all_on: Timing::of(&on_s),
        ratio: median(ratios),
        cpu_ratio: (cpu_ratios.len() == rounds).then(|| median(cpu_ratios)),
    })
}

/// `(m, k) @ (k, n)` in f32 with faer into a preallocated output: sequential for one thread, else with rayon
/// on `pool`.
fn gemm_bench(
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
    repeats: usize,
    seed: u64,
    pool: &rayon::ThreadPool,
) -> GemmBench {
    let mut rng = rng_from_seed(mf_core::rng::derive_seed(seed, 2));
    let a = uniform_matrix(m, k, 1.0, &mut rng).mapv(|v| v as f32);
    let b = uniform_matrix(k, n, 1.0, &mut rng).mapv(|v| v as f32);
    let mut c = Array2::<f32>::zeros((m, n));
    let par = if threads <= 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    };
    let (a, b) = (
        a.as_slice().expect("standard layout"),
        b.as_slice().expect("standard layout"),
    );
    let c = c.as_slice_mut().expect("standard layout");
    let timing = time_runs(repeats, || {
        pool.install(|| {
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut *c, m, n),
                Accum::Replace,
                MatRef::from_row_major_slice(a, m, k),
                MatRef::from_row_major_slice(b, k, n),
                1.0f32,
                par,
            )
        });
        std::hint::black_box(&*c);
        Ok(())
    })
    .expect("a matrix product cannot fail");
    GemmBench {
        m,
        k,
        n,
        threads: threads.max(1),
        gflop_s: (2 * m * k * n) as f64 / timing.best_s / 1e9,
        timing,
    }
}

/// Sets an environment variable until dropped, then restores its previous value. candle's CPU kernels read
/// `RAYON_NUM_THREADS` on every matrix product, so this is how a measurement pins their thread count.
struct EnvGuard {
    key: &'static str,
    old: Option<OsString>,
}

impl EnvGuard {
    fn set(key: &'static str, value: &str) -> Self {
        let old = std::env::var_os(key);
        std::env::set_var(key, value);
        Self { key, old }
    }
}

impl Drop for EnvGuard {
    fn drop(&mut self) {
        match &self.old {
            Some(v) => std::env::set_var(self.key, v),
            None => std::env::remove_var(self.key),
        }
    }
}

/// `n` series of `t` steps: `sin(0.3 (i mod 5) + 0.05 t)`, labelled `i mod 5` (the problem of mf-rnn's epoch
/// benchmark, reproducible in any language).
fn rnn_problem(n: usize, t: usize) -> (Sequences, Targets) {
    let x = Array3::from_shape_fn((n, t, 1), |(i, s, _)| {
        ((i % 5) as f32 * 0.3 + s as f32 * 0.05).sin()
    });
    (
        Sequences::full(x),
        Targets::Classes {
            labels: (0..n).map(|i| i % 5).collect(),
            n_classes: 5,
        },
    )
}

/// One MF-RNN epoch (`dt = 0.1`, `gamma = 0.95`, `s = 1`, learning rate 0.001) with candle on `threads` threads.
fn epoch_bench(opts: &BenchOptions, threads: usize) -> anyhow::Result<EpochBench> {
    let (x, y) = rnn_problem(opts.rnn_series, opts.n_steps);
    // A handful of validation series keeps the measured time that of the training pass.
    let (vx, vy) = rnn_problem(5, opts.n_steps);
    let mut config = RnnConfig::new(CellKind::Mf(MfCell::new(0.1, 0.95, 1.0)))
        .n_units(opts.n_units)
        .seed(opts.seed)
        .max_epochs(1);
    config.patience = usize::MAX;
    let _env = EnvGuard::set("RAYON_NUM_THREADS", &threads.to_string());
    // The time is the epoch's as training reports it (the mini-batches and the validation pass, what the peers'
    // epochs do), not `train`'s whole call, which also draws the model and, once training has ended, runs the
    // whole training set forward again for its divergence check.
    let epoch_s = || -> anyhow::Result<f64> {
        let mut elapsed = None;
        std::hint::black_box(train(&config, (&x, &y), (&vx, &vy), &mut |e| {
            elapsed = Some(e.elapsed)
        })?);
        Ok(elapsed.context("training reported no epoch")?.as_secs_f64())
    };
    epoch_s()?;
    let runs = (0..opts.repeats.min(3))
        .map(|_| epoch_s())
        .collect::<anyhow::Result<Vec<f64>>>()?;
    let timing = Timing::of(&runs);
    let flops = epoch_flops(opts.rnn_series, opts.n_steps, 1, opts.n_units);
    Ok(EpochBench {
        n_series: opts.rnn_series,
        n_steps: opts.n_steps,
        n_units: opts.n_units,
        n_classes: 5,
        batch_size: config.batch_size,
        threads,
        gflop_s: flops / timing.best_s / 1e9,
        flops,
        timing,
    })
}

/// The whole ECG5000 MF-ESN job with the paper's preset and one trial.
fn ecg5000_job(dir: &Path, opts: &BenchOptions) -> anyhow::Result<JobBench> {
    let config = mf_esn::presets::mf_esn("ECG5000").context("no MF-ESN preset for ECG5000")?;
    let params = config.into_params()?;
    let mut last = None;
    let timing = time_runs(opts.repeats.min(3), || {
        let ds = mf_data::load_dataset(dir, "ECG5000")
            .with_context(|| format!("could not load ECG5000 from {}", dir.display()))?;
        let test = ds.test.as_ref().context("ECG5000 has no test split")?;
        let to_problem = |split: &mf_data::Split| -> anyhow::Result<(Sequences, Targets)> {
            let (x, lengths) = split.to_ndarray();
            let labels = ds
                .encoded_labels(split)
                .context("ECG5000 labels are not classes")?;
            Ok((
                Sequences::new(x, lengths)?,
                Targets::Classes {
                    labels,
                    n_classes: ds.n_classes(),
                },
            ))
        };
        let (train_x, train_y) = to_problem(&ds.train)?;
        let (test_x, test_y) = to_problem(test)?;
        let fitted = params.fit(&train_x, &train_y, opts.seed)?;
        let accuracy = fitted.score(&test_x, &test_y)?;
        last = Some((train_x.n_series(), test_x.n_series(), accuracy));
        Ok(())
    })?;
    let (n_train, n_test, accuracy) = last.expect("timed at least once");
    Ok(JobBench {
        data_dir: dir.to_path_buf(),
        n_train,
        n_test,
        accuracy,
        timing,
    })
}

impl fmt::Display for BenchReport {
    /// A plain-text summary, one measurement per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |t: &Timing| t.best_s * 1e3;
        writeln!(
            f,
            "best of {} runs, {} threads for the parallel lines, the {} path",
            self.options.repeats, self.threads, self.simd
        )?;
        for h in [
            &self.mf_harvest,
            &self.mf_harvest_parallel,
            &self.esn_harvest,
            &self.esn_harvest_parallel,
        ] {
            writeln!(
                f,
                "harvest {:<26} {:>5} x {:>3} x {}, N {:>3}, {} thr: {:>9.2} ms {:>7.1} GFLOP/s",
                h.cell,
                h.n_series,
                h.n_steps,
                h.n_inputs,
                h.n_units,
                h.threads,
                ms(&h.timing),
                h.gflop_s
            )?;
        }
        for g in [&self.gemm, &self.gemm_peak] {
            writeln!(
                f,
                "gemm f32 faer {:>5} x {:>5} x {:>5}, {} thr: {:>9.3} ms {:>7.1} GFLOP/s",
                g.m,
                g.k,
                g.n,
                g.threads,
                ms(&g.timing),
                g.gflop_s
            )?;
        }
        let o = &self.hardware_overhead;
        writeln!(
            f,
            "hardware non-idealities: mf harvest {} x {}, N {}, 1 thr, every one on / ideal: {:.2}x wall{} \
             ({:.2} vs {:.2} ms, median of {} rounds)",
            o.n_series,
            o.n_steps,
            o.n_units,
            o.ratio,
            o.cpu_ratio
                .map_or(String::new(), |r| format!(", {r:.2}x thread CPU time")),
            o.all_on.median_s * 1e3,
            o.ideal.median_s * 1e3,
            o.ideal.runs
        )?;
        writeln!(
            f,
            "harvest rate / GEMM rate: {:.0}% on one thread, {:.0}% of the peak on {} threads",
            100.0 * self.mf_harvest_fraction_of_gemm,
            100.0 * self.mf_harvest_parallel_fraction_of_peak,
            self.threads
        )?;
        for e in [&self.rnn_epoch, &self.rnn_epoch_one_thread]
            .into_iter()
            .flatten()
        {
            writeln!(
                f,
                "mf-rnn epoch {} x {}, N {}, batch {}, {} thr: {:>9.1} ms    {:.1} GFLOP/s",
                e.n_series,
                e.n_steps,
                e.n_units,
                e.batch_size,
                e.threads,
                ms(&e.timing),
                e.gflop_s
            )?;
        }
        if let Some(j) = &self.ecg5000_job {
            writeln!(
                f,
                "ECG5000 MF-ESN job ({} train, {} test, accuracy {:.3}): {:.1} ms",
                j.n_train,
                j.n_test,
                j.accuracy,
                ms(&j.timing)
            )?;
        }
        Ok(())
    }
}

/// `cargo xtask bench-kernels`: time the numerical kernels in-process.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct KernelsArgs {
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Timed runs per measurement (the fastest is reported), after one untimed warm-up.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Threads of the parallel measurements; 0 uses RAYON_NUM_THREADS when set, else every core.
    #[arg(long, short = 'j', default_value_t = 0)]
    pub threads: usize,
    /// Seed of the generated inputs and weights.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip the MF-RNN training epoch.
    #[arg(long)]
    pub skip_rnn: bool,
    /// Skip the whole ECG5000 MF-ESN job (timed only when the data directory holds ECG5000).
    #[arg(long)]
    pub skip_job: bool,
    /// Data directory for the whole ECG5000 job. Default: as `mf` finds it (MF_DATA_DIR, then the user cache
    /// directory).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Runs the measurements and prints their report (text, or JSON with `--json`) to stdout. The whole ECG5000
/// MF-ESN job is timed when the data directory holds ECG5000 and `--skip-job` is not given.
pub fn bench_kernels(args: &KernelsArgs) -> anyhow::Result<()> {
    let data_dir = mf_data::resolve_data_dir(args.data_dir.as_deref());
    let data_dir = data_dir.as_path();
    let has_ecg5000 = mf_data::find_split_file(data_dir, "ECG5000", "TRAIN").is_some()
        && mf_data::find_split_file(data_dir, "ECG5000", "TEST").is_some();
    let opts = BenchOptions {
        repeats: args.repeats,
        threads: args.threads,
        seed: args.seed,
        rnn_series: if args.skip_rnn {
            0
        } else {
            BenchOptions::default().rnn_series
        },
        ecg5000_dir: (has_ecg5000 && !args.skip_job).then(|| data_dir.to_path_buf()),
        ..BenchOptions::default()
    };
    let report = run_bench(&opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_bench_measures_everything_and_round_trips_through_json() {
        let opts = BenchOptions {
            threads: 2,
            ..BenchOptions::quick()
        };
        let r = run_bench(&opts).unwrap();
        assert_eq!(r.threads, 2);
        assert_eq!(r.mf_harvest_parallel.threads, 2);
        for h in [&r.mf_harvest, &r.mf_harvest_parallel] {
            assert_eq!((h.n_series, h.n_steps, h.n_units), (40, 12, 16));
            // 2 n N N T + 2 n d N T
            assert_eq!(h.flops, (2 * 40 * 16 * 16 * 12 + 2 * 40 * 16 * 12) as f64);
        }
        for t in [r.mf_harvest.timing, r.gemm.timing, r.gemm_peak.timing] {
            assert!(t.best_s > 0.0 && t.best_s <= t.median_s, "{t:?}");
        }
        assert!(r.mf_harvest_fraction_of_gemm > 0.0);
        // The overhead is timed on the MF harvest's own data, with every non-ideality on.
        let o = &r.hardware_overhead;
        assert_eq!((o.n_series, o.n_steps, o.n_units), (40, 12, 16));
        assert_eq!(o.hardware, ALL_ON);
        assert_eq!(o.ideal.runs, 3);
        assert!(o.ratio > 0.0 && o.ratio.is_finite(), "{o:?}");
        if cfg!(target_os = "linux") {
            assert!(
                o.cpu_ratio.is_some_and(|c| c > 0.0 && c.is_finite()),
                "{o:?}"
            );
        }
        assert!(r.to_string().contains("every one on / ideal"));
        assert!(r.rnn_epoch.is_some() && r.rnn_epoch_one_thread.is_some());
        assert!(r.ecg5000_job.is_none());
        let back: BenchReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        // serde_json parses floats to within one unit in the last place, so compare what is exact exactly.
        assert_eq!(back.options, r.options);
        assert_eq!(back.mf_harvest.flops, r.mf_harvest.flops);
        assert_eq!(back.hardware_overhead.hardware, ALL_ON);
        assert!((back.gemm.gflop_s / r.gemm.gflop_s - 1.0).abs() < 1e-12);
        assert!(r.to_string().contains("GFLOP/s"));
    }

    #[test]
    fn bad_options_are_rejected() {
        let opts = BenchOptions {
            repeats: 0,
            ..BenchOptions::quick()
        };
        assert!(run_bench(&opts).is_err());
    }

    #[test]
    fn the_environment_is_restored_after_a_pinned_measurement() {
        let key = "MF_BENCH_TEST_ENV_GUARD";
        {
            let _g = EnvGuard::set(key, "3");
            assert_eq!(std::env::var(key).unwrap(), "3");
        }
        assert!(std::env::var_os(key).is_none());
    }
}
