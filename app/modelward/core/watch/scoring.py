"""Scoring folders: a batch dropped in the inbox is scored by the model's champion into the outbox.

The champion is resolved for each batch (``NAME@champion``) and recorded in
the batch's manifest and audit event, so a promotion changes who scores the
next batch and nothing else. Each batch is written to the outbox exactly once:

* the output appears by rename, with its manifest last (a killed run leaves
  only hidden ``.partial`` files, which the next attempt removes);
* the inbox file is recorded as taken only after its output exists; a run
  killed between the two finds, at the next start, an output whose manifest
  names the same input bytes, and records it without scoring again;
* the same bytes at the same path are taken once (the watcher's record).

A batch the model cannot score (a missing column, unreadable bytes) goes to
the quarantine with its reason, audited, and is not retried. Shadow
challengers (:func:`~modelward.core.registry.predictions.list_shadows`) score
the same batch after the champion; their predictions go to the prediction
log with their agreement with the champion, never to the outbox, and a
challenger that fails never holds the batch back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from modelward.core.artifacts.store import sha256_file
from modelward.core.compute.score import read_manifest, score_file
from modelward.core.errors import InvalidInput, ModelWardError, NotFound, RejectedFile
from modelward.core.intake.quarantine import quarantine
from modelward.core.monitoring import kept_pass
from modelward.core.platform import process_alive
from modelward.core.registry import Registry
from modelward.core.registry.predictions import SHADOW, list_shadows, log_predictions
from modelward.core.registry.refusals import refusals_recorded
from modelward.core.tables import bool_word
from modelward.core.watch.folders import SCORING, WatchedFolder, display_name

log = logging.getLogger(__name__)

__all__ = [
    "SCORING",
    "output_name",
    "score_inbox_batch",
    "shadow_agreement",
]

_SUFFIX = {"csv": ".csv", "parquet": ".parquet"}


def _input_format(path: Path) -> str:
    with open(path, "rb") as f:
        return "parquet" if f.read(4) == b"PAR1" else "csv"


def output_name(folder: WatchedFolder, path: Path, sha256: str) -> Path:
    """Where the batch ``path`` with bytes ``sha256`` is written in the outbox.

    ``<stem>.scored.<ext>``; when that name already holds the output of other
    bytes (a new batch under a reused name), ``<stem>.<sha[:8]>.scored.<ext>``.
    """
    outbox = Path(str(folder.options.get("outbox") or ""))
    fmt = str(folder.options.get("format") or _input_format(path))
    ext = _SUFFIX.get(fmt, ".parquet")
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    first = outbox / f"{stem}.scored{ext}"
    man = read_manifest(first)
    if man is None and not first.exists():
        return first
    if man is not None and man.get("input", {}).get("sha256") == sha256:
        return first
    return outbox / f"{stem}.{sha256[:8]}.scored{ext}"


@contextlib.contextmanager
def _claim(out: Path) -> Iterator[None]:
    """Hold the batch's output name against another process scoring it at the same time.

    A hidden ``.<out>.claim`` file created exclusively, holding the owner's
    pid; a claim whose process is gone (killed) is taken over.
    """
    lock = out.with_name(f".{out.name}.claim")
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and process_alive(pid):
                raise ModelWardError(
                    f"{display_name(out.name)} is being scored by process {pid}; "
                    "the batch is tried again later"
                ) from None
            with contextlib.suppress(OSError):
                lock.unlink()
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    else:
        raise ModelWardError(f"cannot claim {display_name(out.name)}; tried again later")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()


def _sweep_partials(out: Path) -> None:
    """Hidden temporary files a killed run of this output left in the outbox."""
    for name in (out.name, out.name + ".rejected.csv", out.name + ".manifest.json"):
        for p in out.parent.glob(f".{name}.*.partial"):
            with contextlib.suppress(OSError):
                p.unlink()


def shadow_agreement(
    champion: tuple[Any, Any, Any], shadow: tuple[Any, Any, Any]
) -> dict[str, Any]:
    """How a shadow's predictions of a batch compare with the champion's, row by row (by id).

    Returns ``agreement`` (share of rows with the same prediction),
    ``mean_abs_score_diff`` and ``rows_compared``.
    """
    c_ids, c_pred, c_proba = champion
    s_ids, s_pred, s_proba = shadow
    index = {str(i): k for k, i in enumerate(c_ids)}
    pairs = [(index[str(i)], k) for k, i in enumerate(s_ids) if str(i) in index]
    if not pairs:
        return {"agreement": None, "mean_abs_score_diff": None, "rows_compared": 0}
    ci = np.array([p[0] for p in pairs], dtype=np.intp)
    si = np.array([p[1] for p in pairs], dtype=np.intp)
    a, b = np.asarray(c_pred)[ci], np.asarray(s_pred)[si]
    same = a.astype(str) == b.astype(str)
    if not same.all():
        # a yes/no model against one of the same target with True/False (trained on
        # a CSV before its words were kept): the same decision, by truth value
        words = {v: bool_word(v) for v in {*a.tolist(), *b.tolist()}}
        if None not in words.values():
            pairs_ab = zip(a.tolist(), b.tolist(), strict=True)
            same = np.array([words[x] == words[y] for x, y in pairs_ab])
    diff = None
    if c_proba is not None and s_proba is not None and c_proba.shape[1] == s_proba.shape[1]:
        col = 1 if c_proba.shape[1] == 2 else slice(None)
        diff = float(np.mean(np.abs(c_proba[ci][:, col] - s_proba[si][:, col])))
    elif c_proba is None and s_proba is None:
        try:
            diff = float(
                np.mean(
                    np.abs(
                        np.asarray(c_pred, dtype=float)[ci] - np.asarray(s_pred, dtype=float)[si]
                    )
                )
            )
        except (TypeError, ValueError):
            diff = None
    return {
        "agreement": float(same.mean()),
        "mean_abs_score_diff": diff,
        "rows_compared": len(pairs),
    }


def _score_shadows(
    registry: Registry,
    folder: WatchedFolder,
    path: Path,
    champion: Any,
    champion_preds: tuple[Any, Any, Any],
    ids: list[str],
    batch_id: str,
) -> list[dict[str, Any]]:
    assert folder.model_name is not None
    out: list[dict[str, Any]] = []
    for version in list_shadows(registry, folder.model_name):
        if version == champion.version:
            continue
        ref = f"{folder.model_name}:{version}"
        scratch = Path(tempfile.mkdtemp(prefix="modelward-shadow-"))
        try:
            res = score_file(
                registry,
                ref,
                path,
                scratch / "shadow.parquet",
                id_columns=ids,
                log="none",
                batch_id=batch_id,
                role=SHADOW,
                keep_predictions=True,
            )
            assert res.predictions is not None
            agreement = shadow_agreement(champion_preds, res.predictions)
            s_ids, s_pred, s_proba = res.predictions
            log_predictions(
                registry,
                folder.model_name,
                version,
                batch_id,
                s_ids,
                s_pred,
                s_proba,
                rows=bool(folder.options.get("log_rows")),
                role=SHADOW,
                id_column=ids[0] if ids else "row",
                source=str(path),
                summary=res.summary,
                extra={"vs_champion": {"version": champion.version, **agreement}},
            )
            out.append({"ref": ref, **agreement})
        except Exception as e:  # a challenger never holds the champion's batch back
            log.warning("shadow %s could not score %s: %s", ref, display_name(path), e)
            out.append({"ref": ref, "error": str(e)})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return out


@refusals_recorded()  # refused batches are quarantined, with their own event
def score_inbox_batch(
    registry: Registry,
    folder: WatchedFolder,
    path: Path,
    *,
    seen: Any = None,
) -> tuple[str, str, str, dict[str, Any], str | None]:
    """Score one batch of a scoring inbox into its outbox, exactly once.

    Parameters
    ----------
    registry
        The registry.
    folder
        The scoring folder (``options``: ``outbox``, optional ``id_column``,
        ``format``, ``log_rows``).
    path
        The batch in the inbox.
    seen
        ``seen(sha256)``: whether these bytes at this path were taken already.

    Returns
    -------
    tuple
        ``(sha256, status, detail, result, ref)``; ``status`` is
        ``registered`` (scored, or found scored after a crash) or ``duplicate``.

    Raises
    ------
    RejectedFile
        The batch cannot be scored by the champion; quarantined and audited.
    ModelWardError
        Not the batch's fault (no champion yet, a busy registry, a full disk):
        nothing is recorded, so the next scan tries again.
    """
    assert folder.model_name is not None
    sha = sha256_file(path)[0]
    if seen is not None and seen(sha):
        return sha, "duplicate", "already taken", {}, None
    outbox = Path(str(folder.options.get("outbox") or ""))
    if not outbox.is_dir():
        raise ModelWardError(f"the outbox {display_name(outbox)} does not exist")
    out = output_name(folder, path, sha)
    with _claim(out):
        man = read_manifest(out)
        if man is not None and man.get("input", {}).get("sha256") == sha and out.exists():
            # Written before a crash stopped us recording it: it is not scored twice.
            ref = str(man["model"]["ref"])
            rows = man.get("rows", {})
            return (
                sha,
                "registered",
                f"already scored by {ref} -> {display_name(out.name)}",
                {"output": str(out), "ref": ref, "rows": rows, "recovered": True},
                ref,
            )
        _sweep_partials(out)
        try:
            champion = registry.resolve(f"{folder.model_name}@champion")
        except NotFound:
            raise ModelWardError(
                f"{folder.model_name} has no champion yet; the batch waits for one"
            ) from None
        id_col = folder.options.get("id_column")
        ids = [str(id_col)] if id_col else []
        batch_id = sha[:16]
        shadows = [v for v in list_shadows(registry, folder.model_name) if v != champion.version]
        try:
            res = score_file(
                registry,
                champion.ref,  # resolved for this batch; the manifest records it
                path,
                out,
                id_columns=ids,
                fmt=folder.options.get("format"),
                log="rows" if folder.options.get("log_rows") else "summary",
                log_pass=kept_pass,  # a later check of the batch does not read it again
                batch_id=batch_id,
                keep_predictions=bool(shadows),
                manifest_extra={
                    "scoring_folder": {
                        "inbox": folder.path,
                        "outbox": str(outbox),
                        "source": str(path),
                        "champion": champion.ref,
                    }
                },
            )
        except InvalidInput as e:
            reason = str(e)
            q = quarantine(registry, path, source=str(path), reason=reason, sha256=sha)
            raise RejectedFile(reason, path=str(path), quarantined_to=str(q)) from None
        result: dict[str, Any] = {
            "output": res.output,
            "manifest": res.manifest,
            "ref": res.ref,
            "rows": {"in": res.rows_in, "scored": res.rows_scored, "rejected": res.rows_rejected},
            "batch_id": batch_id,
            "seconds": round(res.seconds, 3),
        }
        detail = (
            f"scored {res.rows_scored:,} of {res.rows_in:,} rows with {res.ref} -> "
            f"{display_name(Path(res.output).name)}"
        )
        if res.rows_rejected:
            detail += f"; {res.rows_rejected:,} rejected"
        if shadows and res.predictions is not None:
            result["shadows"] = _score_shadows(
                registry, folder, path, champion, res.predictions, ids, batch_id
            )
            detail += f"; {len(shadows)} shadow(s)"
        return sha, "registered", detail, result, res.ref
