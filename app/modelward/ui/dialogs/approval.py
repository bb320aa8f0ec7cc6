"""Signing a decision on an approval request, and asking for one.

The signature dialog gathers what the core records like an electronic
signature: the signer's re-entered full name, what the signature means, a
reason, and (shown, not editable) the OS user who is logged in. The core
decides; a refusal (e.g. the requester signing their own request) comes back
and is shown in the dialog, which stays open.
"""

from __future__ import annotations

import datetime as _dt

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from modelward.core.policies import ApprovalRequest
from modelward.ui.texts import window_text
from modelward.ui.widgets import label

APPROVE_MEANINGS = (
    "approved for production use",
    "reviewed and approved",
    "approved for limited use",
)
REJECT_MEANINGS = (
    "rejected",
    "rejected: more evidence needed",
    "rejected: not fit for production use",
)


class SignatureDialog(QDialog):
    """Sign an approval or a rejection; the caller runs the decision as a job."""

    sig_signed = Signal(int, bool, str, str, str)
    """request id, approve?, signer's name, meaning, reason."""

    def __init__(
        self,
        request: ApprovalRequest,
        approve: bool,
        os_user: str,
        gates: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.request = request
        self.approve = approve
        verb = "Approve" if approve else "Reject"
        self.setWindowTitle(f"{verb} request {request.id} — {request.model}")
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        lay.addWidget(
            label(
                f"{verb} moving {request.model}@{request.alias} to version "
                f"{request.version_ref.rpartition(':')[2]}",
                "SectionTitle",
            )
        )
        summary = (
            f"Requested by {request.requested_by} (OS user {request.requested_os_user}) "
            f"at {request.requested_at[:16].replace('T', ' ')} UTC: {request.reason}"
        )
        if gates:
            summary += f"\nGates: {gates}"
        lay.addWidget(label(summary, "Muted", wrap=True))
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("Type your full name as your signature")
        self.meaning = QComboBox()
        self.meaning.setEditable(True)
        self.meaning.addItems(APPROVE_MEANINGS if approve else REJECT_MEANINGS)
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("Why? (required — recorded with your signature)")
        self.reason.setFixedHeight(72)
        form.addRow("Full name", self.name)
        form.addRow("Meaning", self.meaning)
        form.addRow("Reason", self.reason)
        lay.addLayout(form)
        today = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M")
        self.signing_label = label(
            f"Signing as OS user {os_user}, {today} UTC. Your name, this meaning, the reason, "
            "the OS user and the time are recorded in the audit trail as your signature."
            + ("" if not approve else " The requester cannot approve their own request."),
            "Muted",
            wrap=True,
        )
        lay.addWidget(self.signing_label)
        self.error_label = label("", "Error", wrap=True)
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(f"Sign and {verb.lower()}")
        self.ok_button.setProperty("primary", True)
        lay.addWidget(self.buttons)
        self.buttons.accepted.connect(self._on_sign_clicked)
        self.buttons.rejected.connect(self.reject)
        for sig in (self.name.textChanged, self.meaning.currentTextChanged):
            sig.connect(self._update_state)
        self.reason.textChanged.connect(self._update_state)
        self._busy = False
        self._update_state()

    def values(self) -> tuple[str, str, str]:
        """``(name, meaning, reason)``, trimmed."""
        return (
            self.name.text().strip(),
            self.meaning.currentText().strip(),
            self.reason.toPlainText().strip(),
        )

    def _update_state(self) -> None:
        ok = all(self.values()) and not self._busy
        self.ok_button.setEnabled(ok)

    def _on_sign_clicked(self) -> None:
        if not all(self.values()):
            return
        self._busy = True
        self.error_label.hide()
        self._update_state()
        self.sig_signed.emit(self.request.id, self.approve, *self.values())

    def show_result(self, ok: bool, message: str = "") -> None:
        """The decision job ended: close on success, else show why and let the user fix it."""
        self._busy = False
        if ok:
            self.accept()
            return
        self.error_label.setText(message)
        self.error_label.show()
        self._update_state()


class RequestApprovalDialog(QDialog):
    """Ask a second person to approve moving a protected alias."""

    def __init__(
        self,
        ref: str,
        alias: str,
        refusal: str,
        requested_by: str,
        reason: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.ref, self.alias = ref, alias
        self.setWindowTitle(f"Request approval — {ref.partition(':')[0]}@{alias}")
        self.setMinimumWidth(500)
        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        lay.addWidget(label(f"Request moving {alias} to {ref}", "SectionTitle"))
        lay.addWidget(label(window_text(refusal), "Muted", wrap=True))
        form = QFormLayout()
        self.requested_by = QLineEdit(requested_by)
        self.requested_by.setPlaceholderText("Your full name (the maker)")
        self.reason = QPlainTextEdit(reason)
        self.reason.setFixedHeight(72)
        self.reason.setPlaceholderText("Why should it move? (required)")
        self.ttl = QDoubleSpinBox()
        self.ttl.setRange(1, 24 * 60)
        self.ttl.setDecimals(0)
        self.ttl.setSuffix(" hours")
        self.ttl.setValue(72)
        form.addRow("Requested by", self.requested_by)
        form.addRow("Reason", self.reason)
        form.addRow("Expires after", self.ttl)
        lay.addLayout(form)
        lay.addWidget(
            label(
                "Someone other than you approves it on the Approvals page; the alias moves only "
                "then.",
                "Muted",
                wrap=True,
            )
        )
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Request approval")
        self.ok_button.setProperty("primary", True)
        lay.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.requested_by.textChanged.connect(self._update_state)
        self.reason.textChanged.connect(self._update_state)
        self._update_state()

    def _update_state(self) -> None:
        v = self.values()
        self.ok_button.setEnabled(bool(v[2] and v[3]))

    def values(self) -> tuple[str, str, str, str, float]:
        """``(ref, alias, requested_by, reason, ttl_hours)``."""
        return (
            self.ref,
            self.alias,
            self.requested_by.text().strip(),
            self.reason.toPlainText().strip(),
            float(self.ttl.value()),
        )
