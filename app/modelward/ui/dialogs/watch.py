"""Add a watched folder: where, what arrives there (model files or data batches), how to watch."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from modelward.core.watch import DATA, MODELS
from modelward.ui.pickers import ModelNamePicker
from modelward.ui.widgets import label


class AddFolderDialog(QDialog):
    """Gathers ``(path, kind, model_name, polling)``; the window's watch bridge adds it."""

    def __init__(
        self,
        path: str = "",
        parent: QWidget | None = None,
        *,
        reader: Any = None,
        registry: Any = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Watch a folder")
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        form.setSpacing(10)
        row = QHBoxLayout()
        self.path = QLineEdit(path)
        self.path.setPlaceholderText("A folder your notebooks or jobs save into")
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose the folder")
        browse.clicked.connect(self._on_browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("Folder", row)
        self.kind = QComboBox()
        self.kind.addItem("Model files (.skops, .joblib, .pkl, MLflow folders)", MODELS)
        self.kind.addItem("Data batches for a model (.csv, .parquet)", DATA)
        form.addRow("Arrivals", self.kind)
        # The registry's models are listed (read in the background); a new name can be typed.
        self.model_name = ModelNamePicker(reader, registry)
        form.addRow("Model", self.model_name)
        self.polling = QCheckBox("Poll the folder instead of listening for events")
        self.polling.setToolTip("For network shares and drives that send no change events")
        form.addRow("", self.polling)
        lay.addLayout(form)
        lay.addWidget(
            label(
                "Files are checked before anything is loaded; what fails is quarantined "
                "with a reason and shown in the feed.",
                "Muted",
                wrap=True,
            )
        )
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Watch")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.path.textChanged.connect(self._update)
        self.model_name.currentTextChanged.connect(self._update)
        self.kind.currentIndexChanged.connect(self._update)
        self._update()

    def _on_browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Watch a folder", self.path.text())
        if d:
            self.path.setText(d)

    def _update(self) -> None:
        data = self.kind.currentData() == DATA
        self.model_name.lineEdit().setPlaceholderText(
            "Required: the model these batches are scored with"
            if data
            else "Optional: one model for every file (default: from each file name)"
        )
        ok = bool(self.path.text().strip()) and (not data or bool(self.model_name.name()))
        self.ok_button.setEnabled(ok)

    def values(self) -> tuple[str, str, str | None, bool]:
        name = self.model_name.name() or None
        return (
            self.path.text().strip(),
            str(self.kind.currentData()),
            name,
            self.polling.isChecked(),
        )
