"""ModelWard: an offline registry, monitor and lifecycle tool for scikit-learn models.

This module imports nothing heavy: the version only.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
