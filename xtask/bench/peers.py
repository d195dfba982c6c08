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
  batch 64, N = 100, Adam), the cell written as a Python loop over time steps under autograd;
- JAX (CPU, f32): the same MF-ESN and leaky-ESN harvests (same series and weights as the numpy and reservoirpy
  peers) as `lax.scan` under `jax.jit`, their last states checked against numpy; the same MF-RNN epoch as one
  jitted step per mini-batch (`lax.scan` forward, `jax.value_and_grad`, Adam written in jnp), checked against
  PyTorch from the same initial weights and batch order. Compilation happens in the untimed warm-up.

Prints one JSON object on stdout; progress goes to stderr. Thread counts of every library are pinned with --threads
before any of them is imported. XLA has no thread-count setting of its own: its CPU thread pool is as large as the
process's CPU affinity, so JAX is pinned by affinity (`taskset -c 0,...` from `cargo xtask bench`; this script
restricts its own affinity to the first --threads allowed cores when started with more), and on one thread XLA_FLAGS
also carries `--xla_cpu_multi_thread_eigen=false`. `--only-jax` runs the JAX peers alone, as `cargo xtask bench`
does in a process of their own.
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
# (dt, gamma, s) of the MF-ESN harvest and of the MF-RNN epoch, as `mf bench` has them.
MF_HARVEST_CELL = (0.01, 0.95, 5.0)
MF_RNN_CELL = (0.1, 0.95, 1.0)
LEAKING_RATE = 0.3
BATCH = 64
N_CLASSES = 5
# XLA_FLAGS on one thread: no multi-threaded Eigen calls. (`intra_op_parallelism_threads` is no XLA flag: jaxlib
# aborts on `--intra_op_parallelism_threads=1` as an unknown flag and ignores it without the dashes.)
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="threads of every library (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per measurement, fastest kept (default 5)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated inputs (default 1)")
    p.add_argument("--data-dir", help="directory holding ECG5000/ECG5000_{TRAIN,TEST}.tsv; the job is skipped without")
    p.add_argument("--skip-torch", metavar="REASON", help="skip the PyTorch epoch, recording REASON")
    p.add_argument("--skip-reservoirpy", metavar="REASON", help="skip the reservoirpy harvest, recording REASON")
    p.add_argument("--skip-jax", metavar="REASON", help="skip the JAX peers, recording REASON")
    p.add_argument("--only-jax", action="store_true", help="run the JAX peers alone (numpy only as their reference)")
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


def mf_problem(np, args):
    """Series and f32 weights of the MF-ESN harvest: x (n, T, 1), w_in, w_rec, bias."""
    rng = np.random.default_rng(args.seed)
    w_in, w_rec, bias = draw_reservoir(np, rng, 1, args.units, 0.9, 1.0, 0.1, np.float32)
    x = rng.uniform(-1.0, 1.0, (args.mf_series, args.steps, 1)).astype(np.float32)
    return x, w_in, w_rec, bias


def esn_problem(np, args):
    """Series and f64 weights of the leaky-ESN harvest (reservoirpy's): x (n, T, 1), w_in, w_rec, bias."""
    rng = np.random.default_rng(args.seed + 1)
    w_in, w_rec, bias = draw_reservoir(np, rng, 1, args.units, 0.9, 1.0, 0.1, np.float64)
    x = rng.uniform(-1.0, 1.0, (args.esn_series, args.steps, 1))
    return x, w_in, w_rec, bias


def esn_harvest(np, x, w_in, w_rec, bias):
    """Last leaky-ESN states in plain numpy, in the dtype of the weights."""
    h = np.zeros((x.shape[0], w_rec.shape[0]), w_rec.dtype)
    for t in range(x.shape[1]):
        h = (1.0 - LEAKING_RATE) * h + LEAKING_RATE * np.tanh(h @ w_rec + x[:, t, :] @ w_in + bias)
    return h


def bench_mf_harvest(np, args):
    x, w_in, w_rec, bias = mf_problem(np, args)
    timing = time_runs(args.repeats, lambda: mf_harvest(np, x, w_in, w_rec, bias, *MF_HARVEST_CELL))
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
    # reservoirpy's layout is column form: W (N, N), Win (N, d), bias (N,).
    x, w_in, w_rec, bias = esn_problem(np, args)

    def run(workers):
        res = Reservoir(W=w_rec.T.copy(), Win=w_in.T.copy(), bias=bias.copy(), lr=LEAKING_RATE)
        states = res.run(x, workers=workers)
        return np.asarray(states)[:, -1, :]

    # A plain numpy run of the same leaky-ESN equation checks that reservoirpy computes what the Rust side does.
    last = run(1)
    max_abs_diff = float(np.max(np.abs(last - esn_harvest(np, x, w_in, w_rec, bias))))
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
        "leaking_rate": LEAKING_RATE,
        "timing_by_workers": runs,
        "best_workers": int(best_workers),
        "timing": runs[best_workers],
        "gflop_s": flops / runs[best_workers]["best_s"] / 1e9,
        "max_abs_diff_vs_numpy": max_abs_diff,
    }


def torch_problem(torch, count, steps):
    """`count` series of `steps` steps: sin(0.3 (i mod 5) + 0.05 t), labelled i mod 5 (mf bench's MF-RNN problem)."""
    i = torch.arange(count)
    t = torch.arange(steps)
    x = torch.sin((i % 5).float()[:, None] * 0.3 + t.float()[None, :] * 0.05)[:, :, None]
    return x.contiguous(), i % 5


def torch_mf_rnn(torch, units, n_classes):
    """The MF-RNN classifier in PyTorch: the MF cell as a Python loop over time steps, a linear readout."""
    dt, gamma, s = MF_RNN_CELL

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

    return MfRnn


def torch_train_epoch(torch, model, x, y, batches):
    """Adam (lr 1e-3, eps 1e-7, as mf-rnn) over `batches` (index tensors); the loss of each batch."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    losses = []
    for idx in batches:
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


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
    n, steps, units, n_classes = args.rnn_series, args.steps, args.units, N_CLASSES
    x, y = torch_problem(torch, n, steps)
    vx, vy = torch_problem(torch, 5, steps)
    MfRnn = torch_mf_rnn(torch, units, n_classes)
    losses = []

    def epoch():
        model = MfRnn()
        batches = torch.randperm(n).split(BATCH)
        batch_losses = torch_train_epoch(torch, model, x, y, batches)
        with torch.no_grad():
            torch.nn.functional.cross_entropy(model(vx), vy).item()
        losses.append(sum(loss * len(idx) for loss, idx in zip(batch_losses, batches)) / n)

    timing = time_runs(min(args.repeats, 3), epoch)
    return {
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "n_series": n,
        "n_steps": steps,
        "n_units": units,
        "n_classes": n_classes,
        "batch_size": BATCH,
        "train_loss": losses[-1],
        "timing": timing,
    }


def pin_for_jax(threads):
    """XLA_FLAGS for `threads` and the CPU affinity XLA sizes its thread pool by, set before jax is imported.
    Returns what was set."""
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1:
        flags = f"{flags} {XLA_ONE_THREAD}".strip()
    if flags:
        os.environ["XLA_FLAGS"] = flags
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    pinned_by = "inherited affinity (taskset)"
    if hasattr(os, "sched_getaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        if len(allowed) > threads:
            os.sched_setaffinity(0, allowed[:threads])
            pinned_by = "sched_setaffinity in peers.py"
        cores = sorted(os.sched_getaffinity(0))
    else:
        cores, pinned_by = None, "not pinned (no sched_getaffinity)"
    return {"xla_flags": os.environ.get("XLA_FLAGS", ""), "cores": cores, "pinned_by": pinned_by}


def jax_mf_update(jnp, cell):
    """The MF update `h <- gamma h + dt (Kp - (Kp + Kd) h)` of mf-core's cell, written as peers.py's numpy one."""
    dt, gamma, s = cell

    def update(pre, h):
        z = (B - A) / (1.0 + jnp.exp(-s * pre)) + A
        kp = KP0 * jnp.exp(ETA_P * z)
        kd = KD0 * jnp.exp(-ETA_D * z)
        return gamma * h + dt * (kp - (kp + kd) * h)

    return update


def jax_esn_update(jnp):
    def update(pre, h):
        return (1.0 - LEAKING_RATE) * h + LEAKING_RATE * jnp.tanh(pre)

    return update


def jax_harvest(jax, jnp, update):
    """A jitted harvest: last states of equal-length series x (n, T, d), one `lax.scan` step per time step."""

    @jax.jit
    def harvest(x, w_in, w_rec, bias):
        def step(h, xt):
            return update(xt @ w_in + h @ w_rec + bias, h), None

        h0 = jnp.zeros((x.shape[0], w_rec.shape[0]), w_rec.dtype)
        h, _ = jax.lax.scan(step, h0, jnp.swapaxes(x, 0, 1))
        return h

    return harvest


def bench_jax_harvest(jax, jnp, np, args, which):
    """`which` is "mf" (the numpy peer's problem) or "esn" (reservoirpy's problem, in f32). The last states are
    compared with numpy's in f32 and f64 before timing, and must agree to f32 rounding."""
    if which == "mf":
        x, w_in, w_rec, bias = mf_problem(np, args)
        update = jax_mf_update(jnp, MF_HARVEST_CELL)
        ref32 = mf_harvest(np, x, w_in, w_rec, bias, *MF_HARVEST_CELL)
        f64 = [a.astype(np.float64) for a in (x, w_in, w_rec, bias)]
        ref64 = mf_harvest(np, *f64, *MF_HARVEST_CELL)
    else:
        x, w_in, w_rec, bias = esn_problem(np, args)
        ref64 = esn_harvest(np, x, w_in, w_rec, bias)
        x, w_in, w_rec, bias = (a.astype(np.float32) for a in (x, w_in, w_rec, bias))
        ref32 = esn_harvest(np, x, w_in, w_rec, bias)
        update = jax_esn_update(jnp)
    harvest = jax_harvest(jax, jnp, update)
    args_dev = [jax.device_put(a) for a in (x, w_in, w_rec, bias)]
    t0 = time.perf_counter()
    last = np.asarray(harvest(*args_dev).block_until_ready())
    compile_s = time.perf_counter() - t0
    assert last.dtype == np.float32, last.dtype
    diff32 = float(np.max(np.abs(last - ref32)))
    diff64 = float(np.max(np.abs(last.astype(np.float64) - ref64)))
    numpy32_vs_64 = float(np.max(np.abs(ref32.astype(np.float64) - ref64)))
    # f32 rounding: within ten times numpy's own f32 error against f64 on the same problem.
    tol = max(10.0 * numpy32_vs_64, 1e-6 * max(1.0, float(np.max(np.abs(ref64)))))
    if not (diff32 <= tol and diff64 <= tol):
        raise AssertionError(f"JAX {which} harvest disagrees with numpy: {diff32:.2e} (f32), {diff64:.2e} (f64)")
    timing = time_runs(args.repeats, lambda: harvest(*args_dev).block_until_ready())
    n = x.shape[0]
    flops = harvest_flops(n, args.steps, 1, args.units)
    return {
        "cell": "mf dt=%g gamma=%g s=%g" % MF_HARVEST_CELL if which == "mf" else f"leaky-esn alpha={LEAKING_RATE}",
        "dtype": "float32",
        "n_series": n,
        "n_steps": args.steps,
        "n_units": args.units,
        "flops": flops,
        "first_call_s": compile_s,
        "max_abs_diff_vs_numpy_f32": diff32,
        "max_abs_diff_vs_numpy_f64": diff64,
        "numpy_f32_max_abs_diff_vs_f64": numpy32_vs_64,
        "timing": timing,
        "gflop_s": flops / timing["best_s"] / 1e9,
    }


def numpy_rnn_problem(np, count, steps):
    """torch_problem in numpy, f32 throughout."""
    i = np.arange(count)
    t = np.arange(steps)
    arg = (i % 5).astype(np.float32)[:, None] * np.float32(0.3) + t.astype(np.float32)[None, :] * np.float32(0.05)
    return np.sin(arg)[:, :, None].astype(np.float32), (i % 5).astype(np.int32)


def numpy_rnn_init(np, rng, units, n_classes):
    """Initial weights as the PyTorch peer draws them: N(0, 0.05^2) kernels, zero bias, nn.Linear's readout."""
    bound = 1.0 / np.sqrt(units)
    return {
        "w_in": (rng.standard_normal((1, units)) * 0.05).astype(np.float32),
        "w_rec": (rng.standard_normal((units, units)) * 0.05).astype(np.float32),
        "bias": np.zeros(units, np.float32),
        "w_out": rng.uniform(-bound, bound, (units, n_classes)).astype(np.float32),
        "b_out": rng.uniform(-bound, bound, n_classes).astype(np.float32),
    }


def jax_mf_rnn(jax, jnp, units):
    """(train_step, val_loss): one jitted Adam step on a mini-batch gathered inside the step, and the loss."""
    update = jax_mf_update(jnp, MF_RNN_CELL)
    b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-7

    def loss_fn(p, xb, yb):
        def step(h, xt):
            return update(xt @ p["w_in"] + h @ p["w_rec"] + p["bias"], h), None

        h0 = jnp.zeros((xb.shape[0], units), jnp.float32)
        h, _ = jax.lax.scan(step, h0, jnp.swapaxes(xb, 0, 1))
        logits = h @ p["w_out"] + p["b_out"]
        picked = jnp.take_along_axis(logits, yb[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(logits, axis=1) - picked)

    @jax.jit
    def train_step(p, m, v, k, x, y, idx):
        loss, g = jax.value_and_grad(loss_fn)(p, x[idx], y[idx])
        m = jax.tree.map(lambda m, g: b1 * m + (1.0 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1.0 - b2) * g * g, v, g)
        # PyTorch's Adam: p -= lr / (1 - b1^k) * m / (sqrt(v) / sqrt(1 - b2^k) + eps).
        step = lr / (1.0 - b1**k)
        root2 = jnp.sqrt(1.0 - b2**k)
        p = jax.tree.map(lambda p, m, v: p - step * m / (jnp.sqrt(v) / root2 + eps), p, m, v)
        return p, m, v, loss

    return train_step, jax.jit(loss_fn)


def jax_train_epoch(jnp, train_step, params, x, y, batches):
    """Adam over `batches` (index arrays) from `params` (numpy); the final parameters and each batch's loss."""
    p = {k: jnp.asarray(v) for k, v in params.items()}
    m = {k: jnp.zeros_like(v) for k, v in p.items()}
    v = {k: jnp.zeros_like(v) for k, v in p.items()}
    losses = []
    for k, idx in enumerate(batches):
        p, m, v, loss = train_step(p, m, v, jnp.float32(k + 1), x, y, jnp.asarray(idx, jnp.int32))
        losses.append(loss)
    return p, [float(loss) for loss in losses]


def check_jax_epoch_against_torch(jax, jnp, np, args, train_step, x, y):
    """One epoch from the same initial weights and batch order in JAX and in the PyTorch peer's model: the largest
    difference between their batch losses and between their final weights."""
    try:
        import torch
    except ImportError as e:
        return {"skipped": f"torch is not installed: {e}"}
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed + 2)
    params = numpy_rnn_init(np, rng, args.units, N_CLASSES)
    batches = np.array_split(rng.permutation(args.rnn_series), range(BATCH, args.rnn_series, BATCH))
    p, jax_losses = jax_train_epoch(jnp, train_step, params, x, y, batches)
    model = torch_mf_rnn(torch, args.units, N_CLASSES)()
    with torch.no_grad():
        for name in ("w_in", "w_rec", "bias"):
            getattr(model, name).copy_(torch.from_numpy(params[name]))
        model.readout.weight.copy_(torch.from_numpy(params["w_out"].T.copy()))
        model.readout.bias.copy_(torch.from_numpy(params["b_out"]))
    tx, ty = torch_problem(torch, args.rnn_series, args.steps)
    torch_losses = torch_train_epoch(torch, model, tx, ty, [torch.from_numpy(b.astype(np.int64)) for b in batches])
    theirs = {
        "w_in": model.w_in, "w_rec": model.w_rec, "bias": model.bias,
        "w_out": model.readout.weight.T, "b_out": model.readout.bias,
    }
    weight_diff = max(float(np.max(np.abs(np.asarray(p[k]) - theirs[k].detach().numpy()))) for k in theirs)
    loss_diff = max(abs(a - b) for a, b in zip(jax_losses, torch_losses))
    return {
        "batches": len(batches),
        "first_loss": jax_losses[0],
        "last_loss": jax_losses[-1],
        "max_abs_loss_diff": loss_diff,
        "max_abs_weight_diff": weight_diff,
    }


def bench_jax_epoch(jax, jnp, np, args):
    n, steps, units = args.rnn_series, args.steps, args.units
    xn, yn = numpy_rnn_problem(np, n, steps)
    vxn, vyn = numpy_rnn_problem(np, 5, steps)
    x, y, vx, vy = (jax.device_put(a) for a in (xn, yn, vxn, vyn))
    train_step, val_loss = jax_mf_rnn(jax, jnp, units)
    rng = np.random.default_rng(args.seed)
    losses = []

    def epoch():
        params = numpy_rnn_init(np, rng, units, N_CLASSES)
        perm = rng.permutation(n)
        batches = [perm[i : i + BATCH] for i in range(0, n, BATCH)]
        p, batch_losses = jax_train_epoch(jnp, train_step, params, x, y, batches)
        float(val_loss(p, vx, vy))
        losses.append(sum(loss * len(idx) for loss, idx in zip(batch_losses, batches)) / n)

    # The first epoch compiles the step for full and last batches and the validation loss.
    t0 = time.perf_counter()
    epoch()
    first_s = time.perf_counter() - t0
    if not np.isfinite(losses[-1]):
        raise AssertionError(f"JAX MF-RNN epoch gave a non-finite loss {losses[-1]}")
    timing = time_runs(min(args.repeats, 3), epoch)
    check = check_jax_epoch_against_torch(jax, jnp, np, args, train_step, x, y)
    if "skipped" not in check and not check["max_abs_loss_diff"] <= 1e-3:
        raise AssertionError(f"JAX and PyTorch epochs disagree from the same start: {check}")
    return {
        "n_series": n,
        "n_steps": steps,
        "n_units": units,
        "n_classes": N_CLASSES,
        "batch_size": BATCH,
        "optimizer": "Adam in jnp (lr 1e-3, eps 1e-7, PyTorch's update)",
        "first_epoch_s": first_s,
        "train_loss": losses[-1],
        "vs_torch_same_start": check,
        "timing": timing,
    }


def run_jax(np, args):
    """Every JAX peer under one key each, plus `jax` (versions and pinning); the reason in each when skipped."""
    keys = ("jax_mf_harvest", "jax_esn_harvest", "jax_mf_rnn_epoch")
    if args.skip_jax:
        return {k: {"skipped": args.skip_jax} for k in keys}
    pinning = pin_for_jax(args.threads)
    try:
        import jax
        import jax.numpy as jnp
        import jaxlib
    except ImportError as e:
        return {k: {"skipped": f"jax is not installed: {e}"} for k in keys}
    jax.config.update("jax_enable_x64", False)
    out = {
        "jax": {
            "version": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "backend": jax.default_backend(),
            **pinning,
        }
    }
    log(f"jax: MF harvest (XLA_FLAGS={pinning['xla_flags']!r}, cores {pinning['cores']})")
    out["jax_mf_harvest"] = bench_jax_harvest(jax, jnp, np, args, "mf")
    log("jax: leaky-ESN harvest")
    out["jax_esn_harvest"] = bench_jax_harvest(jax, jnp, np, args, "esn")
    if args.rnn_series > 0:
        log("jax: MF-RNN epoch")
        out["jax_mf_rnn_epoch"] = bench_jax_epoch(jax, jnp, np, args)
    else:
        out["jax_mf_rnn_epoch"] = {"skipped": "--rnn-series 0"}
    return out


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
    if args.only_jax:
        out.update(run_jax(np, args))
        json.dump(out, sys.stdout, indent=2)
        print()
        return
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
    # Last: pinning the process for JAX must not touch the peers above.
    out.update(run_jax(np, args))
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
