"""What scikit-learn's checks marked as expected failures (test_estimator_checks.py) would also have checked."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.preprocessing import StandardScaler

import memristive

RESERVOIRS = ["MFESN", "ESN", "DeepMFESN"]


@pytest.mark.parametrize("stem", RESERVOIRS + ["MFRNN", "RNN"])
def test_classifiers_learn_the_blobs(stem):
    # check_classifiers_train's accuracy bound, on its own data: 300 points of 3 blobs as series of 2 steps.
    X, y = make_blobs(n_samples=300, random_state=0)
    X = StandardScaler().fit_transform(X)
    params = {} if stem in RESERVOIRS else dict(max_epochs=300, patience=20)
    if stem == "MFESN":
        # Two Euler steps of dt = 0.01 move the MF states little, and the paper's ridge lambda = 1 then
        # shrinks the readout to 0.80 accuracy; a lambda of 0.01 (inside the paper's grid) gives 0.91.
        params["ridge_lambda"] = 0.01
    clf = getattr(memristive, stem + "Classifier")(random_state=0, **params).fit(X, y)
    assert clf.score(X, y) > 0.83
    assert clf.n_features_in_ == 1  # one channel
    with pytest.raises(ValueError, match="features"):
        clf.predict(X.reshape(300, 2, 1))  # two channels of one step each


@pytest.mark.parametrize("stem", RESERVOIRS)
def test_transformers_are_deterministic_and_shaped(stem):
    X, _ = make_blobs(n_samples=30, n_features=5, random_state=0)
    cls = getattr(memristive, stem + "Transformer")
    a = cls(random_state=1).fit(X).transform(X)
    b = cls(random_state=1).fit_transform(X)
    n_units = 100 * (2 if stem == "DeepMFESN" else 1)
    assert a.shape == (30, n_units)
    np.testing.assert_array_equal(a, b)
    # Series of another length are transformed too (the reservoir runs along any length).
    assert cls(random_state=1).fit(X).transform(X[:, :3]).shape == (30, n_units)


def test_series_of_any_length_predict(toy):
    X, y = toy
    clf = memristive.MFESNClassifier(random_state=0).fit(X, y)
    # A list of unequal-length 2-D series is NaN-padded; the shorter series end where their values end.
    ragged = [X[0, :, :20], X[1, :, :30]]
    padded = np.full((2, 1, 30), np.nan)
    padded[0, :, :20] = X[0, :, :20]
    padded[1] = X[1]
    np.testing.assert_array_equal(clf.decision_function(ragged), clf.decision_function(padded))
    # Padding a series further changes nothing.
    wider = np.concatenate([padded, np.full((2, 1, 7), np.nan)], axis=2)
    np.testing.assert_array_equal(clf.decision_function(wider), clf.decision_function(padded))
