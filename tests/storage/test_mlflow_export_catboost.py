"""`export --format mlflow` of CatBoost versions, in the layout of ``mlflow.catboost`` (issue 20).

MLflow's catboost flavor keeps the model as ``model.cb`` and names the class
its loader instantiates (``model_type``) and the format handed to CatBoost's
``load_model`` (``save_format``); its pyfunc ``predict`` is the estimator's
``predict``: class labels for a classifier ((N,) for two classes, (N, 1) for
more), values for a regressor. These tests read the folders the way that
loader does (``CatBoostClassifier().load_model(path, save_format)``) and check
``MLmodel`` field by field against what ``mlflow.catboost.save_model`` writes.
A real MLflow is asked by ``bench/check_mlflow_export.py`` (see
``test_mlflow_export.py``). CatBoost is not in the test extra: without it this
module is skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

cb = pytest.importorskip("catboost")

from modelward import api  # noqa: E402
from modelward.core.artifacts.mlflow_folder import read_mlmodel, safe_yaml  # noqa: E402
from modelward.core.evidence.mlflow_export import export_mlflow  # noqa: E402
from modelward.core.intake import accept_model_file  # noqa: E402
from modelward.core.registry import Registry  # noqa: E402
from support.credit_frames import credit_frame  # noqa: E402

FEATURES = ["income", "region", "debt", "age"]


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    df, _ = credit_frame(n, seed)
    df["amount"] = 2.0 * df.debt + np.where(df.region == "north", 3.0, 0.0)
    return df


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelward", *args], capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """CatBoost versions with a categorical column: binary and regressor (.cbm), 3-class (JSON)."""
    root = tmp_path_factory.mktemp("mlflow-catboost")
    df = _frame()
    X = df[FEATURES]
    kw = {"iterations": 10, "depth": 3, "verbose": 0, "thread_count": 1, "cat_features": ["region"]}
    reg = Registry(root / "reg")
    for name, model, target, fmt in (
        ("cb-binary", cb.CatBoostClassifier(**kw), "default", "cbm"),
        ("cb-three", cb.CatBoostClassifier(**kw), "segment", "json"),
        ("cb-value", cb.CatBoostRegressor(**kw), "amount", "cbm"),
    ):
        model.fit(X, df[target])
        path = root / f"{name}.{fmt}"
        model.save_model(str(path), format=fmt)
        assert accept_model_file(reg, path, name=name).accepted
    return {"root": root, "reg": reg, "df": df}


def _mlflow_loader(folder: Path) -> object:
    """What ``mlflow.catboost._load_model`` does with the folder's MLmodel."""
    conf = safe_yaml((folder / "MLmodel").read_text())["flavors"]["catboost"]
    model = getattr(cb, conf["model_type"])()
    model.load_model(str((folder / conf["data"]).absolute()), conf["save_format"])
    return model


def test_a_catboost_classifier_exports_as_mlflows_catboost_flavor_and_registers_back(env):
    reg_dir = str(env["root"] / "reg")
    out = env["root"] / "cb-binary-folder"
    r = _cli("export", "cb-binary:1", "--format", "mlflow", "--out", str(out), "--registry", reg_dir, "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    v = Registry(reg_dir).resolve("cb-binary:1")
    assert res["flavor"] == "catboost"
    assert res["files"]["model.cb"] == v.sha256  # the version's own bytes
    doc = safe_yaml((out / "MLmodel").read_text())
    assert doc["flavors"]["catboost"] == {
        "catboost_version": cb.__version__,
        "code": None,
        "data": "model.cb",
        "model_type": "CatBoostClassifier",
        "save_format": "cbm",
    }
    py = doc["flavors"]["python_function"]
    assert py["loader_module"] == "mlflow.catboost" and py["data"] == "model.cb"
    sig_in = json.loads(doc["signature"]["inputs"])
    assert [c["name"] for c in sig_in] == FEATURES
    # the categorical feature is read from the file: MLflow must let text through
    assert [c["type"] for c in sig_in] == ["double", "string", "double", "double"]
    assert json.loads(doc["signature"]["outputs"]) == [{"type": "long", "required": True}]
    reqs = (out / "requirements.txt").read_text().split()
    assert f"catboost=={version('catboost')}" in reqs
    assert "mlflow" not in sys.modules  # written without MLflow
    model = _mlflow_loader(out)
    df = env["df"]
    ours = api.load_model("cb-binary:1", registry=reg_dir)
    assert list(model.predict(df[FEATURES])) == list(ours.predict(df[FEATURES]))
    assert np.max(np.abs(model.predict_proba(df[FEATURES]) - ours.predict_proba(df))) < 1e-12
    # The folder comes back in as the same version; our reader takes its signature.
    mlf = read_mlmodel(out)
    assert mlf.flavor == "catboost" and mlf.model_file.name == "model.cb"
    assert [(f["name"], f["kind"]) for f in mlf.features or []] == [
        ("income", "numeric"), ("region", "categorical"), ("debt", "numeric"), ("age", "numeric"),
    ]  # fmt: skip
    assert mlf.libraries["catboost"] == cb.__version__
    r = _cli("register", str(out), "--name", "cb-binary", "--registry", reg_dir)
    assert r.returncode == 0, r.stderr
    assert "already registered as cb-binary:1" in r.stdout


def test_a_json_catboost_multiclass_keeps_its_save_format_and_label_tensor(env):
    reg, df = env["reg"], env["df"]
    out = env["root"] / "cb-three-folder"
    res = export_mlflow(reg, "cb-three:1", out)
    assert res["files"]["model.cb"] == reg.resolve("cb-three:1").sha256
    doc = safe_yaml((out / "MLmodel").read_text())
    assert doc["flavors"]["catboost"]["save_format"] == "json"
    assert doc["flavors"]["catboost"]["model_type"] == "CatBoostClassifier"
    # CatBoostClassifier.predict gives (N, 1) labels for more than two classes
    assert json.loads(doc["signature"]["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "object", "shape": [-1, 1]}}
    ]
    assert doc["metadata"]["classes"] == ["high", "low", "mid"]
    model = _mlflow_loader(out)
    labels = model.predict(df[FEATURES])
    ours = api.load_model("cb-three:1", registry=reg)
    assert labels.shape == (len(df), 1)
    assert list(labels[:, 0]) == list(ours.predict(df))
    assert np.max(np.abs(model.predict_proba(df[FEATURES]) - ours.predict_proba(df))) < 1e-12
    # A JSON model named model.cb is still recognised by its bytes on the way back in.
    back = accept_model_file(reg, out / "model.cb", name="cb-three")
    assert back.status == "duplicate" and back.ref == "cb-three:1"


def test_a_catboost_regressor_exports_its_values(env):
    reg, df = env["reg"], env["df"]
    out = env["root"] / "cb-value-folder"
    export_mlflow(reg, "cb-value:1", out)
    doc = safe_yaml((out / "MLmodel").read_text())
    assert doc["flavors"]["catboost"]["model_type"] == "CatBoostRegressor"
    assert json.loads(doc["signature"]["outputs"]) == [{"type": "double", "required": True}]
    theirs = _mlflow_loader(out).predict(df[FEATURES])
    ours = api.load_model("cb-value:1", registry=reg).predict(df)
    assert np.max(np.abs(theirs - ours)) < 1e-12


def test_a_catboost_json_with_ctr_tables_is_recognised_and_exported(env, tmp_path):
    """CatBoost sorts its JSON keys: categorical features put ``ctr_data`` first."""
    df = env["df"]
    model = cb.CatBoostClassifier(
        iterations=20, depth=3, verbose=0, thread_count=1, cat_features=["region"]
    ).fit(df[FEATURES], df["default"])
    path = tmp_path / "ctr.json"
    model.save_model(str(path), format="json")
    assert path.read_bytes().lstrip()[:20].startswith(b'{\n  "ctr_data"')
    reg = Registry(tmp_path / "reg")
    res = accept_model_file(reg, path, name="ctr")
    assert res.accepted and reg.resolve("ctr:1").format == "catboost-json"
    out = tmp_path / "folder"
    export_mlflow(reg, "ctr:1", out)
    assert safe_yaml((out / "MLmodel").read_text())["flavors"]["catboost"]["save_format"] == "json"
    theirs = _mlflow_loader(out).predict_proba(df[FEATURES])
    assert np.max(np.abs(theirs - model.predict_proba(df[FEATURES]))) < 1e-12


def test_a_watched_folder_takes_a_catboost_mlflow_folder_copied_in(env, tmp_path):
    from modelward.core.watch.folders import MODELS, add_folder
    from modelward.core.watch.watcher import FolderWatcher

    src = env["root"] / "cb-value-watch"
    export_mlflow(env["reg"], "cb-value:1", src)
    reg = Registry(tmp_path / "reg")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    add_folder(reg, inbox, MODELS, model_name="watched")
    w = FolderWatcher(reg, settle=0.2, rescan_interval=0.5)
    w.start()
    try:
        shutil.copytree(src, inbox / "copied")
        assert w.wait_for(lambda rs: any(r.status == "registered" for r in rs), timeout=60)
    finally:
        w.stop()
    assert not [r for r in w.results if r.status in ("rejected", "error")]
    v = reg.resolve("watched:1")
    assert v.format == "catboost-cbm" and v.sha256 == env["reg"].resolve("cb-value:1").sha256
    mlflow = v.lineage["mlflow"]
    assert mlflow["flavor"] == "catboost" and mlflow["libraries"]["catboost"] == cb.__version__
    assert [f["kind"] for f in v.signature["features"]] == [
        "numeric", "categorical", "numeric", "numeric",
    ]  # fmt: skip
