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
