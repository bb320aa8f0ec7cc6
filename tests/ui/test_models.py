"""Every Qt item model passes qtmodeltester; paging, filtering and sorting go to SQL."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from modelward.core import query
from modelward.core.registry import Registry
from modelward.core.registry.bulk import bulk_add_versions
from modelward.ui.models.paged import PAGE, PLACEHOLDER
from modelward.ui.models.roles import REF_ROLE


@pytest.fixture
def many(tmp_path):
    """A registry with 1,234 versions over 412 models (bulk insert)."""
    reg = Registry(tmp_path / "many", idle_release=0.2)
    shas = []
    for i in range(3):
        p = tmp_path / f"a{i}.bin"
        p.write_bytes(b"artifact %d" % i)
        shas.append(reg.artifacts.put_file(p)[0])
    # Identical bytes under one model map to one version: each model gets 3 distinct ones.
    recs = [
        {
            "name": f"{('credit', 'churn', 'fraud')[(i // 3) % 3]}-{i // 3:03d}",
            "sha256": shas[i % 3],
            "size": 10,
            "format": "skops",
            "metrics": {"roc_auc": (i % 100) / 100},
        }
        for i in range(1234)
    ]
    bulk_add_versions(reg, recs)
    yield reg
    reg.close()


@pytest.fixture
def reader(qtbot):
    from modelward.ui.bridge import Reader

    r = Reader()
    yield r
    r.shutdown()


def _load(qtbot, model, spec_setter):
    with qtbot.waitSignal(model.sig_loaded, timeout=10_000):
        spec_setter()


def test_versions_model_pages_filters_and_sorts(qtbot, qtmodeltester, many, reader):
    from modelward.ui.models.versions_table import QtVersionsTableModel

    model = QtVersionsTableModel(many, reader)
    _load(qtbot, model, lambda: model.search(""))
    assert model.rowCount() == 1234
    assert model.headerData(7, Qt.Orientation.Horizontal) == "ROC AUC"
    # A row on a page that is not loaded yet shows a placeholder, then the page arrives.
    far = model.index(2 * PAGE + 7, 0)
    assert model.data(far) == PLACEHOLDER
    with qtbot.waitSignal(model.dataChanged, timeout=10_000):
        pass
    assert model.data(far) != PLACEHOLDER
    qtmodeltester.check(model, force_py=True)
    # Filter and sort in SQL.
    _load(qtbot, model, lambda: model.search("name:credit roc_auc>=0.9"))
    n = query.count_rows(
        many, query.TableSpec(filter=query.parse_search("name:credit roc_auc>=0.9"))
    )
    assert model.rowCount() == n > 0
    assert all(model.index(r, 0).data().startswith("credit-") for r in range(model.rowCount()))
    _load(qtbot, model, lambda: model.sort(7, Qt.SortOrder.DescendingOrder))
    values = [float(model.index(r, 7).data()) for r in range(model.rowCount())]
    assert values == sorted(values, reverse=True)
    assert model.index(0, 0).data(REF_ROLE).startswith("credit-")
    qtmodeltester.check(model, force_py=True)


def test_bad_search_keeps_the_table_and_raises(qtbot, many, reader):
    from modelward.core.errors import InvalidInput
    from modelward.ui.models.versions_table import QtVersionsTableModel

    model = QtVersionsTableModel(many, reader)
    _load(qtbot, model, lambda: model.search(""))
    with pytest.raises(InvalidInput):
        model.search("roc_auc>lots")
    assert model.rowCount() == 1234


def test_audit_model(qtbot, qtmodeltester, many, reader):
    from modelward.ui.models.audit_table import QtAuditTableModel

    model = QtAuditTableModel(many, reader)
    _load(qtbot, model, lambda: model.set_spec(query.audit_filter()))
    assert model.rowCount() == many.audit_head()
    assert model.index(0, 0).data() == str(many.audit_head())  # newest first
    qtmodeltester.check(model, force_py=True)
    _load(qtbot, model, lambda: model.set_spec(query.audit_filter(action="model")))
    assert model.rowCount() == 412
    qtmodeltester.check(model, force_py=True)


def test_jobs_model(qtbot, qtmodeltester):
    import threading

    from modelward.ui.bridge import JobBridge
    from modelward.ui.models.jobs_table import QtJobsTableModel
    from modelward.ui.models.roles import PROGRESS_ROLE

    bridge = JobBridge(max_workers=1)
    model = QtJobsTableModel(bridge)
    qtmodeltester.check(model, force_py=True)
    gate = threading.Event()

    def work(ctx):
        ctx.progress(0.5, "half way")
        gate.wait(10)
        return "ok"

    with qtbot.waitSignal(bridge.sig_job_progressed, timeout=5000):
        jid = bridge.submit("train", "fit a model", work)
    assert model.rowCount() == 1
    qtbot.waitUntil(lambda: model.index(0, 0).data(PROGRESS_ROLE) == 0.5)
    qtmodeltester.check(model, force_py=True)
    with qtbot.waitSignal(bridge.sig_job_finished, timeout=5000) as blocker:
        gate.set()
    assert blocker.args == [jid, "ok"]
    assert model.index(0, 2).data() == "Finished"
    assert bridge.shutdown(5)
