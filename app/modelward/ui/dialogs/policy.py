"""Edit the policy of one model: triggers with thresholds, actions, four-eyes, gates, alert command.

The dialog only gathers a :class:`~modelward.core.policies.Policy`; it checks
it with the core's own :meth:`Policy.check` and the caller stores it as a job
(``set_policy``, audited).
"""

from __future__ import annotations

import shlex
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from modelward.core.errors import InvalidInput, ModelWardError
from modelward.core.policies import Policy, Triggers
from modelward.ui.widgets import label

# Monitored metrics of every model kind (binary, multiclass, regression).
METRICS = (
    "roc_auc",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "f1_macro",
    "f1_weighted",
    "log_loss",
    "r2",
    "rmse",
    "mae",
    "mape",
)


class OptionalNumber(QWidget):
    """A switch and a number: ``None`` when the switch is off (a trigger that is off)."""

    def __init__(
        self,
        lo: float,
        hi: float,
        step: float,
        default: float,
        *,
        decimals: int = 3,
        suffix: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.on = QCheckBox()
        self.spin: QDoubleSpinBox | QSpinBox
        if decimals == 0:
            self.spin = QSpinBox()
            self.spin.setRange(int(lo), int(hi))
            self.spin.setSingleStep(int(step))
            self.spin.setValue(int(default))
        else:
            self.spin = QDoubleSpinBox()
            self.spin.setDecimals(decimals)
            self.spin.setRange(lo, hi)
            self.spin.setSingleStep(step)
            self.spin.setValue(default)
        if suffix:
            self.spin.setSuffix(suffix)
        lay.addWidget(self.on)
        lay.addWidget(self.spin, 1)
        self.on.toggled.connect(self.spin.setEnabled)
        self.spin.setEnabled(False)

    def set_value(self, value: float | None) -> None:
        self.on.setChecked(value is not None)
        if value is not None:
            self.spin.setValue(value)  # type: ignore[arg-type]

    def value(self) -> Any:
        return self.spin.value() if self.on.isChecked() else None


def _split(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.replace("\n", ",").split(",") if s.strip())


class PolicyDialog(QDialog):
    """Gathers a :class:`Policy` and a reason for the audit trail."""

    def __init__(
        self,
        model: str,
        policy: Policy | None = None,
        *,
        models: list[str] | tuple[str, ...] = (),
        owner: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle(f"Policy — {model}" if model else "New policy")
        self.setMinimumWidth(900)
        p = policy or Policy(model=model or "model", owner=owner)
        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        top = QHBoxLayout()
        self.model = QComboBox()
        self.model.setEditable(False)
        self.model.addItems(list(dict.fromkeys([m for m in (model, *models) if m])))
        self.model.setCurrentText(model)
        self.model.setEnabled(policy is None)
        self.enabled = QCheckBox("Enabled")
        self.enabled.setChecked(p.enabled)
        top.addWidget(label("Policy of", "SectionTitle"))
        top.addWidget(self.model, 1)
        top.addWidget(self.enabled)
        lay.addLayout(top)

        cols = QHBoxLayout()
        cols.setSpacing(12)
        # When: triggers
        trig = QGroupBox("When (triggers; each batch, and on a timer)")
        tf = QFormLayout(trig)
        t = p.triggers
        self.drift_share = OptionalNumber(0, 1, 0.05, 0.5)
        self.psi = OptionalNumber(0, 10, 0.05, 0.25)
        self.psi_features = QLineEdit(", ".join(t.psi_features))
        self.psi_features.setPlaceholderText("all columns")
        self.metric_name = QComboBox()
        self.metric_name.setEditable(True)
        self.metric_name.addItems(list(dict.fromkeys([t.metric, *METRICS])))
        self.performance_below = OptionalNumber(-1e6, 1e6, 0.01, 0.7)
        self.performance_drop = OptionalNumber(0, 1e6, 0.01, 0.05)
        self.every_days = OptionalNumber(0, 3650, 1, 30, decimals=1, suffix=" days")
        self.new_rows = OptionalNumber(1, 10**9, 100, 1000, decimals=0, suffix=" rows")
        tf.addRow("Drift share above", self.drift_share)
        tf.addRow("PSI above", self.psi)
        tf.addRow("PSI columns", self.psi_features)
        tf.addRow("Metric", self.metric_name)
        tf.addRow("Performance below", self.performance_below)
        tf.addRow("Performance drop", self.performance_drop)
        tf.addRow("Every", self.every_days)
        tf.addRow("New labelled rows", self.new_rows)
        cols.addWidget(trig, 1)
        # What: actions
        act = QGroupBox("Then (actions)")
        af = QFormLayout(act)
        self.alert = QCheckBox("Raise an alert")
        self.retrain = QCheckBox("Retrain the champion's recipe")
        self.retrain.setToolTip("on the newest labelled batches of its data inbox")
        self.promote = QCheckBox("Promote a challenger that passes the gates")
        self.alias = QLineEdit(p.alias)
        self.four_eyes = QCheckBox("Four-eyes: a second person approves")
        self.protected = QLineEdit(", ".join(p.protected_aliases))
        self.protected.setPlaceholderText("champion")
        self.window_batches = QSpinBox()
        self.window_batches.setRange(1, 1000)
        self.holdout = QDoubleSpinBox()
        self.holdout.setRange(0.05, 0.9)
        self.holdout.setSingleStep(0.05)
        self.include_training = QCheckBox("Also train on the champion's training data")
        self.gates = QPlainTextEdit()
        self.gates.setPlaceholderText("one per line, e.g. roc_auc>=champion-0.02 (empty: default)")
        self.gates.setFixedHeight(56)
        self.n_boot = QSpinBox()
        self.n_boot.setRange(50, 100_000)
        self.ttl = QDoubleSpinBox()
        self.ttl.setRange(1, 24 * 365)
        self.ttl.setDecimals(0)
        self.ttl.setSuffix(" hours")
        for w in (self.alert, self.retrain, self.promote):
            af.addRow(w)
        af.addRow("Alias", self.alias)
        af.addRow(self.four_eyes)
        af.addRow("Protected aliases", self.protected)
        af.addRow("Window (batches)", self.window_batches)
        af.addRow("Holdout share", self.holdout)
        af.addRow(self.include_training)
        af.addRow("Gates", self.gates)
        af.addRow("Bootstrap resamples", self.n_boot)
        af.addRow("Requests expire after", self.ttl)
        cols.addWidget(act, 1)
        lay.addLayout(cols)

        fwd = QGroupBox("Forward alerts and sign")
        ff = QFormLayout(fwd)
        self.command = QLineEdit()
        self.command.setPlaceholderText(
            "program and arguments, run with the alert as JSON on stdin (no shell)"
        )
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0.5, 3600)
        self.timeout.setSuffix(" s")
        self.owner = QLineEdit()
        self.owner.setPlaceholderText("the maker of the promotions this policy requests")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why this change (recorded in the audit trail)")
        ff.addRow("Alert command", self.command)
        ff.addRow("Command timeout", self.timeout)
        ff.addRow("Owner", self.owner)
        ff.addRow("Reason", self.reason)
        lay.addWidget(fwd)

        self.error_label = label("", "Error", wrap=True)
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Save policy")
        self.ok_button.setProperty("primary", True)
        lay.addWidget(self.buttons)
        self.buttons.accepted.connect(self._on_save_clicked)
        self.buttons.rejected.connect(self.reject)
        self.four_eyes.toggled.connect(self.protected.setEnabled)
        self.retrain.toggled.connect(self._update_state)
        self.set_policy(p)
        self.model.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------ policy <-> widgets
    def set_policy(self, p: Policy) -> None:
        t = p.triggers
        self.enabled.setChecked(p.enabled)
        self.drift_share.set_value(t.drift_share_above)
        self.psi.set_value(t.psi_above)
        self.psi_features.setText(", ".join(t.psi_features))
        self.metric_name.setCurrentText(t.metric)
        self.performance_below.set_value(t.performance_below)
        self.performance_drop.set_value(t.performance_drop)
        self.every_days.set_value(t.every_days)
        self.new_rows.set_value(t.new_labelled_rows)
        self.alert.setChecked(p.alert)
        self.retrain.setChecked(p.retrain)
        self.promote.setChecked(p.promote)
        self.alias.setText(p.alias)
        self.four_eyes.setChecked(p.four_eyes)
        self.protected.setText(", ".join(p.protected_aliases))
        self.protected.setEnabled(p.four_eyes)
        self.window_batches.setValue(p.window_batches)
        self.holdout.setValue(p.holdout_share)
        self.include_training.setChecked(p.include_training_data)
        self.gates.setPlainText("\n".join(p.gates))
        self.n_boot.setValue(p.n_boot)
        self.ttl.setValue(p.approval_ttl_hours)
        self.command.setText(shlex.join(p.alert_command))
        self.timeout.setValue(p.alert_timeout)
        self.owner.setText(p.owner)
        self._update_state()

    def policy(self) -> Policy:
        """The policy as entered (not yet checked)."""
        try:
            command = tuple(shlex.split(self.command.text()))
        except ValueError as e:
            raise InvalidInput(f"the alert command cannot be read: {e}") from None
        rows = self.new_rows.value()
        return Policy(
            model=self.model.currentText().strip(),
            triggers=Triggers(
                drift_share_above=self.drift_share.value(),
                psi_above=self.psi.value(),
                psi_features=_split(self.psi_features.text()),
                metric=self.metric_name.currentText().strip(),
                performance_below=self.performance_below.value(),
                performance_drop=self.performance_drop.value(),
                every_days=self.every_days.value(),
                new_labelled_rows=None if rows is None else int(rows),
            ),
            alert=self.alert.isChecked(),
            retrain=self.retrain.isChecked(),
            promote=self.promote.isChecked(),
            alias=self.alias.text().strip() or "champion",
            four_eyes=self.four_eyes.isChecked(),
            protected_aliases=_split(self.protected.text()),
            window_batches=self.window_batches.value(),
            holdout_share=round(self.holdout.value(), 4),
            include_training_data=self.include_training.isChecked(),
            gates=tuple(g.strip() for g in self.gates.toPlainText().splitlines() if g.strip()),
            n_boot=self.n_boot.value(),
            approval_ttl_hours=float(self.ttl.value()),
            alert_command=command,
            alert_timeout=float(self.timeout.value()),
            owner=self.owner.text().strip(),
            enabled=self.enabled.isChecked(),
        )

    def reason_text(self) -> str | None:
        return self.reason.text().strip() or None

    def _update_state(self) -> None:
        for w in (self.window_batches, self.holdout, self.include_training, self.gates):
            w.setEnabled(self.retrain.isChecked())

    def _on_save_clicked(self) -> None:
        try:
            p = self.policy()
            if not p.model:
                raise InvalidInput("choose the model the policy is for")
            p.check()
        except ModelWardError as e:
            self.error_label.setText(str(e))
            self.error_label.show()
            return
        self.accept()
