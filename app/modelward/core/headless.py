"""What ``modelward`` does where no window can open: the main job, without Qt."""

from __future__ import annotations

import os


def run_headless(registry: str | os.PathLike[str] | None) -> int:
    """Summarise the registry and verify it; say plainly that no window was shown."""
    from modelward.core.registry import Registry

    print("modelward: no display found (DISPLAY/WAYLAND_DISPLAY unset): running headless.")
    reg = Registry(registry)
    versions = reg.list_versions()
    report = reg.verify_audit()
    print(f"registry: {reg.home}")
    print(f"models: {len(reg.list_models())}, versions: {len(versions)}")
    print(
        f"audit chain: {'intact' if report.ok else 'BROKEN at event ' + str(report.first_broken_seq)}"
        f" ({report.events} events)"
    )
    print("To open the window, run on a desktop session (or set QT_QPA_PLATFORM).")
    return 0 if report.ok else 1
