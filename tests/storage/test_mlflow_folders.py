"""MLflow model folders in (register, the watcher) and out (export --format mlflow)."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")

from modelward.core.artifacts.mlflow_folder import read_mlmodel, safe_yaml  # noqa: E402
from modelward.core.compute.recipe import Recipe  # noqa: E402
from modelward.core.compute.training import train  # noqa: E402
from modelward.core.errors import RejectedFile  # noqa: E402
from modelward.core.intake.convert import convert_version  # noqa: E402
from modelward.core.intake.mlflow import accept_mlflow_folder  # noqa: E402
from modelward.core.registry import Registry  # noqa: E402

SIGNATURE = json.dumps(
    [
        {"type": "double", "name": "income", "required": True},
        {"type": "string", "name": "region", "required": True},
        {"type": "double", "name": "debt", "required": True},
    ]
)


def _frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n)
    region = rng.choice(["north", "south", "east"], n)
    debt = rng.normal(10, 5, n)
    y = (0.08 * (debt - 10) - 0.05 * (income - 50) + rng.logistic(size=n) > 0).astype(int)
    return pd.DataFrame({"income": income, "region": region, "debt": debt, "default": y})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelward", *args], capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A registry with a trained version and its ONNX conversion; an ONNX MLflow folder."""
    root = tmp_path_factory.mktemp("mlflow")
    data = root / "credit.csv"
    _frame().to_csv(data, index=False)
    reg = Registry(root / "reg")
    train(reg, Recipe(data=str(data), target="default", estimator="LogisticRegression"), "credit")
    onnx = convert_version(reg, "credit:1", to="onnx").version
    folder = root / "onnx-model"
    folder.mkdir()
    shutil.copyfile(reg.artifacts.path_for(onnx.sha256), folder / "model.onnx")
    (folder / "input_example.json").write_text(
        json.dumps({"columns": ["income", "region", "debt"], "data": [[51.0, "south", 9.5]]})
    )
    (folder / "requirements.txt").write_text("onnx==0.0.1\nonnxruntime==1.0\n")
    (folder / "MLmodel").write_text(
        "artifact_path: model\n"
        "flavors:\n"
        "  onnx:\n"
        "    code: null\n"
        "    data: model.onnx\n"
        "    onnx_version: 0.0.1\n"
        "  python_function:\n"
        "    data: model.onnx\n"
        "    loader_module: mlflow.onnx\n"
        "    python_version: 3.11.7\n"
        "mlflow_version: 2.14.1\n"
        "run_id: 0123abcd\n"
        "saved_input_example_info:\n"
        "  artifact_path: input_example.json\n"
        "  pandas_orient: split\n"
        "  type: dataframe\n"
        "signature:\n"
        f"  inputs: '{SIGNATURE}'\n"
        "  outputs: null\n"
    )
    return {"root": root, "reg": root / "reg", "data": data, "onnx_folder": folder}


def _sklearn_folder(root: Path) -> Path:
    """An MLflow sklearn flavor whose pickle names a global outside the allowlist."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X = np.random.default_rng(0).normal(size=(20, 2))
    pipe = make_pipeline(FunctionTransformer(np.clip, kw_args={"a_min": -1, "a_max": 1}))
    pipe.fit(X)
    folder = root / "sk-model"
    folder.mkdir()
    with open(folder / "model.pkl", "wb") as f:
        pickle.dump(pipe, f)
    (folder / "MLmodel").write_text(
        "flavors:\n"
        "  python_function:\n"
        "    loader_module: mlflow.sklearn\n"
        "    model_path: model.pkl\n"
        "  sklearn:\n"
        "    pickled_model: model.pkl\n"
        "    serialization_format: cloudpickle\n"
        "    sklearn_version: 1.5.0\n"
    )
    return folder


def test_register_mlflow_folders_onnx_accepted_sklearn_pickle_refused(env: dict[str, Path]):
    reg_dir = str(env["reg"])
    r = _cli("register", str(env["onnx_folder"]), "--name", "from-mlflow", "--registry", reg_dir, "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    assert v["format"] == "onnx" and v["ref"] == "from-mlflow:1"
    ml = v["lineage"]["mlflow"]
    assert ml["flavor"] == "onnx" and ml["run_id"] == "0123abcd"
    assert ml["libraries"]["onnx"] == "0.0.1" and ml["libraries"]["mlflow"] == "2.14.1"
    assert any("saved with onnx 0.0.1" in w for w in ml["warnings"])
    feats = v["signature"]["features"]
    assert [(f["name"], f["kind"]) for f in feats] == [
        ("income", "numeric"),
        ("region", "categorical"),
        ("debt", "numeric"),
    ]
    # the signature's columns are what validation checks the data against
    bad = env["root"] / "no-debt.csv"
    _frame(30, seed=3).drop(columns=["debt"]).to_csv(bad, index=False)
    from modelward.core.compute.validation import validate
    from modelward.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="debt"):
        validate(Registry(reg_dir), "from-mlflow:1", str(bad), target="default", store=False)

    folder = _sklearn_folder(env["root"])
    r = _cli("register", str(folder), "--name", "sk", "--registry", reg_dir)
    assert r.returncode != 0
    assert "numpy.clip is not allowed" in r.stderr and "Traceback" not in r.stderr
    assert not [v for v in Registry(reg_dir).list_versions() if v.name == "sk"]


@pytest.mark.parametrize(
    ("mlmodel", "reason"),
    [
        ("a: &x [1, 2]\nb: *x\nflavors: {onnx: {data: model.onnx}}\n", "anchors or aliases"),
        ("flavors: !!python/object/apply:os.system ['echo owned']\n", "YAML tag"),
        ("artifact_path: model\nrun_id: abc\n", "names no flavors"),
        ("flavors:\n  onnx:\n    data: ../../etc/passwd\n", "outside its folder"),
        ("x" * (1 << 20) + "\n", "more than the 1,048,576 bytes"),
    ],
    ids=["alias-bomb", "python-tag", "no-flavor", "escape", "huge"],
)
def test_hostile_mlmodel_is_refused_in_one_sentence_and_audited(
    tmp_path: Path, mlmodel: str, reason: str
):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "MLmodel").write_text(mlmodel)
    reg = Registry(tmp_path / "reg")
    res = accept_mlflow_folder(reg, folder, name="bad")
    assert res.refused and reason in (res.reason or "")
    assert "\n" not in (res.reason or "")
    assert reg.list_versions() == []
    with reg.read() as cur:
        rows = cur.execute("SELECT reason FROM audit WHERE action = 'ingest.rejected'").fetchall()
    assert [r[0] for r in rows] == [res.reason]


def test_yaml_bomb_is_refused_before_it_expands():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20)
    )
    with pytest.raises(RejectedFile, match="anchors or aliases"):
        safe_yaml(bomb)


def test_export_mlflow_writes_a_folder_that_registers_back_as_the_same_version(
    env: dict[str, Path],
):
    reg_dir = str(env["reg"])
    out = env["root"] / "exported"
    r = _cli("export", "credit:2", "--format", "mlflow", "--out", str(out), "--registry", reg_dir, "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["flavor"] == "onnx" and res["input_example_rows"] == 5
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "MLmodel", "input_example.json", "model.onnx", "python_env.yaml", "requirements.txt",
    ]  # fmt: skip
    mlf = read_mlmodel(out)
    assert mlf.flavor == "onnx" and mlf.model_file.name == "model.onnx"
    assert [f["name"] for f in mlf.features or []] == ["income", "region", "debt"]
    doc = safe_yaml((out / "MLmodel").read_text())
    assert doc["flavors"]["python_function"]["loader_module"] == "mlflow.onnx"
    assert doc["metadata"]["modelward_ref"] == "credit:2"
    reqs = (out / "requirements.txt").read_text()
    assert "onnxruntime==" in reqs
    reg = Registry(reg_dir)
    with reg.read() as cur:
        (after,) = cur.execute(
            "SELECT after FROM audit WHERE action = 'version.exported' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert json.loads(after)["files"]["model.onnx"] == reg.resolve("credit:2").sha256
    # Round trip: the folder registers as the version it came from (same bytes).
    r = _cli("register", str(out), "--name", "credit", "--registry", reg_dir)
    assert r.returncode == 0, r.stderr
    assert "already registered as credit:2" in r.stdout

    # A skops version exports with MLflow's sklearn flavor (skops serialization).
    out2 = env["root"] / "exported-skops"
    from modelward.core.evidence.mlflow_export import export_mlflow

    assert export_mlflow(reg, "credit:1", out2)["flavor"] == "sklearn"
    sk = safe_yaml((out2 / "MLmodel").read_text())["flavors"]["sklearn"]
    assert sk["serialization_format"] == "skops" and sk["pickled_model"] == "model.skops"
    # what MLflow must trust to load it: the types skops does not trust by default
    assert all(isinstance(t, str) for t in sk["skops_trusted_types"])


def test_a_watched_folder_takes_an_mlflow_folder_copied_in(env: dict[str, Path], tmp_path: Path):
    from modelward.core.watch.folders import MODELS, add_folder
    from modelward.core.watch.watcher import FolderWatcher

    reg = Registry(tmp_path / "reg")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    add_folder(reg, inbox, MODELS, model_name="watched")
    w = FolderWatcher(reg, settle=0.2, rescan_interval=0.5)
    w.start()
    try:
        dest = inbox / "copied"
        dest.mkdir()
        # Copied file by file, MLmodel first: nothing is taken until the model file is there.
        shutil.copyfile(env["onnx_folder"] / "MLmodel", dest / "MLmodel")
        shutil.copyfile(env["onnx_folder"] / "input_example.json", dest / "input_example.json")
        shutil.copyfile(env["onnx_folder"] / "model.onnx", dest / "model.onnx")
        assert w.wait_for(lambda rs: any(r.status == "registered" for r in rs), timeout=60)
    finally:
        w.stop()
    taken = [r for r in w.results if r.status == "registered"]
    assert len(taken) == 1 and taken[0].ref == "watched:1"
    assert not [r for r in w.results if r.status in ("rejected", "error")]
    v = reg.resolve("watched:1")
    assert v.format == "onnx" and v.lineage["mlflow"]["flavor"] == "onnx"
