"""Settings: registry location, thresholds, theme."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from modelward.core.settings import Settings, Theme
from modelward.ui.widgets import label


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._base = settings
        lay = QVBoxLayout(self)
        form = QFormLayout()
        form.setSpacing(10)
        reg_row = QHBoxLayout()
        self.registry = QLineEdit(settings.registry)
        self.registry.setPlaceholderText("Default (MODELWARD_HOME or the user data folder)")
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose the registry folder")
        browse.clicked.connect(self._on_browse_registry)
        reg_row.addWidget(self.registry, 1)
        reg_row.addWidget(browse)
        form.addRow("Registry folder", reg_row)
        form.addRow("", label("A new registry location takes effect after a restart.", "Muted"))
        form.addRow(
            "Watched folders",
            label("On the Watched folders page (they are kept in the registry).", "Muted"),
        )
        self.drift = QDoubleSpinBox()
        self.drift.setRange(0.01, 9.99)
        self.drift.setSingleStep(0.05)
        self.drift.setValue(settings.drift_threshold)
        form.addRow("Drift alert (PSI ≥)", self.drift)
        self.drop = QDoubleSpinBox()
        self.drop.setRange(0.0, 0.99)
        self.drop.setSingleStep(0.01)
        self.drop.setValue(settings.performance_drop)
        form.addRow("Performance alert (drop ≥)", self.drop)
        self.metrics = QSpinBox()
        self.metrics.setRange(0, 8)
        self.metrics.setValue(settings.key_metric_columns)
        form.addRow("Metric columns in the table", self.metrics)
        self.theme = QComboBox()
        for value, text in (
            (Theme.SYSTEM, "Follow the system"),
            (Theme.LIGHT, "Light"),
            (Theme.DARK, "Dark"),
        ):
            self.theme.addItem(text, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        form.addRow("Theme", self.theme)
        lay.addLayout(form)
        bb = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def _on_browse_registry(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Registry folder", self.registry.text())
        if d:
            self.registry.setText(d)

    def result_settings(self) -> Settings:
        return self._base.replace(
            registry=self.registry.text().strip(),
            drift_threshold=self.drift.value(),
            performance_drop=self.drop.value(),
            key_metric_columns=self.metrics.value(),
            theme=self.theme.currentData(),
        )
