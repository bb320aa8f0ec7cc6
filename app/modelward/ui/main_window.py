"""The main window: navigation, registry browser, model page, jobs, audit, status bar."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from modelward import __version__
from modelward.core import query
from modelward.core.domain import AuditReport
from modelward.core.jobs import JobKind, JobState
from modelward.core.registry import Registry
from modelward.core.settings import Settings, save_settings
from modelward.core.watch import MODELS, WatchedFolder
from modelward.core.watch.folders import display_name
from modelward.ui import tasks
from modelward.ui.actions import Ids, build_actions, update_enabled
from modelward.ui.bridge import JobBridge, Reader, WatchBridge, freeze_long_lived, warm_sandbox
from modelward.ui.controllers.evidence import EvidenceController
from modelward.ui.controllers.policies import PolicyController
from modelward.ui.controllers.policy_tasks import set_alias_or_ask
from modelward.ui.dialogs.alias import AliasDialog
from modelward.ui.dialogs.audit_event import AuditEventDialog
from modelward.ui.dialogs.compare import CompareDialog
from modelward.ui.dialogs.register import RegisterNameDialog
from modelward.ui.dialogs.settings import SettingsDialog
from modelward.ui.dialogs.watch import AddFolderDialog
from modelward.ui.models.audit_table import QtAuditTableModel
from modelward.ui.models.jobs_table import QtJobsTableModel
from modelward.ui.models.versions_table import QtVersionsTableModel
from modelward.ui.models.watch_tables import QtWatchedFoldersModel, QtWatchFeedModel
from modelward.ui.pages.audit_page import AuditPage
from modelward.ui.pages.jobs_page import JobsPage
from modelward.ui.pages.model_page import ModelPage, ModelPageData, load_model_page
from modelward.ui.pages.registry_page import RegistryPage
from modelward.ui.pages.scoring_page import install as install_scoring_page
from modelward.ui.pages.watch_page import WatchPage
from modelward.ui.pages.welcome import WelcomePage
from modelward.ui.registry_watch import RegistryFileWatcher
from modelward.ui.texts import window_text
from modelward.ui.theme import apply_theme
from modelward.ui.widgets import label

if TYPE_CHECKING:
    from modelward.core.watch import WatchEvent
    from modelward.ui.pages.monitoring_page import MonitoringPage

# The pages and dialogs that draw charts (Monitoring, Validation, Compare, Training)
# are imported where they are first built: their charts import pyqtgraph, about
# 0.4 s of the window's start (measured, issue 21), and the first page shown, the
# versions table, draws no chart.

POLL_MS = 30_000
"""A slow safety poll: other processes' writes are heard from the registry file's change
(:class:`RegistryFileWatcher`); this covers file systems that cannot be watched."""
WATCH_START_MS = 200
ARRIVAL_REFRESH_MS = 300  # arrivals within this window refresh the table once (STYLE §3.5)


class Page(enum.IntEnum):
    REGISTRY = 0
    JOBS = 1
    AUDIT = 2
    WATCH = 3
    MONITORING = 4


class RegistryView(enum.IntEnum):
    WELCOME = 0
    TABLE = 1
    MODEL = 2


class MainWindow(QMainWindow):
    """The window an analyst lives in. Every slow thing is a job or a background read."""

    sig_model_page_loaded = Signal(str)
    """model name: the model page shows fresh data."""
    sig_compare_many_opened = Signal(object)
    """the :class:`CompareManyPage` just opened in its own window."""
    sig_registry_changed = Signal(int)
    """audit head: the registry changed (here or in another process)."""
    sig_watch_event_shown = Signal(str)
    """event kind: an arrival (or a folder change) was added to the watch feed."""

    def __init__(
        self,
        registry: Registry,
        settings: Settings | None = None,
        *,
        save_settings_on_change: bool = True,
        watch_settle: float = 1.0,
        watch_rescan: float = 10.0,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.registry = registry
        self.settings = settings or Settings()
        self._save_settings = save_settings_on_change
        self.setWindowTitle(f"ModelWard — {registry.home}")
        self.setAcceptDrops(True)
        self.setMinimumSize(720, 480)
        self.reader = Reader(self)
        self.jobs = JobBridge(self.settings.max_jobs, self)
        self._head: int | None = None
        self._poll_sig: tuple[object, ...] | None = None
        self._model_name: str | None = None
        self._model_select: int | None = None
        self._closed = False
        self._job_actions: dict[int, str] = {}
        self._own_writers: set[int] = set()  # jobs whose worker has the registry file
        self._poll_deferred = False

        self.versions_model = QtVersionsTableModel(registry, self.reader, self)
        self.versions_model.metric_columns = self.settings.key_metric_columns
        self.audit_model = QtAuditTableModel(registry, self.reader, self)
        self.jobs_model = QtJobsTableModel(self.jobs, self)
        # The watcher's data inboxes start policy work on the window's job runner,
        # so it shows in Jobs like everything else.
        self.watch = WatchBridge(
            registry,
            self,
            runner=self.jobs.runner,
            settle=watch_settle,
            rescan_interval=watch_rescan,
        )
        self.watch_folders_model = QtWatchedFoldersModel(self.watch, self)
        self.watch_feed_model = QtWatchFeedModel(self)

        self._build_ui()
        # Alerts, approvals and policies (pages, the policy loop); reports, bundles, backup.
        self.policies = PolicyController(self)
        self.evidence = EvidenceController(self)
        self.scoring = install_scoring_page(self)  # the Scoring page, after the others
        self._build_actions()
        self._connect()
        self._restore_layout()
        self._update_jobs_status()
        self.registry_page.apply_search()
        self.audit_model.set_spec(query.audit_filter())
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self._poll)
        self._poll_timer.start()
        self.registry_watcher = RegistryFileWatcher(registry.db_path, self)
        self.registry_watcher.sig_changed.connect(self._poll)
        QTimer.singleShot(0, self._poll)  # the current head, as soon as the loop runs
        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(1000)
        self._tick_timer.timeout.connect(self._on_tick)
        self._tick_timer.start()
        self._arrival_timer = QTimer(self)
        self._arrival_timer.setSingleShot(True)
        self._arrival_timer.setInterval(ARRIVAL_REFRESH_MS)
        self._arrival_timer.timeout.connect(self.refresh_all)
        # Folders kept in the settings by older versions move into the registry once.
        legacy = list(self.settings.watched_folders)
        # Started once the event loop runs, so its reads don't delay the first page.
        QTimer.singleShot(WATCH_START_MS, lambda: self.watch.start(legacy))
        if legacy:
            self.apply_settings(self.settings.replace(watched_folders=[]))

    # ------------------------------------------------------------ building
    def _build_ui(self) -> None:
        central = QWidget()
        root = QHBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        nav = QWidget()
        nav.setObjectName("NavBar")
        nav.setFixedWidth(196)
        nl = QVBoxLayout(nav)
        nl.setContentsMargins(0, 0, 0, 10)
        nl.setSpacing(0)
        nl.addWidget(label("ModelWard", "AppTitle"))
        nl.addWidget(label(f"Model registry · {__version__}", "AppSubtitle"))
        self.nav = QListWidget()
        self.nav.setObjectName("Nav")
        for text in ("Registry", "Jobs", "Audit trail", "Watched folders", "Monitoring"):
            item = QListWidgetItem(text)
            item.setSizeHint(QSize(0, 34))
            self.nav.addItem(item)
        nl.addWidget(self.nav, 1)
        self.settings_button = QPushButton("Settings")
        self.settings_button.setToolTip("Theme, registry location, key metric columns (Ctrl+,)")
        sb = QHBoxLayout()
        sb.setContentsMargins(10, 0, 10, 0)
        sb.addWidget(self.settings_button)
        nl.addLayout(sb)
        root.addWidget(nav)

        self.pages = QStackedWidget()
        self.registry_stack = QStackedWidget()
        self.welcome_page = WelcomePage(str(self.registry.home))
        self.registry_page = RegistryPage(self.versions_model)
        self.model_page = ModelPage()
        for w in (self.welcome_page, self.registry_page, self.model_page):
            self.registry_stack.addWidget(w)
        self.registry_stack.setCurrentIndex(RegistryView.TABLE)
        self.jobs_page = JobsPage(self.jobs, self.jobs_model)
        self.audit_page = AuditPage(self.audit_model)
        self.watch_page = WatchPage(self.watch_folders_model, self.watch_feed_model)
        # The Monitoring page is built when first wanted (see monitoring_page);
        # until then an empty widget keeps its place in the stack.
        self._monitoring_page: MonitoringPage | None = None
        self._monitoring_slot = QWidget()
        for w in (
            self.registry_stack,
            self.jobs_page,
            self.audit_page,
            self.watch_page,
            self._monitoring_slot,
        ):
            self.pages.addWidget(w)
        root.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.nav.setCurrentRow(Page.REGISTRY)

        self.drop_overlay = QLabel("Drop model files or a folder to register them", self)
        self.drop_overlay.setObjectName("DropOverlay")
        self.drop_overlay.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_overlay.setStyleSheet("font-size: 18px; font-weight: 600;")
        self.drop_overlay.hide()

        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        self.status_label = QLabel("Opening the registry…")
        bar.addWidget(self.status_label, 1)
        self.jobs_label = QLabel("")
        self.jobs_progress = QProgressBar()
        self.jobs_progress.setRange(0, 1000)
        self.jobs_progress.setFixedWidth(140)
        self.jobs_progress.setTextVisible(False)
        self.jobs_progress.hide()
        bar.addPermanentWidget(self.jobs_label)
        bar.addPermanentWidget(self.jobs_progress)

    def _build_actions(self) -> None:
        self.acts = build_actions(self)
        self.evidence.set_menu_actions([self.acts[i] for i in (Ids.REPORT, Ids.EXPORT, Ids.IMPORT)])
        self.policies.policy_button.clicked.connect(self.acts[Ids.POLICY].trigger)
        self.model_page.add_head_widgets(self.policies.policy_button, self.evidence.evidence_button)
        self.update_actions()

    def update_actions(self) -> None:
        """Enable the actions whose rule depends on what the window shows."""
        update_enabled(self, self.acts)

    def _connect(self) -> None:
        q = Qt.ConnectionType.QueuedConnection
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        # Buttons trigger the same actions as the menus and shortcuts.
        acts = self.acts
        self.settings_button.clicked.connect(acts[Ids.SETTINGS].trigger)
        self.welcome_page.sig_demo_requested.connect(acts[Ids.DEMO].trigger)
        self.registry_page.compare_button.clicked.connect(acts[Ids.COMPARE_SELECTED].trigger)
        self.welcome_page.sig_register_requested.connect(acts[Ids.REGISTER].trigger)
        self.welcome_page.sig_watch_requested.connect(acts[Ids.WATCH].trigger)
        self.registry_page.register_button.clicked.connect(acts[Ids.REGISTER].trigger)
        self.policies.alerts_button.clicked.connect(acts[Ids.PAGE_ALERTS].trigger)
        self.registry_page.sig_version_activated.connect(self._on_version_activated)
        self.model_page.sig_back_requested.connect(self.show_table)
        self.model_page.sig_set_alias_requested.connect(self.open_alias_dialog)
        self.model_page.sig_compare_requested.connect(self.compare)
        self.model_page.sig_compare_many_requested.connect(self.compare_many)
        self.model_page.sig_monitor_requested.connect(self.open_monitoring)
        self.nav.currentRowChanged.connect(self._on_page_changed)
        self.audit_page.sig_verify_requested.connect(acts[Ids.VERIFY].trigger)
        self.audit_page.sig_event_requested.connect(self.open_audit_event)
        self.audit_page.sig_export_requested.connect(self.export_audit)
        self.watch_page.sig_add_requested.connect(self.open_add_folder_dialog)
        self.watch.sig_watch_event.connect(self._on_watch_event, q)
        self.watch.sig_folders_changed.connect(self._on_watch_folders_changed, q)
        self.watch.sig_watch_failed.connect(self._on_watch_failed, q)
        self.versions_model.sig_loaded.connect(self._on_versions_loaded)
        self.reader.sig_read_done.connect(self._on_read_done, q)
        self.reader.sig_read_failed.connect(self._on_read_failed, q)
        for sig in (
            self.jobs.sig_job_started,
            self.jobs.sig_job_cancelled,
            self.jobs.sig_job_submitted,
        ):
            sig.connect(self._update_jobs_status, q)
        self.jobs.sig_job_cancelled.connect(self._release_reads, q)
        self.jobs.sig_job_progressed.connect(lambda *_: self._update_jobs_status(), q)
        self.jobs.sig_job_finished.connect(self._on_job_finished, q)
        self.jobs.sig_job_failed.connect(self._on_job_failed, q)

    @property
    def monitoring_page(self) -> MonitoringPage:
        """The Monitoring page, built the first time it is wanted (shown, opened, asked for).

        Its six charts import pyqtgraph (about 0.4 s, measured), which the
        window's first paint does not need.
        """
        if self._monitoring_page is None:
            from modelward.ui.pages.monitoring_page import MonitoringPage  # pyqtgraph: see above

            page = MonitoringPage(self.registry, self.jobs)
            page.sig_back_requested.connect(self._on_monitoring_back)
            current = self.pages.currentIndex()
            slot = self._monitoring_slot
            self.pages.insertWidget(Page.MONITORING, page)
            self.pages.removeWidget(slot)
            slot.deleteLater()
            self.pages.setCurrentIndex(current)
            self._monitoring_page = page
        return self._monitoring_page

    # ------------------------------------------------------------ layout persistence
    def _qsettings(self) -> QSettings:
        return QSettings("ModelWard", "ModelWard")

    def _restore_layout(self) -> None:
        qs = self._qsettings()
        geom = qs.value("window/geometry")
        if isinstance(geom, QByteArray) and not geom.isEmpty():
            self.restoreGeometry(geom)
        else:
            self.resize(1240, 780)
        state = qs.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        page = qs.value("window/page", 0)
        try:
            self.nav.setCurrentRow(int(page))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            pass

    def _save_layout(self) -> None:
        qs = self._qsettings()
        qs.setValue("window/geometry", self.saveGeometry())
        qs.setValue("window/state", self.saveState())
        qs.setValue("window/page", self.nav.currentRow())
        qs.sync()

    # ------------------------------------------------------------ navigation
    def show_page(self, page: Page | int) -> None:
        self.nav.setCurrentRow(int(page))

    def current_page(self) -> int:
        """The row of the page shown (a :class:`Page`, or a page a controller added)."""
        return self.nav.currentRow()

    def show_registry(self) -> None:
        self.show_page(Page.REGISTRY)

    def show_jobs(self) -> None:
        self.show_page(Page.JOBS)

    def show_audit(self) -> None:
        self.show_page(Page.AUDIT)

    def show_watch(self) -> None:
        self.show_page(Page.WATCH)

    def show_monitoring(self) -> None:
        self.show_page(Page.MONITORING)

    def is_model_page_shown(self) -> bool:
        return (
            self.pages.currentIndex() == Page.REGISTRY
            and self.registry_stack.currentIndex() == RegistryView.MODEL
        )

    def open_monitoring(self, ref: str = "") -> None:
        """Show the monitoring page of ``ref`` (or of the first monitored version), kept live."""
        self.show_page(Page.MONITORING)
        self.monitoring_page.show_version(ref)

    def _on_page_changed(self, row: int) -> None:
        self.update_actions()
        if row == Page.MONITORING and not self.monitoring_page.ref:
            self.monitoring_page.show_version()

    def _on_monitoring_back(self) -> None:
        ref = self.monitoring_page.ref
        name = ref.split("@")[0].rpartition(":")[0] if ":" in ref else ref.split("@")[0]
        if name:
            self.open_model(name)
        else:
            self.show_table()

    def show_table(self) -> None:
        self.show_page(Page.REGISTRY)
        self._model_name = None
        empty = self.versions_model.rowCount() == 0 and not (
            self.versions_model.spec and self.versions_model.spec.filter
        )
        if empty and not self.versions_model.loading:
            self.registry_stack.setCurrentIndex(RegistryView.WELCOME)
        else:
            self.registry_stack.setCurrentIndex(RegistryView.TABLE)
        self.update_actions()

    def focus_search(self) -> None:
        self.show_table()
        self.registry_page.search.setFocus()
        self.registry_page.search.selectAll()

    def open_model(self, name: str, version: int | None = None) -> None:
        """Show the model page of ``name`` (data is read in the background)."""
        self.show_page(Page.REGISTRY)
        self._model_name = name
        self._model_select = version
        self.model_page.show_loading(name)
        self.registry_stack.setCurrentIndex(RegistryView.MODEL)
        self.update_actions()
        self.reader.submit("model-page", load_model_page, self.registry, name)

    def _on_version_activated(self, ref: str) -> None:
        name, _, ver = ref.rpartition(":")
        self.open_model(name, int(ver))

    def refresh_all(self) -> None:
        self.versions_model.refresh()
        self.audit_model.refresh()
        if self._model_name and self.registry_stack.currentIndex() == RegistryView.MODEL:
            self.reader.submit("model-page", load_model_page, self.registry, self._model_name)

    # ------------------------------------------------------------ background reads
    def _poll(self) -> None:
        if self._own_writers:
            self._poll_deferred = True
            return
        self.reader.submit("poll", tasks.poll_changes, self.registry, self._poll_sig)

    def _on_read_done(self, channel: str, token: int, result: Any) -> None:
        if not self.reader.is_current(channel, token):
            return
        if channel == "poll":
            if self._own_writers:
                # A poll sent before the window's worker started: read again at its end.
                self._poll_deferred = True
                return
            self._poll_sig, head = result
            if head is not None and head != self._head:
                first = self._head is None
                self._head = head
                if not first:
                    self.refresh_all()
                self.sig_registry_changed.emit(head)
        elif channel == "model-page":
            data: ModelPageData = result
            if data.name == self._model_name:
                self.model_page.set_data(data, self._model_select)
                self._model_select = None
                self.update_actions()
                self.sig_model_page_loaded.emit(data.name)
        elif channel == "audit-event":
            dlg = AuditEventDialog(result, self)
            dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dlg.open()
        elif channel == "compare-many":
            from modelward.ui.pages.compare_many_page import CompareManyPage  # pyqtgraph
            from modelward.ui.pages.validation_page import open_in_window

            page = CompareManyPage(self.registry, self.jobs, result)
            n = len(result.versions)
            open_in_window(page, f"Compare {n} versions", self)
            self.sig_compare_many_opened.emit(page)
        elif channel == "compare":
            a, b = result
            dlg = CompareDialog(a, b, self)
            dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dlg.open()

    def _on_read_failed(self, channel: str, token: int, message: str) -> None:
        if channel == "model-page":
            self.model_page.subtitle.setText(message)
        elif channel != "poll":
            self.notify(message, error=True)
        # A failed poll (registry busy in another process) is retried at the next tick.

    def _on_versions_loaded(self, n: int, seconds: float) -> None:
        spec = self.versions_model.spec
        filtered = bool(spec and spec.filter)
        view = self.registry_stack.currentIndex()
        if n == 0 and not filtered and view == RegistryView.TABLE:
            self.registry_stack.setCurrentIndex(RegistryView.WELCOME)
        elif n > 0 and view == RegistryView.WELCOME:
            self.registry_stack.setCurrentIndex(RegistryView.TABLE)
        total = "" if filtered else f"{n:,} version{'' if n == 1 else 's'} · "
        self.status_label.setText(f"{total}{self.registry.home}")

    # ------------------------------------------------------------ jobs
    def submit_job(self, kind: str, title: str, fn: Any, *args: Any, action: str = "") -> int:
        """Queue a job on the window's runner (it shows in Jobs); returns its id."""
        job_id = self.jobs.submit(kind, title, fn, *args)
        if action:
            self._job_actions[job_id] = action
        self.jobs_page.follow(job_id)
        self._update_jobs_status()
        return job_id

    def register_files(self, paths: list[str], name: str | None = None) -> int:
        """Register files or folders as one job; returns the job id."""
        paths = [str(p) for p in paths]
        what = Path(paths[0]).name if len(paths) == 1 else f"{len(paths)} items"
        title = f"Register {what}" + (f" as {name}" if name else "")
        return self.submit_job(
            JobKind.REGISTER, title, tasks.register_paths, self.registry, paths, name
        )

    def set_alias(self, ref: str, alias: str, reason: str) -> int:
        return self.submit_job(
            JobKind.OTHER,
            f"Set {alias} → {ref}",
            set_alias_or_ask,  # four-eyes refusals come back as ApprovalNeeded
            self.registry,
            ref,
            alias,
            reason,
        )

    def create_demo(self) -> int:
        job_id = self.submit_job(
            JobKind.DEMO, "Create demo workspace", tasks.create_demo, self.registry
        )
        self.hold_reads_for(job_id)
        return job_id

    def hold_reads_for(self, job_id: int) -> None:
        """Leave the registry file to job ``job_id``'s worker until that job ends.

        A worker that writes step after step (the demo workspace) would
        otherwise hand the file back and forth with this window's change
        polls: each change it writes makes the window open the file to read
        the audit head, and the worker then waits for the window to let go.
        Changes seen meanwhile are read once, when the job ends.
        """
        self._own_writers.add(job_id)

    def has_own_writers(self) -> bool:
        """Whether a worker of this window has the registry file (any thread may ask)."""
        return bool(self._own_writers)

    def reads_held(self) -> bool:
        """Whether a worker of this window has the registry file (reads wait for its end).

        Change-driven reads (polls, the policies' refresh) are dropped meanwhile;
        at the end of that job every table is read again once.
        """
        if self._own_writers:
            self._poll_deferred = True
            return True
        return False

    def _release_reads(self, job_id: int) -> None:
        if job_id in self._own_writers:
            self._own_writers.discard(job_id)
            if not self._own_writers:
                self._poll_deferred = False
                self.refresh_all()  # what the worker wrote, in every table at once
                self.policies.refresh()
                self.policies.service.resume()
                self._poll()

    def verify_chain(self) -> int:
        self.show_page(Page.AUDIT)
        self.audit_page.show_verifying()
        return self.submit_job(
            JobKind.VERIFY, "Verify audit chain", tasks.verify_audit, self.registry, action="verify"
        )

    def open_audit_event(self, seq: int) -> None:
        """Show audit event ``seq`` in full (read in the background)."""
        self.reader.submit("audit-event", self.registry.audit_event, seq)

    def export_audit(self, path: str) -> int:
        """Export the whole audit trail (CSV or JSON, with its hashes) as a job."""
        return self.submit_job(
            JobKind.OTHER,
            f"Export the audit trail to {Path(path).name}",
            tasks.export_audit,
            self.registry,
            path,
        )

    def compare(self, ref_a: str, ref_b: str) -> None:
        self.reader.submit("compare", tasks.load_versions, self.registry, [ref_a, ref_b])

    def selected_refs(self) -> list[str]:
        """The versions selected where the user is: the model page's, else the registry's."""
        if self.is_model_page_shown():
            return [v.ref for v in self.model_page.selected_versions()]
        return self.registry_page.selected_refs()

    def compare_selected(self) -> bool:
        """Compare the selected versions side by side (two or more); False when fewer."""
        refs = self.selected_refs()
        if len(refs) < 2:
            self.notify("Select two or more versions to compare (Ctrl+click or Shift+click)")
            return False
        self.compare_many(refs)
        return True

    def compare_many(self, refs: list[str]) -> None:
        """Open the side-by-side comparison of ``refs`` (read in the background)."""
        self.reader.submit("compare-many", tasks.load_compare_set, self.registry, refs)

    def _on_job_finished(self, job_id: int, result: Any) -> None:
        self._release_reads(job_id)
        action = self._job_actions.pop(job_id, "")
        if action == "verify" and isinstance(result, AuditReport):
            self.audit_page.show_report(result)
        if isinstance(result, tasks.RegisterSummary):
            msg = f"Registered {', '.join(result.registered[:3])}" + (
                "…" if len(result.registered) > 3 else ""
            )
            if result.failed:
                msg += f"; {len(result.failed)} rejected (see Jobs)"
            self.notify(msg, error=bool(result.failed))
        elif isinstance(result, str):
            self.notify(result)
        self._update_jobs_status()
        self.refresh_all()

    def _on_job_failed(self, job_id: int, message: str) -> None:
        self._release_reads(job_id)
        if self._job_actions.pop(job_id, "") == "verify":
            self.audit_page.show_report(None, message)
        self.notify(message, error=True)
        self._update_jobs_status()

    def notify(self, text: str, *, error: bool = False) -> None:
        self.statusBar().showMessage(
            ("⚠ " if error else "") + window_text(text), 10_000 if error else 6000
        )

    def _update_jobs_status(self, *_a: object) -> None:
        active = self.jobs.runner.active()
        running = [j for j in active if j.state is JobState.RUNNING]
        if not active:
            self.jobs_label.setText("No jobs running")
            self.jobs_progress.hide()
            return
        j = running[0] if running else active[0]
        more = f" (+{len(active) - 1} more)" if len(active) > 1 else ""
        self.jobs_label.setText(f"{j.title}: {j.status}{more}")
        self.jobs_progress.setValue(int(j.progress * 1000))
        self.jobs_progress.show()

    def _on_tick(self) -> None:
        freeze_long_lived()
        if self.pages.currentIndex() == Page.JOBS:
            self.jobs_page.tick()
        elif self.pages.currentIndex() == Page.WATCH:
            self.watch_folders_model.update_status()

    # ------------------------------------------------------------ watched folders
    def _on_watch_event(self, event: WatchEvent) -> None:
        shown = self.watch_feed_model.add_event(event)
        self.watch_folders_model.note_event(event)
        if event.kind == "ingested":
            self._arrival_timer.start()  # coalesce a burst of arrivals into one refresh
        elif event.kind == "rejected" and event.path:
            name = display_name(Path(event.path).name)
            self.notify(f"Rejected {name}: {display_name(event.detail)}", error=True)
        if shown:
            self.sig_watch_event_shown.emit(event.kind)

    def _on_watch_folders_changed(self, folders: list[WatchedFolder]) -> None:
        self.watch_folders_model.set_folders(folders)

    def _on_watch_failed(self, message: str) -> None:
        self.watch_page.show_error(message)
        self.notify(message, error=True)

    def open_add_folder_dialog(self, path: str = "") -> AddFolderDialog:
        dlg = AddFolderDialog(path, self, reader=self.reader, registry=self.registry)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.add_watched_folder(*dlg.values()))
        dlg.open()
        return dlg

    def add_watched_folder(
        self, path: str, kind: str = MODELS, model_name: str | None = None, polling: bool = False
    ) -> None:
        """Watch ``path`` (stored in the registry); files already there are taken too."""
        self.watch_page.show_error("")
        self.watch.add(path, kind, model_name=model_name, polling=polling)

    # ------------------------------------------------------------ training, validation, comparison
    def _known_refs(self) -> tuple[list[str], str, str]:
        """Refs of the model page's versions, the champion and the challenger (or selected).

        The champion is the version holding the ``champion`` alias (without one, the
        newest version other than the selected one). The challenger is the selected
        version; when the selected version *is* the champion, the newest other version.
        """
        data = self.model_page.data
        if data is None or data.name != self._model_name:
            return [], "", ""
        refs = [v.ref for v in data.versions]  # newest first
        sel = self.model_page.selected_versions()
        chosen = sel[0].ref if sel else (refs[0] if refs else "")
        champ = next((v.ref for v in data.versions if "champion" in v.aliases), "")
        if not champ:
            return refs, next((r for r in refs if r != chosen), ""), chosen
        if chosen == champ:
            chosen = next((r for r in refs if r != champ), "")
        return refs, champ, chosen

    def open_training_dialog(self, data: str = "", name: str = "") -> Any:
        """The training dialog (the job it starts shows in Jobs and can be cancelled there)."""
        from modelward.ui.dialogs.training import TrainingDialog  # pyqtgraph: see the imports

        dlg = TrainingDialog(
            self.registry, self.jobs, self, data=data, name=name or (self._model_name or "")
        )
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.sig_training_finished.connect(lambda r: self.notify(f"Registered {r.get('ref')}"))
        dlg.show()
        return dlg

    def open_validation(self, ref: str = "", data: str = "") -> Any:
        """A window that validates a version on labelled data (ROC, PR, calibration, …)."""
        from modelward.ui.pages.validation_page import ValidationPage, open_in_window  # pyqtgraph

        refs, _, chosen = self._known_refs()
        page = ValidationPage(
            self.registry,
            self.jobs,
            refs=refs,
            ref=ref or chosen,
            data=data,
            reader=self.reader,
        )
        return open_in_window(page, "Validate a version", self)

    def open_comparison(self, champion: str = "", challenger: str = "", data: str = "") -> Any:
        """A window that compares champion and challenger on the same data, with gates."""
        from modelward.ui.pages.compare_page import ComparePage  # pyqtgraph: see the imports
        from modelward.ui.pages.validation_page import open_in_window

        refs, champ, chosen = self._known_refs()
        page = ComparePage(
            self.registry,
            self.jobs,
            refs=refs,
            champion=champion or champ,
            challenger=challenger or chosen,
            data=data,
            reader=self.reader,
        )
        return open_in_window(page, "Champion and challenger", self)

    # ------------------------------------------------------------ dialogs
    def choose_and_register(self) -> None:
        warm_sandbox()  # while the user picks files
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Register model files",
            "",
            "Model files (*.skops *.joblib *.pkl *.pickle);;All files (*)",
        )
        if not files:
            return
        if len(files) == 1:
            self.open_register_dialog(files[0])
            return
        self.register_files(files)
        self.show_page(Page.JOBS)

    def open_register_dialog(self, path: str) -> RegisterNameDialog:
        """Ask which model ``path`` becomes a version of, then register it as a job."""
        dlg = RegisterNameDialog(
            Path(path).name,
            tasks.model_name_for(Path(path)),
            self.reader,
            self.registry,
            self,
        )
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def accepted() -> None:
            self.register_files([path], dlg.name())
            self.show_page(Page.JOBS)

        dlg.accepted.connect(accepted)
        dlg.open()
        return dlg

    def choose_watch_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Watch a folder")
        if folder:
            self.watch_folder(folder)

    def watch_folder(self, folder: str) -> None:
        """Watch ``folder`` for model files; the ones already there are registered too."""
        self.add_watched_folder(folder, MODELS)
        self.notify(
            f"Watching {display_name(folder)}: model files saved there are registered "
            "as they arrive (see Watched folders)"
        )

    def open_alias_dialog(self, name: str, version: int = 0) -> AliasDialog:
        data = self.model_page.data
        versions = [v.version for v in data.versions] if data and data.name == name else []
        current = data.aliases if data and data.name == name else {}
        dlg = AliasDialog(name, versions, current, version=version or None, parent=self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.set_alias(*dlg.values()))
        dlg.open()
        return dlg

    def open_settings(self) -> SettingsDialog:
        dlg = SettingsDialog(self.settings, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.apply_settings(dlg.result_settings()))
        dlg.open()
        return dlg

    def apply_settings(self, new: Settings) -> None:
        old, self.settings = self.settings, new
        if self._save_settings:
            try:
                save_settings(new)
            except OSError as e:
                self.notify(f"could not save the settings: {e.strerror or e}", error=True)
        if new.theme != old.theme:
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, new.theme)
        if new.key_metric_columns != old.key_metric_columns:
            self.versions_model.metric_columns = new.key_metric_columns
            self.registry_page.apply_search()
        if new.registry != old.registry:
            self.notify("The new registry location is used from the next start")

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About ModelWard",
            f"ModelWard {__version__}\nAn offline model registry and monitor for scikit-learn.\n"
            f"Registry: {self.registry.home}",
        )

    # ------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            warm_sandbox()  # the drop is a second away
            self.drop_overlay.setGeometry(
                self.centralWidget().geometry().adjusted(24, 24, -24, -24)
            )
            self.drop_overlay.raise_()
            self.drop_overlay.show()

    def dragLeaveEvent(self, event: Any) -> None:
        self.drop_overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.register_files(paths)
            self.notify(f"Registering {len(paths)} dropped item{'s' if len(paths) > 1 else ''}…")

    # ------------------------------------------------------------ shutdown
    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop in order: timers, jobs (cancel, wait), the folder watcher, reads, the registry."""
        if self._closed:
            return
        self._closed = True
        self._save_layout()
        self._poll_timer.stop()
        self.registry_watcher.stop()
        self._tick_timer.stop()
        self._arrival_timer.stop()
        self.policies.shutdown(timeout)
        self.evidence.shutdown(timeout)
        self.jobs.shutdown(timeout)
        self.watch.shutdown(timeout)
        if self._monitoring_page is not None:
            self._monitoring_page.shutdown(timeout)
        self.reader.shutdown(timeout)
        self.registry.close()
