"""The allowlist: exact pairs derived from scikit-learn, never the dangerous neighbours."""

from __future__ import annotations

import pytest

from modelward.core.artifacts.allowlist import Allowlist, default_allowlist, never_allowed


def test_every_estimator_of_installed_sklearn_is_allowed():
    from sklearn.utils import all_estimators

    allowed = default_allowlist()
    for _name, cls in all_estimators():
        assert (cls.__module__, cls.__qualname__) in allowed, cls


def test_helper_classes_real_models_pickle_are_allowed():
    allowed = default_allowlist()
    for pair in [
        ("sklearn.tree._tree", "Tree"),
        ("sklearn._loss.loss", "HalfBinomialLoss"),
        ("sklearn._loss.link", "LogitLink"),
        ("sklearn.ensemble._hist_gradient_boosting.predictor", "TreePredictor"),
        ("sklearn.ensemble._hist_gradient_boosting.binning", "_BinMapper"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("copyreg", "_reconstructor"),
    ]:
        assert pair in allowed, pair


@pytest.mark.parametrize(
    "pair",
    [
        ("numpy", "save"),
        ("numpy", "load"),
        ("numpy", "savetxt"),
        ("numpy", "fromfile"),
        ("numpy", "memmap"),
        ("numpy._core.memmap", "memmap"),
        ("numpy.lib.format", "open_memmap"),
        ("joblib", "load"),
        ("joblib.numpy_pickle", "load"),
        ("joblib.numpy_pickle", "dump"),
        ("joblib.numpy_pickle_compat", "NDArrayWrapper"),
        ("sklearn.tree._export", "export_graphviz"),
        ("sklearn.datasets._svmlight_format_io", "dump_svmlight_file"),
        ("sklearn.utils._testing", "TempMemmap"),
        ("sklearn.utils.parallel", "Parallel"),
        ("builtins", "eval"),
        ("builtins", "getattr"),
        ("builtins", "open"),
        ("builtins", "__import__"),
        ("io", "open"),
        ("pickle", "loads"),
        ("_pickle", "loads"),
        ("operator", "methodcaller"),
        ("functools", "partial"),
        ("posix", "system"),
    ],
)
def test_dangerous_globals_are_not_allowed(pair):
    assert pair not in default_allowlist()


def test_no_sklearn_function_except_pickle_helpers_and_scorers():
    import types

    for (module, name), obj in default_allowlist().items():
        if module.startswith("sklearn") and isinstance(obj, types.FunctionType):
            assert (
                name.endswith("_score")
                or name.endswith(("_error", "_loss", "_ratio", "corrcoef", "deviance"))
                or name == "newObj"
                or name.startswith("__pyx_unpickle_")
            ), (module, name)


def test_override_floor():
    assert never_allowed("os", "system")
    assert never_allowed("builtins", "eval")
    assert never_allowed("joblib", "load")
    assert never_allowed("numpy.lib.npyio", "load")
    assert not never_allowed("numpy", "clip")
    with pytest.raises(ValueError, match="never"):
        Allowlist([("subprocess", "Popen")])
    assert Allowlist([("numpy", "clip")]).allows("numpy", "clip")


def test_per_pair_rule_agrees_with_the_full_enumeration():
    """A load decides each named global lazily; it must allow exactly what the full list does."""
    from modelward.core.artifacts.allowlist import _LazyBase

    full = default_allowlist()
    lazy = _LazyBase()
    for pair, obj in full.items():
        assert lazy.get(pair) is obj, pair
    # neighbours of allowed names: functions, imported names, unknown modules, test modules
    for pair in [
        ("sklearn.tree._classes", "check_is_fitted"),  # a function imported there
        ("sklearn.tree._classes", "BaseEstimator"),  # a class defined elsewhere
        ("sklearn.tree._export", "export_graphviz"),
        ("sklearn.utils._testing", "TempMemmap"),
        ("sklearn.utils.parallel", "Parallel"),
        ("sklearn.datasets._base", "load_iris"),
        ("sklearn.nope", "Thing"),
        ("sklearn..tree", "Tree"),
        ("sklearn.tree._tree", "Tree.__init__"),
        ("sklearn.utils", "np"),
        ("scipy.io", "loadmat"),
        ("numpy", "load"),
        ("os", "system"),
    ]:
        assert pair not in full, pair
        assert lazy.get(pair) is None, pair
        assert not Allowlist().allows(*pair), pair


def test_loading_does_not_enumerate_sklearn(tmp_path):
    """Building the per-process allowlist imports only the modules a file names."""
    import subprocess
    import sys

    code = (
        "import sys, pickle\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "import numpy as np\n"
        "m = LogisticRegression().fit(np.array([[0.0],[1.0],[2.0],[3.0]]), [0,0,1,1])\n"
        "data = pickle.dumps(m)\n"
        "before = len(sys.modules)\n"
        "from modelward.core.artifacts.safeload import load_bytes\n"
        "obj = load_bytes(data, 'pickle')\n"
        "assert obj.predict([[3.0]])[0] == 1\n"
        "print(len(sys.modules) - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # the full enumeration imports ~300 more scikit-learn modules
    assert int(out.stdout.strip()) < 120, out.stdout
