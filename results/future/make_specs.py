#!/usr/bin/env python3
"""Writes the spec files of results/future.md: per data set, small grids of the paper's future-work models
(Sec. VII) around the paper's MF-ESN selection (Table V, as in mf-paper/src/lib.rs).

Grid order sets the tie-break (selection keeps the first strictly best configuration, the first axis outermost):
the sparser, shallower, smaller-step configuration comes first, so a tie keeps it."""
import os

# Table V: omega, beta, rho, gamma, s, dt (mf-paper/src/lib.rs TABLE_V); Wafer has no test split here.
TABLE_V = {
    "JapaneseVowels": (1.0, 0.001, 0.8, 1.0, 5.0, 0.01),
    "SyntheticControl": (1.0, 0.1, 0.99, 0.95, 5.0, 0.1),
    "ECG5000": (1.0, 0.0, 0.9, 1.0, 5.0, 0.01),
    "GunPoint": (1.0, 0.0, 0.99, 0.95, 5.0, 0.1),
    "Epilepsy": (1.0, 0.001, 0.9, 1.0, 1.0, 0.01),
    "Coffee": (10.0, 1.0, 0.9, 0.95, 5.0, 0.01),
    "FloodModeling1": (0.1, 0.0, 0.8, 1.0, 5.0, 0.01),
    "FloodModeling2": (0.1, 1.0, 0.95, 1.0, 5.0, 0.01),
    "FloodModeling3": (0.1, 0.001, 0.95, 1.0, 5.0, 0.01),
}
NAMES = ("omega", "beta", "rho", "gamma", "s", "dt")
# Table VI (MF-RNN): lr, gamma, s, dt (mf-paper/src/lib.rs TABLE_VI).
TABLE_VI = {
    "JapaneseVowels": (0.01, 0.8, 1.0, 0.001),
    "SyntheticControl": (0.001, 0.8, 5.0, 0.1),
    "ECG5000": (0.001, 0.95, 1.0, 0.1),
    "GunPoint": (0.001, 0.8, 5.0, 0.1),
    "Epilepsy": (0.001, 1.0, 5.0, 0.001),
    "Coffee": (0.001, 0.8, 5.0, 0.001),
    "FloodModeling1": (0.001, 1.0, 5.0, 0.001),
    "FloodModeling2": (0.001, 1.0, 1.0, 0.001),
    "FloodModeling3": (0.001, 1.0, 1.0, 0.001),
}
RHO = (0.8, 0.9, 0.95, 0.99)  # Table III


def fmt(v):
    return repr(float(v)) if v != int(v) or abs(v) >= 1e15 else f"{v:.1f}"


def axes(d):
    return "\n".join(f"{k} = [{', '.join(fmt(v) for v in vs)}]" for k, vs in d)


def rho_neighbour(rho):
    i = RHO.index(rho)
    return RHO[i + 1] if i + 1 < len(RHO) else RHO[i - 1]


def selection(ds, **override):
    sel = dict(zip(NAMES, TABLE_V[ds]))
    out = []
    for k in NAMES:
        out.append((k, override.pop(k, [sel[k]])))
    return out


HEAD = 'datasets = ["{ds}"]\nmodels = [{models}]\ndraws = 5\ntrials = 5\nseed = 2025\n'


def spec(ds, models, grids):
    text = HEAD.format(ds=ds, models=", ".join(f'"{m}"' for m in models))
    for model, grid in grids:
        text += f"\n[grid.{model}]\n{axes(grid)}\n"
    return text


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "specs")
    os.makedirs(out, exist_ok=True)
    for ds, values in TABLE_V.items():
        sel = dict(zip(NAMES, values))
        dt10 = [sel["dt"], round(sel["dt"] * 10, 10)]
        files = {
            # The MF-ESN at the paper's selection (one configuration), and the deep MF-ESN around it.
            "deep": spec(ds, ["mf-esn", "deep-mf-esn"], [
                ("mf-esn", selection(ds)),
                ("deep-mf-esn", [("layers", [2, 3]), ("inter_scaling", [0.5, 1])] + selection(ds)),
            ]),
            "sparse": spec(ds, ["mf-esn"], [
                ("mf-esn", [("density", [0.02, 0.1, 0.3])]
                 + selection(ds, rho=[sel["rho"], rho_neighbour(sel["rho"])])),
            ]),
            # The same two steps under the paper's single Euler step, ten Euler substeps and the exact step.
            "euler1": spec(ds, ["mf-esn"], [("mf-esn", selection(ds, dt=dt10))]),
            "euler10": spec(ds, ["mf-esn"], [
                ("mf-esn", [("integrator", [0]), ("substeps", [10])] + selection(ds, dt=dt10)),
            ]),
            "exact": spec(ds, ["mf-esn"], [
                ("mf-esn", [("integrator", [1])] + selection(ds, dt=dt10)),
            ]),
        }
        # The hybrid MF-RNN at its preset (Table VI with Table V's reservoir scalings), W_h frozen or fine-tuned:
        # one validation training per configuration (trainable models take no draws), frozen first.
        lr, gamma, slope, dt = TABLE_VI[ds]
        files["hybrid"] = spec(ds, ["hybrid-mf-rnn"], [
            ("hybrid-mf-rnn", [("frozen", [1, 0]), ("lr", [lr]), ("gamma", [gamma]), ("s", [slope]), ("dt", [dt]),
                               ("rho", [sel["rho"]]), ("omega", [sel["omega"]]), ("beta", [sel["beta"]])]),
        ])
        for name, text in files.items():
            with open(os.path.join(out, f"{ds}-{name}.toml"), "w") as f:
                f.write(text)


if __name__ == "__main__":
    main()
