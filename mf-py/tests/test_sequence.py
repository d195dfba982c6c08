"""Forecasters and memory capacity."""

import json
import subprocess

import numpy as np
import pytest

import memristive


def sine(n):
    return np.sin(2 * np.pi * np.arange(n) / 25.0)


def test_a_forecaster_continues_a_sine():
    y = sine(1100)
    f = memristive.ESNForecaster(random_state=0, washout=100).fit(y[:1000])
    out = f.predict(50)
    assert out.shape == (50,)
    nrmse = np.sqrt(np.mean((out - y[1000:1050]) ** 2) / np.var(y))
    assert nrmse < 0.1
    # Generation starts where the signal ended, every time.
    np.testing.assert_array_equal(f.predict(10), out[:10])


def test_a_multichannel_forecaster_and_its_pickle():
    import pickle

    y = np.stack([sine(600), np.cos(2 * np.pi * np.arange(600) / 25.0)], axis=1)
    f = memristive.MFESNForecaster(random_state=1, washout=50).fit(y)
    out = f.predict(5)
    assert out.shape == (5, 2)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(f)).predict(5), out)
    with pytest.raises(ValueError, match="washout"):
        memristive.MFESNForecaster(washout=600).fit(y)


def test_memory_capacity_is_mf_run_s(mf_bin):
    mc, std, curve = memristive.memory_capacity("esn", random_state=3, n_units=20)
    assert 0 < mc <= 20 and std == 0.0
    assert curve.shape == (40,) and np.isclose(curve.sum(), mc)
    out = subprocess.run(
        [mf_bin, "run", "-m", "esn", "-d", "memory-capacity", "--set", "n_units=20", "--seed", "3", "--trials", "1",
         "--json"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["mean"] == mc
    with pytest.raises(ValueError, match="hyper-parameter"):
        memristive.memory_capacity("esn", bogus=1)


def test_updating_online_is_fitting_on_the_whole_signal():
    import pickle

    y = sine(600) * np.cos(np.arange(600) / 40.0)
    for readout in ("rls", "ridge"):
        params = dict(random_state=2, washout=50, readout=readout, forgetting=1.0, ridge_lambda=1e-4)
        whole = memristive.ESNForecaster(**params).fit(y)
        part = memristive.ESNForecaster(**params).fit(y[:400])
        part.update(y[400:], online=True)
        if readout == "rls":
            np.testing.assert_array_equal(part.predict(30), whole.predict(30))
        else:
            np.testing.assert_allclose(part.predict(30), whole.predict(30), atol=1e-6)
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(part)).predict(30), part.predict(30))
    # Offline, the state moves on and the readout stays: not the whole signal's forecaster.
    offline = memristive.ESNForecaster(random_state=2, washout=50).fit(y[:400]).update(y[400:], online=False)
    assert not np.array_equal(offline.predict(30), memristive.ESNForecaster(random_state=2, washout=50).fit(y).predict(30))
    with pytest.raises(ValueError, match="channels"):
        offline.update(np.zeros((3, 2)))


def test_a_saved_forecaster_generates_with_mf_predict_and_loads_as_a_sequence_model(mf_bin, tmp_path):
    y = sine(800)
    f = memristive.ESNForecaster(random_state=4, washout=50, ridge_lambda=1e-6).fit(y)
    f.save(tmp_path / "f")
    assert f.description_["kind"] == "forecaster"
    out = subprocess.run([mf_bin, "predict", str(tmp_path / "f"), "--horizon", "6"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = [line.split(",") for line in out.stdout.splitlines()[1:]]
    assert [int(r[0]) for r in rows] == list(range(1, 7))
    np.testing.assert_array_equal([float(r[1]) for r in rows], f.predict(6))
    m = memristive.load(tmp_path / "f")
    assert isinstance(m, memristive.SequenceModel) and m.kind == "forecaster"
    np.testing.assert_array_equal(m.predict(6)[:, 0], f.predict(6))
    # Learning online sample by sample is the estimator's update on the same samples.
    nxt = sine(810)[800:]
    for v in nxt:
        m.step(v, online=True)
    f.update(nxt, online=True)
    np.testing.assert_allclose(m.predict(4)[:, 0], f.predict(4), rtol=1e-9, atol=1e-12)


def test_a_sequence_model_of_mf_fit_loads_and_maps_inputs_to_targets(mf_bin, tmp_path):
    d = tmp_path / "n"
    out = subprocess.run(
        [mf_bin, "fit", "-m", "esn", "-d", "narma10", "--set", "n_units=20", "--out", str(d)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    m = memristive.load(d)
    assert m.kind == "map" and m.description["test_score"] > 0
    import pickle

    twin = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(twin.step(0.1), m.step(0.1))
    p = m.step(0.2, 0.3, online=True)
    assert p.shape == (1,)
    with pytest.raises(ValueError, match="only a forecaster"):
        m.predict(3)
    with pytest.raises(ValueError, match="targets"):
        m.step(0.2, online=True)
