"""Compare two versions: metrics, parameters and signature, side by side."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from modelward.core.domain import ModelVersion
from modelward.ui.measured import MIXED_MARK, mixed_note, version_measured_on
from modelward.ui.widgets import label, setup_table


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested dicts as ``a.b.c -> text`` (lists and scalars as compact JSON)."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(
                flatten(v, f"{prefix}{k}." if not isinstance(v, dict) or v else f"{prefix}{k}")
            )
        if not value and prefix:
            out[prefix.rstrip(".")] = "{}"
        return out
    key = prefix.rstrip(".")
    out[key] = value if isinstance(value, str) else json.dumps(value, default=str)
    return out


def diff_rows(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """``(key, a, b, differs)`` for the union of flattened keys, changed ones first."""
    fa, fb = flatten(a), flatten(b)
    rows = [
        (k, fa.get(k, "—"), fb.get(k, "—"), fa.get(k) != fb.get(k))
        for k in sorted(set(fa) | set(fb))
    ]
    return sorted(rows, key=lambda r: (not r[3], r[0]))


def metric_rows(a: ModelVersion, b: ModelVersion) -> list[tuple[str, str, str, str]]:
    """The data each side was measured on first, then one row per metric."""
    on_a, on_b = version_measured_on(a), version_measured_on(b)
    same = on_a == on_b
    out = [("measured on", on_a, on_b, "same data" if same else f"{MIXED_MARK} different data")]
    for key in sorted(set(a.metrics) | set(b.metrics)):
        va, vb = a.metrics.get(key), b.metrics.get(key)
        delta = f"{vb - va:+.4g}" if va is not None and vb is not None else ""
        out.append(
            (key, "—" if va is None else f"{va:.4g}", "—" if vb is None else f"{vb:.4g}", delta)
        )
    return out


class CompareDialog(QDialog):
    def __init__(self, a: ModelVersion, b: ModelVersion, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Compare {a.ref} and {b.ref}")
        self.resize(760, 520)
        lay = QVBoxLayout(self)
        lay.addWidget(label(f"{a.ref}  ↔  {b.ref}", "PageTitle"))
        tabs = QTabWidget()
        self.tabs = tabs
        mt = self._table(("Metric", a.ref, b.ref, "Δ (B − A)"), metric_rows(a, b))
        note = mixed_note([version_measured_on(a), version_measured_on(b)])
        if note:
            # Measured on different data: the deltas are no verdict; say so where they are.
            for c in range(4):
                mt.item(0, c).setToolTip(note)
            lay.addWidget(label(note, "Error", wrap=True))
        tabs.addTab(mt, "Metrics")
        changed = diff_rows(a.params, b.params)
        tabs.addTab(
            self._diff_table(a, b, changed), f"Parameters ({sum(r[3] for r in changed)} differ)"
        )
        sig = diff_rows(a.signature, b.signature)
        tabs.addTab(self._diff_table(a, b, sig), f"Signature ({sum(r[3] for r in sig)} differ)")
        info = diff_rows(
            {
                "estimator": a.estimator_class,
                "format": a.format,
                "sha256": a.sha256,
                "size": a.size,
            },
            {
                "estimator": b.estimator_class,
                "format": b.format,
                "sha256": b.sha256,
                "size": b.size,
            },
        )
        tabs.addTab(self._diff_table(a, b, info), "Artifact")
        lay.addWidget(tabs, 1)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def _table(self, headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> QTableWidget:
        t = QTableWidget(len(rows), len(headers))
        t.setHorizontalHeaderLabels(list(headers))
        setup_table(t)
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                t.setItem(r, c, QTableWidgetItem(str(text)))
        t.resizeColumnsToContents()
        return t

    def _diff_table(
        self, a: ModelVersion, b: ModelVersion, rows: list[tuple[str, str, str, bool]]
    ) -> QTableWidget:
        t = self._table(("Key", a.ref, b.ref), [r[:3] for r in rows])
        for r, row in enumerate(rows):
            if row[3]:
                for c in range(3):
                    item = t.item(r, c)
                    f = item.font()
                    f.setBold(True)
                    item.setFont(f)
                    if c:
                        item.setForeground(QColor("#c8372d") if c == 1 else QColor("#1f8a4c"))
        return t
