"""Shared fixtures: the data directory, the `mf` binary of the same build, small data sets."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import memristive

REQUIRED = bool(os.environ.get("CI")) or os.environ.get("MF_REQUIRE_DATA") == "1"


@pytest.fixture(scope="session")
def mf_bin():
    """The `mf` command line of the same build (cargo test sets MF_BIN), or `mf` on PATH."""
    path = os.environ.get("MF_BIN") or shutil.which("mf")
    if not path or not Path(path).is_file():
        if REQUIRED:
            pytest.fail(f"the mf binary is missing ({path}); cargo test --workspace builds it")
        pytest.skip("no mf binary to compare with")
    return path


def dataset(name):
    """A data set of the paper from the data directory; skipped (failed under CI) when it is not there."""
    try:
        return memristive.load_dataset(name)
    except FileNotFoundError as e:
        if REQUIRED:
            pytest.fail(f"{name} is not in the data directory: {e}")
        pytest.skip(f"{name} is not in the data directory")


@pytest.fixture(scope="session")
def ecg5000():
    return dataset("ECG5000")


@pytest.fixture(scope="session")
def gunpoint():
    return dataset("GunPoint")


@pytest.fixture(scope="session")
def toy():
    """Two classes of sine waves of unequal frequency, 40 series of 30 steps, and their test series."""
    rng = np.random.default_rng(0)
    t = np.arange(30)
    y = np.repeat([0, 1], 20)
    X = np.stack([np.sin(t * (0.2 + 0.3 * c) + rng.uniform(0, 6)) for c in y])[:, None, :]
    X += 0.05 * rng.standard_normal(X.shape)
    return X, y
