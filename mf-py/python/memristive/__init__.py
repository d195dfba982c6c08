"""Memristive-friendly echo state and recurrent networks (Pistolesi et al., APL Machine Learning 3, 016117, 2025)
as scikit-learn estimators.

Every model of the ``mf`` command line is here, for whole-series classification and regression
(``MFESNClassifier``, ``ESNRegressor``, ``MFRNNClassifier``, ...), as a feature transformer for reservoir models
(``MFESNTransformer``) and as a closed-loop forecaster (``MFESNForecaster``). Series come as aeon writes them:
``(n_cases, n_channels, n_timepoints)``, ``(n_cases, n_timepoints)`` for univariate series, and unequal lengths
as NaN padding or a list of 2-D arrays.

A fitted estimator pickles, and ``est.save(dir)`` writes the model directory ``mf fit --out`` writes, which
``mf predict`` reads and :func:`load` reads back. Data sets come from the same data directory as ``mf``'s
(:func:`load_dataset`), and specs run and resume with :func:`sweep` into the same store as ``mf sweep``.
"""

from __future__ import annotations

import json

import numpy as np

from . import _native
from ._estimators import _labels_array, as_series, build_all, class_stem, python_name

__version__ = _native.__version__

# The estimator classes, generated once from the models the library registers.
_CLASSES = build_all()
globals().update(_CLASSES)
__all__ = sorted(_CLASSES) + [
    "SequenceModel",
    "load",
    "load_dataset",
    "memory_capacity",
    "results",
    "sweep",
    "data_dir",
    "as_series",
]


def data_dir(data_dir=None):
    """The data directory ``mf`` reads: ``data_dir``, else ``$MF_DATA_DIR``, else the user cache directory."""
    return _native.data_dir(None if data_dir is None else str(data_dir))


def _split(arrays):
    x, labels, targets = arrays
    return x, (_labels_array(labels) if labels is not None else targets)


def load_dataset(name, data_dir=None):
    """``(X_train, y_train, X_test, y_test)`` of a data set, found as ``mf`` finds it.

    ``name`` is a data set in the data directory (``"ECG5000"``), a generated one (``"synthetic-control"``)
    or a path to a training file. ``X`` is ``(n_cases, n_channels, n_timepoints)`` float64 with NaN after each
    series' end; ``y`` holds class labels (numbers when every label is one) or regression targets. ``X_test``
    and ``y_test`` are None when the data set has no test split.
    """
    train, test = _native.load_dataset(str(name), None if data_dir is None else str(data_dir))
    X_train, y_train = _split(train)
    X_test, y_test = _split(test) if test is not None else (None, None)
    return X_train, y_train, X_test, y_test


class SequenceModel:
    """A sequence model read from a directory that ``mf fit`` wrote on a sequence task (or a forecaster's
    ``save``): a reservoir stopped where its signal ended, with its readout and the readout's fit so far. A
    forecaster predicts its signal's next sample and generates its continuation; a map predicts each step's targets
    from its inputs. Values go in and come out in the signal's units (a z-scored signal's statistics are kept)."""

    def __init__(self, native):
        self._native = native

    @property
    def description(self):
        """What ``model.json`` says: kind (``forecaster`` or ``map``), model, hyper-parameters, seeds, test score."""
        return json.loads(self._native.description)

    @property
    def kind(self):
        """``"forecaster"`` or ``"map"``."""
        return self.description["kind"]

    def predict(self, horizon):
        """A forecaster's next ``horizon`` samples, ``(horizon, n_channels)``, each fed back as the next input."""
        return self._native.generate(int(horizon))

    def step(self, x, y=None, online=False):
        """One step: a forecaster's next sample ``x`` (then its prediction of the sample after it), or a map's
        inputs ``x`` (its prediction of this step's targets ``y``, which the readout learns when ``online``)."""
        x = np.atleast_1d(np.asarray(x, dtype=np.float64)).tolist()
        y = None if y is None else np.atleast_1d(np.asarray(y, dtype=np.float64)).tolist()
        return self._native.step(x, y, bool(online))

    def update(self, y, online=True):
        """A forecaster takes its signal's next samples ``y`` (``(k,)`` or ``(k, n_channels)``) in time order, each
        learnt as the target of its prediction when ``online``, then the next input."""
        y = np.asarray(y, dtype=np.float64)
        self._native.observe(y.reshape(-1, 1) if y.ndim == 1 else y, bool(online))
        return self

    def save(self, path):
        """Writes the directory ``mf predict`` reads."""
        self._native.save(str(path))

    def __getstate__(self):
        # The directory's files: unpickling reads them back to the same state, readout and fit.
        return {"files": self._native.to_files()}

    def __setstate__(self, state):
        self._native = _native.Forecaster.from_files(state["files"])


def load(path):
    """The estimator of a model directory written by ``mf fit --out`` or ``save``, fitted and ready to predict; a
    directory of a sequence model (``mf fit`` on a sequence task, a forecaster's ``save``) gives a
    :class:`SequenceModel`."""
    try:
        with open(f"{path}/model.json") as f:
            sequence = json.load(f).get("format") == "memristive-sequence-model"
    except (OSError, ValueError):
        sequence = False
    if sequence:
        return SequenceModel(_native.Forecaster.load(str(path)))
    model = _native.Model.load(str(path))
    desc = json.loads(model.description)
    metric = desc["metric"]
    kind = "Classifier" if metric == "accuracy" else "Regressor"
    cls = _CLASSES[class_stem(model.model) + kind]
    by_mf = {mf: (py, spec) for py, mf, spec in cls._specs}
    params = {}
    # A model fitted with `mf fit --preset paper` records the data set whose preset it started from and, in
    # `set`, only what --set changed over it.
    values = dict(_native.preset(model.model, desc["dataset"]) or {}) if desc["preset"] else {}
    values.update(desc["set"])
    for name, value in values.items():
        py, spec = by_mf[name]
        if spec["choices"]:
            value = next(c for c, v in spec["choices"] if v == value)
        elif spec["integer"]:
            value = int(value)
        params[py] = value
    params["random_state"] = desc["seed"]
    if desc.get("normalise") is not None:
        params["normalise"] = "zscore"
    if desc.get("protocol") is not None:
        params["protocol"] = desc["protocol"]
    est = cls(**params)
    est.model_ = model
    est.n_features_in_ = model.n_inputs
    if kind == "Classifier":
        labels = _labels_array(model.classes)
        order = np.argsort(labels, kind="stable")
        est.classes_ = labels[order]
        est._order = np.argsort(order)
    return est


def memory_capacity(model="mf-esn", random_state=0, trials=1, **params):
    """The linear memory capacity (Jaeger 2002) of reservoirs of ``model`` with hyper-parameters ``params``.

    Returns ``(mc, std, curve)``: the mean over ``trials`` reservoirs (trial ``i`` drawn from the seed
    ``random_state`` as ``mf run --trials`` draws it), its standard deviation, and the mean curve ``MC_k`` for
    delays ``k = 1..2N`` (``mc`` is its sum, at most ``n_units``). Same numbers as
    ``mf run --dataset memory-capacity``.
    """
    native = {}
    names = {python_name(p["name"]): p["name"] for m in _native.models() if m["id"] == model for p in m["params"]}
    for k, v in params.items():
        if k not in names:
            raise ValueError(f"{model} has no hyper-parameter {k!r} (it has: {', '.join(names)})")
        native[names[k]] = v
    return _native.memory_capacity(model, native, int(random_state), int(trials))


def sweep(spec, results="results", threads=0, data_dir=None, retry_failed=False):
    """Runs or resumes the sweep of the spec file ``spec`` into ``<results>/<hash>/``, as ``mf sweep`` does.

    Jobs already stored are skipped, so a sweep cut short (Ctrl-C, a crash) resumes where it stopped.
    Returns ``{"done", "failed", "skipped", "store"}``; raises when any recorded job failed.
    """
    done, failed, skipped, store = _native.sweep(
        str(spec), str(results), int(threads), None if data_dir is None else str(data_dir), bool(retry_failed)
    )
    return {"done": done, "failed": failed, "skipped": skipped, "store": store}


def results(spec, results="results"):
    """The job records of the spec's store as a ``pyarrow.Table`` (one row per job; ``to_pandas()`` makes a
    frame). The columns are those of ``mf table --format arrow``; the buffers cross without a copy."""
    import pyarrow as pa

    batch = pa.record_batch(_native.results(str(spec), str(results)))
    return pa.Table.from_batches([batch])
