"""A table model that reads a large SQL result in pages, off the GUI thread.

``rowCount`` is a cached ``COUNT(*)``; ``data`` reads a page cache (200 rows
per page) that background reads fill with ``ORDER BY … LIMIT/OFFSET``. A row
whose page has not arrived shows a placeholder; when the page lands the model
emits ``dataChanged`` for it. Changing the query (filter, sort) loads the count
and the first page together and resets the model once, so the view never shows
a half-updated table. Results of a superseded query are dropped by generation.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from modelward.ui.bridge import Reader
from modelward.ui.models.base import HeaderedTableModel, shown

Index = QModelIndex | QPersistentModelIndex
# A page is a few screens of rows: small enough that building it on the reader
# thread never holds the GIL long (the window stalls while it does), big enough
# that scrolling line by line reads rarely.
PAGE = 200
MAX_PAGES = 160  # 32,000 rows in memory at most
PLACEHOLDER = "…"
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)


class PagedTableModel(HeaderedTableModel):
    """Subclasses give ``headers``, ``_count``, ``_page`` and ``_cell``.

    No ``flags()`` here: QAbstractTableModel's own answer (enabled, selectable, no
    children) is the one wanted, and it costs no Python call per cell per paint.
    """

    sig_loaded = Signal(int, float)
    """row count, seconds from the query change to the first page in the model."""
    sig_load_failed = Signal(str)
    """one sentence: why the table could not be read."""

    headers: tuple[str, ...] = ()
    # Roles a subclass answers; anything else returns None at once. A view asks
    # about ten roles per cell on every paint, so this check is the hot path.
    roles: frozenset[int] = frozenset(
        int(r)
        for r in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.TextAlignmentRole,
            Qt.ItemDataRole.ForegroundRole,
        )
    ) | frozenset(range(int(Qt.ItemDataRole.UserRole), int(Qt.ItemDataRole.UserRole) + 16))

    def __init__(self, reader: Reader, parent: QObject | None = None):
        super().__init__(parent)
        self.reader = reader
        self._channel = f"paged-{id(self)}"
        self._spec: Any = None
        self._gen = 0
        self._rows = 0
        self._pages: OrderedDict[int, list[tuple[Any, ...]]] = OrderedDict()
        self._pending: set[int] = set()
        # The page data() read last (its index, its rows): a paint reads one or two pages.
        self._hot = -1
        self._hot_rows: list[tuple[Any, ...]] = []
        self._recent: deque[int] = deque(maxlen=8)
        self._t0 = 0.0
        self.loading = False
        self.refreshing = False
        reader.sig_read_done.connect(self._on_read_done, Qt.ConnectionType.QueuedConnection)
        reader.sig_read_failed.connect(self._on_read_failed, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ subclass hooks
    def _count(self, spec: Any) -> int:  # runs on the reader thread
        raise NotImplementedError

    def _page(self, spec: Any, offset: int, limit: int) -> list[tuple[Any, ...]]:  # reader thread
        raise NotImplementedError

    def _cell(self, row: tuple[Any, ...], column: int, role: int) -> Any:
        raise NotImplementedError

    def _headers_for(self, spec: Any) -> tuple[str, ...]:
        return self.headers

    # ------------------------------------------------------------ loading
    @property
    def spec(self) -> Any:
        return self._spec

    def set_spec(self, spec: Any) -> None:
        """Load a new query: count + first page in one background read, then one reset."""
        self._spec = spec
        self._gen += 1
        self._t0 = time.perf_counter()
        self.loading = True
        self.refreshing = False
        self.reader.submit(self._channel + ":reset", self._load_first, spec, self._gen)

    def refresh(self) -> None:
        """Reload the current query (after a change in the registry)."""
        if self._spec is not None:
            self.set_spec(self._spec)
            self.refreshing = True  # the same query, new content (not a search or a sort)

    def _first(self, spec: Any, limit: int) -> tuple[int, list[tuple[Any, ...]]]:  # reader thread
        """The row count and the first page (a subclass may read both at once)."""
        n = self._count(spec)
        return n, (self._page(spec, 0, limit) if n else [])

    def _load_first(self, spec: Any, gen: int) -> tuple[int, int, list[tuple[Any, ...]]]:
        n, rows = self._first(spec, PAGE)
        return gen, n, rows

    def _load_page(self, spec: Any, gen: int, page: int) -> tuple[int, int, list[tuple[Any, ...]]]:
        if gen != self._gen or page not in self._recent:
            return gen, page, []  # scrolled past, or a newer query: skip the read
        return gen, page, self._page(spec, page * PAGE, PAGE)

    def _on_read_done(self, channel: str, token: int, result: Any) -> None:
        if channel == self._channel + ":reset":
            if not self.reader.is_current(channel, token):
                return
            gen, n, rows = result
            if gen != self._gen:
                return
            new_headers = self._headers_for(self._spec)
            self.beginResetModel()
            self.headers = new_headers
            self._rows = n
            self._pages.clear()
            self._hot = -1
            self._pending.clear()
            if rows:
                self._pages[0] = rows
            self.endResetModel()
            self.loading = False
            self.sig_loaded.emit(n, time.perf_counter() - self._t0)
        elif channel == self._channel + ":page":
            gen, page, rows = result
            self._pending.discard(page)
            if gen != self._gen or not rows:
                return
            self._pages[page] = rows
            self._hot = -1
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
            first = page * PAGE
            last = min(first + len(rows), self._rows) - 1
            if last >= first:
                self.dataChanged.emit(
                    self.index(first, 0), self.index(last, self.columnCount() - 1)
                )

    def _on_read_failed(self, channel: str, token: int, message: str) -> None:
        if channel.startswith(self._channel):
            if channel.endswith(":reset"):
                self.loading = False
            self.sig_load_failed.emit(message)

    def _row(self, r: int) -> tuple[Any, ...] | None:
        page = r // PAGE
        rows = self._pages.get(page)
        if rows is not None:
            self._pages.move_to_end(page)
            i = r - page * PAGE
            return rows[i] if i < len(rows) else None
        if page not in self._recent:
            self._recent.append(page)
        if page not in self._pending:
            self._pending.add(page)
            self.reader.submit(
                self._channel + ":page", self._load_page, self._spec, self._gen, page, stale=False
            )
        return None

    def row_data(self, r: int) -> tuple[Any, ...] | None:
        """The raw row ``r`` if its page is loaded (no load is started)."""
        rows = self._pages.get(r // PAGE)
        if rows is None:
            return None
        i = r % PAGE
        return rows[i] if i < len(rows) else None

    # ------------------------------------------------------------ Qt model
    def _row_count(self) -> int:
        return self._rows

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        # The hot path of every paint (a view asks ~7 roles of each cell on screen):
        # no Qt call but index.row()/column(), and the page last read is kept at hand.
        if role not in self.roles:
            return None
        r = index.row()
        if r < 0 or r >= self._rows:
            return None
        page = r // PAGE
        if page == self._hot:
            rows = self._hot_rows
        else:
            rows = self._pages.get(page)
            if rows is None:
                self._row(r)  # starts the page's load
                return PLACEHOLDER if role == _DISPLAY else None
            self._pages.move_to_end(page)
            self._hot, self._hot_rows = page, rows
        i = r - page * PAGE
        if i >= len(rows):
            return PLACEHOLDER if role == _DISPLAY else None
        return shown(self._cell(rows[i], index.column(), role), role)
