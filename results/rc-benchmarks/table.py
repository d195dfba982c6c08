"""Renders results/rc-benchmarks.md from the JSON reports run.sh writes beside this file (standard library only)."""
import json
import os
import platform
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
TASKS = [
    ("narma10", "NARMA-10", "NRMSE on test (lower is better)",
     "0.2-0.4 is the range usually reported for 100-unit ESNs (Jaeger 2003; Lukosevicius 2012)"),
    ("mackey-glass", "Mackey-Glass, one step", "NRMSE on test (lower is better)",
     "reservoirpy's README example (100 units) reaches a one-step RMSE of 0.002 on its own normalisation"),
    ("lorenz", "Lorenz-63, closed loop", "valid prediction time in Lyapunov times (higher is better)",
     "Pathak et al. 2018 report several Lyapunov times with far larger reservoirs"),
    ("memory-capacity", "memory capacity", "MC = sum of MC_k, k = 1..2N (higher is better, at most N = 100)",
     "at most N = 100 for i.i.d. input (Jaeger 2002)"),
]
MODELS = [("esn", "ESN"), ("mf-esn", "MF-ESN"), ("deep-mf-esn", "Deep MF-ESN")]


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def cell(r):
    sel = " ".join(f"{k}={v:g}" for k, v in sorted(r["selection"]["selected"].items()))
    return f"{r['mean']:.4g} ± {r['std']:.2g} ({sel})"


def main():
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short=12", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    out = ["# Sequence tasks: reservoir models on the field's standard benchmarks", ""]
    out.append(
        "Each model's hyper-parameters were selected on the validation segment (every configuration of the grid "
        "below over 3 reservoirs fitted on the training segment alone), then 5 fresh reservoirs of the selected "
        "configuration were fitted on training and validation and scored on test (`mf run --grid ... --draws 3 "
        "--trials 5 --seed 2025`; `results/rc-benchmarks/run.sh` reruns everything). Cells: mean ± population "
        "std over the 5 test trials, with the selected values. Segments are contiguous; the signals are generated "
        "from seed 2025 (definitions and sources: `mf run --help`, `mf_data::sequence`).")
    out.append("")
    first = load("esn-narma10.json")
    grids = {m: load(f"{m}-narma10.json")["selection"]["grid"] for m, _ in MODELS}
    for m, name in MODELS:
        axes = ", ".join(f"{k} {{{', '.join(f'{v:g}' for v in vs)}}}" for k, vs in grids[m])
        units = "100 units per layer" if m == "deep-mf-esn" else "100 units"
        out.append(f"- {name} grid: {axes}; lambda = 1e-8; {units}; every other value the model's default "
                   f"(`mf params --model {m}`).")
    walls = sum(load(f"{m}-{t}.json")["wall_s"] for m, _ in MODELS for t, *_ in TASKS)
    out.append(f"- Provenance: commit {commit} (the code that produced these files; table.py is run after "
               f"run.sh), {platform.machine()} {cpu}, {os.cpu_count()} cores; {walls:.0f} s of `mf run` in all "
               f"(release build).")
    out.append("")
    out.append("| task | metric | " + " | ".join(n for _, n in MODELS) + " | published, for context |")
    out.append("|---|---|" + "---|" * len(MODELS) + "---|")
    for t, title, metric, published in TASKS:
        cells = [cell(load(f"{m}-{t}.json")) for m, _ in MODELS]
        out.append(f"| {title} | {metric} | " + " | ".join(cells) + f" | {published} |")
    fc = {m: load(f"{m}-mackey-glass-forecast.json") for m, _ in MODELS}
    out.append(
        "| Mackey-Glass, closed loop | NRMSE 84 steps after the switch, over 100 starts (lower is better) | " +
        " | ".join(f"{fc[m]['value']:.3g}" for m, _ in MODELS) +
        " | Jaeger 2001: 2.8e-4 with 400 units and 3000 training steps (1.2e-4 with 21 000) |")
    out.append("")
    out.append("The closed-loop rows use one reservoir (seed 2025) with the configuration selected on the one-step "
               "task; figures of the first start: " +
               ", ".join(f"`rc-benchmarks/{m}-mackey-glass-forecast.png`" for m, _ in MODELS) +
               " (CSV beside them). The deep MF-ESN's N is every layer's units, so its memory capacity is bounded "
               "by layers x 100.")
    out.append("")
    def compare(model, base):
        better, worse = [], []
        for t, title, *_ in TASKS:
            e, m = load(f"{base}-{t}.json"), load(f"{model}-{t}.json")
            higher = e["higher_is_better"]
            (better if (m["mean"] > e["mean"]) == higher else worse).append(
                f"{title} ({m['mean']:.3g} against {e['mean']:.3g})")
        fe, fm = fc[base]["value"], fc[model]["value"]
        (better if fm < fe else worse).append(f"Mackey-Glass in closed loop ({fm:.3g} against {fe:.3g})")
        return ("better on " + ("; ".join(better) if better else "none of them") + "; **worse on " +
                ("; ".join(worse) if worse else "none") + "**")

    out.append("Where the MF-ESN stands against the ESN on these grids: " + compare("mf-esn", "esn") +
               ". The paper makes no claim on these tasks. A likely reason, not tested here: the MF cell's state "
               "lives in [0, 1] and moves by at most dt per step, so it holds a white-noise input briefly (its MC_k "
               "falls from 0.99 to 0.2 within ten steps). The deep MF-ESN against the MF-ESN: " +
               compare("deep-mf-esn", "mf-esn") + ".")
    out.append("")
    out.append("Memory capacity against the ADC's resolution (`--set adc_bits=k`; 0 = exact states), 5 trials "
               "each at the configuration selected above; the same curves drawn by `mf robustness -d "
               "memory-capacity --param adc_bits`: `rc-benchmarks/robustness-adc-esn/robustness.png`, "
               "`rc-benchmarks/robustness-adc-mf-esn/robustness.png`:")
    out.append("")
    bits = [2, 3, 4, 6, 8, 0]
    out.append("| model | " + " | ".join("exact" if b == 0 else f"{b} bits" for b in bits) + " |")  # noqa
    out.append("|---|" + "---|" * len(bits))
    for m, name in MODELS[:2]:
        vals = [load(f"{m}-memory-capacity-adc{b}.json") for b in bits]
        out.append(f"| {name} | " + " | ".join(f"{v['mean']:.2f} ± {v['std']:.2f}" for v in vals) + " |")
    out.append("")
    out.append("Memory capacity curves (mean over the 5 test trials), MC_1 to MC_10:")
    out.append("")
    for m, name in MODELS:
        c = load(f"{m}-memory-capacity.json")["curve"]
        out.append(f"- {name}: " + " ".join(f"{v:.3f}" for v in c[:10]) +
                   f"; MC_k summed over k > 100: {sum(c[100:]):.2f} (finite test sets bias each MC_k up by "
                   f"about N / 5000)")
    out.append("")
    trained = [("rnn", "RNN"), ("mf-rnn", "MF-RNN")]
    if all(os.path.exists(os.path.join(HERE, f"{m}-{t}.json")) for m, _ in trained for t, *_ in TASKS):
        walls = sum(load(f"{m}-{t}.json")["wall_s"] for m, _ in trained for t, *_ in TASKS)
        out.append("## Trained models")
        out.append("")
        out.append(
            "RNN and MF-RNN with 100 units, trained by truncated back-propagation through time "
            "(`mf_rnn::train_on_signal`: windows of 50 steps, 10 of warm-up, each started from the state the model "
            "reaches there; at most 100 epochs with patience 10, batches of 32 windows, Adam), the learning rate "
            "selected over {0.01, 0.003} (and the MF-RNN's dt over {0.01, 0.1} and gamma over {0.9, 1}: at its "
            "defaults, dt = 0.01 and gamma = 1, it does not learn Mackey-Glass in 100 epochs) on the validation "
            "segment (one training per configuration, stopping early on the "
            "validation segment), then 3 fresh trainings on training and validation (stopping on the training "
            "loss) scored on test; every other value the model's default (`results/rc-benchmarks/run-trained.sh`, "
            f"{walls:.0f} s of `mf run` in all, release build, the machine above). The memory capacity trains one "
            "output per delay. Cells: mean ± population std over the 3 test trials, with the selected rate.")
        out.append("")
        out.append("| task | metric | " + " | ".join(n for _, n in trained) + " | ESN, from above |")
        out.append("|---|---|" + "---|" * len(trained) + "---|")
        for t, title, metric, _ in TASKS:
            cells = [cell(load(f"{m}-{t}.json")) for m, _ in trained]
            esn = load(f"esn-{t}.json")["mean"]
            out.append(f"| {title} | {metric} | " + " | ".join(cells) + f" | {esn:.4g} |")
        out.append("")
        better, worse = [], []
        for t, title, *_ in TASKS:
            r, m = load(f"rnn-{t}.json"), load(f"mf-rnn-{t}.json")
            (better if (m["mean"] > r["mean"]) == r["higher_is_better"] else worse).append(
                f"{title} ({m['mean']:.3g} against {r['mean']:.3g})")
        out.append("Where the MF-RNN stands against the RNN: better on " +
                   ("; ".join(better) if better else "none of them") + "; **worse on " +
                   ("; ".join(worse) if worse else "none") + "**.")
        out.append("")
    print("\n".join(out))


main()
