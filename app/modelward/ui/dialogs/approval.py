"""Signing a decision on an approval request, and asking for one.

The signature dialog gathers what the core signs: the signer's personal key
(chosen from the keys of this OS account) and its passphrase, what the
signature means, a reason, and (shown, not editable) the OS user who is
logged in. The core decides; a refusal (the requester signing their own
request, a wrong passphrase, a key the registry does not trust) comes back
and is shown in the dialog, which stays open. :class:`PersonalKeyDialog`
creates a person's key once.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from modelward.core.identity import MIN_PASSPHRASE, PersonalKey
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


class KeyPicker(QWidget):
    """Choose one of this account's personal keys and type its passphrase; or create one."""

    sig_new_key_requested = Signal()

    def __init__(self, keys: Sequence[PersonalKey], parent: QWidget | None = None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.key = QComboBox()
        self.key.setMinimumWidth(260)
        self.new_key_button = QPushButton("New key…")
        self.new_key_button.setToolTip("Create your personal key (once, with a passphrase)")
        self.new_key_button.clicked.connect(self.sig_new_key_requested)
        row.addWidget(self.key, 1)
        row.addWidget(self.new_key_button)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("The passphrase of your key")
        self.set_keys(keys)

    def set_keys(self, keys: Sequence[PersonalKey], select: str | None = None) -> None:
        self.key.clear()
        for k in keys:
            self.key.addItem(k.label, k.key_id)
        if not keys:
            self.key.addItem("No personal key yet: create one with New key…", "")
        if select:
            self.key.setCurrentIndex(max(self.key.findData(select), 0))

    def key_id(self) -> str:
        return str(self.key.currentData() or "")


class PersonalKeyDialog(QDialog):
    """Create this person's signing key: full name and a passphrase typed twice."""

    def __init__(self, name: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Create your personal key")
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        lay.addWidget(label("Your personal signing key", "SectionTitle"))
        lay.addWidget(
            label(
                "It signs your promotion requests and approvals. It is kept in your own "
                "settings folder, encrypted with your passphrase, never in a registry. This "
                "registry trusts it once another key holder approves it (the first key of a "
                "registry is trusted at once).",
                "Muted",
                wrap=True,
            )
        )
        form = QFormLayout()
        self.name = QLineEdit(name)
        self.name.setPlaceholderText("Your full name, as you sign")
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText(f"At least {MIN_PASSPHRASE} characters")
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Full name", self.name)
        form.addRow("Passphrase", self.passphrase)
        form.addRow("Again", self.again)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create key")
        self.ok_button.setProperty("primary", True)
        lay.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for edit in (self.name, self.passphrase, self.again):
            edit.textChanged.connect(self._update_state)
        self._update_state()

    def values(self) -> tuple[str, str]:
        """``(name, passphrase)``."""
        return self.name.text().strip(), self.passphrase.text()

    def _update_state(self) -> None:
        name, secret = self.values()
        self.ok_button.setEnabled(
            bool(name) and len(secret) >= MIN_PASSPHRASE and secret == self.again.text()
        )


class SignatureDialog(QDialog):
    """Sign an approval or a rejection; the caller runs the decision as a job."""

    sig_signed = Signal(int, bool, str, str, str, str)
    """request id, approve?, key id, passphrase, meaning, reason."""

    def __init__(
        self,
        request: ApprovalRequest,
        approve: bool,
        os_user: str,
        gates: str = "",
        parent: QWidget | None = None,
        keys: Sequence[PersonalKey] = (),
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
        self.picker = KeyPicker(keys)
        self.key, self.passphrase = self.picker.key, self.picker.passphrase
        self.meaning = QComboBox()
        self.meaning.setEditable(True)
        self.meaning.addItems(APPROVE_MEANINGS if approve else REJECT_MEANINGS)
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("Why? (required — recorded with your signature)")
        self.reason.setFixedHeight(72)
        form.addRow("Your key", self.picker)
        form.addRow("Passphrase", self.passphrase)
        form.addRow("Meaning", self.meaning)
        form.addRow("Reason", self.reason)
        lay.addLayout(form)
        today = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M")
        self.signing_label = label(
            f"Signing as OS user {os_user}, {today} UTC. Your key signs the move, this meaning, "
            "the reason, your OS account and the time; the signature is kept in the audit trail."
            + (
                ""
                if not approve
                else " The requester cannot approve their own request, nor can their OS account."
            ),
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
        for sig in (
            self.key.currentIndexChanged,
            self.passphrase.textChanged,
            self.meaning.currentTextChanged,
        ):
            sig.connect(self._update_state)
        self.reason.textChanged.connect(self._update_state)
        self._busy = False
        self._update_state()

    def values(self) -> tuple[str, str, str, str]:
        """``(key id, passphrase, meaning, reason)``, the texts trimmed."""
        return (
            self.picker.key_id(),
            self.passphrase.text(),
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
        self.passphrase.clear()  # never kept longer than one attempt
        self._update_state()


class RequestApprovalDialog(QDialog):
    """Ask a second person to approve moving a protected alias."""

    def __init__(
        self,
        ref: str,
        alias: str,
        refusal: str,
        keys: Sequence[PersonalKey],
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
        self.picker = KeyPicker(keys)
        self.key, self.passphrase = self.picker.key, self.picker.passphrase
        self.reason = QPlainTextEdit(reason)
        self.reason.setFixedHeight(72)
        self.reason.setPlaceholderText("Why should it move? (required)")
        self.ttl = QDoubleSpinBox()
        self.ttl.setRange(1, 24 * 60)
        self.ttl.setDecimals(0)
        self.ttl.setSuffix(" hours")
        self.ttl.setValue(72)
        form.addRow("Your key", self.picker)
        form.addRow("Passphrase", self.passphrase)
        form.addRow("Reason", self.reason)
        form.addRow("Expires after", self.ttl)
        lay.addLayout(form)
        lay.addWidget(
            label(
                "Your key signs the request. Someone other than you, with their own key and OS "
                "account, approves it on the Approvals page; the alias moves only then.",
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
        self.key.currentIndexChanged.connect(self._update_state)
        self.passphrase.textChanged.connect(self._update_state)
        self.reason.textChanged.connect(self._update_state)
        self._update_state()

    def _update_state(self) -> None:
        v = self.values()
        self.ok_button.setEnabled(bool(v[2] and v[3] and v[4]))

    def values(self) -> tuple[str, str, str, str, str, float]:
        """``(ref, alias, key id, passphrase, reason, ttl_hours)``."""
        return (
            self.ref,
            self.alias,
            self.picker.key_id(),
            self.passphrase.text(),
            self.reason.toPlainText().strip(),
            float(self.ttl.value()),
        )
