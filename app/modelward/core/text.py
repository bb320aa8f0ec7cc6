"""Text that reaches a person: names shown safely, and CSV cells that stay data.

A name, a path or a reason may hold characters a terminal or a window acts on
instead of showing: a newline splits a table row, a tab shifts columns, U+202E
(right-to-left override) shows ``report‮fdp.exe`` as ``reportexe.pdf``, a
zero-width space makes two names look equal. Every face shows such text
through :func:`safe_display`, which writes those characters as escapes
(``\\n``, ``\\t``, ``\\u202e``) so they are seen, never rendered.

``--json`` keeps data as data: :func:`dumps_json` escapes the same characters
the JSON way (``\\u202e``), so the document reads back to the exact text while
a terminal that prints it renders nothing.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return as a formula; :func:`csv_cell` prefixes such a text
with ``'`` so that every CSV the app writes opens as data. A text that starts
with ``'`` itself gets one more, so the rule is undone without doubt: a text
cell that starts with ``'`` loses exactly that one character.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

__all__ = [
    "csv_cell",
    "dumps_json",
    "is_unsafe_char",
    "safe_display",
    "safe_lines",
    "unsafe_chars",
]

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula."""
_PREFIXED = (*FORMULA_START, "'")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def is_unsafe_char(ch: str) -> bool:
    """Whether ``ch`` is a control, format (bidirectional, zero-width), surrogate or separator character."""
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def safe_display(s: object) -> str:
    """Text to show a person: control and bidirectional characters escaped, never rendered.

    Parameters
    ----------
    s
        A name, path, reason or any value (``None`` shows as an empty text;
        other values go through ``str``).

    Returns
    -------
    str
        ``s`` with every character of Unicode category Cc, Cf, Cs, Zl or Zp
        written as ``\\n``, ``\\t``, ``\\r``, ``\\xNN``, ``\\uNNNN`` or
        ``\\UNNNNNNNN``; other characters (letters of every script, spaces,
        backslashes) are kept as they are.

    Examples
    --------
    >>> safe_display("evil\\nname\\u202egpj")
    'evil\\\\nname\\\\u202egpj'
    """
    text = "" if s is None else s if isinstance(s, str) else str(s)
    if text.isprintable():  # the common case: nothing to escape (fast path)
        return text
    return "".join(_escape(ch) if is_unsafe_char(ch) else ch for ch in text)


def safe_lines(s: object) -> str:
    """Like :func:`safe_display` for a text of several lines: its line breaks are kept.

    For free text shown as such (a description, a message of several lines);
    names, paths and table cells go through :func:`safe_display`.
    """
    text = "" if s is None else s if isinstance(s, str) else str(s)
    return "\n".join(safe_display(line) for line in text.split("\n"))


def unsafe_chars(s: str) -> list[str]:
    """The distinct unsafe characters of ``s``, each as its escape (for refusal messages)."""
    seen: dict[str, None] = {}
    for ch in s:
        if is_unsafe_char(ch):
            seen.setdefault(_escape(ch), None)
    return list(seen)


def _json_escape(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    cp -= 0x10000  # a surrogate pair, as JSON writes characters beyond the BMP
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"


def dumps_json(doc: Any, *, indent: int | None = 2) -> str:
    """A JSON document that reads back exactly and that no terminal renders as control text.

    Parameters
    ----------
    doc
        Any JSON-serialisable value (other values go through ``str``).
    indent
        As for :func:`json.dumps`.

    Returns
    -------
    str
        ``json.dumps`` with ``ensure_ascii=False`` (letters of every script
        stay readable), and each control, bidirectional or other unsafe
        character escaped as ``\\uXXXX``; ``json.loads`` gives back ``doc``.
    """
    text = json.dumps(doc, indent=indent, ensure_ascii=False, default=str)
    if text.isprintable():
        return text
    # Outside strings a JSON text holds only printable characters and the
    # indentation's newlines, so every other unsafe character is inside a string.
    return "".join(_json_escape(ch) if ch != "\n" and is_unsafe_char(ch) else ch for ch in text)


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet opens as data, never as a formula.

    Parameters
    ----------
    value
        The cell. Only text is changed; numbers, texts that are a plain
        decimal number (``-0.5``, ``+3e-2``: a number, not a formula),
        ``None`` and other values are returned as they are.

    Returns
    -------
    Any
        ``value``, with ``'`` put in front of a text that starts with ``=``,
        ``+``, ``-``, ``@``, a tab, a carriage return or ``'`` (so that
        removing one leading ``'`` from every text cell gives the value back).
    """
    if isinstance(value, str) and value.startswith(_PREFIXED):
        if _NUMBER_RE.fullmatch(value):
            return value
        return "'" + value
    return value
