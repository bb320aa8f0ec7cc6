"""Monitoring commands: drift between two files, monitor a version's batches."""

from __future__ import annotations

import argparse
import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from modelward.cli.common import command, csv, open_registry
from modelward.cli.output import Result, lines, table
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.tables import Table, check_signature, open_table, scan_table


@contextlib.contextmanager
def _quiet_numbers() -> Iterator[None]:
    """No raw numpy/pandas warning reaches the terminal: odd values are reported as flags."""
    import numpy as np  # deferred: start-up cost

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _flag_lines(table: Table) -> tuple[list[str], dict[str, Any]]:
    """Read the whole file once (refusing unreadable rows) and describe its odd values."""
    scan = scan_table(table)
    return [f"flag {line}" for line in scan.notes()], scan.flags


@contextlib.contextmanager
def _unscorable(table: Table) -> Iterator[None]:
    """A model that cannot score the rows is refused in one sentence, not a traceback."""
    try:
        yield
    except ValueError as e:
        if "infinity" not in str(e) and "too large" not in str(e):
            raise
        raise InvalidInput(
            f"the model cannot score {table.label}: a value is infinite or too large for it"
        ) from None


def _refuse_infinite(table: Table, flags: dict[str, Any]) -> None:
    inf = {c: f["infinite"] for c, f in flags.items() if f.get("infinite")}
    if inf:
        shown = ", ".join(f"{c!r} ({n})" for c, n in inf.items())
        raise InvalidInput(
            f"{table.label} holds infinite values in column(s) {shown}; a model cannot score them"
        )


def drift_text(rep: Any) -> str:
    """A drift report as a table of columns and the verdict lines under it.

    The p-value printed is the one the verdict uses (adjusted across columns
    when a correction is on), and every drifted column says which lens fired.
    """
    corr = {"bh": "BH", "holm": "Holm"}.get(rep.correction)
    p_head = f"P ({corr})" if corr else "P-VALUE"
    rows = []
    for f in rep.features:
        pv = f.p_adjusted if f.p_adjusted is not None else f.p_value
        p = "-" if pv is None else f"{pv:.3g}"
        flag = {"red": "DRIFT", "amber": "drift (amber)"}.get(f.severity, "") if f.drifted else ""
        lens = getattr(f, "lens", "") or f.method
        rows.append((f.name, f.kind, lens, f"{f.statistic:.4g}", f"{f.threshold:.4g}", p, flag))
    out = [table(["FEATURE", "KIND", "LENS", "STATISTIC", "THRESHOLD", p_head, "DRIFTED"], rows)]
    method = getattr(rep, "method", "")
    if method == "combined":
        out.append(
            "\nmethod: combined at every size (PSI, Wasserstein, Jensen–Shannon against "
            "bounds from the reference; KS / chi-square test; missing rate)"
        )
    elif method:
        out.append(f"\nmethod: {method}")
    for f in rep.features:
        if f.drifted and f.reason:
            out.append(f"why {f.name}: {f.reason}")
    n = sum(f.drifted for f in rep.features)
    verdict = "DRIFTED" if rep.drifted else "no dataset drift"
    out.append(
        f"\n{n} of {len(rep.features)} columns drifted (share {rep.drift_share:.2f}, "
        f"dataset threshold {rep.share_threshold:.2f}): {verdict}"
    )
    if rep.prediction is not None:
        pr = rep.prediction
        lens = getattr(pr, "lens", "") or pr.method
        out.append(
            f"prediction drift: {lens} {pr.statistic:.4g} ({'drifted' if pr.drifted else 'ok'})"
        )
    if rep.multivariate:
        mv = rep.multivariate
        out.append(
            f"multivariate (PCA reconstruction error): {mv['statistic']:.4g} vs reference "
            f"{mv['reference']:.4g}, threshold {mv['threshold'] or float('nan'):.4g} "
            f"({'drifted' if mv['drifted'] else 'ok'})"
        )
    if rep.quality is not None:
        for c in rep.quality.columns:
            notes = []
            if c.missing_rate > c.reference_missing_rate + 0.01:
                notes.append(
                    f"missing {c.missing_rate:.1%} (reference {c.reference_missing_rate:.1%})"
                )
            if c.out_of_range:
                notes.append(f"{c.out_of_range} values outside the reference range")
            if c.unseen:
                notes.append(
                    f"{c.unseen} values of unseen categories ({', '.join(c.unseen_examples[:3])})"
                )
            if notes:
                out.append(f"quality {c.name}: {'; '.join(notes)}")
    return lines(*out)


def cmd_drift(args: argparse.Namespace) -> Result:
    ref = open_table(args.reference)
    cur = open_table(args.current, expected=ref.columns)
    wanted = csv(args.features) or ref.columns
    check_signature(
        cur,
        {c: ("numeric" if c in ref.types and ref.numeric(c) else None) for c in wanted},
        allow_extra=args.allow_extra or bool(csv(args.features)),
        against="the reference",
    )
    flags, scan_flags = _flag_lines(cur)
    # deferred: start-up cost (numpy and the drift statistics); the files are checked first
    from modelward.core.monitoring.drift import drift_between

    with _quiet_numbers():
        rep = drift_between(
            args.reference,
            args.current,
            features=csv(args.features) or None,
            categorical=csv(args.categorical),
            methods={"*": args.method} if args.method else None,
            thresholds=args.thresholds,
            correction=args.correction,
            drift_share=args.drift_share,
        )
    # --fail-on-drift: a drifted data set is a failure, with or without --json.
    ok = not (args.fail_on_drift and rep.drifted)
    doc = rep.to_json()
    doc["flags"] = scan_flags
    return Result(doc, lines(drift_text(rep), *flags), ok=ok)


def _check_batch_columns(reg: Any, args: argparse.Namespace, batch: Table) -> list[str]:
    """A batch has the version's features (and may carry its target, labels and ids)."""
    try:
        sig = reg.resolve(args.ref).signature or {}
    except NotFound:
        return []
    if sig.get("features"):
        expected = {str(c["name"]): c.get("kind") for c in sig["features"]}
    elif sig.get("feature_names"):
        expected = dict.fromkeys(str(n) for n in sig["feature_names"])
    else:
        return []
    allowed = [str(x) for x in (sig.get("target"), sig.get("time_column")) if x]
    allowed += [str(x) for x in (args.id_column, args.label_column) if x]
    extra = check_signature(
        batch, expected, allow_extra=not args.strict_columns, allowed_extra=allowed
    )
    return [f"flag {c}: not a column of the model: kept, not monitored" for c in extra]


def cmd_monitor(args: argparse.Namespace) -> Result:
    if not (args.reference or args.batch or args.labels):
        raise InvalidInput("nothing to do: give --batch PATH, --reference PATH or --labels PATH")
    if args.labels and (args.batch_id is None or not args.id_column or not args.label_column):
        raise InvalidInput("--labels needs --batch-id, --id-column and --label-column")
    reg = open_registry(args)
    batch: Table | None = None
    flag_lines: list[str] = []
    flags: dict[str, Any] = {}
    if args.batch and not args.reference:
        # A batch is checked before the heavy imports: a bad file is refused at once.
        batch = open_table(args.batch, label=str(args.batch))
        extra_lines = _check_batch_columns(reg, args, batch)
        flag_lines, flags = _flag_lines(batch)
        flag_lines += extra_lines
        _refuse_infinite(batch, flags)
    # deferred: start-up cost (numpy and the drift statistics)
    from modelward.core.monitoring import service

    out: dict[str, Any] = {}
    text: list[str] = []
    if args.reference:
        prof = service.profile_version(
            reg,
            args.ref,
            args.reference,
            target=args.target,
            features=csv(args.features) or None,
            categorical=csv(args.categorical),
            exclude=csv(args.exclude),
        )
        out["profile"] = {"rows": prof.n_rows, "features": list(prof.features)}
        text.append(f"profiled {prof.n_rows:,} reference rows, {len(prof.features)} columns")
    if args.labels:
        metrics = service.attach_labels(
            reg,
            args.batch_id,
            args.labels,
            id_column=args.id_column,
            label_column=args.label_column,
        )
        out["realized"] = metrics
        text.append(
            f"labels attached to batch {args.batch_id}: "
            + ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
        )
    if args.batch:
        if batch is None:  # after a new reference profile: checked against it now
            batch = open_table(args.batch, label=str(args.batch))
            extra_lines = _check_batch_columns(reg, args, batch)
            flag_lines, flags = _flag_lines(batch)
            flag_lines += extra_lines
            _refuse_infinite(batch, flags)
        with _quiet_numbers(), _unscorable(batch):
            res = service.check_batch(
                reg,
                args.ref,
                args.batch,
                name=args.name,
                batch_time=args.time,
                id_column=args.id_column,
                label_column=args.label_column,
                methods={"*": args.method} if args.method else None,
                thresholds=args.thresholds,
            )
        out.update(res.to_json())
        out["flags"] = flags
        text.extend(flag_lines)
        text.append(f"batch {res.batch_id} ({res.name}) checked against {res.version_ref}\n")
        text.append(drift_text(res.report))
        if res.performance:
            text.append(f"model kind: {res.model_kind}")
        for kind, m in res.performance.items():
            text.append(
                f"{kind} performance: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(m.items()))
            )
        text.extend(f"note: {note}" for note in res.performance_notes)
    return Result(out, lines(*text))


def _drift_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--method",
        choices=["psi", "ks", "wasserstein", "jensenshannon", "chi2"],
        help="use this one statistic wherever it applies (default: the combined lenses)",
    )
    sp.add_argument(
        "--thresholds",
        choices=["auto", "fixed", "reference"],
        default="auto",
        help="bounds from the reference (auto, reference) or fixed conventions",
    )
    sp.add_argument("--features", help="columns to monitor, comma-separated (default: all)")
    sp.add_argument("--categorical", help="numeric columns to treat as categorical")


def add_parsers(sub: Any) -> None:
    """drift, monitor."""
    sp = command(
        sub, "drift", cmd_drift, "drift of a current data set against a reference (CSV/Parquet)"
    )
    sp.add_argument("--reference", required=True, metavar="PATH")
    sp.add_argument("--current", required=True, metavar="PATH")
    _drift_args(sp)
    sp.add_argument("--correction", choices=["bh", "holm", "none"], default="bh")
    sp.add_argument(
        "--drift-share",
        type=float,
        default=0.5,
        help="share of drifted columns that makes the data set drifted",
    )
    sp.add_argument("--fail-on-drift", action="store_true", help="exit 1 when the data set drifted")
    sp.add_argument(
        "--allow-extra",
        action="store_true",
        help="keep columns of the current data that the reference lacks (not compared)",
    )

    sp = command(
        sub, "monitor", cmd_monitor, "profile a version's reference, check a batch, attach labels"
    )
    sp.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("--batch", metavar="PATH", help="check this batch and store the results")
    sp.add_argument("--reference", metavar="PATH", help="profile this reference data first")
    sp.add_argument("--target", help="label column of the reference (calibration, performance)")
    sp.add_argument("--exclude", help="reference columns not to monitor (ids), comma-separated")
    sp.add_argument("--name", help="batch name (default: the file name)")
    sp.add_argument("--time", help="batch time, ISO 8601 (default: now)")
    sp.add_argument("--id-column", help="row ids, kept so late labels can be joined")
    sp.add_argument("--label-column", help="labels in the batch, or in --labels")
    sp.add_argument("--labels", metavar="PATH", help="late labels for --batch-id, joined by id")
    sp.add_argument("--batch-id", type=int, help="the batch the --labels belong to")
    sp.add_argument(
        "--strict-columns",
        action="store_true",
        help="refuse a batch with columns the model does not know (default: kept, flagged)",
    )
    _drift_args(sp)
