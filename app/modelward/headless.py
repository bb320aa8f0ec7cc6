"""What ModelWard does where no window can open: the main job, without Qt in this process.

``modelward`` and ``modelward demo`` never abort inside Qt on a machine
without a display: they check for one first and, when there is none, say so
and do their job here. Screenshots are still taken, offscreen, in a child
process, so that a Qt failure there cannot take this process down.
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
from pathlib import Path
from typing import Any

from modelward.core.registry import Registry


def no_display_message() -> str:
    return (
        "modelward: no display found (DISPLAY/WAYLAND_DISPLAY unset): running headless. "
        "On a desktop session the window opens instead."
    )


def run_headless(registry: str | os.PathLike[str] | None) -> int:
    """Summarise and verify the registry; say plainly that no window was shown."""
    print(no_display_message())
    reg = Registry(registry)
    versions = reg.list_versions()
    report = reg.verify_audit()
    print(f"registry: {reg.home}")
    print(f"models: {len(reg.list_models())}, versions: {len(versions)}")
    state = "intact" if report.ok else f"BROKEN at event {report.first_broken_seq}"
    print(f"audit chain: {state} ({report.events} events)")
    return 0 if report.ok else 1


def capture_screenshots(registry: Registry, outdir: Path, timeout: float = 180) -> list[Path]:
    """Grab the main views offscreen in a child process; returns the PNGs written."""
    from modelward.core.workers import self_command

    outdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    cmd = self_command("gui", "--capture", str(outdir), "--registry", str(registry.home))
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print("screenshots: the offscreen window did not finish in time; skipped")
        return []
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        print(f"screenshots: skipped ({last})")
    return sorted(outdir.glob("*.png"))


def run_demo_headless(registry: Registry, summary: list[str]) -> int:
    """After the demo workspace is built: checks, a report and screenshots, on disk."""
    from modelward.core.evidence.backup import verify_registry
    from modelward.core.evidence.reports.render import write_html

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = registry.home / "reports" / f"demo-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    print("checking the registry (audit chain and every artifact)…", flush=True)
    checks = verify_registry(registry)
    champion = registry.resolve("credit-risk@champion").ref
    print(f"writing the model card of {champion}…", flush=True)
    card: dict[str, Any] = write_html(registry, champion, out / "model-card.html")
    print("taking screenshots of the window (offscreen)…", flush=True)
    shots = capture_screenshots(registry, out / "screenshots")
    lines = [
        "ModelWard demo workspace (headless run)",
        f"registry: {registry.home}",
        *summary,
        f"registry check: {'ok' if checks['ok'] else 'PROBLEMS: ' + '; '.join(checks['problems'])}"
        f" ({checks['audit']['events']} audit events, {checks['artifacts']} artifacts hashed)",
        f"model card: {card['path']}",
        *(f"screenshot: {p}" for p in shots),
    ]
    (out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[1:]))
    print(f"everything is in {out}")
    return 0 if checks["ok"] else 1
