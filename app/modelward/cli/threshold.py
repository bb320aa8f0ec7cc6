"""The decision threshold of a binary model: ``threshold set``, ``show`` and ``clear``.

``score`` decides a binary model's rows with the threshold stored here (a row
whose score is at or above it gets the second class); each change is one
audit event.
"""

from __future__ import annotations

import argparse
from typing import Any

from modelward.cli.common import command, group, open_registry
from modelward.cli.output import Result, lines


def _at_threshold(reg: Any, ref: str, value: float, cost_fp: float, cost_fn: float) -> Any:
    """The effect of ``value`` on the newest stored validation of ``ref`` (or ``None``)."""
    # deferred: start-up cost
    from modelward.core.compute.validation import latest_validation, threshold_curve

    vid = latest_validation(reg, ref)
    curve = threshold_curve(reg, vid) if vid is not None else None
    if curve is None:
        return None
    return vid, curve.n, curve.at(value, cost_fp, cost_fn)


def _describe(reg: Any, doc: Any) -> tuple[dict[str, Any], list[str]]:
    out = doc.to_json()
    if doc.threshold is None:
        return out, [f"{doc.ref} has no decision threshold (score writes no decision column)"]
    where = "set with 'threshold set'" if doc.source == "tag" else "recorded with the model file"
    text = [f"{doc.ref}: decision threshold {doc.threshold:g} ({where})"]
    if doc.cost_fp is not None or doc.cost_fn is not None:
        text.append(
            f"  cost of a false positive {doc.cost_fp or 0:g}, of a false negative {doc.cost_fn or 0:g}"
        )
    seen = _at_threshold(reg, doc.ref, doc.threshold, doc.cost_fp or 1.0, doc.cost_fn or 1.0)
    if seen is not None:
        vid, rows, p = seen
        out["at_validation"] = {"validation_id": vid, "rows": rows, **p.to_json()}
        text += [
            f"  on validation #{vid} ({rows:,} rows): precision {p.precision:.4f}, "
            f"recall {p.recall:.4f}, approval rate {p.approval_rate:.2%} (scores below the threshold)",
            f"  expected cost {p.expected_cost:,.6g} ({p.cost_per_row:.4g} a row, "
            f"false positive {p.cost_fp:g}, false negative {p.cost_fn:g})",
            "  confusion matrix (rows: true, columns: decided)",
            f"    TN {p.tn:>9,}  FP {p.fp:>9,}",
            f"    FN {p.fn:>9,}  TP {p.tp:>9,}",
        ]
    return out, text


def cmd_threshold_set(args: argparse.Namespace) -> Result:
    from modelward.core.compute.validation import set_decision_threshold  # deferred: start-up cost

    reg = open_registry(args)
    doc = set_decision_threshold(
        reg, args.ref, args.value, cost_fp=args.cost_fp, cost_fn=args.cost_fn, reason=args.reason
    )
    out, text = _describe(reg, doc)
    text[0] = f"set: {text[0]} · audit event #{doc.audit_seq}"
    return Result(out, lines(*text))


def cmd_threshold_show(args: argparse.Namespace) -> Result:
    from modelward.core.compute.validation import decision_threshold  # deferred: start-up cost

    reg = open_registry(args)
    out, text = _describe(reg, decision_threshold(reg, args.ref))
    return Result(out, lines(*text))


def cmd_threshold_clear(args: argparse.Namespace) -> Result:
    from modelward.core.compute.validation import (
        clear_decision_threshold,
    )  # deferred: start-up cost

    doc = clear_decision_threshold(open_registry(args), args.ref, reason=args.reason)
    return Result(
        doc.to_json(), f"cleared the decision threshold of {doc.ref} · audit event #{doc.audit_seq}"
    )


def _value(text: str) -> float:
    """A number for argparse; the range is checked (and a refusal audited) by the core."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def add_parsers(sub: Any) -> None:
    """threshold set / show / clear."""
    acts = group(sub, "threshold", "the decision threshold a binary model's scoring uses")
    sp = command(
        acts, "set", cmd_threshold_set, "store a decision threshold with a version (audited)"
    )
    sp.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument(
        "value",
        type=_value,
        help="between 0 and 1: a score at or above it decides the second class",
    )
    sp.add_argument("--cost-fp", type=_value, help="cost of a false positive (recorded with it)")
    sp.add_argument("--cost-fn", type=_value, help="cost of a false negative (recorded with it)")
    sp.add_argument("--reason", help="why (kept in the audit trail)")
    sp = command(acts, "show", cmd_threshold_show, "the stored decision threshold and its effect")
    sp.add_argument("ref")
    sp = command(
        acts, "clear", cmd_threshold_clear, "remove the stored decision threshold (audited)"
    )
    sp.add_argument("ref")
    sp.add_argument("--reason", help="why (kept in the audit trail)")
