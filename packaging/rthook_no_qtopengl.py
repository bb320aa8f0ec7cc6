# PyInstaller runtime hook of the ModelWard bundle (see modelward.spec): a stand-in
# for PySide6.QtOpenGL, whose binding (9 MB) the bundle leaves out.
#
# pyqtgraph imports PySide6.QtOpenGL at module level (PlotCurveItem, PColorMeshItem,
# its OpenGL helpers) but uses it only to draw with OpenGL, which ModelWard never
# turns on (pyqtgraph's useOpenGL option stays off). Any use of the stand-in
# raises AttributeError, which is what pyqtgraph's own fallbacks catch.
# ruff: noqa
import sys
import types


def _missing(name):
    raise AttributeError(
        f"PySide6.QtOpenGL.{name}: the ModelWard bundle leaves Qt's OpenGL binding out"
    )


_stub = types.ModuleType(
    "PySide6.QtOpenGL", "Left out of the ModelWard bundle (OpenGL drawing is off)."
)
_stub.__getattr__ = _missing
sys.modules.setdefault("PySide6.QtOpenGL", _stub)
