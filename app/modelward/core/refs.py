"""Names and references: how a model, a version, an alias and a person are named.

A model is referred to as ``NAME`` (its latest version), ``NAME:VERSION`` or
``NAME@ALIAS``. These rules are shared by storage and by every face, so they
live in the kernel rather than in the registry.
"""

from __future__ import annotations

import re

from modelward.core import platform
from modelward.core.errors import InvalidInput
from modelward.core.text import safe_display, unsafe_chars

NAME_RE = re.compile(r"^[^\s:@/\\][^:@/\\]{0,199}$")
"""A model name: 1–200 characters, no ``:``, ``@``, slashes, no leading space."""
ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
"""An alias: a letter, then up to 63 letters, digits, ``_``, ``-`` or ``.``."""


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """Split ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``.

    Parameters
    ----------
    ref
        The reference as typed; surrounding spaces are ignored.

    Returns
    -------
    tuple
        ``(name, version or None, alias or None)``.

    Raises
    ------
    InvalidInput
        An empty reference, an empty part, or a version that is not a number.
    """
    ref = ref.strip()
    if "@" in ref:
        name, alias = ref.rsplit("@", 1)
        if not name or not alias:
            raise InvalidInput(f"bad model reference {ref!r}: use NAME, NAME:VERSION or NAME@ALIAS")
        return name, None, alias
    if ":" in ref:
        name, ver = ref.rsplit(":", 1)
        if not name or not ver.isdigit():
            raise InvalidInput(
                f"bad model reference {ref!r}: the version after ':' must be a number"
            )
        return name, int(ver), None
    if not ref:
        raise InvalidInput("empty model reference")
    return ref, None, None


def validate_name(name: str) -> None:
    """Check a model name: up to 200 characters, no ':', '@', slashes or surrounding spaces.

    Control, bidirectional and zero-width characters (see
    :func:`modelward.core.text.unsafe_chars`) are refused too, with the
    characters named; names already stored with them still display escaped.

    Raises
    ------
    InvalidInput
        The name breaks a rule; the message says which rules apply.
    """
    if isinstance(name, str) and (bad := unsafe_chars(name)):
        # A newline splits a table row, U+202E reverses the text on screen, a
        # zero-width space makes two names look alike: refuse, naming them.
        raise InvalidInput(
            f"bad model name '{safe_display(name)}': it holds control or invisible "
            f"characters ({', '.join(bad)}); use visible characters only"
        )
    if not isinstance(name, str) or not NAME_RE.match(name) or name != name.strip():
        raise InvalidInput(
            f"bad model name {name!r}: 1–200 characters, no ':', '@', '/', '\\' "
            "and no leading or trailing spaces"
        )


def validate_alias(alias: str) -> None:
    """Check an alias name (see :data:`ALIAS_RE`).

    Raises
    ------
    InvalidInput
        The alias breaks the rule.
    """
    if not ALIAS_RE.match(alias):
        raise InvalidInput(
            f"bad alias {alias!r}: start with a letter; letters, digits, '_', '-', '.' only"
        )


def current_user() -> str:
    """The OS user, the *who* of every audit event.

    Returns
    -------
    str
        The login name; in a container or service without one, ``USERNAME`` or
        ``USER`` from the environment, else ``uid-N``.
    """
    return platform.user_name()
