"""The model name a single registered file goes under: an existing model or a new one."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QVBoxLayout,
    QWidget,
)

from modelward.ui.pickers import ModelNamePicker
from modelward.ui.widgets import label


class RegisterNameDialog(QDialog):
    """Asks which model a file becomes a version of (existing models are listed)."""

    def __init__(
        self,
        file_name: str,
        guess: str,
        reader: Any = None,
        registry: Any = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Register a model")
        self.setMinimumWidth(480)
        lay = QVBoxLayout(self)
        lay.setSpacing(12)
        lay.addWidget(label(f"Register {file_name}", "SectionTitle"))
        lay.addWidget(
            label(
                "Pick a model to add this file as its next version, or type a new name.",
                "Muted",
                wrap=True,
            )
        )
        form = QFormLayout()
        self.name_picker = ModelNamePicker(reader, registry, current=guess)
        form.addRow("Model", self.name_picker)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Register")
        self.ok_button.setProperty("primary", True)
        self.ok_button.setToolTip("Check the file and register it as a new version")
        lay.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def name(self) -> str | None:
        return self.name_picker.name() or None
