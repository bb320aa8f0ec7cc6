"""The main flows never touch the network, in this process or any child it starts."""

from __future__ import annotations

import json
import os
from pathlib import Path

from support.models import write_joblib, write_pickle

NONET = Path(__file__).resolve().parents[1] / "support" / "nonet"


def test_main_flows_make_no_network_connection(run_cli, tmp_path):
    log = tmp_path / "network.log"
    env = {
        "PYTHONPATH": os.pathsep.join([str(NONET), os.environ.get("PYTHONPATH", "")]),
        "MODELWARD_NONET_LOG": str(log),
    }
    # The guard itself works: a deliberate connection is caught and logged.
    probe = run_cli("--version", env=env)
    assert probe.returncode == 0
    import subprocess
    import sys

    caught = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('192.0.2.1', 80), 1)"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert caught.returncode != 0 and log.exists()
    log.unlink()

    reg = str(tmp_path / "reg")
    model = write_joblib(tmp_path / "m.joblib")
    steps = [
        ["register", str(model), "--name", "credit"],
        ["register", str(write_pickle(tmp_path / "m.pkl", seed=3)), "--name", "credit"],
        ["alias", "set", "credit:1", "champion", "--reason", "offline"],
        ["show", "credit@champion", "--json"],
        ["list", "--json"],
        ["audit", "verify"],
        ["audit", "log"],
        ["selftest", "--no-gui"],
    ]
    for args in steps:
        proc = run_cli(*args, "--registry", reg, env=env)
        assert proc.returncode == 0, (args, proc.stderr)
    shown = json.loads(run_cli("show", "credit:2", "--json", "--registry", reg, env=env).stdout)
    assert shown["format"] == "pickle"
    assert not log.exists(), log.read_text()


def test_every_duckdb_connection_is_offline_and_quiet():
    """One place opens DuckDB: no extension downloads, no progress bar on stdout."""
    from pathlib import Path

    from modelward.core import duck

    con = duck.connect()
    try:
        settings = dict(
            con.cursor()
            .execute(  # what a thread's cursor sees
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoinstall_known_extensions', 'autoload_known_extensions', "
                "'enable_progress_bar')"
            )
            .fetchall()
        )
    finally:
        con.close()
    assert settings == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "enable_progress_bar": "false",
    }
    app = Path(duck.__file__).parents[1]
    direct = [
        str(p.relative_to(app))
        for p in app.rglob("*.py")
        if "duckdb.connect(" in p.read_text(encoding="utf-8") and p.name != "duck.py"
    ]
    assert direct == []
