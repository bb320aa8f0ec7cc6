"""Searchable pickers: one for a version (every version of the registry), one for a model name.

Wherever the window asks for a version it uses :class:`VersionPicker`; the list
is read off the GUI thread through the window's :class:`~modelward.ui.bridge.Reader`
each time a picker is made, so a version trained a minute ago is offered. The
champion (and any other alias) is marked next to the ref; typing filters by
any part of the text ("risk:3", "champion"). A ref or ``NAME@ALIAS`` that is
not in the list can still be typed.
"""

from __future__ import annotations

import itertools
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from modelward.ui import tasks

_ids = itertools.count(1)


def _searchable(box: QComboBox) -> None:
    box.setEditable(True)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    completer = QCompleter(box.model(), box)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    box.setCompleter(completer)


def choice_text(ref: str, aliases: tuple[str, ...] | list[str]) -> str:
    """What the list shows for a version: the ref, then its aliases (champion first, starred)."""
    if not aliases:
        return ref
    ordered = sorted(aliases, key=lambda a: (a != "champion", a))
    marks = ", ".join(("★ " + a) if a == "champion" else a for a in ordered)
    return f"{ref}   ({marks})"


class VersionPicker(QComboBox):
    """A searchable combo over every version of the registry (champion marked)."""

    sig_loaded = Signal(int)
    """number of versions offered, once the background read is in."""

    def __init__(
        self,
        reader: Any = None,
        registry: Any = None,
        *,
        refs: list[str] | None = None,
        current: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        _searchable(self)
        self.lineEdit().setPlaceholderText("type to search: name, version or alias")
        self.setMinimumWidth(240)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setToolTip("The version: pick one or type to search (name:version or name@alias)")
        self.loaded = False
        self._reader = reader
        self._channel = f"version-picker-{next(_ids)}"
        self._token: int | None = None
        self.set_choices([tasks.VersionChoice(r, ()) for r in refs or []])
        self.set_ref(current)
        if reader is not None and registry is not None:
            reader.sig_read_done.connect(self._on_read_done, Qt.ConnectionType.QueuedConnection)
            self._token = reader.submit(self._channel, tasks.version_choices, registry)

    def set_choices(self, choices: list[tasks.VersionChoice]) -> None:
        """Offer ``choices`` (the typed or chosen ref is kept)."""
        keep = self.ref()
        self.blockSignals(True)
        self.clear()
        for c in choices:
            self.addItem(choice_text(c.ref, c.aliases), c.ref)
        self.blockSignals(False)
        self.set_ref(keep)

    def refs(self) -> list[str]:
        return [str(self.itemData(i)) for i in range(self.count())]

    def ref(self) -> str:
        """The chosen ref (``NAME:VERSION``) or what was typed (``NAME@ALIAS``)."""
        text = self.currentText().strip()
        i = self.findText(text)
        if i >= 0 and self.itemData(i):
            return str(self.itemData(i))
        return text.split("   (")[0].strip()

    def set_ref(self, ref: str) -> None:
        i = self.findData(ref) if ref else -1
        if i >= 0:
            self.setCurrentIndex(i)
        else:
            self.setCurrentIndex(-1)
            self.setEditText(ref)

    def _on_read_done(self, channel: str, token: int, result: Any) -> None:
        if channel != self._channel or token != self._token:
            return
        self.set_choices(list(result))
        self.loaded = True
        self.sig_loaded.emit(self.count())


class ModelNamePicker(QComboBox):
    """An editable combo of the registry's model names (a new name can be typed)."""

    sig_loaded = Signal(int)
    """number of names offered."""

    def __init__(
        self,
        reader: Any = None,
        registry: Any = None,
        *,
        names: list[str] | None = None,
        current: str = "",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        _searchable(self)
        self.lineEdit().setPlaceholderText("an existing model, or a new name")
        self.setMinimumWidth(260)
        self.setToolTip("Pick an existing model to add a version to it, or type a new name")
        self.loaded = False
        self._channel = f"model-picker-{next(_ids)}"
        self._token: int | None = None
        self.addItems(names or [])
        self.setEditText(current)
        if reader is not None and registry is not None:
            reader.sig_read_done.connect(self._on_read_done, Qt.ConnectionType.QueuedConnection)
            self._token = reader.submit(self._channel, tasks.model_names, registry)

    def name(self) -> str:
        return self.currentText().strip()

    def _on_read_done(self, channel: str, token: int, result: Any) -> None:
        if channel != self._channel or token != self._token:
            return
        typed = self.currentText()
        self.blockSignals(True)
        self.clear()
        self.addItems(list(result))
        self.setEditText(typed)
        self.blockSignals(False)
        self.loaded = True
        self.sig_loaded.emit(self.count())
