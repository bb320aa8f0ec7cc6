"""User settings: typed, versioned, defaults in one place, Qt-free.

Stored as JSON in the user config folder (``platformdirs``), e.g.
``~/.config/ModelWard/settings.json``; ``MODELWARD_SETTINGS`` names another
file. Environment variables ``MODELWARD_<FIELD>`` (upper case) override single
fields for one run and are never written back (``MODELWARD_THEME=dark``).

Window geometry and dock layout are not settings: the UI keeps them in
``QSettings``.

Schema versions: bump :data:`SCHEMA_VERSION` when a default changes meaning or
a key is renamed or removed, and add a step to :data:`_MIGRATIONS`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from modelward.core import platform
from modelward.core.errors import InvalidInput

__all__ = ["SCHEMA_VERSION", "Settings", "Theme", "load_settings", "save_settings", "settings_path"]

SCHEMA_VERSION = 2
ENV_FILE = "MODELWARD_SETTINGS"


class Theme:
    """Theme choices (``system`` follows the OS)."""

    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"
    ALL = (SYSTEM, LIGHT, DARK)


@dataclass
class Settings:
    """Every user setting with its default (the one place defaults live)."""

    registry: str = ""
    """Registry folder; empty means ``MODELWARD_HOME`` or the OS data folder."""
    watched_folders: list[str] = field(default_factory=list)
    """Only read from older settings: watched folders now live in the registry, and the
    window moves any listed here into it (then empties this list)."""
    theme: str = Theme.SYSTEM
    drift_threshold: float = 0.2
    """Population stability index above which a feature counts as drifted."""
    performance_drop: float = 0.05
    """Drop of the key metric (absolute) that raises a performance alert."""
    key_metric_columns: int = 3
    """How many metric columns the registry table shows."""
    max_jobs: int = 2
    """Background jobs that may run at once."""
    data_max_columns: int = 2000
    """A data file with more columns is refused, read from its header before anything loads."""
    data_max_field_bytes: int = 1 << 20
    """A CSV line (so any field in it) longer than this is refused."""
    data_max_file_bytes: int = 8 << 30
    """A data file larger than this is refused before it is read."""
    train_max_classes: int = 100
    """A classification target with more distinct values is refused (a continuous column?)."""
    schema_version: int = SCHEMA_VERSION

    def validate(self) -> Settings:
        """Check ranges; raise :class:`InvalidInput` naming the bad field."""
        if self.theme not in Theme.ALL:
            raise InvalidInput(f"theme must be one of {', '.join(Theme.ALL)}, not {self.theme!r}")
        if not 0 < self.drift_threshold < 10:
            raise InvalidInput("drift_threshold must be between 0 and 10")
        if not 0 <= self.performance_drop < 1:
            raise InvalidInput("performance_drop must be between 0 and 1")
        if not 0 <= self.key_metric_columns <= 8:
            raise InvalidInput("key_metric_columns must be between 0 and 8")
        if not 1 <= self.max_jobs <= 16:
            raise InvalidInput("max_jobs must be between 1 and 16")
        for key in (
            "data_max_columns",
            "data_max_field_bytes",
            "data_max_file_bytes",
            "train_max_classes",
        ):
            if int(getattr(self, key)) < 1:
                raise InvalidInput(f"{key} must be at least 1")
        return self

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes).validate()


def _v0_to_v1(d: dict[str, Any]) -> dict[str, Any]:
    # v0 (early builds) called the registry folder "home".
    if "home" in d:
        d.setdefault("registry", d.pop("home"))
    return d


def _v1_to_v2(d: dict[str, Any]) -> dict[str, Any]:
    # v1 had one "watch_folder" string; v2 watches a list.
    wf = d.pop("watch_folder", None)
    if wf:
        d.setdefault("watched_folders", [wf])
    return d


_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1, 1: _v1_to_v2}


def settings_path() -> Path:
    """The settings file: ``MODELWARD_SETTINGS`` or ``<user config dir>/settings.json``."""
    explicit = os.environ.get(ENV_FILE)
    if explicit:
        return Path(explicit).expanduser()

    return Path(platformdirs.user_config_dir("ModelWard", appauthor=False)) / "settings.json"


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    default = {f.name: f for f in fields(Settings)}[name]
    sample = default.default if default.default is not dataclasses.MISSING else []
    try:
        if isinstance(sample, bool):
            return (
                str(raw).lower() in ("1", "true", "yes", "on")
                if isinstance(raw, str)
                else bool(raw)
            )
        if isinstance(sample, int):
            return int(raw)
        if isinstance(sample, float):
            return float(raw)
        if isinstance(sample, list):
            if isinstance(raw, str):
                return [p for p in raw.split(os.pathsep) if p]
            return [str(p) for p in raw]
        return str(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"setting {name!r}: {raw!r} is not a valid {kind}") from None


def from_dict(data: dict[str, Any]) -> Settings:
    """Settings from a stored mapping, migrated to the current schema."""
    d = dict(data)
    version = int(d.get("schema_version", 0))
    while version < SCHEMA_VERSION:
        d = _MIGRATIONS[version](d)
        version += 1
    known = {f.name: f for f in fields(Settings)}
    kwargs = {k: _coerce(k, known[k].type, v) for k, v in d.items() if k in known}
    kwargs["schema_version"] = SCHEMA_VERSION
    return Settings(**kwargs).validate()


def _env_overrides() -> dict[str, Any]:
    out = {}
    for f in fields(Settings):
        if f.name == "schema_version":
            continue
        raw = os.environ.get(f"MODELWARD_{f.name.upper()}")
        if raw is not None:
            out[f.name] = _coerce(f.name, f.type, raw)
    return out


def load_settings(path: str | os.PathLike[str] | None = None, *, env: bool = True) -> Settings:
    """Read the settings (defaults for a missing or unreadable file) plus env overrides.

    Parameters
    ----------
    path
        Settings file; default :func:`settings_path`.
    env
        Apply ``MODELWARD_<FIELD>`` overrides.

    Returns
    -------
    Settings
        Validated settings. A corrupt file gives the defaults (it is kept aside
        as ``settings.json.bad`` so that it is not silently overwritten).

    Raises
    ------
    InvalidInput
        An environment override holds a bad value.
    """
    p = Path(path) if path is not None else settings_path()
    data: dict[str, Any] = {}
    if p.is_file():
        try:
            loaded = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise ValueError("not an object")
            data = loaded
            settings = from_dict(data)
        except (OSError, ValueError, InvalidInput):
            with contextlib.suppress(OSError):
                p.replace(p.with_name(p.name + ".bad"))
            settings = Settings()
    else:
        settings = Settings()
    if env:
        overrides = _env_overrides()
        if overrides:
            settings = dataclasses.replace(settings, **overrides).validate()
    return settings


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    """Write ``settings`` atomically (temp file + rename); returns the path."""
    settings.validate()
    p = Path(path) if path is not None else settings_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(settings.to_json(), indent=2, sort_keys=True), encoding="utf-8")
    platform.replace_file(tmp, p)
    return p
