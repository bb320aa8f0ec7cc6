"""Evidence in the window: reports, bundles (export, verify, import), backup and restore.

Every write is a job (progress, cancel, log in Jobs); the signing keys are read
on the window's background reader. The actions that start these (File and
Model menus, the model page's Evidence button) are declared in
:mod:`modelward.ui.actions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QPushButton

from modelward.core.jobs import JobKind
from modelward.ui.controllers.base import Controller
from modelward.ui.controllers.evidence_tasks import (
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
from modelward.ui.dialogs.evidence import ExportDialog, ImportDialog, RestoreDialog

if TYPE_CHECKING:
    from modelward.ui.main_window import MainWindow

KEYS = "evidence-signing-keys"


class EvidenceController(Controller):
    """Reports, bundles, backup and restore of the window's registry."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.evidence_button = QPushButton("Evidence ▾")
        self.evidence_button.setToolTip("Report, signed bundle export and import of this model")
        self.evidence_button.setMenu(QMenu(self.evidence_button))

    def set_menu_actions(self, actions: list[QAction]) -> None:
        """The Evidence button's menu shows these (the same actions as the menus)."""
        menu = self.evidence_button.menu()
        menu.clear()
        for act in actions:
            menu.addAction(act)

    def _selected_ref(self) -> str:
        mp = self.window.model_page
        sel = mp.selected_versions()
        if sel:
            return sel[0].ref
        data = mp.data
        return data.versions[0].ref if data is not None and data.versions else ""

    def job_finished(self, job_id: int, result: Any) -> None:
        if isinstance(result, EvidenceDone):
            self.window.notify(result.message)

    def read_done(self, channel: str, token: int, result: Any) -> None:
        if channel == KEYS and self.window.reader.is_current(channel, token):
            self._open_export_dialog(*result)

    # ------------------------------------------------------------ reports
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

    # ------------------------------------------------------------ bundles
    def choose_and_export(self) -> None:
        ref = self._selected_ref()
        if ref:
            self.window.reader.submit(KEYS, _keys_of, ref, self.registry)

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

    # ------------------------------------------------------------ backup
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
                self.window.apply_settings(self.window.settings.replace(registry=str(Path(target))))

        return self.submit(
            JobKind.OTHER,
            f"Restore {Path(path).name}",
            restore_job,
            path,
            target,
            str(self.registry.home),
            done=done,
        )


def _keys_of(ref: str, registry: Any) -> tuple[str, list[str]]:
    return ref, list_signing_keys(registry)
