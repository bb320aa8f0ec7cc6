"""Dialogs of the evidence actions: export a bundle, import one (after verifying it), restore."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from modelward.ui.controllers.evidence_tasks import BundleCheck
from modelward.ui.widgets import label

UNSIGNED = "__unsigned__"
NEW_KEY = "__new__"


def _buttons(dlg: QDialog, text: str) -> tuple[QDialogButtonBox, QPushButton]:
    box = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    ok = box.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(text)
    ok.setProperty("primary", True)
    box.accepted.connect(dlg.accept)
    box.rejected.connect(dlg.reject)
    return box, ok


class ExportDialog(QDialog):
    """Where to write the bundle of one version and how to seal it."""

    def __init__(self, ref: str, keys: list[str], default_key: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.ref = ref
        self.setWindowTitle(f"Export bundle — {ref}")
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        lay.addWidget(label(f"Export {ref} and its evidence to one bundle", "SectionTitle"))
        lay.addWidget(
            label(
                "The bundle carries the model file, its validations, monitoring profile and "
                "audit events. Another registry imports it only after checking every hash, "
                "and trusts it when it trusts your signing key.",
                "Muted",
                wrap=True,
            )
        )
        form = QFormLayout()
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("bundle file (.mwb)")
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose where to save it")
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.key = QComboBox()
        for k in keys:
            self.key.addItem(f"sign with key {k}", k)
        if not keys:
            self.key.addItem(f"create a signing key named {default_key} and sign", NEW_KEY)
        self.key.addItem(
            "unsigned (hash seal only; the importer must accept it explicitly)", UNSIGNED
        )
        self.include_data = QCheckBox("Include the training data snapshot")
        self.include_data.setChecked(True)
        form.addRow("File", row)
        form.addRow("Seal", self.key)
        form.addRow("", self.include_data)
        lay.addLayout(form)
        self._default_key = default_key
        box, self.ok_button = _buttons(self, "Export")
        lay.addWidget(box)
        browse.clicked.connect(self._on_browse_clicked)
        self.path.textChanged.connect(lambda t: self.ok_button.setEnabled(bool(t.strip())))
        self.ok_button.setEnabled(False)

    def _on_browse_clicked(self) -> None:
        default = self.ref.replace(":", "-v").replace("@", "-") + ".mwb"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export bundle", default, "ModelWard bundles (*.mwb);;All files (*)"
        )
        if path:
            self.path.setText(path)

    def values(self) -> tuple[str, str | None, bool, bool, str | None]:
        """``(path, key, unsigned, include_data, new_key)``."""
        data = self.key.currentData()
        return (
            self.path.text().strip(),
            None if data in (UNSIGNED, NEW_KEY) else data,
            data == UNSIGNED,
            self.include_data.isChecked(),
            self._default_key if data == NEW_KEY else None,
        )


class ImportDialog(QDialog):
    """The verification result of a bundle; an unverified one needs an explicit, reasoned yes."""

    def __init__(self, check: BundleCheck, parent: QWidget | None = None):
        super().__init__(parent)
        self.check = check
        self.setWindowTitle(f"Import bundle — {check.ref}")
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        verified = check.signed_by is not None
        lay.addWidget(
            label(
                "Verified: signed by a trusted signer"
                if verified
                else "Intact, but its origin is not proven",
                "Ok" if verified else "Error",
            )
        )
        self.summary = QPlainTextEdit(check.summary())
        self.summary.setReadOnly(True)
        self.summary.setFixedHeight(120)
        lay.addWidget(self.summary)
        form = QFormLayout()
        self.name = QLineEdit(check.name)
        form.addRow("Register as model", self.name)
        lay.addLayout(form)
        self.accept_box = QCheckBox(
            "I accept this bundle although its origin is not proven (recorded in the audit trail)"
        )
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("Why do you accept it? (required)")
        self.reason.setFixedHeight(60)
        if verified:
            self.accept_box.hide()
            self.reason.hide()
        else:
            lay.addWidget(self.accept_box)
            lay.addWidget(self.reason)
        lay.addWidget(
            label(
                "The model file is still inspected without being executed before it is "
                "registered; a file that fails is quarantined.",
                "Muted",
                wrap=True,
            )
        )
        box, self.ok_button = _buttons(self, "Import")
        lay.addWidget(box)
        self.accept_box.toggled.connect(self._update_state)
        self.reason.textChanged.connect(self._update_state)
        self.name.textChanged.connect(self._update_state)
        self._update_state()

    def _update_state(self) -> None:
        ok = bool(self.name.text().strip())
        if self.check.signed_by is None:
            ok = ok and self.accept_box.isChecked() and bool(self.reason.toPlainText().strip())
        self.ok_button.setEnabled(ok)

    def values(self) -> tuple[str, str | None, bool, str | None]:
        """``(path, name, accept_unverified, reason)``."""
        unverified = self.check.signed_by is None
        name = self.name.text().strip()
        return (
            self.check.path,
            None if name == self.check.name else name,
            unverified,
            self.reason.toPlainText().strip() if unverified else None,
        )


class RestoreDialog(QDialog):
    """Explains what a restore does and asks where to restore to, before anything is written."""

    def __init__(self, backup: str, current_home: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.backup = backup
        self.setWindowTitle("Restore a backup")
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        lay.addWidget(label("Restore a backup", "SectionTitle"))
        lay.addWidget(
            label(
                "What happens: the backup is verified completely first (its seal, every hash, "
                "its audit chain); nothing is written if any check fails. It is then restored "
                "into the folder below and verified again. If that folder already holds a "
                "registry, its database is set aside under recovery/ (never deleted).\n\n"
                f"The registry open in this window ({current_home}) is not changed. To use the "
                "restored one, tick the box below: ModelWard opens it from the next start.",
                "Muted",
                wrap=True,
            )
        )
        form = QFormLayout()
        row = QHBoxLayout()
        self.target = QLineEdit()
        self.target.setPlaceholderText("an empty folder for the restored registry")
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose the folder to restore into")
        row.addWidget(self.target, 1)
        row.addWidget(browse)
        form.addRow("Backup", label(backup, wrap=True))
        form.addRow("Restore into", row)
        lay.addLayout(form)
        self.switch = QCheckBox("Use the restored registry from the next start")
        lay.addWidget(self.switch)
        box, self.ok_button = _buttons(self, "Verify and restore")
        lay.addWidget(box)
        browse.clicked.connect(self._on_browse_clicked)
        self.target.textChanged.connect(lambda t: self.ok_button.setEnabled(bool(t.strip())))
        self.ok_button.setEnabled(False)

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Restore into")
        if folder:
            self.target.setText(folder)

    def values(self) -> tuple[str, str, bool]:
        """``(backup, target folder, switch to it)``."""
        return self.backup, self.target.text().strip(), self.switch.isChecked()
