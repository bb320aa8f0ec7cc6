"""Policies in the window: alerts (badge, tray), approvals (signed), policies, the policy loop.

:class:`PolicyController` owns the Alerts, Approvals and Policies pages, their
badges, the status-bar alerts button and the tray; it runs the policy loop:

* the policy loop is the core :class:`~modelward.core.policies.service.PolicyService`
  (the one ``modelward watch`` runs), on the window's
  :class:`~modelward.core.jobs.JobRunner`, so policy jobs (retrain → validate →
  promote or ask) show in Jobs with progress, cancel and log; the service's
  timer fires schedules and expires old requests;
* "Run due policy work now" and acknowledgements run on the window's
  background reader (short writes that need no Jobs entry);
* views refresh when the window sees the audit head move; new alerts found
  there raise a tray message.

Its actions (pages, run due work, the model's policy) are declared in
:mod:`modelward.ui.actions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidgetItem, QMessageBox, QPushButton, QWidget

from modelward.core.identity import list_personal_keys
from modelward.core.jobs import JobKind
from modelward.core.policies import acknowledge_alert, acknowledge_all
from modelward.core.policies.service import RUN, PolicyEvent, PolicyService
from modelward.core.refs import current_user
from modelward.ui.bridge import call_niced
from modelward.ui.controllers.base import Controller
from modelward.ui.controllers.policy_tasks import (
    ApprovalNeeded,
    PolicySnapshot,
    create_key_job,
    decide_job,
    gates_text,
    load_snapshot,
    request_job,
    save_policy_job,
)
from modelward.ui.dialogs.approval import (
    KeyPicker,
    PersonalKeyDialog,
    RequestApprovalDialog,
    SignatureDialog,
)
from modelward.ui.dialogs.policy import PolicyDialog
from modelward.ui.pages.alerts_page import AlertsPage
from modelward.ui.pages.policies_approvals import ApprovalsPage
from modelward.ui.pages.policies_page import PoliciesPage
from modelward.ui.texts import window_text
from modelward.ui.tray import AlertTray
from modelward.ui.widgets import label

if TYPE_CHECKING:
    from modelward.ui.main_window import MainWindow

DUE_MS = 60_000  # run_due: schedules and expired approval requests
SNAPSHOT = "policy-snapshot"
BADGE_STYLE = (
    "QLabel { background: #d1453b; color: white; border-radius: 9px; padding: 0 6px;"
    " font-size: 11px; font-weight: 700; min-height: 18px; }"
)


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


class PolicyController(Controller):
    """The window's face of ``core.policies``."""

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
    sig_policy_event = Signal(object)
    """a :class:`~modelward.core.policies.service.PolicyEvent` from the service's thread."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.snapshot = PolicySnapshot()
        self._last_alert_id: int | None = None
        self._due: int | None = None
        # Policy loops (from the data inbox or the timer) run as the window's jobs.
        # Its rounds wait while a worker of the window has the registry file (the
        # demo workspace): the window then opens the file for nothing.
        self.service = PolicyService(
            window.registry,
            runner=window.jobs.runner,
            interval=DUE_MS / 1000,
            held=window.has_own_writers,
        )
        self.tray = AlertTray(self)
        self._build_pages()
        self.policy_button = QPushButton("Policy…")
        self.policy_button.setToolTip("Triggers, actions and four-eyes of this model")
        self._connect()
        self.sig_policy_event.connect(self._on_policy_event, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = self.service.subscribe(self.sig_policy_event.emit)
        # Its timer thread (and a database it opens) below the GUI thread, like every
        # other thread the window starts (issue 21: a busy host).
        call_niced(self.service.start)

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

    def _connect(self) -> None:
        w = self.window
        w.sig_registry_changed.connect(lambda _head: self.refresh())
        self.tray.sig_activated.connect(self._on_tray_activated)
        self.alerts_page.sig_acknowledge_requested.connect(self.acknowledge)
        self.alerts_page.sig_acknowledge_all_requested.connect(self.acknowledge_all)
        self.alerts_page.sig_open_model_requested.connect(w.open_model)
        self.approvals_page.sig_decision_requested.connect(self.open_signature_dialog)
        self.approvals_page.sig_open_model_requested.connect(w.open_model)
        self.policies_page.sig_edit_requested.connect(self.open_policy_dialog)

    # ------------------------------------------------------------ navigation
    def show(self, index: int) -> None:
        self.window.nav.setCurrentRow(index)

    def show_alerts(self) -> None:
        self.show(self.alerts_index)

    def show_approvals(self) -> None:
        self.show(self.approvals_index)

    def show_policies(self) -> None:
        self.show(self.policies_index)

    def _on_tray_activated(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        self.show_alerts()

    # ------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Read alerts, approvals and policies again (reader thread)."""
        if self.window.reads_held():
            return  # the window's own worker has the file; read again when it ends
        if not self._closed:
            self.window.reader.submit(SNAPSHOT, load_snapshot, self.registry)

    def read_done(self, channel: str, token: int, result: Any) -> None:
        if channel == SNAPSHOT and self.window.reader.is_current(channel, token):
            self._update_snapshot(result)

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
    def background_done(self, token: int, result: Any) -> None:
        super().background_done(token, result)
        if token == self._due:
            self._due = None
        self.sig_background_done.emit(token, result)
        self.refresh()

    def background_failed(self, token: int, message: str) -> None:
        if token == self._due:
            self._due = None
        super().background_failed(token, message)
        self.sig_background_failed.emit(token, message)

    def acknowledge(self, ids: list[int]) -> None:
        self.background(_acknowledge, self.registry, list(ids))

    def acknowledge_all(self) -> None:
        self.background(
            acknowledge_all,
            self.registry,
            done=lambda n: self.window.notify(f"Acknowledged {n} alert{'s' if n != 1 else ''}"),
        )

    def run_due(self) -> None:
        """Expire old approval requests and fire scheduled policies (background reader)."""
        if self._due is not None:
            return  # the previous round is still at work
        self._due = self.background(self._run_due_once, done=self._on_due_done)

    def _run_due_once(self) -> list[int]:
        return [r.id for r in self.service.run_due_once()]

    def _on_policy_event(self, event: PolicyEvent) -> None:
        if event.kind == RUN:  # one per run the service started (its timer or run_due)
            self.window.notify(f"Scheduled policy work: {event.detail} (see Policies and Jobs)")

    def _on_due_done(self, run_ids: list[int]) -> None:
        if not run_ids:  # each run that started was announced by its own event
            self.window.notify("No policy work was due")

    # ------------------------------------------------------------ jobs
    def job_finished(self, job_id: int, result: Any) -> None:
        if isinstance(result, ApprovalNeeded):
            self.sig_approval_needed.emit(result)
            self.offer_request(result)
        self.refresh()

    # ------------------------------------------------------------ approvals
    def offer_request(self, need: ApprovalNeeded) -> QMessageBox:
        """Four-eyes refused an alias move: say so, and offer to request approval."""
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle("Approval needed")
        box.setText(f"{need.alias} was not moved: it needs a second person's approval.")
        box.setInformativeText(window_text(need.message))
        ask = box.addButton("Request approval…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: self.open_request_dialog(need) if b is ask else None)
        box.open()
        self.request_box = box
        return box

    def open_request_dialog(self, need: ApprovalNeeded) -> RequestApprovalDialog:
        dlg = RequestApprovalDialog(
            need.ref, need.alias, need.message, list_personal_keys(), need.reason, self.window
        )
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.picker.sig_new_key_requested.connect(lambda: self.open_key_dialog(dlg.picker))
        dlg.accepted.connect(lambda: self.request_approval(*dlg.values()))
        dlg.open()
        self.request_dialog = dlg
        return dlg

    def open_key_dialog(self, picker: KeyPicker | None = None) -> PersonalKeyDialog:
        """Create this person's key (a job), then offer it in ``picker``."""
        dlg = PersonalKeyDialog(parent=self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def done(res: Any) -> None:
            key, said = res
            if picker is not None:
                picker.set_keys(list_personal_keys(), select=key.key_id)
            self.window.notify(said)

        dlg.accepted.connect(
            lambda: self.submit(
                JobKind.OTHER,
                "Create your personal key",
                create_key_job,
                self.registry,
                *dlg.values(),
                done=done,
            )
        )
        dlg.open()
        self.key_dialog = dlg
        return dlg

    def request_approval(
        self,
        ref: str,
        alias: str,
        key_id: str,
        passphrase: str,
        reason: str,
        ttl_hours: float = 72.0,
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
            key_id,
            passphrase,
            reason,
            ttl_hours,
            done=done,
        )

    def open_signature_dialog(self, request_id: int, approve: bool) -> SignatureDialog | None:
        req = next((r for r in self.snapshot.pending if r.id == request_id), None)
        if req is None:
            return None
        gates = gates_text(self.snapshot.gates.get(req.comparison_id or -1, []))
        dlg = SignatureDialog(
            req, approve, current_user(), gates, self.window, keys=list_personal_keys()
        )
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.picker.sig_new_key_requested.connect(lambda: self.open_key_dialog(dlg.picker))
        dlg.sig_signed.connect(lambda *v: self.decide(*v, dialog=dlg))
        dlg.open()
        self.signature_dialog = dlg
        return dlg

    def decide(
        self,
        request_id: int,
        approve: bool,
        key_id: str,
        passphrase: str,
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
            key_id,
            passphrase,
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

    # ------------------------------------------------------------ shutdown
    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the policy service's timer (the runner is the window's: not stopped here)."""
        if self._closed:
            return
        self._unsubscribe()
        self.service.stop(timeout)
        super().shutdown(timeout)
        self.tray.shutdown()


def _acknowledge(registry: Any, ids: list[int]) -> int:
    for i in ids:
        acknowledge_alert(registry, i)
    return len(ids)
