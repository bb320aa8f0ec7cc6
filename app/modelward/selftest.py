"""``modelward selftest``: prove this installation works end to end.

It runs in a temporary folder and leaves nothing behind. The same checks run in
a source checkout, an installed wheel and the frozen bundle.
"""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelward.core.intake import accept_model_file

Echo = Callable[[str], None] | None


def _check_registry(tmp: Path) -> str:
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from modelward import api
    from modelward.core.registry import Registry

    reg = Registry(tmp / "registry")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    v1 = api.log_model(
        clf, "selftest", X=X, y=y, metrics={"accuracy": clf.score(X, y)}, registry=reg
    )
    path = tmp / "outside.joblib"
    joblib.dump(clf, path)
    v2 = accept_model_file(reg, path, name="selftest").register_result().version
    reg.set_alias(v1.ref, "champion", "selftest")
    loaded = api.load_model("selftest@champion", registry=reg)
    if not np.array_equal(loaded.predict(X), clf.predict(X)):
        raise AssertionError("the loaded model predicts differently")
    report = reg.verify_audit()
    if not report.ok:
        raise AssertionError(f"audit chain broken: {report.problem}")
    return f"registered {v1.ref} and {v2.ref}, loaded the champion, {report.events} audit events verify"


def _check_parallel_fit(tmp: Path) -> str:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] > 0).astype(int)
    # cross_val_score with n_jobs=2 uses joblib's loky process pool: in the
    # frozen app this re-runs our executable as a worker.
    scores = cross_val_score(LogisticRegression(), X, y, cv=4, n_jobs=2)
    return f"4-fold cross-validation in 2 worker processes, mean accuracy {scores.mean():.3f}"


def _check_window(tmp: Path) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from modelward.ui.launch import smoke_window

    n = smoke_window(tmp / "registry")
    return f"main window opened offscreen on a registry with {n} versions and closed"


def run_selftest(*, gui: bool = True, echo: Echo = print) -> dict[str, Any]:
    """Run every check; return ``{"ok": bool, "checks": [...]}``."""
    checks: list[tuple[str, Callable[[Path], str]]] = [
        ("registry", _check_registry),
        ("parallel-fit", _check_parallel_fit),
    ]
    if gui:
        checks.append(("window", _check_window))
    results = []
    with tempfile.TemporaryDirectory(prefix="modelward-selftest-") as tmpdir:
        tmp = Path(tmpdir)
        for name, fn in checks:
            t0 = time.perf_counter()
            try:
                detail = fn(tmp)
                ok = True
            except Exception as e:  # report, never crash
                detail = f"{type(e).__name__}: {e}"
                ok = False
                if os.environ.get("MODELWARD_DEBUG"):
                    traceback.print_exc()
            dt = time.perf_counter() - t0
            results.append({"check": name, "ok": ok, "detail": detail, "seconds": round(dt, 3)})
            if echo is not None:
                echo(f"[{'PASS' if ok else 'FAIL'}] {name:<13} {detail}  ({dt:.1f} s)")
    ok = all(r["ok"] for r in results)
    if echo is not None:
        echo("selftest passed" if ok else "selftest FAILED")
    return {"ok": ok, "checks": results}
