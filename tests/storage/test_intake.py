"""The intake door: one copy into the store, checks on the stored bytes, one audit event."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import joblib
import pytest
from sklearn.linear_model import LogisticRegression

from modelward.core.errors import InvalidInput, RejectedFile
from modelward.core.intake import (
    ACCEPTED,
    DUPLICATE,
    REFUSED,
    SEEN,
    Stored,
    accept_batch,
    accept_model_file,
    model_name_for,
)
from modelward.core.registry import Registry
from modelward.core.watch import DATA, MODELS, WatchService, add_folder
from support.models import write_joblib

GOOD_CSV = "income,age,label\n1.0,30,1\n2.0,40,0\n3.0,50,1\n"


@pytest.fixture
def reg(tmp_path):
    r = Registry(tmp_path / "reg", actor="alice")
    yield r
    r.close()


def _actions(reg: Registry) -> list[str]:
    """Audit actions, oldest first; a new model's own ``model.created`` is not the file's."""
    events = reg.audit_events(limit=None, newest_first=False)
    return [e.action for e in events if e.action != "model.created"]


def _model_needing(reg: Registry, name: str, features: list[str]) -> None:
    buf = io.BytesIO()
    joblib.dump(LogisticRegression(), buf)
    accept_model_file(reg, buf.getvalue(), name=name, declared={"format": "joblib"}, inspect=False)
    with reg.transaction() as tx:
        tx.q(
            "UPDATE versions SET signature = ? WHERE sha256 IS NOT NULL",
            ['{"feature_names": ' + str(features).replace("'", '"') + "}"],
        )


def _stored_files(reg: Registry) -> set[str]:
    return {p.name for p in reg.artifacts.root.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- model files
def test_a_model_file_is_stored_checked_and_recorded_with_one_event(reg, tmp_path):
    path = write_joblib(tmp_path / "credit risk.joblib")
    before = len(_actions(reg))
    res = accept_model_file(reg, path, name=model_name_for(path))
    assert res.status == ACCEPTED and res.created and res.accepted
    assert res.version is not None and res.ref == "credit-risk:1"
    assert reg.artifacts.verify(res.sha256)
    assert res.version.lineage["source"] == str(path.absolute())
    assert _actions(reg)[before:] == ["version.registered"]
    again = accept_model_file(reg, path, name="credit-risk")
    assert again.status == DUPLICATE and again.version.ref == "credit-risk:1"
    # nothing new recorded but the duplicate's own event (issue 14)
    assert _actions(reg)[before:] == ["version.registered", "ingest.duplicate"]
    assert again.register_result().created is False


def test_a_refused_model_file_is_quarantined_with_one_event(reg, tmp_path):
    bad = tmp_path / "model.pkl"
    bad.write_bytes(b"\x80\x04cos\nsystem\n(S'echo hi'\ntR.")
    before = len(_actions(reg))
    res = accept_model_file(reg, bad, name="evil")
    assert res.status == REFUSED and res.refused and not res.accepted
    assert res.reason and res.quarantined_to and Path(res.quarantined_to).is_file()
    assert Path(res.quarantined_to).read_bytes() == bad.read_bytes()
    assert _actions(reg)[before:] == ["ingest.rejected"]
    (event,) = reg.audit_events(action="ingest.rejected")
    assert event.after["sha256"] == res.sha256 and event.entity_id == str(bad)
    assert event.actor == "alice" and event.ts and event.reason == res.reason
    assert not reg.artifacts.has(res.sha256)  # stored only to be checked
    with pytest.raises(RejectedFile) as info:
        res.raise_if_refused()
    assert info.value.reason == res.reason and info.value.path == str(bad)


def test_bytes_written_here_need_a_declared_format(reg):
    with pytest.raises(InvalidInput, match="format"):
        accept_model_file(reg, b"bytes", name="m", inspect=False)


def test_stored_bytes_are_checked_where_they_are(reg, tmp_path):
    good = write_joblib(tmp_path / "m.joblib")
    sha, size = reg.artifacts.put_file(good)
    res = accept_model_file(reg, Stored(sha, size), name="from-bundle", source="b.mwbundle",
                            declared={"params": {"declared": True}})  # fmt: skip
    assert res.status == ACCEPTED and res.version.params == {"declared": True}
    assert "source" not in res.version.lineage
    evil = b"\x80\x04cos\nsystem\n(S'echo hi'\ntR."
    sha, size = reg.artifacts.put_bytes(evil)
    refused = accept_model_file(reg, Stored(sha, size, fresh=True), name="x", source="b2")
    assert refused.refused and not reg.artifacts.has(sha)


# --------------------------------------------------------------------------- batches
def test_a_batch_is_checked_from_the_store_not_the_source(reg, tmp_path):
    src = tmp_path / "2026-01.csv"
    src.write_text(GOOD_CSV)

    def vandal(sha: str) -> bool:
        # Stored and hashed: the source may now change or vanish; the checks never see it.
        src.write_text("garbage\n")
        return False

    before = len(_actions(reg))
    res = accept_batch(reg, src, model_name=None, seen=vandal)
    assert res.status == ACCEPTED and res.rows == 3 and res.dataset_id is not None
    assert set(res.schema) == {"income", "age", "label"}
    assert reg.artifacts.read_bytes(res.sha256) == GOOD_CSV.encode()
    assert _actions(reg)[before:] == ["dataset.registered"]
    assert not [p for p in reg.artifacts.root.iterdir() if p.name.startswith(".view-")]


@pytest.mark.skipif(os.name != "posix", reason="named pipes")
def test_a_batch_is_read_from_its_source_exactly_once(reg, tmp_path):
    """A named pipe can be read once: a second read of the source would find nothing."""
    fifo = tmp_path / "batch.csv"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w") as f:
            f.write(GOOD_CSV)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    res = accept_batch(reg, fifo, model_name=None)
    writer.join(10)
    assert res.status == ACCEPTED and res.rows == 3


def test_a_refused_batch_is_quarantined_and_audited_through_the_door(reg, tmp_path):
    _model_needing(reg, "scorer", ["income", "age"])
    bad = tmp_path / "bad.csv"
    bad.write_text("income,height\n1.0,180\n")
    before = len(_actions(reg))
    res = accept_batch(reg, bad, model_name="scorer")
    assert res.status == REFUSED and "age" in (res.reason or "")
    assert _actions(reg)[before:] == ["ingest.rejected"]
    (event,) = reg.audit_events(action="ingest.rejected")
    assert event.after["sha256"] == res.sha256 and event.entity_id == str(bad)
    assert Path(res.quarantined_to).read_bytes() == bad.read_bytes()
    assert Path(res.quarantined_to).with_suffix(".reason.txt").read_text().count("age")
    assert not reg.artifacts.has(res.sha256)
    with reg.read() as cur:
        assert cur.execute("SELECT count(*) FROM datasets").fetchall()[0][0] == 0


def test_refusing_bytes_kept_for_something_else_leaves_them_in_the_store(reg, tmp_path):
    _model_needing(reg, "scorer", ["income", "height"])
    src = tmp_path / "b.csv"
    src.write_text(GOOD_CSV)
    kept = accept_batch(reg, src, model_name=None)
    assert kept.status == ACCEPTED
    refused = accept_batch(reg, src, model_name="scorer")
    assert refused.refused and refused.sha256 == kept.sha256
    assert reg.artifacts.verify(kept.sha256)  # dataset 1 still has its bytes
    again = accept_batch(reg, src, model_name=None)
    assert again.status == DUPLICATE and again.dataset_id == kept.dataset_id


def test_a_check_that_fails_for_another_reason_leaves_nothing(reg, tmp_path, monkeypatch):
    from modelward.core.errors import RegistryBusy
    from modelward.core.intake import door

    def busy(*_a: object, **_k: object) -> None:
        raise RegistryBusy("the registry is busy")

    monkeypatch.setattr(door, "check_batch", busy)
    src = tmp_path / "b.csv"
    src.write_text(GOOD_CSV)
    before = len(_actions(reg))
    with pytest.raises(RegistryBusy):
        accept_batch(reg, src, model_name=None)
    assert _actions(reg)[before:] == []
    assert not [p for p in reg.artifacts.root.rglob("*") if p.is_file()]


def test_seen_bytes_are_left_alone(reg, tmp_path):
    src = tmp_path / "b.csv"
    src.write_text(GOOD_CSV)
    before = len(_actions(reg))
    res = accept_batch(reg, src, model_name=None, seen=lambda sha: True)
    assert res.status == SEEN and not reg.artifacts.has(res.sha256)
    assert _actions(reg)[before:] == []


# --------------------------------------------------------------------------- every door is this door
def test_watched_folders_take_models_and_batches_through_the_door(reg, tmp_path):
    _model_needing(reg, "scorer", ["income", "age"])
    models, data = tmp_path / "models", tmp_path / "data"
    add_folder(reg, models, MODELS)
    add_folder(reg, data, DATA, model_name="scorer")
    write_joblib(models / "credit.joblib")
    (models / "evil.pkl").write_bytes(b"\x80\x04cos\nsystem\n(S'echo hi'\ntR.")
    (data / "good.csv").write_text(GOOD_CSV)
    (data / "bad.csv").write_text("income,height\n1.0,180\n")
    before = len(_actions(reg))
    results = WatchService(reg).run_once()
    by_name = {Path(r.path).name: r.status for r in results}
    assert by_name == {
        "credit.joblib": "registered",
        "evil.pkl": "rejected",
        "good.csv": "registered",
        "bad.csv": "rejected",
    }
    assert sorted(_actions(reg)[before:]) == [
        "dataset.registered",
        "ingest.rejected",
        "ingest.rejected",
        "version.registered",
    ]
    assert len(list(reg.quarantine_dir.glob("*.bin"))) == 2
    assert WatchService(reg).run_once() == []  # taken once


# --------------------------------------------------------------------------- row-level flags
def _profiled_champion(reg: Registry, tmp_path: Path):
    """A binary champion trained on income 20..80 and age 18..80, with its reference profile."""
    import numpy as np
    import pandas as pd

    from modelward import api
    from modelward.core.monitoring.service import profile_version

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"income": rng.uniform(20, 80, 2000), "age": rng.uniform(18, 80, 2000)})
    y = (ref["income"] > 50).astype(int)
    v = api.log_model(LogisticRegression().fit(ref, y), "scorer", X=ref, y=y, registry=reg)
    reg.set_alias(v.ref, "champion", "first")
    ref.assign(label=y).to_csv(tmp_path / "reference.csv", index=False)
    profile_version(reg, "scorer@champion", tmp_path / "reference.csv", target="label")
    batch = ref.sample(500, random_state=1).assign(label=y.sample(500, random_state=1))
    return batch.reset_index(drop=True)


def test_implausible_rows_are_flagged_stored_and_left_out_of_performance(reg, tmp_path):
    batch = _profiled_champion(reg, tmp_path)
    # Rows 4 and 8 (counted from 1): ages far outside 18..80; row 10: a label the model never saw.
    batch.loc[3, "age"] = -5
    batch.loc[7, "age"] = 250
    batch.loc[9, "label"] = 2
    batch.loc[20, "age"] = 85  # outside the range but within the margin: not flagged
    batch.to_csv(tmp_path / "b.csv", index=False)

    res = accept_batch(
        reg, tmp_path / "b.csv", model_name="scorer", options={"label_column": "label"}
    )

    assert res.status == ACCEPTED
    assert res.flagged_rows == 3
    assert res.flags_line == "3 flagged (age out of range: 2, label outside classes: 1)"
    assert [e["row"] for e in res.flags["age"]["examples"]] == [4, 8]
    assert "row 4: -5" in res.flags["age"]["what"]
    assert res.flags["label"]["outside_classes"] == 1
    assert "row 10: 2" in res.flags["label"]["what"]
    # Excluded from the realized performance, and said so.
    assert res.monitoring is not None
    assert res.monitoring["excluded_from_performance"] == 3
    assert "3 flagged row(s) left out" in res.monitoring["verdict"]
    with reg.read() as cur:
        n = cur.execute(
            "SELECT DISTINCT n FROM mon_performance WHERE batch_id = ?",
            [res.monitoring["batch_id"]],
        ).fetchall()
    assert n == [(497,)]
    # Stored with the batch: its dataset's audit event carries the flags.
    ev = [e for e in reg.audit_events(limit=None) if e.action == "dataset.registered"][0]
    assert ev.after["flags"]["flagged_rows"] == 3
    assert ev.after["flags"]["columns"]["label"]["outside_classes"] == 1


def test_a_clean_batch_has_no_row_flags(reg, tmp_path):
    batch = _profiled_champion(reg, tmp_path)
    batch.to_csv(tmp_path / "b.csv", index=False)
    res = accept_batch(
        reg, tmp_path / "b.csv", model_name="scorer", options={"label_column": "label"}
    )
    assert res.flagged_rows == 0 and res.flags_line == ""
    assert res.monitoring is not None and res.monitoring["excluded_from_performance"] == 0
