"""A request refused at a door leaves one ``input.refused`` audit event.

Every door that takes a data file for a registered model (scoring, a batch
check, a reference profile, late labels, validation, comparison,
explanations; from the CLI, the notebook API or the window) runs inside
:func:`refusals_audited`. When the file or the request is refused (an
unreadable or empty file, missing, extra or wrongly typed columns, a column
named that the file lacks), nothing else is written, the user gets the
refusal's one sentence, and the trail records who was refused, at which
door, for which file and why.

Doors nest (the CLI's ``monitor`` checks the batch's columns, then calls the
batch check, itself a door): only the outermost records the refusal. A
refusal met inside a recorded run (training, validation, comparison) is
recorded once, as the run's ``run.failed`` event. A
watched folder's intake quarantines what it refuses with its own
``ingest.rejected`` event, and marks itself with :func:`refusals_recorded`
so that the checks it runs inside do not record a second one.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

from modelward.core.errors import InvalidInput, MissingInput, ModelWardError, RejectedFile

if TYPE_CHECKING:
    from modelward.core.registry.registry import Registry

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

REFUSED = "input.refused"
"""The audit action of a refused request."""

_RECORDING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "modelward_refusals_recording", default=False
)


@contextlib.contextmanager
def refusals_recorded() -> Iterator[None]:
    """Inside this block a refusal is recorded by the caller, not by the doors it calls."""
    token = _RECORDING.set(True)
    try:
        yield
    finally:
        _RECORDING.reset(token)


@contextlib.contextmanager
def refusals_audited(
    reg: Registry | Callable[[], Registry],
    door: str,
    source: str | os.PathLike[str] | Any,
    *,
    ref: str | None = None,
) -> Iterator[None]:
    """Record an ``input.refused`` event when the block refuses its input, then re-raise.

    Parameters
    ----------
    reg
        The registry the door works on, or what opens it (a check that runs
        before the registry is opened opens it only to record a refusal).
    door
        What was asked: ``score``, ``monitor``, ``profile``, ``labels``, ``validate``…
    source
        The file (or ``dataset:ID``) that was presented, recorded by its absolute
        path; an opened table by its label; arrays as "data in memory".
    ref
        The model version asked for, as given.

    A refusal is :class:`~modelward.core.errors.InvalidInput` (bad file,
    columns, types or arguments), :class:`~modelward.core.errors.RejectedFile`,
    or :class:`~modelward.core.errors.MissingInput` (the presented file or
    dataset does not exist); a model, version or batch that does not exist is
    not one (nothing was presented and refused).
    A registry that cannot record the event (busy, read-only) does not hide the
    refusal's own sentence: the failure to record is logged.
    """
    if _RECORDING.get():
        yield
        return
    token = _RECORDING.set(True)
    try:
        yield
    except (InvalidInput, RejectedFile, MissingInput) as e:
        # a run that failed on it has recorded it already; an unknown model or
        # batch (a plain NotFound) is not a refusal of the file presented
        if e.audited_as is None:
            _record(reg, door, source, ref, str(e))
            e.audited_as = REFUSED
        raise
    finally:
        _RECORDING.reset(token)


def door(name: str, *, source: str, ref: str | None = "ref") -> Callable[[F], F]:
    """Run a core function inside :func:`refusals_audited`.

    The function's first parameter is the registry; ``source`` and ``ref`` name
    its parameters holding the presented data and the model asked for
    (``recipe.data``: an attribute of a parameter).
    """
    head, _, attr = source.partition(".")

    def wrap(fn: F) -> F:
        sig = inspect.signature(fn)
        first = next(iter(sig.parameters))

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind_partial(*args, **kwargs).arguments
            asked = bound.get(ref) if ref else None
            presented = bound.get(head)
            if attr and presented is not None:
                presented = getattr(presented, attr, None)
            with refusals_audited(
                bound[first],
                name,
                presented,
                ref=None if asked is None else str(asked),
            ):
                return fn(*args, **kwargs)

        return cast(F, inner)

    return wrap


def _shown(source: Any) -> str | None:
    """A presented file as the trail names it: its path, a table's label, or ``None`` (arrays)."""
    if source is None:
        return None
    if isinstance(source, (str, os.PathLike)):
        text = str(os.fspath(source))
        return text if text.startswith("dataset:") else os.path.abspath(text)
    label = getattr(source, "label", None)  # an opened table
    return str(label) if label is not None else None


def _record(
    reg: Registry | Callable[[], Registry], door: str, source: Any, ref: str | None, sentence: str
) -> None:
    path = _shown(source)
    shown = "data in memory" if path is None else path
    after: dict[str, Any] = {"door": door, "ref": ref}
    with contextlib.suppress(OSError, ValueError):
        after["bytes"] = os.stat(shown).st_size if path is not None else None
    try:
        registry = reg if not callable(reg) else reg()
        with registry.transaction() as tx:
            tx.audit(REFUSED, "file", shown, after=after, reason=sentence[:2000])
    except (ModelWardError, OSError) as e:
        log.warning("could not record the refusal of %s at %s: %s", shown, door, e)
