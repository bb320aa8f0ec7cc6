"""Set or move an alias; a reason is required (it goes into the audit trail)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from modelward.ui.widgets import label

COMMON_ALIASES = ("champion", "challenger", "staging", "production", "candidate")


class AliasDialog(QDialog):
    """Gathers ``(ref, alias, reason)``; the caller runs ``Registry.set_alias`` as a job."""

    def __init__(
        self,
        model: str,
        versions: list[int],
        current: dict[str, int],
        *,
        version: int | None = None,
        alias: str = "champion",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.model_name = model
        self.setWindowTitle(f"Set alias — {model}")
        self.setMinimumWidth(440)
        lay = QVBoxLayout(self)
        lay.setSpacing(12)
        lay.addWidget(label(f"Point an alias of {model} at a version", "SectionTitle"))
        form = QFormLayout()
        self.alias = QComboBox()
        self.alias.setEditable(True)
        names = list(dict.fromkeys([*current, *COMMON_ALIASES]))
        self.alias.addItems(names)
        self.alias.setCurrentText(alias)
        self.version = QComboBox()
        for v in sorted(versions, reverse=True):
            self.version.addItem(f"version {v}", v)
        if version is not None:
            self.version.setCurrentIndex(max(0, self.version.findData(version)))
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("Why? (required — recorded in the audit trail)")
        self.reason.setFixedHeight(80)
        self.now_label = label("", "Muted")
        form.addRow("Alias", self.alias)
        form.addRow("Version", self.version)
        form.addRow("", self.now_label)
        form.addRow("Reason", self.reason)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Set alias")
        self.ok_button.setProperty("primary", True)
        lay.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._current = current
        self.alias.currentTextChanged.connect(self._update_state)
        self.version.currentIndexChanged.connect(self._update_state)
        self.reason.textChanged.connect(self._update_state)
        self._update_state()

    def _update_state(self) -> None:
        alias = self.alias.currentText().strip()
        now = self._current.get(alias)
        self.now_label.setText(
            f"{alias} now points at version {now}" if now is not None else f"{alias} is new"
        )
        ok = bool(alias) and bool(self.reason.toPlainText().strip()) and self.version.count() > 0
        self.ok_button.setEnabled(ok)

    def values(self) -> tuple[str, str, str]:
        """``(ref, alias, reason)``."""
        return (
            f"{self.model_name}:{self.version.currentData()}",
            self.alias.currentText().strip(),
            self.reason.toPlainText().strip(),
        )
