"""Estimators in scikit-learn's tools, input checks and errors, data sets and sweeps."""

import subprocess

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import memristive


def test_grid_search_and_pipeline(toy):
    X, y = toy
    grid = {"ridge_lambda": [1.0, 0.01]}
    search = GridSearchCV(memristive.MFESNClassifier(random_state=0), grid, cv=3).fit(X, y)
    # Cross-validated accuracies 0.901 and 0.949.
    assert search.best_params_ == {"ridge_lambda": 0.01}
    assert search.best_score_ > 0.94
    pipe = make_pipeline(memristive.MFESNTransformer(random_state=0, omega=5.0), LogisticRegression(C=100.0))
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9


def test_every_hyper_parameter_takes_effect(toy):
    X, y = toy
    base = memristive.MFESNClassifier(random_state=0).fit(X, y).decision_function(X)
    for name, value in [("rho", 0.5), ("integrator", "exact"), ("adc_bits", 4), ("ridge_lambda", 0.01)]:
        other = memristive.MFESNClassifier(random_state=0, **{name: value}).fit(X, y).decision_function(X)
        assert not np.array_equal(other, base), name
    desc = memristive.MFESNClassifier(random_state=0, integrator="exact", ridge_lambda=0.01).fit(X, y).description_
    assert desc["set"] == {"integrator": 1.0, "lambda": 0.01}


def test_errors_are_value_errors_with_mf_s_message(toy, mf_bin):
    X, y = toy
    with pytest.raises(ValueError) as python:
        memristive.MFESNClassifier(substeps=2000).fit(X, y)
    cli = subprocess.run(
        [mf_bin, "run", "-m", "mf-esn", "--set", "substeps=2000"], capture_output=True, text=True
    )
    assert cli.returncode != 0
    assert str(python.value) in cli.stderr
    with pytest.raises(ValueError, match="rho: `abc` is not a number"):
        memristive.MFESNClassifier(rho="abc").fit(X, y)
    with pytest.raises(ValueError, match="euler or exact|euler.*exact"):
        memristive.MFESNClassifier(integrator="rk4").fit(X, y)
    with pytest.raises(ValueError, match="infinity|inf"):
        memristive.MFESNClassifier().fit(np.where(X > 0.9, np.inf, X), y)
    with pytest.raises(ValueError, match="channels|features"):
        memristive.MFESNClassifier().fit(X, y).predict(np.concatenate([X, X], axis=1))
    with pytest.raises(ValueError, match="2 classes"):
        memristive.MFESNClassifier().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="random_state"):
        memristive.MFESNClassifier(random_state=-1).fit(X, y)
    with pytest.raises(ValueError, match="empty"):
        memristive.MFESNClassifier().fit(np.full_like(X, np.nan), y)


def test_missing_values_inside_a_series_are_interpolated(toy):
    X, y = toy
    clf = memristive.MFESNClassifier(random_state=0).fit(X, y)
    gap = X.copy()
    gap[:, :, 10] = np.nan
    filled = X.copy()
    filled[:, :, 10] = (X[:, :, 9] + X[:, :, 11]) / 2
    np.testing.assert_allclose(clf.decision_function(gap), clf.decision_function(filled), rtol=1e-6)


def test_load_dataset_finds_what_mf_finds(ecg5000):
    X, y, Xt, yt = ecg5000
    assert X.shape == (500, 1, 140) and Xt.shape == (4500, 1, 140)
    assert sorted(set(y)) == [1, 2, 3, 4, 5] and y.dtype.kind == "i"
    clf = memristive.MFESNClassifier(random_state=0).fit(X, y)
    assert clf.score(Xt, yt) > 0.85
    Xg, yg, Xgt, _ = memristive.load_dataset("synthetic-control")
    assert Xg.shape == (300, 1, 60) and len(set(yg)) == 6
    with pytest.raises(FileNotFoundError, match="mf data"):
        memristive.load_dataset("NoSuchSet", data_dir="/nonexistent")


SPEC = """datasets = ["synthetic-control"]
models = ["esn"]
draws = 2
trials = 2
n_units = 20
seed = 5
[grid.esn]
alpha = [0.2, 0.7]
"""


def test_sweep_resumes_and_results_are_an_arrow_table(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    first = memristive.sweep(spec, results=tmp_path / "results")
    assert first["done"] == 3 and first["failed"] == 0  # two validation jobs, one final job
    again = memristive.sweep(spec, results=tmp_path / "results")
    assert again["done"] == 0 and again["skipped"] == 3
    table = memristive.results(spec, results=tmp_path / "results")
    assert table.num_rows == 3
    frame = table.to_pandas()
    assert set(frame["model"]) == {"esn"}
    assert "score" in frame.columns or any("score" in c for c in frame.columns)
