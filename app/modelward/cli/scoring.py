"""The scoring command: a registered model decides a file of rows."""

from __future__ import annotations

import argparse
import os
from typing import Any

from modelward.cli.common import command, open_registry, run_cancellable, status_printer
from modelward.cli.output import Result, lines


def cmd_score(args: argparse.Namespace) -> Result:
    from modelward.core.compute.score import score_file  # deferred: start-up cost

    reg = open_registry(args)
    threads = args.threads if args.threads and args.threads > 0 else (os.cpu_count() or 1)
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
            progress=status_printer(args),
            cancel=tok,
        )
    )
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
    return Result(res.to_json(), lines(*text), errors=errors)


def add_parsers(sub: Any) -> None:
    """score."""
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
