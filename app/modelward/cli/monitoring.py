"""Monitoring commands: drift between two files, monitor a version's batches."""

from __future__ import annotations

import argparse
import contextlib
import threading
import warnings
from collections.abc import Iterator
from typing import Any

from modelward.cli.common import command, csv, open_registry
from modelward.cli.output import Result, lines, table
from modelward.core.errors import InvalidInput
from modelward.core.tables import Table, check_signature, open_table


@contextlib.contextmanager
def _quiet_numbers() -> Iterator[None]:
    """No raw numpy/pandas warning reaches the terminal: odd values are reported as flags."""
    import numpy as np  # deferred: start-up cost

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@contextlib.contextmanager
def _unscorable(label: str) -> Iterator[None]:
    """A model that cannot score the rows is refused in one sentence, not a traceback."""
    try:
        yield
    except ValueError as e:
        if "infinity" not in str(e) and "too large" not in str(e):
            raise
        raise InvalidInput(
            f"the model cannot score {label}: a value is infinite or too large for it"
        ) from None


def drift_text(rep: Any) -> str:
    """A drift report as a table of columns and the verdict lines under it.

    The p-value printed is the one the verdict uses (adjusted across columns
    when a correction is on), and every drifted column says which lens fired.
    """
    corr = {"bh": "BH", "holm": "Holm"}.get(rep.correction)
    p_head = f"P ({corr})" if corr else "P-VALUE"
    rows = []
    for f in rep.features:
        lens = getattr(f, "lens", "") or f.method
        pv = f.p_adjusted if f.p_adjusted is not None else f.p_value
        if lens == "missing":  # the missing-rate lens judges by Fisher's test (unadjusted)
            pv = (f.stats or {}).get("missing_p", pv)
        p = "-" if pv is None else f"{pv:.3g}"
        flag = {"red": "DRIFT", "amber": "drift (amber)"}.get(f.severity, "") if f.drifted else ""
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
        head = "multivariate (PCA reconstruction error)"
        if mv["statistic"] is None:
            out.append(f"{head}: {mv['threshold_source']} (no verdict)")
        elif mv["threshold"] is None:  # never "ok" against a bound that does not exist
            out.append(
                f"{head}: {mv['statistic']:.4g} vs reference {mv['reference']:.4g}, threshold "
                f"{mv['threshold_source']} (no verdict)"
            )
        else:
            out.append(
                f"{head}: {mv['statistic']:.4g} vs reference {mv['reference']:.4g}, threshold "
                f"{mv['threshold']:.4g} ({'drifted' if mv['drifted'] else 'ok'})"
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
    # deferred: start-up cost (numpy and the drift statistics); the files are checked first
    from modelward.core.monitoring.drift import drift_between
    from modelward.core.monitoring.source import open_source

    # The intake's flags of the current file (refused rows, ±inf, NaN) are counted in
    # the check's own read of it, and the files opened above are not opened again.
    scan = open_source(cur).intake_scan(refuse=False)
    with _quiet_numbers():
        rep = drift_between(
            ref,
            cur,
            features=csv(args.features) or None,
            categorical=csv(args.categorical),
            methods={"*": args.method} if args.method else None,
            thresholds=args.thresholds,
            correction=args.correction,
            drift_share=args.drift_share,
            scan=scan,
        )
    found = scan.result(cur.label)
    flags, scan_flags = [f"flag {line}" for line in found.notes()], found.flags
    # --fail-on-drift: a drifted data set is a failure, with or without --json.
    ok = not (args.fail_on_drift and rep.drifted)
    doc = rep.to_json()
    doc["flags"] = scan_flags
    seg_lines: list[str] = []
    if args.segment_by:
        from modelward.core.monitoring.segments import segment_drift  # deferred: start-up cost

        with _quiet_numbers():
            doc["segments"] = segment_drift(
                args.reference,
                args.current,
                args.segment_by,
                features=csv(args.features) or None,
                categorical=csv(args.categorical),
                methods={"*": args.method} if args.method else None,
                thresholds=args.thresholds,
                correction=args.correction,
                drift_share=args.drift_share,
            )
        seg_lines = segments_text(doc["segments"])
    return Result(doc, lines(drift_text(rep), *seg_lines, *flags), ok=ok)


def segments_text(segs: dict[str, Any]) -> list[str]:
    """Drift (and performance) per segment as a table."""
    if not segs or not segs.get("segments"):
        return []
    rows = []
    for e in segs["segments"]:
        perf = e.get("performance") or {}
        shown = ", ".join(f"{k} {v:.4f}" for m in perf.values() for k, v in sorted(m.items())[:3])
        share = e.get("drift_share")
        rows.append(
            (
                str(e["segment"]),
                f"{e['rows']:,}",
                "-" if share is None else f"{share:.2f}",
                ("DRIFTED" if e.get("drifted") else "ok")
                if share is not None
                else e.get("note", ""),
                ", ".join(e.get("drifted_features") or [])[:40],
                shown,
            )
        )
    return [
        f"\nsegments by {segs['column']}:",
        table(
            ["SEGMENT", "ROWS", "DRIFT SHARE", "VERDICT", "DRIFTED COLUMNS", "PERFORMANCE"], rows
        ),
    ]


def groups_text(groups: dict[str, Any]) -> list[str]:
    """Per-group rates of a protected attribute and the gaps against their thresholds."""
    if not groups:
        return []
    if groups.get("note"):
        return [f"\ngroups by {groups.get('column')}: {groups['note']}"]

    def pct(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    rows = [
        (
            g,
            f"{int(m.get('n') or 0):,}",
            pct(m.get("selection_rate")),
            pct(m.get("true_positive_rate")),
            pct(m.get("calibration")),
        )
        for g, m in groups.get("by_group", {}).items()
    ]
    out = [
        f"\ngroups by {groups.get('column')} (protected):",
        table(["GROUP", "ROWS", "SELECTION RATE", "TRUE-POSITIVE RATE", "CALIBRATION"], rows),
    ]
    for name, gap in groups.get("gaps", {}).items():
        side = "minimum" if name.endswith("ratio") else "maximum"
        verdict = "CROSSED" if gap["crossed"] else "ok"
        out.append(
            f"gap {name.replace('_', ' ')}: {pct(gap['value'])} ({side} {gap['threshold']:g}): {verdict}"
        )
    return out


def _gap_thresholds(text: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in csv(text):
        key, _, value = part.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise InvalidInput(f"--gap-thresholds takes NAME=NUMBER pairs, not {part!r}") from None
    return out


def _alert_gaps(reg: Any, res: Any) -> list[str]:
    """One alert per batch whose group gaps crossed a threshold (the inbox's alert)."""
    if not res.groups.get("crossed"):
        return []
    from modelward.core.policies.engine import group_gap_alert  # deferred: start-up cost

    done = group_gap_alert(reg, res.model_name, res.batch_id)
    return [done["summary"]] if done else []


def _warm_model_loader() -> threading.Thread:
    def run() -> None:
        # (no warnings.catch_warnings here: it swaps process-wide filters, not thread-safe)
        with contextlib.suppress(Exception):
            from modelward.core.artifacts.safeload import warm_loaders

            warm_loaders()

    # Not a daemon: a process that refuses the batch and ends while this thread is
    # inside a C++ extension's import aborted ("FATAL: exception not rethrown")
    # when finalisation killed it; the interpreter now waits for it at exit.
    t = threading.Thread(target=run, name="warm-model-loader", daemon=False)
    t.start()
    return t


def cmd_monitor(args: argparse.Namespace) -> Result:
    if args.time and args.batch_id is not None and not (args.batch or args.labels):
        reg = open_registry(args)
        from modelward.core.monitoring import service  # deferred: start-up cost

        when = service.set_data_time(reg, args.batch_id, args.time)
        return Result(
            {"batch_id": args.batch_id, "data_time": when},
            lines(f"batch {args.batch_id}: data time set to {when}"),
        )
    if not (args.reference or args.batch or args.labels):
        raise InvalidInput("nothing to do: give --batch PATH, --reference PATH or --labels PATH")
    if args.labels and (args.batch_id is None or not args.id_column or not args.label_column):
        raise InvalidInput("--labels needs --batch-id, --id-column and --label-column")
    from modelward.core.registry.connection import HOLD  # deferred: start-up cost

    # Held between the check's many reads and writes (one open instead of one per
    # operation, each a second or more on a busy machine), and let go at once when
    # another process knocks, as the window and `watch` do.
    from modelward.core.registry.refusals import refusals_audited  # deferred: start-up cost

    reg = open_registry(args, idle_release=HOLD)
    try:
        # a refused batch, reference or labels file leaves one input.refused event
        with refusals_audited(
            reg, "monitor", args.batch or args.reference or args.labels, ref=args.ref
        ):
            return _monitor(reg, args)
    finally:
        reg.close()


def _monitor(reg: Any, args: argparse.Namespace) -> Result:
    batch: Table | None = None
    # deferred: start-up cost (numpy and the drift statistics)
    from modelward.core.monitoring import service
    from modelward.core.registry.predictions import KEPT_PASS

    looked_up = False
    unopened = False  # a batch whose pass ``score`` kept: the check does not read it
    if args.batch and not args.reference:
        # The model loader's imports (scikit-learn, skops: seconds) start on a second
        # thread while the batch is opened; the check then reads the batch once (the
        # intake's flags are counted in that read) while the model loads. Not when the
        # batch was scored before with its rows logged: its scores are read back.
        # A batch that may be in the log (one of its size was logged) is hashed to look
        # for it on a second thread, while the strict reader scans the file here.
        pending: Any = None  # the hash's Future
        # its CancelToken: a refused batch stops the hash (the exit would wait for it)
        looking: Any = None
        if not args.rescore and not args.scored_batch:
            looked_up = True  # the check need not hash the file again to look
            candidates = service.logged_candidates(reg, args.ref, args.batch)
            plain = service.kept_pass_may_stand(
                id_column=args.id_column,
                label_column=args.label_column,
                segment_by=args.segment_by,
                protected=args.protected,
                date_column=args.date_column,
                strict_columns=args.strict_columns,
            )
            if plain and any(KEPT_PASS in b.summary for b in candidates.values()):
                # hashed first (a fraction of a read): its kept pass stands for the file
                args.scored_batch = service.logged_batch_key(reg, args.ref, args.batch)
                found = candidates.get(args.scored_batch or "")
                unopened = found is not None and KEPT_PASS in found.summary
            elif candidates:
                from concurrent.futures import ThreadPoolExecutor

                from modelward.core.progress import CancelToken

                looking = CancelToken()
                pool = ThreadPoolExecutor(1, thread_name_prefix="modelward-batch-hash")
                pending = pool.submit(
                    service.logged_batch_key, reg, args.ref, args.batch, cancel=looking
                )
                pool.shutdown(wait=False)
        if pending is None and (args.rescore or not args.scored_batch):
            _warm_model_loader()
        if not unopened:
            try:
                batch = open_table(args.batch, label=str(args.batch))
            except BaseException:
                if looking is not None:
                    looking.cancel()
                raise
        if pending is not None:
            args.scored_batch = pending.result()
            if not args.scored_batch:
                _warm_model_loader()

    out: dict[str, Any] = {}
    text: list[str] = []
    if args.reference:
        with _quiet_numbers():
            prof = service.profile_version(
                reg,
                args.ref,
                args.reference,
                target=args.target,
                features=csv(args.features) or None,
                categorical=csv(args.categorical),
                exclude=csv(args.exclude),
                protected=args.protected,
            )
        out["profile"] = {"rows": prof.n_rows, "features": list(prof.features)}
        text.append(f"profiled {prof.n_rows:,} reference rows, {len(prof.features)} columns")
        if args.target and "reference" not in prof.model:
            text.append(
                f"note: {args.target!r} holds no labels the model's scores can be set against: "
                "no reference performance, so batches get no performance estimate"
            )
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
        if batch is None and not unopened:  # after a new reference profile: checked against it
            batch = open_table(args.batch, label=str(args.batch))
        with _quiet_numbers(), _unscorable(str(args.batch)):
            res = service.check_batch(
                reg,
                args.ref,
                # opened and scanned above: not opened again (a path: opened only if needed)
                batch if batch is not None else args.batch,
                name=args.name,
                batch_time=args.time,
                id_column=args.id_column,
                label_column=args.label_column,
                methods={"*": args.method} if args.method else None,
                thresholds=args.thresholds,
                segment_by=args.segment_by,
                protected=args.protected,
                gap_thresholds=_gap_thresholds(args.gap_thresholds),
                date_column=args.date_column,
                log_rows=True if args.log_rows else None,
                scored_batch=args.scored_batch,
                reuse_log=not args.rescore and not (looked_up and not args.scored_batch),
                intake_scan=True,  # the flags: refused rows, ±inf, NaN, in the check's read
                strict_columns=args.strict_columns,
            )
        assert res.intake is not None
        flags = res.intake.flags
        flag_lines = [f"flag {line}" for line in (*res.intake.notes(), *res.notes())]
        out.update(res.to_json())
        out["flags"] = flags
        text.extend(flag_lines)
        text.append(f"batch {res.batch_id} ({res.name}) checked against {res.version_ref}\n")
        if res.scores_from_log:
            text.append(
                f"scores read from the prediction log (batch {res.scores_from_log}, as scored); "
                "the model was not loaded"
                + (
                    "; the batch was counted when it was scored (its bytes hashed, not read)"
                    if res.counted_when_scored
                    else ""
                )
            )
        text.append(drift_text(res.report))
        if res.performance:
            text.append(f"model kind: {res.model_kind}")
        for kind, m in res.performance.items():
            text.append(
                f"{kind} performance: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(m.items()))
            )
        text.extend(f"note: {note}" for note in res.performance_notes)
        text.append(f"data time: {res.data_time} (from {res.data_time_source})")
        text.extend(segments_text(res.segments))
        text.extend(groups_text(res.groups))
        text.extend(_alert_gaps(reg, res))
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
    sp.add_argument("--segment-by", metavar="COLUMN", help="also drift per value/band of COLUMN")
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
    sp.add_argument(
        "--data-time",
        "--time",
        dest="time",
        help="when the batch's rows happened, ISO 8601 (default: a date in the file name, "
        "then a date column, then now); with --batch-id alone: change a checked batch's",
    )
    sp.add_argument("--date-column", help="the batch's date column (its earliest date)")
    sp.add_argument(
        "--segment-by", metavar="COLUMN", help="drift and performance per value/band of COLUMN"
    )
    sp.add_argument(
        "--protected",
        metavar="COLUMN",
        help="protected attribute: gaps between its groups (with --reference: kept for later batches)",
    )
    sp.add_argument(
        "--gap-thresholds",
        metavar="NAME=X,...",
        help="selection_rate_ratio (min, 0.8), tpr_difference and calibration_difference (max, 0.1)",
    )
    sp.add_argument(
        "--log-rows",
        action="store_true",
        help="store every row's prediction (default: a summary; rows are kept with --id-column)",
    )
    sp.add_argument(
        "--scored-batch",
        metavar="ID",
        help="the prediction log's id of this batch, scored before with --log-rows (default: "
        "found by the file's SHA-256): its scores are read back, the model is not loaded",
    )
    sp.add_argument(
        "--rescore", action="store_true", help="score the batch even when its scores are logged"
    )
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
