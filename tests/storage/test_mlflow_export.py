"""`export --format mlflow` in the layouts MLflow's own flavors load (issue 20).

ONNX classifiers carry one ``[N]`` probability output per class (MLflow's ONNX
flavor puts each output in a DataFrame column); XGBoost and LightGBM versions
are written as MLflow's ``xgboost`` / ``lightgbm`` flavors. These tests read
the folders with the libraries themselves (onnxruntime, ``xgboost.Booster``,
``lightgbm.Booster``), as MLflow's loaders do, and check ``MLmodel``. The last
test asks a real MLflow when an interpreter holding it is named in
``MODELWARD_MLFLOW_PYTHON`` (MLflow is not a dependency of ModelWard).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")
xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

from modelward import api  # noqa: E402
from modelward.core.artifacts.mlflow_folder import read_mlmodel, safe_yaml  # noqa: E402
from modelward.core.artifacts.native import (  # noqa: E402
    PROBABILITY_OUTPUTS,
    load_native,
    onnx_per_class_outputs,
    save_native,
)
from modelward.core.compute.recipe import Recipe  # noqa: E402
from modelward.core.compute.training import train  # noqa: E402
from modelward.core.evidence.mlflow_export import export_mlflow  # noqa: E402
from modelward.core.intake import accept_model_file  # noqa: E402
from modelward.core.intake.convert import convert_version  # noqa: E402
from modelward.core.registry import Registry  # noqa: E402
from support.credit_frames import credit_frame  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
NUMERIC = ["income", "debt", "age"]


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    df, z = credit_frame(n, seed)
    df["tier"] = np.digitize(z, [-0.4, 0.4])
    df["amount"] = 2.0 * df.debt + 0.1 * df.age
    return df


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelward", *args], capture_output=True, text=True, timeout=180
    )


def _pin(dist: str) -> str | None:
    try:
        return f"{dist}=={version(dist)}"
    except PackageNotFoundError:
        return None


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A registry with ONNX classifiers (2 and 3 classes), an ONNX regressor and boosters."""
    root = tmp_path_factory.mktemp("mlflow-export")
    df = _frame()
    data = root / "d.csv"
    df.to_csv(data, index=False)
    reg = Registry(root / "reg")
    feats = ("income", "region", "debt", "age")
    for name, est, target in (
        ("binary", "LogisticRegression", "default"),
        ("three", "LogisticRegression", "segment"),
        ("value", "Ridge", "amount"),
    ):
        train(reg, Recipe(data=str(data), target=target, estimator=est, features=feats), name)
        convert_version(reg, f"{name}:1", to="onnx")
    X = df[NUMERIC]
    kw = {"n_estimators": 10, "max_depth": 3, "n_jobs": 1}
    boosters = {
        "xgb-three": xgb.XGBClassifier(**kw).fit(X, df["tier"]),
        "lgb-binary": lgb.LGBMClassifier(**kw, verbose=-1).fit(X, df["default"]),
        "lgb-value": lgb.LGBMRegressor(**kw, verbose=-1).fit(X, df["amount"]),
    }
    for name, model in boosters.items():
        path = root / f"{name}.bin"
        save_native(model, path)
        assert accept_model_file(reg, path, name=name).accepted
    return {"root": root, "reg": reg, "df": df, "data": data}


def _session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    ("ref", "classes"), [("binary:2", [0, 1]), ("three:2", ["high", "low", "mid"])]
)
def test_an_onnx_classifier_exports_one_probability_output_per_class(env, ref, classes):
    reg, df = env["reg"], env["df"]
    out = env["root"] / f"onnx-{ref.replace(':', '-')}"
    res = export_mlflow(reg, ref, out)
    v = reg.resolve(ref)
    # convert --to onnx already writes the per-class form: the folder holds the version's bytes
    assert res["flavor"] == "onnx" and res["rewritten"] is False
    assert res["files"]["model.onnx"] == v.sha256
    sess = _session(out / "model.onnx")
    outs = sess.get_outputs()
    names = [f"probability_{c}" for c in classes]
    assert [o.name for o in outs] == ["label", *names]
    assert all(len(o.shape) == 1 for o in outs)  # every output fills one DataFrame column
    # What MLflow's ONNX flavor feeds: each column as a 1-D array, floats as float32.
    feeds = {}
    for i in sess.get_inputs():
        col = df[i.name].to_numpy()
        feeds[i.name] = col.astype(object) if i.type == "tensor(string)" else col.astype(np.float32)
    got = sess.run(None, feeds)
    proba = np.column_stack(got[1:])
    ours = api.load_model(ref, registry=reg).predict_proba(df)
    assert proba.shape == (len(df), len(classes))
    assert np.max(np.abs(proba - ours)) < 1e-6
    assert list(np.asarray(got[0]).astype(str)) == list(
        np.asarray(api.load_model(ref, registry=reg).predict(df)).astype(str)
    )
    doc = safe_yaml((out / "MLmodel").read_text())
    assert doc["flavors"]["onnx"]["data"] == "model.onnx"
    assert doc["flavors"]["python_function"]["loader_module"] == "mlflow.onnx"
    sig_in = json.loads(doc["signature"]["inputs"])
    assert [c["name"] for c in sig_in] == ["income", "region", "debt", "age"]
    assert [c["type"] for c in sig_in] == ["double", "string", "double", "double"]
    sig_out = json.loads(doc["signature"]["outputs"])
    assert [c["name"] for c in sig_out] == ["label", *names]
    assert [c["type"] for c in sig_out] == [
        "long" if classes == [0, 1] else "string",
        *["float"] * len(classes),
    ]


def test_an_onnx_regressor_exports_its_value_column(env):
    out = env["root"] / "onnx-value"
    res = export_mlflow(env["reg"], "value:2", out)
    assert res["rewritten"] is False
    (o,) = _session(out / "model.onnx").get_outputs()
    doc = safe_yaml((out / "MLmodel").read_text())
    assert json.loads(doc["signature"]["outputs"]) == [
        {"type": "float", "name": o.name, "required": True}
    ]


def test_a_two_d_or_zipmap_onnx_file_is_rewritten_on_export_with_the_same_probabilities(env):
    """An ONNX file made elsewhere (2-D probabilities behind a ZipMap) gets per-class outputs."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    df = env["df"]
    X = df[NUMERIC].to_numpy(np.float32)
    model = LogisticRegression(max_iter=500).fit(X, df["tier"])
    onx = to_onnx(model, X[:1])  # ZipMap on: a list of {class: probability} per row
    prop = onx.metadata_props.add()
    prop.key, prop.value = "feature_names", json.dumps(NUMERIC)
    path = env["root"] / "external.onnx"
    path.write_bytes(onx.SerializeToString())
    reg = env["reg"]
    assert accept_model_file(reg, path, name="external").accepted
    out = env["root"] / "onnx-external"
    res = export_mlflow(reg, "external:1", out)
    assert res["rewritten"] is True
    assert res["files"]["model.onnx"] != reg.resolve("external:1").sha256
    sess = _session(out / "model.onnx")
    assert [o.name for o in sess.get_outputs()] == [
        "output_label", "probability_0", "probability_1", "probability_2",
    ]  # fmt: skip
    got = sess.run(None, {"X": X})
    want = model.predict_proba(X)
    assert np.max(np.abs(np.column_stack(got[1:]) - want)) < 1e-6
    assert safe_yaml((out / "MLmodel").read_text())["metadata"]["modelward_rewritten"]
    # ModelWard reads the new form back: same probabilities through the adapter.
    back = load_native((out / "model.onnx").read_bytes(), "onnx")
    assert np.max(np.abs(back.predict_proba(df[NUMERIC]) - want)) < 1e-6
    # Already in that form: the bytes are left as they are.
    data = (out / "model.onnx").read_bytes()
    assert onnx_per_class_outputs(data) is data
    assert PROBABILITY_OUTPUTS in data.decode("latin-1")


def test_xgboost_exports_as_mlflows_xgboost_flavor_and_registers_back(env):
    reg_dir = str(env["root"] / "reg")
    out = env["root"] / "xgb-folder"
    r = _cli("export", "xgb-three:1", "--format", "mlflow", "--out", str(out), "--registry", reg_dir, "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["flavor"] == "xgboost"
    v = Registry(reg_dir).resolve("xgb-three:1")
    assert res["files"]["model.ubj"] == v.sha256  # the version's own bytes
    doc = safe_yaml((out / "MLmodel").read_text())
    flavor = doc["flavors"]["xgboost"]
    assert flavor["data"] == "model.ubj" and flavor["model_format"] == "ubj"
    assert flavor["model_class"] == "xgboost.core.Booster"
    assert flavor["xgb_version"] == xgb.__version__
    py = doc["flavors"]["python_function"]
    assert py["loader_module"] == "mlflow.xgboost" and py["data"] == "model.ubj"
    assert [c["name"] for c in json.loads(doc["signature"]["inputs"])] == NUMERIC
    assert json.loads(doc["signature"]["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}
    ]
    reqs = (out / "requirements.txt").read_text().split()
    assert (_pin("xgboost") or _pin("xgboost-cpu")) in reqs
    assert _pin("numpy") in reqs and _pin("pandas") in reqs
    assert "mlflow" not in sys.modules  # written without MLflow
    # What MLflow's loader does: Booster().load_model(file), predict(DMatrix(df)).
    booster = xgb.Booster()
    booster.load_model(str(out / "model.ubj"))
    X = env["df"][NUMERIC]
    theirs = booster.predict(xgb.DMatrix(X))
    ours = api.load_model("xgb-three:1", registry=reg_dir).predict_proba(X)
    assert theirs.shape == ours.shape and np.max(np.abs(theirs - ours)) < 1e-6
    r = _cli("register", str(out), "--name", "xgb-three", "--registry", reg_dir)
    assert r.returncode == 0, r.stderr
    assert "already registered as xgb-three:1" in r.stdout


@pytest.mark.parametrize("ref", ["lgb-binary:1", "lgb-value:1"])
def test_lightgbm_exports_as_mlflows_lightgbm_flavor(env, ref):
    reg = env["reg"]
    out = env["root"] / f"lgb-{ref.replace(':', '-')}"
    res = export_mlflow(reg, ref, out)
    assert res["flavor"] == "lightgbm" and res["files"]["model.lgb"] == reg.resolve(ref).sha256
    doc = safe_yaml((out / "MLmodel").read_text())
    flavor = doc["flavors"]["lightgbm"]
    assert flavor["model_class"] == "lightgbm.basic.Booster" and flavor["data"] == "model.lgb"
    assert flavor["lgb_version"] == lgb.__version__
    assert doc["flavors"]["python_function"]["loader_module"] == "mlflow.lightgbm"
    assert _pin("lightgbm") in (out / "requirements.txt").read_text().split()
    X = env["df"][NUMERIC]
    theirs = lgb.Booster(model_file=str(out / "model.lgb")).predict(X)
    model = api.load_model(ref, registry=reg)
    ours = model.predict_proba(X)[:, 1] if ref.startswith("lgb-binary") else model.predict(X)
    assert np.max(np.abs(theirs - ours)) < 1e-12
    # Our own reader takes the folder back: flavor, model file, signature columns.
    mlf = read_mlmodel(out)
    assert mlf.flavor == "lightgbm" and mlf.model_file.name == "model.lgb"
    assert [f["name"] for f in mlf.features or []] == NUMERIC
    back = accept_model_file(reg, mlf.model_file, name=ref.split(":")[0])
    assert back.status == "duplicate" and back.ref == ref


def test_a_real_mlflow_predicts_what_modelward_scores():
    """bench/check_mlflow_export.py: MLflow's pyfunc against ModelWard for every flavor.

    Needs an interpreter holding mlflow (and onnxruntime, skops, xgboost,
    lightgbm), named by ``MODELWARD_MLFLOW_PYTHON``; MLflow is not a
    dependency of ModelWard, so without one there is nothing to ask.
    """
    python = os.environ.get("MODELWARD_MLFLOW_PYTHON")
    if not python or not Path(python).exists():
        pytest.skip("no interpreter with MLflow (set MODELWARD_MLFLOW_PYTHON)")
    r = subprocess.run(
        [sys.executable, str(REPO / "bench" / "check_mlflow_export.py"), "--mlflow-python", python],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("all equal")
