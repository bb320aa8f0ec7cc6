"""Champion and challenger: paired differences with confidence intervals, and gates.

Both versions are scored on the same rows; every metric they share is
compared as *challenger minus champion* with a test that suits it:

* ROC AUC (binary): DeLong's test for two correlated ROC curves, in the fast
  form of Sun & Xu (2014), with a normal confidence interval;
* accuracy: McNemar's test on the discordant pairs (exact binomial below 25
  discordant pairs, else chi-square with continuity correction), with a Wald
  interval for the paired difference of proportions;
* everything else: a paired bootstrap (the same resampled rows for both
  models), percentile interval and two-sided p-value.

Gates turn the differences into a decision: absolute thresholds
(``roc_auc>=0.75``, ``rmse<=3``) and non-inferiority margins
(``roc_auc>=champion-0.01``: the confidence interval of the difference must
lie above -0.01, so "not worse by more than 0.01" is shown with significance).
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from modelward.core.clock import utcnow
from modelward.core.compute.metrics import HIGHER_IS_BETTER, Predictions
from modelward.core.compute.validation import validate
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress, sub_progress
from modelward.core.registry.refusals import door

__all__ = [
    "ComparisonResult",
    "Difference",
    "Gate",
    "GateResult",
    "compare",
    "compare_predictions",
    "delong_test",
    "evaluate_gates",
    "mcnemar_test",
    "paired_bootstrap",
    "parse_gate",
    "promote",
]


@dataclass(frozen=True)
class Difference:
    """``challenger - champion`` for one metric, with its interval and test."""

    metric: str
    champion: float
    challenger: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str
    higher_is_better: bool

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` or ``no significant difference`` (for the challenger)."""
        if self.ci_low > 0 or self.ci_high < 0:
            up = self.ci_low > 0
            return "better" if up == self.higher_is_better else "worse"
        return "no significant difference"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict
        return d


# --------------------------------------------------------------------------- tests
def _midrank(x: Any) -> Any:
    """Mid-ranks (ties share the mean rank), 1-based."""
    import numpy as np  # deferred: start-up cost

    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = len(x)
    ranks = np.empty(n, dtype=float)
    i = 0
    while i < n:
        j = i
        while j < n and xs[j] == xs[i]:
            j += 1
        ranks[i:j] = 0.5 * (i + j - 1) + 1
        i = j
    out = np.empty(n, dtype=float)
    out[order] = ranks
    return out


def delong_test(
    y_true: Any, score_a: Any, score_b: Any, *, alpha: float = 0.05
) -> tuple[float, float, float, float, float, float]:
    """DeLong's test for the difference of two correlated ROC AUCs (binary).

    Parameters
    ----------
    y_true
        Booleans (or 0/1): the positive class.
    score_a, score_b
        Scores of the two models on the same rows (higher = more positive).

    Returns
    -------
    tuple
        ``(auc_a, auc_b, diff, ci_low, ci_high, p_value)`` with
        ``diff = auc_b - auc_a`` and a ``1 - alpha`` normal interval.

    References
    ----------
    DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44:837-845; Sun & Xu
    (2014), IEEE Signal Processing Letters 21:1389-1393.
    """
    import numpy as np  # deferred: start-up cost
    from scipy import stats  # deferred: start-up cost

    y = np.asarray(y_true).astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        raise InvalidInput("DeLong's test needs both classes in the data")
    scores = np.vstack([np.asarray(score_a, float), np.asarray(score_b, float)])
    pos, neg = scores[:, y], scores[:, ~y]
    aucs, v01, v10 = [], [], []
    for k in range(2):
        tx, ty = _midrank(pos[k]), _midrank(neg[k])
        tz = _midrank(np.concatenate([pos[k], neg[k]]))
        aucs.append((tz[:m].sum() / m - (m + 1) / 2.0) / n)
        v01.append((tz[:m] - tx) / n)  # placement of each positive among negatives
        v10.append(1.0 - (tz[m:] - ty) / m)  # placement of each negative among positives
    s = np.atleast_2d(np.cov(np.array(v01))) / m + np.atleast_2d(np.cov(np.array(v10))) / n
    var = float(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    diff = float(aucs[1] - aucs[0])
    if var <= 0:
        p = 1.0 if diff == 0 else 0.0
        return float(aucs[0]), float(aucs[1]), diff, diff, diff, p
    se = var**0.5
    zq = float(stats.norm.ppf(1 - alpha / 2))
    p = float(2 * stats.norm.sf(abs(diff) / se))
    return float(aucs[0]), float(aucs[1]), diff, diff - zq * se, diff + zq * se, p


def mcnemar_test(
    y_true: Any, pred_a: Any, pred_b: Any, *, alpha: float = 0.05
) -> tuple[float, float, float, float, float, float, int, int]:
    """McNemar's test for paired accuracies.

    Returns
    -------
    tuple
        ``(acc_a, acc_b, diff, ci_low, ci_high, p_value, b, c)``: ``b`` rows
        only A got right, ``c`` rows only B got right, ``diff = acc_b - acc_a``
        with a Wald interval for paired proportions. The p-value is exact
        (binomial) when ``b + c < 25``, else chi-square with continuity
        correction.
    """
    import numpy as np  # deferred: start-up cost
    from scipy import stats  # deferred: start-up cost

    y = np.asarray(y_true)
    ra, rb = np.asarray(pred_a) == y, np.asarray(pred_b) == y
    n = len(y)
    b, c = int((ra & ~rb).sum()), int((~ra & rb).sum())
    p = mcnemar_p(b, c)
    diff = (c - b) / n
    var = ((b + c) - (b - c) ** 2 / n) / n**2
    zq = float(stats.norm.ppf(1 - alpha / 2))
    half = zq * max(var, 0.0) ** 0.5
    return float(ra.mean()), float(rb.mean()), diff, diff - half, diff + half, p, b, c


def mcnemar_p(b: int, c: int) -> float:
    """McNemar p-value from the discordant counts (exact below 25 pairs)."""
    from scipy import stats  # deferred: start-up cost

    if b + c == 0:
        return 1.0
    if b + c < 25:
        return float(min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5)))
    stat = (abs(b - c) - 1) ** 2 / (b + c)
    return float(stats.chi2.sf(stat, 1))


def _weighted(metric: str, p: Predictions) -> Callable[[Any], Any] | None:
    """``W -> metric`` for a (resamples x rows) matrix of bootstrap counts, or ``None``.

    Every metric here is a function of weighted sums over rows, so one matrix
    product scores hundreds of resamples at once (same values as scikit-learn's
    functions with ``sample_weight``).
    """
    import numpy as np  # deferred: start-up cost

    y, yp = np.asarray(p.y_true), np.asarray(p.y_pred)
    if metric in ("rmse", "mae", "r2"):
        yt, r = y.astype(float), y.astype(float) - yp.astype(float)
        n = len(y)
        if metric == "rmse":
            return lambda W: np.sqrt(W @ r**2 / n)
        if metric == "mae":
            return lambda W: W @ np.abs(r) / n
        return lambda W: 1 - (W @ r**2) / (W @ yt**2 - (W @ yt) ** 2 / n)
    if p.classes is None:
        return None
    onehot = (y[:, None] == np.asarray(p.classes)[None, :]).astype(float)
    hit = (yp[:, None] == np.asarray(p.classes)[None, :]).astype(float)
    if metric == "accuracy":
        return lambda W: W @ (yp == y).astype(float) / len(y)
    if metric == "balanced_accuracy":

        def balanced(W: Any) -> Any:
            # a class no resampled row holds has no recall: left out, not a warning
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.nanmean((W @ (onehot * hit)) / (W @ onehot), axis=1)

        return balanced
    if metric in ("f1", "f1_macro"):
        tp, fp, fn = onehot * hit, (1 - onehot) * hit, onehot * (1 - hit)
        if metric == "f1":
            tp, fp, fn = tp[:, 1:2], fp[:, 1:2], fn[:, 1:2]

        def f1(W: Any) -> Any:
            a, b, c = W @ tp, W @ fp, W @ fn
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.nanmean(np.where(2 * a + b + c > 0, 2 * a / (2 * a + b + c), 0.0), axis=1)

        return f1
    if metric == "average_precision" and p.binary:
        score = np.asarray(p.positive_score(), float)
        order = np.argsort(-score, kind="mergesort")
        pos = onehot[order, 1]
        s = score[order]
        ends = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last row of each tie

        def ap(W: Any) -> Any:
            w = W[:, order]
            tp = np.cumsum(w * pos, axis=1)[:, ends]
            fp = np.cumsum(w * (1 - pos), axis=1)[:, ends]
            with np.errstate(invalid="ignore", divide="ignore"):
                prec = tp / (tp + fp)
                rec = tp / tp[:, -1:]
            return np.sum(np.diff(rec, axis=1, prepend=0.0) * prec, axis=1)

        return ap
    if p.proba is None:
        return None
    if metric == "log_loss":
        eps = np.finfo(p.proba.dtype).eps
        prob = np.clip(p.proba / p.proba.sum(axis=1, keepdims=True), eps, 1 - eps)
        term = -np.log(prob[onehot.astype(bool)])
        return lambda W: W @ term / len(y)
    if metric == "brier_score_loss":
        if p.binary:
            term = (p.proba[:, 1] - onehot[:, 1]) ** 2
        else:
            term = ((p.proba - onehot) ** 2).sum(axis=1)
        return lambda W: W @ term / len(y)
    return None


def paired_bootstrap(
    metric_a: Callable[[Any], float],
    metric_b: Callable[[Any], float],
    n: int,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    cancel: CancelToken | None = None,
) -> tuple[float, float, float]:
    """Paired bootstrap of ``metric_b(idx) - metric_a(idx)`` over resampled rows.

    ``metric_a`` and ``metric_b`` take an index array of rows and return the
    metric on those rows; both see the same resample each round.

    Returns
    -------
    tuple
        ``(ci_low, ci_high, p_value)``: percentile interval and the two-sided
        bootstrap p-value of "no difference".
    """
    import numpy as np  # deferred: start-up cost

    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        if i % 50 == 0:
            check(cancel)
        idx = rng.integers(0, n, n)
        diffs[i] = metric_b(idx) - metric_a(idx)
    return _summarise(diffs, alpha)


def _summarise(diffs: Any, alpha: float) -> tuple[float, float, float]:
    import numpy as np  # deferred: start-up cost

    diffs = diffs[np.isfinite(diffs)]
    if diffs.size == 0:
        return float("nan"), float("nan"), float("nan")
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    k = min((diffs <= 0).sum(), (diffs >= 0).sum())
    p = min(1.0, 2 * (k + 1) / (diffs.size + 1))
    return float(lo), float(hi), float(p)


def _bootstrap_weighted(
    fa: Callable[[Any], Any],
    fb: Callable[[Any], Any],
    n: int,
    *,
    n_boot: int,
    alpha: float,
    seed: int,
    cancel: CancelToken | None,
) -> tuple[float, float, float]:
    """Paired bootstrap with count matrices: same resamples as :func:`paired_bootstrap`."""
    import numpy as np  # deferred: start-up cost

    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, 4_000_000 // max(n, 1)))
    diffs = []
    done = 0
    while done < n_boot:
        check(cancel)
        k = min(chunk, n_boot - done)
        W = np.empty((k, n))
        for i in range(k):
            W[i] = np.bincount(rng.integers(0, n, n), minlength=n)
        diffs.append(np.asarray(fb(W), float) - np.asarray(fa(W), float))
        done += k
    return _summarise(np.concatenate(diffs), alpha)


def _metric_on_rows(metric: str, p: Predictions) -> Callable[[Any], float]:
    """``idx -> metric`` on those rows, with scikit-learn's function."""
    import numpy as np  # deferred: start-up cost
    from sklearn import metrics as m  # deferred: start-up cost

    y = np.asarray(p.y_true)
    if metric == "r2":
        yt, yp = y.astype(float), np.asarray(p.y_pred, float)
        return lambda idx: float(m.r2_score(yt[idx], yp[idx]))
    if metric == "balanced_accuracy":
        return lambda idx: float(m.balanced_accuracy_score(y[idx], p.y_pred[idx]))
    if metric == "f1":
        pos = p.classes[1]
        return lambda idx: float(m.f1_score(y[idx], p.y_pred[idx], pos_label=pos))
    if metric == "f1_macro":
        return lambda idx: float(m.f1_score(y[idx], p.y_pred[idx], average="macro"))
    if metric in ("roc_auc", "average_precision") and p.binary:
        yb, s = y == p.classes[1], p.positive_score()
        fn = m.roc_auc_score if metric == "roc_auc" else m.average_precision_score

        def binary(idx: Any) -> float:
            if yb[idx].all() or not yb[idx].any():
                return float("nan")
            return float(fn(yb[idx], s[idx]))

        return binary
    if metric == "roc_auc":

        def ovr(idx: Any) -> float:
            if len(np.unique(y[idx])) < len(p.classes):
                return float("nan")
            return float(m.roc_auc_score(y[idx], p.proba[idx], multi_class="ovr", labels=p.classes))

        return ovr
    raise InvalidInput(f"no paired test for the metric {metric!r}")


def compare_predictions(
    champion: Predictions,
    challenger: Predictions,
    metrics_a: dict[str, float],
    metrics_b: dict[str, float],
    *,
    alpha: float = 0.05,
    n_boot: int = 1000,
    seed: int = 0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> list[Difference]:
    """Differences (challenger - champion) for every metric both have, with tests."""
    import numpy as np  # deferred: start-up cost

    if len(champion.y_true) != len(challenger.y_true) or not np.array_equal(
        np.asarray(champion.y_true), np.asarray(challenger.y_true)
    ):
        raise InvalidInput("the two versions were not scored on the same rows")
    if champion.task != challenger.task:
        raise InvalidInput(f"cannot compare a {champion.task} model with a {challenger.task} model")
    if champion.classes is not None and not np.array_equal(champion.classes, challenger.classes):
        raise InvalidInput("the two versions predict different classes")
    keys = [k for k in HIGHER_IS_BETTER if k in metrics_a and k in metrics_b]
    out = []
    for i, key in enumerate(keys):
        check(cancel)
        progress(i / max(len(keys), 1), f"comparing {key}")
        a, b = float(metrics_a[key]), float(metrics_b[key])
        if key == "roc_auc" and champion.binary:
            yb = np.asarray(champion.y_true) == champion.classes[1]
            _, _, diff, lo, hi, pv = delong_test(
                yb, champion.positive_score(), challenger.positive_score(), alpha=alpha
            )
            test = "DeLong"
        elif key == "accuracy":
            _, _, diff, lo, hi, pv, _, _ = mcnemar_test(
                champion.y_true, champion.y_pred, challenger.y_pred, alpha=alpha
            )
            test = "McNemar"
        else:
            diff = b - a
            fa, fb = _weighted(key, champion), _weighted(key, challenger)
            if fa is not None and fb is not None:
                lo, hi, pv = _bootstrap_weighted(
                    fa,
                    fb,
                    len(champion.y_true),
                    n_boot=n_boot,
                    alpha=alpha,
                    seed=seed,
                    cancel=cancel,
                )
            else:
                lo, hi, pv = paired_bootstrap(
                    _metric_on_rows(key, champion),
                    _metric_on_rows(key, challenger),
                    len(champion.y_true),
                    n_boot=n_boot,
                    alpha=alpha,
                    seed=seed,
                    cancel=cancel,
                )
            test = "paired bootstrap"
        out.append(Difference(key, a, b, float(diff), lo, hi, pv, test, HIGHER_IS_BETTER[key]))
    progress(1.0, "compared")
    return out


# --------------------------------------------------------------------------- gates
_GATE_RE = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)\s*(?P<op>>=|<=)\s*"
    r"(?:(?P<champ>champion)\s*(?P<sign>[-+])\s*)?(?P<value>[0-9.eE+-]+)\s*$"
)


@dataclass(frozen=True)
class Gate:
    """A condition the challenger must meet before it may be promoted.

    ``kind`` is ``min`` (metric >= threshold), ``max`` (metric <= threshold)
    or ``not_worse`` (not worse than the champion by more than ``threshold``,
    shown by the confidence interval of the difference).
    """

    metric: str
    kind: str
    threshold: float

    def __str__(self) -> str:
        if self.kind == "min":
            return f"{self.metric}>={self.threshold:g}"
        if self.kind == "max":
            return f"{self.metric}<={self.threshold:g}"
        hib = HIGHER_IS_BETTER.get(self.metric, True)
        return (
            f"{self.metric}{'>=' if hib else '<='}champion{'-' if hib else '+'}{self.threshold:g}"
        )


def parse_gate(text: str) -> Gate:
    """Read a gate: ``roc_auc>=0.75``, ``rmse<=3.5``, ``roc_auc>=champion-0.01``, ``rmse<=champion+0.2``.

    Raises
    ------
    InvalidInput
        Unknown metric, or a margin on the wrong side for the metric.
    """
    m = _GATE_RE.match(text)
    if not m:
        raise InvalidInput(
            f"bad gate {text!r}: use METRIC>=VALUE, METRIC<=VALUE or METRIC>=champion-MARGIN"
        )
    metric, op = m["metric"], m["op"]
    if metric not in HIGHER_IS_BETTER:
        raise InvalidInput(
            f"unknown metric {metric!r} in gate {text!r}; use one of {', '.join(HIGHER_IS_BETTER)}"
        )
    try:
        value = float(m["value"])
    except ValueError:
        raise InvalidInput(f"bad number in gate {text!r}") from None
    if m["champ"]:
        hib = HIGHER_IS_BETTER[metric]
        if (op, m["sign"]) != ((">=", "-") if hib else ("<=", "+")):
            want = f"{metric}>=champion-X" if hib else f"{metric}<=champion+X"
            raise InvalidInput(f"bad gate {text!r}: for {metric} write {want}")
        return Gate(metric, "not_worse", value)
    return Gate(metric, "min" if op == ">=" else "max", value)


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_gates(
    gates: Sequence[Gate], metrics: dict[str, float], differences: Sequence[Difference]
) -> list[GateResult]:
    """Check each gate against the challenger's metrics and the differences."""
    by_metric = {d.metric: d for d in differences}
    out = []
    for g in gates:
        if g.kind in ("min", "max"):
            v = metrics.get(g.metric)
            if v is None:
                out.append(GateResult(str(g), False, f"the challenger has no {g.metric}"))
                continue
            ok = v >= g.threshold if g.kind == "min" else v <= g.threshold
            out.append(GateResult(str(g), ok, f"{g.metric} = {v:.4g}"))
            continue
        d = by_metric.get(g.metric)
        if d is None:
            out.append(GateResult(str(g), False, f"{g.metric} was not compared"))
            continue
        if d.higher_is_better:
            ok = d.ci_low > -g.threshold
            detail = f"difference {d.difference:+.4g}, interval [{d.ci_low:+.4g}, {d.ci_high:+.4g}] must stay above {-g.threshold:+.4g}"
        else:
            ok = d.ci_high < g.threshold
            detail = f"difference {d.difference:+.4g}, interval [{d.ci_low:+.4g}, {d.ci_high:+.4g}] must stay below {g.threshold:+.4g}"
        out.append(GateResult(str(g), bool(ok), detail))
    return out


# --------------------------------------------------------------------------- job
@dataclass(frozen=True)
class ComparisonResult:
    """Champion and challenger on the same data: their validations, differences, gates."""

    champion: Any  # ValidationResult
    challenger: Any  # ValidationResult
    differences: list[Difference]
    gates: list[GateResult]
    promotion_allowed: bool
    alpha: float
    comparison_id: int | None = None
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "champion": {
                "ref": self.champion.ref,
                "metrics": self.champion.metrics,
                "validation_id": self.champion.validation_id,
            },
            "challenger": {
                "ref": self.challenger.ref,
                "metrics": self.challenger.metrics,
                "validation_id": self.challenger.validation_id,
            },
            "data_fingerprint": self.champion.data_fingerprint,
            "rows": self.champion.rows,
            "alpha": self.alpha,
            "differences": [d.to_json() for d in self.differences],
            "gates": [g.to_json() for g in self.gates],
            "promotion_allowed": self.promotion_allowed,
            "comparison_id": self.comparison_id,
            "run_id": self.run_id,
        }


def rows_to_compare(alpha: float) -> int:
    """The fewest paired rows in which a difference can be significant at ``alpha``.

    With ``n`` paired rows, the smallest two-sided p-value of a distribution-free
    paired test is ``2 / 2**n`` (every row favours the same version): McNemar's
    exact test, the accuracy's, reaches it, and no test of ``n`` pairs goes
    lower without assuming a distribution. Below this many rows every verdict
    would be "no significant difference" whatever the models do, and the
    bootstrap's intervals and p-values come from a handful of distinct
    resamples (1 row: one resample, an interval of width 0 and p 0.002).
    At ``alpha`` 0.05: 6 rows.
    """
    return max(2, math.ceil(math.log2(2 / alpha) - 1e-12))


def enough_to_compare(alpha: float) -> Callable[[Any, str], None]:
    """``vet(y, task)`` for :func:`validate`: refuses data too small to compare on."""
    need = rows_to_compare(alpha)

    def vet(y: Any, task: str) -> None:
        import numpy as np  # deferred: start-up cost

        n = len(y)
        if n < need:
            raise InvalidInput(
                f"a comparison needs at least {need} rows and the data has {n}: with fewer, "
                f"no paired test can find a difference at alpha {alpha:g}"
            )
        if task == "classification" and len(np.unique(np.asarray(y))) < 2:
            raise InvalidInput(
                f"the target holds one class ({np.asarray(y)[0]}) in every row; comparing "
                "classifiers needs rows of at least two classes"
            )

    return vet


@door("compare", source="data", ref="challenger")
def compare(
    registry: Any,
    champion: str,
    challenger: str,
    data: str,
    *,
    gates: Sequence[Gate | str] = (),
    alpha: float = 0.05,
    n_boot: int = 1000,
    seed: int = 0,
    target: str | None = None,
    allow_extra: bool = False,
    store: bool = True,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> ComparisonResult:
    """Validate champion and challenger on the same data and compare them.

    Each validation is stored (or reused, when the same version was already
    validated on the same data). A new one is stored without its metrics'
    own bootstrap intervals (``intervals_deferred``): the comparison needs only
    the paired differences, and the next ``validate`` of that version on that
    data computes them from the stored predictions. The differences, the gate results and the
    decision are stored as a comparison with an audit event.

    Returns
    -------
    ComparisonResult
        ``promotion_allowed`` is true when every gate passed (and there were
        no gates, or all passed).
    """

    parsed = [g if isinstance(g, Gate) else parse_gate(g) for g in gates]
    if not 0 < alpha < 1:
        raise InvalidInput(f"alpha must be between 0 and 1, not {alpha}")
    vet = enough_to_compare(alpha)  # checked before either validation is stored
    a = validate(
        registry,
        champion,
        data,
        target=target,
        allow_extra=allow_extra,
        store=store,
        intervals=False,  # the paired differences below carry the comparison's intervals
        vet=vet,
        progress=sub_progress(progress, 0.0, 0.35),
        cancel=cancel,
    )
    b = validate(
        registry,
        challenger,
        data,
        target=target,
        allow_extra=allow_extra,
        store=store,
        intervals=False,
        vet=vet,
        progress=sub_progress(progress, 0.35, 0.7),
        cancel=cancel,
    )
    if a.version_id == b.version_id:
        raise InvalidInput(f"{champion} and {challenger} are the same version ({a.ref})")
    run_id = (
        registry.create_run(
            "compare",
            params={"champion": a.ref, "challenger": b.ref, "gates": [str(g) for g in parsed]},
        )
        if store
        else None
    )
    with registry.recording_failure(run_id), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an odd resample is a nan, never a line on stderr
        assert a.predictions is not None and b.predictions is not None
        diffs = compare_predictions(
            a.predictions,
            b.predictions,
            a.metrics,
            b.metrics,
            alpha=alpha,
            n_boot=n_boot,
            seed=seed,
            progress=sub_progress(progress, 0.7, 0.97),
            cancel=cancel,
        )
        gate_results = evaluate_gates(parsed, b.metrics, diffs)
        result = ComparisonResult(
            a, b, diffs, gate_results, all(g.passed for g in gate_results), alpha
        )
        if run_id is not None:
            result = _store(registry, result, run_id)
    progress(1.0, "compared")
    return result


def _store(registry: Any, result: ComparisonResult, run_id: int) -> ComparisonResult:
    doc = result.to_json()
    with registry.transaction() as tx:
        cid = tx.next_id("seq_comparisons")
        tx.q(
            "INSERT INTO comparisons VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                cid,
                run_id,
                result.champion.version_id,
                result.challenger.version_id,
                result.champion.validation_id,
                result.challenger.validation_id,
                result.champion.data_fingerprint,
                json.dumps(doc["differences"]),
                json.dumps(doc["gates"]),
                result.promotion_allowed,
                utcnow(),
                tx.actor,
            ],
        )
        tx.audit(
            "comparison.recorded",
            "version",
            result.challenger.ref,
            after={
                "comparison_id": cid,
                "champion": result.champion.ref,
                "challenger": result.challenger.ref,
                "gates": doc["gates"],
                "promotion_allowed": result.promotion_allowed,
            },
        )
    out = replace(result, comparison_id=cid, run_id=run_id)
    registry.finish_run(
        run_id,
        "finished",
        result={k: v for k, v in out.to_json().items() if k not in ("champion", "challenger")},
        version_id=result.challenger.version_id,
    )
    return out


def promote(registry: Any, comparison_id: int, *, reason: str, alias: str = "champion") -> Any:
    """Point ``alias`` at the challenger of a stored comparison, if its gates allowed it.

    Raises
    ------
    InvalidInput
        The comparison's gates did not allow promotion.
    NotFound
        No such comparison.
    """
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT challenger_version_id, promotion_allowed, gates FROM comparisons WHERE id = ?",
            [comparison_id],
        ).fetchall()
    if not rows:
        raise NotFound(f"no comparison with id {comparison_id}")
    vid, allowed, gates = rows[0]
    if not allowed:
        failed = [g["gate"] for g in json.loads(gates) if not g["passed"]]
        raise InvalidInput(
            f"comparison {comparison_id} does not allow promotion: gate {', '.join(failed)} failed"
        )
    v = registry.get_version_by_id(int(vid))
    return registry.set_alias(v.ref, alias, f"{reason} (comparison {comparison_id})")
