"""Nothing left behind, nothing skipped in silence, no name that acts on a terminal.

Real subprocesses killed with SIGKILL, real watched folders, the real CLI.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from modelward.core.evidence.backup import verify_registry
from modelward.core.evidence.bundles.container import ArchiveRefused
from modelward.core.intake import accept_model_file
from modelward.core.registry import Registry
from modelward.core.watch import DATA, MODELS, FolderWatcher, add_folder
from support.models import write_joblib
from support.watch_cli import opening_lines, start_watch

REPO = Path(__file__).resolve().parents[2]
EVIL = "evil\nname\ttab\u202egpj"
posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and links are POSIX")


def _temp_entries(home: Path) -> list[str]:
    root = home / "artifacts"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.name.startswith((".incoming-", ".view-")))


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "app"), env.get("PYTHONPATH", "")])
    return env


def _wait(cond, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# ----------------------------------------------------------------------------- names
def test_register_refuses_a_name_with_control_characters(run_cli, tmp_path):
    home = tmp_path / "reg"
    model = write_joblib(tmp_path / "m.joblib")
    r = run_cli("register", str(model), "--name", EVIL, "--registry", str(home))
    assert r.returncode == 2, r.stderr
    assert "control or invisible" in r.stderr
    assert "\\n" in r.stderr and "\\u202e" in r.stderr
    assert "\u202e" not in r.stderr and "\t" not in r.stderr
    r = run_cli("register", str(model), "--name", EVIL, "--registry", str(home), "--json")
    assert json.loads(r.stdout)["ok"] is False
    assert "\u202e" not in r.stdout


def test_a_stored_name_with_control_characters_is_shown_escaped(run_cli, tmp_path):
    """A registry from an older version that already holds such a name still displays safely."""
    home = tmp_path / "reg"
    reg = Registry(home)
    accept_model_file(reg, write_joblib(tmp_path / "m.joblib"), name="legacy")
    with reg.transaction() as tx:
        tx.q("UPDATE models SET name = ? WHERE name = 'legacy'", [EVIL])
    reg.close()

    r = run_cli("list", "--registry", str(home))
    assert r.returncode == 0, r.stderr
    assert "\u202e" not in r.stdout and "\t" not in r.stdout
    assert "evil\\nname\\ttab\\u202egpj" in r.stdout
    assert len(r.stdout.strip().splitlines()) == 3  # header, rule, one row: not split

    r = run_cli("list", "--registry", str(home), "--json")
    assert r.returncode == 0, r.stderr
    assert "\u202e" not in r.stdout and "\\u202e" in r.stdout
    assert json.loads(r.stdout)["versions"][0]["name"] == EVIL  # data stays data


def _readme_recipe() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(r"```python\n(# verify_audit\.py.*?)```", text, re.S)
    assert m, "the README's audit recipe"
    return m.group(1)


def test_audit_export_csv_neutralises_formulas_and_the_readme_recipe_still_verifies(
    run_cli, tmp_path
):
    home = tmp_path / "reg"
    reg = Registry(home)
    accept_model_file(reg, write_joblib(tmp_path / "a.joblib"), name="=1+2")
    accept_model_file(reg, write_joblib(tmp_path / "b.joblib", C=2.0), name="+cmd")
    reg.record_event("test.note", "file", "-rm", reason="+danger")
    head = reg.verify_audit().head_hash
    reg.close()
    out = tmp_path / "audit.csv"
    r = run_cli("audit", "export", "-o", str(out), "--registry", str(home))
    assert r.returncode == 0, r.stderr
    with open(out, encoding="utf-8", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert not [c for c in cells if c.startswith("-") and not re.fullmatch(r"-[\d.]+", c)]
    assert "'=1+2:1" in cells and "'-rm" in cells and "'+danger" in cells
    # The auditor's own script from the README undoes the prefix and verifies the chain.
    scope: dict[str, object] = {"__name__": "recipe"}
    exec(_readme_recipe(), scope)
    assert scope["verify"](str(out)) == head  # type: ignore[operator]


def test_monitoring_chart_csv_neutralises_text_cells(tmp_path):
    from modelward.core.monitoring.snapshot import write_csv

    path = tmp_path / "chart.csv"
    write_csv(path, ["bin", "category"], [[0, "=cmd|' /C calc'!A0"], [1, "-0.5"], [2, "ok"]])
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    assert rows[2][1] == "-0.5" and rows[3][1] == "ok"


# ----------------------------------------------------------------------------- crash leftovers
SLOW_WRITER = textwrap.dedent(
    """
    import sys
    from modelward.core.artifacts.store import ArtifactStore

    class Stalled:
        def readinto(self, buf):
            print("WRITING", flush=True)
            sys.stdin.readline()  # never answered: the write stays open until killed
            return 0

    ArtifactStore(sys.argv[1]).put_file_new(Stalled(), 10)
    """
)


@posix_only
def test_temp_file_of_a_live_writer_is_kept_and_of_a_killed_one_removed(tmp_path):
    home = tmp_path / "reg"
    Registry(home).close()
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(home / "artifacts")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_child_env(),
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "WRITING"
        made = _temp_entries(home)
        assert len(made) == 1 and f"-{child.pid}-" in made[0]
        reg = Registry(home)  # a start while the writer lives: its file is not touched
        assert reg.leftovers["temp_files"] == []
        assert _temp_entries(home) == made
        reg.close()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert _temp_entries(home) == made  # the crash left it
    reg = Registry(home)  # the next start removes it
    assert reg.leftovers["temp_files"] == made
    assert _temp_entries(home) == []


LOG_LOOP = textwrap.dedent(
    """
    import sys
    from sklearn.linear_model import LogisticRegression
    from modelward import api
    from modelward.core.registry import Registry
    home, start = sys.argv[1], int(sys.argv[2])
    reg = Registry(home)
    i = start
    while True:
        v = api.log_model(LogisticRegression(C=1.0 + i), "loop", registry=reg)
        print(f"ACK {v.version} {v.sha256}", flush=True)
        i += 1
    """
)


@posix_only
def test_sigkilled_log_model_loop_leaves_nothing_after_the_next_start_and_repair(run_cli, tmp_path):
    home = tmp_path / "reg"
    rng = random.Random(20261204)
    acked: dict[int, str] = {}
    start = 0
    for _round in range(8):
        child = subprocess.Popen(
            [sys.executable, "-c", LOG_LOOP, str(home), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=_child_env(),
        )
        assert child.stdout is not None
        for _ in range(rng.randint(1, 3)):
            line = child.stdout.readline()
            assert line.startswith("ACK"), line
            _, number, sha = line.split()
            acked[int(number)] = sha
            start += 1
        time.sleep(rng.random() * 0.3)  # a random moment of the next registration
        child.send_signal(signal.SIGKILL)
        child.wait()
        start += 1
    # One orphan for certain, as a kill between storing and recording leaves it.
    reg = Registry(home)
    stray, _ = reg.artifacts.put_bytes(b"stored, never recorded")
    reg.close()

    r = run_cli("verify", "--registry", str(home), "--json")  # the next start
    assert r.returncode == 0, r.stderr
    assert _temp_entries(home) == []
    listed = {u["sha256"] for u in json.loads(r.stdout)["recent"]}
    assert stray in listed  # unreferenced, young: listed, kept

    r = run_cli("verify", "--repair", "--min-age", "0", "--registry", str(home))
    assert r.returncode == 0, r.stderr
    assert "removed" in r.stdout and "(audited)" in r.stdout
    r = run_cli("verify", "--registry", str(home), "--json", "--min-age", "0")
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["unreferenced"] == [] and doc["recent"] == []

    reg = Registry(home)
    versions = {v.version: v for v in reg.list_versions("loop")}
    for number, sha in acked.items():  # every acknowledged version is there, intact
        assert versions[number].sha256 == sha
        reg.artifacts.verify(sha)
    removed = reg.audit_events(limit=None, action="artifacts.removed")
    assert len(removed) == 1 and stray in removed[0].before["unreferenced"]
    assert reg.verify_audit().ok
    assert _temp_entries(home) == []


def test_verify_repair_keeps_young_and_referenced_artifacts(tmp_path):
    reg = Registry(tmp_path / "reg")
    v = accept_model_file(reg, write_joblib(tmp_path / "a.joblib"), name="m").version
    assert v is not None
    young, _ = reg.artifacts.put_bytes(b"young")
    old, _ = reg.artifacts.put_bytes(b"old")
    past = time.time() - 3600
    os.utime(reg.artifacts.path_for(old), (past, past))
    res = verify_registry(reg)
    assert [u["sha256"] for u in res["unreferenced"]] == [old]
    assert [u["sha256"] for u in res["recent"]] == [young]
    res = verify_registry(reg, repair=True)
    assert res["removed"] == [old]
    assert reg.artifacts.has(young) and reg.artifacts.has(v.sha256) and not reg.artifacts.has(old)
    assert verify_registry(reg, repair=True)["removed"] == []  # nothing more: no second event
    assert len(reg.audit_events(limit=None, action="artifacts.removed")) == 1


RUN_OWNER = textwrap.dedent(
    """
    import sys
    from modelward.core.registry import Registry
    reg = Registry(sys.argv[1])
    print(reg.create_run("train", params={"name": "x"}), flush=True)
    reg.close()
    sys.stdin.readline()  # at work until killed
    """
)


@posix_only
def test_a_run_left_running_by_a_killed_process_is_closed_as_interrupted(tmp_path):
    home = tmp_path / "reg"
    child = subprocess.Popen(
        [sys.executable, "-c", RUN_OWNER, str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_child_env(),
    )
    try:
        assert child.stdout is not None
        run_id = int(child.stdout.readline())
        reg = Registry(home)  # its owner lives: the run stays running
        assert reg.leftovers["interrupted_runs"] == []
        with reg.read() as cur:
            assert cur.execute("SELECT status FROM runs WHERE id = ?", [run_id]).fetchall() == [
                ("running",)
            ]
        reg.close()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    reg = Registry(home)
    assert reg.leftovers["interrupted_runs"] == [run_id]
    with reg.read() as cur:
        status, error = cur.execute(
            "SELECT status, error FROM runs WHERE id = ?", [run_id]
        ).fetchall()[0]
    assert status == "interrupted" and str(child.pid) in error
    events = reg.audit_events(limit=None, action="run.interrupted")
    assert [e.entity_id for e in events] == [str(run_id)]
    assert reg.verify_audit().ok
    reg.close()
    assert Registry(home).leftovers["interrupted_runs"] == []  # once


def _scorer(reg: Registry) -> None:
    from modelward import api

    X = np.random.default_rng(0).normal(size=(50, 2))
    clf = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    api.log_model(clf, "scorer", registry=reg)
    with reg.transaction() as tx:
        tx.q("UPDATE versions SET signature = ? WHERE id = 1", ['{"feature_names": ["a", "b"]}'])


@posix_only
def test_watcher_killed_while_taking_a_large_csv_leaves_no_temp_file(run_cli, tmp_path):
    home = tmp_path / "reg"
    reg = Registry(home)
    _scorer(reg)
    reg.close()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.write(b"a,b\n")
        f.write(b"1.5,30.25\n" * 6_000_000)  # ~60 MB
    proc = start_watch(
        "--data", str(inbox), "--model", "scorer", "--registry", str(home),
        stderr=subprocess.STDOUT, env=_child_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert opening_lines(proc) == ["started", "watching 1 folder"]
        os.rename(big, inbox / "big.csv")
        _wait(lambda: _temp_entries(home), 120, "the watcher to start taking the file")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _temp_entries(home)  # the kill left its temporary copy behind
    r = run_cli("list", "--registry", str(home))  # the next start
    assert r.returncode == 0, r.stderr
    assert _temp_entries(home) == []


# ----------------------------------------------------------------------------- silent skips
@posix_only
def test_links_in_a_watched_folder_get_an_ignored_verdict_once(tmp_path):
    reg = Registry(tmp_path / "reg", idle_release=0.2)
    inbox = tmp_path / "inbox"
    add_folder(reg, inbox, MODELS, model_name="credit")
    outside = write_joblib(tmp_path / "outside.joblib")
    write_joblib(inbox / "real.joblib", C=3.0)
    os.symlink(outside, inbox / "out.joblib")
    os.symlink(inbox / "loop-a", inbox / "loop-b")
    os.symlink(inbox / "loop-b", inbox / "loop-a")
    os.symlink(tmp_path / "missing.joblib", inbox / "dangling.joblib")
    os.symlink(inbox / "real.joblib", inbox / "inside.joblib")
    events: list = []
    w = FolderWatcher(reg, settle=0.2, rescan_interval=0.3, on_event=events.append)
    w.start()
    try:
        assert w.wait_for(lambda r: len(r) >= 6, 60)
        assert not w.wait_for(lambda r: len(r) >= 7, 1.0)  # one verdict each, not repeated
    finally:
        w.stop()
    by_name = {Path(r.path).name: r for r in w.results}
    assert by_name["real.joblib"].status == "registered"
    links = ["out.joblib", "loop-a", "loop-b", "dangling.joblib", "inside.joblib"]
    assert {n: by_name[n].status for n in links} == dict.fromkeys(links, "ignored")
    assert "leaving the watched folder" in by_name["out.joblib"].detail
    assert "loops" in by_name["loop-a"].detail
    assert "does not exist" in by_name["dangling.joblib"].detail
    assert "not followed" in by_name["inside.joblib"].detail
    assert sorted(Path(e.path).name for e in events if e.kind == "ignored") == sorted(links)
    rejected = reg.audit_events(limit=None, action="ingest.rejected")
    assert sorted(Path(e.entity_id).name for e in rejected) == sorted(links)
    assert all(e.after["verdict"] == "ignored" and e.reason for e in rejected)
    assert len(reg.list_versions("credit")) == 1  # the outside file was never read
    # A restart gives no second verdict.
    again = FolderWatcher(reg)
    assert again.run_once() == []
    assert len(reg.audit_events(limit=None, action="ingest.rejected")) == len(links)


@posix_only
def test_watch_cli_prints_a_line_for_a_link(tmp_path):
    home = tmp_path / "reg"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    os.symlink(tmp_path / "nowhere\u202egpj.joblib", inbox / "link\u202e.joblib")
    proc = start_watch(
        "--models", str(inbox), "--registry", str(home), stderr=subprocess.STDOUT, env=_child_env()
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not any(x.startswith("ignored") for x in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    line = next(x for x in lines if x.startswith("ignored"))
    assert "not followed" in line and "\\u202e" in line and "\u202e" not in line


def test_a_byte_identical_duplicate_in_an_inbox_is_audited(tmp_path):
    reg = Registry(tmp_path / "reg", idle_release=0.2)
    inbox = tmp_path / "inbox"
    add_folder(reg, inbox, MODELS, model_name="credit")
    w = FolderWatcher(reg, settle=0.2, rescan_interval=0.3)
    w.start()
    try:
        write_joblib(inbox / "a.joblib")
        assert w.wait_for(lambda r: len(r) >= 1, 60)
        shutil.copyfile(inbox / "a.joblib", inbox / "copy of a.joblib")
        assert w.wait_for(lambda r: len(r) >= 2, 60)
    finally:
        w.stop()
    assert [r.status for r in w.results] == ["registered", "duplicate"]
    dup = reg.audit_events(limit=None, action="ingest.duplicate")
    assert len(dup) == 1
    assert dup[0].after["duplicate_of"] == "credit:1"
    assert dup[0].after["source"].endswith("copy of a.joblib")
    assert len(reg.list_versions("credit")) == 1


def test_a_duplicate_batch_in_a_data_inbox_is_audited(tmp_path):
    reg = Registry(tmp_path / "reg", idle_release=0.2)
    _scorer(reg)
    inbox = tmp_path / "batches"
    add_folder(reg, inbox, DATA, model_name="scorer")
    w = FolderWatcher(reg, settle=0.2, rescan_interval=0.3)
    w.start()
    try:
        (inbox / "one.csv").write_text("a,b\n1.0,2.0\n3.0,4.0\n")
        assert w.wait_for(lambda r: len(r) >= 1, 60)
        shutil.copyfile(inbox / "one.csv", inbox / "two.csv")
        assert w.wait_for(lambda r: len(r) >= 2, 60)
    finally:
        w.stop()
    dup = reg.audit_events(limit=None, action="ingest.duplicate")
    assert len(dup) == 1 and dup[0].entity_type == "dataset"
    assert dup[0].after["source"].endswith("two.csv")


def test_a_refused_bundle_is_audited_and_quarantined(tmp_path):
    from modelward.core.evidence.bundles import import_bundle

    reg = Registry(tmp_path / "reg")
    bad = tmp_path / "broken.mwbundle"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(ArchiveRefused) as e:
        import_bundle(reg, bad)
    events = reg.audit_events(limit=None, action="ingest.rejected")
    assert len(events) == 1
    assert events[0].entity_id == str(bad) and events[0].reason == str(e.value)
    assert events[0].after["sha256"]
    assert list(reg.quarantine_dir.glob("*.bin"))


@posix_only
def test_process_alive_tells_live_dead_and_zombie_processes_apart():
    from modelward.core import platform

    assert platform.process_alive(os.getpid())
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.readline()"], stdin=subprocess.PIPE
    )
    try:
        assert platform.process_alive(child.pid)
        child.send_signal(signal.SIGKILL)
        _wait(lambda: not platform.process_alive(child.pid), 30, "the zombie to count as gone")
    finally:
        child.kill()
        child.wait()
    assert not platform.process_alive(child.pid)
    assert not platform.process_alive(0) and not platform.process_alive(-1)
    assert re.fullmatch(r"[0-9a-f]{8}", platform.host_tag())
