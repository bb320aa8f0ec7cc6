"""Monitoring from a notebook: ``api.register``, ``api.profile``, ``api.monitor``, ``api.drift``.

Walked from an empty registry for each model kind the product accepts
(binary, multiclass, regression): a model logged, its reference profiled
from a DataFrame, a drifting batch checked from a CSV file with labels and
from a DataFrame without. The realized metrics equal scikit-learn's on the
same rows. Bad batches are refused with one sentence, store nothing and
leave one ``input.refused`` event; a model file from outside goes through
the same door as ``modelward register``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from test_monitoring_kinds import _X, FEATURES, _model, _y, assert_same, expected

from modelward import api
from modelward.core.errors import InvalidInput, RejectedFile
from modelward.core.registry import Registry


def _frame(kind: str, n: int, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    X = _X(n, seed, shift)
    y = _y(kind, X, seed)
    return X, y


def _count(reg: Registry, table: str) -> int:
    with reg.read() as cur:
        return int(cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _refusals(reg: Registry) -> list:
    return reg.audit_events(action="input.refused", limit=None)


@pytest.fixture(scope="module", params=["binary", "multiclass", "regression"])
def profiled(request, tmp_path_factory):
    """An empty registry, one model of the kind logged and profiled through the API."""
    kind = request.param
    root = tmp_path_factory.mktemp(f"api-{kind}")
    home = root / "registry"
    X, y = _frame(kind, 3000, 1)
    model = _model(kind, X, y)
    v = api.log_model(model, "m", X=X[FEATURES], y=y, registry=home)
    ref = X[FEATURES].assign(y=y)
    prof = api.profile(v.ref, ref, registry=home, target="y")
    assert prof.model["kind"] == kind and prof.n_rows == 3000
    reg = api.open_registry(home)
    return kind, reg, model, root


def test_a_drifting_file_with_labels_is_checked_like_the_cli(profiled):
    kind, reg, model, root = profiled
    X, y = _frame(kind, 1500, 5, shift=0.8)
    path = root / f"2025-03-{kind}.csv"
    X[FEATURES].assign(y=y, id=X["id"]).to_csv(path, index=False)
    res = api.monitor("m:1", path, reg, label_column="y", id_column="id")
    assert res.model_kind == kind
    assert_same(res.performance["realized"], expected(kind, model, X, y))
    assert [f.name for f in res.report.features if f.drifted] == ["a"]
    assert res.data_time.startswith("2025-03") and res.data_time_source == "file name"
    assert res.intake is not None and res.intake.rows == 1500
    (event,) = reg.audit_events(action="monitor.checked", limit=1)
    assert event.after["batch_id"] == res.batch_id


def test_a_dataframe_without_labels_gets_an_estimate_or_a_note(profiled):
    kind, reg, _model_, _root = profiled
    X, _ = _frame(kind, 1000, 6)
    res = api.monitor("m:1", X[FEATURES], reg, name="frame")
    assert res.name == "frame" and "realized" not in res.performance
    assert res.performance.get("estimated") or res.performance_notes
    if kind == "regression":  # never a classification metric for a regressor
        assert not {"accuracy", "roc_auc", "f1"} & set(res.performance.get("estimated", {}))


@pytest.mark.parametrize(
    ("what", "write", "words"),
    [
        ("header only", lambda p: p.write_text("a,b,c\n"), "header but no rows"),
        ("missing column", lambda p: p.write_text("a,b\n1,2\n3,4\n"), "'c'"),
        ("wrong type", lambda p: p.write_text("a,b,c\n1,2,x\n3,4,y\n"), "row 1 has the text 'x'"),
        ("NUL byte", lambda p: p.write_bytes(b"a,b,c\n1,2,\x003\n"), "NUL"),
        ("empty", lambda p: p.write_bytes(b""), "empty"),
    ],
)
def test_a_bad_batch_is_refused_stores_nothing_and_is_audited(profiled, what, write, words):
    _kind, reg, _model_, root = profiled
    path = root / f"bad-{what.replace(' ', '_')}.csv"
    write(path)
    batches, refused = _count(reg, "mon_batches"), len(_refusals(reg))
    with pytest.raises(InvalidInput) as err:
        api.monitor("m:1", path, reg)
    sentence = str(err.value)
    assert words in sentence and "\n" not in sentence.strip()
    assert _count(reg, "mon_batches") == batches  # nothing stored
    events = _refusals(reg)
    assert len(events) == refused + 1
    assert events[0].entity_id == str(path.absolute())
    assert events[0].after["door"] == "monitor" and events[0].reason == sentence


def test_extra_columns_are_kept_and_listed_or_refused_when_strict(profiled):
    kind, reg, _model_, root = profiled
    X, _ = _frame(kind, 500, 7)
    path = root / f"extra-{kind}.csv"
    X[FEATURES].assign(note="x").to_csv(path, index=False)
    res = api.monitor("m:1", path, reg)
    assert res.extra_columns == ["note"]
    assert res.notes() == ["note: not a column of the model: kept, not monitored"]
    batches = _count(reg, "mon_batches")
    with pytest.raises(InvalidInput, match="note"):
        api.monitor("m:1", path, reg, strict_columns=True)
    assert _count(reg, "mon_batches") == batches


def test_drift_between_two_frames_needs_no_registry():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=5000), "g": rng.choice(["a", "b"], 5000)})
    same = pd.DataFrame({"x": rng.normal(size=5000), "g": rng.choice(["a", "b"], 5000)})
    moved = same.assign(x=same["x"] + 0.5)
    assert not [f.name for f in api.drift(ref, same).features if f.drifted]
    rep = api.drift(ref, moved)
    assert [f.name for f in rep.features if f.drifted] == ["x"]


def test_register_takes_a_file_through_the_door_and_refuses_a_hostile_pickle(tmp_path):
    from sklearn.linear_model import LogisticRegression

    home = tmp_path / "registry"
    X, y = _frame("binary", 300, 2)
    path = tmp_path / "scorecard.pkl"
    path.write_bytes(pickle.dumps(LogisticRegression().fit(X[FEATURES], y)))
    res = api.register(path, registry=home)
    assert res.created and res.version.ref == "scorecard:1" and res.version.status == "ok"
    assert api.register(path, registry=home).created is False  # the same bytes: the same version

    class Hostile:
        def __reduce__(self):
            return (print, ("owned",))

    bad = tmp_path / "hostile.pkl"
    bad.write_bytes(pickle.dumps(Hostile()))
    with pytest.raises(RejectedFile, match="print"):
        api.register(bad, "other", registry=home)
    reg = api.open_registry(home)
    assert [m.name for m in api.list_models(reg)] == ["scorecard"]
    (event,) = reg.audit_events(action="ingest.rejected", limit=None)
    assert event.entity_id == str(bad)
