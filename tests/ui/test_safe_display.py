"""The window's tables show a stored name with control or bidirectional characters escaped."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from modelward.core import query
from modelward.core.intake import accept_model_file
from modelward.core.registry import Registry
from support.models import write_joblib

EVIL = "evil\nname\ttab\u202egpj"


@pytest.fixture
def reader(qtbot):
    from modelward.ui.bridge import Reader

    r = Reader()
    yield r
    r.shutdown()


@pytest.fixture
def legacy(tmp_path):
    """A registry from an older version, already holding a name with control characters."""
    reg = Registry(tmp_path / "reg", idle_release=0.2)
    accept_model_file(reg, write_joblib(tmp_path / "m.joblib"), name="legacy")
    with reg.transaction() as tx:
        tx.q("UPDATE models SET name = ? WHERE name = 'legacy'", [EVIL])
    reg.record_event("test.note", "file", EVIL, reason=f"reason {EVIL}")
    yield reg
    reg.close()


def _texts(model, roles=(Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)):
    out = []
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            for role in roles:
                v = model.index(r, c).data(role)
                if isinstance(v, str):
                    out.append(v)
    return out


def test_versions_and_audit_tables_escape_control_characters(qtbot, legacy, reader):
    from modelward.ui.models.audit_table import QtAuditTableModel
    from modelward.ui.models.versions_table import QtVersionsTableModel

    versions = QtVersionsTableModel(legacy, reader)
    with qtbot.waitSignal(versions.sig_loaded, timeout=10_000):
        versions.search("")
    audit = QtAuditTableModel(legacy, reader)
    with qtbot.waitSignal(audit.sig_loaded, timeout=10_000):
        audit.set_spec(query.audit_filter())
    for model in (versions, audit):
        texts = _texts(model)
        assert texts
        assert not [t for t in texts if "\u202e" in t or "\t" in t or "\n" in t]
    assert "evil\\nname\\ttab\\u202egpj" in _texts(versions)
    assert any("evil\\nname\\ttab\\u202egpj" in t for t in _texts(audit))


def test_row_models_escape_display_text():
    from modelward.ui.models.base import shown

    assert shown(EVIL) == "evil\\nname\\ttab\\u202egpj"
    assert shown(EVIL, int(Qt.ItemDataRole.ToolTipRole)) == "evil\\nname\\ttab\\u202egpj"
    assert shown(EVIL, int(Qt.ItemDataRole.UserRole)) == EVIL  # data roles keep the data
    assert shown(3) == 3
