"""Real watchdog observers on real folders under tmp_path."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
from sklearn.linear_model import LogisticRegression

from modelward.core.registry import Registry
from modelward.core.watch import DATA, MODELS, FolderWatcher, add_folder, list_folders, set_paused
from modelward.core.watch.folders import display_name
from modelward.core.watch.ingest import is_temporary
from support.models import write_joblib
from support.watch_cli import opening_lines, start_watch


def _model_bytes(i: int) -> bytes:
    import io

    buf = io.BytesIO()
    joblib.dump(LogisticRegression(C=1.0 + i), buf)
    return buf.getvalue()


def _statuses(w: FolderWatcher) -> list[str]:
    return [r.status for r in w.results]


@pytest.fixture
def watched(tmp_path):
    """A registry, a models inbox and a running watcher; stopped at teardown."""
    made: list[FolderWatcher] = []

    def make(kind=MODELS, model_name="credit", polling=False, settle=0.3, start=True, **kw):
        reg = Registry(tmp_path / "reg", idle_release=0.2)
        inbox = tmp_path / f"inbox-{kind}"
        folder = add_folder(reg, inbox, kind, model_name=model_name, polling=polling)
        w = FolderWatcher(reg, settle=settle, rescan_interval=kw.pop("rescan", 0.5), **kw)
        made.append(w)
        if start:
            w.start()
        return reg, inbox, folder, w

    yield make
    for w in made:
        w.stop()
        assert not w.running


def test_write_close_is_taken_once(watched):
    reg, inbox, _, w = watched(rescan=60)
    write_joblib(inbox / "model.joblib")
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    assert _statuses(w) == ["registered"]
    assert reg.resolve("credit:1").lineage["inbox"] == str(inbox)
    # Many more events for the same bytes (touch, rescans) take nothing new.
    os.utime(inbox / "model.joblib")
    w.rescan()
    assert not w.wait_for(lambda r: len(r) >= 2 and r[-1].status == "registered", 2)
    assert len(reg.list_versions("credit")) == 1


def test_slow_partial_write_is_taken_once_after_it_completes(watched):
    reg, inbox, _, w = watched(settle=0.3, rescan=0.3)
    data = _model_bytes(1)
    with open(inbox / "slow.joblib", "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        # The half-written file stays untouched for several settle periods and
        # rescans: the writer still has it open, so it is not taken.
        assert not w.wait_for(lambda r: len(r) >= 1, 2.0)
        f.write(data[len(data) // 2 :])
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    assert _statuses(w) == ["registered"]
    v = reg.resolve("credit")
    assert reg.artifacts.path_for(v.sha256).read_bytes() == data


def test_atomic_rename_save(watched, tmp_path):
    reg, inbox, _, w = watched(rescan=60)
    tmp = inbox / ".model.joblib.tmp"  # an editor's scratch name: ignored
    tmp.write_bytes(_model_bytes(2))
    os.replace(tmp, inbox / "model.joblib")
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    assert _statuses(w) == ["registered"]
    assert len(reg.list_versions("credit")) == 1


def test_file_moved_in_from_elsewhere(watched, tmp_path):
    reg, inbox, _, w = watched(rescan=60)
    outside = tmp_path / "outside.joblib"
    outside.write_bytes(_model_bytes(3))
    shutil.move(outside, inbox / "moved.joblib")
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    assert _statuses(w) == ["registered"]


def test_file_renamed_in_from_elsewhere_is_taken_without_settling(watched, tmp_path):
    # A rename delivers the whole file at once: it must not wait the settle
    # time (here far longer than the wait below), nor for a rescan.
    reg, inbox, _, w = watched(settle=600, rescan=600)
    outside = tmp_path / "outside.joblib"
    outside.write_bytes(_model_bytes(6))
    os.replace(outside, inbox / "renamed.joblib")
    assert w.wait_for(lambda r: len(r) >= 1, 120)
    assert _statuses(w) == ["registered"]


def test_changed_bytes_at_a_known_path_are_a_new_version(watched):
    reg, inbox, _, w = watched(rescan=60)
    (inbox / "m.joblib").write_bytes(_model_bytes(4))
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    (inbox / "m.joblib").write_bytes(_model_bytes(5))
    assert w.wait_for(lambda r: len(r) >= 2, 60)
    assert [v.version for v in reg.list_versions("credit")] == [1, 2]


def test_burst_all_registered(watched, tmp_path):
    reg, inbox, _, w = watched(rescan=1.0)
    n = 150
    staging = tmp_path / "staging"
    staging.mkdir()
    for i in range(n):
        (staging / f"m{i:04d}.joblib").write_bytes(_model_bytes(100 + i))
    for p in sorted(staging.iterdir()):
        os.replace(p, inbox / p.name)
    assert w.wait_for(lambda r: sum(x.status == "registered" for x in r) >= n, 240)
    assert len(reg.list_versions("credit")) == n
    assert reg.verify_audit().ok


def test_files_added_while_stopped_are_taken_at_restart(watched, tmp_path):
    reg, inbox, folder, w = watched(rescan=60)
    write_joblib(inbox / "a.joblib", seed=1)
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    w.stop()
    (inbox / "b.joblib").write_bytes(_model_bytes(6))
    (inbox / "c.joblib").write_bytes(_model_bytes(7))
    again = FolderWatcher(reg, settle=0.3, rescan_interval=60)
    again.start()
    try:
        assert again.wait_for(lambda r: len(r) >= 2, 60)
        assert sorted(Path(r.path).name for r in again.results) == ["b.joblib", "c.joblib"]
        assert len(reg.list_versions("credit")) == 3  # a.joblib was not taken twice
    finally:
        again.stop()


def test_polling_mode(watched):
    reg, inbox, _, w = watched(polling=True, settle=0.3, rescan=60)
    (inbox / "p.joblib").write_bytes(_model_bytes(8))
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    assert _statuses(w) == ["registered"]


def test_folder_removed_and_recreated(watched):
    events = []
    reg, inbox, _, w = watched(rescan=0.2, on_event=events.append)
    write_joblib(inbox / "a.joblib", seed=1)
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    shutil.rmtree(inbox)
    assert w.wait_for(lambda r: any(e.kind == "folder-missing" for e in events), 60)
    inbox.mkdir()
    (inbox / "b.joblib").write_bytes(_model_bytes(9))
    assert w.wait_for(lambda r: len(r) >= 2, 60)
    assert any(e.kind == "folder-back" for e in events)
    assert len(reg.list_versions("credit")) == 2


def test_hostile_file_is_quarantined_and_watcher_goes_on(watched):
    reg, inbox, _, w = watched(rescan=60)
    (inbox / "junk.joblib").write_bytes(b"\x00" * 300)
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    assert _statuses(w) == ["rejected"]
    assert any(p.suffix == ".txt" for p in reg.quarantine_dir.iterdir())
    write_joblib(inbox / "good.joblib")
    assert w.wait_for(lambda r: len(r) >= 2, 60)
    assert _statuses(w) == ["rejected", "registered"]
    assert [e.action for e in reg.audit_events(action="ingest.rejected")] == ["ingest.rejected"]


def test_hostile_names_links_and_loops(watched, tmp_path):
    reg, inbox, _, w = watched(rescan=0.3, start=False)
    (tmp_path / "secret.joblib").write_bytes(_model_bytes(10))
    os.symlink(tmp_path / "secret.joblib", inbox / "link-out.joblib")
    os.symlink(inbox, inbox / "loop")
    evil = "model\nFAKE LOG LINE \u202egnp.joblib"
    (inbox / evil).write_bytes(_model_bytes(11))
    (inbox / ("x" * 240 + ".joblib")).write_bytes(_model_bytes(12))
    w.start()
    assert w.wait_for(lambda r: len(r) >= 4, 60)
    assert not w.wait_for(lambda r: len(r) >= 5, 1.5)  # each link: one verdict, never taken
    names = sorted(Path(r.path).name for r in w.results if r.status == "registered")
    assert names == sorted([evil, "x" * 240 + ".joblib"])
    ignored = sorted(Path(r.path).name for r in w.results if r.status == "ignored")
    assert ignored == ["link-out.joblib", "loop"]
    shown = display_name(evil)
    assert "\n" not in shown
    assert "\u202e" not in shown
    assert "\\u000a" in shown


def test_temporary_names_are_ignored():
    for name in ["~$report.xlsx", ".hidden", "a.tmp", "b.part", "c.crdownload", "x.joblib~"]:
        assert is_temporary(name), name
    assert not is_temporary("model.joblib")


def test_data_batch_with_wrong_schema_is_quarantined(tmp_path):
    from modelward import api

    reg = Registry(tmp_path / "reg", idle_release=0.2)
    import numpy as np

    X = np.random.default_rng(0).normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    api.log_model(clf, "scorer", registry=reg)
    reg.record_event("test.setup", "test", "features")  # keep the chain busy
    with reg.transaction() as tx:  # the model was trained on named features
        tx.q(
            "UPDATE versions SET signature = ? WHERE id = 1",
            ['{"feature_names": ["income", "age"]}'],
        )
    inbox = tmp_path / "batches"
    add_folder(reg, inbox, DATA, model_name="scorer")
    w = FolderWatcher(reg, settle=0.3, rescan_interval=60)
    w.start()
    try:
        (inbox / "good.csv").write_text("income,age,label\n1.0,30,1\n2.0,40,0\n")
        (inbox / "bad.csv").write_text("income,height\n1.0,180\n")
        assert w.wait_for(lambda r: len(r) >= 2, 60)
        by_name = {Path(r.path).name: r for r in w.results}
        assert by_name["good.csv"].status == "registered"
        assert by_name["bad.csv"].status == "rejected"
        assert "age" in by_name["bad.csv"].detail
    finally:
        w.stop()
    assert [e.action for e in reg.audit_events(action="ingest.rejected")] == ["ingest.rejected"]
    assert reg.verify_audit().ok


def test_paused_folders_are_not_watched(tmp_path):
    reg = Registry(tmp_path / "reg")
    f = add_folder(reg, tmp_path / "in", MODELS)
    set_paused(reg, f.id, True)
    assert list_folders(reg)[0].paused
    w = FolderWatcher(reg)
    w.start()
    w.stop()
    assert w.status == {}


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_a_file_saved_as_soon_as_watch_says_watching_is_taken_at_once(tmp_path):
    """``watching`` is said once the folders are observed. It was printed before: a
    model saved at once was found only by the first scan, and taken after settling."""
    import time

    reg, inbox, stage = tmp_path / "reg", tmp_path / "inbox", tmp_path / "stage"
    stage.mkdir()
    write_joblib(stage / "m.joblib")
    proc = start_watch(
        "--models", str(inbox), "--model", "credit", "--registry", str(reg), "--settle", "60"
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("watching"):
                break
        os.replace(stage / "m.joblib", inbox / "m.joblib")  # an atomic save
        t0 = time.monotonic()
        for line in proc.stdout:
            if "m.joblib" in line:
                break
        # a rename is taken on its event; a file found by a scan waits 60 s to settle
        assert line.startswith("ingested") and time.monotonic() - t0 < 45, line
    finally:
        proc.kill()
        proc.communicate(timeout=30)


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_watch_cli_headless_and_other_commands_still_work(tmp_path):
    reg = tmp_path / "reg"
    inbox = tmp_path / "inbox"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelward",
            "watch",
            "--models",
            str(inbox),
            "--model",
            "credit",
            "--registry",
            str(reg),
            "--settle",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert opening_lines(proc) == ["started", "watching 1 folder"]
        write_joblib(inbox / "m.joblib")
        line = proc.stdout.readline()
        assert line.startswith("ingested"), line
        assert "credit:1" in line
        # The one-writer rule: the CLI gets in while the watcher runs.
        show = subprocess.run(
            [sys.executable, "-m", "modelward", "show", "credit:1", "--registry", str(reg)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert show.returncode == 0, show.stderr
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stopped" in out
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()


def test_data_inbox_runs_the_monitoring_checks(tmp_path):
    """A batch for a model with a profiled champion is checked; a type mismatch is rejected."""
    import numpy as np
    import pandas as pd

    from modelward import api
    from modelward.core.monitoring.series import batches, version_id_of
    from modelward.core.monitoring.service import profile_version

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"income": rng.normal(50, 10, 2000), "age": rng.normal(40, 8, 2000)})
    y = (ref["income"] > 50).astype(int)
    reg = Registry(tmp_path / "reg", idle_release=0.2)
    v = api.log_model(LogisticRegression().fit(ref, y), "scorer", X=ref, y=y, registry=reg)
    reg.set_alias(v.ref, "champion", "first")
    ref_csv = tmp_path / "reference.csv"
    ref.assign(label=y).to_csv(ref_csv, index=False)
    profile_version(reg, "scorer@champion", ref_csv, target="label")

    inbox = tmp_path / "batches"
    add_folder(reg, inbox, DATA, model_name="scorer")
    w = FolderWatcher(reg, settle=0.3, rescan_interval=60)
    w.start()
    try:
        same = ref.sample(1500, random_state=1)
        shifted = same.assign(income=same["income"] + 25)
        same.to_csv(inbox / "2026-01.csv", index=False)
        assert w.wait_for(lambda r: len(r) >= 1, 60)
        shifted.to_csv(inbox / "2026-02.csv", index=False)
        assert w.wait_for(lambda r: len(r) >= 2, 60)
        (inbox / "2026-03.csv").write_text("income,age\nhigh,40\nlow,30\n")
        assert w.wait_for(lambda r: len(r) >= 3, 60)
    finally:
        w.stop()
    by_name = {Path(r.path).name: r for r in w.results}
    assert "no dataset drift" in by_name["2026-01.csv"].detail
    assert "drift in" in by_name["2026-02.csv"].detail
    assert by_name["2026-03.csv"].status == "rejected"
    assert "income" in by_name["2026-03.csv"].detail
    series = batches(reg, version_id_of(reg, "scorer@champion"))
    assert list(series["drifted"]) == [False, True]


def test_watch_cli_prints_the_flags_of_an_ingested_batch(tmp_path):
    """The watcher's line for a batch says how many rows were flagged, and why, names made safe."""
    import numpy as np
    import pandas as pd

    from modelward import api
    from modelward.core.monitoring.service import profile_version

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"income": rng.uniform(20, 80, 2000), "age": rng.uniform(18, 80, 2000)})
    y = (ref["income"] > 50).astype(int)
    reg = Registry(tmp_path / "reg")
    v = api.log_model(LogisticRegression().fit(ref, y), "scorer", X=ref, y=y, registry=reg)
    reg.set_alias(v.ref, "champion", "first")
    ref.assign(label=y).to_csv(tmp_path / "reference.csv", index=False)
    profile_version(reg, "scorer@champion", tmp_path / "reference.csv", target="label")
    reg.close()
    batch = ref.head(1000).assign(label=y.head(1000))
    batch.loc[:9, "age"] = 500  # rows 1-10
    batch.loc[10:11, "label"] = 7  # rows 11-12
    src = tmp_path / "batch.csv"
    batch.to_csv(src, index=False)

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    add = subprocess.run(
        [sys.executable, "-m", "modelward", "folders", "add", str(inbox), "--kind", "data"]
        + ["--model", "scorer", "--label", "label", "--registry", str(tmp_path / "reg")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert add.returncode == 0, add.stderr
    proc = start_watch("--registry", str(tmp_path / "reg"), "--settle", "0.3")
    try:
        assert proc.stdout is not None
        assert opening_lines(proc) == ["started", "watching 1 folder"]
        shutil.copy(src, inbox / "evil\u202ename.csv")
        line = proc.stdout.readline()
        assert line.startswith("ingested"), line
        assert (
            "1,000 rows for scorer, 12 flagged (age out of range: 10, label outside classes: 2)"
            in line
        )
        assert "12 flagged row(s) left out of the performance figures" in line
        assert "\\u202e" in line and "\u202e" not in line
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "Warning" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
