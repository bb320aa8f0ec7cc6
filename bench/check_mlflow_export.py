"""Check `export --format mlflow` against a real MLflow (issue 20).

MLflow is never a dependency of ModelWard: this script needs a throwaway
virtualenv that holds it and the libraries its flavors import, e.g.

    python -m venv /tmp/mlflow-venv
    /tmp/mlflow-venv/bin/pip install mlflow onnxruntime onnx skops scikit-learn pandas \
        xgboost lightgbm catboost

In a scratch registry it makes, on 300 rows with a text column:

* scikit-learn: a binary classifier (LogisticRegression), a 3-class one
  (LogisticRegression on text labels) and a regressor (Ridge), each as skops
  and converted to ONNX (``convert --to onnx``), and a 3-class one on the
  numeric columns alone (no text column for MLflow's ONNX flavor to trip on);
* an ONNX classifier made elsewhere (skl2onnx's defaults: a ZipMap of
  probabilities), which the export rewrites with one output per class;
* XGBoost and LightGBM: a binary classifier, a 3-class one and a regressor
  each, saved natively and registered (numeric columns only: MLflow's
  boosting flavors feed ``DMatrix(df)`` / ``Booster.predict(df)``, which do
  not take text columns);
* CatBoost, where it is installed here: a binary classifier and a regressor
  saved as ``.cbm`` and a 3-class one on text labels saved as CatBoost's
  JSON, all with the text column as a categorical feature (CatBoost takes
  text).

It exports every version with ``export_mlflow``, then, in ONE process of the
other interpreter, asks MLflow to ``mlflow.pyfunc.load_model(folder)`` and
``predict`` the whole table, and compares the answers with what ModelWard
scores for the same rows (``predict_proba`` of classifiers, column by class;
``predict`` of regressors; skops classifiers: MLflow's sklearn flavor
predicts labels, compared with ModelWard's labels; CatBoost classifiers:
MLflow's catboost flavor predicts labels too, compared with ModelWard's
labels, and ``mlflow.catboost.load_model(folder).predict_proba`` is compared
with ModelWard's probabilities). Prints one line per folder with the maximum
absolute difference; exit code 1 when a check fails (difference above 1e-6,
a label differs, or MLflow cannot load or predict).

pandas 3 keeps text in string arrays that MLflow's ONNX flavor hands to
onnxruntime as they are, which onnxruntime refuses; the driver then retries
with text columns as Python objects (what pandas 2 gives), and the line says
so. Usage::

    python bench/check_mlflow_export.py --mlflow-python /tmp/mlflow-venv/bin/python
    python bench/check_mlflow_export.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# the credit frame the MLflow export tests use (one definition for both)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.credit_frames import credit_frame  # noqa: E402

TOLERANCE = 1e-6
NUMERIC = ["income", "debt", "age"]

DRIVER = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import mlflow.pyfunc, pandas as pd
jobs = json.load(open(sys.argv[1]))
results = []
for job in jobs:
    out = {"folder": job["folder"]}
    try:
        df = pd.read_csv(job["data"])[job["columns"]]
        model = mlflow.pyfunc.load_model(job["folder"])
        out["loader"] = model.metadata.flavors["python_function"]["loader_module"]
        if out["loader"] == "mlflow.catboost":
            import mlflow.catboost
            raw = mlflow.catboost.load_model(job["folder"])
            if hasattr(raw, "predict_proba"):
                out["proba"] = raw.predict_proba(df).tolist()
    except Exception as e:
        out["load_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
        results.append(out)
        continue
    def run(frame):
        pred = model.predict(frame)
        if hasattr(pred, "columns"):
            return {"columns": [str(c) for c in pred.columns],
                    "data": {str(c): pred[c].tolist() for c in pred.columns}}
        if hasattr(pred, "tolist"):
            return {"array": pred.tolist()}
        return {"array": list(pred)}
    try:
        out["pred"] = run(df)
    except Exception as e:
        out["predict_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
        text = [c for c in df.columns if str(df[c].dtype) in ("str", "string")]
        if text:
            obj = df.astype({c: object for c in text})
            try:
                out["pred"] = run(obj)
                out["with_object_columns"] = True
            except Exception as e2:
                out["predict_error_object_columns"] = (
                    f"{type(e2).__name__}: {str(e2).splitlines()[0][:300]}")
    results.append(out)
print(json.dumps(results, default=str))
"""


def _data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """The tests' credit frame, plus a 3-class ``tier`` and a regression target ``amount``."""
    df, z = credit_frame(n, seed)
    rng = np.random.default_rng(seed + 1)
    df["tier"] = np.digitize(z + rng.normal(0, 0.3, n), [-0.4, 0.4])  # 0, 1, 2
    df["amount"] = 2.0 * df.debt + 0.1 * df.age + np.where(df.region == "north", 3.0, 0.0)
    return df


def _external_onnx(reg: Any, root: Path, df: pd.DataFrame) -> str:
    """An ONNX classifier made elsewhere: skl2onnx's defaults (a ZipMap of probabilities)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    from modelward.core.intake import accept_model_file

    X = df[NUMERIC].to_numpy(np.float32)
    onx = to_onnx(LogisticRegression(max_iter=500).fit(X, df["tier"]), X[:1])
    prop = onx.metadata_props.add()
    prop.key, prop.value = "feature_names", json.dumps(NUMERIC)
    path = root / "external.onnx"
    path.write_bytes(onx.SerializeToString())
    return str(accept_model_file(reg, path, name="external").register_result().version.ref)


def _boosters(root: Path, df: pd.DataFrame) -> list[tuple[str, Path]]:
    """XGBoost and LightGBM models (binary, 3-class, regressor) saved natively."""
    import lightgbm as lgb
    import xgboost as xgb

    from modelward.core.artifacts.native import save_native

    X = df[NUMERIC]
    out = []
    kw = {"n_estimators": 20, "max_depth": 3, "n_jobs": 1}
    for lib, cls, reg in (
        ("xgb", xgb.XGBClassifier, xgb.XGBRegressor),
        ("lgb", lgb.LGBMClassifier, lgb.LGBMRegressor),
    ):
        extra = {"verbose": -1} if lib == "lgb" else {}
        for what, model in (
            ("binary", cls(**kw, **extra).fit(X, df["default"])),
            ("3class", cls(**kw, **extra).fit(X, df["tier"])),
            ("regressor", reg(**kw, **extra).fit(X, df["amount"])),
        ):
            path = root / f"{lib}-{what}.{'ubj' if lib == 'xgb' else 'txt'}"
            save_native(model, path)
            out.append((f"{lib}-{what}", path))
    return out


def _catboosts(root: Path, df: pd.DataFrame) -> list[tuple[str, Path]]:
    """CatBoost models (binary and regressor as .cbm, 3-class as JSON), text column categorical."""
    import catboost as cb

    X = df[["income", "region", "debt", "age"]]
    kw = {"iterations": 20, "depth": 3, "verbose": 0, "thread_count": 1}
    out = []
    for what, model, fmt in (
        ("binary", cb.CatBoostClassifier(**kw, cat_features=["region"]), "cbm"),
        ("3class", cb.CatBoostClassifier(**kw, cat_features=["region"]), "json"),
        ("regressor", cb.CatBoostRegressor(**kw, cat_features=["region"]), "cbm"),
    ):
        target = {"binary": "default", "3class": "segment", "regressor": "amount"}[what]
        model.fit(X, df[target])
        path = root / f"cb-{what}.{fmt}"
        model.save_model(str(path), format=fmt)
        out.append((f"cb-{what}", path))
    return out


def _mlflow_answer(got: dict[str, Any], classes: list[Any] | None) -> np.ndarray:
    """MLflow's prediction as ModelWard's shape: ``(n, k)`` probabilities or ``(n,)`` values."""
    pred = got["pred"]
    if "columns" in pred:
        cols = pred["columns"]
        if classes is not None and all(f"probability_{c}" in cols for c in classes):
            return np.column_stack([pred["data"][f"probability_{c}"] for c in classes])
        return np.asarray(pred["data"][cols[0]])
    arr = np.asarray(pred["array"])
    if classes is not None and arr.dtype.kind in "fc":
        if arr.ndim == 1 and len(classes) == 2:  # Booster.predict: P(class 1)
            return np.column_stack([1.0 - arr, arr])
    return arr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--mlflow-python",
        default=os.environ.get("MODELWARD_MLFLOW_PYTHON", "/tmp/mlflow-venv/bin/python"),
        help="an interpreter with mlflow installed (default: $MODELWARD_MLFLOW_PYTHON)",
    )
    ap.add_argument("--json", metavar="FILE", help="write one record per folder here")
    args = ap.parse_args()
    from modelward import api
    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import train
    from modelward.core.evidence.mlflow_export import export_mlflow
    from modelward.core.intake import accept_model_file
    from modelward.core.intake.convert import convert_version
    from modelward.core.registry import Registry

    ok = True
    records = []
    with tempfile.TemporaryDirectory(prefix="mw-mlflow-check-") as tmp:
        root = Path(tmp)
        df = _data()
        data = root / "d.csv"
        df.to_csv(data, index=False)
        reg = Registry(root / "reg")
        refs: list[str] = []
        text = ("income", "region", "debt", "age")
        for name, est, target, feats in (
            ("binary", "LogisticRegression", "default", text),
            ("threeclass", "LogisticRegression", "segment", text),
            ("regressor", "Ridge", "amount", text),
            ("numeric", "LogisticRegression", "segment", tuple(NUMERIC)),
        ):
            recipe = Recipe(data=str(data), target=target, estimator=est, features=feats)
            train(reg, recipe, name)
            refs += [f"{name}:1", convert_version(reg, f"{name}:1", to="onnx").version.ref]
        refs.append(_external_onnx(reg, root, df))
        natives = _boosters(root, df)
        try:
            natives += _catboosts(root, df)
        except ImportError:
            print("catboost is not installed here: no CatBoost folders checked")
        for name, path in natives:
            res = accept_model_file(reg, path, name=name)
            refs.append(res.register_result().version.ref)

        jobs, meta = [], {}
        for ref in refs:
            out = root / f"export-{ref.replace(':', '-')}"
            res = export_mlflow(reg, ref, out)
            v = reg.resolve(ref)
            cols = [f["name"] for f in v.signature.get("features") or []] or list(
                v.signature.get("feature_names") or []
            )
            jobs.append({"folder": str(out), "data": str(data), "columns": cols})
            meta[str(out)] = (ref, res, cols)
        (root / "jobs.json").write_text(json.dumps(jobs))
        r = subprocess.run(
            [args.mlflow_python, "-c", DRIVER, str(root / "jobs.json")],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if r.returncode != 0:
            print(f"MLflow's interpreter failed: {r.stderr[-1500:]}")
            return 1
        for got in json.loads(r.stdout.strip().splitlines()[-1]):
            ref, res, cols = meta[got["folder"]]
            model = api.load_model(ref, registry=reg)
            X = df[cols]
            classes = (
                [c.item() if hasattr(c, "item") else c for c in model.classes_]
                if hasattr(model, "predict_proba")
                else None
            )
            line = f"{ref:<16} {res['flavor']:<9}" + (" rewritten" if res["rewritten"] else "")
            rec: dict[str, Any] = {
                "ref": ref,
                "flavor": res["flavor"],
                "rewritten": res["rewritten"],
            }
            if "load_error" in got:
                line += f" MLflow could not load it: {got['load_error']}"
                ok = False
            elif "pred" not in got:
                line += f" predict failed: {got['predict_error']}"
                if "predict_error_object_columns" in got:
                    line += f"; with text as objects: {got['predict_error_object_columns']}"
                ok = False
            else:
                theirs = _mlflow_answer(got, classes)
                if res["flavor"] in ("sklearn", "catboost") and classes is not None:
                    ours = np.asarray(model.predict(X)).astype(str)
                    theirs_labels = np.asarray(theirs).reshape(-1).astype(str)
                    agree = float(np.mean(theirs_labels == ours))
                    line += f" labels equal on {agree:.0%} of {len(X)} rows"
                    rec["labels_agree"] = agree
                    ok = ok and agree == 1.0
                    if "proba" in got:  # mlflow.catboost.load_model(folder).predict_proba
                        p_ours = np.asarray(model.predict_proba(X), dtype=float)
                        p_theirs = np.asarray(got["proba"], dtype=float).reshape(p_ours.shape)
                        diff = float(np.max(np.abs(p_theirs - p_ours)))
                        line += (
                            f"; predict_proba max |diff| {diff:.1e}"
                            f" over {len(classes)} class probabilities"
                        )
                        rec["max_abs_diff"] = diff
                        ok = ok and diff <= TOLERANCE
                else:
                    ours = (
                        np.asarray(model.predict_proba(X), dtype=float)
                        if classes is not None
                        else np.asarray(model.predict(X), dtype=float)
                    )
                    theirs = np.asarray(theirs, dtype=float).reshape(ours.shape)
                    diff = float(np.max(np.abs(theirs - ours)))
                    what = f"{len(classes)} class probabilities" if classes else "predictions"
                    line += f" max |diff| {diff:.1e} over {len(X)} rows x {what}"
                    rec["max_abs_diff"] = diff
                    ok = ok and diff <= TOLERANCE
                if got.get("with_object_columns"):
                    line += " (text columns as objects: MLflow's ONNX flavor cannot feed pandas 3 strings)"
                    rec["text_as_objects"] = True
            print(line)
            records.append(rec)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))
    print("all equal" if ok else "CHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
