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
