"""The one way a command's result reaches the user: as text or as ``--json``.

A handler returns a :class:`Result` (the data, the human text, whether it
succeeded); :func:`emit` prints it in the chosen form and gives the exit code.
Because both forms come from the same object, text and JSON cannot disagree on
the outcome. Neither form lets a stored name act on the terminal: text is shown
through :func:`~modelward.core.text.safe_display` (each table cell, then each
line), JSON through :func:`~modelward.core.text.dumps_json` (control and
bidirectional characters as ``\\uXXXX`` escapes, the data unchanged). Errors raised as :class:`~modelward.core.errors.ModelWardError`
go through :func:`emit_error` the same way.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelward.core.clock import display_ts
from modelward.core.text import dumps_json, safe_display, safe_lines


@dataclass
class Result:
    """What a command did.

    Parameters
    ----------
    data
        The JSON document of ``--json`` (``None``: the command printed its
        output as it went, e.g. a stream of events, and has nothing to add).
    text
        The human text printed on stdout without ``--json``.
    ok
        Whether the command succeeded. A failed result exits non-zero and its
        JSON document always carries ``"ok": false``.
    code
        The exit code; by default 0 when ``ok``, else 1.
    errors
        Lines for stderr in text mode (the JSON document carries the same facts).
    """

    data: Any = None
    text: str = ""
    ok: bool = True
    code: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.code is not None:
            return self.code
        return 0 if self.ok else 1


def lines(*parts: str) -> str:
    """Join text lines (a convenience for building :attr:`Result.text`)."""
    return "\n".join(parts)


_LINE_LOCK = threading.Lock()


def stream_line(text: str, *, err: bool = False) -> None:
    """Write one whole line of a streaming command (``watch``) and flush it.

    Such a command prints from several threads (the watcher's, the policies',
    its own). ``print`` writes the text and its newline as two writes, so two
    threads could run their lines together and leave an empty one: here the
    line and its newline are one write, under one lock.
    """
    stream = sys.stderr if err else sys.stdout
    with _LINE_LOCK:
        try:
            stream.write(text + "\n")
            stream.flush()
        except BrokenPipeError:  # `modelward watch | head`: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def print_json(doc: Any) -> None:
    """Print one JSON document on stdout (a closed pipe is not an error)."""
    try:
        print(dumps_json(doc))
        sys.stdout.flush()
    except BrokenPipeError:  # `modelward list --json | head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def emit(result: Result, *, as_json: bool) -> int:
    """Print ``result`` as JSON or as text; return the process exit code."""
    if as_json:
        doc = result.data
        if not result.ok:
            doc = dict(doc) if isinstance(doc, dict) else {"result": doc}
            doc["ok"] = False
        if doc is not None:
            print_json(doc)
    else:
        try:
            if result.text:
                print(safe_text(result.text))
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        for line in result.errors:
            print(safe_text(line), file=sys.stderr)
    return result.exit_code


def emit_error(message: str, kind: str, code: int, *, as_json: bool) -> int:
    """Report a refused command: one line on stderr, and a JSON document with ``--json``."""
    if as_json:
        print_json({"ok": False, "error": message, "kind": kind})
    print(f"modelward: error: {safe_text(message)}", file=sys.stderr)
    return code


def safe_text(text: str) -> str:
    """Human text for the terminal: each line through :func:`safe_display`, line breaks kept."""
    return safe_lines(text)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table: a header line, a rule, one line per row.

    Each cell is shown through :func:`safe_display`, so a name holding a
    newline or a tab stays in its row and column.
    """
    cells = [[safe_display(str(c)) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in cells:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for r in cells:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(out)


def fmt_size(n: int) -> str:
    """Bytes as B, KB, MB or GB."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def fmt_metrics(metrics: dict[str, float]) -> str:
    """``name value`` pairs on one line, sorted by name."""
    return "  ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()))


def fmt_time(ts: str, width: int = 19) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM:SS`` (``width`` 16: to the minute)."""
    return display_ts(ts, minutes=width <= 16)
