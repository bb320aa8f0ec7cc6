"""The training worker process: JSON lines protocol, cancel, errors, validate and compare.

Each test starts the real worker (``python -m modelward --mw-worker train``)
on a registry in ``tmp_path``; no Qt is imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelward.core.compute.recipe import Recipe, Search, Split
from modelward.core.compute.training import train
from modelward.core.compute.worker import run_in_worker
from modelward.core.errors import Cancelled, InvalidInput, ModelWardError, NotFound
from modelward.core.progress import CancelToken
from modelward.core.registry import Registry
from modelward.core.workers import WORKERS, worker_command

sys.path.insert(0, str(Path(__file__).parent))
from test_training import credit_frame  # noqa: E402


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "reg")


@pytest.fixture
def credit_csv(tmp_path: Path) -> Path:
    path = tmp_path / "credit.csv"
    credit_frame().to_csv(path, index=False)
    return path


def train_request(reg: Registry, data: Path, **kw) -> dict:
    recipe = Recipe(
        data=str(data),
        target=kw.pop("target", "default"),
        estimator="LogisticRegression",
        split=kw.pop("split", Split(kind="kfold", folds=3)),
        search=kw.pop("search", None),
        seed=1,
    )
    return {
        "kind": "train",
        "registry": str(reg.home),
        "recipe": recipe.to_json(),
        "name": "credit",
        **kw,
    }


def versions(reg: Registry) -> list[str]:
    return [v.ref for v in reg.list_versions()]


def test_train_worker_is_registered_for_the_frozen_app() -> None:
    assert WORKERS["train"] == "modelward.core.worker_side:worker_main"
    assert worker_command("train")[-2:] == ["--mw-worker", "train"]


def test_train_in_worker_streams_progress_and_scores_then_registers(
    reg: Registry, credit_csv: Path
) -> None:
    messages: list[dict] = []
    result = run_in_worker(train_request(reg, credit_csv), messages.append)

    assert result["ref"] == "credit:1"
    scores = [m["score"] for m in messages if "score" in m]
    # three folds, then the refit on all rows (which is not a scored fold)
    assert [s["fold"] for s in scores] == [0, 1, 2]
    assert all(s["stage"] == "evaluate" and "roc_auc" in s["metrics"] for s in scores)
    assert scores[-1]["done"] == 3 and scores[-1]["total"] == 4
    fractions = [m["progress"] for m in messages if "progress" in m]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.get("status", "").startswith("registered credit:1") for m in messages)
    # the version is in the registry, with the recipe in its lineage
    v = reg.resolve("credit:1")
    assert v.lineage["recipe"]["split"]["folds"] == 3
    assert v.metrics["roc_auc"] == pytest.approx(result["metrics"]["roc_auc"])


def test_cancel_between_folds_leaves_no_version(reg: Registry, credit_csv: Path) -> None:
    # a search with many fits, cancelled as soon as the first one is scored
    search = Search(kind="grid", space={"C": [0.01 * (i + 1) for i in range(60)]}, folds=3)
    token = CancelToken()
    seen: list[dict] = []

    def on_message(msg: dict) -> None:
        seen.append(msg)
        if "score" in msg:
            token.cancel()

    with pytest.raises(Cancelled):
        run_in_worker(train_request(reg, credit_csv, search=search), on_message, token)
    scores = [m for m in seen if "score" in m]
    assert 1 <= len(scores) < scores[0]["score"]["total"]
    assert versions(reg) == []
    with reg.read() as cur:
        runs = cur.execute("SELECT status, error FROM runs WHERE kind = 'train'").fetchall()
    assert runs == [("cancelled", "cancelled by the user")]


def test_errors_keep_their_class_and_sentence(reg: Registry, credit_csv: Path) -> None:
    with pytest.raises(InvalidInput, match="no column 'nope'|target column 'nope'"):
        run_in_worker(train_request(reg, credit_csv, target="nope"))
    with pytest.raises(NotFound):
        run_in_worker(
            {
                "kind": "validate",
                "registry": str(reg.home),
                "ref": "ghost:1",
                "data": str(credit_csv),
            }
        )
    with pytest.raises(InvalidInput, match="unknown worker request 'dance'"):
        run_in_worker({"kind": "dance", "registry": str(reg.home)})
    assert versions(reg) == []


def test_validate_and_compare_in_worker(reg: Registry, credit_csv: Path) -> None:
    base = Recipe(data=str(credit_csv), target="default", estimator="LogisticRegression", seed=1)
    train(reg, base, "credit")
    train(reg, base.replace(estimator="DecisionTreeClassifier", params={"max_depth": 2}), "credit")

    val = run_in_worker(
        {"kind": "validate", "registry": str(reg.home), "ref": "credit:1", "data": str(credit_csv)}
    )
    assert val["ref"] == "credit:1" and val["rows"] == 240
    assert {"roc", "pr", "calibration", "confusion_matrix"} <= set(val["curves"])
    assert len(val["curves"]["roc"]["fpr"]) == len(val["curves"]["roc"]["tpr"]) > 2

    cmp = run_in_worker(
        {
            "kind": "compare",
            "registry": str(reg.home),
            "champion": "credit:1",
            "challenger": "credit:2",
            "data": str(credit_csv),
            "gates": ["roc_auc>=0.5"],
            "n_boot": 100,
        }
    )
    assert cmp["champion"]["ref"] == "credit:1" and cmp["challenger"]["ref"] == "credit:2"
    metrics = {d["metric"] for d in cmp["differences"]}
    assert {"roc_auc", "accuracy"} <= metrics
    assert all(d["ci_low"] <= d["difference"] <= d["ci_high"] for d in cmp["differences"])
    assert cmp["gates"][0]["gate"] == "roc_auc>=0.5"
    assert cmp["comparison_id"] is not None
    assert "roc" in cmp["challenger"]["curves"] and cmp["task"] == "classification"


def test_a_worker_that_ignores_cancel_is_terminated() -> None:
    # stands in for a fit that never reaches a cancel check
    hung = [sys.executable, "-c", "import sys, time; sys.stdin.readline(); time.sleep(120)"]
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_in_worker({"kind": "train"}, cancel=token, grace=0.2, command=hung)


def test_a_worker_that_dies_gives_one_sentence() -> None:
    dies = [sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)"]
    with pytest.raises(ModelWardError, match=r"stopped without an answer \(exit code 3\)"):
        run_in_worker({"kind": "train"}, command=dies)
