"""The scoring command: a registered model decides a file of rows."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from modelward.cli.common import command, group, open_registry, run_cancellable, status_printer
from modelward.cli.output import Result, lines, table
from modelward.core.errors import NotFound


def cmd_score(args: argparse.Namespace) -> Result:
    from modelward.core.compute.score import score_file  # deferred: start-up cost
    from modelward.core.monitoring import kept_pass
    from modelward.core.registry.connection import HOLD  # deferred: start-up cost

    # held for the whole run (one open, not one per step); a knock from another
    # process still makes it let go at once while the rows are being scored
    reg = open_registry(args, idle_release=HOLD)
    threads = args.threads if args.threads and args.threads > 0 else (os.cpu_count() or 1)
    try:
        res = run_cancellable(
            lambda tok: score_file(
                reg,
                args.ref,
                args.data,
                args.output,
                id_columns=args.id_column or [],
                fmt=args.format,
                threshold=args.threshold,
                threads=threads,
                log="none" if args.no_log else ("rows" if args.log_rows else "summary"),
                dask=args.dask,
                progress=status_printer(args),
                cancel=tok,
                reasons=args.reasons,
                log_pass=kept_pass,  # a later check of a batch logged row by row does not read it
            )
        )
    finally:
        reg.close()
    text = [
        f"scored {res.rows_scored:,} of {res.rows_in:,} rows with {res.ref} -> {res.output}",
        f"  manifest {res.manifest}",
    ]
    if res.threshold is not None:
        text.append(f"  decision at threshold {res.threshold:g} ({res.threshold_source})")
    errors = []
    if res.rows_rejected:
        errors.append(
            f"modelward: warning: {res.rows_rejected:,} row(s) could not be scored; "
            f"reasons in {res.rejected}"
        )
    repeated = (res.summary or {}).get("repeated_ids")
    if repeated:
        errors.append(
            f"modelward: warning: {repeated:,} logged row(s) repeat an id of another row; "
            "a late label for such an id will join every row that has it"
        )
    return Result(res.to_json(), lines(*text), errors=errors)


def cmd_labels(args: argparse.Namespace) -> Result:
    from modelward.core.compute.predlog import add_labels  # deferred: start-up cost

    res = add_labels(
        open_registry(args),
        args.model,
        args.data,
        id_column=args.id_column,
        label_column=args.label,
    )
    text = [
        f"stored {res['rows']:,} label(s) of {res['label_column']!r} for {args.model}; "
        f"{res['matched']:,} match logged predictions"
    ]
    if res["without_id"]:
        text.append(f"note: {res['without_id']:,} row(s) without an id were left out")
    if res["repeated"]:
        text.append(f"note: {res['repeated']:,} row(s) repeated an id and its label: kept once")
    errors = []
    if (example := res.get("unmatched_example")) is not None:
        errors.append(
            f"modelward: warning: no id of {Path(args.data).name} is in {args.model}'s "
            f"prediction log (this file has {example['file']!r}, the log {example['logged']!r}); "
            "ids join exactly, as text"
        )
    return Result(res, "\n".join(text), errors=errors)


def cmd_shadow_add(args: argparse.Namespace) -> Result:
    from modelward.core.registry.predictions import add_shadow  # deferred: start-up cost

    ref = add_shadow(open_registry(args), args.model, args.version, reason=args.reason)
    return Result({"shadow": ref}, f"{ref} scores {args.model}'s batches in the shadow")


def cmd_shadow_remove(args: argparse.Namespace) -> Result:
    from modelward.core.registry.predictions import remove_shadow  # deferred: start-up cost

    ref = remove_shadow(open_registry(args), args.model, args.version, reason=args.reason)
    return Result({"removed": ref}, f"{ref} no longer scores in the shadow")


def _num(v: Any, fmt: str = "{:.3f}") -> str:
    return "-" if v is None else fmt.format(v)


def shadow_evidence(reg: Any, ref: str) -> tuple[dict[str, Any] | None, list[str]]:
    """What the prediction log says of ``ref`` scoring in the shadow (for ``compare``)."""
    from modelward.core.compute.predlog import prediction_report  # deferred: start-up cost

    v = reg.resolve(ref)
    rep = prediction_report(reg, v.name)
    mine = next(
        (e for e in rep["versions"] if e["version"] == v.version and e["role"] == "shadow"), None
    )
    if mine is None:
        return None, []
    real = mine.get("realized") or {}
    text = (
        f"in the shadow: {mine['batches']} batch(es), {mine['rows']:,} rows, agreement "
        f"{_num(mine.get('agreement'), '{:.1%}')} with the champion, score PSI "
        f"{_num(mine.get('score_psi'))}"
    )
    if real.get("labelled_rows"):
        text += f", realized on {real['labelled_rows']:,} labelled rows: " + ", ".join(
            f"{k} {real[k]:.4g}" for k in ("roc_auc", "accuracy", "mae") if k in real
        )
    return mine, [text]


def cmd_shadow_show(args: argparse.Namespace) -> Result:
    from modelward.core.compute.predlog import prediction_report  # deferred: start-up cost

    reg = open_registry(args)
    if args.model not in {m.name for m in reg.list_models()}:
        raise NotFound(f"no model named {args.model!r} in {reg.home}")
    rep = prediction_report(reg, args.model)
    if not rep["versions"]:
        return Result(rep, f"nothing logged for {args.model} yet")
    rows = []
    for v in rep["versions"]:
        real = v.get("realized") or {}
        metric = (
            f"auc {real['roc_auc']:.3f}"
            if "roc_auc" in real
            else f"acc {real['accuracy']:.3f}"
            if "accuracy" in real
            else f"mae {real['mae']:.3g}"
            if "mae" in real
            else "-"
        )
        rows.append(
            (
                v["ref"],
                v["role"],
                v["batches"],
                f"{v['rows']:,}",
                _num(v.get("score_mean")),
                _num(v.get("agreement"), "{:.1%}"),
                _num(v.get("score_psi")),
                metric,
            )
        )
    text = table(
        ["VERSION", "ROLE", "BATCHES", "ROWS", "MEAN SCORE", "AGREE", "PSI", "REALIZED"], rows
    )
    return Result(rep, text)


def add_parsers(sub: Any) -> None:
    """score, labels, shadow."""
    sp = command(
        sub, "score", cmd_score, "score a CSV or Parquet file with a version (batch predictions)"
    )
    sp.add_argument("ref", help="NAME:VERSION or NAME@ALIAS, e.g. credit@champion")
    sp.add_argument("--data", required=True, help="CSV or Parquet file, or dataset:ID")
    sp.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output file (.csv or .parquet; another extension keeps the input's format)",
    )
    sp.add_argument(
        "--id-column",
        action="append",
        metavar="C",
        help="column passed through to the output (repeatable)",
    )
    sp.add_argument(
        "--threshold",
        type=float,
        help="decision threshold of a binary classifier (default: the one stored with the version)",
    )
    sp.add_argument("--format", choices=["csv", "parquet"], help="output format")
    sp.add_argument(
        "--threads", type=int, default=0, help="threads of the job (default: every core)"
    )
    sp.add_argument(
        "--log-rows",
        action="store_true",
        help="keep every prediction in the prediction log (late labels join them by id)",
    )
    sp.add_argument("--no-log", action="store_true", help="leave the prediction log alone")
    sp.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="tcp://host:port: split a Parquet input across the Dask cluster's workers",
    )
    sp.add_argument(
        "--reasons",
        type=int,
        default=0,
        metavar="K",
        help="add each row's K reason codes (reason_1, reason_1_value, …)",
    )

    sp = command(
        sub, "labels", cmd_labels, "store labels that arrived later (joined to predictions by id)"
    )
    sp.add_argument("model", help="model NAME")
    sp.add_argument("--data", required=True, help="CSV or Parquet file with ids and labels")
    sp.add_argument("--id", required=True, dest="id_column", help="id column (as scored)")
    sp.add_argument("--label", help="label column (default: the model's target)")

    shsub = group(sub, "shadow", "shadow challengers: versions that score the same batches unseen")
    sp = command(
        shsub, "add", cmd_shadow_add, "let a version score the model's batches in the shadow"
    )
    sp.add_argument("model", help="model NAME")
    sp.add_argument("version", type=int, help="version number")
    sp.add_argument("--reason", help="why (audited)")
    sp = command(shsub, "remove", cmd_shadow_remove, "stop a shadow challenger")
    sp.add_argument("model", help="model NAME")
    sp.add_argument("version", type=int, help="version number")
    sp.add_argument("--reason", help="why (audited)")
    sp = command(
        shsub,
        "show",
        cmd_shadow_show,
        "the prediction log per version: agreement, score drift, realized metrics",
    )
    sp.add_argument("model", help="model NAME")
