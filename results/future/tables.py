#!/usr/bin/env python3
"""Tables of results/future.md from the sweep stores and hybrid run outputs under results/future/.

Writes results/future/table.md (Markdown) and results/future/table.csv (one row per data set and variant)."""
import csv
import glob
import json
import math
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SETS = ["JapaneseVowels", "SyntheticControl", "ECG5000", "GunPoint", "Epilepsy", "Coffee",
        "FloodModeling1", "FloodModeling2", "FloodModeling3"]
N_INPUTS = {"JapaneseVowels": 12, "Epilepsy": 3}
# Paper Table IV, MF-ESN and MF-RNN columns (mf-paper/src/lib.rs TABLE_IV).
PAPER = {
    "JapaneseVowels": ((0.974, 0.004), (0.951, 0.004)),
    "SyntheticControl": ((0.950, 0.007), (0.927, 0.048)),
    "ECG5000": ((0.924, 0.002), (0.909, 0.004)),
    "GunPoint": ((0.769, 0.070), (0.751, 0.012)),
    "Epilepsy": ((0.961, 0.006), (0.884, 0.013)),
    "Coffee": ((0.586, 0.017), (0.950, 0.029)),
    "FloodModeling1": ((0.008, 0.000), (0.009, 0.001)),
    "FloodModeling2": ((0.015, 0.001), (0.017, 0.000)),
    "FloodModeling3": ((0.010, 0.001), (0.010, 0.000)),
}
N = 100
VARIANTS = [
    # (key, label, spec suffix, model id)
    ("mf-esn", "MF-ESN, paper selection", "deep", "mf-esn"),
    ("deep", "Deep MF-ESN", "deep", "deep-mf-esn"),
    ("sparse", "Sparse MF-ESN", "sparse", "mf-esn"),
    ("euler1", "MF-ESN, Euler step, dt grid", "euler1", "mf-esn"),
    ("euler10", "MF-ESN, 10 Euler substeps", "euler10", "mf-esn"),
    ("exact", "MF-ESN, exact integrator", "exact", "mf-esn"),
    ("hybrid", "Hybrid MF-RNN, grid frozen {1, 0}", "hybrid", "hybrid-mf-rnn"),
]
SUFFIXES = ("deep", "sparse", "euler1", "euler10", "exact", "hybrid")


def mean(xs):
    return sum(xs) / len(xs)


def pstd(xs):
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))


def spec_dir(ds, suffix):
    """The result directory of a spec file, from the first line its sweep log prints."""
    log = os.path.join(HERE, "logs", f"{ds}-{suffix}.log")
    if not os.path.exists(log):
        return None
    m = re.match(r"spec (\w+) -> ", open(log).readline())
    return os.path.join(HERE, m.group(1)) if m else None


def records(d):
    out = []
    path = os.path.join(d, "store.jsonl") if d else None
    if not path or not os.path.exists(path):
        return out
    for line in open(path):
        r = json.loads(line)["record"]
        if "job" in r:
            out.append(r["job"])
    return out


def weights(ds, p, model):
    """Non-zero recurrent, input and inter-layer weights (mf_core::sparse::Connectivity, mf_esn::DeepConfig)."""
    d = N_INPUTS.get(ds, 1)
    dens = p.get("density", 1.0)
    rec = N * N if dens >= 1 else max(1, round(dens * N * N))
    w = rec + d * N
    if model == "hybrid-mf-rnn":
        return N * N + d * N
    if model == "deep-mf-esn":
        w += (int(p["layers"]) - 1) * (rec + N * N)
    return w


def short(p, keys):
    def f(v):
        return f"{v:g}"
    return ", ".join(f"{k} {f(p[k])}" for k in keys if k in p)


VARIED = {"deep": ["layers", "inter_scaling"], "sparse": ["density", "rho"], "euler1": ["dt"],
          "euler10": ["dt"], "exact": ["dt"], "mf-esn": [], "hybrid": ["frozen"]}


def fmt(m, s, reg):
    return f"{m:.4f} ± {s:.4f}" if reg else f"{m:.3f} ± {s:.3f}"


def val_cell(outcome, reg):
    """A validation grid's cell: the mean score of a configuration's job outcome, "failed", or "–" without one."""
    if not outcome:
        return "–"
    if "done" not in outcome:
        return "failed"
    m = mean(outcome["done"]["scores"])
    return f"{m:.4f}" if reg else f"{m:.3f}"


def better(metric, a, b):
    return a < b if metric == "rmse" else a > b


def sweep_rows(ds):
    rows, grids = [], {}
    for key, label, suffix, model in VARIANTS:
        recs = [r for r in records(spec_dir(ds, suffix)) if r["key"]["model"] == model]
        val = sorted((r for r in recs if r["key"]["stage"] == "validation"), key=lambda r: r["key"]["config"])
        fin = [r for r in recs if r["key"]["stage"] == "final"]
        grids[key] = val
        if not fin:
            rows.append(dict(dataset=ds, variant=key, label=label, status="missing"))
            continue
        f = fin[0]
        out = f["outcome"]
        if "done" not in out:
            rows.append(dict(dataset=ds, variant=key, label=label, status="failed: " + out["failed"]["message"]))
            continue
        sel = next(r for r in val if r["key"]["config"] == f["key"]["config"])
        sc = out["done"]["scores"]
        failed = [r for r in val if "done" not in r["outcome"]]
        rows.append(dict(
            dataset=ds, variant=key, label=label, status="ok", metric=out["done"]["metric"],
            selected=short(f["params"], VARIED[key]), configs=len(val), failed_configs=len(failed),
            val=mean(sel["outcome"]["done"]["scores"]), test_mean=mean(sc), test_std=pstd(sc),
            trials=len(sc), weights=weights(ds, f["params"], model),
            wall_s=sum(r["wall_s"] for r in recs)))
    return rows, grids


def hybrid_rows(ds):
    rows = []
    for frozen, label in ((0, "Hybrid MF-RNN, W_h fine-tuned"), (1, "Hybrid MF-RNN, W_h frozen")):
        runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(HERE, "hybrid", f"{ds}-frozen{frozen}-seed*.json")))]
        key = f"hybrid-{'frozen' if frozen else 'tuned'}"
        killed = os.path.join(HERE, "hybrid", f"{ds}-frozen{frozen}.killed")
        if not runs:
            rows.append(dict(dataset=ds, variant=key, label=label,
                             status="stopped at its time cap" if os.path.exists(killed) else "not run (cost)"))
            continue
        sc = [r["per_trial"][0] for r in runs]
        ep = [r["epochs"][0][0] for r in runs]
        d = N_INPUTS.get(ds, 1)
        rows.append(dict(
            dataset=ds, variant=key, label=label, status="ok" if len(runs) == 5 else f"{len(runs)} of 5 trials",
            metric=runs[0]["metric"], selected=f"preset, epochs {min(ep)}-{max(ep)}", configs=1, failed_configs=0,
            val=float("nan"), test_mean=mean(sc), test_std=pstd(sc), trials=len(sc),
            weights=N * N + d * N, wall_s=sum(r["wall_s"] for r in runs),
            diverged=sum(1 for r in runs if r.get("diverged"))))
    return rows


def main():
    all_rows, grids = [], {}
    for ds in SETS:
        rows, g = sweep_rows(ds)
        grids[ds] = g
        all_rows += rows + hybrid_rows(ds)

    with open(os.path.join(HERE, "table.csv"), "w", newline="") as f:
        cols = ["dataset", "variant", "status", "metric", "selected", "configs", "failed_configs", "val",
                "test_mean", "test_std", "trials", "weights", "wall_s"]
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in all_rows:
            w.writerow(r)

    by = {(r["dataset"], r["variant"]): r for r in all_rows}
    md = []
    # Summary: test score of each variant, one column per variant.
    cols = [("mf-esn", "MF-ESN (preset)"), ("deep", "Deep"), ("sparse", "Sparse"), ("euler1", "Euler, dt grid"),
            ("euler10", "10 substeps"), ("exact", "Exact"), ("mf-rnn-paper", "MF-RNN (paper)"),
            ("hybrid", "Hybrid, grid"), ("hybrid-tuned", "Hybrid, fine-tuned"), ("hybrid-frozen", "Hybrid, frozen")]
    md.append("| Data set | MF-ESN (paper) | " + " | ".join(c[1] for c in cols) + " |")
    md.append("|---|---|" + "---|" * len(cols))
    for ds in SETS:
        reg = ds.startswith("Flood")
        base = by[(ds, "mf-esn")]
        cells = []
        for key, _ in cols:
            if key == "mf-rnn-paper":
                cells.append(f"{PAPER[ds][1][0]:.3f} ± {PAPER[ds][1][1]:.3f}")
                continue
            r = by.get((ds, key))
            if not r or r["status"] not in ("ok",) and not r["status"].endswith("trials"):
                cells.append("–" if not r or r["status"] in ("not run (cost)", "stopped at its time cap", "missing")
                         else r["status"])
                continue
            s = fmt(r["test_mean"], r["test_std"], reg)
            if r["status"] != "ok":
                s += f" ({r['trials']} of 5 trials)"
            if key != "mf-esn" and base.get("status") == "ok":
                gap = r["test_mean"] - base["test_mean"]
                if abs(gap) > max(r["test_std"], base["test_std"]) and better(base["metric"], r["test_mean"], base["test_mean"]):
                    s = f"**{s}**"
            cells.append(s)
        p = PAPER[ds][0]
        md.append(f"| {ds}{' (RMSE)' if reg else ''} | {p[0]:.3f} ± {p[1]:.3f} | " + " | ".join(cells) + " |")
    md.append("")
    # Detail: selection, weights, wall time.
    md.append("| Data set | Variant | Selected (of grid) | Validation | Test | Non-zero W_h + W_x | Wall s |")
    md.append("|---|---|---|---|---|---|---|")
    for r in all_rows:
        reg = r["dataset"].startswith("Flood")
        if r["status"] != "ok" and not r["status"].endswith("trials"):
            md.append(f"| {r['dataset']} | {r['label']} | {r['status']} | | | | |")
            continue
        v = "" if math.isnan(r["val"]) else (f"{r['val']:.4f}" if reg else f"{r['val']:.3f}")
        sel = r["selected"] or "–"
        if r["configs"] > 1:
            sel += f" (of {r['configs']}" + (f", {r['failed_configs']} failed" if r["failed_configs"] else "") + ")"
        t = fmt(r["test_mean"], r["test_std"], reg) + ("" if r["trials"] == 5 else f" ({r['trials']} of 5 trials)")
        md.append(f"| {r['dataset']} | {r['label']} | {sel} | {v} | {t} | {r['weights']:,} | {r['wall_s']:.1f} |")
    md.append("")
    # Validation grids of the step and integrator: every configuration, mean over 5 draws.
    md.append("| Data set | dt | Euler, 1 step | Euler, 10 substeps | Exact |")
    md.append("|---|---|---|---|---|")
    for ds in SETS:
        reg = ds.startswith("Flood")
        g = grids[ds]
        for i in range(2):
            cells, dt = [], None
            for key in ("euler1", "euler10", "exact"):
                rs = [r for r in g.get(key, []) if r["key"]["config"] == i]
                if not rs:
                    cells.append("–")
                    continue
                dt = rs[0]["params"]["dt"]
                o = rs[0]["outcome"]
                cells.append((f"{mean(o['done']['scores']):.4f}" if reg else f"{mean(o['done']['scores']):.3f}")
                             if "done" in o else ("failed: non-finite states" if "non-finite" in o["failed"]["message"]
                                                     else "failed: " + o["failed"]["message"]))
            md.append(f"| {ds} | {dt if dt is None else format(dt, 'g')} | " + " | ".join(cells) + " |")
    md.append("")
    md.append("| Data set | rho | density 0.02 | density 0.1 | density 0.3 |")
    md.append("|---|---|---|---|---|")
    for ds in SETS:
        reg = ds.startswith("Flood")
        g = grids[ds].get("sparse", [])
        rhos = sorted({r["params"]["rho"] for r in g}, key=lambda x: [r["params"]["rho"] for r in g].index(x))
        for rho in rhos:
            cells = []
            for dens in (0.02, 0.1, 0.3):
                rs = [r for r in g if r["params"]["rho"] == rho and r["params"]["density"] == dens]
                o = rs[0]["outcome"] if rs else None
                cells.append(val_cell(o, reg))
            md.append(f"| {ds} | {rho:g} | " + " | ".join(cells) + " |")
    md.append("")
    md.append("| Data set | frozen 1 (W_h kept) | frozen 0 (W_h fine-tuned) | selected |")
    md.append("|---|---|---|---|")
    for ds in SETS:
        reg = ds.startswith("Flood")
        g = grids[ds].get("hybrid", [])
        cells = []
        for frozen in (1.0, 0.0):
            rs = [r for r in g if r["params"]["frozen"] == frozen]
            o = rs[0]["outcome"] if rs else None
            cells.append(val_cell(o, reg))
        r = by.get((ds, "hybrid"))
        cells.append(r["selected"] if r and r["status"] == "ok" else "–")
        md.append(f"| {ds} | " + " | ".join(cells) + " |")
    md.append("")
    md.append("| Data set | layers | inter_scaling 0.5 | inter_scaling 1 |")
    md.append("|---|---|---|---|")
    for ds in SETS:
        reg = ds.startswith("Flood")
        g = grids[ds].get("deep", [])
        for layers in (2.0, 3.0):
            cells = []
            for isc in (0.5, 1.0):
                rs = [r for r in g if r["params"]["layers"] == layers and r["params"]["inter_scaling"] == isc]
                o = rs[0]["outcome"] if rs else None
                cells.append(val_cell(o, reg))
            md.append(f"| {ds} | {layers:g} | " + " | ".join(cells) + " |")
    with open(os.path.join(HERE, "table.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    write_index()


def write_index():
    """Provenance of every sweep: spec file, its SHA-256, its result directory, jobs and wall time."""
    import hashlib
    walls = {}
    path = os.path.join(HERE, "logs", "wall.tsv")
    if os.path.exists(path):
        for line in open(path):
            ds, v, w = line.split()
            walls.setdefault((ds, v), float(w))  # the first run of each sweep
    lines = ["| Spec file | SHA-256 (first 16) | Result directory | Validation jobs (x 5 draws; the hybrid x 1) "
             "| Final jobs (x 5 trials) "
             "| Failed jobs | Job wall s | Sweep wall s |", "|---|---|---|---|---|---|---|---|"]
    total_jobs = total_sweep = 0.0
    for ds in SETS:
        for suffix in SUFFIXES:
            spec = os.path.join(HERE, "specs", f"{ds}-{suffix}.toml")
            sha = hashlib.sha256(open(spec, "rb").read()).hexdigest()[:16]
            d = spec_dir(ds, suffix)
            recs = records(d)
            nv = sum(1 for r in recs if r["key"]["stage"] == "validation")
            nf = sum(1 for r in recs if r["key"]["stage"] == "final")
            bad = sum(1 for r in recs if "done" not in r["outcome"])
            jw = sum(r["wall_s"] for r in recs)
            sw = walls.get((ds, suffix), float("nan"))
            total_jobs += jw
            total_sweep += 0.0 if math.isnan(sw) else sw
            lines.append(f"| specs/{ds}-{suffix}.toml | {sha} | {os.path.basename(d) if d else '-'} | {nv} | {nf} "
                         f"| {bad} | {jw:.1f} | {sw:.1f} |")
    lines.append(f"| all {len(SETS) * len(SUFFIXES)} | | | | | | {total_jobs:.1f} | {total_sweep:.1f} |")
    with open(os.path.join(HERE, "index.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
