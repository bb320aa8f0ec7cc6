"""MLflow's SQLite tracking and registry store in a work folder, for the benches' MLflow sides.

Imported by the driver scripts that run in MLflow's own virtualenv
(``_log_model_driver.py``, ``_register_files_mlflow.py``): artifacts go inside
the work folder, never into the current directory; MLflow's warnings and
log lines are silenced.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any


def open_store(work: str, experiment: str) -> Any:
    """``mlflow``, pointed at ``WORK/mlflow.db`` with ``experiment`` created if missing and set."""
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import mlflow

    uri = f"sqlite:///{work}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=f"file://{work}/artifacts")
    mlflow.set_experiment(experiment)
    return mlflow
