"""Custom item data roles, declared once."""

from __future__ import annotations

from PySide6.QtCore import Qt

_BASE = int(Qt.ItemDataRole.UserRole)

ROW_ID_ROLE = _BASE + 1
"""The row's database id (version id, audit seq, job id)."""
REF_ROLE = _BASE + 2
"""A version's ``NAME:VERSION`` ref."""
PROGRESS_ROLE = _BASE + 3
"""A job's progress fraction (0..1), for the progress delegate."""
STATE_ROLE = _BASE + 4
"""A job's state, a version's status (plain string)."""
