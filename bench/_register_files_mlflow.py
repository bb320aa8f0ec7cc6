"""MLflow's side of bench_register_files.py, run in MLflow's own virtualenv.

Usage:
    python _register_files_mlflow.py dir FOLDER WORK   # every *.joblib in FOLDER, one process
    python _register_files_mlflow.py one FILE WORK     # one file (a shell loop calls this)

Each file is what a user hands over: a fitted scikit-learn model saved with
joblib. MLflow has no command that registers a model file, so each file is
loaded (joblib) and logged in a run with ``mlflow.sklearn.log_model``, then
registered under the file's name with ``register_model``; the tracking and
registry store is SQLite in WORK, shared by every process of a loop.
Requirements are given explicitly (inferring them starts a subprocess per
model). Prints one JSON object with the number of files registered.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from _mlflow_store import open_store


def _register(mf, path: Path) -> None:  # noqa: ANN001
    import joblib

    model = joblib.load(path)
    with mf.start_run():
        info = mf.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        mf.register_model(info.model_uri, path.stem)


def main() -> int:
    mode, target, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    mf = open_store(str(work), "files")
    files = sorted(target.glob("*.joblib")) if mode == "dir" else [target]
    for p in files:
        _register(mf, p)
    print(json.dumps({"registered": len(files), "version": mf.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
