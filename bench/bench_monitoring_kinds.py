"""Performance monitoring by model kind: realized and estimated, against scikit-learn.

For a regressor and a 3-class classifier (``--binary``: also a binary one), a
reference is profiled with its labels; then batches drawn with a growing mean
shift of the main input (0 to 1σ) are checked through the monitoring service,
each twice: with labels (realized) and without (estimated). Realized metrics
are compared with scikit-learn's own functions on the same rows and the
largest absolute difference over every metric and batch is printed (it must
be below 1e-9); each estimate is printed beside the realized value.

Run: ``python bench/bench_monitoring_kinds.py`` (about half a minute;
``--rows`` sets the batch size).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

from modelward import api
from modelward.core.monitoring import service
from modelward.core.registry import Registry

FEATURES = ["x1", "x2", "x3", "x4"]
SHIFTS = (0.0, 0.5, 1.0)


def draw(kind: str, n: int, seed: int, shift: float) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    X["x1"] += shift
    z = 1.5 * X["x1"] + X["x2"] - 0.5 * X["x3"] ** 2 + 0.6 * rng.normal(size=n)
    if kind == "regression":
        return X, 20.0 + 4.0 * z.to_numpy()
    if kind == "multiclass":
        return X, np.where(z < -1.0, "low", np.where(z < 0.5, "mid", "high"))
    return X, np.where(z > 0.0, "yes", "no")


def sklearn_metrics(kind: str, model, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """The monitored metric set computed by scikit-learn directly."""
    if kind == "regression":
        p = model.predict(X)
        out = {
            "rmse": skm.root_mean_squared_error(y, p),
            "mae": skm.mean_absolute_error(y, p),
            "r2": skm.r2_score(y, p),
        }
        if not (y == 0).any():
            out["mape"] = skm.mean_absolute_percentage_error(y, p)
        return out
    proba = model.predict_proba(X)
    if kind == "binary":
        pos = model.classes_[1]
        pred = np.where(proba[:, 1] >= 0.5, pos, model.classes_[0])
        return {
            "accuracy": skm.accuracy_score(y, pred),
            "precision": skm.precision_score(y, pred, pos_label=pos),
            "recall": skm.recall_score(y, pred, pos_label=pos),
            "f1": skm.f1_score(y, pred, pos_label=pos),
            "roc_auc": skm.roc_auc_score(y == pos, proba[:, 1]),
        }
    pred = model.predict(X)
    out = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "f1_macro": skm.f1_score(y, pred, average="macro"),
        "f1_weighted": skm.f1_score(y, pred, average="weighted"),
        "log_loss": skm.log_loss(y, proba, labels=model.classes_),
    }
    rec = skm.recall_score(y, pred, labels=model.classes_, average=None)
    out.update({f"recall[{c}]": float(r) for c, r in zip(model.classes_, rec, strict=True)})
    return out


def run_kind(kind: str, home: Path, ref_rows: int, rows: int) -> float:
    reg = Registry(home / kind)
    Xt, yt = draw(kind, ref_rows, 0, 0.0)
    model = (
        HistGradientBoostingRegressor(max_iter=60, random_state=0)
        if kind == "regression"
        else LogisticRegression(max_iter=1000)
    ).fit(Xt, yt)
    api.log_model(model, "m", registry=reg, X=Xt)
    # the reference is held-out data: errors on the training rows would be too small
    X, y = draw(kind, ref_rows, 1, 0.0)
    ref = {c: X[c].to_numpy() for c in FEATURES}
    ref["y"] = y
    service.profile_version(reg, "m:1", ref, target="y")
    worst = 0.0
    print(f"\n{kind}")
    for k, shift in enumerate(SHIFTS):
        Xb, yb = draw(kind, rows, 100 + k, shift)
        cols = {c: Xb[c].to_numpy() for c in FEATURES}
        real = service.check_batch(reg, "m:1", {**cols, "y": yb}, label_column="y")
        est = service.check_batch(reg, "m:1", cols)
        truth = sklearn_metrics(kind, model, Xb, yb)
        got = real.performance["realized"]
        if set(got) != set(truth):
            raise SystemExit(f"{kind}: metric sets differ: {sorted(got)} vs {sorted(truth)}")
        diff = max(abs(got[m] - float(truth[m])) for m in truth)
        worst = max(worst, diff)
        estimated = est.performance.get("estimated", {})
        shown = [m for m in got if not m.startswith("recall[")]
        line = ", ".join(
            f"{m} {got[m]:.4f}" + (f" (est. {estimated[m]:.4f})" if m in estimated else "")
            for m in shown
        )
        print(f"  shift {shift:.2f}σ  drift share {real.report.drift_share:.2f}  {line}")
        print(f"             max |realized - scikit-learn| = {diff:.2e}")
    print(f"  how estimated: {est.performance_notes[0] if est.performance_notes else '-'}")
    reg.close()
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000, help="rows per batch")
    ap.add_argument("--reference-rows", type=int, default=20_000)
    ap.add_argument("--binary", action="store_true", help="also a binary classifier")
    args = ap.parse_args()
    t0 = time.perf_counter()
    worst = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("regression", "multiclass", *(("binary",) if args.binary else ())):
            worst[kind] = run_kind(kind, Path(tmp), args.reference_rows, args.rows)
    print("\nmax |realized - scikit-learn| over every metric and batch:")
    for kind, w in worst.items():
        print(f"  {kind:<10} {w:.2e}  {'ok' if w <= 1e-9 else 'ABOVE 1e-9'}")
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
