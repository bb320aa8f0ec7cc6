"""Reason codes: our TreeSHAP against brute-force Shapley values and shap; additivity everywhere."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import modelward.core.compute.reasons as reasons
from modelward.core.compute.reasons import ReasonExplainer, _forest, _Tree, tree_shap
from modelward.core.errors import InvalidInput

COLS = ["a", "b", "c", "d"]


def _frame(n: int = 300, seed: int = 0, nan: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = X[:, 0] * 2 + np.where(X[:, 1] > 0, 1.5, -1) * X[:, 2] + rng.normal(0, 0.3, n)
    if nan:
        X[rng.choice(n, 30, replace=False), 1] = np.nan
    return pd.DataFrame(X, columns=COLS), y


def _expected(tree: _Tree, x: np.ndarray, subset: set[int], node: int = 0) -> np.ndarray:
    """E[f(x) | x_S] the path-dependent way: features outside S follow both branches."""
    if tree.left[node] < 0:
        return tree.value[node]
    f = int(tree.feature[node])
    lo, hi = int(tree.left[node]), int(tree.right[node])
    if f in subset:
        v = x[f]
        if np.isnan(v):
            go_left = bool(tree.missing_left[node])
        elif int(node) in tree.categories:
            go_left = bool(tree.categories[int(node)][int(v)])
        else:
            go_left = v <= tree.threshold[node]
        return _expected(tree, x, subset, lo if go_left else hi)
    w = tree.cover[lo] / tree.cover[node]
    return w * _expected(tree, x, subset, lo) + (1 - w) * _expected(tree, x, subset, hi)


def _brute_force(tree: _Tree, x: np.ndarray, p: int) -> np.ndarray:
    """Shapley values by enumerating every coalition (2^p of them)."""
    phi = np.zeros((p, tree.value.shape[1]))
    for i in range(p):
        others = [j for j in range(p) if j != i]
        for size in range(p):
            w = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for s in itertools.combinations(others, size):
                subset = set(s)
                phi[i] += w * (_expected(tree, x, subset | {i}) - _expected(tree, x, subset))
    return phi


@pytest.mark.parametrize(
    "make",
    [
        lambda: DecisionTreeRegressor(max_depth=5, random_state=0),
        lambda: DecisionTreeClassifier(max_depth=4, random_state=0),
        lambda: HistGradientBoostingRegressor(max_iter=3, max_leaf_nodes=8, random_state=0),
    ],
    ids=["tree-regressor", "tree-classifier", "hgb-with-missing"],
)
def test_treeshap_equals_brute_force_shapley_values(make):
    X, y = _frame(nan=True)
    est = make()
    est.fit(
        X if not isinstance(est, DecisionTreeClassifier) else X.fillna(0),
        y if not isinstance(est, DecisionTreeClassifier) else (y > 0).astype(int),
    )
    trees, _, _ = _forest(est)
    Xn = X.to_numpy()[:12]
    if isinstance(est, DecisionTreeClassifier):
        Xn = np.nan_to_num(Xn)
    for tree in trees[:3]:
        phi, expected = tree_shap(tree, Xn)
        np.testing.assert_allclose(expected, _expected(tree, Xn[0], set()), atol=1e-12)
        for r in range(len(Xn)):
            np.testing.assert_allclose(phi[r], _brute_force(tree, Xn[r], 4), atol=1e-10)


def test_treeshap_handles_categorical_splits_of_hist_gradient_boosting():
    rng = np.random.default_rng(1)
    n = 400
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "city": pd.Categorical(rng.choice(["rome", "oslo", "lima", "pune"], n)),
            "c": rng.normal(size=n),
        }
    )
    y = (X["a"] + X["city"].isin(["rome", "lima"]) * 1.5 + rng.logistic(size=n) > 0.7).astype(int)
    est = HistGradientBoostingClassifier(
        max_iter=5, max_leaf_nodes=6, categorical_features="from_dtype", random_state=0
    ).fit(X, y)
    ex = ReasonExplainer(est, ["a", "city", "c"])
    res = ex.explain(X.iloc[:40])
    np.testing.assert_allclose(res.output, est.decision_function(X.iloc[:40]), atol=1e-10)
    assert np.abs(res.contributions[:, 1]).sum() > 0  # the category carries weight
    trees, _, _ = _forest(est)
    Xt = ex._transform(X.iloc[:6])
    phi, _ = tree_shap(trees[0], Xt)
    for r in range(len(Xt)):
        np.testing.assert_allclose(phi[r], _brute_force(trees[0], Xt[r], 3), atol=1e-10)


def _output_of(est, X):
    """What the tree method explains: the raw score for boosting, else the probability."""
    classes = getattr(est, "classes_", None)
    if classes is None:
        return est.predict(X)
    if "Boosting" in type(est).__name__:
        raw = est.decision_function(X)
        if raw.ndim == 1:
            return raw
        return raw[np.arange(len(X)), np.argmax(est.predict_proba(X), axis=1)]
    p = est.predict_proba(X)
    return p[:, 1] if p.shape[1] == 2 else p.max(axis=1)


_BOOSTERS = {
    "hgb": lambda: HistGradientBoostingClassifier(max_iter=15, random_state=0),
    "gb": lambda: GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0),
    "rf": lambda: RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0),
    "gb-regressor": lambda: GradientBoostingRegressor(n_estimators=15, random_state=0),
    "et-regressor": lambda: ExtraTreesRegressor(n_estimators=10, max_depth=6, random_state=0),
}


@pytest.mark.parametrize(
    ("kind", "classes"),
    [("hgb", 2), ("hgb", 3), ("gb", 2), ("gb", 3), ("rf", 2), ("rf", 3)]
    + [("gb-regressor", 0), ("et-regressor", 0)],
)
def test_tree_codes_add_up_to_the_models_output(kind, classes):
    X, y = _frame()
    est = _BOOSTERS[kind]()
    if classes:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, classes + 1)[1:-1]))
    est.fit(X, y)
    res = ReasonExplainer(est, COLS).explain(X.iloc[:60])
    assert res.method.startswith("TreeSHAP")
    np.testing.assert_allclose(res.output, _output_of(est, X.iloc[:60]), atol=1e-9)
    np.testing.assert_allclose(res.base + res.contributions.sum(axis=1), res.output)
    assert res.space[0] in (
        "log-odds of class 1",
        "probability of class 1",
        "prediction",
    ) or res.space[0].startswith(("logit", "probability of class"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: HistGradientBoostingClassifier(max_iter=15, random_state=0),
        lambda: RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0),
        lambda: GradientBoostingRegressor(n_estimators=15, random_state=0),
        lambda: ExtraTreesRegressor(n_estimators=10, max_depth=6, random_state=0),
    ],
)
def test_tree_codes_equal_shaps_tree_explainer(make):
    shap = pytest.importorskip("shap")
    X, y = _frame()
    est = make()
    if "Classifier" in type(est).__name__:
        y = (y > 0).astype(int)
    est.fit(X, y)
    ours = ReasonExplainer(est, COLS).explain(X.iloc[:40]).contributions
    theirs = np.asarray(shap.TreeExplainer(est).shap_values(X.iloc[:40]))
    if theirs.ndim == 3:  # a forest classifier: one set per class; we explain class 1
        theirs = theirs[:, :, 1] if theirs.shape[0] == 40 else theirs[1]
    np.testing.assert_allclose(ours, theirs, atol=1e-8)


def _pipeline(est):
    num = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    cat = OneHotEncoder(handle_unknown="ignore")
    prep = ColumnTransformer([("num", num, ["a", "b"]), ("cat", cat, ["city"])])
    return Pipeline([("prep", prep), ("model", est)])


def _mixed(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "city": rng.choice(["rome", "oslo", "lima"], n).astype(object),
        }
    )
    y = X["a"] * 2 - X["b"] + (X["city"] == "rome") * 1.5 + rng.normal(0, 0.5, n)
    return X, y.to_numpy()


def test_linear_codes_are_coef_times_centred_value_summed_over_one_hot_columns():
    X, y = _mixed()
    model = _pipeline(LogisticRegression()).fit(X, (y > 0.5).astype(int))
    ex = ReasonExplainer(model, ["a", "b", "city"], X)
    res = ex.explain(X.iloc[:30])
    assert res.method.startswith("exact linear") and res.space[0] == "log-odds of class 1"
    np.testing.assert_allclose(res.output, model.decision_function(X.iloc[:30]), atol=1e-10)
    Xt = model[:-1].transform(X)
    coef = model[-1].coef_[0]
    centred = (model[:-1].transform(X.iloc[:30]) - Xt.mean(axis=0)) * coef
    np.testing.assert_allclose(res.contributions[:, 0], centred[:, 0], atol=1e-12)
    np.testing.assert_allclose(res.contributions[:, 2], centred[:, 2:].sum(axis=1), atol=1e-12)


@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_linear_codes_add_up_for_multiclass_and_regression(kind):
    X, y = _mixed()
    if kind == "regression":
        model = _pipeline(LinearRegression()).fit(X, y)
        want = model.predict(X.iloc[:20])
    else:
        model = _pipeline(LogisticRegression()).fit(X, np.digitize(y, [0, 1.5]))
        raw = model.decision_function(X.iloc[:20])
        want = raw[np.arange(20), model.predict_proba(X.iloc[:20]).argmax(axis=1)]
    res = ReasonExplainer(model, ["a", "b", "city"], X).explain(X.iloc[:20])
    np.testing.assert_allclose(res.output, want, atol=1e-10)


def test_other_models_get_the_sampled_estimate_which_adds_up_and_says_so(monkeypatch):
    X, y = _mixed(n=120)
    model = _pipeline(KNeighborsClassifier()).fit(X, (y > 0.5).astype(int))
    ex = ReasonExplainer(model, ["a", "b", "city"], X)
    res = ex.explain(X.iloc[:5])
    assert res.method.startswith("sampled permutation Shapley")
    assert "estimate" in res.meaning and res.space[0] == "probability of class 1"
    np.testing.assert_allclose(res.output, model.predict_proba(X.iloc[:5])[:, 1], atol=1e-12)
    monkeypatch.setattr(reasons, "FALLBACK_MAX_ROWS", 3)
    with pytest.raises(InvalidInput, match="at most 3 rows"):
        ex.explain(X.iloc[:5])


def test_top_codes_are_the_largest_by_size_with_their_sign():
    X, y = _mixed()
    model = _pipeline(LinearRegression()).fit(X, y)
    res = ReasonExplainer(model, ["a", "b", "city"], X).explain(X.iloc[:10])
    for row, codes in zip(res.contributions, res.top(2), strict=True):
        sizes = sorted(np.abs(row), reverse=True)
        assert [abs(v) for _, v in codes] == pytest.approx(sizes[:2])
    doc = res.to_json(2, list(range(11, 21)))
    assert doc["rows"][0]["row"] == 11 and len(doc["rows"][0]["reasons"]) == 2
