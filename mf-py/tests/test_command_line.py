"""The package and the `mf` command line fit, save and predict the same models."""

import json
import subprocess

import numpy as np
import pytest

import memristive


def mf(mf_bin, *args):
    out = subprocess.run([mf_bin, *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def mf_predict(mf_bin, model_dir, input_file):
    return json.loads(mf(mf_bin, "predict", model_dir, "--input", input_file, "--format", "json"))


def test_the_same_seed_fits_mf_fits_model(mf_bin, gunpoint, tmp_path):
    X, y, Xt, yt = gunpoint
    est = memristive.MFESNClassifier(random_state=3).fit(X, y)
    mf(mf_bin, "fit", "-m", "mf-esn", "-d", "GunPoint", "--seed", 3, "-o", tmp_path / "cli")
    cli = memristive.load(tmp_path / "cli")
    np.testing.assert_array_equal(est.decision_function(Xt), cli.decision_function(Xt))
    np.testing.assert_array_equal(est.predict(Xt), cli.predict(Xt))
    assert est.score(Xt, yt) == cli.description_["test_score"]
    # Another seed is another reservoir.
    other = memristive.MFESNClassifier(random_state=4).fit(X, y)
    assert not np.array_equal(other.decision_function(Xt), est.decision_function(Xt))


def test_the_paper_preset_is_one_call_away(mf_bin, gunpoint, tmp_path):
    X, y, Xt, yt = gunpoint
    est = memristive.MFESNClassifier.from_preset("GunPoint", random_state=0)
    assert est.rho == 0.99 and est.dt == 0.1  # Table V
    est.fit(X, y)
    mf(mf_bin, "fit", "-m", "mf-esn", "-d", "GunPoint", "--preset", "paper", "-o", tmp_path / "cli")
    cli = memristive.load(tmp_path / "cli")
    np.testing.assert_array_equal(est.decision_function(Xt), cli.decision_function(Xt))
    assert est.score(Xt, yt) == pytest.approx(cli.description_["test_score"], abs=0)
    # The loaded estimator carries the preset's hyper-parameters: refitting it gives the same model again.
    assert cli.get_params() == est.get_params()


def test_a_model_saved_from_python_predicts_with_mf(mf_bin, gunpoint, tmp_path):
    X, y, Xt, yt = gunpoint
    est = memristive.ESNClassifier(random_state=5, rho=0.8, normalise="zscore").fit(X, y)
    est.save(tmp_path / "py")
    got = mf_predict(mf_bin, tmp_path / "py", memristive.data_dir() / "GunPoint" / "GunPoint_TEST.ts")
    assert got["score"] == est.score(Xt, yt)
    labels = np.array([int(p["label"]) for p in got["predictions"]])
    np.testing.assert_array_equal(labels, est.predict(Xt))
    scores = np.array([p["scores"] for p in got["predictions"]])
    np.testing.assert_array_equal(scores[:, 1], est.decision_function(Xt))


def test_a_trained_regressor_round_trips_through_the_command_line(mf_bin, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 2, 12))
    y = X[:, 0, -3:].sum(axis=1)
    est = memristive.RNNRegressor(random_state=2, n_units=6, max_epochs=5).fit(X, y)
    est.save(tmp_path / "rnn")
    back = memristive.load(tmp_path / "rnn")
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert back.get_params()["n_units"] == 6 and back.get_params()["max_epochs"] == 5
    assert back.random_state == 2
