"""Check `export --format mlflow` against a real MLflow (issue 20).

MLflow is never a dependency of ModelWard: this script needs a throwaway
virtualenv that holds it (and onnxruntime, onnx, skops), e.g.

    python -m venv /tmp/mlflow-venv
    /tmp/mlflow-venv/bin/pip install mlflow-skinny onnxruntime onnx skops scikit-learn pandas

It trains a small model in a scratch registry, converts it to ONNX, exports
both versions as MLflow model folders, then asks MLflow (in the other
interpreter) to load each with ``mlflow.pyfunc.load_model`` and predict the
folder's input example, and compares the answers with ModelWard's own
predictions of the same rows. Prints one line per folder; exit code 1 when a
check fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

DRIVER = r"""
import json, sys
import mlflow.pyfunc, pandas as pd
folder = sys.argv[1]
ex = json.load(open(folder + "/input_example.json"))
df = pd.DataFrame(ex["data"], columns=ex["columns"])
model = mlflow.pyfunc.load_model(folder)
out = {"flavor": list(model.metadata.flavors), "loader": model.metadata.flavors["python_function"]["loader_module"]}
def run(frame):
    pred = model.predict(frame)
    if hasattr(pred, "columns"):
        out["columns"] = [str(c) for c in pred.columns]
        return pd.DataFrame(pred).to_numpy().tolist()
    return [x if isinstance(x, str) else float(x) for x in list(pred)]
try:
    out["pred"] = run(df)
except Exception as e:
    out["predict_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    # pandas 3 keeps text in Arrow arrays, which MLflow's ONNX flavor hands on as they are
    obj = df.astype({c: object for c in df.columns if str(df[c].dtype) in ("str", "string")})
    try:
        out["pred"] = run(obj)
        out["with_object_columns"] = True
    except Exception as e2:
        out["predict_error_object_columns"] = f"{type(e2).__name__}: {str(e2).splitlines()[0][:200]}"
print(json.dumps(out, default=str))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlflow-python", default="/tmp/mlflow-venv/bin/python")
    args = ap.parse_args()
    from modelward import api
    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import train
    from modelward.core.evidence.mlflow_export import export_mlflow
    from modelward.core.intake.convert import convert_version
    from modelward.core.registry import Registry

    ok = True
    with tempfile.TemporaryDirectory(prefix="mw-mlflow-check-") as tmp:
        root = Path(tmp)
        rng = np.random.default_rng(0)
        n = 300
        df = pd.DataFrame(
            {
                "income": rng.normal(50, 15, n),
                "region": rng.choice(["north", "south", "east"], n),
                "debt": rng.normal(10, 5, n),
            }
        )
        df["default"] = (0.08 * (df.debt - 10) - 0.05 * (df.income - 50) > 0).astype(int)
        df.to_csv(root / "d.csv", index=False)
        reg = Registry(root / "reg")
        for est, target in (("LogisticRegression", "default"), ("Ridge", "debt")):
            name = est.lower()
            train(reg, Recipe(data=str(root / "d.csv"), target=target, estimator=est), name)
            onnx = convert_version(reg, f"{name}:1", to="onnx").version
            for ref in (f"{name}:1", onnx.ref):
                out = root / f"export-{ref.replace(':', '-')}"
                res = export_mlflow(reg, ref, out)
                r = subprocess.run(
                    [args.mlflow_python, "-c", DRIVER, str(out)],
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                if r.returncode != 0:
                    print(f"{ref} ({res['flavor']}): MLflow could not load it: {r.stderr[-800:]}")
                    ok = False
                    continue
                got = json.loads(r.stdout.strip().splitlines()[-1])
                ex = json.loads((out / "input_example.json").read_text())
                X = pd.DataFrame(ex["data"], columns=ex["columns"])
                model = api.load_model(ref, registry=reg)
                ours = np.asarray(model.predict(X))
                line = f"{ref} ({res['flavor']} flavor, loader {got['loader']}): loaded"
                if "predict_error" in got:
                    line += f"; predict on a DataFrame failed: {got['predict_error']}"
                if "pred" not in got:
                    line += (
                        f"; with text columns as objects too: {got['predict_error_object_columns']}"
                    )
                    ok = False
                else:
                    if got.get("with_object_columns"):
                        line += "; with text columns as objects it predicts"
                    pred = np.asarray(got["pred"], dtype=object)
                    first = pred[:, 0] if pred.ndim == 2 else pred
                    same = np.allclose(
                        np.asarray(first, dtype=float), ours.astype(float), atol=1e-4
                    )
                    line += f"; predict columns {got.get('columns')}; equal to ModelWard's: {same}"
                    ok = ok and bool(same)
                print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
