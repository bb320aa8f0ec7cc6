"""Every action of the main window, declared once.

An :class:`ActionSpec` says what the user sees (text, shortcut, tooltip, the
menu it sits in), when the action is enabled, and what it does. The window
builds one ``QAction`` per spec; the menus, the model page's buttons and the
tests all trigger that same ``QAction``.

A handler receives the window and nothing else: ``QAction.triggered`` carries a
``checked`` bool that must never reach a method as a data argument (it once
arrived as the training dialog's data path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

if TYPE_CHECKING:
    from modelward.ui.main_window import MainWindow

Shortcut = str | QKeySequence.StandardKey | None
Handler = Callable[["MainWindow"], object]
Rule = Callable[["MainWindow"], bool]


class Ids:
    """Ids (objectName) of the window's actions."""

    REGISTER = "act_register"
    WATCH = "act_watch"
    DEMO = "act_demo"
    IMPORT = "act_import_bundle"
    BACKUP = "act_backup"
    RESTORE = "act_restore"
    SETTINGS = "act_settings"
    QUIT = "act_quit"
    PAGE_REGISTRY = "act_page_registry"
    PAGE_JOBS = "act_page_jobs"
    PAGE_AUDIT = "act_page_audit"
    PAGE_WATCH = "act_page_watch"
    PAGE_MONITORING = "act_page_monitoring"
    PAGE_ALERTS = "act_page_alerts"
    PAGE_APPROVALS = "act_page_approvals"
    PAGE_POLICIES = "act_page_policies"
    PAGE_SCORING = "act_page_scoring"
    FIND = "act_find"
    REFRESH = "act_refresh"
    BACK = "act_back"
    TRAIN = "act_train"
    VALIDATE = "act_validate"
    COMPARE_ON_DATA = "act_compare_on_data"
    COMPARE_SELECTED = "act_compare_selected"
    REPORT = "act_report"
    EXPORT = "act_export_bundle"
    POLICY = "act_policy"
    VERIFY = "act_verify"
    RUN_DUE = "act_run_due"
    ABOUT = "act_about"


@dataclass(frozen=True)
class ActionSpec:
    """One action: what it shows, where it sits, when it is enabled, what it does."""

    id: str
    text: str
    menu: str
    handler: Handler
    shortcut: Shortcut = None
    tip: str = ""
    enabled: Rule | None = None
    """None: always enabled; otherwise asked again by :func:`update_enabled`."""
    separator_before: bool = False


def _has_version(w: MainWindow) -> bool:
    data = w.model_page.data
    return w.is_model_page_shown() and data is not None and bool(data.versions)


def _has_model(w: MainWindow) -> bool:
    return w.is_model_page_shown() and w.model_page.data is not None


K = QKeySequence.StandardKey

# Menu order: the menus are filled in this order.
ACTIONS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec(Ids.REGISTER, "&Register a model…", "File", lambda w: w.choose_and_register(), K.Open,
               "Register model files (skops, joblib, pickle) after checking them"),
    ActionSpec(Ids.WATCH, "&Watch a folder…", "File", lambda w: w.choose_watch_folder(),
               "Ctrl+Shift+O", "Register model files as they are saved into a folder"),
    ActionSpec(Ids.DEMO, "Create &demo workspace", "File", lambda w: w.create_demo(),
               tip="Models, data and monitoring history to try ModelWard on"),
    ActionSpec(Ids.IMPORT, "Import bundle…", "File", lambda w: w.evidence.choose_and_import(),
               tip="Verify a bundle's signature and hashes, then import it",
               separator_before=True),
    ActionSpec(Ids.BACKUP, "&Backup…", "File", lambda w: w.evidence.choose_and_backup(),
               tip="Write a consistent backup of the whole registry"),
    ActionSpec(Ids.RESTORE, "Res&tore…", "File", lambda w: w.evidence.choose_and_restore(),
               tip="Restore a backup into a new folder"),
    ActionSpec(Ids.SETTINGS, "&Settings…", "File", lambda w: w.open_settings(), "Ctrl+,",
               separator_before=True),
    ActionSpec(Ids.QUIT, "&Quit", "File", lambda w: w.close(), K.Quit, separator_before=True),
    # View
    ActionSpec(Ids.PAGE_REGISTRY, "&Registry", "View", lambda w: w.show_registry(), "Ctrl+1"),
    ActionSpec(Ids.PAGE_JOBS, "&Jobs", "View", lambda w: w.show_jobs(), "Ctrl+2"),
    ActionSpec(Ids.PAGE_AUDIT, "&Audit trail", "View", lambda w: w.show_audit(), "Ctrl+3"),
    ActionSpec(Ids.PAGE_WATCH, "&Watched folders", "View", lambda w: w.show_watch(), "Ctrl+4"),
    ActionSpec(Ids.PAGE_MONITORING, "&Monitoring", "View", lambda w: w.show_monitoring(),
               "Ctrl+5"),
    ActionSpec(Ids.PAGE_ALERTS, "A&lerts", "View", lambda w: w.policies.show_alerts()),
    ActionSpec(Ids.PAGE_APPROVALS, "A&pprovals", "View", lambda w: w.policies.show_approvals()),
    ActionSpec(Ids.PAGE_POLICIES, "P&olicies", "View", lambda w: w.policies.show_policies()),
    ActionSpec(Ids.PAGE_SCORING, "&Scoring", "View", lambda w: w.scoring.show(),
               tip="Inboxes scored by a model's champion, and their last batches"),
    ActionSpec(Ids.FIND, "&Find…", "View", lambda w: w.focus_search(), K.Find,
               separator_before=True),
    ActionSpec(Ids.REFRESH, "Re&fresh", "View", lambda w: w.refresh_all(), K.Refresh),
    ActionSpec(Ids.BACK, "&Back", "View", lambda w: w.show_table(), "Alt+Left"),
    # Model
    ActionSpec(Ids.TRAIN, "&Train a model…", "Model", lambda w: w.open_training_dialog(),
               "Ctrl+T", "Fit a model on a data file, with search and a holdout"),
    ActionSpec(Ids.VALIDATE, "&Validate a version…", "Model", lambda w: w.open_validation(),
               tip="ROC, PR, calibration and metrics on labelled data"),
    ActionSpec(Ids.COMPARE_ON_DATA, "&Champion vs challenger…", "Model",
               lambda w: w.open_comparison(), tip="Compare two versions on the same data"),
    ActionSpec(Ids.COMPARE_SELECTED, "Compare &selected versions…", "Model",
               lambda w: w.compare_selected(), "Ctrl+Shift+C",
               "Metrics, parameters against the score and curves of the selected versions"),
    ActionSpec(Ids.REPORT, "Report… (HTML or PDF)", "Model",
               lambda w: w.evidence.choose_and_report(),
               tip="The model card and validation report of the selected version",
               enabled=_has_version, separator_before=True),
    ActionSpec(Ids.EXPORT, "Export bundle…", "Model", lambda w: w.evidence.choose_and_export(),
               tip="A signed bundle of the selected version for another registry",
               enabled=_has_version),
    ActionSpec(Ids.POLICY, "&Policy…", "Model", lambda w: w.policies.open_policy_dialog(
        w.model_page.data.name if w.model_page.data is not None else ""),
        tip="Triggers, actions and four-eyes of this model", enabled=_has_model),
    # Tools
    ActionSpec(Ids.VERIFY, "&Verify audit chain", "Tools", lambda w: w.verify_chain(),
               "Ctrl+Shift+V"),
    ActionSpec(Ids.RUN_DUE, "Run &due policy work now", "Tools", lambda w: w.policies.run_due(),
               tip="Expire old approval requests and fire scheduled policies"),
    # Help
    ActionSpec(Ids.ABOUT, "&About ModelWard", "Help", lambda w: w.about()),
)  # fmt: skip

SPECS: dict[str, ActionSpec] = {s.id: s for s in ACTIONS}


def _connect(act: QAction, window: MainWindow, handler: Handler) -> None:
    # The lambda swallows ``checked``: the handler gets the window only.
    act.triggered.connect(lambda _checked=False: handler(window))


def build_actions(window: MainWindow) -> dict[str, QAction]:
    """One ``QAction`` per spec, added to the window and to its menus; returns them by id."""
    acts: dict[str, QAction] = {}
    menus: dict[str, QMenu] = {}
    for spec in ACTIONS:
        act = QAction(spec.text, window)
        act.setObjectName(spec.id)
        if spec.shortcut is not None:
            act.setShortcut(QKeySequence(spec.shortcut))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if spec.tip:
            act.setStatusTip(spec.tip)
            act.setToolTip(spec.tip)
        _connect(act, window, spec.handler)
        window.addAction(act)
        menu = menus.get(spec.menu)
        if menu is None:
            menu = menus[spec.menu] = _menu_bar_menu(window, spec.menu)
        elif spec.separator_before:
            menu.addSeparator()
        menu.addAction(act)
        acts[spec.id] = act
    return acts


def _menu_bar_menu(window: QMainWindow, title: str) -> QMenu:
    return window.menuBar().addMenu(f"&{title}")


def update_enabled(window: MainWindow, acts: dict[str, QAction]) -> None:
    """Ask every action that has an enabled-state rule again."""
    for spec in ACTIONS:
        if spec.enabled is not None:
            acts[spec.id].setEnabled(bool(spec.enabled(window)))
