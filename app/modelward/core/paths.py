"""Where a registry lives: ``--registry``, else ``MODELWARD_HOME``, else the OS data folder."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_HOME = "MODELWARD_HOME"
DB_NAME = "registry.duckdb"


def default_home() -> Path:
    """The per-user data folder of the OS (platformdirs), e.g. ``~/.local/share/ModelWard``."""

    return Path(platformdirs.user_data_dir("ModelWard", appauthor=False, roaming=False))


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the registry home folder.

    Parameters
    ----------
    explicit
        A path given by the user (``--registry``). It may name the folder or the
        ``registry.duckdb`` file inside it.

    Returns
    -------
    Path
        The registry home folder (it may not exist yet).
    """
    raw: str | os.PathLike[str] | None = explicit
    if raw is None or str(raw) == "":
        raw = os.environ.get(ENV_HOME) or None
    home = Path(raw).expanduser() if raw is not None else default_home()
    if home.suffix == ".duckdb":
        home = home.parent
    return home.absolute()
