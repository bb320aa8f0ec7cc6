"""Shared table helpers: columns fitted to the table's width, numeric headers aligned."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableWidget, QTableWidgetItem
from tests.support.models import register_file

from modelward.ui.models.base import RIGHT, HeaderedTableModel
from modelward.ui.widgets import ColumnFitter, setup_table

HEADERS = ["Model", "Version", "Aliases", "Estimator", "Created", "ROC AUC", "Accuracy", "F1"]
ROW = [
    "credit-risk-scorecard-retail",
    "12",
    "champion, challenger, shadow",
    "HistGradientBoostingClassifier",
    "2026-11-26 03:57",
    "0.812",
    "0.744",
    "0.701",
]


def _table(qtbot, width: int) -> QTableWidget:
    t = QTableWidget(5, len(HEADERS))
    t.setHorizontalHeaderLabels(HEADERS)
    for r in range(5):
        for c, text in enumerate(ROW):
            t.setItem(r, c, QTableWidgetItem(text))
    setup_table(t)
    qtbot.addWidget(t)
    t.resize(width, 300)
    t.show()
    qtbot.waitExposed(t)
    return t


def _widths(t: QTableWidget) -> list[int]:
    return [t.horizontalHeader().sectionSize(c) for c in range(t.columnCount())]


def test_columns_fit_the_table_and_only_text_columns_give_way(qtbot):
    wide = _table(qtbot, 1400)
    ColumnFitter(wide, flexible=(0, 2, 3)).fit()
    natural = _widths(wide)

    narrow = _table(qtbot, 820)
    ColumnFitter(narrow, flexible=(0, 2, 3)).fit()
    fitted = _widths(narrow)
    assert sum(fitted[:-1]) < narrow.viewport().width()  # no horizontal scroll bar
    assert not narrow.horizontalScrollBar().isVisible()
    for c in (0, 2, 3):
        assert fitted[c] < natural[c]  # the flexible columns gave way
    for c in (1, 4, 5, 6):
        assert fitted[c] == natural[c]  # the others kept what their content needs


def test_fitting_follows_resizes_until_the_user_sizes_a_column(qtbot):
    t = _table(qtbot, 820)
    fitter = ColumnFitter(t, flexible=(0, 2, 3))
    fitter.fit()
    before = _widths(t)
    t.resize(1400, 300)
    qtbot.waitUntil(lambda: t.viewport().width() > 1300)
    fitter.fit(remeasure=False)  # what the page's resizeEvent does
    assert _widths(t)[0] > before[0]  # the text columns take the room back
    # A drag on a header edge (a section resized with the button down) ends fitting.
    header = t.horizontalHeader()
    qtbot.mousePress(header.viewport(), Qt.MouseButton.LeftButton)
    try:
        assert QApplication.mouseButtons() & Qt.MouseButton.LeftButton
        header.resizeSection(0, 90)
    finally:
        qtbot.mouseRelease(header.viewport(), Qt.MouseButton.LeftButton)
    assert fitter.user_sized
    t.resize(820, 300)
    qtbot.waitUntil(lambda: t.viewport().width() < 820)
    fitter.fit(remeasure=False)
    assert header.sectionSize(0) == 90  # the user's width stays


def test_the_registry_table_fits_the_window(make_main_window, wait_loaded, qtbot, tmp_path):
    from support.models import write_joblib

    win = make_main_window()
    for i in range(3):
        model = write_joblib(tmp_path / f"m{i}.joblib", seed=i)
        register_file(win.registry, model, f"credit-risk-scorecard-retail-segment-{i}")
    win.resize(1000, 700)
    win.refresh_all()
    wait_loaded(win.versions_model)
    view = win.registry_page.table
    header = view.horizontalHeader()
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 3)
    # No horizontal scrolling at 1000 px: the long model names give way (elided).
    qtbot.waitUntil(lambda: header.length() <= view.viewport().width())
    narrow = header.sectionSize(0)
    win.resize(1500, 800)  # the page's resizeEvent refits: the names get their room back
    qtbot.waitUntil(lambda: header.sectionSize(0) > narrow)
    assert header.length() <= view.viewport().width()


def test_numeric_headers_align_with_their_numbers():
    class M(HeaderedTableModel):
        headers = ("Name", "Score")

        def _row_count(self) -> int:
            return 0

        def is_numeric(self, column: int) -> bool:
            return column == 1

    m = M()
    align = Qt.ItemDataRole.TextAlignmentRole
    assert m.headerData(1, Qt.Orientation.Horizontal, align) == RIGHT
    assert m.headerData(0, Qt.Orientation.Horizontal, align) is None
    assert m.headerData(1, Qt.Orientation.Horizontal) == "Score"


def test_a_fit_asked_while_hidden_happens_when_shown(qtbot):
    t = _table(qtbot, 820)
    t.hide()
    fitter = ColumnFitter(t, flexible=(0, 2, 3))
    fitter.fit()  # hidden: no real width to fit to
    assert _widths(t)[:3] == [t.horizontalHeader().defaultSectionSize()] * 3
    t.show()
    qtbot.waitExposed(t)
    fitter.fit_if_stale()
    assert t.horizontalHeader().length() <= t.viewport().width()
    assert _widths(t)[1] != t.horizontalHeader().defaultSectionSize()


def test_spare_room_goes_to_the_chosen_text_column_not_the_last(qtbot):
    t = _table(qtbot, 1900)
    ColumnFitter(t, flexible=(0, 2, 3), spare=3).fit()
    widths = _widths(t)
    natural = _table(qtbot, 1900)
    ColumnFitter(natural, flexible=(0, 2, 3)).fit()
    assert widths[3] > _widths(natural)[3]  # the text column took the room
    assert widths[-1] <= _widths(natural)[-1]  # the last one did not stretch into a gap
    assert sum(widths) <= t.viewport().width()


def test_fitting_reads_only_the_rows_on_screen(qtbot):
    # Qt's own sizeHintForColumn reads up to 1,000 rows per column: on the paged
    # versions table that was ~200 ms of the GUI thread and page loads nobody sees.
    from PySide6.QtCore import QAbstractTableModel, QModelIndex
    from PySide6.QtWidgets import QTableView

    asked: set[int] = set()

    class Big(QAbstractTableModel):
        def rowCount(self, parent=QModelIndex()):  # noqa: B008, N802
            return 0 if parent.isValid() else 100_000

        def columnCount(self, parent=QModelIndex()):  # noqa: B008, N802
            return 0 if parent.isValid() else len(HEADERS)

        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            if role == Qt.ItemDataRole.DisplayRole:
                asked.add(index.row())
                return ROW[index.column()]
            return None

        def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
            if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
                return HEADERS[section]
            return None

    view = QTableView()
    model = Big()
    view.setModel(model)
    setup_table(view)
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    qtbot.waitExposed(view)
    asked.clear()
    ColumnFitter(view, flexible=(0, 2, 3)).fit()
    on_screen = view.rowAt(view.viewport().height() - 1) + 1
    assert asked and max(asked) < on_screen + 1, (len(asked), max(asked), on_screen)
