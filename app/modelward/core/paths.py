"""Where things live: a registry (``--registry``, else ``MODELWARD_HOME``, else the OS
data folder) and the program's own resources (:func:`resource`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePosixPath

from modelward.core.errors import ModelWardError

ENV_HOME = "MODELWARD_HOME"
DB_NAME = "registry.duckdb"

RESOURCES = "resources"
"""The top-level folder of non-code assets in a source checkout and in the frozen bundle."""
RESOURCES_PACKAGE = "_resources"
"""Its name inside an installed package (``modelward/_resources``, mapped in the build)."""


def default_home() -> Path:
    """The per-user data folder of the OS (platformdirs), e.g. ``~/.local/share/ModelWard``."""
    # deferred: start-up cost (about 4 ms; ``--registry``/``MODELWARD_HOME`` never need it)
    import platformdirs

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


def resource_roots() -> list[Path]:
    """The folders :func:`resource` searches, in order.

    The frozen bundle's ``resources/`` (PyInstaller's ``sys._MEIPASS``), then
    ``modelward/_resources`` of an installed wheel, then ``resources/`` at the
    top of a source checkout (``app/modelward`` → the repository).
    """
    roots: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        roots.append(Path(bundle) / RESOURCES)
    package = Path(__file__).resolve().parent.parent
    roots.append(package / RESOURCES_PACKAGE)
    roots.append(package.parent.parent / RESOURCES)
    return roots


def resource(name: str) -> Path:
    """The path of one of ModelWard's own asset files (style sheet, icons, templates).

    The same call works in a source checkout, an installed wheel and the
    frozen bundle.

    Parameters
    ----------
    name
        A relative path with ``/`` separators, e.g. ``"style.qss"`` or
        ``"icons/modelward-32.png"``.

    Returns
    -------
    Path
        An existing file.

    Raises
    ------
    ModelWardError
        When no search root holds it (an incomplete installation), or ``name``
        tries to leave the resources folder.
    """
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ModelWardError(f"bad resource name {name!r}")
    roots = resource_roots()
    for root in roots:
        path = root.joinpath(*rel.parts)
        if path.is_file():
            return path
    where = ", ".join(str(r) for r in roots)
    raise ModelWardError(
        f"ModelWard's resource {name!r} is missing (looked in {where}): reinstall ModelWard"
    )
