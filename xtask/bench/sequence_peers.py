#!/usr/bin/env python3
"""Python peers of `cargo xtask bench-sequence`: the states of one long signal, timed as peers.py times (best wall
time of several runs after an untimed warm-up).

One series of --steps steps (default 10^5) and one input channel drives a reservoir of N = 100 units from the zero
state, and every state is kept, `(steps, N)`, as a sequence task's readout needs them:

- JAX (CPU, f32): the leaky-ESN cell (leaking rate 0.3) and the MF cell (dt 0.01, gamma 0.95, s 5, paper Table II)
  as `lax.scan` under `jax.jit`, the scan's outputs being the states; compilation happens in the warm-up. Its last
  state is checked against a plain numpy loop of the same equation.
- reservoirpy 0.4: `Reservoir(units=100, lr=0.3)` with the same dense weights, `run` on the whole signal (its own
  Python loop over steps), the leaky-ESN cell.

Threads are pinned before any library is imported: the BLAS variables to --threads, and XLA by the process's CPU
affinity (`cargo xtask bench-sequence` starts this script under `taskset`; on one thread XLA_FLAGS also carries
`--xla_cpu_multi_thread_eigen=false`). Prints one JSON object on stdout.
"""

import argparse
import json
import os
import platform
import sys
import time

KP0, KD0, ETA_P, ETA_D, A, B = 1e-4, 0.5, 10.0, 1.0, 0.35, 1.15
MF_CELL = (0.01, 0.95, 5.0)  # dt, gamma, s
LEAKING_RATE = 0.3


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--units", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-reservoirpy", metavar="REASON")
    p.add_argument("--skip-jax", metavar="REASON")
    return p.parse_args()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def best_of(repeats, f):
    f()  # warm-up (and JAX's compilation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return {"best_s": min(times), "runs_s": times}


def problem(np, args):
    rng = np.random.default_rng(args.seed)
    n = args.units
    u = rng.uniform(-1.0, 1.0, (args.steps, 1)).astype(np.float32)
    w_in = rng.uniform(-1.0, 1.0, (1, n)).astype(np.float32)
    w = rng.uniform(-1.0, 1.0, (n, n))
    w *= 0.9 / max(abs(np.linalg.eigvals(w)))
    bias = rng.uniform(-0.1, 0.1, n).astype(np.float32)
    return u, w_in, w.astype(np.float32), bias


def mf_update(xp, pre, h):
    dt, gamma, s = MF_CELL
    v = 1.0 / (1.0 + xp.exp(-s * pre))
    v = A + (B - A) * v
    kp = KP0 * xp.exp(ETA_P * v)
    kd = KD0 * xp.exp(-ETA_D * v)
    return gamma * h + dt * (kp * (1.0 - h) - kd * h)


def esn_update(xp, pre, h):
    return (1.0 - LEAKING_RATE) * h + LEAKING_RATE * xp.tanh(pre)


def numpy_last_state(np, update, u, w_in, w, bias):
    h = np.zeros(w.shape[0], dtype=np.float32)
    for t in range(u.shape[0]):
        h = update(np, u[t] @ w_in + h @ w + bias, h).astype(np.float32)
    return h


def run_jax(np, args, data):
    keys = ("jax_long_esn", "jax_long_mf")
    if args.skip_jax:
        return {k: {"skipped": args.skip_jax} for k in keys}
    if args.threads == 1:
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false"
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        return {k: {"skipped": f"jax is not installed: {e}"} for k in keys}
    jax.config.update("jax_enable_x64", False)
    u, w_in, w, bias = (jax.device_put(a) for a in data)
    out = {}
    for key, update in (("jax_long_esn", esn_update), ("jax_long_mf", mf_update)):

        @jax.jit
        def states(u, w_in, w, bias, update=update):
            def step(h, ut):
                h = update(jnp, ut @ w_in + h @ w + bias, h)
                return h, h

            _, hs = jax.lax.scan(step, jnp.zeros(w.shape[0], jnp.float32), u)
            return hs

        def run():
            states(u, w_in, w, bias).block_until_ready()

        log(f"jax: {key}")
        timing = best_of(args.repeats, run)
        last = np.asarray(states(u, w_in, w, bias)[-1])
        ref = numpy_last_state(np, update, *data)
        out[key] = {
            "timing": timing,
            "version": jax.__version__,
            "max_abs_diff_vs_numpy": float(np.max(np.abs(last - ref))),
        }
    return out


def run_reservoirpy(np, args, data):
    if args.skip_reservoirpy:
        return {"skipped": args.skip_reservoirpy}
    try:
        import reservoirpy
        from reservoirpy.nodes import Reservoir
    except ImportError as e:
        return {"skipped": f"reservoirpy is not installed: {e}"}
    u, w_in, w, bias = data

    def make():
        # reservoirpy computes W @ x + Win @ u + bias with column vectors: the transposes of ours.
        return Reservoir(W=w.T.copy(), Win=w_in.T.copy(), bias=bias.copy(), lr=LEAKING_RATE)

    def run():
        make().run(u)

    log("reservoirpy: long leaky-ESN run")
    timing = best_of(args.repeats, run)
    last = np.asarray(make().run(u))[-1]
    ref = numpy_last_state(np, esn_update, *data)
    return {
        "timing": timing,
        "version": reservoirpy.__version__,
        "max_abs_diff_vs_numpy": float(np.max(np.abs(last - ref))),
    }


def main():
    args = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    data = problem(np, args)
    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "threads": args.threads,
        "steps": args.steps,
        "units": args.units,
    }
    out["reservoirpy_long_esn"] = run_reservoirpy(np, args, data)
    out.update(run_jax(np, args, data))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
