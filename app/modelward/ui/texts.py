"""Core's messages as the window says them: the window never tells the user to run a command.

Core errors are shared with the command line and may name a command to run
next; in the window the same step is a button or a menu item, so the hint is
rewritten into that.
"""

from __future__ import annotations

import re

_APPROVAL_HINT = re.compile(r"\s*\(\s*'modelward approvals request [^']*'\s*\)")
_ANY_COMMAND = re.compile(r"(?:,?\s*then|,?\s*or)?\s*(?:run\s+)?'modelward [^']*'")


def window_text(message: str) -> str:
    """``message`` with command-line hints replaced by where the window does it."""
    text = _APPROVAL_HINT.sub(" (Request approval… when the move is refused)", message)
    return _ANY_COMMAND.sub("", text)
