"""One audit event in full: who, when, what, the whole reason, and before/after as JSON."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from modelward.core.clock import display_ts
from modelward.core.domain import AuditEvent
from modelward.ui.widgets import label


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON (``—`` for none)."""
    if value is None:
        return "—"
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _text_box(text: str, *, mono: bool) -> QPlainTextEdit:
    box = QPlainTextEdit(text)
    box.setReadOnly(True)
    if mono:
        box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return box


class AuditEventDialog(QDialog):
    """Shows one :class:`AuditEvent`; nothing in it can be changed."""

    def __init__(self, event: AuditEvent, parent: QWidget | None = None):
        super().__init__(parent)
        self.audit_event = event
        self.setWindowTitle(f"Audit event #{event.seq}")
        self.resize(860, 600)
        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        lay.addWidget(label(f"#{event.seq} · {event.action}", "PageTitle"))
        form = QFormLayout()
        form.addRow("Time (UTC)", label(display_ts(event.ts)))
        form.addRow("User", label(event.actor))
        form.addRow("Entity", label(f"{event.entity_type} {event.entity_id}", wrap=True))
        hashes = label(f"{event.hash}\nprevious {event.prev_hash}", "Muted", wrap=True)
        form.addRow("Hash", hashes)
        lay.addLayout(form)
        lay.addWidget(label("Reason", "SectionTitle"))
        self.reason = _text_box(event.reason or "", mono=False)
        self.reason.setPlaceholderText("No reason was given")
        self.reason.setMaximumHeight(90)
        lay.addWidget(self.reason)
        row = QHBoxLayout()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(label("Before", "SectionTitle"))
        self.before = _text_box(pretty_json(event.before), mono=True)
        left.addWidget(self.before, 1)
        right.addWidget(label("After", "SectionTitle"))
        self.after = _text_box(pretty_json(event.after), mono=True)
        right.addWidget(self.after, 1)
        row.addLayout(left, 1)
        row.addLayout(right, 1)
        lay.addLayout(row, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
