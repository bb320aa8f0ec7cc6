"""XGBoost, LightGBM, CatBoost and ONNX files: recognised by their bytes, read by their own
libraries, never pickled, and usable like any scikit-learn version (issue 20).

The models are tiny (300 rows, a handful of trees): each library trains them in
milliseconds. Commands run as real subprocesses where the user meets them.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")

from modelward import api  # noqa: E402
from modelward.core.artifacts.formats import detect_format  # noqa: E402
from modelward.core.artifacts.native import (  # noqa: E402
    NativeClassifier,
    NativeRegressor,
    _categorical,
    detect_native,
    load_native,
    required_extra,
    save_native,
)
from modelward.core.errors import InvalidInput  # noqa: E402
from modelward.core.intake.convert import onnx_bytes  # noqa: E402
from modelward.core.registry import Registry  # noqa: E402

N = 300


def _frames(seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(N, 4)), columns=["age", "income", "debt", "tenure"])
    binary = ((X.age + X.income) > 0).astype(int)
    multi = pd.Series(np.digitize(X.age + 0.5 * X.debt, [-0.5, 0.5]), name="grade")
    value = 2.0 * X.age - X.debt + rng.normal(scale=0.1, size=N)
    return X, binary, multi, value


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small file per native kind and task, and the data they were trained on."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression, LogisticRegression

    d = tmp_path_factory.mktemp("native")
    X, binary, multi, value = _frames()
    out: dict[str, Path] = {}
    data = X.assign(default=binary, grade=multi, amount=value)
    data.to_csv(d / "data.csv", index=False)
    out["data"] = d / "data.csv"
    kw = {"n_estimators": 5, "max_depth": 2}
    xgb.XGBClassifier(**kw).fit(X, binary).save_model(d / "xgb-binary.json")
    xgb.XGBClassifier(**kw).fit(X, multi).save_model(d / "xgb-multi.ubj")
    xgb.XGBRegressor(**kw).fit(X, value).save_model(d / "xgb-reg.json")
    lkw = {"n_estimators": 5, "verbose": -1}
    lgb.LGBMClassifier(**lkw).fit(X, binary).booster_.save_model(d / "lgb-binary.txt")
    lgb.LGBMClassifier(**lkw).fit(X, multi).booster_.save_model(d / "lgb-multi.txt")
    lgb.LGBMRegressor(**lkw).fit(X, value).booster_.save_model(d / "lgb-reg.txt")
    # One tensor input; its column names in the model's metadata (``feature_names``).
    clf = LogisticRegression().fit(X.to_numpy(np.float32), binary)
    reg = LinearRegression().fit(X.to_numpy(np.float32), value)
    for est, file, opts in (
        (clf, "onnx-binary.onnx", {"zipmap": False}),
        (reg, "onnx-reg.onnx", None),
    ):
        onx = to_onnx(est, X.to_numpy(np.float32)[:1], options=opts)
        entry = onx.metadata_props.add()
        entry.key, entry.value = "feature_names", json.dumps(list(X.columns))
        (d / file).write_bytes(onx.SerializeToString())
    for name in ("xgb-binary.json", "xgb-multi.ubj", "xgb-reg.json"):
        out[name] = d / name
    for name in ("lgb-binary.txt", "lgb-multi.txt", "lgb-reg.txt"):
        out[name] = d / name
    out["onnx-binary.onnx"] = d / "onnx-binary.onnx"
    out["onnx-reg.onnx"] = d / "onnx-reg.onnx"
    try:
        import catboost as cb
    except ImportError:  # the catboost extra is not in the test extra (it is heavy)
        cb = None
    if cb is not None:
        c = cb.CatBoostClassifier(
            iterations=5, depth=2, verbose=0, thread_count=1, allow_writing_files=False
        )
        c.fit(X, binary).save_model(str(d / "cb-binary.cbm"))
        r = cb.CatBoostRegressor(
            iterations=5, depth=2, verbose=0, thread_count=1, allow_writing_files=False
        )
        r.fit(X, value).save_model(str(d / "cb-reg.json"), format="json")
        out["cb-binary.cbm"] = d / "cb-binary.cbm"
        out["cb-reg.json"] = d / "cb-reg.json"
    return out


KINDS = {
    "xgb-binary.json": ("xgboost-json", "classification", 2),
    "xgb-multi.ubj": ("xgboost-ubj", "classification", 3),
    "xgb-reg.json": ("xgboost-json", "regression", 0),
    "lgb-binary.txt": ("lightgbm-text", "classification", 2),
    "lgb-multi.txt": ("lightgbm-text", "classification", 3),
    "lgb-reg.txt": ("lightgbm-text", "regression", 0),
    "onnx-binary.onnx": ("onnx", "classification", 2),
    "onnx-reg.onnx": ("onnx", "regression", 0),
    "cb-binary.cbm": ("catboost-cbm", "classification", 2),
    "cb-reg.json": ("catboost-json", "regression", 0),
}


def _model_files(models: dict[str, Path]) -> list[str]:
    return [k for k in KINDS if k in models]


# ----------------------------------------------------------------------------- the adapters
def test_each_kind_is_recognised_and_predicts_like_its_library(models):
    X, *_ = _frames(1)  # other rows than the training ones
    for name in _model_files(models):
        kind, task, k = KINDS[name]
        path = models[name]
        assert detect_native(path) == kind, name
        assert detect_format(path).format == kind, name
        assert required_extra(kind) in ("xgboost", "lightgbm", "catboost", "onnx")
        m = load_native(path, kind)
        assert m.n_features_in_ == 4
        if task == "classification":
            assert isinstance(m, NativeClassifier)
            assert list(m.classes_) == list(range(k))
            p = m.predict_proba(X)
            assert p.shape == (len(X), k)
            np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
            assert set(m.predict(X)) <= set(range(k))
        else:
            assert isinstance(m, NativeRegressor)
            assert not hasattr(m, "predict_proba") and not hasattr(m, "classes_")
            assert m.predict(X).shape == (len(X),)
        assert list(m.feature_names_in_) == list(X.columns), name
    # Parity with the library's own predict, and columns picked by name.
    booster = xgb.Booster(model_file=str(models["xgb-binary.json"]))
    m = load_native(models["xgb-binary.json"], "xgboost-json")
    want = booster.predict(xgb.DMatrix(X))
    np.testing.assert_allclose(m.predict_proba(X[X.columns[::-1]])[:, 1], want, rtol=1e-6)
    lb = lgb.Booster(model_file=str(models["lgb-multi.txt"]))
    np.testing.assert_allclose(
        load_native(models["lgb-multi.txt"], "lightgbm-text").predict_proba(X), lb.predict(X)
    )


def test_save_native_writes_the_library_format(tmp_path):
    X, binary, _, value = _frames()
    clf = xgb.XGBClassifier(n_estimators=3).fit(X, binary)
    assert save_native(clf, tmp_path / "m") == "xgboost-ubj"
    np.testing.assert_allclose(
        load_native(tmp_path / "m", "xgboost-ubj").predict_proba(X), clf.predict_proba(X), rtol=1e-6
    )
    reg = lgb.LGBMRegressor(n_estimators=3, verbose=-1).fit(X, value)
    assert save_native(reg, tmp_path / "r.txt") == "lightgbm-text"
    np.testing.assert_allclose(
        load_native(tmp_path / "r.txt", "lightgbm-text").predict(X), reg.predict(X)
    )
    with pytest.raises(InvalidInput, match="no native format"):
        save_native(object(), tmp_path / "x")
    labelled = lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(
        X, binary.map({0: "no", 1: "yes"})
    )
    with pytest.raises(InvalidInput, match="0..k-1"):
        save_native(labelled, tmp_path / "l.txt")


HOSTILE = {
    # Named like native files, starting like them, but not models at all.
    "fake.json": b'{"learner": {"gradient_booster": "rm -rf /"}, "version": [9, 9, 9]}',
    "fake.txt": b"tree\nversion=v4\nnum_class=1\nthis is not a model\n",
    "fake.onnx": b"\x08\x07\x12\x04evil:\x05junk!" + bytes(range(256)) * 4,
    "fake.cbm": b"CBM1" + b"\x00" * 64,
    "notes.json": b'{"hello": "world"}',
}


def test_hostile_bytes_with_native_names_are_refused_in_one_sentence(models, tmp_path, run_cli):
    """Refused by the CLI, quarantined, audited; nothing is registered."""
    paths = []
    for name, data in HOSTILE.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    reg = tmp_path / "reg"
    r = run_cli("register", *paths, "--registry", str(reg), "--json")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    reg_ = Registry(reg)
    assert reg_.list_versions() == []
    events = reg_.audit_events(limit=None, action="ingest.rejected")
    assert len(events) == len(HOSTILE)
    for e in events:
        reason = str(e.reason or "")
        assert reason and "\n" not in reason and len(reason) < 300, reason
    by_source = {Path(str(e.entity_id)).name: str(e.reason) for e in events}
    assert "XGBoost" in by_source["fake.json"]
    assert "LightGBM" in by_source["fake.txt"]
    assert "not a model file" in by_source["notes.json"]


# ----------------------------------------------------------------------------- the user's door
@pytest.fixture(scope="module")
def registered(models, tmp_path_factory):
    """Every native file registered by one ``modelward register`` process."""
    import subprocess

    reg = tmp_path_factory.mktemp("native-reg") / "reg"
    files = [str(models[n]) for n in _model_files(models)]
    r = subprocess.run(
        [sys.executable, "-m", "modelward", "register", *files, "--registry", str(reg)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return reg


def _name(file: str) -> str:
    return file.rsplit(".", 1)[0]  # the name register derives from the file's name


def test_register_records_the_kind_and_the_extra(models, registered):
    reg = Registry(registered)
    for file in _model_files(models):
        kind, task, k = KINDS[file]
        v = reg.resolve(_name(file))
        assert v.format == kind
        assert v.status == "ok"
        native = v.params["native"]
        assert native["extra"] == required_extra(kind)
        assert native["task"] == task
        if k:
            assert v.signature["classes"] == list(range(k))


# Two kinds through the CLI (one subprocess each); every kind in process below.
@pytest.mark.parametrize(
    ("file", "target"), [("xgb-multi.ubj", "grade"), ("onnx-binary.onnx", "default")]
)
def test_validate_from_the_cli(models, registered, run_cli, file, target):
    r = run_cli(
        "validate", _name(file), "--data", str(models["data"]), "--target", target,
        "--registry", str(registered), "--json", "--allow-extra",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)["metrics"]
    assert metrics["accuracy"] > 0.6


def test_score_from_the_cli(models, registered, run_cli, tmp_path):
    out = tmp_path / "scored.csv"
    r = run_cli(
        "score", "xgb-binary", "--data", str(models["data"]), "-o", str(out),
        "--registry", str(registered),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    scored = pd.read_csv(out)
    assert len(scored) == N and {"prediction", "proba_0", "proba_1"} <= set(scored.columns)
    want = xgb.Booster(model_file=str(models["xgb-binary.json"])).predict(
        xgb.DMatrix(pd.read_csv(models["data"])[["age", "income", "debt", "tenure"]])
    )
    np.testing.assert_allclose(scored["proba_1"], want, rtol=1e-5)


def test_a_booster_scores_rows_with_missing_values_an_onnx_graph_sets_them_aside(
    models, registered, run_cli, tmp_path
):
    """XGBoost and LightGBM send a missing value down a learned branch; scoring set aside
    every such row as one "the model cannot take" (scikit-learn's default tag). A
    linear model's ONNX graph turns a missing value into a NaN score without an error:
    that row is set aside with its reason, not written out as NaN."""
    data = pd.read_csv(models["data"])
    data.loc[[3, 10, 11], "debt"] = np.nan
    src = tmp_path / "with-gaps.csv"
    data.to_csv(src, index=False)
    X = data[["age", "income", "debt", "tenure"]]
    want = {
        "xgb-binary": xgb.Booster(model_file=str(models["xgb-binary.json"])).predict(
            xgb.DMatrix(X)
        ),
        "lgb-binary": lgb.Booster(model_file=str(models["lgb-binary.txt"])).predict(X),
    }
    for name, proba in want.items():
        out = tmp_path / f"{name}.csv"
        r = run_cli(
            "score", name, "--data", str(src), "-o", str(out), "--registry", str(registered),
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        scored = pd.read_csv(out)
        assert len(scored) == N, r.stderr
        assert not Path(f"{out}.rejected.csv").exists()
        np.testing.assert_allclose(scored["proba_1"], proba, rtol=1e-5)
    out = tmp_path / "onnx.csv"
    r = run_cli(
        "score", "onnx-binary", "--data", str(src), "-o", str(out),
        "--registry", str(registered),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(pd.read_csv(out)) == N - 3
    rejected = pd.read_csv(f"{out}.rejected.csv")
    assert rejected["row"].tolist() == [4, 11, 12]
    assert rejected["reason"].str.contains("no score for this row: column 'debt' is missing").all()


def test_validate_every_other_kind_in_process(models, registered):
    from modelward.core.compute.validation import validate

    reg = Registry(registered)
    targets = {"classification": "default", "regression": "amount"}
    for file in _model_files(models):
        kind, task, k = KINDS[file]
        target = "grade" if k == 3 else targets[task]
        res = validate(
            reg, _name(file), str(models["data"]), target=target, store=False, allow_extra=True
        )
        assert res.task == task, file


def test_a_missing_extra_is_said_in_one_sentence(registered, run_cli, tmp_path, models):
    """Fault injection: the process cannot import xgboost (as without modelward[xgboost])."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['xgboost'] = None\n")
    env = {"PYTHONPATH": f"{site}{':' if sys.platform != 'win32' else ';'}{sys.path[0]}"}
    import os

    env["PYTHONPATH"] += os.pathsep + os.environ.get("PYTHONPATH", "")
    r = run_cli(
        "validate", "xgb-binary", "--data", str(models["data"]), "--target", "default",
        "--registry", str(registered), "--allow-extra", env=env,
    )  # fmt: skip
    assert r.returncode != 0
    err = r.stderr.strip().splitlines()[-1]
    assert "is an XGBoost model; install modelward[xgboost]" in err, r.stderr
    assert "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- log_model
def test_log_model_saves_boosting_models_natively_and_they_load_back(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    reg = Registry(tmp_path / "reg")
    X, binary, _, value = _frames()
    clf = xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, binary)
    v = api.log_model(clf, "xgb", X, binary, registry=reg)
    assert v.format == "xgboost-ubj" and v.status == "ok"
    assert v.params["native"]["extra"] == "xgboost"
    loaded = api.load_model("xgb", registry=reg)
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    v = api.log_model(
        lgb.LGBMRegressor(n_estimators=3, verbose=-1).fit(X, value), "lgb", registry=reg
    )
    assert v.format == "lightgbm-text"
    # A boosting step inside a pipeline is saved as skops, and loads back too.
    pipe = make_pipeline(StandardScaler(), xgb.XGBClassifier(n_estimators=3)).fit(X, binary)
    v = api.log_model(pipe, "pipe", registry=reg)
    assert v.format == "skops"
    assert v.params["extras"] == ["xgboost"]  # the registry says what loading it needs
    np.testing.assert_allclose(
        api.load_model("pipe", registry=reg).predict_proba(X), pipe.predict_proba(X), rtol=1e-6
    )
    # One that would not load back is refused before anything is recorded.
    labelled = lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(X, binary.map({0: "n", 1: "y"}))
    with pytest.raises(InvalidInput):
        api.log_model(labelled, "labelled", registry=reg)
    assert [m.name for m in api.list_models(registry=reg)] == ["lgb", "pipe", "xgb"]


def test_log_model_refuses_what_would_not_load_back(tmp_path):
    """A skops file with a type outside the allowlist never becomes an ``ok`` version."""
    from sklearn.preprocessing import FunctionTransformer

    reg = Registry(tmp_path / "reg")
    X, binary, *_ = _frames()
    odd = FunctionTransformer(func=shutil.copyfile).fit(X)
    with pytest.raises(InvalidInput, match="would not load back"):
        api.log_model(odd, "odd", registry=reg)
    assert api.list_models(registry=reg) == []
    # The check ran beside the registration's statements: the commit waited for
    # its verdict, and the bytes it stored meanwhile are gone again.
    assert list(reg.artifacts.stored_digests()) == []
    assert reg.audit_events(action="version.registered") == []
    assert reg.verify_audit().ok


# ----------------------------------------------------------------------------- training
def test_train_xgboost_and_lightgbm_from_a_recipe(models, tmp_path):
    from modelward.core.compute.recipe import Recipe, Search, estimator_names
    from modelward.core.compute.training import train

    assert {"XGBClassifier", "LGBMClassifier"} <= set(estimator_names("classification"))
    assert {"XGBRegressor", "LGBMRegressor"} <= set(estimator_names("regression"))
    reg = Registry(tmp_path / "reg")
    data = pd.read_csv(models["data"]).drop(columns=["grade", "amount"])
    data.to_csv(tmp_path / "train.csv", index=False)
    for est, search in (
        ("XGBClassifier", None),
        ("LGBMClassifier", Search(kind="grid", space={"n_estimators": [2, 4]})),
    ):
        recipe = Recipe(
            data=str(tmp_path / "train.csv"),
            target="default",
            estimator=est,
            params={"n_estimators": 3} if search is None else {},
            search=search,
        )
        res = train(reg, recipe, name=est.lower())
        v = reg.resolve(f"{res.name}:{res.version}")
        assert v.status == "ok" and v.format == "skops"
        model = api.load_model(v.ref, registry=reg)
        assert model.named_steps["model"].n_jobs == 1  # threads limited per job
        assert model.predict_proba(data.drop(columns=["default"])).shape == (N, 2)


# ----------------------------------------------------------------------------- watched folder
def test_a_watched_folder_takes_native_files_copied_in(models, tmp_path):
    from modelward.core.watch import MODELS, FolderWatcher, add_folder

    reg = Registry(tmp_path / "reg", idle_release=0.2)
    inbox = tmp_path / "inbox"
    add_folder(reg, inbox, MODELS, model_name="dropped")
    w = FolderWatcher(reg, settle=0.3, rescan_interval=60)
    w.start()
    try:
        shutil.copy(models["xgb-binary.json"], inbox / "booster.json")
        shutil.copy(models["onnx-reg.onnx"], inbox / "linear.onnx")
        (inbox / "evil.onnx").write_bytes(HOSTILE["fake.onnx"])
        assert w.wait_for(lambda r: len(r) >= 3, 120)
    finally:
        w.stop()
    statuses = sorted(r.status for r in w.results)
    assert statuses == ["registered", "registered", "rejected"], w.results
    formats = sorted(v.format for v in reg.list_versions("dropped"))
    assert formats == ["onnx", "xgboost-json"]


def test_a_loaded_model_works_with_sklearn_inspection_and_joblib_workers(models):
    """Explanations use scikit-learn's inspection tools; joblib workers get the file's bytes."""
    import pickle

    from sklearn.base import is_classifier, is_regressor
    from sklearn.inspection import partial_dependence, permutation_importance

    X, binary, *_ = _frames()
    m = load_native(models["lgb-binary.txt"], "lightgbm-text")
    assert is_classifier(m)
    assert is_regressor(load_native(models["xgb-reg.json"], "xgboost-json"))
    again = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(again.predict_proba(X), m.predict_proba(X))
    imp = permutation_importance(m, X, binary, n_repeats=2, random_state=0)
    assert imp.importances_mean[:2].min() > imp.importances_mean[2:].max()  # age, income matter
    pd_ = partial_dependence(m, X, ["age"], grid_resolution=5)
    assert pd_["average"].shape == (1, 5)


def test_onnx_with_one_input_per_column_and_zipmap(tmp_path):
    """skl2onnx from a DataFrame: one input per column (a text one too), probabilities as maps."""
    from skl2onnx import to_onnx
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, binary, *_ = _frames()
    X = X.astype("float32").assign(band=np.where(X.debt > 0, "high", "low"))
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "income", "debt", "tenure"]),
            ("cat", OneHotEncoder(), ["band"]),
        ]
    )
    pipe = make_pipeline(prep, LogisticRegression()).fit(X, binary)
    (tmp_path / "pipe.onnx").write_bytes(to_onnx(pipe, X[:1]).SerializeToString())
    m = load_native(tmp_path / "pipe.onnx", detect_native(tmp_path / "pipe.onnx") or "")
    assert list(m.feature_names_in_) == list(X.columns)
    shuffled = X[X.columns[::-1]]
    np.testing.assert_allclose(m.predict_proba(shuffled), pipe.predict_proba(X), atol=1e-5)


def test_the_adapters_feed_the_libraries_without_extra_copies(models):
    """XGBoost and LightGBM get the caller's columns; ONNX one row-major float32 matrix."""
    X, *_ = _frames()
    batch = X.assign(band=np.where(X.debt > 0, "high", "low")).copy()
    before = batch.copy()
    xm = load_native(models["xgb-binary.json"], "xgboost-json", threads=1)
    p = xm.predict_proba(batch[list(X.columns)])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    booster = xgb.Booster()
    booster.load_model(str(models["xgb-binary.json"]))
    np.testing.assert_array_equal(p[:, 1], booster.inplace_predict(X))
    # A frame with other columns first: its own columns are picked, nothing of it is changed.
    np.testing.assert_array_equal(xm.predict_proba(batch[["band", *X.columns]]), p)
    pd.testing.assert_frame_equal(batch, before)
    # Text columns become categories only in what the library sees, not in the caller's frame.
    seen = _categorical(batch)
    assert str(seen["band"].dtype) == "category" and str(batch["band"].dtype) != "category"
    assert np.shares_memory(seen["age"].to_numpy(), batch["age"].to_numpy())
    # ONNX: one input tensor fed as a C-contiguous float32 matrix, cast once.
    om = load_native(models["onnx-binary.onnx"], "onnx", threads=1)
    (feed,) = om._backend.feeds(X).values()
    assert feed.dtype == np.float32 and feed.flags.c_contiguous and feed.shape == X.shape
    # Per-column inputs of the right type go in as they are.
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), list(X.columns))]), LogisticRegression()
    ).fit(X, (X.age > 0).astype(int))
    feats = [{"name": c, "kind": "numeric"} for c in X.columns]
    per_col = load_native(onnx_bytes(pipe, feats, "classification"), "onnx")
    X32 = X.astype(np.float32)
    feeds = per_col._backend.feeds(X32)
    assert np.shares_memory(feeds["age"], X32["age"].to_numpy())
    np.testing.assert_allclose(per_col.predict_proba(X), pipe.predict_proba(X), atol=1e-5)
