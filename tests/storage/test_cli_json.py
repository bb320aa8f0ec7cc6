"""Text and ``--json`` agree: same exit code, JSON on stdout, never a traceback.

Every command found by walking the parser is run both ways on the same failure,
in-process through ``main([...])``; a few runs are real subprocesses.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
from pathlib import Path

import pytest
from test_training import credit_frame  # same folder: on sys.path under pytest

from modelward.cli import build_parser, main
from modelward.core.registry import Registry
from support.models import write_joblib


def leaf_commands(parser: argparse.ArgumentParser) -> set[tuple[str, ...]]:
    """Every runnable command path, e.g. ``("alias", "set")``, found in the parser."""
    found: set[tuple[str, ...]] = set()

    def walk(p: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.add(path)
            return
        for action in subs:
            for name, child in action.choices.items():
                walk(child, (*path, name))

    walk(parser, ())
    return found


def _cases(tmp: Path) -> dict[tuple[str, ...], list[str]]:
    """For each command, arguments that fail on an empty registry (ghost refs, missing files).

    ``[]`` marks a command that has nothing to refuse on an empty registry; it is
    run against a broken registry only.
    """
    csv, model = str(tmp / "missing.csv"), str(tmp / "missing.joblib")
    out = str(tmp / "out")
    return {
        ("register",): ["register", model, "--name", "ghost"],
        ("list",): [],
        ("show",): ["show", "ghost@champion"],
        ("alias", "set"): ["alias", "set", "ghost:1", "champion", "--reason", "r"],
        ("alias", "remove"): ["alias", "remove", "ghost", "champion", "--reason", "r"],
        ("convert",): ["convert", "ghost:1"],
        ("trust",): [
            *("trust", model, "--name", "ghost", "--allow", "a:b"),
            *("--reviewer", "r", "--reason", "r"),
        ],
        ("audit", "verify"): [],
        ("audit", "log"): [],
        ("audit", "export"): [],
        ("folders", "add"): ["folders", "add", str(tmp), "--kind", "data"],
        ("folders", "list"): [],
        ("folders", "remove"): ["folders", "remove", "99"],
        ("folders", "pause"): ["folders", "pause", "99"],
        ("folders", "resume"): ["folders", "resume", "99"],
        ("watch",): ["watch", "--data", str(tmp)],
        ("run",): ["run"],
        ("train",): [
            *("train", "--data", csv, "--target", "y"),
            *("--estimator", "LogisticRegression", "--name", "ghost"),
        ],
        ("validate",): ["validate", "ghost:1", "--data", csv],
        ("compare",): ["compare", "ghost:1", "ghost:2", "--data", csv],
        ("explain",): ["explain", "ghost:1", "--data", csv],
        ("score",): ["score", "ghost:1", "--data", csv, "-o", f"{out}.csv"],
        ("threshold", "set"): ["threshold", "set", "ghost:1", "0.5"],
        ("threshold", "show"): ["threshold", "show", "ghost"],
        ("threshold", "clear"): ["threshold", "clear", "ghost"],
        ("shadow", "add"): ["shadow", "add", "ghost", "2"],
        ("shadow", "remove"): ["shadow", "remove", "ghost", "2"],
        ("shadow", "show"): ["shadow", "show", "ghost"],
        ("labels",): ["labels", "ghost", "--data", csv, "--id", "id"],
        ("drift",): ["drift", "--reference", csv, "--current", csv],
        ("monitor",): ["monitor", "ghost:1", "--batch", csv],
        ("policy", "set"): ["policy", "set", "ghost", "--from-json", str(tmp / "p.json")],
        ("policy", "show"): ["policy", "show", "ghost"],
        ("policy", "remove"): ["policy", "remove", "ghost", "--reason", "r"],
        ("policy", "runs"): [],
        ("alerts", "list"): [],
        ("alerts", "ack"): ["alerts", "ack", "99"],
        ("approvals", "list"): [],
        ("approvals", "request"): [
            *("approvals", "request", "ghost:1", "--key", "a", "--reason", "r"),
        ],
        ("approvals", "same-account"): ["approvals", "same-account", "allow"],
        ("approve",): ["approve", "99", "--key", "b", "--meaning", "m", "--reason", "r"],
        ("reject",): ["reject", "99", "--key", "b", "--reason", "r"],
        ("report",): ["report", "ghost:1", "-o", f"{out}.html"],
        ("export",): ["export", "ghost:1", "-o", f"{out}.mwb"],
        ("import",): ["import", str(tmp / "missing.mwb")],
        ("keys", "create"): [],
        ("keys", "list"): [],
        ("keys", "trust"): ["keys", "trust", str(tmp / "missing.pub"), "--reason", "r"],
        ("keys", "untrust"): ["keys", "untrust", "0123456789abcdef", "--reason", "r"],
        ("keys", "init"): ["keys", "init", "--name", " "],
        ("keys", "mine"): [],
        ("keys", "trusted"): [],
        ("keys", "bootstrap"): ["keys", "bootstrap", "--key", "nobody", "--reason", "r"],
        ("keys", "trust-request"): ["keys", "trust-request", "--key", "nobody", "--reason", "r"],
        ("keys", "trust-approve"): ["keys", "trust-approve", "0123", "--reason", "r"],
        ("keys", "revoke"): ["keys", "revoke", "0123", "--reason", "r"],
        ("backup",): [],
        ("restore",): ["restore", str(tmp / "missing.zip")],
        ("verify",): ["verify", "--backup", str(tmp / "missing.zip")],
        ("retention",): [],
        ("selftest",): [],
        ("gui",): [],
        ("demo",): [],
    }


# Commands that do not open the registry: a broken one is no failure for them.
_NO_REGISTRY = {("drift",), ("restore",), ("selftest",), ("keys", "init"), ("keys", "mine")}
# Minimal arguments to parse, for the run against a broken registry.
_BROKEN_ARGS: dict[tuple[str, ...], list[str]] = {
    ("audit", "export"): ["audit", "export", "-o", "audit.csv"],
    ("keys", "create"): ["keys", "create", "k"],
    ("backup",): ["backup", "-o", "b.zip"],
    ("watch",): ["watch", "--models", "."],
}


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _both_ways(capsys, argv: list[str], registry: str) -> tuple[int, dict]:
    """Run ``argv`` with and without --json; check they agree. Returns (code, JSON)."""
    code, out, err = _run(capsys, [*argv, "--registry", registry])
    jcode, jout, jerr = _run(capsys, [*argv, "--registry", registry, "--json"])
    what = f"{argv} text: {code} {err!r} / json: {jcode} {jerr!r}"
    assert code == jcode, what
    assert "Traceback" not in out + err + jout + jerr, what
    assert code != 70, what  # an unexpected error: a refusal must be explained
    doc = json.loads(jout)  # exactly one JSON document on stdout
    assert isinstance(doc, dict), what
    if code != 0:
        assert doc["ok"] is False, what
        assert (out + err).strip(), what  # text mode says why
    return code, doc


@pytest.fixture
def no_display(monkeypatch):
    """``gui`` and ``demo`` take the headless road, as on a server."""
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def failing_selftest(monkeypatch):
    """A self-test whose one check fails (the real one passes and takes a while)."""
    import modelward.selftest

    def fake(gui: bool, echo):
        if echo:
            echo("registry ... FAILED: disk full")
        return {"ok": False, "checks": [{"name": "registry", "ok": False}]}

    monkeypatch.setattr(modelward.selftest, "run_selftest", fake)


def test_every_command_agrees_with_and_without_json(
    tmp_path, capsys, monkeypatch, no_display, failing_selftest
):
    monkeypatch.chdir(tmp_path)
    cases = _cases(tmp_path)
    commands = leaf_commands(build_parser())
    assert commands == set(cases), "a command without a failure case here: add one"

    home = str(tmp_path / "reg")
    Registry(home).close()
    for path, argv in sorted(cases.items()):
        if argv:  # ghost refs and missing files are refused, not ignored
            code, doc = _both_ways(capsys, argv, home)
            assert code != 0 and doc["error"], path

    broken = tmp_path / "not-a-registry"
    broken.write_text("x")
    for path in sorted(commands - _NO_REGISTRY):
        argv = _BROKEN_ARGS.get(path) or cases[path] or list(path)
        code, doc = _both_ways(capsys, argv, str(broken))
        assert code != 0, path
        assert doc["kind"] in ("NotARegistry", "InvalidInput"), (path, doc)

    code, doc = _both_ways(capsys, ["selftest", "--no-gui"], home)
    assert code == 1 and doc["checks"][0]["ok"] is False


def _corrupt_one_artifact(home: Path) -> None:
    reg = Registry(home)
    sha = reg.list_versions()[0].sha256
    path = reg.artifacts.path_for(sha)
    reg.close()
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    with open(path, "r+b") as f:
        f.write(b"tampered")


def test_verify_json_reports_a_corrupt_artifact(run_cli, tmp_path):
    home = tmp_path / "reg"
    model = write_joblib(tmp_path / "m.joblib")
    assert run_cli("register", str(model), "--name", "m", "--registry", str(home)).returncode == 0
    ok = run_cli("verify", "--json", "--registry", str(home))
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    _corrupt_one_artifact(home)

    text = run_cli("verify", "--registry", str(home))
    as_json = run_cli("verify", "--json", "--registry", str(home))
    assert text.returncode == as_json.returncode == 1
    assert "problem:" in text.stderr and "Traceback" not in text.stderr + as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["ok"] is False and doc["problems"], doc
    assert doc["problems"][0] in text.stderr


def test_compare_refused_promotion_fails_in_json_too(run_cli, tmp_path):
    home = str(tmp_path / "reg")
    data = tmp_path / "d.csv"
    credit_frame(n=200).to_csv(data, index=False)
    for est in ("LogisticRegression", "DecisionTreeClassifier"):
        r = run_cli(
            *("train", "--data", str(data), "--target", "default", "--estimator", est),
            *("--name", "credit", "--registry", home),
        )
        assert r.returncode == 0, r.stderr
    argv = [
        *("compare", "credit:1", "credit:2", "--data", str(data)),
        *("--gate", "roc_auc>=0.9999", "--n-boot", "50", "--promote"),
        *("--reason", "try", "--registry", home),
    ]
    text = run_cli(*argv)
    as_json = run_cli(*argv, "--json")
    assert text.returncode == as_json.returncode == 1, (text.stderr, as_json.stderr)
    assert "promotion NOT allowed" in text.stdout and "gate roc_auc>=0.9999: FAIL" in text.stdout
    doc = json.loads(as_json.stdout)
    assert doc["ok"] is False and doc["promotion_allowed"] is False and doc["promoted"] is None
    shown = json.loads(run_cli("show", "credit:2", "--json", "--registry", home).stdout)
    assert "champion" not in shown["aliases"]


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "ghost@champion"],
        ["drift", "--reference", "missing.csv", "--current", "missing.csv"],
        ["approve", "7", "--key", "b", "--meaning", "m", "--reason", "r"],
    ],
)
def test_a_refusal_is_the_same_in_a_real_process(run_cli, tmp_path, argv):
    home = str(tmp_path / "reg")
    text = run_cli(*argv, "--registry", home, cwd=tmp_path)
    as_json = run_cli(*argv, "--registry", home, "--json", cwd=tmp_path)
    assert text.returncode == as_json.returncode != 0
    assert "Traceback" not in text.stderr + as_json.stderr
    assert text.stderr.strip().startswith("modelward: error: ")
    doc = json.loads(as_json.stdout)
    assert doc["ok"] is False and doc["error"]


def test_a_broken_registry_is_the_same_in_a_real_process(run_cli, tmp_path):
    broken = tmp_path / "file"
    broken.write_text("x")
    text = run_cli("list", "--registry", str(broken))
    as_json = run_cli("list", "--registry", str(broken), "--json")
    assert text.returncode == as_json.returncode != 0
    assert json.loads(as_json.stdout)["kind"] == "NotARegistry"
