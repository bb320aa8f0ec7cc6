"""Champion against challenger on the same labelled data: differences, gates, promotion.

The comparison (both validations, paired tests, gates) runs as a job in the
worker process; promotion moves the alias through core's ``promote``, and a
protected alias (four-eyes) answers with the approval it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from modelward.core.errors import ApprovalRequired
from modelward.core.jobs import JobContext, JobKind
from modelward.ui.bridge import JobBridge
from modelward.ui.charts.base import theme_colors
from modelward.ui.charts.validation import QtValidationCharts
from modelward.ui.models.validation_tables import DifferencesTableModel, GatesTableModel
from modelward.ui.pages.validation_page import JobPage, ref_combo, table_view
from modelward.ui.requests import CompareRequest
from modelward.ui.widgets import label


@dataclass(frozen=True)
class PromoteOutcome:
    """What a promotion did: moved the alias, or needs an approval first."""

    moved: bool
    message: str


def promote_job(
    ctx: JobContext, registry: Any, comparison_id: int, reason: str, alias: str
) -> PromoteOutcome:
    """Move ``alias`` to the comparison's challenger (a job: it writes the registry)."""
    # On first use: ~35 ms of the window's start (measured), for a rare button.
    from modelward.core.compute.compare import promote

    ctx.progress(0.2, f"moving {alias}")
    try:
        v = promote(registry, comparison_id, reason=reason, alias=alias)
    except ApprovalRequired as e:
        ctx.log(f"approval required: {e}")
        return PromoteOutcome(False, str(e))
    ctx.log(f"{v.name}@{alias} -> version {v.version}")
    return PromoteOutcome(True, f"{v.name}@{alias} now points at version {v.version}")


class ComparePage(JobPage):
    """Pick champion, challenger, data and gates; see the paired differences and decide."""

    sig_promotion_done = Signal(object)
    """a :class:`PromoteOutcome`."""

    def __init__(
        self,
        registry: Any,
        jobs: JobBridge,
        parent: QWidget | None = None,
        *,
        refs: list[str] | None = None,
        champion: str = "",
        challenger: str = "",
        data: str = "",
        gates: str = "",
        reader: Any = None,
    ):
        super().__init__(registry, jobs, parent)
        self.promote_job_id: int | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 12)
        lay.setSpacing(8)
        lay.addWidget(label("Champion and challenger", "PageTitle"))
        row = QHBoxLayout()
        self.champion_combo = ref_combo(refs or [], champion, reader, registry)
        self.challenger_combo = ref_combo(refs or [], challenger, reader, registry)
        row.addWidget(label("Champion", "SectionTitle"))
        row.addWidget(self.champion_combo)
        row.addWidget(label("Challenger", "SectionTitle"))
        row.addWidget(self.challenger_combo)
        row.addStretch(1)
        lay.addLayout(row)
        row2 = QHBoxLayout()
        self.data_edit, self.browse_button = self.data_row(data)
        self.gates_edit = QLineEdit(gates)
        self.gates_edit.setPlaceholderText("gates, e.g. roc_auc>=champion-0.01, accuracy>=0.7")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Score both versions on the same rows and check the gates")
        self.compare_button.setProperty("primary", True)
        row2.addWidget(label("Data", "SectionTitle"))
        row2.addWidget(self.data_edit, 2)
        row2.addWidget(self.browse_button)
        row2.addWidget(self.gates_edit, 2)
        row2.addWidget(self.extra_check)
        row2.addWidget(self.compare_button)
        lay.addLayout(row2)
        lay.addWidget(self.error_label)
        head = QHBoxLayout()
        self.verdict = label("Compare two versions on the same labelled rows.", "Muted", wrap=True)
        head.addWidget(self.verdict, 1)
        head.addWidget(self.status_label)
        head.addWidget(self.progress)
        self.promote_button = QPushButton("Promote…")
        self.promote_button.setEnabled(False)
        self.promote_button.setToolTip("Point the champion alias at the challenger")
        head.addWidget(self.promote_button)
        lay.addLayout(head)
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QSplitter(Qt.Orientation.Vertical)
        self.differences_model = DifferencesTableModel(self)
        self.differences = table_view(self.differences_model)
        left.addWidget(self.differences)
        self.gates_model = GatesTableModel(self)
        self.gates = table_view(self.gates_model)
        left.addWidget(self.gates)
        left.setSizes([380, 160])
        split.addWidget(left)
        self.charts = QtValidationCharts()
        split.addWidget(self.charts)
        split.setSizes([760, 520])
        lay.addWidget(split, 1)
        self.compare_button.clicked.connect(self.start)
        self.promote_button.clicked.connect(self._on_promote_clicked)

    def start(self) -> None:
        a = self.champion_combo.ref()
        b = self.challenger_combo.ref()
        data = self.data_edit.text().strip()
        if not a or not b or not data:
            self.show_error("choose a champion, a challenger and a labelled data file")
            return
        if self.job_id is not None:
            return
        gates = tuple(g.strip() for g in self.gates_edit.text().split(",") if g.strip())
        req = CompareRequest(
            **self.worker_fields(), champion=a, challenger=b, data=data, gates=gates
        )
        self.promote_button.setEnabled(False)
        self.submit(JobKind.VALIDATE, f"Compare {a} and {b} on {Path(data).name}", req)

    def show_result(self, result: Any) -> None:
        """Draw a comparison (the worker's ``compare`` result); or report a promotion."""
        if isinstance(result, PromoteOutcome):
            return
        self.result = result
        c = theme_colors()
        a, b = result["champion"], result["challenger"]
        self.status_label.setText("")
        self.differences_model.set_differences(result.get("differences") or [], c)
        self.differences.resizeColumnsToContents()
        gates = result.get("gates") or []
        self.gates_model.set_gates(gates, c)
        self.gates.resizeColumnsToContents()
        allowed = bool(result.get("promotion_allowed"))
        n_failed = sum(not gr["passed"] for gr in gates)
        if not gates:
            decision = "no gates were set"
        elif allowed:
            decision = f"all {len(gates)} gate{'s' if len(gates) > 1 else ''} passed"
        else:
            decision = f"{n_failed} of {len(gates)} gates failed: promotion blocked"
        self.verdict.setText(
            f"{b['ref']} against {a['ref']} on {result.get('rows', 0):,} rows · {decision} "
            f"· comparison #{result.get('comparison_id')}"
        )
        self.verdict.setObjectName("Ok" if allowed else "Error")
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)
        self.promote_button.setEnabled(allowed and result.get("comparison_id") is not None)
        series = [(a["ref"], a.get("curves") or {}), (b["ref"], b.get("curves") or {})]
        self.charts.show_series(result.get("task", "classification"), series)
        self.sig_result_shown.emit(result)

    # ------------------------------------------------------------ promotion
    def _on_promote_clicked(self) -> None:
        if not self.result:
            return
        b = self.result["challenger"]["ref"]
        reason, ok = QInputDialog.getText(
            self, "Promote the challenger", f"Why should {b} become the champion?"
        )
        if ok:
            self.promote(reason)

    def promote(self, reason: str, alias: str = "champion") -> None:
        """Move ``alias`` to the challenger of the shown comparison, with ``reason``."""
        if not self.result or self.result.get("comparison_id") is None:
            return
        if not reason.strip():
            self.show_error("a promotion needs a reason (it is written to the audit trail)")
            return
        self.show_error("")
        cid = int(self.result["comparison_id"])
        self.promote_button.setEnabled(False)
        self.promote_job_id = self.jobs.submit(
            JobKind.OTHER,
            f"Promote {self.result['challenger']['ref']} to {alias}",
            promote_job,
            self.registry,
            cid,
            reason.strip(),
            alias,
        )

    def _on_job_finished(self, job_id: int, result: Any) -> None:
        if job_id == self.promote_job_id and isinstance(result, PromoteOutcome):
            self.promote_job_id = None
            if result.moved:
                self.verdict.setText(f"Promoted: {result.message}")
                self.verdict.setObjectName("Ok")
            else:
                # Four-eyes: the alias is protected; say exactly what to do next.
                self.show_error(f"Approval required — {result.message}")
                self.promote_button.setEnabled(True)
            self.sig_promotion_done.emit(result)
            return
        super()._on_job_finished(job_id, result)

    def _on_job_failed(self, job_id: int, message: str) -> None:
        if job_id == self.promote_job_id:
            self.promote_job_id = None
            self.show_error(message)
            self.promote_button.setEnabled(True)
            return
        super()._on_job_failed(job_id, message)
