"""Reason codes: why the model decided this for this row, feature by feature.

For one scored row, each original column gets a signed contribution; the
contributions and a base value add up to the model's output in the space the
method explains (:attr:`Reasons.space`). Three methods, always named with the
codes (:attr:`Reasons.method`):

* **exact linear** (a linear model, possibly after a ColumnTransformer with
  scalers and one-hot encoders): ``coef × (transformed x − mean of the
  background)``, summed over the one-hot columns of each original column.
  Exact: it is the Shapley value of a linear model with independent features.
  Explains the decision score (log-odds for a logistic regression).
* **TreeSHAP (path-dependent)** (HistGradientBoosting, GradientBoosting,
  RandomForest, ExtraTrees, DecisionTree): the exact Shapley values of the
  trees' conditional expectations, where a feature left out of a coalition
  follows both branches weighted by the training rows that went each way (Lundberg et al.,
  2018). Our own implementation: every root-to-leaf path is a product game, whose
  Shapley values are an integral over a polynomial of degree < depth that
  Gauss-Legendre quadrature evaluates exactly (the idea of Linear TreeShap); for
  short paths the values are tabulated once per leaf for every pattern of
  which conditions a row meets, and each row looks its pattern up. Explains
  the raw score: log-odds (or softmax logits) for gradient boosting, the
  class probability for forests and single trees, the prediction for
  regressors.
* **sampled permutation Shapley** (any other model): Shapley values estimated
  from a few random feature orders against a small background sample;
  approximate (an estimate, noisy), but its contributions still add up exactly to
  the output minus the mean output on the background, because each order telescopes. Explains the
  class probability or the prediction. Slow, so limited to
  :data:`FALLBACK_MAX_ROWS` rows per call.

Classifiers: a binary model's codes explain the second (positive) class; a
multiclass model's codes explain each row's predicted class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modelward.core.errors import InvalidInput

__all__ = [
    "FALLBACK_MAX_ROWS",
    "ReasonColumns",
    "ReasonExplainer",
    "Reasons",
    "TREE_MODELS",
    "reason_columns",
]

FALLBACK_MAX_ROWS = 5_000
"""Rows the sampled permutation fallback explains in one call (it scores ~3,000 rows per row)."""

TREE_MODELS = frozenset(
    {
        "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
        "GradientBoostingClassifier",
        "GradientBoostingRegressor",
        "RandomForestClassifier",
        "RandomForestRegressor",
        "ExtraTreesClassifier",
        "ExtraTreesRegressor",
        "DecisionTreeClassifier",
        "DecisionTreeRegressor",
        "ExtraTreeClassifier",
        "ExtraTreeRegressor",
    }
)
_LINEAR_MODELS = frozenset(
    {
        "LogisticRegression",
        "LogisticRegressionCV",
        "LinearRegression",
        "Ridge",
        "RidgeCV",
        "RidgeClassifier",
        "Lasso",
        "LassoCV",
        "ElasticNet",
        "ElasticNetCV",
        "SGDClassifier",
        "SGDRegressor",
        "LinearSVC",
        "LinearSVR",
        "HuberRegressor",
        "BayesianRidge",
    }
)
_TABLE_MAX_DEPTH = 11  # 2**11 patterns x 11 features per leaf: small; deeper paths go row by row
_CHUNK = 50_000


@dataclass(frozen=True)
class Reasons:
    """Signed contributions of the original columns for a set of rows.

    ``contributions[i, j]`` is column ``features[j]``'s share of row ``i``'s
    output; ``base[i] + contributions[i].sum() == output[i]`` (up to rounding).
    """

    method: str
    meaning: str
    space: list[str]
    features: list[str]
    base: np.ndarray
    contributions: np.ndarray
    output: np.ndarray

    def top(self, k: int = 5) -> list[list[tuple[str, float]]]:
        """Each row's ``k`` largest contributions by size, as ``(feature, value)``."""
        k = max(0, min(int(k), len(self.features)))
        order = np.argsort(-np.abs(self.contributions), axis=1, kind="stable")[:, :k]
        return [
            [(self.features[j], float(self.contributions[i, j])) for j in order[i]]
            for i in range(len(order))
        ]

    def to_json(self, k: int = 5, rows: list[int] | None = None) -> dict[str, Any]:
        """The codes of each row (``rows``: the row numbers to report, from 1)."""
        numbers = rows or list(range(1, len(self.output) + 1))
        return {
            "method": self.method,
            "meaning": self.meaning,
            "rows": [
                {
                    "row": int(numbers[i]),
                    "explains": self.space[i],
                    "base": float(self.base[i]),
                    "output": float(self.output[i]),
                    "reasons": [{"feature": f, "contribution": v} for f, v in codes],
                }
                for i, codes in enumerate(self.top(k))
            ],
        }


def reason_columns(k: int) -> list[str]:
    """The names of the reason-code columns ``score --reasons K`` adds."""
    out: list[str] = []
    for i in range(1, int(k) + 1):
        out += [f"reason_{i}", f"reason_{i}_value"]
    return out


# --------------------------------------------------------------------------- the pipeline
def _split(model: Any) -> tuple[Any, Any]:
    steps = getattr(model, "steps", None)
    if steps:
        pre = model[:-1] if len(steps) > 1 else None
        return pre, steps[-1][1]
    return None, model


def _dense(a: Any) -> np.ndarray:
    if hasattr(a, "toarray"):
        a = a.toarray()
    return np.asarray(a, dtype=float)


def _names_map(names_out: list[str], originals: list[str]) -> list[int] | None:
    """Original column of each transformed column, by its name (``prep__cat__city_Rome``)."""
    out: list[int] = []
    for name in names_out:
        tails = [name]
        while "__" in tails[-1]:
            tails.append(tails[-1].split("__", 1)[1])
        best = -1
        for t in tails:
            for j, o in enumerate(originals):
                if (t == o or t.startswith(o + "_")) and (
                    best < 0 or len(o) > len(originals[best])
                ):
                    best = j
            if best >= 0:
                break
        if best < 0:
            return None
        out.append(best)
    return out


def _probe_map(transform: Any, X: Any, originals: list[str]) -> list[int]:
    """Original column of each transformed column, found by changing one column at a time."""
    sample = X.iloc[: min(len(X), 256)].reset_index(drop=True)
    if len(sample) < 2:
        raise _NotAdditive("too few background rows to map the transformed columns")
    t0 = _dense(transform(sample))
    owner = np.full(t0.shape[1], -1)
    for j, col in enumerate(originals):
        moved = sample.copy()
        moved[col] = np.roll(sample[col].to_numpy(), 1)
        diff = np.any(~np.isclose(_dense(transform(moved)), t0, equal_nan=True), axis=0)
        if np.any(owner[diff] >= 0):
            raise _NotAdditive(f"a transformed column depends on {col!r} and another column")
        owner[diff] = j
    return owner.tolist()


class _NotAdditive(Exception):
    """The pipeline mixes original columns: no exact per-column attribution."""


class _Later(Exception):
    """The columns can only be mapped with rows to probe, which come with the first call."""


def _one_to_one(ct: Any, n_in: int) -> list[int]:
    """Input column of each output column of a ColumnTransformer of one-to-one steps."""
    out: list[int] = []
    names_in = [str(c) for c in getattr(ct, "feature_names_in_", [])]
    for _, trans, cols in ct.transformers_:
        if trans == "drop":
            continue
        sel = np.asarray(cols)
        if sel.dtype == bool:
            out += np.flatnonzero(sel).tolist()
        elif sel.dtype.kind in "iu":
            out += sel.tolist()
        else:
            out += [names_in.index(str(c)) for c in sel]
    if any(not 0 <= i < n_in for i in out):
        raise _NotAdditive("the booster's encoder does not map columns one to one")
    return out


def _membership(owner: list[int], n_orig: int) -> np.ndarray:
    m = np.zeros((len(owner), n_orig))
    for t, j in enumerate(owner):
        if j >= 0:
            m[t, j] = 1.0
    return m


# --------------------------------------------------------------------------- TreeSHAP
@dataclass
class _Tree:
    """One tree in plain arrays (``left == -1`` marks a leaf)."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    cover: np.ndarray
    value: np.ndarray  # (n_nodes, n_outputs)
    categories: dict[int, np.ndarray]  # node -> bool mask of categories that go left


def _sk_tree(t: Any, value: np.ndarray) -> _Tree:
    tr = t.tree_
    miss = getattr(tr, "missing_go_to_left", None)
    return _Tree(
        left=np.asarray(tr.children_left),
        right=np.asarray(tr.children_right),
        feature=np.asarray(tr.feature),
        threshold=np.asarray(tr.threshold, dtype=float),
        missing_left=(
            np.asarray(miss, dtype=bool) if miss is not None else np.zeros(tr.node_count, bool)
        ),
        cover=np.asarray(tr.weighted_n_node_samples, dtype=float),
        value=value,
        categories={},
    )


def _hgb_tree(pred: Any) -> _Tree:
    nodes = pred.nodes
    leaf = nodes["is_leaf"].astype(bool)
    cats: dict[int, np.ndarray] = {}
    bitsets: Any = getattr(pred, "raw_left_cat_bitsets", None)
    for n in np.flatnonzero(nodes["is_categorical"].astype(bool) & ~leaf):
        words = np.asarray(bitsets[nodes["bitset_idx"][n]], dtype=np.uint32)
        bits = (words[:, None] >> np.arange(32, dtype=np.uint32)) & 1
        cats[int(n)] = bits.reshape(-1).astype(bool)
    return _Tree(
        left=np.where(leaf, -1, nodes["left"].astype(np.intp)),
        right=np.where(leaf, -1, nodes["right"].astype(np.intp)),
        feature=nodes["feature_idx"].astype(np.intp),
        threshold=nodes["num_threshold"].astype(float),
        missing_left=nodes["missing_go_to_left"].astype(bool),
        cover=nodes["count"].astype(float),
        value=nodes["value"].astype(float)[:, None],
        categories=cats,
    )


def _goes_left(tree: _Tree, X: np.ndarray, internal: np.ndarray) -> np.ndarray:
    """``(rows, internal nodes)``: whether each row takes the left branch at each node."""
    vals = X[:, tree.feature[internal]]
    with np.errstate(invalid="ignore"):
        left = vals <= tree.threshold[internal]
    nan = np.isnan(vals)
    left = np.where(nan, tree.missing_left[internal], left)
    for k, node in enumerate(internal):
        mask = tree.categories.get(int(node))
        if mask is None:
            continue
        col = vals[:, k]
        ok = ~np.isnan(col) & (col >= 0) & (col < mask.size)
        code = np.where(ok, col, 0).astype(np.intp)
        left[:, k] = np.where(ok, mask[code], tree.missing_left[node])
    return np.asarray(left, dtype=bool)


def _gauss(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1], exact for polynomials of degree < ``d``."""
    m = d // 2 + 1
    x, w = np.polynomial.legendre.leggauss(m)
    return (x + 1.0) / 2.0, w / 2.0


def _unit_phi(o: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Shapley values of the product game ``v(S) = prod_S o_j * prod_(not S) z_j``.

    ``phi_i = (o_i - z_i) * integral_0^1 prod_(j != i) ((1-u) z_j + u o_j) du``
    (the Shapley weight ``|S|! (d-|S|-1)! / d!`` is a Beta integral); the
    integrand has degree ``d - 1``, so Gauss-Legendre with ``d//2 + 1`` nodes is exact.
    """
    d = o.shape[1]
    u, w = _gauss(d)
    g = (1.0 - u)[None, None, :] * z[None, :, None] + u[None, None, :] * o[:, :, None]
    full = np.prod(g, axis=1)  # (rows, nodes)
    # g > 0 wherever z > 0 (covers are positive), so dividing one factor out is safe
    integral = np.einsum("rq,rjq,q->rj", full, 1.0 / g, w)
    return np.asarray((o - z[None, :]) * integral)


def _paths(tree: _Tree) -> list[tuple[int, list[tuple[int, bool]]]]:
    """Every leaf and the edges ``(node, went_left)`` from the root to it."""
    out: list[tuple[int, list[tuple[int, bool]]]] = []
    stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if tree.left[node] < 0:
            out.append((node, path))
            continue
        stack.append((int(tree.right[node]), [*path, (node, False)]))
        stack.append((int(tree.left[node]), [*path, (node, True)]))
    return out


def tree_shap(
    tree: _Tree, X: np.ndarray, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Path-dependent TreeSHAP of one tree: ``(phi (rows, features, outputs), expected)``.

    ``out``, when given, is added to (and returned) instead of a new array.

    Each leaf contributes the product game of its path: a feature in the
    coalition keeps the row's branch (``o_j`` is 1 when the row meets every
    condition on ``j`` along the path), a feature outside follows both with
    the training rows' proportions (``z_j``, the product of cover ratios).
    """
    n, p = X.shape
    k = tree.value.shape[1]
    phi = np.zeros((n, p, k)) if out is None else out
    internal = np.flatnonzero(tree.left >= 0)
    if internal.size == 0:
        return phi, tree.value[0].copy()
    col = np.full(tree.left.size, -1)
    col[internal] = np.arange(internal.size)
    left = _goes_left(tree, X, internal)
    expected = np.zeros(k)
    for leaf, path in _paths(tree):
        feats: dict[int, list[tuple[int, bool]]] = {}
        z: dict[int, float] = {}
        for node, went_left in path:
            f = int(tree.feature[node])
            child = tree.left[node] if went_left else tree.right[node]
            feats.setdefault(f, []).append((node, went_left))
            z[f] = z.get(f, 1.0) * max(tree.cover[child] / tree.cover[node], 1e-12)
        fs = list(feats)
        zv = np.array([z[f] for f in fs])
        v = tree.value[leaf]
        expected += v * float(np.prod(zv))
        ones = np.ones((n, len(fs)), dtype=bool)
        for j, f in enumerate(fs):
            for node, went_left in feats[f]:
                c = left[:, col[node]]
                ones[:, j] &= c if went_left else ~c
        if len(fs) <= _TABLE_MAX_DEPTH:
            patterns = (np.arange(1 << len(fs))[:, None] >> np.arange(len(fs))) & 1
            table = _unit_phi(patterns.astype(float), zv)
            code = ones.astype(np.intp) @ (1 << np.arange(len(fs)))
            unit = table[code]
        else:
            unit = _unit_phi(ones.astype(float), zv)
        phi[:, fs, :] += unit[:, :, None] * v[None, None, :]
    return phi, expected


def _forest(final: Any) -> tuple[list[_Tree], np.ndarray, float]:
    """The trees of ``final``, a constant added to their sum, and a scale."""
    name = type(final).__name__
    if name.startswith("HistGradientBoosting"):
        trees = [
            [_hgb_tree(pred) for pred in it] for it in final._predictors
        ]  # per iteration, one tree per output
        k = len(trees[0]) if trees else 1
        flat = []
        for j in range(k):
            for it in trees:
                t = it[j]
                v = np.zeros((t.value.shape[0], k))
                v[:, j] = t.value[:, 0]
                flat.append(_Tree(**{**t.__dict__, "value": v}))
        base = np.asarray(final._baseline_prediction, dtype=float).reshape(-1)
        return flat, base, 1.0
    if name.startswith("GradientBoosting"):
        stages = final.estimators_
        k = stages.shape[1]
        flat = []
        for j in range(k):
            for t in stages[:, j]:
                v = np.zeros((t.tree_.node_count, k))
                v[:, j] = np.asarray(t.tree_.value)[:, 0, 0]
                flat.append(_sk_tree(t, v))
        return flat, np.zeros(k), float(final.learning_rate)
    members = list(getattr(final, "estimators_", [final]))
    classifier = hasattr(final, "classes_")
    flat = []
    for t in members:
        val = np.asarray(t.tree_.value, dtype=float)
        if classifier:
            v = val[:, 0, :]
            v = v / np.maximum(v.sum(axis=1, keepdims=True), 1e-300)
        else:
            if val.shape[1] != 1:
                raise _NotAdditive("a tree with several outputs")
            v = val[:, 0, :1]
        flat.append(_sk_tree(t, v))
    return flat, np.zeros(flat[0].value.shape[1]), 1.0 / max(len(members), 1)


# --------------------------------------------------------------------------- the explainer
_METHODS = {
    "linear": (
        "exact linear (coefficient x (value - background mean))",
        "each column's share of the score relative to the average row of the "
        "background data; exact for a linear model",
    ),
    "tree": (
        "TreeSHAP, path-dependent (exact Shapley values of the trees)",
        "each column's exact Shapley share of the model's raw score, relative to "
        "the average training row (features left out follow the training rows' splits)",
    ),
    "sampled": (
        "sampled permutation Shapley (approximate, 8 feature orders, 16 background rows)",
        "an estimate of each column's Shapley share of the output relative to "
        "the mean output on a background sample; noisy: small values may swap order",
    ),
}


class ReasonExplainer:
    """Reason codes for one fitted model (a pipeline or a bare estimator).

    Parameters
    ----------
    model
        The fitted model, as loaded.
    features
        The original columns, in the order the model takes them.
    background
        Representative rows (a DataFrame with ``features``): the reference of
        the linear method (its mean) and of the fallback (a small sample).
        ``None``: the rows being explained serve as their own reference.
    method
        ``auto`` (default), or force ``linear``, ``tree`` or ``sampled``.
    random_state
        Seed of the sampled fallback.
    """

    def __init__(
        self,
        model: Any,
        features: list[str],
        background: Any = None,
        *,
        method: str = "auto",
        random_state: int = 0,
    ) -> None:
        self.model = model
        self.features = [str(f) for f in features]
        self.background = background
        self.random_state = random_state
        self.pre, self.final = _split(model)
        self.classes = getattr(model, "classes_", None)
        name = type(self.final).__name__
        self._hgb_pre = getattr(self.final, "_preprocessor", None)
        self._member: np.ndarray | None = None
        self._trees: tuple[list[_Tree], np.ndarray, float] | None = None
        self._mean_t: np.ndarray | None = None
        kind = method
        if method == "auto":
            kind = (
                "tree" if name in TREE_MODELS else "linear" if name in _LINEAR_MODELS else "sampled"
            )
        if kind in ("tree", "linear"):
            try:
                if kind == "tree":
                    self._trees = _forest(self.final)
                self._member = self._column_map()
            except _Later:
                pass  # mapped on the first rows explained
            except _NotAdditive:
                if method != "auto":
                    raise InvalidInput(
                        f"the {kind} method cannot attribute this pipeline to its columns"
                    ) from None
                kind = "sampled"
        self.kind = kind
        self.method, self.meaning = _METHODS[kind]

    def _become_sampled(self) -> None:
        self.kind = "sampled"
        self.method, self.meaning = _METHODS["sampled"]

    # ---------------------------------------------------------------- transforms
    def _transform(self, X: Any) -> np.ndarray:
        Xt = self.pre.transform(X) if self.pre is not None else X
        if self._hgb_pre is not None:
            Xt = self._hgb_pre.transform(Xt)
        return _dense(Xt)

    def _column_map(self, probe: Any = None) -> np.ndarray:
        """Which original column each column the final estimator sees comes from."""
        owner: list[int] | None
        try:
            names_pre = (
                [str(n) for n in self.pre.get_feature_names_out()]
                if self.pre is not None
                else list(self.features)
            )
            owner = _names_map(names_pre, self.features)
        except Exception:  # a transformer without feature names: probe instead
            owner = None
        if owner is None:
            rows = self.background if self.background is not None else probe
            if rows is None:
                raise _Later
            pre_only = self._hgb_pre
            self._hgb_pre = None  # probe the pipeline's own steps; the booster's come below
            try:
                owner = _probe_map(self._transform, rows[self.features], self.features)
            finally:
                self._hgb_pre = pre_only
        if self._hgb_pre is not None:
            # the booster's own encoder: one output per input column, encoded ones first
            owner = [owner[i] for i in _one_to_one(self._hgb_pre, len(owner))]
        return _membership(owner, len(self.features))

    # ---------------------------------------------------------------- what is explained
    def _class_index(self, X: Any, n: int) -> np.ndarray:
        if self.classes is None:
            return np.zeros(n, dtype=np.intp)
        if len(self.classes) == 2:
            return np.ones(n, dtype=np.intp)
        if hasattr(self.model, "predict_proba"):
            return np.asarray(np.argmax(self.model.predict_proba(X), axis=1), dtype=np.intp)
        pred = np.asarray(self.model.predict(X))
        return np.searchsorted(np.asarray(self.classes), pred).astype(np.intp)

    def _space(self, idx: np.ndarray) -> list[str]:
        name = type(self.final).__name__
        if self.classes is None:
            loss = str(getattr(self.final, "loss", "squared_error"))
            if (
                self.kind == "tree"
                and name.startswith("HistGradientBoosting")
                and loss
                in (
                    "poisson",
                    "gamma",
                )
            ):
                return ["log of the prediction"] * len(idx)
            return ["prediction"] * len(idx)
        if self.kind == "sampled" or (self.kind == "tree" and "Boosting" not in name):
            what = "probability"
        elif name.startswith("LogisticRegression") or "Boosting" in name:
            what = "log-odds" if len(self.classes) == 2 else "logit (softmax score)"
        else:
            what = "decision score"
        return [f"{what} of class {self.classes[i]}" for i in idx]

    # ---------------------------------------------------------------- explain
    def explain(self, X: Any) -> Reasons:
        """Contributions of each original column for every row of ``X``.

        Raises
        ------
        InvalidInput
            The sampled fallback was asked for more than :data:`FALLBACK_MAX_ROWS` rows.
        """
        X = X[self.features] if hasattr(X, "columns") else X
        n = len(X)
        if self.kind in ("tree", "linear") and self._member is None:
            try:
                self._member = self._column_map(probe=X)
            except _NotAdditive:
                self._become_sampled()
        idx = self._class_index(X, n)
        if self.kind == "linear":
            base, contrib = self._linear(X, idx)
        elif self.kind == "tree":
            base, contrib = self._tree(X, idx)
        else:
            base, contrib = self._sampled(X, idx)
        return Reasons(
            method=self.method,
            meaning=self.meaning,
            space=self._space(idx),
            features=list(self.features),
            base=base,
            contributions=contrib,
            output=base + contrib.sum(axis=1),
        )

    def _linear(self, X: Any, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self._member is not None
        if self._mean_t is None:
            bg = self.background if self.background is not None else X
            self._mean_t = self._transform(bg[self.features]).mean(axis=0)
        coef = np.atleast_2d(np.asarray(self.final.coef_, dtype=float))
        icpt = np.atleast_1d(np.asarray(getattr(self.final, "intercept_", 0.0), dtype=float))
        if self.classes is not None and len(self.classes) == 2 and coef.shape[0] == 1:
            row = np.zeros_like(idx)  # binary: one row of coefficients, for the second class
        else:
            row = idx
        Xt = self._transform(X) - self._mean_t
        contrib_t = Xt * coef[row]
        base = icpt[row if icpt.size > 1 else np.zeros_like(row)] + coef[row] @ self._mean_t
        return base, contrib_t @ self._member

    def _tree(self, X: Any, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self._trees is not None and self._member is not None
        trees, const, scale = self._trees
        n = len(X)
        out = np.zeros((n, len(self.features)))
        expected = np.zeros(trees[0].value.shape[1]) if trees else np.zeros(1)
        for start in range(0, max(n, 1), _CHUNK):
            part = (
                X.iloc[start : start + _CHUNK] if hasattr(X, "iloc") else X[start : start + _CHUNK]
            )
            Xt = self._transform(part)
            rows = np.arange(start, start + len(Xt))
            phi = np.zeros((len(Xt), Xt.shape[1], expected.size))
            for t in trees:
                _, e = tree_shap(t, Xt, phi)
                if start == 0:
                    expected += e
            phi_t = phi[np.arange(len(Xt)), :, idx[rows]] if phi.shape[2] > 1 else phi[:, :, 0]
            out[start : start + len(Xt)] = (phi_t * scale) @ self._member
        if type(self.final).__name__.startswith("GradientBoosting") and n:
            # the initial estimator's raw score: the decision minus the trees, on one row
            first = X.iloc[:1] if hasattr(X, "iloc") else X[:1]
            raw = np.atleast_2d(
                self.model.decision_function(first)
                if self.classes is not None
                else self.model.predict(first)
            ).reshape(1, -1)
            Xt = self._transform(first)
            trees_sum = sum((t.value[_leaf_of(t, Xt[0])] for t in trees), np.zeros(expected.shape))
            const = raw[0] - scale * trees_sum
        base_all = const + scale * expected
        return base_all[idx] if base_all.size > 1 else np.full(n, base_all[0]), out

    def _sampled(self, X: Any, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, d = len(X), len(self.features)
        if n > FALLBACK_MAX_ROWS:
            raise InvalidInput(
                f"{type(self.final).__name__} has no exact reason codes; the sampled estimate "
                f"takes at most {FALLBACK_MAX_ROWS:,} rows at a time, not {n:,}"
            )
        rng = np.random.default_rng(self.random_state)
        bg = self.background if self.background is not None else X
        bg = bg[self.features]
        bg = bg.iloc[rng.choice(len(bg), size=min(16, len(bg)), replace=False)]
        b, m = len(bg), 8
        orders = np.array([rng.permutation(d) for _ in range(m)])
        rank = np.argsort(orders, axis=1)  # (m, d): position of each feature in each order
        steps = np.arange(d + 1)
        take = rank[None, :, :] < steps[:, None, None]  # (d+1, m, d): feature j already from x
        contrib = np.zeros((n, d))
        base = np.zeros(n)
        chunk = max(1, 20_000 // (m * (d + 1) * b))
        for s in range(0, n, chunk):
            rows = X.iloc[s : s + chunk]
            r = len(rows)
            cols: dict[str, Any] = {}
            for j, c in enumerate(self.features):
                xv = rows[c].to_numpy()
                bv = bg[c].to_numpy()
                t = np.broadcast_to(take[None, :, :, j, None], (r, d + 1, m, b))
                cols[c] = np.where(
                    t,
                    xv[:, None, None, None].astype(object)
                    if xv.dtype == object
                    else xv[:, None, None, None],
                    bv[None, None, None, :].astype(object)
                    if bv.dtype == object
                    else bv[None, None, None, :],
                ).reshape(-1)
            frame = type(X)(cols)[self.features] if hasattr(X, "columns") else None
            f = self._output(frame, idx[s : s + r].repeat((d + 1) * m * b))
            f = f.reshape(r, d + 1, m, b).mean(axis=3)  # (r, steps, orders)
            gain = np.diff(f, axis=1)  # (r, d, m): gain of the feature added at each step
            per = np.zeros((r, d))
            for q in range(m):
                per += gain[:, :, q][:, rank[q]]
            contrib[s : s + r] = per / m
            base[s : s + r] = f[:, 0, 0]
        return base, contrib

    def _output(self, X: Any, idx: np.ndarray) -> np.ndarray:
        if self.classes is not None and hasattr(self.model, "predict_proba"):
            p = np.asarray(self.model.predict_proba(X))
            return np.asarray(p[np.arange(len(p)), idx], dtype=float)
        return np.asarray(self.model.predict(X), dtype=float)


def _leaf_of(tree: _Tree, x: np.ndarray) -> int:
    """The leaf one transformed row reaches."""
    node = 0
    while tree.left[node] >= 0:
        left = _goes_left(tree, x[None, :], np.array([node]))[0, 0]
        node = int(tree.left[node] if left else tree.right[node])
    return node


class ReasonColumns:
    """The ``reason_i`` / ``reason_i_value`` columns ``score --reasons K`` appends.

    ``make`` builds the :class:`ReasonExplainer` from the first batch's
    features (its fallback background); every later batch uses the same one.
    """

    def __init__(self, make: Any, k: int, n_features: int) -> None:
        self.make = make
        self.k = max(1, min(int(k), n_features))
        self.explainer: ReasonExplainer | None = None
        self.base: Any = None

    def extend(self, schema: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """``schema`` (``(name, DuckDB type)`` pairs) with the reason columns added."""
        self.base = schema
        taken = {name for name, _ in schema}
        clash = [c for c in reason_columns(self.k) if c in taken]
        if clash:
            raise InvalidInput(f"the output column {clash[0]!r} would clash with a reason column")
        out = list(schema)
        for i in range(1, self.k + 1):
            out += [(f"reason_{i}", "VARCHAR"), (f"reason_{i}_value", "DOUBLE")]
        return out

    def append(self, columns: dict[str, Any], X: Any) -> None:
        """Add each row's top ``k`` codes to ``columns`` (one row per row of ``X``)."""
        if self.explainer is None:
            self.explainer = self.make(X)
        n = len(X)
        if n:
            res = self.explainer.explain(X)
            order = np.argsort(-np.abs(res.contributions), axis=1, kind="stable")[:, : self.k]
            names = np.asarray(res.features, dtype=object)[order]
            values = np.take_along_axis(res.contributions, order, axis=1)
        for i in range(self.k):
            columns[f"reason_{i + 1}"] = (
                np.array([str(v) for v in names[:, i]], dtype=object) if n else np.empty(0, object)
            )
            columns[f"reason_{i + 1}_value"] = (
                np.asarray(values[:, i], dtype=np.float64) if n else np.empty(0)
            )

    def describe(self) -> dict[str, Any]:
        """For the manifest: how many codes, by which method, meaning what."""
        ex = self.explainer
        return {
            "k": self.k,
            "method": ex.method if ex else None,
            "meaning": ex.meaning if ex else None,
        }
