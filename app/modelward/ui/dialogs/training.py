"""The training dialog: data preview, target, features, estimator, parameters, split, search.

It only gathers a :class:`~modelward.core.compute.recipe.Recipe`; the work is
core's ``train`` in a worker process (:mod:`modelward.core.compute.worker`),
submitted as a job, so the window stays responsive and the jobs panel can
cancel it. Fold scores are drawn as they arrive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from modelward.core.compute.recipe import (
    SPLIT_KINDS,
    Recipe,
    boosting_available,
    recipe_from_fields,
)
from modelward.core.compute.worker import ScoreBuffer, worker_job
from modelward.core.errors import InvalidInput, ModelWardError
from modelward.core.jobs import JobKind
from modelward.ui.bridge import JobBridge, Reader
from modelward.ui.charts.scores import QtScoreChart
from modelward.ui.widgets import label, setup_table

# Shown at once; the full list of scikit-learn estimators is read in the background.
COMMON_CLASSIFIERS: tuple[str, ...] = (
    "LogisticRegression",
    "HistGradientBoostingClassifier",
    "RandomForestClassifier",
    "DecisionTreeClassifier",
)
COMMON_REGRESSORS: tuple[str, ...] = (
    "Ridge",
    "HistGradientBoostingRegressor",
    "RandomForestRegressor",
)
# XGBoost and LightGBM where their extras are installed (the check imports neither).
COMMON_CLASSIFIERS += tuple(n for n in ("XGBClassifier", "LGBMClassifier") if boosting_available(n))
COMMON_REGRESSORS += tuple(n for n in ("XGBRegressor", "LGBMRegressor") if boosting_available(n))
COMMON_ESTIMATORS = COMMON_CLASSIFIERS + COMMON_REGRESSORS
CLASSIFICATION, REGRESSION = "classification", "regression"
COLUMN_ROLE = Qt.ItemDataRole.UserRole
"""The column name of a features-list item (its text may carry a mark)."""
ID_MARK = "  (id-like)"
TARGET_NAMES = ("target", "label", "y", "class", "default", "churn", "outcome")
PREVIEW_ROWS = 100


def load_preview(path: str) -> Any:
    """The first rows of a table (reader thread)."""
    from modelward.core.compute.data import preview

    return preview(path, rows=PREVIEW_ROWS)


def all_estimators() -> dict[str, list[str]]:
    """scikit-learn's classifiers and regressors by task (reader thread)."""
    from modelward.core.compute.recipe import estimator_names

    return {t: estimator_names(t) for t in (CLASSIFICATION, REGRESSION)}


def is_id_like(name: str, values: Any) -> bool:
    """Whether a column looks like a row id (named ``id``/``*_id``, or unique integers).

    ``values`` is the preview's column (a pandas Series). An id is unique per row;
    taught to a model it only memorises rows, so it is not a feature by default.
    """
    low = name.lower()
    if low == "id" or low.endswith(("_id", " id", "-id")):
        return True
    if str(values.dtype).lower().startswith(("int", "uint")):
        v = values.dropna()
        if len(v) < 3 or not v.is_unique:
            return False
        if v.is_monotonic_increasing or v.is_monotonic_decreasing:
            return True
        # Unique, and dense like a counter (a shuffled row number); a unique amount in
        # dollars spreads far wider than the number of rows.
        span = int(v.max()) - int(v.min())
        return len(v) >= 20 and span <= 50 * len(v)
    return False


def target_task(values: Any) -> str:
    """``classification`` for a two-valued target, ``regression`` for a continuous one, else ``""``.

    ``values`` is the preview's column; ``""`` means both kinds are offered.
    """
    v = values.dropna()
    n = int(v.nunique())
    if n <= 2:
        return CLASSIFICATION
    if str(v.dtype).lower().startswith("float"):
        integral = bool((v == v.round()).all())
        if not integral and n > 10:
            return REGRESSION
    elif str(v.dtype).lower().startswith(("int", "uint")) and n > 20:
        return REGRESSION
    elif not str(v.dtype).lower().startswith(("int", "uint", "float")):
        return CLASSIFICATION
    return ""


def check_recipe(recipe: Recipe, name: str) -> Recipe:
    """Everything that can be checked before the data is read (reader thread)."""
    from modelward.core.refs import validate_name

    validate_name(name)
    recipe.check()
    return recipe


def _default_target(columns: list[str]) -> str:
    for c in columns:
        if c.lower() in TARGET_NAMES:
            return c
    return columns[-1] if columns else ""


class TrainingDialog(QDialog):
    """Gather a recipe, start the training job, follow its fold scores."""

    sig_preview_loaded = Signal(int)
    """number of columns: the data preview is shown."""
    sig_training_started = Signal(int)
    """job id: the training job was submitted."""
    sig_training_finished = Signal(object)
    """the job's result (``TrainResult.to_json()``): a version was registered."""
    sig_training_failed = Signal(str)
    """one sentence: the inputs were refused or the job failed or was cancelled."""

    def __init__(
        self,
        registry: Any,
        jobs: JobBridge,
        parent: QWidget | None = None,
        *,
        data: str = "",
        name: str = "",
    ):
        super().__init__(parent)
        self.registry = registry
        self.jobs = jobs
        self.reader = Reader(self)
        self.job_id: int | None = None
        self.result: dict[str, Any] | None = None
        self.columns: list[str] = []
        self.id_like: set[str] = set()
        self.id_confirm: QMessageBox | None = None
        """The open question "use this id-like column as a feature?", if one is asked."""
        self._confirmed_ids: set[str] = set()
        self._filling_features = False
        self.task = ""
        """What the target's values allow (``classification``, ``regression`` or ``""``)."""
        self._tasks: dict[str, list[str]] = {
            CLASSIFICATION: list(COMMON_CLASSIFIERS),
            REGRESSION: list(COMMON_REGRESSORS),
        }
        self._target_tasks: dict[str, str] = {}
        self._pending: tuple[Recipe, str] | None = None
        self.setWindowTitle("Train a model")
        self.resize(1180, 760)
        self._build(data, name)
        self._connect()
        self.reader.submit("estimators", all_estimators)
        if data:
            self.load_data(data)

    # ------------------------------------------------------------ building
    def _build(self, data: str, name: str) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(16, 14, 16, 12)
        root.setSpacing(8)
        root.addWidget(label("Train a model", "PageTitle"))
        row = QHBoxLayout()
        self.data_edit = QLineEdit(data)
        self.data_edit.setPlaceholderText("A CSV or Parquet file with a target column")
        self.browse_button = QPushButton("Browse…")
        row.addWidget(label("Data", "SectionTitle"))
        row.addWidget(self.data_edit, 1)
        row.addWidget(self.browse_button)
        root.addLayout(row)

        split = QSplitter(Qt.Orientation.Horizontal)
        # Left: the recipe.
        form_box = QWidget()
        outer = QVBoxLayout(form_box)
        outer.setContentsMargins(0, 0, 8, 0)
        form = QFormLayout()
        outer.addLayout(form)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(name)
        self.name_edit.setPlaceholderText("model name, e.g. credit-risk")
        form.addRow("Model name", self.name_edit)
        self.target_combo = QComboBox()
        form.addRow("Target", self.target_combo)
        self.features_list = QListWidget()
        self.features_list.setMaximumHeight(120)
        self.features_list.setSpacing(1)  # the check boxes touched each other
        self.features_list.setToolTip(
            "Unchecked columns are left out of the model; id-like columns start unchecked"
        )
        form.addRow("Features", self.features_list)
        self.estimator_combo = QComboBox()
        self.estimator_combo.setEditable(True)
        self.estimator_combo.addItems(COMMON_ESTIMATORS)
        self.estimator_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.estimator_combo.setToolTip(
            "Only estimators that fit the target are listed (Enter moves to the parameters)"
        )
        form.addRow("Estimator", self.estimator_combo)
        self.task_label = label("", "Muted", wrap=True)
        form.addRow("", self.task_label)
        self.params_edit = QPlainTextEdit()
        self.params_edit.setPlaceholderText("one key=value a line, e.g.\nC=0.5\nmax_iter=500")
        self.params_edit.setMaximumHeight(64)
        form.addRow("Parameters", self.params_edit)
        split_row = QHBoxLayout()
        self.split_combo = QComboBox()
        self.split_combo.addItems(SPLIT_KINDS)
        self.test_size_spin = QDoubleSpinBox()
        self.test_size_spin.setRange(0.05, 0.9)
        self.test_size_spin.setSingleStep(0.05)
        self.test_size_spin.setValue(0.25)
        self.test_size_spin.setPrefix("test ")
        self.folds_spin = QSpinBox()
        self.folds_spin.setRange(1, 50)
        self.folds_spin.setValue(5)
        self.folds_spin.setSuffix(" folds")
        for w in (self.split_combo, self.test_size_spin, self.folds_spin):
            split_row.addWidget(w)
        form.addRow("Split", split_row)
        self.time_combo = QComboBox()
        form.addRow("Time column", self.time_combo)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        form.addRow("Seed", self.seed_spin)
        self.search_box = QGroupBox("Parameter search")
        self.search_box.setCheckable(True)
        self.search_box.setChecked(False)
        sl = QFormLayout(self.search_box)
        srow = QHBoxLayout()
        self.search_kind = QComboBox()
        self.search_kind.addItems(["grid", "random"])
        self.search_kind.setToolTip("grid tries every combination; random tries a sample of them")
        self.search_iter = QSpinBox()
        self.search_iter.setRange(1, 500)
        self.search_iter.setValue(10)
        self.search_iter.setPrefix("tries ")
        self.search_folds = QSpinBox()
        self.search_folds.setRange(2, 20)
        self.search_folds.setValue(3)
        self.search_folds.setSuffix(" folds")
        for w in (self.search_kind, self.search_iter, self.search_folds):
            srow.addWidget(w)
        sl.addRow(srow)
        self.space_edit = QPlainTextEdit()
        self.space_edit.setPlaceholderText(
            "values to try, one key=[…] a line, e.g.\nC=[0.1, 1, 10]"
        )
        self.space_edit.setMaximumHeight(56)
        sl.addRow(self.space_edit)
        outer.addWidget(self.search_box)
        outer.addStretch(1)
        split.addWidget(form_box)

        # Right: the preview above, the live chart below.
        right = QSplitter(Qt.Orientation.Vertical)
        pv = QWidget()
        pl = QVBoxLayout(pv)
        pl.setContentsMargins(8, 0, 0, 0)
        self.preview_label = label("Preview: choose a file", "Muted")
        pl.addWidget(self.preview_label)
        self.preview_table = QTableWidget(0, 0)
        setup_table(self.preview_table, stretch_last=False)
        self.preview_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        pl.addWidget(self.preview_table, 1)
        right.addWidget(pv)
        self.chart = QtScoreChart()
        right.addWidget(self.chart)
        right.setSizes([330, 300])
        split.addWidget(right)
        split.setSizes([430, 720])
        root.addWidget(split, 1)

        self.error_label = label("", "Error", wrap=True)
        self.error_label.hide()
        root.addWidget(self.error_label)
        bottom = QHBoxLayout()
        self.status_label = label("", "Muted")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(220)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.n_jobs_check = QCheckBox("Use all cores")
        self.n_jobs_check.setToolTip("Fit folds in parallel worker processes")
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.n_jobs_check)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setEnabled(False)
        self.train_button = QPushButton("Train")
        self.train_button.setProperty("primary", True)
        self.train_button.setToolTip("Start training (Ctrl+Enter)")
        self.cancel_button.setToolTip("Stop the training after the current fold")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Close this dialog (a running training goes on in Jobs)")
        self.browse_button.setToolTip("Choose the CSV or Parquet file to train on")
        for b in (self.cancel_button, self.close_button, self.train_button):
            # Enter in a field never starts (or stops) anything: the buttons are clicked.
            b.setAutoDefault(False)
            b.setDefault(False)
            bottom.addWidget(b)
        self.browse_button.setAutoDefault(False)
        root.addLayout(bottom)
        self._update_split_fields()

    def _connect(self) -> None:
        q = Qt.ConnectionType.QueuedConnection
        self.browse_button.clicked.connect(self._on_browse_clicked)
        self.data_edit.editingFinished.connect(self._on_data_edited)
        self.target_combo.currentTextChanged.connect(self._update_features)
        self.features_list.itemChanged.connect(self._on_feature_changed)
        self.split_combo.currentTextChanged.connect(self._update_split_fields)
        self.search_kind.currentTextChanged.connect(self._update_split_fields)
        self.train_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        for key in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(key), self, activated=self.start)
        # Enter in the estimator field moves on to the parameters.
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            sc = QShortcut(QKeySequence(key), self.estimator_combo)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(self.params_edit.setFocus)
        self.reader.sig_read_done.connect(self._on_read_done, q)
        self.reader.sig_read_failed.connect(self._on_read_failed, q)
        self.jobs.sig_job_progressed.connect(self._on_job_progressed, q)
        self.jobs.sig_job_finished.connect(self._on_job_finished, q)
        self.jobs.sig_job_failed.connect(self._on_job_failed, q)
        self.jobs.sig_job_cancelled.connect(self._on_job_cancelled, q)

    # ------------------------------------------------------------ data
    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Training data", "", "Tables (*.csv *.parquet *.pq);;All files (*)"
        )
        if path:
            self.load_data(path)

    def _on_data_edited(self) -> None:
        path = self.data_edit.text().strip()
        if path and path != getattr(self, "_loaded_path", None):
            self.load_data(path)

    def load_data(self, path: str) -> None:
        """Show ``path`` in the preview (read in the background)."""
        self._loaded_path = path
        self.data_edit.setText(path)
        self.preview_label.setText(f"Reading {Path(path).name}…")
        if not self.name_edit.text().strip():
            from modelward.ui.tasks import model_name_for

            self.name_edit.setText(model_name_for(Path(path)))
        self.reader.submit("preview", load_preview, path)

    def _on_read_done(self, channel: str, token: int, result: Any) -> None:
        if not self.reader.is_current(channel, token):
            return
        if channel == "preview":
            self._show_preview(result)
        elif channel == "estimators":
            self._tasks = {t: list(names) for t, names in result.items()}
            self._fill_estimators()
        elif channel == "check" and self._pending is not None:
            recipe, name = self._pending
            self._pending = None
            self._submit(recipe, name)

    def _on_read_failed(self, channel: str, token: int, message: str) -> None:
        if channel == "preview":
            self.preview_label.setText("")
            self.show_error(message)
        elif channel == "check":
            self._pending = None
            self._set_running(False)
            self.show_error(message)
            self.sig_training_failed.emit(message)

    def _show_preview(self, df: Any) -> None:
        self.columns = [str(c) for c in df.columns]
        self.id_like = {str(c) for c in df.columns if is_id_like(str(c), df[c])}
        self._target_tasks = {str(c): target_task(df[c]) for c in df.columns}
        t = self.preview_table
        t.clear()
        t.setColumnCount(len(self.columns))
        t.setRowCount(len(df))
        t.setHorizontalHeaderLabels(self.columns)
        words = df.attrs.get("words", {})  # a CSV's yes/no column, as the file says it
        for c, col in enumerate(df.columns):
            values = df[col].tolist()
            said = words.get(col)
            for r, v in enumerate(values):
                text = "" if v is None or v != v else str(v)
                if said is not None and r < len(said) and said[r] is not None:
                    text = str(said[r])
                it = QTableWidgetItem(text)
                if isinstance(v, int | float) and said is None:
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(r, c, it)
        t.resizeColumnsToContents()
        for c in range(t.columnCount()):
            t.setColumnWidth(c, min(t.columnWidth(c) + 12, 220))
        self.preview_label.setText(
            f"Preview: first {len(df)} rows · {len(self.columns)} columns of "
            f"{Path(self.data_edit.text()).name}"
        )
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        self.target_combo.addItems(self.columns)
        self.target_combo.setCurrentText(_default_target(self.columns))
        self.target_combo.blockSignals(False)
        self._fresh_features = True
        self.time_combo.clear()
        dates = [str(c) for c in df.columns if "datetime" in str(df[c].dtype)]
        self.time_combo.addItems(dates + [c for c in self.columns if c not in dates])
        self.time_combo.setCurrentIndex(0 if dates else -1)  # no guess without a date column
        self._update_features()
        self.show_error("")
        self.sig_preview_loaded.emit(len(self.columns))

    def _update_features(self, *_a: object) -> None:
        if getattr(self, "_fresh_features", False):
            unchecked = set(self.id_like)  # a new file: id-like columns start unchecked
            self._confirmed_ids = set()
            self._fresh_features = False
        else:
            unchecked = {
                self.features_list.item(i).data(COLUMN_ROLE)
                for i in range(self.features_list.count())
                if self.features_list.item(i).checkState() == Qt.CheckState.Unchecked
            }
        target = self.target_combo.currentText()
        self._filling_features = True
        self.features_list.clear()
        for c in self.columns:
            if c == target:
                continue
            it = QListWidgetItem(c + (ID_MARK if c in self.id_like else ""))
            it.setData(COLUMN_ROLE, c)
            if c in self.id_like:
                it.setToolTip("Looks like a row id (unique per row): left out unless you tick it")
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Unchecked if c in unchecked else Qt.CheckState.Checked)
            self.features_list.addItem(it)
        self._filling_features = False
        self.task = self._target_tasks.get(target, "")
        self._fill_estimators()

    def _on_feature_changed(self, item: QListWidgetItem) -> None:
        """Ticking an id-like column asks first: a model that learns ids only memorises rows."""
        column = str(item.data(COLUMN_ROLE))
        if (
            self._filling_features
            or column not in self.id_like
            or column in self._confirmed_ids
            or item.checkState() != Qt.CheckState.Checked
        ):
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Use an id-like column?",
            f"“{column}” looks like a row id (unique per row). A model that learns from it "
            "only memorises the rows it was trained on and does worse on new ones.\n\n"
            "Use it as a feature anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText("Use it")
        box.button(QMessageBox.StandardButton.No).setText("Leave it out")

        def answered(_result: int) -> None:
            if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
                self._confirmed_ids.add(column)
            else:
                self.set_feature_checked(column, False)
            self.id_confirm = None

        box.finished.connect(answered)
        self.id_confirm = box
        box.open()

    def offered_estimators(self) -> list[str]:
        """The estimators the combo lists for the current target."""
        return [self.estimator_combo.itemText(i) for i in range(self.estimator_combo.count())]

    def _fill_estimators(self) -> None:
        """List the estimators that fit the target (a 0/1 target gets no regressor)."""
        tasks = [self.task] if self.task else [CLASSIFICATION, REGRESSION]
        names = [n for t in tasks for n in self._tasks.get(t, [])]
        common = [n for n in COMMON_ESTIMATORS if n in names]
        names = common + sorted(n for n in names if n not in common)
        current = self.estimator_combo.currentText()
        self.estimator_combo.blockSignals(True)
        self.estimator_combo.clear()
        self.estimator_combo.addItems(names)
        keep = current if current in names or current not in self._all_names() else ""
        self.estimator_combo.setCurrentText(keep or (names[0] if names else ""))
        self.estimator_combo.blockSignals(False)
        target = self.target_combo.currentText()
        self.task_label.setText(
            {
                CLASSIFICATION: f"{target} has two values (or labels): classifiers only",
                REGRESSION: f"{target} is continuous: regressors only",
            }.get(self.task, "")
        )

    def _all_names(self) -> set[str]:
        return {n for names in self._tasks.values() for n in names} | set(COMMON_ESTIMATORS)

    def _update_split_fields(self, *_a: object) -> None:
        kind = self.split_combo.currentText()
        self.test_size_spin.setEnabled(kind in ("holdout", "time"))
        self.folds_spin.setEnabled(kind != "holdout")
        self.folds_spin.setMinimum(1 if kind == "time" else 2)
        self.time_combo.setEnabled(kind == "time")
        self.search_iter.setEnabled(self.search_kind.currentText() == "random")

    # ------------------------------------------------------------ recipe
    def set_feature_checked(self, column: str, checked: bool) -> None:
        for i in range(self.features_list.count()):
            it = self.features_list.item(i)
            if it.data(COLUMN_ROLE) == column:
                it.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def recipe(self) -> Recipe:
        """The recipe the fields describe; :class:`InvalidInput` names what is missing."""
        data = self.data_edit.text().strip()
        if not data:
            raise InvalidInput("choose a CSV or Parquet file to train on")
        if not self.columns:
            raise InvalidInput(f"the data {Path(data).name} has not been read yet")
        target = self.target_combo.currentText()
        if not target:
            raise InvalidInput("choose the target column")
        items = [self.features_list.item(i) for i in range(self.features_list.count())]
        features = [
            str(it.data(COLUMN_ROLE)) for it in items if it.checkState() == Qt.CheckState.Checked
        ]
        kind = self.split_combo.currentText()
        time_col = self.time_combo.currentText() if kind == "time" else None
        features = [f for f in features if f != time_col]
        if not features:
            raise InvalidInput("check at least one feature column")
        # All checked means "every column", so the recipe stays valid for new columns.
        all_checked = len(features) == len([it for it in items if it.data(COLUMN_ROLE) != time_col])
        if self.id_confirm is not None:
            raise InvalidInput("answer whether to use the id-like column first")
        estimator = self.estimator_combo.currentText().strip()
        if not estimator:
            raise InvalidInput("choose an estimator")
        # One builder for the CLI and this dialog (core.compute.recipe.recipe_from_fields).
        return recipe_from_fields(
            data,
            target,
            estimator,
            params=self.params_edit.toPlainText().splitlines(),
            features=() if all_checked else features,
            split=kind,
            test_size=round(self.test_size_spin.value(), 4),
            folds=self.folds_spin.value(),
            time_column=time_col,
            search=self.search_kind.currentText() if self.search_box.isChecked() else None,
            search_space=self.space_edit.toPlainText().splitlines(),
            n_iter=self.search_iter.value(),
            search_folds=self.search_folds.value(),
            seed=self.seed_spin.value(),
            # A ticked id-like column was confirmed: training keeps it.
            keep_id_columns=any(f in self.id_like for f in features),
        )

    def start(self) -> None:
        """Check the inputs (cheap ones here, the recipe in the background), then train."""
        if self.job_id is not None or self._pending is not None:
            return
        try:
            recipe = self.recipe()
            name = self.name_edit.text().strip()
            if not name:
                raise InvalidInput("give the model a name")
        except ModelWardError as e:
            self.show_error(str(e))
            self.sig_training_failed.emit(str(e))
            return
        self.show_error("")
        self._pending = (recipe, name)
        self._set_running(True)
        self.status_label.setText("Checking the recipe…")
        self.reader.submit("check", check_recipe, recipe, name)

    def _submit(self, recipe: Recipe, name: str) -> None:
        request = {
            "kind": "train",
            "registry": str(self.registry.home),
            "actor": self.registry.actor,
            "busy_timeout": self.registry.busy_timeout,
            "recipe": recipe.to_json(),
            "name": name,
            "n_jobs": -1 if self.n_jobs_check.isChecked() else 1,
        }
        buffer = ScoreBuffer()
        self.chart.watch(buffer)
        self.result = None
        self.job_id = self.jobs.submit(
            JobKind.TRAIN,
            f"Train {name} ({recipe.estimator}, {recipe.split.kind})",
            worker_job,
            request,
            buffer,
        )
        self.status_label.setText("Starting the training worker…")
        self.sig_training_started.emit(self.job_id)

    def cancel(self) -> None:
        if self.job_id is not None:
            self.jobs.runner.cancel(self.job_id)
            self.status_label.setText("Cancelling after the current fold…")

    # ------------------------------------------------------------ job events
    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        if running:
            self.progress.setValue(0)

    def _on_job_progressed(self, job_id: int, fraction: float, status: str) -> None:
        if job_id == self.job_id:
            self.progress.setValue(int(fraction * 1000))
            if status:
                self.status_label.setText(status)

    def _end(self, text: str) -> None:
        self.chart.stop()
        self.job_id = None
        self._set_running(False)
        self.status_label.setText(text)

    def _on_job_finished(self, job_id: int, result: Any) -> None:
        if job_id != self.job_id:
            return
        self.result = result
        metrics = result.get("metrics") or {}
        shown = [
            k for k in ("roc_auc", "balanced_accuracy", "accuracy", "r2", "rmse") if k in metrics
        ]
        summary = "  ".join(f"{k} {metrics[k]:.3f}" for k in shown[:3])
        self._end(f"Registered {result.get('ref')} · {summary}")
        self.sig_training_finished.emit(result)

    def _on_job_failed(self, job_id: int, message: str) -> None:
        if job_id != self.job_id:
            return
        self._end("Training failed; no version was registered")
        self.show_error(message)
        self.sig_training_failed.emit(message)

    def _on_job_cancelled(self, job_id: int) -> None:
        if job_id != self.job_id:
            return
        self._end("Training cancelled; no version was registered")
        self.sig_training_failed.emit("cancelled")

    def show_error(self, message: str) -> None:
        self.error_label.setText(f"⚠ {message}" if message else "")
        self.error_label.setVisible(bool(message))

    def done(self, r: int) -> None:
        # A running job goes on (the jobs panel shows it); only our reader stops.
        self.chart.stop()
        self.reader.shutdown(1.0)
        super().done(r)
