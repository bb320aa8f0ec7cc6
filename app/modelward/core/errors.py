"""Errors that carry a message meant for a person.

Every error a user can meet is a :class:`ModelWardError`: the CLI prints its
``str()`` as one line, the window shows it in a message box. Raw library
errors (DuckDB, OS, pickle) are translated into one of these at the boundary
where we know what the user was trying to do.
"""

from __future__ import annotations


class ModelWardError(Exception):
    """Base class: ``str(err)`` is one clear sentence for the user."""

    exit_code = 1
    audited_as: str | None = None
    """The audit event that already records this error (``run.failed``), if any."""


class RegistryError(ModelWardError):
    """The registry cannot be opened or used."""


class RegistryBusy(RegistryError):
    """Another process holds the registry database and did not let go in time."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class RegistryTooNew(RegistryError):
    """The registry was written by a newer ModelWard schema; it is left untouched."""


class NotARegistry(RegistryError):
    """The path is not a ModelWard registry (or not a DuckDB file at all)."""


class RegistryUnwritable(RegistryError):
    """The registry folder or one of its files cannot be written."""


class RegistryCorrupt(RegistryError):
    """The registry database file is damaged; restore it from a backup."""


class NotFound(ModelWardError):
    """A model, version, alias or file that was named does not exist."""

    exit_code = 2


class MissingInput(NotFound):
    """The data file or dataset presented to a command does not exist.

    A refusal of the input, audited at the command's door like a bad file
    (an unknown model or version is a plain :class:`NotFound`: nothing was
    presented and refused).
    """


class InvalidInput(ModelWardError):
    """An argument or an input file is malformed."""

    exit_code = 2


class ApprovalRequired(InvalidInput):
    """A protected alias moves only through an approved four-eyes request."""


class RejectedFile(ModelWardError):
    """A model file failed a trust check; it was quarantined with ``reason``."""

    exit_code = 3

    def __init__(self, reason: str, *, path: str | None = None, quarantined_to: str | None = None):
        self.reason = reason
        self.path = path
        self.quarantined_to = quarantined_to
        where = f"{path}: " if path else ""
        super().__init__(f"{where}rejected: {reason}")


class IntegrityError(ModelWardError):
    """Stored bytes no longer match their recorded hash."""

    exit_code = 4


class Cancelled(ModelWardError):
    """A long operation was cancelled by the user."""

    exit_code = 130
