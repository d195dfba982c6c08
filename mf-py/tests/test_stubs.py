"""Type stubs and docstrings follow the library's declarations."""

import inspect
import json
import subprocess

import memristive
from memristive import _native, _stubs


def test_the_committed_stubs_are_what_the_declarations_generate():
    assert _stubs.path().read_text() == _stubs.render(), (
        "memristive/__init__.pyi is stale: regenerate it with `python -m memristive._stubs`"
    )


def test_every_hyper_parameter_has_its_help_and_default(mf_bin):
    listed = json.loads(subprocess.run([mf_bin, "params", "--json"], capture_output=True, text=True, check=True).stdout)
    models = {m["id"]: m for m in _native.models()}
    for name in memristive.__all__:
        cls = getattr(memristive, name)
        if not isinstance(cls, type) or cls is memristive.SequenceModel:
            continue
        signature = inspect.signature(cls.__init__)
        for p in models[cls._model_id]["params"]:
            py = memristive._estimators.python_name(p["name"])
            assert py in signature.parameters, (name, py)
            assert p["help"] in cls.__doc__, (name, py)
        assert len(cls._specs) == len(models[cls._model_id]["params"])
    # The same hyper-parameters as `mf params --json` lists.
    mf_names = {m["model"]: [p["name"] for p in m["params"]] for m in listed}
    assert mf_names == {m: [p["name"] for p in models[m]["params"]] for m in models}
