"""Table models of the validation and comparison views (rows from the worker's result)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelward.ui.models.rows import Column, RowTableModel


def fmt(v: Any) -> str:
    try:
        return f"{float(v):.4g}"
    except (TypeError, ValueError):
        return "—"


def fmt_p(v: Any) -> str:
    try:
        p = float(v)
    except (TypeError, ValueError):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


class MetricsTableModel(RowTableModel[tuple[str, Any]]):
    """Metric name and value, sorted by name."""

    columns = (
        Column("Metric", lambda m: m[0]),
        Column("Value", lambda m: fmt(m[1]), numeric=True),
    )  # fmt: skip

    def set_metrics(self, metrics: Mapping[str, Any]) -> None:
        self.set_rows([(k, metrics[k]) for k in sorted(metrics)])


class DifferencesTableModel(RowTableModel[Mapping[str, Any]]):
    """The paired differences of a comparison; the verdict is coloured (better / worse)."""

    def __init__(self, parent: Any = None):
        super().__init__(parent, self._columns({}))

    @staticmethod
    def _columns(colors: Mapping[str, str]) -> tuple[Column[Mapping[str, Any]], ...]:
        verdict_color = {"better": colors.get("success"), "worse": colors.get("danger")}
        return (
            Column("Metric", lambda d: d["metric"]),
            Column("Champion", lambda d: fmt(d["champion"]), numeric=True),
            Column("Challenger", lambda d: fmt(d["challenger"]), numeric=True),
            Column("Difference", lambda d: f"{float(d['difference']):+.4f}", numeric=True),
            Column("95% CI",
                   lambda d: f"[{float(d['ci_low']):+.4f}, {float(d['ci_high']):+.4f}]",
                   numeric=True),
            Column("p", lambda d: fmt_p(d["p_value"]), numeric=True),
            Column("Verdict", lambda d: d["verdict"],
                   color=lambda d: verdict_color.get(d["verdict"])),
            Column("Test", lambda d: d["test"]),
        )  # fmt: skip

    def set_differences(
        self, diffs: Sequence[Mapping[str, Any]], colors: Mapping[str, str]
    ) -> None:
        self.set_rows(diffs, self._columns(colors))


class GatesTableModel(RowTableModel[Mapping[str, Any]]):
    """The gates of a comparison, passed or failed."""

    def __init__(self, parent: Any = None):
        super().__init__(parent, self._columns({}))

    @staticmethod
    def _columns(colors: Mapping[str, str]) -> tuple[Column[Mapping[str, Any]], ...]:
        return (
            Column("Gate", lambda g: g["gate"]),
            Column("Passed", lambda g: "✓ passed" if g["passed"] else "✗ failed",
                   color=lambda g: colors.get("success" if g["passed"] else "danger")),
            Column("Detail", lambda g: g.get("detail", "")),
        )  # fmt: skip

    def set_gates(self, gates: Sequence[Mapping[str, Any]], colors: Mapping[str, str]) -> None:
        self.set_rows(gates, self._columns(colors))
