"""The CLI in real subprocesses: happy paths, bad input, and two processes at once."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap

import duckdb
import pytest

from support.models import write_joblib


def _ok(proc):
    assert proc.returncode == 0, proc.stderr
    return proc


def _one_clean_line(proc):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [
        ln
        for ln in proc.stderr.splitlines()
        if ln.strip() and not ln.startswith("modelward: waiting for the registry")
    ]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("modelward: error: ")
    return lines[0]


def test_version(run_cli):
    from modelward import __version__

    out = _ok(run_cli("--version")).stdout
    assert __version__ in out


def test_register_show_alias_audit_flow(run_cli, tmp_path):
    reg = str(tmp_path / "reg")
    model = write_joblib(tmp_path / "model.joblib")
    sha = hashlib.sha256(model.read_bytes()).hexdigest()

    reg_json = json.loads(
        _ok(run_cli("register", str(model), "--name", "credit", "--registry", reg, "--json")).stdout
    )
    assert reg_json["sha256"] == sha
    assert (reg_json["name"], reg_json["version"], reg_json["format"]) == ("credit", 1, "joblib")
    assert reg_json["aliases"] == []

    _ok(run_cli("alias", "set", "credit:1", "champion", "--reason", "first", "--registry", reg))
    show = json.loads(_ok(run_cli("show", "credit@champion", "--json", "--registry", reg)).stdout)
    assert show["sha256"] == sha and show["aliases"] == ["champion"]

    listing = _ok(run_cli("list", "--registry", reg)).stdout
    assert "credit" in listing and "champion" in listing

    log = json.loads(_ok(run_cli("audit", "log", "--json", "--registry", reg)).stdout)
    actions = [e["action"] for e in log["events"]]
    assert actions[:2] == ["alias.set", "version.registered"]

    _ok(run_cli("audit", "verify", "--registry", reg))
    _ok(run_cli("alias", "remove", "credit", "champion", "--reason", "done", "--registry", reg))

    # Edit an audit row behind ModelWard's back: verify must fail and name it.
    con = duckdb.connect(os.path.join(reg, "registry.duckdb"))
    con.execute("UPDATE audit SET actor = 'mallory' WHERE action = 'alias.set'")
    seq = con.execute("SELECT seq FROM audit WHERE action = 'alias.set'").fetchall()[0][0]
    con.close()
    bad = run_cli("audit", "verify", "--registry", reg)
    assert bad.returncode == 1
    assert f"event {seq}" in bad.stderr and "Traceback" not in bad.stderr


def test_registry_from_environment(run_cli, tmp_path):
    home = tmp_path / "envhome"
    _ok(
        run_cli(
            "register",
            str(write_joblib(tmp_path / "m")),
            "--name",
            "m",
            env={"MODELWARD_HOME": str(home)},
        )
    )
    assert (home / "registry.duckdb").is_file()
    assert (home / "artifacts").is_dir()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["register", "{tmp}/missing.joblib", "--name", "m"], "no such file"),
        (["register", "{tmp}", "--name", "m"], "is a folder"),
        (["register", "{junk}", "--name", "m"], "not a model file"),
        (["register", "{empty}", "--name", "m"], "empty file"),
        (["show", "nobody"], "no model named 'nobody'"),
        (["show", "nobody:x"], "must be a number"),
        (["register", "{model}", "--name", "bad:name"], "bad model name"),
    ],
)
def test_bad_input_gives_one_clear_line(run_cli, tmp_path, args, needle):
    junk = tmp_path / "junk.joblib"
    junk.write_bytes(b"\x00" + random.Random(0).randbytes(4095))
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    model = write_joblib(tmp_path / "ok.joblib")
    subst = {"tmp": str(tmp_path), "junk": str(junk), "empty": str(empty), "model": str(model)}
    args = [a.format(**subst) for a in args]
    reg = str(tmp_path / "reg")
    proc = run_cli(*args, "--registry", reg)
    line = _one_clean_line(proc)
    assert needle in line
    # Nothing partial: the chain still verifies and no version appeared.
    _ok(run_cli("audit", "verify", "--registry", reg))
    listing = json.loads(_ok(run_cli("list", "--json", "--registry", reg)).stdout)
    assert listing["versions"] == []


def test_not_a_database_and_newer_schema(run_cli, tmp_path):
    home = tmp_path / "notdb"
    home.mkdir()
    (home / "registry.duckdb").write_bytes(b"garbage" * 1000)
    assert "not a ModelWard registry" in _one_clean_line(run_cli("list", "--registry", str(home)))

    newer = tmp_path / "newer"
    _ok(run_cli("list", "--registry", str(newer)))
    con = duckdb.connect(str(newer / "registry.duckdb"))
    con.execute("UPDATE meta SET value = '42' WHERE key = 'schema_version'")
    con.close()
    line = _one_clean_line(run_cli("list", "--registry", str(newer)))
    assert "schema version 42" in line and "not modified" in line


def test_json_errors_are_json(run_cli, tmp_path):
    proc = run_cli("show", "ghost", "--json", "--registry", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["kind"] == "NotFound"


HOLDER = textwrap.dedent(
    """
    import sys
    from modelward.core.registry import Registry
    reg = Registry(sys.argv[1])
    with reg.session():
        print("holding", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
    """
)


def _start_holder(reg: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, reg],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def test_second_process_gets_a_clear_busy_message(run_cli, tmp_path):
    reg = str(tmp_path / "reg")
    holder = _start_holder(reg)
    try:
        proc = run_cli("list", "--registry", reg, env={"MODELWARD_BUSY_TIMEOUT": "0.5"})
        line = _one_clean_line(proc)
        assert proc.returncode == 75
        assert f"process {holder.pid}" in line and "did not become free" in line
    finally:
        holder.communicate("go\n", timeout=30)


def test_second_process_waits_and_gets_in(tmp_path):
    """A CLI started while another process holds the registry finishes once it lets go."""
    reg = str(tmp_path / "reg")
    model = write_joblib(tmp_path / "m.joblib")
    holder = _start_holder(reg)
    cli = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelward",
            "register",
            str(model),
            "--name",
            "m",
            "--registry",
            reg,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MODELWARD_BUSY_TIMEOUT": "60"},
    )
    # The CLI says it is waiting (it cannot get in while the holder holds the file).
    assert cli.stderr is not None
    assert "waiting for the registry" in cli.stderr.readline()
    assert cli.poll() is None
    holder.communicate("go\n", timeout=30)
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    assert "registered m:1" in out


BUSY_READER = textwrap.dedent(
    """
    import sys, time
    from modelward.core.registry import Registry
    # Like the window while a table is scrolled: it keeps its connection between
    # operations and reads every 20 ms, so it is never idle long enough to release.
    reg = Registry(sys.argv[1], idle_release=30.0)
    reads = 0
    print("reading", flush=True)
    end = time.monotonic() + 60
    while time.monotonic() < end and not reg.list_models():
        reads += 1
        time.sleep(0.02)
    print(f"saw a model after {reads} reads", flush=True)
    """
)


def test_a_busy_window_lets_a_waiting_process_in(tmp_path):
    """A process that keeps its connection (the window) gives way to one that waits for it."""
    reg = str(tmp_path / "reg")
    model = write_joblib(tmp_path / "m.joblib")
    reader = subprocess.Popen(
        [sys.executable, "-c", BUSY_READER, reg], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
        # The reader never idles: without the knock the CLI would wait out its timeout.
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "modelward",
                "register",
                str(model),
                "--name",
                "m",
                "--registry",
                reg,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "MODELWARD_BUSY_TIMEOUT": "20"},
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert "registered m:1" in proc.stdout
        # The reader took the file back and saw the new model.
        out, _ = reader.communicate(timeout=60)
        assert "saw a model after" in out
        assert reader.returncode == 0
        assert not (tmp_path / "reg" / "registry.duckdb.wait").exists()
    finally:
        if reader.poll() is None:
            reader.kill()
