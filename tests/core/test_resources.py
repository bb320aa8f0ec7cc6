"""Non-code assets: one top-level ``resources/`` folder, found by one locator everywhere.

A source checkout, an installed wheel (built here, installed in a throwaway
venv) and the frozen bundle (its layout simulated; the spec is read).
Qt-dependent checks run in a child process and skip where PySide6 is absent
(the core-only CI venv).
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import platformdirs
import pytest

import modelward
from modelward.core import paths
from modelward.core.errors import ModelWardError
from modelward.core.evidence.reports.render import load_template

REPO = Path(modelward.__file__).resolve().parents[2]
RESOURCES = REPO / "resources"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
ASSETS = sorted(p.relative_to(RESOURCES).as_posix() for p in RESOURCES.rglob("*") if p.is_file())
needs_qt = pytest.mark.skipif(
    importlib.util.find_spec("PySide6") is None, reason="PySide6 is not installed"
)


def _child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"), QT_QPA_PLATFORM="offscreen")
    env.update(extra)
    return env


# ----------------------------------------------------------------------------- the folder
def test_the_assets_live_at_the_top_level_and_not_in_the_package():
    expected = {
        "style.qss",
        "templates/report.html",
        "modelward.desktop",
        "icons/modelward.svg",
        "icons/modelward.ico",
        *(f"icons/modelward-{n}.png" for n in ICON_SIZES),
    }
    assert expected <= set(ASSETS)
    package = REPO / "app" / "modelward"
    stray = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.suffix in {".qss", ".svg", ".png", ".ico", ".html", ".desktop"}
    ]
    assert stray == []


# ----------------------------------------------------------------------------- the locator
def test_every_asset_is_found_in_the_source_checkout():
    for name in ASSETS:
        assert paths.resource(name) == RESOURCES / name


def test_the_users_of_the_assets_read_them_through_the_locator():
    assert load_template() == (RESOURCES / "templates" / "report.html").read_text("utf-8")


def test_bad_or_missing_names_are_refused():
    for bad in ("../pyproject.toml", "/etc/passwd", ""):
        with pytest.raises(ModelWardError, match="bad resource name"):
            paths.resource(bad)
    with pytest.raises(ModelWardError, match="missing .* reinstall"):
        paths.resource("icons/nothing.png")


def test_the_frozen_bundle_is_searched_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    bundled = tmp_path / "resources" / "style.qss"
    bundled.parent.mkdir()
    bundled.write_text("/* bundled */", encoding="utf-8")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resource("style.qss") == bundled
    # what the bundle lacks still comes from the next root
    assert paths.resource("templates/report.html") == RESOURCES / "templates" / "report.html"


def test_the_spec_bundles_the_folder_where_the_locator_looks_and_sets_the_exe_icon():
    spec = (REPO / "packaging" / "modelward.spec").read_text(encoding="utf-8")
    assert 'resources = ROOT / "resources"' in spec
    # datas: each file goes to its folder relative to the repository: resources/...
    assert "datas.append((str(path), str(path.parent.relative_to(ROOT))))" in spec
    assert paths.RESOURCES == "resources"
    icon = re.search(r'ICON = resources / "icons" / "([^"]+)"', spec)
    assert icon is not None
    assert (RESOURCES / "icons" / icon.group(1)).is_file()
    assert "icon=str(ICON)" in spec


@pytest.mark.slow
def test_a_built_wheel_ships_the_assets_and_the_locator_finds_them_installed(tmp_path: Path):
    # Build from a copy: setuptools leaves build/ and an egg-info in the tree it builds.
    src = tmp_path / "src"
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")
    for name in ("app", "resources"):
        shutil.copytree(REPO / name, src / name, ignore=junk)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, src / name)
    out = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = out.glob("modelward-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"modelward/_resources/{n}" for n in ASSETS} <= names
    assert "modelward/core/paths.py" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps"]
        + [str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    # paths.py needs platformdirs (a dependency, not installed with --no-deps):
    # lend it from this environment alone, so modelward still comes from the wheel.
    deps = tmp_path / "deps"
    deps.mkdir()
    (deps / "platformdirs").symlink_to(Path(platformdirs.__file__).parent)
    env["PYTHONPATH"] = str(deps)
    probe = (
        "import sys\n"
        "from modelward.core.paths import resource\n"
        "from modelward.core import platform\n"  # stdlib only: imports without deps
        "for name in sys.argv[1:]:\n"
        "    print(resource(name))\n"
    )
    found = subprocess.run(
        [str(py), "-c", probe, *ASSETS],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    located = [Path(line) for line in found.stdout.splitlines()]
    assert len(located) == len(ASSETS)
    for name, path in zip(ASSETS, located, strict=True):
        assert venv in path.parents, path  # the installed copy, not this checkout
        assert path.as_posix().endswith(f"modelward/_resources/{name}")
        assert path.read_bytes() == (RESOURCES / name).read_bytes()


# ----------------------------------------------------------------------------- the icon
def _png_size(blob: bytes) -> tuple[int, int]:
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", blob[16:24])


def test_the_png_sizes_and_the_ico_hold_the_same_images():
    pngs = {n: paths.resource(f"icons/modelward-{n}.png").read_bytes() for n in ICON_SIZES}
    for n, blob in pngs.items():
        assert _png_size(blob) == (n, n)
    ico = paths.resource("icons/modelward.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, len(ICON_SIZES))
    for i in range(count):
        w, h, _c, _r, planes, bpp, size, offset = struct.unpack(
            "<BBBBHHII", ico[6 + 16 * i : 22 + 16 * i]
        )
        side = w or 256
        assert (side, h or 256, planes, bpp) == (side, side, 1, 32)
        assert ico[offset : offset + size] == pngs[side]


@needs_qt
def test_the_icon_files_are_reproduced_by_the_script(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "make_icons.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_child_env(),
    )
    assert done.returncode == 0, done.stderr
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted([*(f"modelward-{n}.png" for n in ICON_SIZES), "modelward.ico"])
    for name in made:
        assert (tmp_path / name).read_bytes() == (RESOURCES / "icons" / name).read_bytes(), name


@needs_qt
def test_the_window_sets_the_application_icon_and_the_style_sheet():
    probe = (
        "from modelward.ui.app import make_app\n"
        "app = make_app('light')\n"
        "sizes = sorted(s.width() for s in app.windowIcon().availableSizes())\n"
        "print(sizes, app.desktopFileName(), len(app.styleSheet()) > 1000)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=_child_env()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("]")[0] + "]" == str(list(ICON_SIZES))
    assert done.stdout.split("]")[1].split() == ["modelward", "True"]


# ----------------------------------------------------------------------------- desktop entry
def test_the_desktop_entry_is_complete():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(paths.resource("modelward.desktop"), encoding="utf-8")
    e = entry["Desktop Entry"]
    assert e["Type"] == "Application"
    assert e["Name"] == "ModelWard"
    assert e["Exec"] == "modelward gui"
    assert e["Terminal"] == "false"
    assert e["Categories"].endswith(";")
    # Icon names a theme icon: the PNGs are installed as .../NxN/apps/modelward.png
    assert e["Icon"] == "modelward"
    assert e["StartupWMClass"] == "ModelWard"


def test_the_desktop_entry_command_exists():
    done = subprocess.run(
        [sys.executable, "-m", "modelward", "gui", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_child_env(),
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(os.name != "posix", reason="the desktop entry is for Linux desktops")
def test_the_desktop_entry_installs_for_the_user_and_uninstalls(tmp_path: Path):
    script = REPO / "packaging" / "install_desktop_entry.sh"
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    subprocess.run(["sh", str(script)], check=True, env=env, timeout=60)
    assert (tmp_path / "applications" / "modelward.desktop").read_bytes() == (
        RESOURCES / "modelward.desktop"
    ).read_bytes()
    for n in ICON_SIZES:
        icon = tmp_path / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "modelward.png"
        assert _png_size(icon.read_bytes()) == (n, n)
    subprocess.run(["sh", str(script), "--uninstall"], check=True, env=env, timeout=60)
    assert not list(tmp_path.rglob("modelward*"))
