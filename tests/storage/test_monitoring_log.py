"""A batch that ``score`` already scored is checked from the prediction log, not scored again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelward.core.intake.estimator import log_estimator
from modelward.core.monitoring import service
from modelward.core.registry import Registry

FEATURES = ["age", "income", "debt"]


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)) + [shift, 0, 0], columns=FEATURES)
    df.insert(0, "loan_id", [f"L{seed}-{i:05d}" for i in range(n)])
    return df


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return _registry(tmp_path_factory.mktemp("predlog") / "reg")


def _registry(path: Path) -> Path:
    """A registry with ``credit:1`` profiled (the first test breaks its model on purpose)."""
    reg = Registry(path)
    ref = _frame(2000, 0)
    y = (ref["age"] + 0.5 * ref["income"] > 0).astype(int)
    log_estimator(reg, LogisticRegression().fit(ref[FEATURES], y), "credit", X=ref[FEATURES])
    ref["default"] = y
    cols = {c: ref[c].to_numpy() for c in [*FEATURES, "default"]}
    service.profile_version(reg, "credit:1", cols, target="default")
    reg.close()
    return path


def test_scored_batch_is_checked_from_the_log_without_loading_the_model(run_cli, home, tmp_path):
    batch = tmp_path / "applications.csv"
    _frame(400, 1, shift=0.4).to_csv(batch, index=False)
    scored = run_cli(
        *("score", "credit:1", "--data", str(batch), "-o", str(tmp_path / "out.csv")),
        *("--id-column", "loan_id", "--log-rows", "--registry", str(home), "--json"),
        timeout=900,
    )
    assert scored.returncode == 0, scored.stderr
    key = json.loads(scored.stdout)["batch_id"]

    # the same check with the model, for comparison (nothing read from the log)
    reg = Registry(home)
    direct = service.check_batch(reg, "credit:1", batch, name="direct", reuse_log=False)
    assert direct.scores_from_log is None
    # fault injection: the model's bytes are broken, so any load of it fails
    v = reg.resolve("credit:1")
    model_file = reg.artifacts.path_for(v.sha256)
    reg.close()
    os.chmod(model_file, 0o600)
    model_file.write_bytes(b"not a model")

    proc = run_cli(
        *("monitor", "credit:1", "--batch", str(batch), "--registry", str(home), "--json"),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["scores_from_log"] == key
    # the same scores as the model gives: prediction drift and the estimate agree
    assert out["prediction"]["statistic"] == pytest.approx(direct.report.prediction.statistic)
    assert set(out["performance"]) == set(direct.performance)
    for kind, metrics in direct.performance.items():
        assert out["performance"][kind] == pytest.approx(metrics)
    assert out["predictions"]["mean"] == pytest.approx(direct.predictions["mean"])
    assert out["predictions"]["quantiles"] == pytest.approx(direct.predictions["quantiles"])

    reg = Registry(home)
    ev = reg.audit_events(action="monitor.checked")[0]  # newest first
    assert ev.after["scores_from_log"] == key
    # the fault is real: a batch the log does not have needs the model, and fails
    other = tmp_path / "other.csv"
    _frame(400, 2).to_csv(other, index=False)
    with pytest.raises(Exception, match="(?i)digest|sha|corrupt|unreadable|mismatch"):
        service.check_batch(reg, "credit:1", other)
    # asked for by its id, the same batch is read from the log in-process too
    res = service.check_batch(reg, "credit:1", batch, scored_batch=key)
    assert res.scores_from_log == key
    reg.close()


def test_a_file_of_another_size_is_not_hashed_to_look_for_it_in_the_log(
    run_cli, tmp_path, monkeypatch
):
    """score logs the input's size: a fresh batch of another size is never hashed
    (a gigabyte file costs seconds to hash); one of the same size is, and is found."""
    home = _registry(tmp_path / "reg")
    logged = tmp_path / "logged.csv"
    _frame(300, 5).to_csv(logged, index=False)
    proc = run_cli(
        *("score", "credit:1", "--data", str(logged), "-o", str(tmp_path / "o.csv")),
        *("--id-column", "loan_id", "--log-rows", "--registry", str(home), "--json"),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    key = json.loads(proc.stdout)["batch_id"]
    reg = Registry(home)
    try:
        (b,) = service.read_predictions(reg, "credit", batch_id=key)
        assert b.summary["input_bytes"] == logged.stat().st_size
        hashed: list[Path] = []
        real = service._file_key
        monkeypatch.setattr(service, "_file_key", lambda p, *a: hashed.append(p) or real(p, *a))
        fresh = tmp_path / "fresh.csv"
        _frame(301, 6).to_csv(fresh, index=False)
        assert fresh.stat().st_size != logged.stat().st_size
        assert service.logged_batch_key(reg, "credit:1", fresh) is None
        assert service.check_batch(reg, "credit:1", fresh).scores_from_log is None
        assert hashed == []
        assert service.logged_batch_key(reg, "credit:1", logged) == key
        assert hashed == [logged]
        # a lookup cancelled meanwhile (the CLI's, when the batch is refused) stops reading
        from modelward.core.progress import CancelToken

        gone = CancelToken()
        gone.cancel()
        assert service.logged_batch_key(reg, "credit:1", logged, cancel=gone) is None
    finally:
        reg.close()
