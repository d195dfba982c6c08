"""The estimators, generated from the models the Rust library registers.

Every class here is built by :func:`_build` from ``_native.models()``: the hyper-parameters, their defaults and
their help come from the typed declarations in ``mf-lab`` (``mf params`` prints the same list), so a
hyper-parameter added there appears here with no Python code.
"""

from __future__ import annotations

import json
import keyword
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from . import _native

# Hyper-parameter names that are Python keywords, and the argument names they take in Python.
_ALIASES = {"lambda": "ridge_lambda"}


def python_name(name):
    """The argument name of the hyper-parameter ``name`` (``lambda`` is ``ridge_lambda``)."""
    if name in _ALIASES:
        return _ALIASES[name]
    if keyword.iskeyword(name):
        return name + "_value"
    return name


def class_stem(model_id):
    """``mf-esn`` -> ``MFESN``, ``deep-mf-esn`` -> ``DeepMFESN``."""
    upper = {"mf": "MF", "esn": "ESN", "rnn": "RNN"}
    return "".join(upper.get(p, p.capitalize()) for p in model_id.split("-"))


def as_series(X):
    """Series as a float64 array ``(n_cases, n_channels, n_timepoints)``, NaN after each series' end.

    Accepts aeon's layouts: a 3-D array, a 2-D array ``(n_cases, n_timepoints)`` of univariate series, or a
    list of 2-D arrays ``(n_channels, n_timepoints_i)`` (or 1-D arrays) of unequal lengths, padded with NaN.
    Infinite values are refused; NaN inside a series is a missing value, interpolated as in a data file.
    """
    if isinstance(X, (list, tuple)) and len(X) > 0 and all(
        hasattr(x, "shape") and np.ndim(x) in (1, 2) for x in X
    ):
        series = [np.atleast_2d(np.asarray(x, dtype=np.float64)) for x in X]
        channels = {s.shape[0] for s in series}
        if len(channels) != 1:
            raise ValueError(
                f"every series must have the same number of channels, found {sorted(channels)}"
            )
        length = max(s.shape[1] for s in series)
        padded = np.full((len(series), channels.pop(), length), np.nan)
        for i, s in enumerate(series):
            padded[i, :, : s.shape[1]] = s
        X = padded
    X = check_array(
        X, dtype=np.float64, allow_nd=True, ensure_all_finite="allow-nan", ensure_min_features=1
    )
    if X.ndim == 2:
        X = X[:, np.newaxis, :]
    elif X.ndim != 3:
        raise ValueError(
            f"expected series as (n_cases, n_channels, n_timepoints) or (n_cases, n_timepoints), got {X.ndim} dimensions"
        )
    if X.shape[2] == 0:
        raise ValueError("the series have no time steps")
    return np.ascontiguousarray(X)


def _seed(random_state):
    """The u64 seed of ``random_state``: an int as it is (``mf fit --seed``), else one drawn from it."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, not {random_state}")
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _labels_array(labels):
    """Class labels written as text, as numbers when every one is a number (the way ``mf`` matches them)."""
    for kind in (int, float):
        try:
            return np.array([kind(label) for label in labels])
        except ValueError:
            pass
    return np.array(labels, dtype=object)


class _Base(BaseEstimator):
    """What every estimator shares: hyper-parameters to the native model, input checks, persistence."""

    _model_id = None
    _specs = ()  # (python name, mf name, spec dict) per hyper-parameter
    _reservoir = True

    def _params(self):
        """The hyper-parameters that differ from the model's defaults, by their names in mf (as ``mf fit --set``
        records them in the model's description)."""
        params = {}
        for py, mf, spec in self._specs:
            value = getattr(self, py)
            if isinstance(value, str):
                number = {c.lower(): v for c, v in spec["choices"] or []}.get(value.strip().lower())
                if number is None:
                    params[mf] = value  # refused by the library, naming the accepted choices
                    continue
                value = number
            elif isinstance(value, (bool, np.bool_)):
                value = float(value)
            elif isinstance(value, numbers.Real):
                value = float(value)
            else:
                choices = " or one of " + ", ".join(c for c, _ in spec["choices"]) if spec["choices"] else ""
                raise ValueError(f"{py} must be a number{choices}, not {value!r}")
            if value != spec["default"]:
                params[mf] = value
        return params

    def _check_fit_X(self, X):
        X = as_series(X)
        self.n_features_in_ = X.shape[1]
        return X

    def _check_X(self, X):
        check_is_fitted(self, "model_")
        X = as_series(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features (channels), but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return X

    def _fit_native(self, X, **truth):
        kwargs = {"seed": _seed(self.random_state), "normalise": self.normalise}
        if not self._reservoir:
            kwargs["protocol"] = self.protocol
        return _native.Model.fit(self._model_id, self._params(), X, **truth, **kwargs)

    def save(self, path):
        """Writes the fitted model as the directory ``mf fit --out`` writes; ``mf predict`` reads it."""
        check_is_fitted(self, "model_")
        self.model_.save(str(path))

    @property
    def description_(self):
        """What the model directory's ``model.json`` says: every hyper-parameter, seeds, data fingerprint."""
        check_is_fitted(self, "model_")
        return json.loads(self.model_.description)

    def __getstate__(self):
        state = self.__dict__.copy()
        if "model_" in state:
            state["model_"] = self.model_.to_files()
        return state

    def __setstate__(self, state):
        if "model_" in state:
            state["model_"] = _native.Model.from_files(state["model_"])
        self.__dict__.update(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags

    @classmethod
    def from_preset(cls, dataset, **params):
        """The estimator with the hyper-parameters the paper selected on ``dataset`` (Tables V-VIII), as
        ``mf fit --preset paper`` starts from; ``params`` set others over them."""
        preset = _native.preset(cls._model_id, dataset)
        if preset is None:
            raise ValueError(f"the paper has no {cls._model_id} preset for {dataset}")
        by_mf = {mf: (py, spec) for py, mf, spec in cls._specs}
        values = {}
        for mf, v in preset.items():
            py, spec = by_mf[mf]
            values[py] = int(v) if spec["integer"] else v
        values.update(params)
        return cls(**values)


class _Classifier(ClassifierMixin, _Base):
    def fit(self, X, y):
        """Fits on series ``X`` with class labels ``y``."""
        X = self._check_fit_X(X)
        y = column_or_1d(y, warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} series but y has {len(y)} labels")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"the training data hold one class ({self.classes_[0]!r}); a classifier needs at least 2 classes"
            )
        model = self._fit_native(X, labels=[str(v) for v in y])
        position = {str(c): i for i, c in enumerate(self.classes_)}
        try:
            self._order = np.array([position[c] for c in model.classes])
        except KeyError as e:  # labels that mf reads as one number, e.g. "1" and "01"
            raise ValueError(
                f"the labels {[str(c) for c in self.classes_]} name fewer classes when read as numbers; "
                f"give labels that differ as numbers or as text only"
            ) from e
        self.model_ = model
        return self

    def _scores(self, X):
        X = self._check_X(X)
        classes, scores = self.model_.predict(X)
        # The native class order is the data set's; classes_ is sorted as numpy sorts.
        ordered = np.empty_like(scores)
        ordered[:, self._order] = scores
        return self._order[classes], ordered

    def predict(self, X):
        """The predicted class of every series."""
        classes, _ = self._scores(X)
        return self.classes_[classes]


class _Regressor(RegressorMixin, _Base):
    def fit(self, X, y):
        """Fits on series ``X`` with one real target per series ``y``."""
        X = self._check_fit_X(X)
        y = column_or_1d(y, warn=True).astype(np.float64)
        if len(y) != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} series but y has {len(y)} targets")
        if not np.all(np.isfinite(y)):
            raise ValueError("y holds NaN or infinity")
        self.model_ = self._fit_native(X, targets=y)
        return self

    def predict(self, X):
        """The predicted target of every series."""
        X = self._check_X(X)
        return self.model_.predict(X)[1][:, 0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Reservoir models of 100 units on a few features are not expected to explain half the variance of
        # scikit-learn's random regression problems.
        tags.regressor_tags.poor_score = True
        return tags


def _decision_function(self, X):
    """The ridge readout's decision values: one per class, or for two classes that of ``classes_[1]``."""
    scores = self._scores(X)[1]
    return scores[:, 1] if len(self.classes_) == 2 else scores


def _predict_proba(self, X):
    """Class probabilities (softmax, or sigmoid for two classes), columns in the order of ``classes_``."""
    return self._scores(X)[1]


class _Transformer(TransformerMixin, _Base):
    def fit(self, X, y=None):
        """Draws the reservoir (its readout is not used); ``y`` is ignored."""
        X = self._check_fit_X(X)
        self.model_ = self._fit_native(X)
        return self

    def transform(self, X):
        """The reservoir's last state of every series as the readout reads it, ``(n_cases, n_units)``."""
        X = self._check_X(X)
        return self.model_.features(X)


class _Forecaster(_Base):
    """A reservoir fitted on one signal to predict its next sample, generating its continuation in closed loop."""

    def fit(self, y):
        """Fits on the signal ``y``, ``(n_timepoints,)`` or ``(n_timepoints, n_channels)``: each state after the
        washout predicts the next sample."""
        y = np.asarray(y, dtype=np.float64)
        self._univariate = y.ndim == 1
        y = check_array(y.reshape(-1, 1) if y.ndim == 1 else y, dtype=np.float64, ensure_min_samples=2)
        self.n_features_in_ = y.shape[1]
        self._signal = y
        self._observed = []
        self._refit()
        return self

    def predict(self, horizon):
        """The next ``horizon`` samples after the signal, each prediction fed back as the next input."""
        check_is_fitted(self, "forecaster_")
        out = self.forecaster_.generate(int(horizon))
        return out[:, 0] if self._univariate else out

    def update(self, y, online=True):
        """Takes the signal's next samples ``y`` (as ``fit`` takes a signal), in time order: each is first the target
        of the prediction made for it, which the readout learns when ``online`` (recursive least squares row by
        row with ``readout="rls"`` and its ``forgetting``; the ridge's normal equations otherwise), then the next
        input. Fitting on a signal and updating online with its continuation gives the forecaster fitted on the
        whole signal. ``predict`` then continues from the last sample given."""
        check_is_fitted(self, "forecaster_")
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        y = check_array(y, dtype=np.float64, ensure_min_samples=0)
        self.forecaster_.observe(y, bool(online))
        self._observed.append((y, bool(online)))
        return self

    def save(self, path):
        """Writes the forecaster where its signal left it as the directory ``mf fit`` writes on a sequence task:
        ``mf predict DIR --horizon H`` generates from it, ``--stream [--online]`` goes on along new samples, and
        :func:`memristive.load` reads it back as a :class:`memristive.SequenceModel`."""
        check_is_fitted(self, "forecaster_")
        self.forecaster_.save(str(path))

    @property
    def description_(self):
        """What the directory's ``model.json`` says: every hyper-parameter, seeds, washout, rows fitted on."""
        check_is_fitted(self, "forecaster_")
        return json.loads(self.forecaster_.description)

    def _refit(self):
        self.forecaster_ = _native.Forecaster.fit(
            self._model_id, self._params(), self._signal, int(self.washout), _seed(self.random_state)
        )
        for y, online in self._observed:
            self.forecaster_.observe(y, online)

    def __getstate__(self):
        # Rebuilt on unpickling: the same signal and seed give the same reservoir and readout, and the updates are
        # given again in their order.
        state = self.__dict__.copy()
        state.pop("forecaster_", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "_signal" in state:
            self._refit()


def _default(spec):
    if spec["choices"]:
        return next(name for name, v in spec["choices"] if v == spec["default"])
    if spec["integer"]:
        return int(spec["default"])
    return spec["default"]


def _doc(title, model, extra):
    lines = [
        f"{title}",
        "",
        f"The {model['name']} model of the Rust library ``mf-lab`` (``mf --model {model['id']}``).",
        "",
        "Parameters",
        "----------",
    ]
    for p in model["params"]:
        lines.append(f"{python_name(p['name'])} : {p['kind']}, default={_default(p)!r}")
        lines.append(f"    {p['help']}" + (f" (``{p['name']}`` in mf)" if python_name(p["name"]) != p["name"] else ""))
    for name, kind, default, text in extra:
        lines.append(f"{name} : {kind}, default={default!r}")
        lines.append(f"    {text}")
    return "\n".join(lines) + "\n"


_COMMON = [
    (
        "normalise",
        "{'none', 'zscore'}",
        "none",
        "Input normalisation: 'zscore' scales each channel by its training mean and standard deviation "
        "(kept with the model); 'none' takes the values as given, the paper's setting.",
    ),
    (
        "random_state",
        "int, RandomState or None",
        None,
        "Seed of every random draw: an int is ``mf fit --seed``'s seed, so the same int gives the model "
        "the command line fits.",
    ),
]
_TRAINABLE = [
    (
        "protocol",
        "{'reference', 'fresh-split'}",
        "reference",
        "Early stopping: 'reference' stops on the training loss after `patience` epochs and keeps the last "
        "weights (the authors'); 'fresh-split' holds out 20% and restores the best weights.",
    ),
]
_FORECAST = [
    ("washout", "int", 100, "Steps at the start of the signal left out of the readout's fit."),
    (
        "random_state",
        "int, RandomState or None",
        None,
        "Seed of the reservoir's draw.",
    ),
]


def _build(model, kind):
    """The estimator class of ``kind`` ('Classifier', 'Regressor', 'Transformer', 'Forecaster') for ``model``."""
    specs = tuple((python_name(p["name"]), p["name"], p) for p in model["params"])
    if kind == "Forecaster":
        extra = _FORECAST
    else:
        extra = _COMMON + ([] if model["reservoir"] else _TRAINABLE)
    arguments = [(py, _default(spec)) for py, _, spec in specs] + [(n, d) for n, _, d, _ in extra]
    source = "def __init__(self, *, {}):\n{}\n".format(
        ", ".join(f"{n}={d!r}" for n, d in arguments),
        "\n".join(f"    self.{n} = {n}" for n, _ in arguments),
    )
    namespace = {}
    exec(source, namespace)  # noqa: S102 - the names come from the library's declarations
    init = namespace["__init__"]
    base = {
        "Classifier": _Classifier,
        "Regressor": _Regressor,
        "Transformer": _Transformer,
        "Forecaster": _Forecaster,
    }[kind]
    name = class_stem(model["id"]) + kind
    what = {
        "Classifier": "classifier of whole series",
        "Regressor": "regressor of whole series (one target per series)",
        "Transformer": "transformer: the reservoir's last states as features",
        "Forecaster": "forecaster: next-step prediction, closed-loop generation",
    }[kind]
    attrs = {
        "__init__": init,
        "__doc__": _doc(f"{model['name']} {what}.", model, extra),
        "__module__": "memristive",
        "_model_id": model["id"],
        "_specs": specs,
        "_reservoir": model["reservoir"],
    }
    init.__qualname__ = f"{name}.__init__"
    if kind == "Classifier":
        if model["reservoir"]:
            attrs["decision_function"] = _decision_function
        else:
            attrs["predict_proba"] = _predict_proba
    cls = type(name, (base,), attrs)
    cls.__qualname__ = name
    return cls


def build_all():
    """Every estimator class, by name."""
    classes = {}
    for model in _native.models():
        kinds = ["Classifier", "Regressor"]
        if model["sequence"]:
            kinds += ["Transformer", "Forecaster"]
        for kind in kinds:
            cls = _build(model, kind)
            classes[cls.__name__] = cls
    return classes
