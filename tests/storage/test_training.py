"""Training jobs on real files: lineage, cancel, bad input, retrain, parallel folds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelward.core.compute.parallel import Compute
from modelward.core.compute.recipe import Recipe, Search, Split
from modelward.core.compute.training import retrain_from_lineage, train
from modelward.core.errors import Cancelled, InvalidInput
from modelward.core.progress import CancelToken
from modelward.core.registry import Registry


def credit_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n)
    age = rng.integers(18, 80, n).astype(float)
    region = rng.choice(["north", "south", "east"], n)
    debt = rng.normal(10, 5, n)
    logit = 0.08 * (debt - 10) - 0.05 * (income - 50) + (region == "south") * 0.8
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    income[rng.choice(n, 10, replace=False)] = np.nan  # imputation is part of the model
    ts = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.permutation(n), unit="D")
    return pd.DataFrame(
        {"income": income, "age": age, "region": region, "debt": debt, "ts": ts, "default": y}
    )


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "reg")


@pytest.fixture
def credit_csv(tmp_path: Path) -> Path:
    path = tmp_path / "credit.csv"
    credit_frame().to_csv(path, index=False)
    return path


def recipe(data: Path, **kw) -> Recipe:
    base = dict(data=str(data), target="default", estimator="LogisticRegression", seed=3)
    base.update(kw)
    return Recipe(**base)


def registry_state(reg: Registry) -> dict[str, object]:
    """Everything a job could leave behind, except run records and their audit events."""
    with reg.read() as cur:
        out = {
            t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("models", "versions", "version_metrics", "datasets", "validations")
        }
        out["audit"] = cur.execute(
            "SELECT action, entity_id FROM audit WHERE entity_type <> 'run' ORDER BY seq"
        ).fetchall()
    return out


def test_holdout_training_registers_a_version_with_its_evidence(reg, credit_csv):
    from sklearn.metrics import roc_auc_score

    from modelward.core.artifacts.safeload import load_artifact
    from modelward.core.compute import data as D
    from modelward.core.compute.training import _prepare, _splits

    seen = []
    res = train(
        reg, recipe(credit_csv, params={"C": 0.5}), "credit", progress=lambda f, s: seen.append(f)
    )
    v = reg.resolve("credit:1")
    assert (res.name, res.version) == ("credit", 1)
    assert v.format == "skops" and v.estimator_class.endswith("LogisticRegression")
    assert v.metrics == pytest.approx(res.metrics)
    assert seen == sorted(seen) and seen[-1] == 1.0
    lin = v.lineage
    assert lin["recipe"] == recipe(credit_csv, params={"C": 0.5}).to_json()
    assert lin["seed"] == 3 and lin["run_id"] == res.run_id
    assert {"python", "sklearn", "numpy", "platform"} <= set(lin["environment"])
    # the snapshot in the store is the training data, row for row
    snap = D.read_table(reg.artifacts.verify(lin["snapshot_sha256"]))
    original = D.read_table(credit_csv)
    pd.testing.assert_frame_equal(snap, original)
    assert D.fingerprint_frame(snap) == lin["data_fingerprint"]
    # the metric is scikit-learn's on the holdout rows, with the stored model
    model = load_artifact(reg.artifacts, v.sha256, v.format)
    r = Recipe.from_json(lin["recipe"])
    X, y, _, _ = _prepare(snap, r)
    _, test = _splits(r, y, "classification", len(y))[0]
    assert len(test) == 60
    proba = model.predict_proba(X.iloc[test])[:, 1]
    assert v.metrics["roc_auc"] == pytest.approx(roc_auc_score(y[test], proba), abs=1e-12)
    # the schema the validation checks against
    kinds = {c["name"]: c["kind"] for c in v.signature["features"]}
    assert kinds == {
        "income": "numeric",
        "age": "numeric",
        "region": "categorical",
        "debt": "numeric",
    }
    assert v.signature["dropped"] == {"ts": "timestamp"}
    with reg.read() as cur:
        status = cur.execute(
            "SELECT status, version_id FROM runs WHERE id = ?", [res.run_id]
        ).fetchall()
    assert status == [("finished", v.id)]


def test_kfold_reports_each_fold_and_refits_on_all_rows(reg, credit_csv):
    scores = []
    res = train(
        reg,
        recipe(credit_csv, split=Split(kind="stratified", folds=4)),
        "credit",
        on_score=scores.append,
    )
    assert [s.stage for s in scores] == ["evaluate"] * 4
    assert sorted(s.fold for s in scores) == [0, 1, 2, 3]
    assert len(res.fold_metrics) == 4
    assert res.metrics["accuracy"] == pytest.approx(
        np.mean([f["accuracy"] for f in res.fold_metrics])
    )


def test_grid_search_reports_candidates_and_keeps_the_best(reg, credit_csv):
    scores = []
    r = recipe(
        credit_csv,
        estimator="DecisionTreeClassifier",
        search=Search(kind="grid", space={"max_depth": [1, 3, 6]}, folds=3),
    )
    res = train(reg, r, "tree", on_score=scores.append)
    search = [s for s in scores if s.stage == "search"]
    assert len(search) == 9 and {s.candidate for s in search} == {0, 1, 2}
    assert scores[-1].stage == "evaluate" and scores[-1].done == scores[-1].total == 10
    with reg.read() as cur:
        result = json.loads(
            cur.execute("SELECT result FROM runs WHERE id = ?", [res.run_id]).fetchall()[0][0]
        )
    best = max(result["search"], key=lambda c: c["roc_auc"])
    assert res.params["max_depth"] == best["params"]["max_depth"]
    assert reg.resolve("tree:1").params["max_depth"] == best["params"]["max_depth"]


def test_time_split_tests_on_the_latest_rows(reg, tmp_path):
    path = tmp_path / "credit.parquet"
    from modelward.core.compute.data import frame_to_parquet

    frame_to_parquet(credit_frame(), path)
    res = train(reg, recipe(path, split=Split(kind="time", test_size=0.25, time_column="ts")), "t")
    assert res.metrics["accuracy"] > 0.5
    assert reg.resolve("t:1").signature["time_column"] == "ts"


def test_regression(reg, tmp_path):
    df = credit_frame()
    df["amount"] = df["income"].fillna(50) * 2 + np.random.default_rng(0).normal(size=len(df))
    path = tmp_path / "r.csv"
    df.drop(columns=["default"]).to_csv(path, index=False)
    res = train(
        reg,
        recipe(path, target="amount", estimator="Ridge", split=Split(kind="kfold", folds=3)),
        "r",
    )
    assert set(res.metrics) == {"rmse", "mae", "r2"} and res.metrics["r2"] > 0.8


def test_retrain_from_lineage_reproduces_metrics_exactly(reg, credit_csv):
    first = train(
        reg,
        recipe(
            credit_csv,
            estimator="RandomForestClassifier",
            params={"n_estimators": 20},
            split=Split(kind="kfold", folds=3),
        ),
        "forest",
    )
    credit_csv.unlink()  # the snapshot, not the original file, is what retraining reads
    again = retrain_from_lineage(reg, first.ref)
    assert again.reproduced is True
    assert again.metrics == first.metrics
    assert reg.resolve(again.ref).lineage["retrained_from"] == "forest:1"


def test_parallel_folds_give_the_same_metrics(reg, credit_csv):
    r = recipe(
        credit_csv,
        estimator="HistGradientBoostingClassifier",
        params={"max_iter": 20},
        split=Split(kind="kfold", folds=3),
    )
    one = train(reg, r, "p1", compute=Compute(n_jobs=1))
    two = train(reg, r, "p2", compute=Compute(n_jobs=2))
    assert one.metrics == two.metrics


def test_cancel_between_folds_leaves_the_registry_as_it_was(reg, credit_csv):
    train(reg, recipe(credit_csv), "credit")
    before = registry_state(reg)
    token = CancelToken()
    scores = []

    def on_score(s):
        scores.append(s)
        token.cancel()  # the user presses Cancel as the first fold finishes

    with pytest.raises(Cancelled):
        train(
            reg,
            recipe(credit_csv, split=Split(kind="kfold", folds=5)),
            "credit",
            cancel=token,
            on_score=on_score,
        )
    assert len(scores) == 1
    assert registry_state(reg) == before
    with reg.read() as cur:
        runs = cur.execute("SELECT status, version_id FROM runs ORDER BY id").fetchall()
    assert runs == [("finished", 1), ("cancelled", None)]
    assert reg.verify_audit().ok


def _bad(kind: str, tmp_path: Path) -> tuple[Path, dict]:
    df = credit_frame(n=60)
    kw: dict = {}
    if kind == "missing target":
        df = df.drop(columns=["default"])
    elif kind == "single class":
        df["default"] = 1
    elif kind == "all-NaN column":
        df["empty"] = np.nan
    elif kind == "text in a numeric column":
        df["age"] = df["age"].astype(object)
        df.loc[41, "age"] = "forty"
    elif kind == "fewer rows than folds":
        df = df.head(4)
        kw = {"split": Split(kind="kfold", folds=5)}
    elif kind == "empty target":
        df["default"] = df["default"].astype(float)
        df.loc[7, "default"] = np.nan
    elif kind == "continuous target":
        df["default"] = df["income"].fillna(0) / 7
    elif kind == "a class outside the declared ones":
        df.loc[16, "default"] = 2
        kw = {"classes": (0, 1)}
    elif kind == "too many classes":
        df["default"] = np.arange(60) * 3  # a count, unique per row: not classes
        df["default"] = df["default"].sample(frac=1, random_state=0).to_numpy()
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    return path, kw


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("missing target", ["no target column 'default'", "'income'"]),
        ("single class", ["'default'", "single class (1)"]),
        ("all-NaN column", ["'empty'", "no values"]),
        ("text in a numeric column", ["'age'", "row 42", "'forty'"]),
        ("fewer rows than folds", ["4 rows", "5 folds"]),
        ("empty target", ["'default'", "row 8"]),
        ("continuous target", ["'default'", "continuous"]),
        (
            "a class outside the declared ones",
            ["'default'", "outside the declared classes ('0', '1')", "'2'", "row 17"],
        ),
        (
            "too many classes",
            ["'default'", "60 distinct values", "limit of 50 classes (train_max_classes)"],
        ),
    ],
)
def test_bad_input_is_named_and_registers_nothing(reg, tmp_path, kind, words, monkeypatch):
    monkeypatch.setenv("MODELWARD_TRAIN_MAX_CLASSES", "50")
    path, kw = _bad(kind, tmp_path)
    before = registry_state(reg)
    with pytest.raises(InvalidInput) as e:
        train(reg, recipe(path, **kw), "bad")
    for w in words:
        assert w in str(e.value)
    assert "np." not in str(e.value)  # a cell as the user wrote it, not numpy's repr
    assert registry_state(reg) == before
    assert list(reg.artifacts.root.glob("*/*")) == []


def test_missing_file_and_unknown_estimator(reg, tmp_path):
    from modelward.core.errors import NotFound

    with pytest.raises(NotFound, match="no such data file"):
        train(reg, recipe(tmp_path / "nope.csv"), "x")
    with pytest.raises(InvalidInput, match="LogisticRegression"):
        train(reg, recipe(tmp_path / "nope.csv", estimator="LogisticRegresion"), "x")


def test_training_from_a_registered_dataset(reg, credit_csv):
    from modelward.core.datasets import register_dataset

    did = register_dataset(
        reg,
        fingerprint="f" * 64,
        name="credit-train",
        role="training",
        rows=240,
        schema={},
        source=str(credit_csv),
    )
    res = train(reg, recipe(f"dataset:{did}"), "ds")
    assert reg.resolve(res.ref).lineage["data"] == str(credit_csv)


def test_dask_backend_on_a_local_cluster(reg, credit_csv):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        host="127.0.0.1",
        protocol="tcp",
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        dashboard_address=None,
    ) as cluster:
        r = recipe(credit_csv, split=Split(kind="kfold", folds=3))
        local = train(reg, r, "local")
        remote = train(
            reg, r, "dask", compute=Compute(n_jobs=2, dask_scheduler=cluster.scheduler_address)
        )
    assert remote.metrics == local.metrics


def test_a_refused_target_is_audited_with_its_sentence(reg, tmp_path):
    path, kw = _bad("a class outside the declared ones", tmp_path)
    with pytest.raises(InvalidInput):
        train(reg, recipe(path, **kw), "bad")
    failed = [e for e in reg.audit_events(limit=None) if e.action == "run.failed"]
    assert len(failed) == 1
    assert "outside the declared classes" in failed[0].after["error"]


def _with_ids(tmp_path: Path) -> Path:
    df = credit_frame()
    # A row number that only increases, and an id by name (shuffled, so only its name tells).
    df.insert(0, "row", np.arange(1, len(df) + 1))
    df.insert(0, "loan_id", np.random.default_rng(1).permutation(len(df)) + 5000)
    path = tmp_path / "ids.csv"
    df.to_csv(path, index=False)
    return path


def _features(reg: Registry, ref: str) -> list[str]:
    return [f["name"] for f in reg.resolve(ref).signature["features"]]


def test_id_like_columns_are_left_out_with_a_warning_unless_kept(reg, tmp_path):
    path = _with_ids(tmp_path)
    res = train(reg, recipe(path, features=()), "ids", progress=lambda *_: None)
    assert "loan_id" not in _features(reg, res.ref) and "row" not in _features(reg, res.ref)
    assert res.warnings == [
        "columns 'loan_id' (named like an identifier), 'row' (unique per row and increasing) "
        "look like identifiers: left out of the features; keep them with --keep-id-columns"
    ]
    kept = train(reg, recipe(path, keep_id_columns=True), "ids")
    assert {"loan_id", "row"} <= set(_features(reg, kept.ref))
    assert "kept as features" in kept.warnings[0]
    # Named explicitly: used, with a warning.
    named = train(reg, recipe(path, features=("loan_id", "income")), "ids")
    assert _features(reg, named.ref) == ["loan_id", "income"]
    assert "'loan_id' looks like an identifier" in named.warnings[0]


def test_an_old_recipe_keeps_its_id_columns_so_it_retrains_the_same(reg, tmp_path):
    path = _with_ids(tmp_path)
    old = recipe(path).to_json()
    old["recipe_version"] = 1
    del old["keep_id_columns"]
    assert Recipe.from_json(old).keep_id_columns is True
    assert Recipe.from_json(recipe(path).to_json()).keep_id_columns is False
