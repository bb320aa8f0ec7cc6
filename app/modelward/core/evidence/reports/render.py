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
from modelward.core.evidence.reports.svg import Series, line_chart
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


__all__ = ["CHARTS", "charts", "load_template", "render_html", "template_path", "write_html"]

CHARTS = ("roc", "pr", "calibration", "drift", "performance")
TEMPLATE = "report.html"
_ZEROS = "0" * 64
ChartMarkup = Callable[[str, str], str]


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
) -> str:
    num, nowrap = num or set(), nowrap or set()
    out = ['<table cellspacing="0" cellpadding="3">']
    if headers:
        out.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>")
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            cls = ' class="num"' if i in num else ""
            cls += " nowrap" if i in nowrap else ""
            cells.append(f"<td{cls}>{c}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _kv(rows: list[tuple[str, Any]]) -> str:
    return _table(None, [[f"<b>{escape(k)}</b>", _v(v)] for k, v in rows])


def _v(value: Any) -> str:
    if value is None or value == "" or value == {} or value == []:
        return '<span class="warn">not recorded</span>'
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return escape(json.dumps(value, sort_keys=True, default=str))
    return escape(str(value))


def _mono(value: Any) -> str:
    return f'<span class="mono">{escape(str(value))}</span>' if value else _v(None)


def _num(x: float | None, digits: int = 4) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


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


def charts(facts: dict[str, Any]) -> dict[str, str]:
    """The report's SVG charts by name (those the facts can draw)."""
    out: dict[str, str] = {}
    vals = [x for x in facts["validations"] if x["curves"].get("roc")]
    if vals:
        c = vals[-1]["curves"]
        auc = vals[-1]["metrics"].get("roc_auc")
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
            ap = vals[-1]["metrics"].get("average_precision")
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


def inline_svg(name: str, svg: str) -> str:
    """Chart markup for the HTML file: the SVG itself."""
    return svg


def _sections(facts: dict[str, Any]) -> dict[str, str]:
    v, m, d, t = facts["version"], facts["model"], facts["data"], facts["training"]
    vals, mon = facts["validations"], facts["monitoring"]
    primary = vals[-1] if vals else None
    summary = _kv(
        [
            ("Model version", v["ref"]),
            ("Aliases", ", ".join(v["aliases"]) or "none"),
            ("Task", m["task"]),
            ("Estimator", v["estimator_class"]),
            ("Status", v["status"]),
            ("Registered", f"{v['created_at']} by {v['created_by']}"),
            (
                "Headline",
                ", ".join(f"{k} {val:.3f}" for k, val in list(primary["metrics"].items())[:3])
                if primary
                else None,
            ),
        ]
    )
    purpose = _kv(
        [
            ("Purpose", m["purpose"]),
            ("Owner", m["owner"]),
            ("Tags", v["tags"] or "none"),
        ]
    )
    data = _kv(
        [
            ("Training data", d["source"]),
            ("Rows", d["rows"]),
            ("Period", d["period"] or "no time column in the recipe"),
            ("Target", d["target"]),
            ("Fingerprint", d["fingerprint"]),
            ("Snapshot SHA-256", d["snapshot_sha256"]),
        ]
    )
    schema = (
        _table(
            ["Feature", "Kind", "Type"],
            [[escape(str(f["name"])), _v(f["kind"]), _v(f["dtype"])] for f in d["schema"]],
        )
        if d["schema"]
        else "<p>" + _v(None) + "</p>"
    )
    r = t["recipe"]
    training = _kv(
        [
            ("Estimator", r.get("estimator")),
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
                if not t["provenance"]
                else {
                    k: t["provenance"].get(k)
                    for k in (
                        "source_ref",
                        "signer_name",
                        "signed_by",
                        "exported_at",
                        "bundle_sha256",
                    )
                },
            ),
        ]
    )
    environment = (
        _kv(sorted(t["environment"].items())) if t["environment"] else "<p>" + _v(None) + "</p>"
    )
    if vals:
        parts = []
        for x in reversed(vals):
            rows = []
            for k, val in x["metrics"].items():
                ci = x["intervals"].get(k)
                rows.append([escape(k), _num(val), f"{_num(ci[0])} – {_num(ci[1])}" if ci else "–"])
            parts.append(
                f"<p><b>Validation {x['id']}</b>: {x['rows']} rows of "
                f"{escape(str(x['data_source'] or 'data'))}, target {escape(str(x['target']))}, "
                f"fingerprint {_mono(x['data_fingerprint'])}"
                + (f"; intervals from {x['n_boot']} bootstrap resamples" if x["n_boot"] else "")
                + "</p>"
            )
            parts.append(_table(["Metric", "Value", "95% interval"], rows, num={1, 2}))
            cm = x["curves"].get("confusion_matrix")
            if cm and x is vals[-1]:
                cls = [escape(str(c)) for c in x["curves"].get("classes", [])]
                parts.append(
                    "<p>Confusion matrix (rows: true class, columns: predicted)</p>"
                    + _table(
                        ["", *cls],
                        [[f"<b>{c}</b>", *row] for c, row in zip(cls, cm, strict=False)],
                        num=set(range(1, len(cls) + 1)),
                    )
                )
        metrics = "\n".join(parts)
    else:
        metrics = '<p class="warn">No stored validation: run <b>modelward validate</b> first.</p>'
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
                    escape(b["time"][:10]),
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
    else:
        monitoring = "<p>No monitored batches yet.</p>"
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
                    escape(display_ts(e["ts"])),
                    escape_name(e["actor"]),
                    escape_name(e["action"]),
                    escape_name(e["entity"]),
                    escape(e["reason"] or ""),
                ]
                for e in facts["approvals"]
            ],
            nowrap={1, 3, 4},
        )
        if facts["approvals"]
        else "<p>No approvals recorded (no alias, trust or approval events).</p>"
    )
    h = facts["hashes"]
    hashes = _table(
        None,
        [
            [f"<b>{escape(k)}</b>", _mono(val)]
            for k, val in [
                ("Model file SHA-256", h["model_sha256"]),
                ("Training data fingerprint", h["training_data_fingerprint"]),
                ("Training snapshot SHA-256", h["training_snapshot_sha256"]),
                ("Validation data fingerprints", " ".join(h["validation_data"])),
                ("Validation predictions SHA-256", " ".join(h["validation_predictions"])),
                ("Facts SHA-256", h.get("facts_sha256")),
                ("Registry audit head", h.get("registry_head")),
            ]
        ],
    )
    return {
        "summary": summary,
        "purpose": purpose,
        "data": data,
        "schema": schema,
        "training": training,
        "environment": environment,
        "metrics": metrics,
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
        "generated_at": escape(generated_at or display_ts(utcnow()) + " UTC"),
        "generated_by": escape(generated_by),
        **_sections(facts),
        **{f"chart_{n}": chart_markup(n, svgs[n]) if n in svgs else "" for n in CHARTS},
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
