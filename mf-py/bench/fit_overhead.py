"""What fitting from Python costs over the same fit through `mf fit`, as a ratio in one run.

Both sides do the same work: read a data set from the data directory, fit one model with the same seed, score it
on the test split and write the model directory. The command line runs as a process (`mf fit`, its start
included); the package runs in this process. Runs alternate, `--rounds` of each; the ratio is of the medians.

    python mf-py/bench/fit_overhead.py --mf target/release/mf [--dataset ECG5000] [--model mf-esn] [--rounds 7]
"""

import argparse
import json
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import memristive


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mf", required=True, help="the mf binary (a release build, as the package is)")
    ap.add_argument("--dataset", default="ECG5000")
    ap.add_argument("--model", default="mf-esn")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    params = {}
    for kv in args.set:
        k, v = kv.split("=", 1)
        params[memristive._estimators.python_name(k)] = float(v)
    cls = {c._model_id: c for n, c in vars(memristive).items() if isinstance(c, type) and n.endswith("Classifier")}[
        args.model
    ]
    sets = [a for kv in args.set for a in ("--set", kv)]
    cli, py, scores = [], [], set()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            start = time.perf_counter()
            out = subprocess.run(
                [args.mf, "fit", "-m", args.model, "-d", args.dataset, "--seed", "0", *sets, "-o",
                 f"{tmp}/cli", "--force", "--json"],
                capture_output=True, text=True, check=True,
            )
            cli.append(time.perf_counter() - start)
            scores.add(("mf", json.loads(out.stdout)["test_score"]))
            start = time.perf_counter()
            X, y, Xt, yt = memristive.load_dataset(args.dataset)
            est = cls(random_state=0, **{k: (int(v) if v.is_integer() else v) for k, v in params.items()}).fit(X, y)
            score = est.score(Xt, yt)
            est.save(Path(tmp) / "py")
            py.append(time.perf_counter() - start)
            scores.add(("py", score))
    report = {
        "dataset": args.dataset,
        "model": args.model,
        "set": args.set,
        "rounds": args.rounds,
        "mf_fit_s": cli,
        "python_s": py,
        "median_mf_fit_s": statistics.median(cli),
        "median_python_s": statistics.median(py),
        "ratio": statistics.median(py) / statistics.median(cli),
        "same_test_score": len({s for _, s in scores}) == 1,
        "machine": f"{platform.machine()}, {platform.processor() or platform.node()}, python {platform.python_version()}",
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{args.model} on {args.dataset}: mf fit {report['median_mf_fit_s']:.3f} s, Python "
            f"{report['median_python_s']:.3f} s (median of {args.rounds}), ratio {report['ratio']:.3f}; "
            f"same test score: {report['same_test_score']}"
        )
    if not report["same_test_score"]:
        raise SystemExit("the two paths scored differently")


if __name__ == "__main__":
    main()
