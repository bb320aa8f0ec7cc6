"""Render the model card and validation report from facts and an editable template.

The template is a ``string.Template`` HTML file: the packaged one
(``templates/report.html``) unless ``<registry home>/templates/report.html``
exists. Charts are SVG made here; :func:`render_html` inlines them, so the HTML
file needs nothing from outside (no scripts, fonts, images or styles to
fetch). The PDF writer (``modelward.ui.pdf``, Qt) asks for the same HTML with
its own chart markup, because Qt's rich text shows SVG only as images.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import string
from collections.abc import Callable
from html import escape as _html_escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core import platform
from modelward.core.clock import display_ts, utcnow
from modelward.core.evidence.reports.facts import gather_facts
from modelward.core.evidence.reports.svg import Series, bar_chart, line_chart
from modelward.core.paths import resource
from modelward.core.text import safe_display, safe_lines

if TYPE_CHECKING:
    from modelward.core.registry import Registry


def escape(text: str) -> str:
    """HTML-escaped, with control and bidirectional characters shown as escapes (lines kept)."""
    return _html_escape(safe_lines(text))


def escape_name(text: str) -> str:
    """A name, path or subject: HTML-escaped, every control character shown as an escape."""
    return _html_escape(safe_display(text))


__all__ = [
    "CHARTS",
    "WIDE_CHARTS",
    "charts",
    "load_template",
    "not_recorded",
    "render_html",
    "template_path",
    "write_html",
]

CHARTS = (
    "roc",
    "pr",
    "calibration",
    "lift",
    "gains",
    "importance",
    "pdp",
    "drift",
    "performance",
)
# charts drawn across the whole text width (the others go two to a row)
WIDE_CHARTS = frozenset({"importance"})
TEMPLATE = "report.html"
_ZEROS = "0" * 64
ChartMarkup = Callable[[str, str], str]
# headline metrics first, in the order a validator reads them
_HEADLINE = ("gini", "ks", "roc_auc", "average_precision", "accuracy", "f1", "r2", "rmse", "mae")
_MAX_PDP = 6


def template_path(registry: Registry | None) -> Path | None:
    """The user's override, ``<home>/templates/report.html``, if there is one."""
    if registry is None:
        return None
    p = registry.home / "templates" / TEMPLATE
    return p if p.is_file() else None


def load_template(
    registry: Registry | None = None, path: str | os.PathLike[str] | None = None
) -> str:
    """The template text: ``path``, else the registry's override, else the packaged one."""
    p = Path(path) if path else template_path(registry)
    if p is not None:
        return p.read_text(encoding="utf-8")
    return resource(f"templates/{TEMPLATE}").read_text(encoding="utf-8")


def _table(
    headers: list[str] | None,
    rows: list[list[Any]],
    num: set[int] | None = None,
    nowrap: set[int] | None = None,
    cls: str = "",
    full: bool = False,
    widths: list[str] | None = None,
) -> str:
    num, nowrap = num or set(), nowrap or set()
    attrs = f' class="{cls}"' if cls else ""
    attrs += ' width="100%"' if full else ""
    out = [f'<table{attrs} cellspacing="0" cellpadding="3">']
    if headers:
        # a header row in <thead>: the PDF repeats it on every page the table spans
        out.append(
            "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr></thead>"
        )
    for n, r in enumerate(rows):
        cells = []
        for i, c in enumerate(r):
            # a class, not the nowrap attribute: Qt's rich text honours only the CSS
            attr = ' class="num"' if i in num else ' class="nw"' if i in nowrap else ""
            if widths and n == 0 and not headers and i < len(widths) and widths[i]:
                attr += f' width="{widths[i]}"'
            cells.append(f"<td{attr}>{c}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _kv(rows: list[tuple[str, Any]]) -> str:
    """A definition table of the rows that have a value (the summary lists what is missing)."""
    shown = []
    for k, v in rows:
        if _empty(v):
            continue
        shown.append([f"<b>{escape(k)}</b>", v if isinstance(v, _Html) else _v(v)])
    return _table(None, shown, cls="kv") if shown else ""


class _Html(str):
    """Markup made here, inserted as it is."""


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _v(value: Any) -> str:
    """A value as text or a small table: never as JSON."""
    if _empty(value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _nb(f"{value:.4g}")
    if isinstance(value, int):
        return _nb(str(value))
    if isinstance(value, dict):
        return _table(
            None,
            [[escape(str(k)), _v(v)] for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))],
            cls="inner",
        )
    if isinstance(value, list | tuple):
        if all(not isinstance(x, dict | list | tuple) for x in value):
            return escape(", ".join(str(x) for x in value))
        return "<br>".join(_v(x) for x in value)
    return escape(str(value))


def _nb(text: str) -> str:
    """A number or date that must not be broken across lines."""
    return f'<span class="nb">{escape(text)}</span>'


def _when(ts: Any) -> str:
    return _nb(display_ts(str(ts))) if ts else "–"


def _mono(value: Any) -> str:
    return f'<span class="mono">{escape(str(value))}</span>' if value else "–"


def _num(x: float | None, digits: int = 4) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _pct(x: Any) -> str:
    f = _float(x)
    return "–" if f is None else f"{100 * f:.1f}%"


def _float(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _fnan(x: Any) -> float:
    """A finite float, or NaN (a gap in a chart)."""
    f = _float(x)
    return math.nan if f is None else f


def _split(split: Any) -> str | None:
    if not isinstance(split, dict):
        return split if split is None else str(split)
    parts = [str(split.get("kind", "?"))]
    if split.get("kind") in ("holdout", "time") and split.get("test_size") is not None:
        parts.append(f"test size {split['test_size']}")
    if split.get("kind") in ("kfold", "stratified") and split.get("folds") is not None:
        parts.append(f"{split['folds']} folds")
    if split.get("time_column"):
        parts.append(f"time column {split['time_column']}")
    return ", ".join(parts)


def _primary(facts: dict[str, Any]) -> dict[str, Any] | None:
    vals = facts["validations"]
    return vals[-1] if vals else None


def _pairs(d: Any, *keys: str) -> tuple[list[float], ...] | None:
    """Equal-length float lists ``d[k]`` for each key, or ``None`` when any is missing."""
    if not isinstance(d, dict):
        return None
    out = []
    for k in keys:
        xs = d.get(k)
        if not isinstance(xs, list | tuple) or not xs:
            return None
        out.append([_fnan(x) for x in xs])
    n = min(len(x) for x in out)
    return tuple(x[:n] for x in out)


def charts(facts: dict[str, Any]) -> dict[str, str]:
    """The report's SVG charts by name (those the facts can draw).

    PD/ICE charts are named ``pdp:<n>`` (one per explained feature); the
    template's ``chart_pdp`` shows them together.
    """
    out: dict[str, str] = {}
    primary = _primary(facts)
    c = primary["curves"] if primary else {}
    if c.get("roc"):
        auc = primary["metrics"].get("roc_auc") if primary else None
        out["roc"] = line_chart(
            [Series(f"ROC (AUC {_num(auc, 3)})", c["roc"]["fpr"], c["roc"]["tpr"])],
            title="ROC curve",
            xlabel="false positive rate",
            ylabel="true positive rate",
            xlim=(0, 1),
            ylim=(0, 1),
            diagonal=True,
        )
    if c.get("pr"):
        ap = primary["metrics"].get("average_precision") if primary else None
        out["pr"] = line_chart(
            [Series(f"PR (AP {_num(ap, 3)})", c["pr"]["recall"], c["pr"]["precision"])],
            title="Precision-recall curve",
            xlabel="recall",
            ylabel="precision",
            xlim=(0, 1),
            ylim=(0, 1),
        )
    if c.get("calibration"):
        out["calibration"] = line_chart(
            [
                Series(
                    "model",
                    c["calibration"]["mean_predicted"],
                    c["calibration"]["fraction_positive"],
                    markers=True,
                )
            ],
            title="Calibration (reliability)",
            xlabel="mean predicted probability",
            ylabel="fraction positive",
            xlim=(0, 1),
            ylim=(0, 1),
            diagonal=True,
        )
    lift = _pairs(c.get("lift"), "fraction", "lift")
    if lift:
        out["lift"] = line_chart(
            [Series("model", lift[0], lift[1], markers=True)],
            title="Lift by population fraction",
            xlabel="fraction of population (highest scores first)",
            ylabel="lift",
            xlim=(0, 1),
            hline=1.0,
        )
    gains = _pairs(c.get("gains"), "fraction", "captured")
    if gains:
        out["gains"] = line_chart(
            [Series("model", gains[0], gains[1], markers=True)],
            title="Cumulative gains",
            xlabel="fraction of population (highest scores first)",
            ylabel="share of events captured",
            xlim=(0, 1),
            ylim=(0, 1),
            diagonal=True,
        )
    found = c.get("explanations")
    ex: dict[str, Any] = found if isinstance(found, dict) else {}
    imp = [r for r in ex.get("importance") or [] if isinstance(r, dict)]
    if imp:
        imp = sorted(imp, key=lambda r: -(_float(r.get("mean")) or 0.0))[:15]
        out["importance"] = bar_chart(
            [str(r.get("feature")) for r in imp],
            [_fnan(r.get("mean")) for r in imp],
            spread=[_float(r.get("std")) or 0.0 for r in imp],
            title="Permutation importance (bar: mean, whisker: ± 1 sd over repeats)",
            xlabel="drop in score when the feature's values are shuffled",
            width=600,
        )
    for i, pd in enumerate(p for p in ex.get("pdp") or [] if isinstance(p, dict)):
        if i >= _MAX_PDP:
            break
        svg = _pdp_chart(pd)
        if svg:
            out[f"pdp:{i}"] = svg
    mon = facts["monitoring"]
    bs = mon["batches"]
    if bs:
        x = [float(i) for i in range(len(bs))]
        labels = [b["name"] for b in bs]
        share = [b["drift_share"] if b["drift_share"] is not None else math.nan for b in bs]
        out["drift"] = line_chart(
            [
                Series(
                    "share of drifted features",
                    x,
                    share,
                    markers=True,
                    highlight=[b["drifted"] for b in bs],
                )
            ],
            title="Drift history (red ring: batch drifted)",
            xlabel="batch",
            ylabel="drifted share",
            ylim=(0, 1),
            xlim=(-0.5, len(bs) - 0.5),
            xticklabels=labels,
        )
        nan = math.nan
        real = [b["realized"] if b["realized"] is not None else nan for b in bs]
        est = [b["estimated"] if b["estimated"] is not None else nan for b in bs]
        band = mon.get("band") or [None, None]
        out["performance"] = line_chart(
            [
                Series("realized", x, real, markers=True),
                Series("estimated (no labels yet)", x, est, dashed=True, markers=True),
            ],
            title=f"Performance over time ({mon['metric']})",
            xlabel="batch",
            ylabel=mon["metric"],
            xlim=(-0.5, len(bs) - 0.5),
            xticklabels=labels,
            band=(band[0], band[1]) if None not in band else None,
            hline=mon.get("reference"),
        )
    return out


def _pdp_chart(pd: dict[str, Any]) -> str | None:
    """One partial-dependence chart: the average bold, ICE lines thin and faint."""
    feature = str(pd.get("feature"))
    grid = list(pd.get("grid") or [])
    avg = [_fnan(v) for v in pd.get("average") or []]
    if not grid or not avg:
        return None
    target = pd.get("target")
    ylabel = f"predicted {target}" if target else "average prediction"
    if pd.get("kind") == "categorical" or not all(_float(g) is not None for g in grid):
        return bar_chart(
            [str(g) for g in grid],
            avg,
            title=f"Partial dependence: {feature}",
            xlabel=ylabel,
            width=460,
        )
    xs = [float(g) for g in grid]
    ice = [
        Series(
            "",
            xs,
            [_fnan(v) for v in row],
            color="#8aa9d6",
            width=0.8,
            opacity=0.35,
            legend=False,
        )
        for row in (pd.get("ice") or [])[:60]
        if isinstance(row, list | tuple)
    ]
    label = "average (PD)" + (f"; thin lines: {len(ice)} rows (ICE)" if ice else "")
    return line_chart(
        [*ice, Series(label, xs, avg, color="#d9480f", width=2.5)],
        title=f"Partial dependence: {feature}",
        xlabel=feature,
        ylabel=ylabel,
    )


def inline_svg(name: str, svg: str) -> str:
    """Chart markup for the HTML file: the SVG itself."""
    return svg


def _chart_grid(markups: list[str]) -> str:
    """Charts two to a row, each row a table of its own (a row is never split)."""
    rows = [markups[i : i + 2] for i in range(0, len(markups), 2)]
    return "\n".join(
        '<table class="charts"><tr>' + "".join(f"<td>{m}</td>" for m in r) + "</tr></table>"
        for r in rows
    )


def not_recorded(facts: dict[str, Any]) -> list[str]:
    """What the records of this version do not say, each stated once."""
    out: list[str] = []
    d, t, m = facts["data"], facts["training"], facts["model"]
    primary = _primary(facts)
    if not m.get("task"):
        out.append("Task (classification or regression)")
    if not m.get("purpose"):
        out.append("Purpose of the model (no description or 'purpose' tag)")
    if not d.get("source"):
        out.append("Training data source")
    if not d.get("fingerprint"):
        out.append("Training data fingerprint")
    if not d.get("snapshot_sha256"):
        out.append("Snapshot of the training data")
    if not d.get("period"):
        out.append("Training data period (no time column in the recipe)")
    if not d.get("target"):
        out.append("Target column of the training data")
    if not d.get("schema"):
        out.append("Input schema (feature names and types)")
    if not t.get("recipe"):
        out.append("Training recipe (the model was registered, not trained here)")
    if not t.get("environment"):
        out.append("Training environment (library versions)")
    if primary is None:
        out.append("Validation on held-out data: no validation is stored for this version")
    else:
        c = primary["curves"]
        binary = bool(c.get("roc"))
        if not primary["intervals"]:
            out.append("Confidence intervals of the metrics (none stored, none bootstrapped)")
        if not isinstance(c.get("explanations"), dict):
            out.append("Explanations (permutation importance, partial dependence)")
        if binary:
            if "gini" not in primary["metrics"] and "ks" not in primary["metrics"]:
                out.append("Gini and KS statistics")
            if not c.get("lift") and not c.get("gains"):
                out.append("Lift and cumulative gains")
            if not c.get("bands"):
                out.append("Score-band table")
            if not c.get("calibration_test"):
                out.append("Calibration test (Hosmer-Lemeshow, ECE)")
            if facts.get("decision_threshold") is None:
                out.append("Decision threshold")
    if not facts["monitoring"]["batches"]:
        out.append("Monitoring of production data (no batch has been checked)")
    elif not facts["monitoring"].get("groups") and not facts["monitoring"].get("segments"):
        out.append("Group and segment gaps (no monitored batch named a group or segment column)")
    if not facts["gates"]["results"]:
        out.append("Promotion gates (no policy sets gates for this model, no comparison stored)")
    if not facts["approvals"]:
        out.append("Approvals (no alias, trust or approval event)")
    return out


def _metric_rows(x: dict[str, Any], keys: list[str]) -> list[list[Any]]:
    rows = []
    for k in keys:
        val = x["metrics"].get(k)
        ci = x["intervals"].get(k)
        rows.append(
            [
                escape(k),
                _num(_float(val)),
                f"{_num(_float(ci[0]))} – {_num(_float(ci[1]))}" if ci else "–",
                escape(x.get("interval_methods", {}).get(k, "")) if ci else "–",
            ]
        )
    return rows


def _headline_keys(metrics: dict[str, Any]) -> list[str]:
    keys = [k for k in _HEADLINE if k in metrics]
    return keys or list(metrics)[:4]


def _summary(facts: dict[str, Any], missing: list[str]) -> dict[str, str]:
    v, m = facts["version"], facts["model"]
    primary = _primary(facts)
    summary = _kv(
        [
            ("Model version", v["ref"]),
            ("Aliases", ", ".join(v["aliases"]) or "none"),
            ("Task", m["task"]),
            ("Estimator", v["estimator_class"]),
            ("Status", v["status"]),
            (
                "Registered",
                _Html(f"{_when(v['created_at'])} by {escape_name(str(v['created_by']))}"),
            ),
            ("Owner", m["owner"]),
            ("Purpose", m["purpose"]),
        ]
    )
    if primary:
        summary += (
            f"<p>Headline metrics of validation {primary['id']} ({primary['rows']} rows of "
            f"{escape(str(primary['data_source'] or 'data'))}):</p>"
            + _table(
                ["Metric", "Value", "95% interval", "Interval method"],
                _metric_rows(primary, _headline_keys(primary["metrics"])),
                num={1, 2},
            )
        )
    else:
        summary += "<p>No validation is stored for this version: no metric can be stated.</p>"
    g = facts["gates"]
    if g["results"]:
        word = {True: '<b class="pass">PASS</b>', False: '<b class="fail">FAIL</b>'}
        rows = [
            [
                _mono(r["gate"]),
                word.get(r["passed"], '<span class="warn">not evaluated</span>'),
                escape(r["detail"]),
                escape(r["source"]),
            ]
            for r in g["results"]
        ]
        passed = [r["passed"] for r in g["results"]]
        verdict = (
            "all gates pass"
            if all(p is True for p in passed)
            else f"{passed.count(False)} gate(s) fail"
            if False in passed
            else "some gates could not be evaluated"
        )
        gates = f"<p>Gates of the promotion policy: <b>{verdict}</b>.</p>" + _table(
            ["Gate", "Result", "Detail", "Checked on"], rows, nowrap={0, 1}
        )
    else:
        gates = f"<p>No promotion gates are set for {escape(v['name'])}.</p>"
    th = facts.get("decision_threshold")
    threshold = ""
    if th is not None:
        threshold = "<h3>Decision threshold</h3>" + _kv(
            [
                ("Threshold", _Html(_nb(f"{th['threshold']:.4g}"))),
                ("Cost of a false positive", th.get("cost_fp")),
                ("Cost of a false negative", th.get("cost_fn")),
                ("Set by", th.get("set_by")),
                ("Set at", _Html(_when(th["set_at"])) if th.get("set_at") else None),
            ]
        )
    audit_head = _audit_head(facts.get("audit_head"), facts["hashes"].get("registry_head"))
    items = missing
    nr = (
        "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in items) + "</ul>"
        if items
        else "<p>Everything this report covers is recorded.</p>"
    )
    return {
        "summary": summary,
        "gates": gates,
        "threshold": threshold,
        "audit_head": audit_head,
        "not_recorded": nr,
    }


def _audit_head(head: Any, line: Any) -> str:
    """The registry's audit head at the time of the report, signed when a key was there."""
    if not isinstance(head, dict):
        return f'<p>Audit head: <span class="mono">{escape(str(line))}</span></p>' if line else ""
    if head.get("signature"):
        sig: Any = _Html(
            f"Ed25519 by key {_mono(head.get('key_id'))}: {_mono(head.get('signature'))}"
        )
    else:
        # the reason names a command; a filed report states the fact only
        sig = "unsigned: the registry had no signing key when this report was made"
    return "<h3>Registry audit head</h3>" + _kv(
        [
            ("Newest audit event", _Html(_nb(f"#{head.get('seq')}"))),
            ("Its chain hash", _Html(_mono(head.get("hash")))),
            ("Read at", _Html(_when(head.get("ts")))),
            ("Signature", sig),
            ("Public key", _Html(_mono(head["public_key"])) if head.get("public_key") else None),
        ]
    )


def _credit(x: dict[str, Any]) -> str:
    """Gini and KS, the calibration test and the score-band table of one validation."""
    c, mt = x["curves"], x["metrics"]
    parts = []
    gk = [k for k in ("gini", "ks") if k in mt]
    if gk:
        bits = []
        for k in gk:
            ci = x["intervals"].get(k)
            bits.append(
                f"<b>{'Gini' if k == 'gini' else 'KS'}</b> {_nb(_num(_float(mt[k])))}"
                + (
                    f" (95% interval {_nb(_num(_float(ci[0])))} – {_nb(_num(_float(ci[1])))})"
                    if ci
                    else ""
                )
            )
        parts.append("<p>" + "; ".join(bits) + ".</p>")
    ct = c.get("calibration_test")
    if isinstance(ct, dict):
        hl, dof, pv, ece = (ct.get(k) for k in ("hosmer_lemeshow", "df", "p_value", "ece"))
        bits = []
        if _float(hl) is not None:
            bits.append(
                f"Hosmer-Lemeshow statistic {_nb(_num(_float(hl), 2))}"
                + (f" on {_nb(str(dof))} degrees of freedom" if dof is not None else "")
                + (f" (p = {_nb(_num(_float(pv), 3))})" if _float(pv) is not None else "")
            )
        if _float(ece) is not None:
            bits.append(f"expected calibration error (ECE) {_nb(_num(_float(ece), 3))}")
        if bits:
            parts.append("<p>Calibration test: " + "; ".join(bits) + ".</p>")
    bands = [b for b in c.get("bands") or [] if isinstance(b, dict)]
    if bands:
        parts.append(
            "<h3>Score bands</h3>"
            + _table(
                [
                    "Band",
                    "Score from",
                    "to",
                    "Population",
                    "Events",
                    "Event rate",
                    "Cumulative capture",
                ],
                [
                    [
                        # the number, not the stored label: the label repeats the
                        # two edges beside it and broke mid-number in the PDF
                        str(i),
                        _num(_float(b.get("low"))),
                        _num(_float(b.get("high"))),
                        _v(b.get("population")),
                        _v(b.get("events")),
                        _pct(b.get("event_rate")),
                        _pct(b.get("cum_capture")),
                    ]
                    for i, b in enumerate(bands, 1)
                ],
                num={1, 2, 3, 4, 5, 6},
            )
        )
    return "\n".join(parts)


def _threshold_matrix(x: dict[str, Any], th: dict[str, Any] | None) -> str:
    tm = x.get("threshold")
    if not tm:
        return ""
    (tn, fp), (fn, tp) = tm["matrix"]
    neg, pos = (escape(c) for c in tm["classes"][:2])
    out = (
        f"<h3>At the decision threshold {_nb(format(tm['threshold'], '.4g'))}</h3>"
        + _table(
            ["", f"decided {neg}", f"decided {pos}"],
            [[f"<b>true {neg}</b>", tn, fp], [f"<b>true {pos}</b>", fn, tp]],
            num={1, 2},
        )
        + _kv(
            [
                (
                    "Precision",
                    _Html(_pct(tm["precision"])) if tm["precision"] is not None else None,
                ),
                ("Recall", _Html(_pct(tm["recall"])) if tm["recall"] is not None else None),
                ("Share decided positive", _Html(_pct(tm["flagged_share"]))),
            ]
        )
    )
    if th and _float(th.get("cost_fp")) is not None and _float(th.get("cost_fn")) is not None:
        cost = fp * float(th["cost_fp"]) + fn * float(th["cost_fn"])
        out += f"<p>Expected cost on this data: {_nb(f'{cost:.4g}')} ({fp} false positives, {fn} false negatives).</p>"
    return out


_ELSEWHERE = '<p class="sub">Nothing stored: see the list in the summary.</p>'


def _explanations(x: dict[str, Any] | None) -> str:
    ex = x["curves"].get("explanations") if x else None
    if not isinstance(ex, dict):
        return _ELSEWHERE
    imp = [r for r in ex.get("importance") or [] if isinstance(r, dict)]
    imp = sorted(imp, key=lambda r: -(_float(r.get("mean")) or 0.0))
    text = (
        f"<p>Method: {escape(str(ex.get('method') or 'not stated'))}; computed on "
        f"{_nb(str(ex.get('rows_used')))} rows of validation {x['id'] if x else ''}.</p>"
    )
    if imp:
        text += _table(
            ["Feature", "Mean importance", "Spread (sd)"],
            [
                [
                    escape(str(r.get("feature"))),
                    _num(_float(r.get("mean"))),
                    _num(_float(r.get("std"))),
                ]
                for r in imp
            ],
            num={1, 2},
        )
    return text


def _monitoring_groups(mon: dict[str, Any]) -> str:
    g, sg = mon.get("groups") or {}, mon.get("segments") or {}
    parts = []
    by = g.get("by_group") if isinstance(g, dict) else None
    if by:
        parts.append(
            f"<h3>Group gaps by {escape(str(g.get('column')))} (batch {escape(str(mon.get('groups_batch')))})</h3>"
            + _table(
                ["Group", "Rows", "Selection rate", "True positive rate", "Calibration"],
                [
                    [
                        escape(str(k)),
                        _v(r.get("n")),
                        _num(_float(r.get("selection_rate")), 3),
                        _num(_float(r.get("true_positive_rate")), 3),
                        _num(_float(r.get("calibration")), 3),
                    ]
                    for k, r in by.items()
                    if isinstance(r, dict)
                ],
                num={1, 2, 3, 4},
            )
        )
        gaps = g.get("gaps") or {}
        if gaps:
            parts.append(
                _table(
                    ["Gap", "Value", "Threshold", "Crossed"],
                    [
                        [
                            escape(str(k)),
                            _num(_float(r.get("value")), 3),
                            _num(_float(r.get("threshold")), 3),
                            '<span class="warn">yes</span>' if r.get("crossed") else "no",
                        ]
                        for k, r in gaps.items()
                        if isinstance(r, dict)
                    ],
                    num={1, 2},
                )
            )
    segs = sg.get("segments") if isinstance(sg, dict) else None
    if segs:
        parts.append(
            f"<h3>Segments by {escape(str(sg.get('column')))}</h3>"
            + _table(
                ["Segment", "Rows", "Drifted share", "Drifted"],
                [
                    [
                        escape(str(e.get("segment"))),
                        _v(e.get("rows")),
                        _num(_float(e.get("drift_share")), 2),
                        '<span class="warn">yes</span>' if e.get("drifted") else "no",
                    ]
                    for e in segs
                    if isinstance(e, dict)
                ],
                num={1, 2},
            )
        )
    return "\n".join(parts)


def _sections(facts: dict[str, Any]) -> dict[str, str]:
    v, m, d, t = facts["version"], facts["model"], facts["data"], facts["training"]
    vals, mon = facts["validations"], facts["monitoring"]
    missing = not_recorded(facts)
    purpose = _kv([("Purpose", m["purpose"]), ("Owner", m["owner"])])
    tags = (
        "<h3>Tags</h3>"
        + _table(
            ["Tag", "Value"],
            [[escape(str(k)), escape(str(x))] for k, x in sorted(v["tags"].items())],
        )
        if v["tags"]
        else "<p>The version has no tags.</p>"
    )
    purpose += tags
    data = (
        _kv(
            [
                ("Training data", d["source"]),
                ("Rows", d["rows"]),
                ("Period", d["period"]),
                ("Target", d["target"]),
                ("Fingerprint", _Html(_mono(d["fingerprint"])) if d["fingerprint"] else None),
                (
                    "Snapshot SHA-256",
                    _Html(_mono(d["snapshot_sha256"])) if d["snapshot_sha256"] else None,
                ),
            ]
        )
        or _ELSEWHERE
    )
    schema = (
        _table(
            ["Feature", "Kind", "Type"],
            [[escape(str(f["name"])), _v(f["kind"]), _v(f["dtype"])] for f in d["schema"]],
        )
        if d["schema"]
        else _ELSEWHERE
    )
    r = t["recipe"]
    prov = t["provenance"]
    training = _kv(
        [
            ("Estimator", r.get("estimator") or v["estimator_class"]),
            ("Parameters", r.get("params") or ("scikit-learn defaults" if r else None)),
            ("Best parameters", t["best_params"]),
            ("Split", _split(r.get("split"))),
            ("Search", r.get("search")),
            ("Seed", t["seed"]),
            ("Training run", t["run_id"]),
            ("Training metrics", {k: round(x, 4) for k, x in t["training_metrics"].items()}),
            (
                "Provenance",
                "trained or registered here"
                if not prov
                else {
                    k: prov.get(k)
                    for k in (
                        "source_ref",
                        "signer_name",
                        "signed_by",
                        "exported_at",
                        "bundle_sha256",
                    )
                    if prov.get(k)
                },
            ),
        ]
    )
    environment = _kv(sorted((str(k), x) for k, x in t["environment"].items())) or _ELSEWHERE
    primary = vals[-1] if vals else None
    if vals:
        parts = []
        for x in reversed(vals):
            parts.append(
                f"<p><b>Validation {x['id']}</b>: {_nb(str(x['rows']))} rows of "
                f"{escape(str(x['data_source'] or 'data'))}, target {escape(str(x['target']))}, "
                f"fingerprint {_mono(x['data_fingerprint'])}</p>"
            )
            keys = _headline_keys(x["metrics"])
            keys += [k for k in x["metrics"] if k not in keys]
            parts.append(
                _table(
                    ["Metric", "Value", "95% interval", "Interval method"],
                    _metric_rows(x, keys),
                    num={1, 2},
                )
            )
            cm = x["curves"].get("confusion_matrix")
            if cm and primary is not None and x is primary:
                cls = [escape(str(c)) for c in x["curves"].get("classes", [])]
                parts.append(
                    "<p>Confusion matrix of the predicted classes (rows: true class, columns: predicted)</p>"
                    + _table(
                        ["", *cls],
                        [[f"<b>{c}</b>", *row] for c, row in zip(cls, cm, strict=False)],
                        num=set(range(1, len(cls) + 1)),
                    )
                )
        metrics = "\n".join(parts)
    else:
        metrics = "<p>No validation is stored for this version.</p>"
    credit = _credit(primary) if primary else ""
    threshold_cm = _threshold_matrix(primary, facts.get("decision_threshold")) if primary else ""
    if mon["batches"]:
        monitoring = _table(
            [
                "Batch",
                "Time",
                "Rows",
                "Drifted share",
                "Drifted",
                f"{mon['metric']} realized",
                "estimated",
            ],
            [
                [
                    escape(b["name"]),
                    _nb(b["time"][:10]),
                    b["rows"],
                    _num(b["drift_share"], 2),
                    '<span class="warn">yes</span>' if b["drifted"] else "no",
                    _num(b["realized"], 3),
                    _num(b["estimated"], 3),
                ]
                for b in mon["batches"]
            ],
            num={2, 3, 5, 6},
            nowrap={0, 1},
        )
        monitoring += _monitoring_groups(mon)
    else:
        monitoring = "<p>No monitored batches.</p>"
    limitations = (
        "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in facts["limitations"]) + "</ul>"
        if facts["limitations"]
        else "<p>None derived from the records.</p>"
    )
    approvals = (
        _table(
            ["#", "When (UTC)", "Who", "Action", "Subject", "Reason"],
            [
                [
                    e["seq"],
                    _when(e["ts"]),
                    escape_name(e["actor"]),
                    escape_name(e["action"]),
                    escape_name(e["entity"]),
                    escape(e["reason"] or ""),
                ]
                for e in facts["approvals"]
            ],
            nowrap={0, 1, 3},
        )
        if facts["approvals"]
        else "<p>No alias, trust or approval events.</p>"
    )
    h = facts["hashes"]
    hashes = _table(
        None,
        [
            # the label above its value: a SHA-256 keeps one line on the narrowest page
            [f"<b>{escape(k)}</b><br>" + "<br>".join(_mono(x) for x in str(val).split())]
            for k, val in [
                ("Model file SHA-256", h["model_sha256"]),
                ("Training data fingerprint", h["training_data_fingerprint"]),
                ("Training snapshot SHA-256", h["training_snapshot_sha256"]),
                ("Validation data fingerprints", " ".join(h["validation_data"])),
                ("Validation predictions SHA-256", " ".join(h["validation_predictions"])),
                ("Facts SHA-256", h.get("facts_sha256")),
                # the audit head is on the summary page, as a table of its own
                (
                    "Registry audit head",
                    None if facts.get("audit_head") else h.get("registry_head"),
                ),
            ]
            if val
        ],
        cls="kv",
        nowrap={0},
    )
    return {
        **_summary(facts, missing),
        "purpose": purpose,
        "data": data,
        "schema": schema,
        "training": training,
        "environment": environment,
        "metrics": metrics,
        "credit": credit,
        "threshold_matrix": threshold_cm,
        "explanations": _explanations(primary),
        "monitoring": monitoring,
        "limitations": limitations,
        "approvals": approvals,
        "hashes": hashes,
    }


def render_html(
    facts: dict[str, Any],
    *,
    template: str | None = None,
    chart_markup: ChartMarkup = inline_svg,
    generated_at: str | None = None,
    generated_by: str = "",
    digest: str | None = None,
) -> str:
    """The report as one HTML document, with its own SHA-256 written in.

    Parameters
    ----------
    facts
        From :func:`~modelward.core.evidence.reports.facts.gather_facts`.
    template
        Template text (default: the packaged template).
    chart_markup
        ``(name, svg) -> html`` for each chart (default: the SVG inline).
    digest
        Write this report SHA-256 instead of the document's own (the PDF
        states the hash of the HTML rendition of the same facts).
    """

    facts = dict(facts)
    canon = json.dumps(facts, sort_keys=True, default=str, separators=(",", ":"))
    facts["hashes"] = {
        **facts["hashes"],
        "facts_sha256": hashlib.sha256(canon.encode()).hexdigest(),
    }
    tpl = string.Template(template if template is not None else load_template())
    svgs = charts(facts)
    values = {
        "title": escape_name(f"{facts['version']['ref']}: model card and validation report"),
        "generated_at": _nb(generated_at or display_ts(utcnow()) + " UTC"),
        "generated_by": escape(generated_by),
        **_sections(facts),
        **{f"chart_{n}": chart_markup(n, svgs[n]) if n in svgs else "" for n in CHARTS},
        "chart_pdp": _chart_grid([chart_markup(n, svgs[n]) for n in svgs if n.startswith("pdp:")]),
        "charts_validation": _chart_grid(
            [chart_markup(n, svgs[n]) for n in ("roc", "pr", "calibration") if n in svgs]
        ),
        "charts_credit": _chart_grid(
            [chart_markup(n, svgs[n]) for n in ("lift", "gains") if n in svgs]
        ),
        "charts_monitoring": _chart_grid(
            [chart_markup(n, svgs[n]) for n in ("drift", "performance") if n in svgs]
        ),
        "report_sha256": _ZEROS,
    }
    html = tpl.safe_substitute(values)
    digest = digest or hashlib.sha256(html.encode("utf-8")).hexdigest()
    return html.replace(_ZEROS, digest, 1) if html.count(_ZEROS) == 1 else html


def write_html(
    registry: Registry, ref: str, path: str | os.PathLike[str], **kw: Any
) -> dict[str, Any]:
    """Gather, render and write the HTML report of ``ref``; audited as ``report.generated``."""

    template = load_template(registry, kw.pop("template", None))
    facts = gather_facts(registry, ref, **kw)
    html = render_html(facts, template=template, generated_by=registry.actor)
    return finish(registry, facts, html.encode("utf-8"), path)


def finish(
    registry: Registry, facts: dict[str, Any], data: bytes, path: str | os.PathLike[str]
) -> dict[str, Any]:
    """Write the report bytes atomically and record their hash in the audit trail."""
    dest = Path(path)
    tmp = dest.with_name(f".{dest.name}.partial")
    tmp.write_bytes(data)
    platform.replace_file(tmp, dest)
    sha = hashlib.sha256(data).hexdigest()
    registry.record_event(
        "report.generated",
        "version",
        facts["version"]["ref"],
        after={"file": dest.name, "sha256": sha, "model_sha256": facts["version"]["sha256"]},
    )
    return {"ref": facts["version"]["ref"], "path": str(dest), "sha256": sha, "bytes": len(data)}
