"""Registry commands: register, list, show, alias set/remove, convert, trust."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from modelward.cli.common import command, group, open_registry, version_json
from modelward.cli.output import Result, fmt_size, fmt_time, lines, table
from modelward.core.errors import InvalidInput, ModelWardError, NotFound

GROUP_FILES = 200
"""Files recorded per registry commit by ``register PATH...``."""
GROUP_SECONDS = 1.0


def _files_of(paths: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The model files named by ``paths`` (a folder: the files directly in it), and the misses.

    An MLflow model folder (one with an ``MLmodel`` file) counts as one model,
    given itself or found in a folder.
    """
    from modelward.core.intake.mlflow import is_mlflow_folder  # deferred: start-up cost
    from modelward.core.watch.ingest import is_temporary  # deferred: start-up cost

    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    for raw in paths:
        p = Path(raw)
        if is_mlflow_folder(p):
            files.append(p)
        elif p.is_dir():
            for child in sorted(p.iterdir()):
                if is_temporary(child.name) or child.is_symlink():
                    continue
                if child.is_file() or is_mlflow_folder(child):
                    files.append(child)
        elif p.exists():
            files.append(p)
        else:
            missing.append((raw, "no such file"))
    return files, missing


def _pairs(items: list[str] | None, what: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` options as pairs (a missing ``=`` is one clear error)."""
    out = []
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--{what} {item!r}: use --{what} NAME=VALUE")
        out.append((name.strip(), value))
    return out


def _metrics_of(args: argparse.Namespace) -> dict[str, float] | None:
    metrics: dict[str, float] = {}
    for name, value in _pairs(getattr(args, "metric", None), "metric"):
        try:
            metrics[name] = float(value)
        except ValueError:
            raise InvalidInput(f"--metric {name}={value}: {value!r} is not a number") from None
    return metrics or None


def _params_of(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--param`` values: a number or true/false when they read as one, else the text."""
    params: dict[str, Any] = {}
    for name, value in _pairs(getattr(args, "param", None), "param"):
        parsed: Any = value
        if value.lower() in ("true", "false"):
            parsed = value.lower() == "true"
        else:
            for kind in (int, float):
                try:
                    parsed = kind(value)
                    break
                except ValueError:
                    continue
        params[name] = parsed
    return params or None


def cmd_register(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.intake.mlflow import accept_model_path, is_mlflow_folder

    one = args.path[0]
    if len(args.path) == 1 and (not Path(one).is_dir() or is_mlflow_folder(one)):
        # One file (or one MLflow model folder): as before (a refusal is the command's error).
        reg = open_registry(args)
        name = args.name or _name_for(one)
        res = accept_model_path(
            reg, one, name=name, metrics=_metrics_of(args), params=_params_of(args)
        ).register_result()
        out = version_json(res.version)
        out["created"] = res.created
        v = res.version
        what = "registered" if res.created else "already registered as"
        text = [f"{what} {v.ref}  sha256 {v.sha256}  ({v.format}, {fmt_size(v.size)})"]
        if v.status != "ok":
            text.append(f"status: {v.status}")
        mlflow = v.lineage.get("mlflow") or {}
        if mlflow:
            text.append(f"MLflow flavor {mlflow.get('flavor')} ({mlflow.get('model_file')})")
        text.extend(f"warning: {w}" for w in mlflow.get("warnings") or [])
        return Result(out, lines(*text))
    if args.name:
        folders = [p for p in args.path if Path(p).is_dir()]
        what = f"{folders[0]} is a folder" if folders else "several files were given"
        raise InvalidInput(
            f"{what}: --name names the model of one file; without it each file is "
            "registered under a name made from its file name"
        )
    return _register_many(args)


def _name_for(path: str | Path) -> str:
    from modelward.core.intake import model_name_for  # deferred: start-up cost

    return model_name_for(path)


def _register_many(args: argparse.Namespace) -> Result:
    """``register PATH...``: one sandbox worker for all, one commit per group of files."""
    from modelward.core.artifacts.sandbox import default_sandbox  # deferred: start-up cost
    from modelward.core.intake.mlflow import accept_model_path
    from modelward.core.intake.result import REFUSED, IntakeResult

    metrics, params = _metrics_of(args), _params_of(args)
    reg = open_registry(args)
    files, missing = _files_of(args.path)
    if files:
        default_sandbox().warm_up_in_background()  # starts while the first file is copied
    outcome: list[dict[str, Any]] = [
        {"path": raw, "status": "error", "reason": why} for raw, why in missing
    ]

    def one(p: Path) -> dict[str, Any]:
        try:
            res: IntakeResult = accept_model_path(
                reg, p, name=_name_for(p), metrics=metrics, params=params
            )
        except (InvalidInput, NotFound) as e:
            return {"path": str(p), "status": "error", "reason": str(e)}
        if res.status == REFUSED or res.version is None:
            return {"path": str(p), "status": "refused", "reason": res.reason or "refused"}
        v = res.version
        return {
            "path": str(p),
            "status": "registered" if res.created else "duplicate",
            "ref": v.ref,
            "sha256": v.sha256,
            "format": v.format,
            "size": v.size,
            "version_status": v.status,
        }

    i = 0
    while i < len(files):
        done: list[dict[str, Any]] = []
        chunk = files[i : i + GROUP_FILES]
        started = time.monotonic()
        tried = 0
        try:
            with reg.group():
                for p in chunk:
                    tried += 1
                    done.append(one(p))
                    if time.monotonic() - started > GROUP_SECONDS:
                        break  # others waiting for the registry get their turn
        except ModelWardError:
            # The group was rolled back as a whole: each file again, alone.
            done = [one(p) for p in chunk[:tried]]
        outcome.extend(done)
        i += len(done)

    text: list[str] = []
    errors: list[str] = []
    for o in outcome:
        if o["status"] == "registered":
            text.append(
                f"registered {o['ref']}  sha256 {o['sha256']}  ({o['format']}, {fmt_size(o['size'])})"
            )
        elif o["status"] == "duplicate":
            text.append(f"already registered as {o['ref']}  ({o['path']})")
        else:
            errors.append(f"{o['status']}: {o['path']}: {o['reason']}")
    counts = {
        k: sum(1 for o in outcome if o["status"] == k)
        for k in ("registered", "duplicate", "refused", "error")
    }
    failed = counts["refused"] + counts["error"]
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no files"
    text.append(summary)
    ok = failed == 0
    data = {"files": outcome, **counts, "ok": ok}
    return Result(data, lines(*text), ok=ok, errors=errors)


def _list_spec(args: argparse.Namespace) -> Any:
    """The window's search (one parser for both) and a sort key as a ``TableSpec``.

    ``--sort`` takes a column (``name``, ``version``, ``created``, ``status``,
    ``estimator``, ``aliases``, ``by``) or a metric name; a leading ``-`` sorts
    descending.
    """
    from modelward.core import query  # deferred: start-up cost

    flt = query.parse_search(args.filter or "")
    if args.name:
        # the positional NAME is an exact model name, on top of any --filter
        where = "m.name = ?" + (f" AND ({flt.where})" if flt.where else "")
        flt = query.Filter(where, (args.name, *flt.params))
    key = args.sort or "name"
    descending = key.startswith("-")
    key = key.lstrip("-")
    column = {"created": "created_at", "by": "created_by"}.get(key, key)
    if column in query.SORT_COLUMNS:
        return query.TableSpec(filter=flt, sort=column, descending=descending)
    return query.TableSpec(
        filter=flt, metric_keys=(key,), sort=f"metric:{key}", descending=descending
    )


def cmd_list(args: argparse.Namespace) -> Result:

    if args.limit < 0:
        raise InvalidInput("--limit must be 0 (all) or a positive number")
    reg = _open_reading(args)
    try:
        return _list(args, reg)
    finally:
        reg.close()


def _open_reading(args: argparse.Namespace) -> Any:
    """The registry opened once for this command's reads (read-only when the file allows)."""
    from modelward.core.registry.connection import HOLD  # deferred: start-up cost

    # One open for the whole command (not one per query); a knock still frees it.
    return open_registry(args, read_only=True, idle_release=HOLD)


def _list(args: argparse.Namespace, reg: Any) -> Result:
    from modelward.core import query  # deferred: start-up cost

    spec = _list_spec(args)
    limit = None if args.limit == 0 else args.limit
    # (id, name, version, aliases, status, estimator, created_at, created_by[, metric])
    if limit is not None:
        total, page = query.first_page(reg, spec, limit)  # the count and the page at once
    else:
        total = query.count_rows(reg, spec)
        page = query.fetch_page(reg, spec, 0, total)
    metric = spec.metric_keys[0] if spec.metric_keys else None
    # A metric no version has is refused; a page that shows the metric proves it
    # exists (one query fewer in the usual case).
    if metric is not None and all(r[8] is None for r in page):
        if not query.has_metric(reg, metric):
            raise InvalidInput(
                f"cannot sort by {metric!r}: no version has this metric, and it is "
                "not a column (name, version, created, status, estimator, aliases, by)"
            )
    ids = [r[0] for r in page]
    data: dict[str, Any] = {"versions": [], "total": total, "truncated": len(page) < total}
    if args.json:
        # the whole version (metrics, params, lineage...) only for the JSON form
        listed = ", ".join(str(int(i)) for i in ids) or "NULL"
        by_id = {v.id: v for v in reg.list_versions(where=f"v.id IN ({listed})")}
        data["versions"] = [version_json(by_id[i]) for i in ids if i in by_id]
    if not page:
        if total == 0 and not spec.filter:
            return Result(data, f"no models registered yet in {reg.home}")
        return Result(data, "no version matches" + (f" {args.filter!r}" if args.filter else ""))
    formats = dict(reg.version_formats(ids))
    headers = ["MODEL", "VERSION", "ALIASES", "FORMAT", "ESTIMATOR", "STATUS", "CREATED"]
    rows = [
        [
            r[1],
            r[2],
            (r[3] or "-").replace(", ", ","),
            formats.get(r[0], "-"),
            (r[5] or "-").rsplit(".", 1)[-1],
            r[4],
            fmt_time(r[6]),
        ]
        for r in page
    ]
    if metric is not None:
        headers.append(metric.upper())
        for row, r in zip(rows, page, strict=True):
            row.append("-" if r[8] is None else f"{r[8]:.4g}")
    text = table(headers, rows)
    if data["truncated"]:
        text += (
            f"\n{len(page):,} of {total:,} versions shown"
            " (--limit N, --limit 0 for all, or --filter to narrow)"
        )
    return Result(data, text)


def cmd_show(args: argparse.Namespace) -> Result:
    reg = _open_reading(args)
    try:
        v = reg.resolve(args.ref)
    finally:
        reg.close()
    rows: list[tuple[str, Any]] = [
        ("aliases", ", ".join(v.aliases) or "-"),
        ("sha256", v.sha256),
        ("format", v.format),
        ("size", fmt_size(v.size)),
        ("estimator", v.estimator_class or "-"),
    ]
    native = v.params.get("native") if isinstance(v.params, dict) else None
    if isinstance(native, dict) and native.get("extra"):  # read by XGBoost, LightGBM, ONNX...
        rows.append(("needs", f"modelward[{native['extra']}] ({native.get('library')})"))
    elif isinstance(v.params, dict) and v.params.get("extras"):  # a pipeline's boosting step
        rows.append(("needs", ", ".join(f"modelward[{e}]" for e in v.params["extras"])))
    rows += [
        ("status", v.status),
        ("created", f"{v.created_at} by {v.created_by}"),
    ]
    for k, val in v.lineage.items():
        rows.append((f"lineage.{k}", val))
    for k, val in sorted(v.metrics.items()):
        rows.append((f"metric.{k}", f"{val:.6g}"))
    for k, val in sorted((v.params.get("logged") or {}).items()):
        rows.append((f"param.{k}", val))
    if v.signature:
        rows.append(("signature", json.dumps(v.signature)[:200]))
    text = lines(f"{v.ref}", *(f"  {k:<18} {val}" for k, val in rows))
    return Result(version_json(v), text)


def cmd_alias_set(args: argparse.Namespace) -> Result:
    v = open_registry(args).set_alias(args.ref, args.alias, args.reason)
    return Result(version_json(v), f"{v.name}@{args.alias} -> version {v.version}")


def cmd_alias_remove(args: argparse.Namespace) -> Result:
    open_registry(args).remove_alias(args.name, args.alias, args.reason)
    return Result(
        {"name": args.name, "alias": args.alias, "removed": True},
        f"removed alias {args.alias} of {args.name}",
    )


def cmd_convert(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.intake.convert import convert_version

    res = convert_version(
        open_registry(args), args.ref, to=args.to, data=args.data, tolerance=args.tolerance
    )
    out = version_json(res.version)
    out["created"] = res.created
    v = res.version
    what = "converted to" if res.created else "already converted as"
    text = [f"{args.ref}: {what} {v.ref}  ({v.format}, sha256 {v.sha256[:12]}…)"]
    par = v.lineage.get("onnx_parity")
    if par:
        text.append(
            f"parity: max |difference| of a {par['compared']} {par['max_abs_diff']:.3g} on "
            f"{par['rows']} rows of {par['data']} (tolerance {par['tolerance']:g})"
        )
    return Result(out, lines(*text))


def cmd_trust(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.artifacts.overrides import record_override
    from modelward.core.artifacts.store import sha256_file
    from modelward.core.intake import accept_model_file

    reg = open_registry(args)
    try:
        sha, _size = sha256_file(args.path)
    except FileNotFoundError:
        raise NotFound(f"no such file: {args.path}") from None
    seq = record_override(
        reg,
        sha,
        globals=args.allow,
        reviewer=args.reviewer,
        reason=args.reason,
        source=str(args.path),
    )
    res = accept_model_file(reg, args.path, name=args.name).register_result()
    out = version_json(res.version)
    out.update({"created": res.created, "override_audit_seq": seq})
    text = lines(
        f"trust override recorded (audit event {seq}) for sha256 {sha[:12]}…: "
        f"{', '.join(args.allow)}",
        f"registered {res.version.ref} ({res.version.format})",
    )
    return Result(out, text)


def add_parsers(sub: Any) -> None:
    """register, list, show, alias, convert, trust."""
    sp = command(sub, "register", cmd_register, "register model files (they are never executed)")
    sp.add_argument(
        "path",
        nargs="+",
        help="model files (skops, joblib, pickle, ONNX, XGBoost, LightGBM, CatBoost), MLflow "
        "model folders, or folders of them",
    )
    sp.add_argument(
        "--name", help="model name of a single file (default: derived from the file's name)"
    )
    sp.add_argument(
        "--metric",
        action="append",
        metavar="NAME=VALUE",
        help="a metric to record (repeat for more; with several files, on each); "
        "searchable: list --filter 'auc>0.8'",
    )
    sp.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a parameter to record (repeat for more; with several files, on each); "
        "searchable: list --filter 'param.NAME=VALUE'",
    )

    sp = command(sub, "list", cmd_list, "list model versions")
    sp.add_argument("name", nargs="?", help="only this model (its exact name)")
    sp.add_argument(
        "--filter",
        metavar="EXPR",
        help="the window's search, e.g. 'alias:champion roc_auc>0.8 created>2026-01-01'",
    )
    sp.add_argument(
        "--sort",
        metavar="KEY",
        help="name (default), version, created, status, estimator, aliases, by, or a "
        "metric; a leading - sorts descending (--sort=-roc_auc)",
    )
    sp.add_argument(
        "--limit", type=int, default=1000, metavar="N", help="at most N versions (0: all)"
    )

    sp = command(sub, "show", cmd_show, "show one version: NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("ref")

    asub = group(sub, "alias", "set or remove aliases (champion, challenger, …)")
    sp = command(asub, "set", cmd_alias_set, "point ALIAS at REF")
    sp.add_argument("ref")
    sp.add_argument("alias")
    sp.add_argument("--reason", required=True)
    sp = command(asub, "remove", cmd_alias_remove, "remove ALIAS of model NAME")
    sp.add_argument("name")
    sp.add_argument("alias")
    sp.add_argument("--reason", required=True)

    sp = command(
        sub,
        "convert",
        cmd_convert,
        "re-save a version as skops, or as ONNX after a parity check (a new version)",
    )
    sp.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument(
        "--to",
        default="skops",
        choices=["skops", "onnx", "native"],
        help="target format (onnx: a scikit-learn pipeline, after a parity check; native: a "
        "trusted XGBoost/LightGBM/CatBoost pickle in its library's own format)",
    )
    sp.add_argument(
        "--data",
        metavar="FILE",
        help="onnx: the table the parity check scores (default: the version's validation "
        "data, else its training snapshot); CSV, Parquet or dataset:ID",
    )
    sp.add_argument(
        "--tolerance",
        type=float,
        metavar="X",
        help="onnx: the largest |difference| of a probability (classifiers) or prediction "
        "(regressors) accepted (default 1e-4)",
    )

    sp = command(
        sub,
        "trust",
        cmd_trust,
        "reviewer override: allow named extra globals for one file's bytes, audited",
    )
    sp.add_argument("path", help="the model file that was rejected")
    sp.add_argument("--name", required=True, help="model name to register it under")
    sp.add_argument(
        "--allow",
        action="append",
        required=True,
        metavar="MODULE:NAME",
        help="a global to allow for this file (repeat for more)",
    )
    sp.add_argument("--reviewer", required=True, help="your name, as you sign it")
    sp.add_argument("--reason", required=True, help="why this file is trusted")
