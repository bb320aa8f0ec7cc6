"""Policies in the window: alerts (badge, tray), approvals (signed), policies, evidence actions.

:class:`PolicyCenter` plugs into the main window: it adds the Alerts,
Approvals and Policies pages to the navigation, a badge with the unread count,
a status-bar button, evidence actions (report, bundles, backup, restore) to the
model page and the File menu, and it runs the policy loop:

* policy jobs (retrain → validate → promote or ask) run on the window's
  :class:`~modelward.core.jobs.JobRunner` (``use_runner``), so they show in
  Jobs with progress, cancel and log;
* ``run_due`` (schedules, expired requests) runs on a timer on one background
  thread, as do acknowledgements (short writes that need no Jobs entry);
* views refresh when the window's poll sees the audit head move (a stat of the
  database files plus one indexed read, off the GUI thread); new alerts found
  there raise a tray message.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QWidget,
)

from modelward.core.errors import ModelWardError
from modelward.core.jobs import JobKind, lower_thread_priority
from modelward.core.policies import acknowledge_alert, acknowledge_all, use_runner
from modelward.ui.dialogs.approval import RequestApprovalDialog, SignatureDialog
from modelward.ui.dialogs.evidence import ExportDialog, ImportDialog, RestoreDialog
from modelward.ui.dialogs.evidence_tasks import (
    BundleCheck,
    EvidenceDone,
    backup_job,
    export_job,
    import_job,
    inspect_bundle,
    list_signing_keys,
    restore_job,
    write_report,
)
from modelward.ui.dialogs.policy import PolicyDialog
from modelward.ui.pages.alerts_page import AlertsPage
from modelward.ui.pages.alerts_tasks import (
    ApprovalNeeded,
    PolicySnapshot,
    decide_job,
    gates_text,
    load_snapshot,
    request_job,
    run_due_now,
    save_policy_job,
)
from modelward.ui.pages.policies_approvals import ApprovalsPage
from modelward.ui.pages.policies_page import PoliciesPage
from modelward.ui.tray import AlertTray
from modelward.ui.widgets import label

if TYPE_CHECKING:
    from modelward.ui.main_window import MainWindow

log = logging.getLogger(__name__)

DUE_MS = 60_000  # run_due: schedules and expired approval requests
SNAPSHOT = "policy-snapshot"
KEYS = "policy-signing-keys"
BADGE_STYLE = (
    "QLabel { background: #d1453b; color: white; border-radius: 9px; padding: 0 6px;"
    " font-size: 11px; font-weight: 700; min-height: 18px; }"
)


class PolicyActions:
    """Ids (objectName) of the actions this part of the window adds."""

    PAGE_ALERTS = "act_page_alerts"
    PAGE_APPROVALS = "act_page_approvals"
    PAGE_POLICIES = "act_page_policies"
    BACKUP = "act_backup"
    RESTORE = "act_restore"
    IMPORT = "act_import_bundle"
    RUN_DUE = "act_run_due"


class NavBadge(QWidget):
    """A count drawn at the right of a navigation entry (hidden at zero)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 10, 0)
        lay.addStretch(1)
        self.label = label("", "NavBadge")
        self.label.setStyleSheet(BADGE_STYLE)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.label, 0, Qt.AlignmentFlag.AlignVCenter)
        self.set_count(0)

    def set_count(self, n: int) -> None:
        self.label.setText(str(n) if n < 1000 else "999+")
        self.label.setVisible(n > 0)

    def count(self) -> int:
        return int(self.label.text() or 0) if self.label.isVisible() else 0


class PolicyCenter(QObject):
    """The window's face of ``core.policies`` and the evidence actions."""

    sig_snapshot_loaded = Signal(object)
    """a :class:`PolicySnapshot`: the alerts, approvals and policies views show fresh data."""
    sig_new_alerts = Signal(list)
    """alerts (newest first) that appeared since the last snapshot."""
    sig_background_done = Signal(int, object)
    """token, result of a background write (acknowledge, run_due)."""
    sig_background_failed = Signal(int, str)
    """token, one sentence."""
    sig_approval_needed = Signal(object)
    """an :class:`ApprovalNeeded`: an alias move was refused by four-eyes."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.registry = window.registry
        self.snapshot = PolicySnapshot()
        self._last_alert_id: int | None = None
        self._job_done: dict[int, Callable[[Any], None]] = {}
        self._job_failed: dict[int, Callable[[str], None]] = {}
        self._bg_done: dict[int, Callable[[Any], None]] = {}
        self._tokens = itertools.count(1)
        self._due: Future[Any] | None = None
        self._closed = False
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            1, thread_name_prefix="mw-policy", initializer=lower_thread_priority, initargs=(10,)
        )
        # Policy loops (from the data inbox or the timer) run as the window's jobs.
        self._prev_runner = use_runner(window.jobs.runner)
        self.tray = AlertTray(self)
        self._build_pages()
        self._build_actions()
        self._build_model_page_buttons()
        self._connect()
        self.due_timer = QTimer(self)
        self.due_timer.setInterval(DUE_MS)
        self.due_timer.timeout.connect(self.run_due)
        self.due_timer.start()

    # ------------------------------------------------------------ building
    def _add_page(self, text: str, page: QWidget) -> tuple[int, NavBadge]:
        w = self.window
        index = w.pages.addWidget(page)
        item = QListWidgetItem(text)
        item.setSizeHint(QSize(0, 34))
        w.nav.insertItem(index, item)
        badge = NavBadge()
        w.nav.setItemWidget(item, badge)
        return index, badge

    def _build_pages(self) -> None:
        self.alerts_page = AlertsPage()
        self.approvals_page = ApprovalsPage()
        self.policies_page = PoliciesPage()
        self.alerts_index, self.alerts_badge = self._add_page("Alerts", self.alerts_page)
        self.approvals_index, self.approvals_badge = self._add_page(
            "Approvals", self.approvals_page
        )
        self.policies_index, _ = self._add_page("Policies", self.policies_page)
        self.alerts_button = QPushButton("No unread alerts")
        self.alerts_button.setObjectName("AlertsButton")
        self.alerts_button.setFlat(True)
        self.alerts_button.setToolTip("Show the alerts")
        # Left of the jobs label: permanent widgets are indexed after the one normal widget.
        bar = self.window.statusBar()
        if bar.insertPermanentWidget(1, self.alerts_button) < 0:
            bar.addPermanentWidget(self.alerts_button)

    def _action(self, name: str, text: str, slot: Callable[[], Any], tip: str = "") -> QAction:
        act = QAction(text, self.window)
        act.setObjectName(name)
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(slot)
        self.window.addAction(act)
        return act

    def _menu(self, title: str) -> QMenu:
        for act in self.window.menuBar().actions():
            if act.text().replace("&", "") == title and act.menu() is not None:
                return act.menu()  # type: ignore[return-value]
        return self.window.menuBar().addMenu(title)

    def _build_actions(self) -> None:
        a = self._action
        view = self._menu("View")
        pages = [
            a(PolicyActions.PAGE_ALERTS, "A&lerts", lambda: self.show(self.alerts_index)),
            a(PolicyActions.PAGE_APPROVALS, "A&pprovals", lambda: self.show(self.approvals_index)),
            a(PolicyActions.PAGE_POLICIES, "P&olicies", lambda: self.show(self.policies_index)),
        ]
        # After the existing page entries, before Find/Refresh.
        sep = next((x for x in view.actions() if x.isSeparator()), None)
        for act in pages:
            view.insertAction(sep, act) if sep is not None else view.addAction(act)
        file_menu = self._menu("File")
        quit_act = next((x for x in file_menu.actions() if x.objectName() == "act_quit"), None)
        items = [
            a(PolicyActions.IMPORT, "&Import bundle…", self.choose_and_import),
            a(PolicyActions.BACKUP, "&Backup…", self.choose_and_backup),
            a(PolicyActions.RESTORE, "Res&tore…", self.choose_and_restore),
        ]
        anchor = None
        if quit_act is not None:
            acts = file_menu.actions()
            i = acts.index(quit_act)
            anchor = acts[i - 1] if i > 0 and acts[i - 1].isSeparator() else quit_act
        for act in items:
            file_menu.insertAction(anchor, act) if anchor else file_menu.addAction(act)
        if anchor is not None:
            file_menu.insertSeparator(anchor)
        tools = self._menu("Tools")
        tools.addAction(
            a(
                PolicyActions.RUN_DUE,
                "Run &due policy work now",
                self.run_due,
                "Expire old approval requests and fire scheduled policies",
            )
        )

    def _build_model_page_buttons(self) -> None:
        mp = self.window.model_page
        self.policy_button = QPushButton("Policy…")
        self.policy_button.setToolTip("Triggers, actions and four-eyes of this model")
        self.evidence_button = QPushButton("Evidence ▾")
        menu = QMenu(self.evidence_button)
        self.report_action = menu.addAction("Report… (HTML or PDF)", self.choose_and_report)
        self.export_action = menu.addAction("Export bundle…", self.choose_and_export)
        self.import_action = menu.addAction("Import bundle…", self.choose_and_import)
        self.evidence_button.setMenu(menu)
        head = None
        outer = mp.layout()
        for i in range(outer.count()):
            sub = outer.itemAt(i).layout()
            if sub is not None and sub.indexOf(mp.compare_button) >= 0:
                head = sub
        if head is not None:
            at = head.indexOf(mp.compare_button)
            head.insertWidget(at, self.evidence_button)
            head.insertWidget(at, self.policy_button)

    def _connect(self) -> None:
        q = Qt.ConnectionType.QueuedConnection
        w = self.window
        w.sig_registry_changed.connect(lambda _head: self.refresh())
        w.reader.sig_read_done.connect(self._on_read_done, q)
        w.jobs.sig_job_finished.connect(self._on_job_finished, q)
        w.jobs.sig_job_failed.connect(self._on_job_failed, q)
        w.jobs.sig_job_cancelled.connect(self._on_job_cancelled, q)
        self.sig_background_done.connect(self._on_background_done, q)
        self.sig_background_failed.connect(self._on_background_failed, q)
        self.alerts_button.clicked.connect(lambda: self.show(self.alerts_index))
        self.tray.sig_activated.connect(self._on_tray_activated)
        self.alerts_page.sig_acknowledge_requested.connect(self.acknowledge)
        self.alerts_page.sig_acknowledge_all_requested.connect(self.acknowledge_all)
        self.alerts_page.sig_open_model_requested.connect(w.open_model)
        self.approvals_page.sig_decision_requested.connect(self.open_signature_dialog)
        self.approvals_page.sig_open_model_requested.connect(w.open_model)
        self.policies_page.sig_edit_requested.connect(self.open_policy_dialog)
        self.policy_button.clicked.connect(lambda: self.open_policy_dialog(self._model_name()))

    # ------------------------------------------------------------ navigation
    def show(self, index: int) -> None:
        self.window.nav.setCurrentRow(index)

    def _on_tray_activated(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        self.show(self.alerts_index)

    def _model_name(self) -> str:
        data = self.window.model_page.data
        return data.name if data is not None else ""

    def _selected_ref(self) -> str:
        mp = self.window.model_page
        sel = mp.selected_versions()
        if sel:
            return sel[0].ref
        data = mp.data
        return data.versions[0].ref if data is not None and data.versions else ""

    # ------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Read alerts, approvals and policies again (reader thread)."""
        if not self._closed:
            self.window.reader.submit(SNAPSHOT, load_snapshot, self.registry)

    def _on_read_done(self, channel: str, token: int, result: Any) -> None:
        if not self.window.reader.is_current(channel, token) or self._closed:
            return
        if channel == SNAPSHOT:
            self._update_snapshot(result)
        elif channel == KEYS:
            self._open_export_dialog(*result)

    def _update_snapshot(self, snap: PolicySnapshot) -> None:
        self.snapshot = snap
        newest = max((a.id for a in snap.alerts), default=0)
        if self._last_alert_id is None:
            fresh = []  # the first read: what was there before the window opened is not news
        else:
            fresh = [a for a in snap.alerts if a.id > self._last_alert_id and a.unread]
        self._last_alert_id = max(newest, self._last_alert_id or 0)
        self.alerts_page.set_snapshot(snap)
        self.approvals_page.set_snapshot(snap)
        self.policies_page.set_snapshot(snap)
        self.alerts_badge.set_count(snap.unread)
        self.approvals_badge.set_count(len(snap.pending))
        self.tray.set_unread(snap.unread)
        n = snap.unread
        self.alerts_button.setText(
            f"⚑ {n} unread alert{'s' if n != 1 else ''}" if n else "No unread alerts"
        )
        self.alerts_button.setStyleSheet("color: #d1453b; font-weight: 600;" if n else "")
        if fresh:
            self.tray.show_alerts(fresh)
            first = fresh[0]
            more = f" (+{len(fresh) - 1} more)" if len(fresh) > 1 else ""
            self.window.notify(f"Alert: {first.message}{more}", error=first.severity != "info")
            self.sig_new_alerts.emit(fresh)
        self.sig_snapshot_loaded.emit(snap)

    # ------------------------------------------------------------ background writes
    def _background(
        self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None] | None = None
    ) -> Future[Any] | None:
        if self._pool is None:
            return None
        token = next(self._tokens)
        if done is not None:
            self._bg_done[token] = done

        def run() -> Any:
            try:
                result = fn(*args)
            except ModelWardError as e:
                self.sig_background_failed.emit(token, str(e))
                return None
            except Exception as e:  # never let a background write die silently
                log.exception("background policy work failed")
                self.sig_background_failed.emit(token, f"{type(e).__name__}: {e}")
                return None
            self.sig_background_done.emit(token, result)
            return result

        return self._pool.submit(run)

    def _on_background_done(self, token: int, result: Any) -> None:
        cb = self._bg_done.pop(token, None)
        if cb is not None and not self._closed:
            cb(result)
        self.refresh()

    def _on_background_failed(self, token: int, message: str) -> None:
        self._bg_done.pop(token, None)
        if not self._closed:
            self.window.notify(message, error=True)

    def acknowledge(self, ids: list[int]) -> None:
        def ack(registry: Any, ids: list[int]) -> int:
            for i in ids:
                acknowledge_alert(registry, i)
            return len(ids)

        self._background(ack, self.registry, list(ids))

    def acknowledge_all(self) -> None:
        self._background(
            acknowledge_all,
            self.registry,
            done=lambda n: self.window.notify(f"Acknowledged {n} alert{'s' if n != 1 else ''}"),
        )

    def run_due(self) -> None:
        """Expire old approval requests and fire scheduled policies (policy thread)."""
        if self._due is not None and not self._due.done():
            return  # the previous round is still at work
        self._due = self._background(run_due_now, self.registry, done=self._on_due_done)

    def _on_due_done(self, run_ids: list[int]) -> None:
        if run_ids:
            self.window.notify(
                f"Scheduled policy work started {len(run_ids)} run(s): see Policies and Jobs"
            )

    # ------------------------------------------------------------ jobs
    def submit(
        self,
        kind: str,
        title: str,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> int:
        job_id = self.window._submit(kind, title, fn, *args)
        if done is not None:
            self._job_done[job_id] = done
        if failed is not None:
            self._job_failed[job_id] = failed
        return job_id

    def _on_job_finished(self, job_id: int, result: Any) -> None:
        self._job_failed.pop(job_id, None)
        cb = self._job_done.pop(job_id, None)
        if self._closed:
            return
        if cb is not None:
            cb(result)
        if isinstance(result, ApprovalNeeded):
            self.sig_approval_needed.emit(result)
            self.offer_request(result)
        elif isinstance(result, EvidenceDone):
            self.window.notify(result.message)
        self.refresh()

    def _on_job_failed(self, job_id: int, message: str) -> None:
        self._job_done.pop(job_id, None)
        cb = self._job_failed.pop(job_id, None)
        if cb is not None and not self._closed:
            cb(message)

    def _on_job_cancelled(self, job_id: int) -> None:
        self._job_done.pop(job_id, None)
        cb = self._job_failed.pop(job_id, None)
        if cb is not None and not self._closed:
            cb("cancelled")

    # ------------------------------------------------------------ approvals
    def offer_request(self, need: ApprovalNeeded) -> QMessageBox:
        """Four-eyes refused an alias move: say so, and offer to request approval."""
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle("Approval needed")
        box.setText(f"{need.alias} was not moved: it needs a second person's approval.")
        box.setInformativeText(need.message)
        ask = box.addButton("Request approval…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: self.open_request_dialog(need) if b is ask else None)
        box.open()
        self.request_box = box
        return box

    def open_request_dialog(self, need: ApprovalNeeded) -> RequestApprovalDialog:
        dlg = RequestApprovalDialog(
            need.ref, need.alias, need.message, self.registry.actor, need.reason, self.window
        )
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.request_approval(*dlg.values()))
        dlg.open()
        self.request_dialog = dlg
        return dlg

    def request_approval(
        self, ref: str, alias: str, requested_by: str, reason: str, ttl_hours: float = 72.0
    ) -> int:
        def done(req: Any) -> None:
            self.window.notify(
                f"Approval requested (request {req.id}): someone other than "
                f"{req.requested_by} approves it on the Approvals page"
            )

        return self.submit(
            JobKind.OTHER,
            f"Request approval: {alias} → {ref}",
            request_job,
            self.registry,
            ref,
            alias,
            requested_by,
            reason,
            ttl_hours,
            done=done,
        )

    def open_signature_dialog(self, request_id: int, approve: bool) -> SignatureDialog | None:
        req = next((r for r in self.snapshot.pending if r.id == request_id), None)
        if req is None:
            return None
        from modelward.core.registry.registry import current_user

        gates = gates_text(self.snapshot.gates.get(req.comparison_id or -1, []))
        dlg = SignatureDialog(req, approve, current_user(), gates, self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.sig_signed.connect(lambda *v: self.decide(*v, dialog=dlg))
        dlg.open()
        self.signature_dialog = dlg
        return dlg

    def decide(
        self,
        request_id: int,
        approve: bool,
        name: str,
        meaning: str,
        reason: str,
        *,
        dialog: SignatureDialog | None = None,
    ) -> int:
        """Sign a decision (a job: approving moves the alias and profiles the new version)."""
        verb = "Approve" if approve else "Reject"

        def done(req: Any) -> None:
            if dialog is not None:
                dialog.show_result(True)
            what = (
                f"{req.model}@{req.alias} now points at {req.version_ref}"
                if approve
                else (f"the request for {req.version_ref} was rejected")
            )
            self.window.notify(f"Signed by {req.decided_by}: {what}")

        def failed(message: str) -> None:
            if dialog is not None:
                dialog.show_result(False, message)

        return self.submit(
            JobKind.OTHER,
            f"{verb} request {request_id}",
            decide_job,
            self.registry,
            request_id,
            approve,
            name,
            meaning,
            reason,
            done=done,
            failed=failed,
        )

    # ------------------------------------------------------------ policies
    def open_policy_dialog(self, model: str = "") -> PolicyDialog:
        policy = next((p for p in self.snapshot.policies if p.model == model), None)
        models = self.snapshot.models or ((model,) if model else ())
        dlg = PolicyDialog(
            model, policy, models=models, owner=self.registry.actor, parent=self.window
        )
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.save_policy(dlg.policy(), dlg.reason_text()))
        dlg.open()
        self.policy_dialog = dlg
        return dlg

    def save_policy(self, policy: Any, reason: str | None = None) -> int:
        return self.submit(
            JobKind.OTHER,
            f"Save the policy of {policy.model}",
            save_policy_job,
            self.registry,
            policy,
            reason,
            done=lambda p: self.window.notify(f"Policy of {p.model} saved"),
        )

    # ------------------------------------------------------------ evidence
    def choose_and_report(self) -> None:
        ref = self._selected_ref()
        if not ref:
            return
        default = ref.replace(":", "-v") + "-report.html"
        path, _ = QFileDialog.getSaveFileName(
            self.window,
            f"Report of {ref}",
            default,
            "HTML report (*.html);;PDF report (*.pdf)",
        )
        if path:
            self.report(ref, path)

    def report(self, ref: str, path: str) -> int:
        """Write the model card and validation report (HTML or PDF by extension) as a job."""
        return self.submit(
            JobKind.OTHER,
            f"Report of {ref} → {Path(path).name}",
            write_report,
            self.registry,
            ref,
            path,
        )

    def choose_and_export(self) -> None:
        ref = self._selected_ref()
        if ref:
            self.window.reader.submit(KEYS, lambda: (ref, list_signing_keys(self.registry)))

    def _open_export_dialog(self, ref: str, keys: list[str]) -> ExportDialog:
        dlg = ExportDialog(ref, keys, self.registry.actor.replace(" ", "-"), self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.export(ref, *dlg.values()))
        dlg.open()
        self.export_dialog = dlg
        return dlg

    def export(
        self,
        ref: str,
        path: str,
        key: str | None = None,
        unsigned: bool = False,
        include_data: bool = True,
        new_key: str | None = None,
    ) -> int:
        return self.submit(
            JobKind.OTHER,
            f"Export {ref} → {Path(path).name}",
            export_job,
            self.registry,
            ref,
            path,
            key,
            unsigned,
            include_data,
            new_key,
        )

    def choose_and_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Import bundle", "", "ModelWard bundles (*.mwb);;All files (*)"
        )
        if path:
            self.inspect_bundle(path)

    def inspect_bundle(self, path: str) -> int:
        """Verify a bundle (a job), then show the result and ask before importing."""
        return self.submit(
            JobKind.OTHER,
            f"Verify bundle {Path(path).name}",
            inspect_bundle,
            self.registry,
            path,
            done=self.open_import_dialog,
        )

    def open_import_dialog(self, check: BundleCheck) -> ImportDialog:
        dlg = ImportDialog(check, self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.import_bundle(*dlg.values()))
        dlg.open()
        self.import_dialog = dlg
        return dlg

    def import_bundle(
        self, path: str, name: str | None, accept_unverified: bool, reason: str | None
    ) -> int:
        return self.submit(
            JobKind.REGISTER,
            f"Import bundle {Path(path).name}",
            import_job,
            self.registry,
            path,
            name,
            accept_unverified,
            reason,
        )

    def choose_and_backup(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window,
            "Back up the registry",
            "modelward-backup.mwbak",
            "ModelWard backups (*.mwbak);;All files (*)",
        )
        if path:
            self.backup(path)

    def backup(self, path: str) -> int:
        return self.submit(
            JobKind.OTHER, f"Back up to {Path(path).name}", backup_job, self.registry, path
        )

    def choose_and_restore(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Restore a backup", "", "ModelWard backups (*.mwbak);;All files (*)"
        )
        if path:
            self.open_restore_dialog(path)

    def open_restore_dialog(self, path: str) -> RestoreDialog:
        dlg = RestoreDialog(path, str(self.registry.home), self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.restore(*dlg.values()))
        dlg.open()
        self.restore_dialog = dlg
        return dlg

    def restore(self, path: str, target: str, switch: bool = False) -> int:
        def done(res: EvidenceDone) -> None:
            if switch:
                from pathlib import Path as _P

                self.window.apply_settings(self.window.settings.replace(registry=str(_P(target))))

        return self.submit(
            JobKind.OTHER,
            f"Restore {Path(path).name}",
            restore_job,
            path,
            target,
            str(self.registry.home),
            done=done,
        )

    # ------------------------------------------------------------ shutdown
    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the timer and the policy thread; give the policy loop its old runner back."""
        if self._closed:
            return
        self._closed = True
        self.due_timer.stop()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        use_runner(self._prev_runner)
        self.tray.shutdown()
