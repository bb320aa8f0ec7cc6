"""Getting things in fast: group commit, bursts in a data inbox, many files per call, warm sandbox."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelward import api
from modelward.core.artifacts.sandbox import Sandbox, server_address
from modelward.core.errors import RegistryError
from modelward.core.registry import Registry
from modelward.core.registry.tx import GroupRolledBack
from modelward.core.watch import DATA, FolderWatcher, add_folder
from support.models import write_joblib


def _events(reg: Registry, action: str) -> int:
    return len(reg.audit_events(action=action))


# --------------------------------------------------------------------------- group commit
def test_a_group_is_one_transaction_that_sees_its_own_writes(tmp_path):
    reg = Registry(tmp_path / "reg")
    other = Registry(tmp_path / "reg")  # another connection: sees only what was committed
    before = _events(reg, "test.grouped")
    with reg.group() as g:
        for i in range(5):
            with reg.transaction() as tx:
                reg.ensure_model(tx, f"grouped-{i}")
                tx.audit("test.grouped", "test", i)
        # Reads on this thread go through the group and see its writes (its audit
        # events are written once, with the group's state delta, at the commit) …
        with reg.read() as cur:
            sql = "SELECT count(*) FROM models WHERE name LIKE 'grouped-%'"
            assert cur.execute(sql).fetchone()[0] == 5
        assert g.joined == 5
    # … and after the one commit everyone does.
    assert _events(other, "test.grouped") == before + 5
    assert reg.verify_audit().ok


def test_a_failing_member_rolls_the_whole_group_back(tmp_path):
    reg = Registry(tmp_path / "reg")
    before = _events(reg, "test.grouped")
    with pytest.raises(GroupRolledBack):
        with reg.group():
            reg.record_event("test.grouped", "test", 1)
            try:
                with reg.transaction() as tx:
                    tx.audit("test.grouped", "test", 2)
                    raise RegistryError("disk trouble")  # the member fails half-way
            except RegistryError:
                pass  # a caller that goes on: the group still must not commit
            reg.record_event("test.grouped", "test", 3)
    assert _events(reg, "test.grouped") == before
    assert reg.verify_audit().ok
    # The registry is usable afterwards, one by one.
    reg.record_event("test.grouped", "test", 4)
    assert _events(reg, "test.grouped") == before + 1


def test_log_model_inside_a_group_shares_one_commit(tmp_path):
    reg = Registry(tmp_path / "reg")
    X = np.random.default_rng(0).normal(size=(40, 3))
    clf = LogisticRegression().fit(X, X[:, 0] > 0)
    with reg.group():
        refs = [
            api.log_model(clf, f"m{i}", metrics={"auc": i / 10}, registry=reg).ref for i in range(4)
        ]
    assert refs == ["m0:1", "m1:1", "m2:1", "m3:1"]
    assert Registry(tmp_path / "reg").resolve("m3").metrics == {"auc": 0.3}


def test_a_registration_commits_only_once_its_bytes_are_on_disk(tmp_path, monkeypatch):
    """``log_model`` flushes the artifact on a thread while its statements run; the
    commit waits for that flush, so a flush that fails records nothing."""
    from modelward.core.artifacts.store import ArtifactStore
    from modelward.core.errors import RegistryUnwritable

    reg = Registry(tmp_path / "reg")
    X = np.random.default_rng(0).normal(size=(40, 3))
    clf = LogisticRegression().fit(X, X[:, 0] > 0)

    def failing(self, digests):  # a disk that fails the fsync: not causable otherwise
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ArtifactStore, "flush", failing)
    with pytest.raises(RegistryUnwritable, match="artifact store .*Input/output error"):
        api.log_model(clf, "m", metrics={"auc": 0.5}, registry=reg)
    assert api.list_models(registry=reg) == []
    assert _events(reg, "version.registered") == 0
    monkeypatch.undo()
    v = api.log_model(clf, "m", metrics={"auc": 0.5}, registry=reg)
    assert (v.ref, v.metrics) == ("m:1", {"auc": 0.5})
    assert reg.artifacts.read_bytes(v.sha256)  # its bytes are there, and match their digest
    assert reg.verify_audit().ok


def test_where_a_closed_file_cannot_be_flushed_by_path_the_store_flushes_it_first(
    tmp_path, monkeypatch
):
    """Windows flushes only through a handle that may write (a stored file is read-only):
    there a registration's artifact is flushed by its writer, never by its path later."""
    from modelward.core import platform

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("names a descriptor's file through /proc")
    flushed_by_writer: list[str] = []
    fsync = os.fsync

    def writer_fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):  # a file, not a folder's entry
            flushed_by_writer.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    def by_path(path):
        raise AssertionError(f"{path} was flushed by its path")

    monkeypatch.setattr(platform, "READ_ONLY_FLUSHABLE", False)
    monkeypatch.setattr(platform, "fsync_file", by_path)
    reg = Registry(tmp_path / "reg")
    X = np.random.default_rng(0).normal(size=(40, 3))
    monkeypatch.setattr(os, "fsync", writer_fsync)
    v = api.log_model(LogisticRegression().fit(X, X[:, 0] > 0), "m", registry=reg)
    monkeypatch.undo()
    assert v.ref == "m:1"
    store = str(reg.artifacts.root)
    assert any(p.startswith(store) for p in flushed_by_writer), flushed_by_writer
    assert reg.verify_audit().ok


def test_resolve_by_name_matches_every_form(tmp_path):
    reg = Registry(tmp_path / "reg")
    X = np.random.default_rng(0).normal(size=(40, 3))
    for c in (1.0, 2.0):
        api.log_model(
            LogisticRegression(C=c).fit(X, X[:, 0] > 0), "m", metrics={"auc": c / 4}, registry=reg
        )
    reg.set_alias("m:1", "champion", "first")
    reg.set_alias("m:1", "backup", "also")
    v = reg.resolve("m@champion")
    assert (v.version, v.metrics, v.aliases) == (1, {"auc": 0.25}, ("backup", "champion"))
    assert reg.resolve("m").version == 2
    assert reg.resolve("m:2").aliases == ()
    from modelward.core.errors import NotFound

    for ref, msg in (("nope", "no model named"), ("m:9", "no version 9"), ("m@gone", "no alias")):
        with pytest.raises(NotFound, match=msg):
            reg.resolve(ref)


# --------------------------------------------------------------------------- data burst
def _scorer(reg: Registry) -> None:
    X = pd.DataFrame(
        np.random.default_rng(0).normal(size=(60, 3)), columns=["age", "income", "debt_ratio"]
    )
    api.log_model(LogisticRegression().fit(X, X["age"] > 0), "scorer", X=X, registry=reg)


def _batch(path: Path, seed: int, bad: bool = False) -> None:
    rng = np.random.default_rng(seed)
    head = "age,income,height" if bad else "age,income,debt_ratio"
    rows = [",".join(f"{v:.4f}" for v in r) for r in rng.normal(size=(5, 3))]
    path.write_text("\n".join([head, *rows]) + "\n")


def test_a_burst_in_a_data_inbox_is_taken_in_groups_exactly_once(tmp_path):
    reg = Registry(tmp_path / "reg", idle_release=0.2)
    _scorer(reg)
    inbox = tmp_path / "inbox"
    add_folder(reg, inbox, DATA, model_name="scorer")
    staging = tmp_path / "staging"
    staging.mkdir()
    n = 60
    for i in range(n):
        _batch(staging / f"b{i:03d}.csv", i, bad=(i % 20 == 7))
    commits: list[int] = []
    real_group = reg.group

    def counting_group():
        commits.append(1)
        return real_group()

    reg.group = counting_group  # type: ignore[method-assign]
    w = FolderWatcher(reg, settle=0.2, rescan_interval=0.5, group_seconds=30)
    w.start()
    try:
        for p in sorted(staging.iterdir()):
            os.replace(p, inbox / p.name)
        assert w.wait_for(lambda r: len(r) >= n, 120)
    finally:
        w.stop()
    statuses = [r.status for r in w.results]
    assert statuses.count("registered") == n - 3 and statuses.count("rejected") == 3
    assert len(commits) < n // 2  # many files per commit
    with reg.read() as cur:
        assert (
            cur.execute("SELECT count(*) FROM datasets WHERE role = 'batch'").fetchone()[0] == n - 3
        )
        assert cur.execute("SELECT count(*) FROM ingested_files").fetchone()[0] == n
    assert _events(reg, "ingest.rejected") == 3
    assert reg.verify_audit().ok
    # A restart takes nothing twice.
    w2 = FolderWatcher(reg, settle=0.2, rescan_interval=60)
    assert w2.run_once() == []


def test_a_group_that_fails_is_taken_again_file_by_file(tmp_path, monkeypatch):
    reg = Registry(tmp_path / "reg", idle_release=0.2)
    _scorer(reg)
    inbox = tmp_path / "inbox"
    add_folder(reg, inbox, DATA, model_name="scorer")
    for i in range(6):
        _batch(inbox / f"b{i}.csv", i)
    import modelward.core.watch.ingest as ingest

    real = ingest._record
    failed: list[str] = []

    def flaky(registry, folder, path, *a, **kw):
        if path.endswith("b3.csv") and not failed:
            failed.append(path)
            with registry.transaction():
                raise RegistryError("the registry could not save the change: simulated")
        return real(registry, folder, path, *a, **kw)

    monkeypatch.setattr(ingest, "_record", flaky)
    results = FolderWatcher(reg).run_once()
    assert failed
    assert sorted(r.status for r in results) == ["registered"] * 6
    with reg.read() as cur:
        assert cur.execute("SELECT count(*) FROM datasets").fetchone()[0] == 6
        assert cur.execute("SELECT count(DISTINCT path) FROM ingested_files").fetchone()[0] == 6
    assert reg.verify_audit().ok


# --------------------------------------------------------------------------- sandbox
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the session server is Linux-only")
def test_the_session_server_hands_out_workers_fast(tmp_path):
    assert server_address() is not None
    with Sandbox(max_workers=1) as sb:
        sb.warm_up()  # starts the server if it is not running yet
        assert sb.inspect(write_joblib(tmp_path / "a.joblib"), fmt="joblib")["status"] == "ok"
    t = time.monotonic()
    with Sandbox(max_workers=1) as sb:  # a new process's sandbox: a fork of the server
        sb.warm_up()
        took = time.monotonic() - t
        assert (
            sb.inspect(write_joblib(tmp_path / "b.joblib", seed=2), fmt="joblib")["status"] == "ok"
        )
    assert took < 1.0, took


def test_watch_start_warms_the_sandbox(tmp_path):
    from modelward.core.artifacts import sandbox as sbm
    from modelward.core.watch import MODELS

    sb = Sandbox(max_workers=1)
    prev = sbm.set_default_sandbox(sb)
    try:
        reg = Registry(tmp_path / "reg", idle_release=0.2)
        add_folder(reg, tmp_path / "models", MODELS)
        w = FolderWatcher(reg, settle=0.2, rescan_interval=60)
        w.start()
        try:
            deadline = time.monotonic() + 60
            while sb.workers_started == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sb.workers_started == 1  # before any file arrived
        finally:
            w.stop()
    finally:
        sbm.set_default_sandbox(prev)
        sb.close()


# --------------------------------------------------------------------------- register PATH...
def test_register_many_files_and_a_folder_in_one_call(tmp_path, run_cli):
    reg = str(tmp_path / "reg")
    folder = tmp_path / "models"
    folder.mkdir()
    for i in range(4):
        write_joblib(folder / f"credit risk {i}.joblib", seed=i)
    (folder / "junk.pkl").write_bytes(b"this is no model")
    (folder / "~$lock.tmp").write_bytes(b"scratch")  # temporary names are skipped
    single = write_joblib(tmp_path / "single.joblib", seed=9)
    r = run_cli(
        "register",
        str(folder),
        str(single),
        str(tmp_path / "missing.joblib"),
        "--registry",
        reg,
        "--json",
    )
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    doc = json.loads(r.stdout)
    assert (doc["registered"], doc["refused"], doc["error"], doc["ok"]) == (5, 1, 1, False)
    refs = sorted(f["ref"] for f in doc["files"] if f["status"] == "registered")
    assert refs == [
        "credit-risk-0:1",
        "credit-risk-1:1",
        "credit-risk-2:1",
        "credit-risk-3:1",
        "single:1",
    ]
    text = run_cli("register", str(folder), "--registry", reg)
    assert text.returncode == 1
    refusals = [ln for ln in text.stderr.splitlines() if "junk.pkl" in ln]
    assert len(refusals) == 1 and refusals[0].startswith("refused: ")
    assert "already registered as credit-risk-0:1" in text.stdout
    r = Registry(reg)
    assert [e.action for e in r.audit_events(action="ingest.rejected")] == ["ingest.rejected"] * 2
    assert r.verify_audit().ok
    ok = run_cli("register", str(single), "--registry", reg)  # one file, no --name
    assert ok.returncode == 0 and "already registered as single:1" in ok.stdout
    both = run_cli("register", str(single), str(folder), "--name", "x", "--registry", reg)
    assert both.returncode != 0 and "--name names the model of one file" in both.stderr


def test_resolve_in_a_group_is_remembered_until_the_catalogue_changes(tmp_path):
    reg = Registry(tmp_path / "reg")
    X = np.random.default_rng(0).normal(size=(40, 3))
    api.log_model(LogisticRegression().fit(X, X[:, 0] > 0), "m", registry=reg)
    with reg.group():
        first = reg.resolve("m")
        assert reg.resolve("m") is first  # remembered
        reg.record_event("test.other", "test", 1)  # not the catalogue: still remembered
        assert reg.resolve("m") is first
        api.log_model(LogisticRegression(C=2.0).fit(X, X[:, 0] > 0), "m", registry=reg)
        assert reg.resolve("m").version == 2  # a new version: looked up again
        reg.set_alias("m:1", "champion", "first")
        assert reg.resolve("m:1").aliases == ("champion",)


# --------------------------------------------------------------------------- checks over a group
def test_a_group_looks_up_what_its_files_share_once(tmp_path, monkeypatch):
    import modelward.core.watch.ingest as ingest
    import modelward.core.watch.watcher as watcher

    reg = Registry(tmp_path / "reg", idle_release=0.2)
    _scorer(reg)
    inbox = tmp_path / "inbox"
    add_folder(reg, inbox, DATA, model_name="scorer")
    n = 8
    for i in range(n):
        _batch(inbox / f"b{i}.csv", i, bad=(i == 5))
    contexts: list[str] = []
    lookups: list[int] = []
    real_context, real_taken = ingest.model_context, watcher.taken_digests

    def counting_context(registry, name):
        contexts.append(name)
        return real_context(registry, name)

    def counting_taken(registry, files):
        lookups.append(len(files))
        return real_taken(registry, files)

    monkeypatch.setattr(ingest, "model_context", counting_context)
    monkeypatch.setattr(watcher, "taken_digests", counting_taken)
    first = FolderWatcher(reg, group_seconds=600).run_once()
    assert sorted(r.status for r in first) == ["registered"] * (n - 1) + ["rejected"]
    assert contexts == ["scorer"] and lookups == [n]  # once for the group, not once per file
    assert _events(reg, "ingest.rejected") == 1
    # The same bytes at the same paths, touched: seen from the group's one lookup, nothing new.
    for p in inbox.iterdir():
        os.utime(p, (1_000_000_000, 1_000_000_000))
    again = FolderWatcher(reg, group_seconds=600).run_once()
    assert [r.status for r in again] == ["duplicate"] * n and lookups == [n, n]
    with reg.read() as cur:
        assert cur.execute("SELECT count(*) FROM ingested_files").fetchone()[0] == n
        assert cur.execute("SELECT count(*) FROM datasets").fetchone()[0] == n - 1
    assert _events(reg, "ingest.rejected") == 1
    assert reg.verify_audit().ok


def test_a_batch_is_opened_once_for_its_checks_and_the_champion_check(tmp_path, monkeypatch):
    import modelward.core.monitoring.source as source
    import modelward.core.tables as tables
    from modelward.core.intake import accept_batch

    reg = Registry(tmp_path / "reg", idle_release=0.2)
    _scorer(reg)
    reg.set_alias("scorer:1", "champion", "first")
    from modelward.core.monitoring.service import profile_version

    rng = np.random.default_rng(3)
    reference = {c: rng.normal(size=300) for c in ("age", "income", "debt_ratio")}
    profile_version(reg, "scorer@champion", reference)
    opened: list[str] = []
    real = tables.open_table

    def counting(path, **kw):
        opened.append(Path(path).name)
        return real(path, **kw)

    monkeypatch.setattr(tables, "open_table", counting)
    monkeypatch.setattr(source, "open_table", counting)
    import modelward.core.intake.checks as checks

    monkeypatch.setattr(checks, "open_table", counting)
    _batch(tmp_path / "b.csv", 1)
    res = accept_batch(reg, tmp_path / "b.csv", model_name="scorer")
    assert res.status == "accepted" and res.monitoring is not None
    assert res.monitoring["batch_id"] is not None  # the champion check ran
    assert opened == ["b.csv"]
