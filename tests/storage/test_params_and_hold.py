"""Stated parameters and metrics (register --param/--metric, log_model(params=)), searched
with the window's syntax; and a registry held by one process that lets go when another knocks.

Real subprocesses for the CLI and ``watch``, real DuckDB files.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import duckdb
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from tests.support.models import write_joblib
from tests.support.watch_cli import opening_lines, start_watch

from modelward import api
from modelward.core import query
from modelward.core.errors import InvalidInput
from modelward.core.registry import Registry
from modelward.core.registry.connection import HOLD
from modelward.core.registry.versions import logged_params


def _count(reg: Registry, search: str) -> int:
    return query.count_rows(reg, query.TableSpec(filter=query.parse_search(search)))


def test_log_model_params_are_stored_and_searchable(tmp_path):
    home = tmp_path / "reg"
    X = np.random.default_rng(0).random((40, 3))
    y = (X[:, 0] > 0.5).astype(int)
    model = LogisticRegression(C=0.5).fit(X, y)
    v = api.log_model(
        model,
        "credit",
        X,
        y,
        metrics={"roc_auc": 0.91},
        registry=home,
        params={"features": "v2", "lr": np.float64(0.1), "epochs": 5, "early": True},
    )
    assert v.params["logged"] == {"features": "v2", "lr": 0.1, "epochs": 5, "early": True}
    reg = api.open_registry(home)
    # stated parameters, the estimator's own (C, solver), negation and metrics: one parser
    for search, n in [
        ("param.features=v2", 1),
        ("param.features=V2", 1),
        ("param.features:v", 1),
        ("param.features=v3", 0),
        ("-param.features=v3", 1),
        ("param.lr>0.05 param.lr<0.2", 1),
        ("param.lr>0.5", 0),
        ("param.epochs>=5 param.early=true", 1),
        ("param.C=0.5 param.solver=lbfgs", 1),
        ("param.missing=1", 0),
        ("roc_auc>0.9 param.features=v2", 1),
    ]:
        assert _count(reg, search) == n, search
    with pytest.raises(InvalidInput, match="not a number"):
        query.parse_search("param.lr>fast")


def test_logged_params_refuses_what_the_search_cannot_name():
    with pytest.raises(InvalidInput, match="parameter name"):
        logged_params({"has space": 1})
    with pytest.raises(InvalidInput, match="finite"):
        logged_params({"lr": float("nan")})
    assert logged_params({"obj": object})["obj"] == str(object)


def test_register_metric_and_param_from_the_cli(run_cli, tmp_path):
    home = str(tmp_path / "reg")
    a = write_joblib(tmp_path / "a.joblib", seed=1)
    b = write_joblib(tmp_path / "b.joblib", seed=2)
    one = run_cli(
        "register", str(a), "--name", "credit", "--registry", home,
        "--metric", "auc=0.91", "--param", "features=v2", "--param", "depth=4",
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    many = run_cli(
        "register", str(b), str(a), "--registry", home, "--json",
        "--metric", "auc=0.7", "--param", "features=v3",
    )  # fmt: skip
    assert many.returncode == 0, many.stderr
    out = run_cli(
        "list", "--json", "--registry", home, "--filter", "param.features=v2 auc>0.9 param.depth=4"
    )
    assert out.returncode == 0, out.stderr
    versions = json.loads(out.stdout)["versions"]
    assert [(v["name"], v["params"]["logged"]) for v in versions] == [
        ("credit", {"features": "v2", "depth": 4})
    ]
    assert versions[0]["metrics"] == {"auc": 0.91}
    v3 = json.loads(
        run_cli("list", "--json", "--registry", home, "--filter", "param.features=v3").stdout
    )
    # names from the file names: a.joblib is a new model "a", not credit's version
    assert sorted(v["name"] for v in v3["versions"]) == ["a", "b"]
    shown = run_cli("show", "credit:1", "--registry", home)
    assert "param.features" in shown.stdout and "v2" in shown.stdout
    bad = run_cli("register", str(a), "--registry", home, "--metric", "auc=high")
    assert bad.returncode != 0 and "not a number" in bad.stderr


def test_a_held_registry_lets_a_knocking_process_in(run_cli, tmp_path):
    home = tmp_path / "reg"
    reg = Registry(home, idle_release=HOLD)
    with reg.read() as cur:
        cur.execute("SELECT 1").fetchall()
    assert reg.is_connected  # held after its last operation, not released
    t0 = time.monotonic()
    proc = run_cli("list", "--registry", str(home), env={"MODELWARD_BUSY_TIMEOUT": "20"})
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t0 < 15
    assert not reg.is_connected  # it let go when the CLI knocked
    assert reg.list_models() == []  # and opens again when it needs to
    reg.close()


def test_list_reads_while_watch_holds_the_registry(run_cli, tmp_path):
    home = tmp_path / "reg"
    inbox = tmp_path / "inbox"
    proc = start_watch(
        "--models", str(inbox), "--model", "credit", "--registry", str(home), "--settle", "0.3"
    )
    try:
        assert proc.stdout is not None
        assert opening_lines(proc) == ["started", "watching 1 folder"]
        write_joblib(inbox / "m.joblib")
        assert proc.stdout.readline().startswith("ingested")
        # watch holds the file between polls: a client that does not knock is refused
        with pytest.raises(duckdb.Error, match="lock"):
            duckdb.connect(str(home / "registry.duckdb"), read_only=True).close()
        # the CLI knocks and gets in while watch keeps running
        listing = run_cli("list", "--json", "--registry", str(home))
        assert listing.returncode == 0, listing.stderr
        assert [v["name"] for v in json.loads(listing.stdout)["versions"]] == ["credit"]
        assert proc.poll() is None
        # and watch goes on working after it let go
        write_joblib(inbox / "m2.joblib", seed=3)
        assert proc.stdout.readline().startswith("ingested")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_a_held_registry_never_answers_from_a_stale_memo(run_cli, tmp_path):
    from modelward.core.registry.bulk import bulk_add_versions

    home = tmp_path / "reg"
    setup = Registry(home)
    recs = []
    for i in range(3):
        art = tmp_path / f"a{i}.bin"
        art.write_bytes(b"artifact %d" % i)
        recs.append(
            {"name": "credit", "sha256": setup.artifacts.put_file(art)[0], "size": 10,
             "format": "skops"}
        )  # fmt: skip
    bulk_add_versions(setup, recs)
    setup.close()
    held = Registry(home, idle_release=HOLD)
    held.set_alias("credit:1", "champion", reason="first")
    assert held.resolve("credit@champion").version == 1
    assert held.resolve("credit@champion").version == 1  # answered while held
    held.set_alias("credit:2", "champion", reason="its own move")
    assert held.resolve("credit@champion").version == 2
    other = Registry(home)  # another instance of this process (shares DuckDB's database)
    other.set_alias("credit:3", "champion", reason="a colleague's move")
    assert held.resolve("credit@champion").version == 3
    assert held.is_connected
    # another process knocks, moves the alias back, and the held registry sees it
    proc = run_cli(
        "alias", "set", "credit:1", "champion", "--reason", "cli", "--registry", str(home)
    )
    assert proc.returncode == 0, proc.stderr
    assert held.resolve("credit@champion").version == 1
    held.close()


def test_list_parses_without_the_other_command_groups(tmp_path):
    from modelward.cli.runner import command_of

    assert command_of(["--registry", "R", "--json", "list", "--filter", "x"]) == "list"
    assert command_of(["--registry=R", "show", "a@b"]) == "show"
    assert command_of(["--version"]) is None and command_of([]) is None
    code = (
        "import sys; from modelward.cli import main; "
        f"rc = main(['list', '--registry', {str(tmp_path / 'reg')!r}]); "
        "print(rc, sorted(m for m in sys.modules if m.startswith('modelward.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rc, loaded = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert rc == "0"
    for group in ("compute", "monitoring", "policies", "evidence", "scoring", "watch", "entry"):
        assert f"modelward.cli.{group}" not in loaded, loaded
