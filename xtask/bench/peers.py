#!/usr/bin/env python3
"""Python peers of `mf bench`, timed the same way (best wall time of several runs after an untimed warm-up).

- numpy: the MF-ESN harvest of 4500 series x 140 steps x 1 input, N = 100, as a vectorised batch (each step is one
  matrix product, then element-wise work), with the equations of the MF cell (SPEC section 1);
- numpy: the whole ECG5000 MF-ESN job with the paper's preset when the data directory holds ECG5000 (parse both
  .tsv files, harvest both splits, ridge readout with lambda = 1, an unpenalised intercept and +1/-1 targets, score);
- numpy: f32 GEMM at the shape of one harvest step and at a large square shape;
- reservoirpy 0.4: leaky-ESN harvest (dense reservoir, N = 100, leaking rate 0.3) of 500 series x 140 steps, each
  series run from a zero state as reservoirpy runs a batch of series, the state at its last step kept;
- PyTorch (CPU): one MF-RNN training epoch on ECG5000-sized synthetic data (500 series x 140 steps, 5 classes,
  batch 64, N = 100, Adam), the cell written as a Python loop over time steps under autograd.

Prints one JSON object on stdout; progress goes to stderr. Thread counts of every library are pinned with --threads
before any of them is imported.
"""

import argparse
import json
import os
import platform
import sys
import time

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "RAYON_NUM_THREADS",
)

# Paper Table II and the rescale bounds (SPEC section 1).
KP0, KD0, ETA_P, ETA_D, A, B = 1e-4, 0.5, 10.0, 1.0, 0.35, 1.15


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="threads of every library (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per measurement, fastest kept (default 5)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated inputs (default 1)")
    p.add_argument("--data-dir", help="directory holding ECG5000/ECG5000_{TRAIN,TEST}.tsv; the job is skipped without")
    p.add_argument("--skip-torch", metavar="REASON", help="skip the PyTorch epoch, recording REASON")
    p.add_argument("--skip-reservoirpy", metavar="REASON", help="skip the reservoirpy harvest, recording REASON")
    p.add_argument("--units", type=int, default=100)
    p.add_argument("--steps", type=int, default=140)
    p.add_argument("--mf-series", type=int, default=4500)
    p.add_argument("--esn-series", type=int, default=500)
    p.add_argument("--rnn-series", type=int, default=500)
    p.add_argument("--big-gemm", type=int, default=2048)
    return p.parse_args()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def time_runs(repeats, f, min_sample_s=0.02):
    """One untimed warm-up call, then `repeats` timed runs; short calls are averaged over enough calls per run."""
    t0 = time.perf_counter()
    f()
    once = time.perf_counter() - t0
    calls = 1 if once >= min_sample_s else min(100_000, max(1, int(min_sample_s / max(once, 1e-9)) + 1))
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            f()
        samples.append((time.perf_counter() - t) / calls)
    samples.sort()
    return {"best_s": samples[0], "median_s": samples[len(samples) // 2], "runs": repeats}


def mf_harvest(np, x, w_in, w_rec, bias, dt, gamma, s):
    """Last MF states of equal-length series x (n, T, d), in the dtype of the weights: per step one matrix product
    for the whole batch, then the element-wise update, in place."""
    n, steps, _ = x.shape
    dtype = w_rec.dtype
    c = lambda v: dtype.type(v)  # noqa: E731 keeps every constant in the working precision
    h = np.zeros((n, w_rec.shape[0]), dtype)
    pre = np.empty_like(h)
    z = np.empty_like(h)
    kp = np.empty_like(h)
    kd = np.empty_like(h)
    for t in range(steps):
        np.matmul(h, w_rec, out=pre)
        pre += x[:, t, :] @ w_in
        pre += bias
        # z = (b - a) / (1 + exp(-s pre)) + a
        np.multiply(pre, c(-s), out=z)
        np.exp(z, out=z)
        z += c(1.0)
        np.divide(c(B - A), z, out=z)
        z += c(A)
        # Kp = Kp0 exp(eta_p z), Kd = Kd0 exp(-eta_d z)
        np.multiply(z, c(ETA_P), out=kp)
        np.exp(kp, out=kp)
        kp *= c(KP0)
        np.multiply(z, c(-ETA_D), out=kd)
        np.exp(kd, out=kd)
        kd *= c(KD0)
        # h = gamma h + dt (Kp - (Kp + Kd) h)
        kd += kp
        kd *= h
        kp -= kd
        kp *= c(dt)
        h *= c(gamma)
        h += kp
    return h


def draw_reservoir(np, rng, n_inputs, units, rho, omega, beta, dtype):
    """Dense reservoir as the reference draws it: W_h ~ U(-v, v), v = rho sqrt(3) / sqrt(N) (circular law)."""
    v = rho * np.sqrt(3.0) / np.sqrt(units)
    w_in = rng.uniform(-omega, omega, (n_inputs, units)).astype(dtype)
    w_rec = rng.uniform(-v, v, (units, units)).astype(dtype)
    bias = (rng.uniform(-beta, beta, units) if beta > 0 else np.zeros(units)).astype(dtype)
    return w_in, w_rec, bias


def harvest_flops(n, steps, d, units):
    return 2 * n * units * units * steps + 2 * n * d * units * steps


def bench_mf_harvest(np, args):
    rng = np.random.default_rng(args.seed)
    w_in, w_rec, bias = draw_reservoir(np, rng, 1, args.units, 0.9, 1.0, 0.1, np.float32)
    x = rng.uniform(-1.0, 1.0, (args.mf_series, args.steps, 1)).astype(np.float32)
    timing = time_runs(args.repeats, lambda: mf_harvest(np, x, w_in, w_rec, bias, 0.01, 0.95, 5.0))
    flops = harvest_flops(args.mf_series, args.steps, 1, args.units)
    return {
        "cell": "mf dt=0.01 gamma=0.95 s=5",
        "dtype": "float32",
        "n_series": args.mf_series,
        "n_steps": args.steps,
        "n_units": args.units,
        "flops": flops,
        "timing": timing,
        "gflop_s": flops / timing["best_s"] / 1e9,
    }


def bench_gemm(np, m, k, n, repeats, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    out = np.empty((m, n), np.float32)
    timing = time_runs(repeats, lambda: np.matmul(a, b, out=out))
    return {"m": m, "k": k, "n": n, "timing": timing, "gflop_s": 2 * m * k * n / timing["best_s"] / 1e9}


def ridge_classifier(np, x, labels, classes, lam):
    """scikit-learn's RidgeClassifier semantics: +1/-1 targets (one column for two classes), centred X and Y so the
    intercept is not penalised, solved as a least-squares problem on [X; sqrt(lam) I] for numerical soundness."""
    y = np.where(labels[:, None] == classes[None, :], 1.0, -1.0)
    if len(classes) == 2:
        y = y[:, 1:]
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - xm, y - ym
    p = x.shape[1]
    aug_x = np.vstack([xc, np.sqrt(lam) * np.eye(p)])
    aug_y = np.vstack([yc, np.zeros((p, y.shape[1]))])
    w = np.linalg.lstsq(aug_x, aug_y, rcond=None)[0]
    return w, ym - xm @ w


def predict_classes(np, x, w, c, classes):
    scores = x @ w + c
    if len(classes) == 2:
        return classes[(scores[:, 0] > 0).astype(int)]
    return classes[np.argmax(scores, axis=1)]


def ecg5000_job(np, data_dir, seed):
    """Paper preset for ECG5000 (Table V): omega 1, beta 0, rho 0.9, gamma 1, s 5, dt 0.01; one trial."""
    base = os.path.join(data_dir, "ECG5000")
    train = np.loadtxt(os.path.join(base, "ECG5000_TRAIN.tsv"), delimiter="\t")
    test = np.loadtxt(os.path.join(base, "ECG5000_TEST.tsv"), delimiter="\t")
    y_train, y_test = train[:, 0], test[:, 0]
    x_train = train[:, 1:, None].astype(np.float32)
    x_test = test[:, 1:, None].astype(np.float32)
    classes = np.unique(np.concatenate([y_train, y_test]))
    rng = np.random.default_rng(seed)
    w_in, w_rec, bias = draw_reservoir(np, rng, 1, 100, 0.9, 1.0, 0.0, np.float32)
    h_train = mf_harvest(np, x_train, w_in, w_rec, bias, 0.01, 1.0, 5.0).astype(np.float64)
    w, c = ridge_classifier(np, h_train, y_train, classes, 1.0)
    h_test = mf_harvest(np, x_test, w_in, w_rec, bias, 0.01, 1.0, 5.0).astype(np.float64)
    accuracy = float(np.mean(predict_classes(np, h_test, w, c, classes) == y_test))
    return len(y_train), len(y_test), accuracy


def bench_ecg5000_job(np, args):
    base = os.path.join(args.data_dir, "ECG5000")
    if not all(os.path.isfile(os.path.join(base, f"ECG5000_{s}.tsv")) for s in ("TRAIN", "TEST")):
        return {"skipped": f"no ECG5000 .tsv files under {base}"}
    result = {}

    def run():
        result["sizes"] = ecg5000_job(np, args.data_dir, args.seed)

    timing = time_runs(min(args.repeats, 3), run)
    n_train, n_test, accuracy = result["sizes"]
    return {"n_train": n_train, "n_test": n_test, "accuracy": accuracy, "timing": timing}


def bench_reservoirpy(np, args):
    try:
        import reservoirpy
        from reservoirpy.nodes import Reservoir
    except ImportError as e:
        return {"skipped": f"reservoirpy is not installed: {e}"}
    rng = np.random.default_rng(args.seed + 1)
    # reservoirpy's layout is column form: W (N, N), Win (N, d), bias (N,).
    w_in, w_rec, bias = draw_reservoir(np, rng, 1, args.units, 0.9, 1.0, 0.1, np.float64)
    x = rng.uniform(-1.0, 1.0, (args.esn_series, args.steps, 1))

    def run(workers):
        res = Reservoir(W=w_rec.T.copy(), Win=w_in.T.copy(), bias=bias.copy(), lr=0.3)
        states = res.run(x, workers=workers)
        return np.asarray(states)[:, -1, :]

    # A plain numpy run of the same leaky-ESN equation checks that reservoirpy computes what the Rust side does.
    last = run(1)
    h = np.zeros((args.esn_series, args.units))
    for t in range(args.steps):
        h = 0.7 * h + 0.3 * np.tanh(h @ w_rec + x[:, t, :] @ w_in + bias)
    max_abs_diff = float(np.max(np.abs(last - h)))
    runs = {}
    for workers in sorted({1, args.threads}):
        runs[str(workers)] = time_runs(min(args.repeats, 3), lambda: run(workers))
    best_workers = min(runs, key=lambda k: runs[k]["best_s"])
    flops = harvest_flops(args.esn_series, args.steps, 1, args.units)
    return {
        "version": reservoirpy.__version__,
        "n_series": args.esn_series,
        "n_steps": args.steps,
        "n_units": args.units,
        "leaking_rate": 0.3,
        "timing_by_workers": runs,
        "best_workers": int(best_workers),
        "timing": runs[best_workers],
        "gflop_s": flops / runs[best_workers]["best_s"] / 1e9,
        "max_abs_diff_vs_numpy": max_abs_diff,
    }


def bench_torch_epoch(args):
    try:
        import torch
    except ImportError as e:
        return {"skipped": f"torch is not installed: {e}"}
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)
    n, steps, units, n_classes = args.rnn_series, args.steps, args.units, 5
    dt, gamma, s = 0.1, 0.95, 1.0

    def problem(count):
        i = torch.arange(count)
        t = torch.arange(steps)
        x = torch.sin((i % 5).float()[:, None] * 0.3 + t.float()[None, :] * 0.05)[:, :, None]
        return x.contiguous(), i % 5

    x, y = problem(n)
    vx, vy = problem(5)

    class MfRnn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w_in = torch.nn.Parameter(torch.randn(1, units) * 0.05)
            self.w_rec = torch.nn.Parameter(torch.randn(units, units) * 0.05)
            self.bias = torch.nn.Parameter(torch.zeros(units))
            self.readout = torch.nn.Linear(units, n_classes)

        def forward(self, xb):
            h = torch.zeros(xb.shape[0], units)
            for t in range(xb.shape[1]):
                pre = xb[:, t, :] @ self.w_in + h @ self.w_rec + self.bias
                z = (B - A) * torch.sigmoid(s * pre) + A
                kp = KP0 * torch.exp(ETA_P * z)
                kd = KD0 * torch.exp(-ETA_D * z)
                h = gamma * h + dt * (kp - (kp + kd) * h)
            return self.readout(h)

    losses = []

    def epoch():
        model = MfRnn()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        total = 0.0
        for idx in torch.randperm(n).split(64):
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        with torch.no_grad():
            torch.nn.functional.cross_entropy(model(vx), vy).item()
        losses.append(total / n)

    timing = time_runs(min(args.repeats, 3), epoch)
    return {
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "n_series": n,
        "n_steps": steps,
        "n_units": units,
        "n_classes": n_classes,
        "batch_size": 64,
        "train_loss": losses[-1],
        "timing": timing,
    }


def blas_name(np):
    try:
        return np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except Exception:  # noqa: BLE001 older numpy has no dict mode
        return "unknown"


def main():
    args = parse_args()
    for var in THREAD_VARS:
        os.environ[var] = str(args.threads)
    import numpy as np

    out = {
        "threads": args.threads,
        "repeats": args.repeats,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_name(np),
    }
    log("numpy: MF harvest")
    out["numpy_mf_harvest"] = bench_mf_harvest(np, args)
    log("numpy: GEMM")
    out["numpy_gemm"] = bench_gemm(np, args.mf_series, args.units, args.units, args.repeats, args.seed)
    g = args.big_gemm
    out["numpy_gemm_peak"] = bench_gemm(np, g, g, g, args.repeats, args.seed)
    if args.data_dir:
        log("numpy: ECG5000 MF-ESN job")
        out["numpy_ecg5000_job"] = bench_ecg5000_job(np, args)
    else:
        out["numpy_ecg5000_job"] = {"skipped": "no data directory given"}
    if args.skip_reservoirpy:
        out["reservoirpy_esn_harvest"] = {"skipped": args.skip_reservoirpy}
    else:
        log("reservoirpy: ESN harvest")
        out["reservoirpy_esn_harvest"] = bench_reservoirpy(np, args)
    if args.skip_torch:
        out["torch_mf_rnn_epoch"] = {"skipped": args.skip_torch}
    else:
        log("torch: MF-RNN epoch")
        out["torch_mf_rnn_epoch"] = bench_torch_epoch(args)
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
