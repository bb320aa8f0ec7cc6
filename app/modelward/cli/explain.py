"""``modelward explain``: what drives a version, and why it decided this for a row."""

from __future__ import annotations

import argparse
from typing import Any

from modelward.cli.common import command, open_registry, run_cancellable, status_printer
from modelward.cli.output import Result, lines, table


def cmd_explain(args: argparse.Namespace) -> Result:
    reg = open_registry(args)
    if args.row is not None or args.rows is not None:
        from modelward.core.compute.explain import reasons_for  # deferred: start-up cost

        doc = reasons_for(
            reg,
            args.ref,
            args.data,
            rows=str(args.rows if args.rows is not None else args.row),
            k=args.top,
            allow_extra=args.allow_extra,
            target=args.target,
        )
        text = [f"{doc['ref']}: reason codes by {doc['method']}", f"  ({doc['meaning']})"]
        for r in doc["rows"]:
            text.append(
                f"row {r['row']}: {r['explains']} = {r['output']:.4g} (base {r['base']:.4g})"
            )
            text += [f"  {c['feature']:<24} {c['contribution']:+.4g}" for c in r["reasons"]]
        return Result(doc, lines(*text))
    from modelward.core.compute.explain import explain_version  # deferred: start-up cost

    vid, doc = run_cancellable(
        lambda tok: explain_version(
            reg,
            args.ref,
            args.data,
            target=args.target,
            allow_extra=args.allow_extra,
            n_repeats=args.repeats,
            top=args.top,
            max_rows=args.max_rows,
            progress=status_printer(args),
            cancel=tok,
        )
    )
    shown = {k: v for k, v in doc.items() if k != "background"}
    out: dict[str, Any] = {"validation_id": vid, "explanations": shown}
    text = [
        f"validation #{vid}: {doc['method']}, {doc['rows_used']:,} rows",
        table(
            ["FEATURE", "IMPORTANCE", "STD"],
            [(i["feature"], f"{i['mean']:.4g}", f"{i['std']:.2g}") for i in doc["importance"]],
        ),
        "partial dependence: "
        + ", ".join(sorted({f"{p['feature']} ({p['kind']})" for p in doc["pdp"]})),
    ]
    return Result(out, lines(*text))


def add_parsers(sub: Any) -> None:
    """explain."""
    sp = command(
        sub,
        "explain",
        cmd_explain,
        "permutation importance and partial dependence of a version, or a row's reason codes",
    )
    sp.add_argument("ref")
    sp.add_argument("--data", required=True, help="CSV or Parquet file, or dataset:ID")
    sp.add_argument("--target", help="target column (default: the one it was trained on)")
    sp.add_argument(
        "--allow-extra", action="store_true", help="ignore columns the model does not use"
    )
    sp.add_argument("--row", type=int, help="reason codes of this row (from 1)")
    sp.add_argument("--rows", metavar="A-B|A,B", help="reason codes of these rows")
    sp.add_argument(
        "--top", type=int, default=5, help="features with curves, or reason codes per row"
    )
    sp.add_argument("--repeats", type=int, default=5, help="shuffles per feature")
    sp.add_argument(
        "--max-rows", type=int, default=100_000, help="rows permutation importance uses"
    )
