"""Pickling and model directories."""

import pickle

import numpy as np
import pytest

import memristive


@pytest.mark.parametrize(
    "name", ["MFESNClassifier", "ESNRegressor", "DeepMFESNClassifier", "MFRNNClassifier", "MFESNTransformer"]
)
def test_pickle_round_trips_bit_for_bit(name, toy):
    X, y = toy
    cls = getattr(memristive, name)
    params = {} if cls._reservoir else dict(n_units=8, max_epochs=3)
    est = cls(random_state=7, **params)
    est.fit(X, y.astype(float) if name.endswith("Regressor") else y)
    back = pickle.loads(pickle.dumps(est))
    method = "transform" if name.endswith("Transformer") else "predict"
    np.testing.assert_array_equal(getattr(back, method)(X), getattr(est, method)(X))
    if hasattr(est, "decision_function"):
        np.testing.assert_array_equal(back.decision_function(X), est.decision_function(X))
    if hasattr(est, "predict_proba"):
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    assert back.get_params() == est.get_params()


def test_a_damaged_directory_is_refused(toy, tmp_path):
    X, y = toy
    memristive.MFESNClassifier(random_state=0).fit(X, y).save(tmp_path / "m")
    weights = tmp_path / "m" / "weights" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum"):
        memristive.load(tmp_path / "m")
    with pytest.raises(FileNotFoundError):
        memristive.load(tmp_path / "nothing")


def test_probabilities_sum_to_one(toy):
    X, y = toy
    clf = memristive.RNNClassifier(random_state=0, n_units=8, max_epochs=3).fit(X, y)
    p = clf.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[p.argmax(axis=1)], clf.predict(X))
    assert not hasattr(memristive.MFESNClassifier(), "predict_proba")
    assert not hasattr(clf, "decision_function")
