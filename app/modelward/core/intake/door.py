"""The one door every file passes to enter the registry.

A model file (registered from the CLI, the API, a drop on the window, a
watched folder, a bundle, a conversion) goes through
:func:`accept_model_file`; a data batch through :func:`accept_batch`. Each:

1. copies the bytes once into the content-addressed store, hashing them while
   they are copied (a path, bytes in memory, or bytes already stored);
2. runs its checks on the **stored** bytes, never on the source, which can
   change under it (model files: the trust sandbox; batches:
   :func:`~modelward.core.intake.checks.check_batch`, then the champion's
   monitoring check);
3. records exactly one audit event: ``version.registered`` /
   ``dataset.registered`` when accepted, ``ingest.rejected`` (with sha256,
   source, reason; the user and time are the event's) when refused, the
   bytes then being quarantined with their reason. Bytes already recorded
   return the existing version or dataset with one ``ingest.duplicate``
   event naming it (a watched folder's rescan of a file it took already is
   ``seen``: nothing is written).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from modelward.core import platform
from modelward.core.artifacts.trust import inspect_untrusted
from modelward.core.datasets import record_dataset, record_datasets
from modelward.core.errors import InvalidInput, NotFound, RegistryUnwritable, RejectedFile
from modelward.core.intake.checks import (
    ModelContext,
    check_batch,
    check_batches,
    model_context,
    monitor_batch,
)
from modelward.core.intake.quarantine import quarantine
from modelward.core.intake.result import (
    ACCEPTED,
    BATCH,
    DUPLICATE,
    MODEL,
    REFUSED,
    SEEN,
    IntakeResult,
)
from modelward.core.progress import ProgressFn, no_progress
from modelward.core.refs import validate_name
from modelward.core.registry import Registry
from modelward.core.registry.refusals import refusals_recorded
from modelward.core.registry.versions import LOGGED_PARAMS, logged_params
from modelward.core.text import is_unsafe_char


@dataclass(frozen=True)
class Stored:
    """Bytes already in the artifact store (a bundle's entries): the door checks them there.

    ``fresh``: the caller stored them for this intake alone, so a refusal
    removes them from the store again (unless a version or dataset uses them).
    """

    sha256: str
    size: int
    fresh: bool = False


Incoming = str | os.PathLike[str] | bytes | Stored
SeenFn = Callable[[str], bool]
"""Called with the stored bytes' SHA-256; ``True`` means the caller took them already."""


@dataclass(frozen=True)
class _Arrival:
    sha256: str
    size: int
    created: bool  # the store did not hold these bytes before
    source: str
    path: Path | None  # the source file, when there was one


def model_name_for(path: str | os.PathLike[str]) -> str:
    """A model name from a file or folder name: ``credit risk v2.joblib`` → ``credit-risk-v2``."""
    p = Path(path)
    stem = p.name if p.is_dir() else p.stem
    stem = "".join(ch for ch in stem if not is_unsafe_char(ch))  # U+202E etc.: never in a name
    clean = re.sub(r"[:@/\\\s]+", "-", stem).strip("-.") or "model"
    return clean[:200]


def _store(
    registry: Registry,
    incoming: Incoming,
    source: str | None,
    progress: ProgressFn,
    *,
    durable: bool = True,
) -> _Arrival:
    """Copy ``incoming`` into the store once, hashing while copying.

    ``durable=False``: not flushed to disk yet; the caller flushes (see
    :func:`_flush_stored`) before it records anything that refers to it.
    """
    store = registry.artifacts
    if isinstance(incoming, Stored):
        if not store.has(incoming.sha256):
            raise NotFound(f"artifact {incoming.sha256[:12]}… is not in the store; store it first")
        return _Arrival(incoming.sha256, incoming.size, incoming.fresh, source or "store", None)
    if isinstance(incoming, bytes):
        sha, size, created = store.put_file_new(
            BytesIO(incoming), len(incoming), progress, durable=durable
        )
        return _Arrival(sha, size, created, source or "bytes", None)
    src = Path(incoming)
    # Opened, then asked (one call each, not three looks first: a burst takes thousands).
    try:
        fin: BinaryIO = open(src, "rb", buffering=0)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise NotFound(f"no such file: {src}") from None
    except (IsADirectoryError, PermissionError):
        if src.is_dir():  # Windows refuses to open a folder with a permission error
            raise InvalidInput(f"{src} is a folder, not a model file") from None
        raise InvalidInput(f"cannot read {src}: permission denied") from None
    with fin:
        total = os.fstat(fin.fileno()).st_size
        sha, size, created = store.put_file_new(fin, total, progress, durable=durable)
    return _Arrival(sha, size, created, source or str(src), src)


def _refuse(
    registry: Registry, kind: str, arrival: _Arrival, reason: str, **extra: Any
) -> IntakeResult:
    dest = quarantine(
        registry,
        registry.artifacts.path_for(arrival.sha256),
        source=arrival.source,
        reason=reason,
        sha256=arrival.sha256,
        drop_stored=arrival.created,
    )
    registry.artifacts.settle(arrival.sha256)
    return IntakeResult(
        kind,
        REFUSED,
        arrival.source,
        arrival.sha256,
        arrival.size,
        reason=reason,
        quarantined_to=str(dest),
        **extra,
    )


def _duplicate(
    registry: Registry, arrival: _Arrival, entity: str, entity_id: int, shown: str
) -> None:
    """One ``ingest.duplicate`` event: these bytes were presented again, and what they duplicate."""
    with registry.transaction() as tx:
        tx.audit(
            "ingest.duplicate",
            entity,
            entity_id,
            after={"sha256": arrival.sha256, "source": arrival.source, "duplicate_of": shown},
        )


def _forget_stored(registry: Registry, arrival: _Arrival) -> None:
    """Remove the bytes this call stored (nothing refers to them); keep bytes kept before."""
    if arrival.created:
        with contextlib.suppress(OSError):
            registry.artifacts.path_for(arrival.sha256).unlink()
    registry.artifacts.settle(arrival.sha256)


@contextlib.contextmanager
def _unstored_on_error(registry: Registry, arrival: _Arrival) -> Iterator[None]:
    """Remove the bytes this call stored when a check fails for another reason than a refusal.

    A busy registry or a sandbox that died is not the file's fault: nothing
    is left behind, and the file is tried again later.
    """
    try:
        yield
    except RejectedFile:
        raise  # a refusal: the caller quarantines the stored bytes
    except BaseException:
        _forget_stored(registry, arrival)
        raise


def _seen(registry: Registry, arrival: _Arrival, seen: SeenFn | None) -> bool:
    if seen is None or not seen(arrival.sha256):
        return False
    _forget_stored(registry, arrival)  # stored only to be hashed: nothing refers to it
    return True


def _with_logged(
    described: dict[str, Any] | None, params: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The version's ``params`` JSON: what inspection described, plus the stated parameters."""
    if not params:
        return described
    return {**(described or {}), LOGGED_PARAMS: dict(params)}


def accept_model_file(
    registry: Registry,
    incoming: Incoming,
    *,
    name: str,
    source: str | None = None,
    lineage: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    task: str | None = None,
    declared: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    inspect: bool = True,
    seen: SeenFn | None = None,
    progress: ProgressFn = no_progress,
) -> IntakeResult:
    """Take one model file into the registry as a version of ``name``, or refuse it.

    Parameters
    ----------
    registry
        The registry.
    incoming
        A path, the bytes themselves, or :class:`Stored` bytes (a bundle's).
    name
        The model; created on first use.
    source
        Where the bytes came from, for lineage, quarantine and audit
        (default: the path given, ``"bytes"``, ``"store"``).
    lineage, metrics, tags, description, task
        Recorded with the new version. A file given by path also records
        ``lineage["source"]`` (its absolute path) unless ``lineage`` names one.
    params
        Parameters the user states (``--param``, ``log_model(params=)``): kept
        under ``params["logged"]`` and searched as ``param.NAME``.
    declared
        Metadata the file's origin declares (a bundle's manifest):
        ``estimator_class``, ``params``, ``signature``, ``status``; kept
        instead of the inspection's where given. The inspection still decides
        the format and whether the bytes are taken; a status other than
        ``ok`` from it wins over a declared one.
    inspect
        ``False`` only for bytes this process wrote itself from a live
        estimator (:func:`modelward.api.log_model`): the sandbox is skipped
        and ``declared`` must give ``format``.
    seen
        Called with the SHA-256 once stored; ``True`` returns ``seen`` at
        once (a watched folder that took these bytes from this path already).
    progress
        ``(fraction, status)``.

    Returns
    -------
    IntakeResult
        ``accepted`` / ``duplicate`` with ``version``; ``refused`` with
        ``reason`` (quarantined, audited). Use :meth:`IntakeResult.raise_if_refused`
        where a refusal is an error.

    Raises
    ------
    NotFound, InvalidInput
        No such file, a folder, an unreadable file, a bad name.
    RegistryUnwritable
        The store or the registry cannot be written (nothing was recorded).
    """
    validate_name(name)
    stated = logged_params(params) if params else None  # a bad name fails before the copy
    decl = dict(declared or {})
    if not inspect and not decl.get("format"):
        raise InvalidInput("a model file taken without inspection must declare its format")
    # Bytes this process wrote from a live estimator go straight to the record: their
    # fsyncs run on a thread while the registration's statements do, and the
    # commit waits for them (an inspected file waits at the store, as before).
    meanwhile = not inspect and seen is None and not isinstance(incoming, Stored)
    arrival = _store(
        registry, incoming, source, lambda f, s: progress(f * 0.5, s), durable=not meanwhile
    )
    flushed = registry.artifacts.flush_later(arrival.sha256) if meanwhile else None
    if _seen(registry, arrival, seen):
        return IntakeResult(MODEL, SEEN, arrival.source, arrival.sha256, arrival.size)
    stored = registry.artifacts.path_for(arrival.sha256)
    meta: dict[str, Any] = {}
    fmt = str(decl.get("format") or "")
    if inspect:
        progress(0.5, "inspecting")
        try:
            with _unstored_on_error(registry, arrival):
                info, meta = inspect_untrusted(stored, sha256=arrival.sha256, registry=registry)
        except RejectedFile as rej:
            return _refuse(registry, MODEL, arrival, rej.reason)
        fmt = info.format
    status = str(decl.get("status") or meta.get("status") or "ok")
    if meta.get("status") not in (None, "ok"):
        status = str(meta["status"])
    full_lineage: dict[str, Any] = {}
    if arrival.path is not None:
        full_lineage["source"] = str(arrival.path.absolute())
    full_lineage.update(lineage or {})
    progress(0.9, "recording")
    try:
        res = registry.add_version(
            name,
            sha256=arrival.sha256,
            size=arrival.size,
            format=fmt,
            estimator_class=decl.get("estimator_class") or meta.get("estimator_class"),
            params=_with_logged(decl["params"] if "params" in decl else meta.get("params"), stated),
            signature=decl["signature"] if "signature" in decl else meta.get("signature"),
            lineage=full_lineage,
            metrics=dict(metrics) if metrics is not None else None,
            tags=dict(tags) if tags is not None else None,
            status=status,
            task=task,
            description=description,
            before_commit=[flushed] if flushed is not None else [],
        )
    finally:
        if flushed is not None:
            with contextlib.suppress(RegistryUnwritable):
                flushed()  # nothing of this call is left running on the file
    registry.artifacts.settle(arrival.sha256)  # recorded: no longer a crash's leftover
    if not res.created:
        _duplicate(registry, arrival, "version", res.version.id, res.version.ref)
    progress(1.0, "registered")
    return IntakeResult(
        MODEL,
        ACCEPTED if res.created else DUPLICATE,
        arrival.source,
        arrival.sha256,
        arrival.size,
        version=res.version,
    )


@contextlib.contextmanager
def stored_view(registry: Registry, sha256: str, name: str) -> Iterator[Path]:
    """The stored bytes under a file name (``name``), for readers that go by the suffix.

    A hard link to the read-only artifact (a copy where links are not
    possible), in a private folder of the store, removed on exit: the
    readers see the stored bytes and the name the user gave them.
    """
    stored = registry.artifacts.path_for(sha256)
    folder = registry.artifacts.temp_dir("view")
    try:
        view = folder / name
        try:
            os.link(stored, view)
        except OSError:
            view = folder / ("batch" + "".join(Path(name).suffixes[-2:]))
            try:
                os.link(stored, view)
            except OSError:
                shutil.copyfile(stored, view)
        yield view
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _nameless(registry: Registry, arrival: _Arrival) -> str:
    """A name for a batch given as bytes: its digest, with the suffix its bytes say."""
    with open(registry.artifacts.path_for(arrival.sha256), "rb") as f:
        parquet = f.read(4) == b"PAR1"
    return f"{arrival.sha256[:12]}.{'parquet' if parquet else 'csv'}"


@refusals_recorded()  # refused batches are quarantined, with their own event
def accept_batch(
    registry: Registry,
    incoming: Incoming,
    *,
    model_name: str | None,
    source: str | None = None,
    name: str | None = None,
    role: str = "batch",
    options: Mapping[str, Any] | None = None,
    monitor: bool = True,
    seen: SeenFn | None = None,
    context: ModelContext | None = None,
    progress: ProgressFn = no_progress,
) -> IntakeResult:
    """Take one data batch (CSV or Parquet) into the registry as a dataset, or refuse it.

    Parameters
    ----------
    registry
        The registry.
    incoming
        A path, the bytes, or :class:`Stored` bytes.
    model_name
        The model the batch is for: its signature's columns are required and,
        with a profiled champion, the batch is checked for drift.
    source
        Where it came from (default: the path given).
    name
        How the batch is shown (default: the source's file name).
    role
        The dataset's role (``batch``).
    options
        The inbox's ``label_column`` and ``id_column``, for the champion check.
    monitor
        Check the batch against the champion's reference profile.
    seen
        As for :func:`accept_model_file`.
    context
        :func:`~modelward.core.intake.checks.model_context` of ``model_name``,
        shared by the batches a caller takes in a row (default: looked up).
    progress
        ``(fraction, status)``.

    Returns
    -------
    IntakeResult
        With ``dataset_id``, ``rows``, ``schema`` and ``monitoring`` (or
        ``None``); ``refused`` with ``reason`` (quarantined, audited).
    """
    arrival = _store(registry, incoming, source, lambda f, s: progress(f * 0.4, s))
    if _seen(registry, arrival, seen):
        return IntakeResult(BATCH, SEEN, arrival.source, arrival.sha256, arrival.size)
    shown = name or (
        arrival.path.name if arrival.path is not None else _nameless(registry, arrival)
    )
    with (
        stored_view(registry, arrival.sha256, shown) as view,
        _unstored_on_error(registry, arrival),
    ):
        try:
            progress(0.4, "checking")
            if model_name is not None and (context is None or context.model_name != model_name):
                context = model_context(registry, model_name)
            facts = check_batch(
                registry, view, model_name=model_name, options=dict(options or {}), context=context
            )
            if monitor and model_name is not None:
                progress(0.6, "checking against the champion")
            monitoring = _champion_check(
                registry, view, shown, facts, model_name if monitor else None, options, context
            )
        except RejectedFile as rej:
            # Readers name the file they read: name the source instead.
            reason = rej.reason.replace(str(view), arrival.source)
            return _refuse(registry, BATCH, arrival, reason)
    progress(0.9, "recording")
    did, created = record_dataset(
        registry,
        fingerprint=arrival.sha256,
        name=shown,
        role=role,
        rows=facts.rows,
        schema=facts.schema,
        source=arrival.source,
        model_name=model_name,
        flags=_stored_flags(facts.flags, facts.flagged_rows),
    )
    result = _recorded_batch(registry, arrival, did, created, facts, monitoring)
    progress(1.0, "recorded")
    return result


def _champion_check(
    registry: Registry,
    view: Path,
    shown: str,
    facts: Any,
    model_name: str | None,
    options: Mapping[str, Any] | None,
    context: Any,
) -> Any:
    """The batch checked against its model's champion; ``None`` when no model is named."""
    if model_name is None:
        return None
    return monitor_batch(
        registry,
        view,
        model_name=model_name,
        name=shown,
        schema=facts.schema,
        options=dict(options or {}),
        exclude=facts.row_mask,
        table=facts.table,  # read once: not opened and sniffed again
        context=context,
    )


def _recorded_batch(
    registry: Registry, arrival: _Arrival, did: int, created: bool, facts: Any, monitoring: Any
) -> IntakeResult:
    """The result of a batch whose dataset is recorded (a duplicate is audited as one)."""
    registry.artifacts.settle(arrival.sha256)  # recorded: no longer a crash's leftover
    if not created:
        _duplicate(registry, arrival, "dataset", did, f"dataset {did}")
    return IntakeResult(
        BATCH,
        ACCEPTED if created else DUPLICATE,
        arrival.source,
        arrival.sha256,
        arrival.size,
        dataset_id=did,
        rows=facts.rows,
        schema=facts.schema,
        monitoring=monitoring,
        flags=facts.flags,
        flagged_rows=facts.flagged_rows,
    )


def _stored_flags(flags: dict[str, dict[str, Any]], flagged_rows: int) -> dict[str, Any] | None:
    """What the dataset's audit event keeps of the flags: counts, examples, the lines."""
    if not flags:
        return None
    return {"flagged_rows": flagged_rows, "columns": flags}


def _flush_stored(registry: Registry, digests: list[str]) -> None:
    """Make stored files (written with ``durable=False``) and their folder entries durable.

    On Linux one ``syncfs`` of the store's file system flushes them all (one
    flush for a group, instead of two fsyncs per file); elsewhere, or if it
    fails, each file and each folder is flushed on its own.
    """
    if not digests:
        return
    if platform.syncfs(registry.artifacts.root):
        return
    registry.artifacts.flush(digests)


@contextlib.contextmanager
def batch_views(registry: Registry) -> Iterator[Path]:
    """A private folder of the store for the views of a group of batches, removed on exit."""
    folder = registry.artifacts.temp_dir("view")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _view_in(folder: Path, stored: Path, name: str, k: int) -> Path:
    """``stored`` linked into ``folder`` under ``name`` (in a numbered subfolder if taken)."""
    view = folder / name
    try:
        os.link(stored, view)
        return view
    except FileExistsError:  # another batch of the group has this name
        sub = folder / str(k)
        sub.mkdir(exist_ok=True)
        view = sub / name
    except OSError:
        pass  # no hard link here: the fallbacks below
    try:
        os.link(stored, view)
    except OSError:
        view = view.with_name("batch" + "".join(Path(name).suffixes[-2:]))
        try:
            os.link(stored, view)
        except OSError:
            shutil.copyfile(stored, view)
    return view


@dataclass(frozen=True)
class GroupBatch:
    """One batch of :func:`accept_batches`: its result, and its view in the group's folder."""

    result: IntakeResult
    view: Path | None = None


@refusals_recorded()
def accept_batches(
    registry: Registry,
    paths: list[Path],
    *,
    model_name: str | None,
    views: Path,
    options: Mapping[str, Any] | None = None,
    monitor: bool = True,
    seen: Callable[[Path, str], bool] | None = None,
    context: ModelContext | None = None,
) -> list[GroupBatch]:
    """Take many data batches for one model: each stored and checked alone, recorded together.

    What :func:`accept_batch` does for each of ``paths``, in order, but with
    one flush of the store for all of them and one transaction recording
    every accepted batch (datasets written columnar, one
    ``dataset.registered`` event each). A refused batch is quarantined and
    audited on its own (one ``ingest.rejected`` event) and nothing of it is
    recorded; a batch ``seen`` before is stored nowhere. Errors that are not
    the file's fault (a busy registry, a full disk) are raised: the caller
    takes the batches again one by one.

    Parameters
    ----------
    registry
        The registry; inside :meth:`Registry.group` the records join its transaction.
    paths
        The batches (files), each shown by its file name.
    model_name, options, monitor, context
        As for :func:`accept_batch`.
    seen
        Called with a path and its stored bytes' SHA-256; ``True``: taken
        before from that path (nothing is written for it).
    views
        A folder from :func:`batch_views`: each accepted batch's stored bytes
        are linked there under its name, for the caller's later readers (the
        model's policy), until the folder is removed.

    Returns
    -------
    list of GroupBatch
        One per path, in order.
    """
    out: list[GroupBatch | None] = [None] * len(paths)
    taken: list[tuple[int, _Arrival, str, Path, Any, dict[str, Any] | None]] = []
    written: list[_Arrival] = []
    stored: list[tuple[int, _Arrival, str, Path]] = []
    opts = dict(options or {})
    try:
        for k, path in enumerate(paths):
            arrival = _store(registry, path, None, no_progress, durable=False)
            if arrival.created:
                written.append(arrival)
            if seen is not None and _seen(registry, arrival, functools.partial(seen, path)):
                out[k] = GroupBatch(
                    IntakeResult(BATCH, SEEN, arrival.source, arrival.sha256, arrival.size)
                )
                continue
            shown = Path(path).name
            view = _view_in(views, registry.artifacts.path_for(arrival.sha256), shown, k)
            stored.append((k, arrival, shown, view))
        if model_name is not None and (context is None or context.model_name != model_name):
            context = model_context(registry, model_name)
        with contextlib.ExitStack() as undo:
            for _, arrival, _, _ in stored:
                undo.enter_context(_unstored_on_error(registry, arrival))
            checked = check_batches(
                registry,
                [view for _, _, _, view in stored],
                model_name=model_name,
                options=opts,
                context=context,
            )
            for (k, arrival, shown, view), facts in zip(stored, checked, strict=True):
                try:
                    if isinstance(facts, RejectedFile):
                        raise facts
                    monitoring = _champion_check(
                        registry, view, shown, facts, model_name if monitor else None, opts, context
                    )
                except RejectedFile as rej:
                    reason = rej.reason.replace(str(view), arrival.source)
                    view.unlink(missing_ok=True)
                    out[k] = GroupBatch(_refuse(registry, BATCH, arrival, reason))
                    continue
                taken.append((k, arrival, shown, view, facts, monitoring))
        # The bytes are on disk before any record names them: one flush for the group.
        _flush_stored(registry, [a.sha256 for a in written])
        ids = record_datasets(
            registry,
            [
                {
                    "fingerprint": arrival.sha256,
                    "name": shown,
                    "role": "batch",
                    "rows": facts.rows,
                    "schema": facts.schema,
                    "source": arrival.source,
                    "model_name": model_name,
                    "flags": _stored_flags(facts.flags, facts.flagged_rows),
                }
                for _, arrival, shown, _, facts, _ in taken
            ],
        )
    except BaseException:
        for _, arrival, *_ in stored:
            if arrival.created:
                with contextlib.suppress(OSError):
                    registry.artifacts.path_for(arrival.sha256).unlink()
            registry.artifacts.settle(arrival.sha256)
        raise
    for (k, arrival, _, view, facts, monitoring), (did, created) in zip(taken, ids, strict=True):
        out[k] = GroupBatch(
            _recorded_batch(registry, arrival, did, created, facts, monitoring), view
        )
    return [g for g in out if g is not None]
