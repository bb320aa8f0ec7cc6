"""Watched folders, as configured in the registry (audited like every change)."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.refs import validate_name
from modelward.core.registry import Registry

MODELS = "models"
DATA = "data"
SCORING = "scoring"  # an inbox scored by the model's champion into an outbox (watch/scoring.py)
KINDS = (MODELS, DATA, SCORING)


@dataclass(frozen=True)
class WatchedFolder:
    """A folder ModelWard takes files from.

    ``kind`` is ``models`` (model files and MLflow model folders) or ``data``
    (CSV/Parquet batches for ``model_name``). ``options`` holds the data
    inbox's ``label_column``, ``id_column`` and ``timestamp_column``.
    """

    id: int
    path: str
    kind: str
    model_name: str | None = None
    polling: bool = False
    paused: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def display_name(text: str | Path) -> str:
    """A file name made safe to show: control and bidi characters are escaped.

    A name with a newline or a right-to-left override must not forge a log line
    or disguise its extension.
    """
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    s = "".join(out)
    return s if len(s) <= 240 else s[:120] + "…" + s[-100:]


def scoring_options(inbox: str | Path, options: dict[str, Any] | None) -> dict[str, Any]:
    """A scoring folder's options with its outbox made absolute (created; never the inbox)."""
    opts = dict(options or {})
    if not opts.get("outbox"):
        raise InvalidInput("a scoring folder writes to an outbox: give --outbox DIR")
    out = Path(str(opts["outbox"])).expanduser().absolute()
    if out == Path(inbox).expanduser().absolute():
        raise InvalidInput("the outbox must be another folder than the inbox")
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{display_name(out)} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    opts["outbox"] = str(out)
    return opts


def _row(r: tuple[Any, ...]) -> WatchedFolder:
    return WatchedFolder(
        int(r[0]), r[1], r[2], r[3], bool(r[4]), bool(r[5]), json.loads(r[6] or "{}")
    )


_COLS = "id, path, kind, model_name, polling, paused, options"


def list_folders(registry: Registry) -> list[WatchedFolder]:
    with registry.read() as cur:
        rows = cur.execute(f"SELECT {_COLS} FROM watched_folders ORDER BY id").fetchall()
    return [_row(r) for r in rows]


def add_folder(
    registry: Registry,
    path: str | Path,
    kind: str,
    *,
    model_name: str | None = None,
    polling: bool = False,
    options: dict[str, Any] | None = None,
) -> WatchedFolder:
    """Watch ``path``; returns the folder (the existing one if already watched)."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown folder kind {kind!r}: use 'models', 'data' or 'scoring'")
    if kind in (DATA, SCORING) and not model_name:
        raise InvalidInput(f"a {kind} folder is bound to a model: give --model NAME")
    if kind == SCORING:
        options = scoring_options(path, options)
    if model_name is not None:
        validate_name(model_name)
    p = Path(path).expanduser().absolute()
    if p.exists() and not p.is_dir():
        raise InvalidInput(f"{display_name(p)} is a file, not a folder")
    p.mkdir(parents=True, exist_ok=True)
    with registry.transaction() as tx:
        rows = tx.q(f"SELECT {_COLS} FROM watched_folders WHERE path = ?", [str(p)]).fetchall()
        if rows:
            existing = _row(rows[0])
            if (existing.kind, existing.model_name) != (kind, model_name):
                raise InvalidInput(
                    f"{display_name(p)} is already watched as a {existing.kind} folder"
                    + (f" for {existing.model_name}" if existing.model_name else "")
                )
            return existing
        fid = tx.next_id("seq_folders")
        opts = options or {}
        tx.q(
            "INSERT INTO watched_folders VALUES (?,?,?,?,?,?,?,?,?)",
            [fid, str(p), kind, model_name, polling, False, json.dumps(opts), utcnow(), tx.actor],
        )
        tx.audit(
            "folder.added",
            "folder",
            str(p),
            after={"kind": kind, "model": model_name, "polling": polling, "options": opts},
        )
    return WatchedFolder(fid, str(p), kind, model_name, polling, False, opts)


def get_folder(registry: Registry, folder: int | str | Path) -> WatchedFolder:
    for f in list_folders(registry):
        if f.id == folder or f.path == str(Path(str(folder)).expanduser().absolute()):
            return f
    raise NotFound(f"no watched folder {display_name(str(folder))}")


def remove_folder(registry: Registry, folder: int | str | Path) -> WatchedFolder:
    f = get_folder(registry, folder)
    with registry.transaction() as tx:
        tx.q("DELETE FROM watched_folders WHERE id = ?", [f.id])
        tx.audit("folder.removed", "folder", f.path, before=f.to_json())
    return f


def set_paused(registry: Registry, folder: int | str | Path, paused: bool) -> WatchedFolder:
    f = get_folder(registry, folder)
    with registry.transaction() as tx:
        tx.q("UPDATE watched_folders SET paused = ? WHERE id = ?", [paused, f.id])
        tx.audit(
            "folder.paused" if paused else "folder.resumed",
            "folder",
            f.path,
            before={"paused": f.paused},
            after={"paused": paused},
        )
    return WatchedFolder(f.id, f.path, f.kind, f.model_name, f.polling, paused, f.options)
