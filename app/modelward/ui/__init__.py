"""The PySide6 + pyqtgraph desktop window: a thin view over ``modelward.core``."""
